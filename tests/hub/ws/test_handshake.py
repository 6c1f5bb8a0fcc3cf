"""What a WebSocket's scope keeps after its handshake (``hub.ws.handshake.forget_handshake``)."""

from __future__ import annotations

from typing import Any

from hub.ws.handshake import forget_handshake, query_token


def test_the_scope_lets_go_of_headers_token_and_session_but_keeps_the_rest() -> None:
    principal, write = object(), object()
    scope: dict[str, Any] = {
        "type": "websocket", "path": "/ws", "client": ("127.0.0.1", 5000),
        "headers": [(b"origin", b"http://hub"), (b"cookie", b"ptsa_session=abc")],
        "query_string": b"token=secret", "subprotocols": ["x"],
        "principal": principal, "session": object(),
        "extensions": {"ptsa.wire": {"write": write}},
    }
    assert query_token(scope) == "secret"
    forget_handshake(scope)
    assert scope["headers"] == [] and scope["query_string"] == b""
    assert scope["subprotocols"] == [] and scope["session"] is None
    assert query_token(scope) is None  # nothing can be read out of it again
    assert scope["principal"] is principal and scope["path"] == "/ws"
    assert scope["extensions"]["ptsa.wire"]["write"] is write  # taken after the accept


def test_a_scope_without_a_session_gets_no_session_key() -> None:
    scope: dict[str, Any] = {"type": "websocket", "headers": [], "query_string": b""}
    forget_handshake(scope)
    assert "session" not in scope
