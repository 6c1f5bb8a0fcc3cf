"""A lean WebSocket client: websockets' sans-I/O ClientProtocol on a plain asyncio Protocol.

The ``websockets`` asyncio client wakes one reader task per frame through a queue and futures;
with thousands of connections the harness then spends more CPU per frame than the server it
measures, and during a burst to a big room the client processes compete with the server for the
machine's two cores. Here each frame is handed to a callback straight from ``data_received``:
same protocol code (handshake, masking, ping → pong, close), no task or future per frame.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import cast

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.uri import parse_uri


class LeanConnection(asyncio.Protocol):
    """One connection; text frames go to ``on_text``; not for fragmented messages."""

    def __init__(self, url: str, on_text: Callable[[str], None]) -> None:
        self._protocol = ClientProtocol(parse_uri(url))  # no extensions: no compression
        self._on_text = on_text
        loop = asyncio.get_running_loop()
        self.handshake: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.transport: asyncio.Transport | None = None

    @classmethod
    async def open(cls, url: str, on_text: Callable[[str], None]) -> LeanConnection:
        uri = parse_uri(url)
        if uri.secure:
            raise ValueError(f"the lean client speaks ws:// only, got {url!r}")
        loop = asyncio.get_running_loop()
        _, connection = await loop.create_connection(lambda: cls(url, on_text), uri.host, uri.port)
        await connection.handshake
        return connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # a TCP stream: create_connection
        self._protocol.send_request(self._protocol.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        protocol = self._protocol
        protocol.receive_data(data)
        for event in protocol.events_received():
            if isinstance(event, Frame):
                if event.opcode is Opcode.TEXT:
                    self._on_text(str(event.data, "utf-8"))
            elif isinstance(event, Response) and not self.handshake.done():
                if protocol.state is State.OPEN:
                    self.handshake.set_result(None)
                else:
                    self.handshake.set_exception(
                        protocol.handshake_exc or ConnectionError("handshake refused")
                    )
        self._flush()  # pongs the protocol queued in answer to the server's pings

    def eof_received(self) -> bool | None:
        self._protocol.receive_eof()
        self._flush()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        for future in (self.handshake, self.closed):
            if not future.done():
                future.set_exception(exc or ConnectionError("connection closed"))
                # Marks it retrieved: often nobody awaits it (a run that stops aborts us),
                # and asyncio would log every one of thousands as "never retrieved".
                future.exception()

    def send_text(self, text: str) -> None:
        self._protocol.send_text(text.encode())
        self._flush()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def _flush(self) -> None:
        if self.transport is None:
            return
        for chunk in self._protocol.data_to_send():
            if chunk:
                self.transport.write(chunk)
            elif self.transport.can_write_eof():
                self.transport.write_eof()  # the protocol asks for a half-close after a close
