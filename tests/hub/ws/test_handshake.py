"""What a WebSocket's scope keeps after its handshake (``hub.ws.handshake.forget_handshake``)."""

from __future__ import annotations

from typing import Any, cast

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


def _principal(role: str = "p1", epoch: int = 0, scope: frozenset[str] = frozenset()) -> Any:
    from datetime import UTC, datetime

    from hub.auth.principal import Principal
    from hub.models import Staff

    staff = Staff(id=7, username="budi", full_name="Budi", role=role, unit_code="barenbang",
                  password_hash="x", session_epoch=epoch,
                  created_at=datetime(2026, 1, 1, tzinfo=UTC))
    return Principal(staff, scope, "eselon1")


def test_sockets_of_one_account_share_one_principal_while_it_is_unchanged() -> None:
    from hub.ws.handshake import PrincipalCache

    cache = PrincipalCache(cast(Any, None), cast(Any, None))
    first = cache.share(_principal())
    again = cache.share(_principal())  # loaded afresh, same row: the held one is reused
    assert again is first
    for changed in (_principal(role="p2"), _principal(epoch=1),
                    _principal(scope=frozenset({"barenbang"}))):
        fresh = cache.share(changed)
        assert fresh is changed and fresh is not first  # never an old principal for a new row
    assert cache.share(_principal()) is not first  # the last one loaded is the one shared now


def test_a_principal_no_socket_holds_is_not_kept() -> None:
    import gc

    from hub.ws.handshake import PrincipalCache

    cache = PrincipalCache(cast(Any, None), cast(Any, None))
    cache.share(_principal())
    gc.collect()
    assert cache._shared.get("budi") is None
