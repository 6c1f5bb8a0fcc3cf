"""The process's one keep-alive (``hub.ws.keepalive`` through ``hub.ws.wire``), on a real uvicorn
server with real sockets: a peer that never answers pings is closed with uvicorn's 1011 within
interval + timeout, healthy idle peers stay open across many rounds with no per-socket timer, and
a closed socket leaves the shared set."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from websockets.asyncio.client import connect

from hub.ws.keepalive import ping_frame
from hub.ws.wire import HubWebSocketProtocol, keepalive_for
from tests.support.inprocess import uvicorn_serving

INTERVAL = 0.2
TIMEOUT = 0.3


class Made(HubWebSocketProtocol):
    made: list[HubWebSocketProtocol] = []

    def connection_made(self, transport: Any) -> None:
        Made.made.append(self)
        super().connection_made(transport)


async def idle_app(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "websocket.accept"})
    while (await receive())["type"] == "websocket.receive":
        pass


@contextlib.asynccontextmanager
async def server(interval: float = INTERVAL,
                 timeout: float | None = TIMEOUT) -> AsyncIterator[uvicorn.Server]:
    Made.made = []
    async with uvicorn_serving(idle_app, ws=Made, ws_per_message_deflate=False,
                               ws_ping_interval=interval, ws_ping_timeout=timeout) as (srv, _):
        yield srv


async def raw_handshake(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A TCP client that speaks the opening handshake and then never answers anything."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 b"Sec-WebSocket-Version: 13\r\n\r\n")
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 101")
    return reader, writer


async def test_a_peer_that_stops_answering_is_closed_within_interval_plus_timeout() -> None:
    async with server() as srv:
        port = srv.config.port
        async with connect(f"ws://127.0.0.1:{port}/", compression=None) as healthy:
            reader, writer = await raw_handshake(port)
            opened = time.monotonic()
            received = b""
            async with asyncio.timeout(5):
                while chunk := await reader.read(4096):
                    received += chunk
            closed_after = time.monotonic() - opened
            writer.close()
            # One ping (the round's prepared frame), then uvicorn's keep-alive close: 1011.
            assert received.startswith(b"\x89\x04")
            close = received[6:]
            assert close[:1] == b"\x88" and close[2:4] == (1011).to_bytes(2, "big")
            assert b"keepalive ping timeout" in close
            # Dead within one interval (waiting for the round) + the timeout, plus slack.
            assert INTERVAL * 0.5 < closed_after < INTERVAL + TIMEOUT + 0.3
            # The healthy peer beside it answered every ping and is still open.
            await asyncio.sleep(3 * INTERVAL)
            await healthy.ping()
            keepalive = keepalive_for(srv.config)
            assert len(keepalive.sockets) == 1


async def test_healthy_idle_peers_stay_open_across_rounds_without_a_timer_each() -> None:
    async with server() as srv:
        clients = [await connect(f"ws://127.0.0.1:{srv.config.port}/", compression=None)
                   for _ in range(5)]
        try:
            keepalive = keepalive_for(srv.config)
            first = keepalive.rounds
            await asyncio.sleep(8 * INTERVAL)
            assert keepalive.rounds - first >= 5  # several rounds went by ...
            assert len(keepalive.sockets) == 5  # ... and nobody was dropped
            for proto in Made.made:
                assert not proto.close_sent and proto.last_ping_rtt > 0
                assert proto.ping_timer is None and proto.pong_timer is None
            for ws in clients:
                await ws.send("still here")
        finally:
            for ws in clients:
                await ws.close()


async def test_a_round_in_slices_keeps_the_healthy_and_drops_the_dead(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Slices of 4 sockets spread over the round: 12 healthy peers answer every slice's ping and
    stay; a dead peer (the last to join, so in the last slice) still goes within
    interval + timeout."""
    import hub.ws.keepalive as keepalive_module

    monkeypatch.setattr(keepalive_module, "SLICE", 4)
    async with server(interval=0.4, timeout=0.3) as srv:
        port = srv.config.port
        clients = [await connect(f"ws://127.0.0.1:{port}/", compression=None)
                   for _ in range(12)]
        try:
            reader, writer = await raw_handshake(port)
            opened = time.monotonic()
            async with asyncio.timeout(5):
                while await reader.read(4096):
                    pass
            writer.close()
            assert time.monotonic() - opened < 0.4 * 1.25 + 0.3 + 0.3
            keepalive = keepalive_for(srv.config)
            first = keepalive.rounds
            await asyncio.sleep(1.3)
            assert keepalive.rounds - first >= 3 and len(keepalive.sockets) == 12
            assert all(p.last_ping_rtt > 0 and not p.close_sent for p in Made.made
                       if p in keepalive.sockets)
        finally:
            for ws in clients:
                await ws.close()


async def test_closed_sockets_leave_the_shared_set_and_the_task_stops() -> None:
    async with server() as srv:
        port = srv.config.port
        clients = [await connect(f"ws://127.0.0.1:{port}/", compression=None)
                   for _ in range(3)]
        keepalive = keepalive_for(srv.config)
        assert len(keepalive.sockets) == 3
        await clients[0].close()
        reader, writer = await raw_handshake(port)
        writer.close()  # a peer that vanishes without a close frame
        async with asyncio.timeout(5):
            while len(keepalive.sockets) != 2:
                await asyncio.sleep(0.02)
        for ws in clients[1:]:
            await ws.close()
        async with asyncio.timeout(5):
            while keepalive.sockets or keepalive._task is not None:
                await asyncio.sleep(0.02)


async def test_a_stale_pong_does_not_count() -> None:
    """A pong carrying another payload than the ping in flight is ignored (uvicorn's rule): the
    peer that only ever sends such pongs is still closed."""
    async with server() as srv:
        reader, writer = await raw_handshake(srv.config.port)
        ping = await asyncio.wait_for(reader.readexactly(6), 5)
        assert ping[:2] == b"\x89\x04"
        stale = bytes(b ^ 0xFF for b in ping[2:])
        # A masked pong (client frames are masked) with a zero mask key: payload as is.
        writer.write(b"\x8a\x84\x00\x00\x00\x00" + stale)
        received = b""
        async with asyncio.timeout(5):
            while chunk := await reader.read(4096):
                received += chunk
        writer.close()
        assert (1011).to_bytes(2, "big") + b"keepalive ping timeout" in received


@pytest.mark.parametrize("payload", [b"\x00\x00\x00\x00", b"\x01\x02\x03\x04"])
def test_the_prepared_ping_is_what_websockets_would_send(payload: bytes) -> None:
    from websockets.protocol import State
    from websockets.server import ServerProtocol

    conn = ServerProtocol()
    conn.state = State.OPEN
    conn.send_ping(payload)
    assert ping_frame(payload) == b"".join(conn.data_to_send())


async def test_keepalive_off_when_the_interval_is_zero() -> None:
    async with server(interval=0) as srv, \
            connect(f"ws://127.0.0.1:{srv.config.port}/", compression=None) as ws:
        await ws.send("x")
        await asyncio.sleep(0.1)
        assert not keepalive_for(srv.config).sockets
