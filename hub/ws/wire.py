"""Prepared frames: a fan-out event framed for the wire once, then written to every socket as is.

A server's WebSocket frames are not masked, so one event's text frame is the same bytes for every
client. uvicorn's ASGI ``send`` frames each message again for each socket: it waits on the
socket's writable event, encodes the text, builds a websockets ``Frame``, serialises its header,
joins and writes. At 2,000 sockets that per-socket framing was most of what the hub spent above
the bare floor (BENCHMARKS). gorilla/websocket's ``PreparedMessage`` (what Centrifugo fans out
with) exists for the same reason.

``HubWebSocketProtocol`` is uvicorn's ``websockets-sansio`` protocol with one ASGI extension,
``ptsa.wire``: a synchronous ``write(frame_bytes) -> bool`` that writes a prepared frame straight
to the transport when the socket is open and not backed up, and answers False otherwise. On False
the caller sends the ordinary ASGI message instead (every prepared message also carries its
``text``), which waits for the socket like any other send, so flow control, ordering behind a
backlog and closing all stay uvicorn's. Under any other server (the test client, plain
``--ws websockets-sansio``) the extension is absent and every frame takes the ordinary path.

It also holds less while a socket is idle (docs/BENCHMARKS.md, "Issue 17: idle memory"): its
incoming queue and ``writable`` flag are ``hub.ws.light_sync``'s (no empty deques), and the
handshake's request and response objects (every header, parsed twice) are let go once the
handshake is answered.

Keep-alive: one task per server pings every socket (``hub.ws.keepalive``) instead of uvicorn's
two timers per socket, with the same ``--ws-ping-interval``/``--ws-ping-timeout`` and the same
1011 close; its pongs are read by websockets' parser like every other frame.

Start uvicorn with ``--ws hub.ws.wire:HubWebSocketProtocol`` (``hub.cli.runner.web_command`` does).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, MutableMapping
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode

from hub.ws.keepalive import KeepAlive
from hub.ws.light_sync import LightEvent, LightQueue

PROTOCOL_CLASS = "hub.ws.wire:HubWebSocketProtocol"
EXTENSION = "ptsa.wire"  # scope["extensions"][EXTENSION] == {"write": WireWrite}
WIRE_KEY = "ptsa.wire"  # the prepared bytes inside an ASGI "websocket.send" message

WireWrite = Callable[[bytes], bool]

# One keep-alive per uvicorn server (its Config): every socket of the process shares it.
_keepalives: weakref.WeakKeyDictionary[Config, KeepAlive] = weakref.WeakKeyDictionary()


def keepalive_for(config: Config) -> KeepAlive:
    """The shared keep-alive of the server ``config`` belongs to (made on first use)."""
    keepalive = _keepalives.get(config)
    if keepalive is None:
        keepalive = _keepalives[config] = KeepAlive(config.ws_ping_interval or 0.0,
                                                    config.ws_ping_timeout)
    return keepalive


def prepare(text: str) -> bytes:
    """``text`` as one complete, unmasked, uncompressed WebSocket text frame."""
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False)


def prepared_message(text: str) -> dict[str, Any]:
    """An ASGI send message for ``text`` that also carries its prepared frame."""
    return {"type": "websocket.send", "text": text, WIRE_KEY: prepare(text)}


def wire_writer(scope: MutableMapping[str, Any]) -> WireWrite | None:
    """Take the connection's prepared-frame writer out of its scope (None: not offered).

    Taken out, not read: the scope lives as long as the socket, and nothing else needs it.
    """
    extension = (scope.get("extensions") or {}).pop(EXTENSION, None)
    return extension.get("write") if isinstance(extension, dict) else None


class HubWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol, offering ``ptsa.wire`` to the application."""

    # uvicorn's protocol sets ~37 attributes on each connection. Past 30, CPython gives up the
    # compact shared-key instance dict for a ~1.6 KiB table per object; as slots (which the
    # parent's plain ``self.x = …`` assignments fill) they cost 8 bytes each. An attribute a
    # later uvicorn adds simply lands in the instance dict.
    # ``paused`` is ours: it mirrors ``writable`` as a plain attribute (set by pause_writing and
    # resume_writing), checked for every prepared write, where ``Event.is_set()`` was one more
    # Python call per delivery.
    __slots__ = ("app", "app_state", "asgi_version", "client", "close_sent", "close_timeout",
                 "close_timer", "config", "conn", "connections", "curr_msg_data_type",
                 "default_headers", "disconnected", "frames", "handshake_complete",
                 "handshake_initiated", "initial_response", "last_ping_rtt", "logger", "loop",
                 "paused", "pending_ping_payload", "ping_interval", "ping_sent_at",
                 "ping_timeout", "ping_timer", "pong_timer", "queue", "read_paused", "request",
                 "response", "root_path", "scheme", "scope", "server", "tasks", "transport",
                 "writable")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.paused = False
        super().__init__(*args, **kwargs)
        self.queue = LightQueue()  # type: ignore[assignment]
        self.writable = LightEvent()  # type: ignore[assignment]
        self.writable.set()

    def pause_writing(self) -> None:
        self.paused = True
        super().pause_writing()

    def resume_writing(self) -> None:
        self.paused = False
        super().resume_writing()

    def start_keepalive(self) -> None:
        # Called once, right after the accepting response went out. Keep-alive: the process's
        # one ping task (hub.ws.keepalive) instead of uvicorn's two timers per socket, same
        # interval, timeout and close.
        if self.ping_interval is not None and self.ping_interval > 0:
            keepalive_for(self.config).add(self)
        # The parsed request and the response are never read again, and would otherwise stay
        # for the socket's life.
        request = getattr(self, "request", None)
        if request is not None:
            # websockets' parser is one generator for the socket's life, and the parsed request
            # is a local of it: empty it (headers, path with the token), it is never read again.
            request.headers.clear()
            request.path = ""
        self.request = None  # type: ignore[assignment]
        self.response = None  # type: ignore[assignment]

    def stop_keepalive(self) -> None:
        # uvicorn calls this on connection_lost and shutdown: the socket leaves the shared set.
        super().stop_keepalive()
        keepalive = _keepalives.get(self.config)
        if keepalive is not None:
            keepalive.discard(self)

    def handle_pong(self, event: Any) -> None:
        # uvicorn's check: only the pong of the ping in flight counts (not a stale or an
        # unsolicited one). The shared keep-alive pings again next round; no timer to cancel.
        if self.pending_ping_payload is not None and event.data == self.pending_ping_payload:
            self.last_ping_rtt = self.loop.time() - self.ping_sent_at
            self.pending_ping_payload = None

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        # The handshake was refused (non-101) when no scope was made; the ASGI task that reads
        # the scope has been created but has not run yet, so the extension is there in time.
        scope = getattr(self, "scope", None)
        if scope is not None and not self.close_sent and not self.conn.extensions:
            # Only for uncompressed connections: a prepared frame carries no compression.
            scope["extensions"][EXTENSION] = {"write": self.write_prepared}

    def write_prepared(self, wire: bytes) -> bool:
        """Write a prepared frame now if the socket can take it; False: use ``send`` instead.

        Plain attributes and one C call: this runs once per socket per event. ``conn.state``
        (a Python property) is not read: every way uvicorn takes the connection out of OPEN (a
        close sent or received, a parser error, a keep-alive timeout, shutdown) sets
        ``close_sent`` or closes the transport in the same synchronous step.
        """
        transport = self.transport
        if (self.close_sent or self.paused or self.disconnected or not self.handshake_complete
                or transport.is_closing()):
            return False
        transport.write(wire)
        return True
