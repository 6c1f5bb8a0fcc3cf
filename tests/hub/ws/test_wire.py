"""Prepared fan-out frames (``hub.ws.wire``): the same bytes uvicorn would write, written by a
real uvicorn server, refused while the socket is backed up, and used by the hub's fan-out."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.protocol import State
from websockets.server import ServerProtocol

from config.seed import DEMO_PASSWORD
from hub.ws.outbound import Outbound, fan_out
from hub.ws.wire import (
    EXTENSION,
    WIRE_KEY,
    HubWebSocketProtocol,
    prepare,
    prepared_message,
    wire_writer,
)
from tests.support.inprocess import uvicorn_serving
from tests.support.wsclient import WsClient, register_task


@pytest.mark.parametrize("text", ["", "{}", "é" * 40, "x" * 125, "x" * 126, "x" * 65_535,
                                  "x" * 65_536, json.dumps({"op": "event", "nama": "Budi ✓"})])
def test_a_prepared_frame_is_what_the_websocket_library_would_send(text: str) -> None:
    """Byte for byte what uvicorn's own send writes (websockets' ServerProtocol.send_text), for
    each of the three length encodings and non-ASCII text."""
    server = ServerProtocol()
    server.state = State.OPEN
    server.send_text(text.encode())
    assert prepare(text) == b"".join(server.data_to_send())


def test_a_prepared_message_still_carries_its_text_for_other_servers() -> None:
    message = prepared_message('{"op":"pong"}')
    assert message["type"] == "websocket.send" and message["text"] == '{"op":"pong"}'
    assert message[WIRE_KEY] == prepare('{"op":"pong"}')


def test_without_the_extension_there_is_no_writer() -> None:
    assert wire_writer({"type": "websocket", "extensions": {"websocket.http.response": {}}}) \
        is None
    assert wire_writer({"type": "websocket"}) is None
    scope: dict[str, Any] = {"extensions": {EXTENSION: {"write": print}}}
    assert wire_writer(scope) is print and EXTENSION not in scope["extensions"]


# --- Outbound with a writer ----------------------------------------------------------------------
class Recorder:
    """Stands in for the socket: what was written as prepared bytes and what was sent as ASGI
    messages, in one ordered log; ``accept`` decides whether prepared writes are taken."""

    def __init__(self) -> None:
        self.log: list[Any] = []
        self.accept = True
        self.writable = asyncio.Event()
        self.writable.set()

    def write(self, wire: bytes) -> bool:
        if self.accept:
            self.log.append(wire)
        return self.accept

    async def send(self, message: Any) -> None:
        await self.writable.wait()
        self.log.append(message["text"])


async def test_outbound_writes_prepared_bytes_when_the_socket_takes_them() -> None:
    rec = Recorder()
    out = Outbound(rec.send, 4, lambda: None, rec.write)
    out.push(prepared_message("a"))
    out.push({"type": "websocket.send", "text": "plain"})  # not prepared: the ordinary send
    assert rec.log == [prepare("a"), "plain"]


async def test_outbound_falls_back_to_send_and_keeps_order_behind_a_backlog() -> None:
    """A refused write goes through send; once send waits, later prepared frames queue behind
    it (never written past it), and all of them arrive in order when the socket drains."""
    rec = Recorder()
    out = Outbound(rec.send, 8, lambda: None, rec.write)
    rec.accept = False
    rec.writable.clear()
    out.push(prepared_message("1"))  # refused → send, which waits: a writer task takes over
    rec.accept = True  # the socket would take bytes again, but "1" is still queued
    out.push(prepared_message("2"))
    out.push(prepared_message("3"))
    assert rec.log == [] and out.queued == 2
    rec.writable.set()
    await out.wait_idle()
    assert rec.log == ["1", "2", "3"]
    out.push(prepared_message("4"))  # drained: straight to the socket again
    assert rec.log[-1] == prepare("4")


async def test_fan_out_writes_each_socket_that_can_take_it_and_queues_for_the_others() -> None:
    """One call per event: prepared bytes straight to the open sockets; a backed-up socket gets
    the ordinary send, queued in order behind its backlog; a closed one gets nothing. Once the
    backlog drains, that socket takes prepared bytes again."""
    fast, slow, gone = Recorder(), Recorder(), Recorder()
    outs = [Outbound(r.send, 8, lambda: None, r.write) for r in (fast, slow, gone)]
    outs[2].close(1000)
    gone.log.clear()
    slow.accept = False
    slow.writable.clear()
    fan_out(outs, prepared_message("1"))
    assert outs[1].direct is None and outs[1].queued == 0  # "1" is the suspended send
    fan_out(outs, prepared_message("2"))
    assert fast.log == [prepare("1"), prepare("2")] and outs[1].queued == 1
    slow.accept = True
    slow.writable.set()
    await outs[1].wait_idle()
    assert slow.log == ["1", "2"] and outs[1].direct is not None
    fan_out(outs, prepared_message("3"))
    assert slow.log[-1] == prepare("3") and gone.log == []
    fan_out(outs, {"type": "websocket.send", "text": "plain"})  # not prepared: push
    assert fast.log[-1] == "plain" and slow.log[-1] == "plain" and gone.log == []


async def test_fan_out_closes_a_slow_consumer_like_push_does() -> None:
    """A socket whose backlog is full when fan_out reaches it is closed as a slow consumer,
    once, and gets no prepared bytes afterwards."""
    rec = Recorder()
    slow: list[int] = []
    out = Outbound(rec.send, 2, lambda: slow.append(1), rec.write)
    rec.accept = False
    rec.writable.clear()
    for n in range(5):
        fan_out([out], prepared_message(str(n)))
    assert slow == [1] and out.closed and out.direct is None
    rec.accept = True
    fan_out([out], prepared_message("late"))
    assert prepare("late") not in rec.log


# --- a real uvicorn server --------------------------------------------------------------------
@contextlib.asynccontextmanager
async def serving(app: Any, protocol: type[HubWebSocketProtocol] = HubWebSocketProtocol,
                  deflate: bool = False) -> AsyncIterator[int]:
    async with uvicorn_serving(app, ws=protocol, ws_per_message_deflate=deflate) as (_, port):
        yield port


async def test_uvicorn_writes_prepared_frames_until_the_socket_backs_up() -> None:
    """The writer is offered, written frames arrive as text, a client that stops reading makes
    it refuse (and ordinary sends wait instead), and everything arrives in order."""
    report: dict[str, Any] = {}
    payload = "y" * 60_000

    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"
        write = wire_writer(scope)
        await send({"type": "websocket.accept"})
        report["offered"] = write is not None
        assert write is not None
        sent = 0
        while sent < 2_000 and write(prepare(f"{sent}:{payload}")):
            sent += 1
        report["written"] = sent
        await send({"type": "websocket.send", "text": f"{sent}:{payload}"})  # waits for room
        await send({"type": "websocket.send", "text": "end"})
        await receive()  # the client's close
        report["after_close"] = write(prepare("late"))

    async with serving(app) as port:
        async with connect(f"ws://127.0.0.1:{port}/", max_queue=1, max_size=None,
                           compression=None) as ws:
            await asyncio.sleep(0.5)  # not reading: the server's buffer fills up
            got = []
            while (message := await asyncio.wait_for(ws.recv(), 10)) != "end":
                got.append(message)
        await asyncio.sleep(0.2)
    assert report["offered"]
    assert 0 < report["written"] < 2_000  # it stopped taking frames: the socket backed up
    assert [int(m.split(":")[0]) for m in got] == list(range(report["written"] + 1))
    assert all(m.endswith(payload) for m in got)
    assert report["after_close"] is False


async def test_a_compressed_connection_is_offered_no_writer() -> None:
    """With permessage-deflate negotiated, prepared (uncompressed) bytes would be garbage to
    the client: no writer, and prepared messages go through the ordinary, compressing send."""
    offered: list[bool] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        offered.append(wire_writer(scope) is not None)
        await send({"type": "websocket.accept"})
        await send(prepared_message("compressed hello"))
        await receive()

    async with serving(app, deflate=True) as port:
        async with connect(f"ws://127.0.0.1:{port}/", compression="deflate") as ws:
            assert await asyncio.wait_for(ws.recv(), 5) == "compressed hello"
            assert ws.protocol.extensions  # deflate really was negotiated
    assert offered == [False]


class CountingProtocol(HubWebSocketProtocol):
    written: list[bytes] = []

    def write_prepared(self, wire: bytes) -> bool:
        taken = super().write_prepared(wire)
        if taken:
            CountingProtocol.written.append(wire)
        return taken


async def test_the_hub_fans_out_prepared_frames(app: Any) -> None:
    """The real app under uvicorn: a registered task reaches the P1 desk's socket as a
    prepared frame (the hub no longer frames it per socket)."""
    CountingProtocol.written = []
    async with serving(app, CountingProtocol) as port:
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            async def token(user: str) -> str:
                answer = await http.post("/api/v1/auth/token",
                                         json={"username": user, "password": DEMO_PASSWORD})
                return str(answer.json()["access_token"])

            p1 = await WsClient.open(f"ws://127.0.0.1:{port}/ws", await token("p1-barenbang-1"))
            assert (await p1.subscribe("p1.barenbang"))["op"] == "subscribed"
            task = await register_task(base, await token("p0-1"), client=http)
            [event] = await p1.events(1, timeout=5, channel="p1.barenbang")
            await p1.close()
    assert event["data"]["task"]["id"] == task["id"]
    assert any(b'"op":"event"' in wire and str(task["code"]).encode() in wire
               for wire in CountingProtocol.written)


class RecordingProtocol(HubWebSocketProtocol):
    made: list[RecordingProtocol] = []
    requests: list[Any] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        RecordingProtocol.made.append(self)

    def handle_connect(self, event: Any) -> None:
        RecordingProtocol.requests.append(event)
        super().handle_connect(event)


async def test_an_open_socket_holds_no_handshake_objects_and_still_works() -> None:
    """Once accepted, the protocol let go of the parsed request and response and uses the light
    queue and flag; frames in both directions, a burst of frames and keep-alive pings (answered
    pongs) still work, and a client's close reaches the app with its code."""
    from hub.ws.light_sync import LightEvent, LightQueue

    RecordingProtocol.made, RecordingProtocol.requests = [], []
    received: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        while (message := await receive())["type"] == "websocket.receive":
            received.append(message["text"])
            await send({"type": "websocket.send", "text": message["text"].upper()})
        received.append(message)

    async with uvicorn_serving(app, ws=RecordingProtocol, ws_per_message_deflate=False,
                               ws_ping_interval=0.1, ws_ping_timeout=1.0) as (_, port):
        async with connect(f"ws://127.0.0.1:{port}/?token=secret", compression=None) as ws:
            [proto] = RecordingProtocol.made
            for text in ("a", "b", "c"):  # a burst: queued while the app handles the first
                await ws.send(text)
            assert [await asyncio.wait_for(ws.recv(), 5) for _ in range(3)] == ["A", "B", "C"]
            assert proto.request is None and proto.response is None  # type: ignore[comparison-overlap]
            # websockets' parser generator still holds the request: emptied (token, headers).
            [request] = RecordingProtocol.requests
            assert request.path == "" and not request.headers
            assert isinstance(proto.queue, LightQueue)
            assert isinstance(proto.writable, LightEvent)
            # uvicorn's attributes went to the slots, not to a per-connection dict table.
            assert not set(HubWebSocketProtocol.__slots__) & set(vars(proto))
            await asyncio.sleep(0.5)  # several keep-alive pings, each answered
            assert proto.last_ping_rtt > 0 and not proto.close_sent
            await ws.send("d")
            assert await asyncio.wait_for(ws.recv(), 5) == "D"
            await ws.close(4001, "bye")
        await asyncio.sleep(0.2)
    assert received[:4] == ["a", "b", "c", "d"]
    assert received[4]["type"] == "websocket.disconnect" and received[4]["code"] == 4001
