"""The bare floor: the least a Python fan-out server can do, as a yardstick.

Starlette under uvicorn (``websockets-sansio``, permessage-deflate off), ONE redis-py asyncio
subscriber, a dict room → set of sockets and ``send_text`` per socket. No authentication, no
queues, no history: whatever the hub adds on top of this is what it costs.

Clients send ``{"op":"subscribe","channel":C}`` and get ``{"op":"subscribed","channel":C}``; a
message published on Redis channel ``<prefix><C>`` is forwarded to them exactly as published.

    python -m bench.floor --port 8765
    python -m bench.floor --port 8765 --ideal

``--ideal`` is the lower bound of a Python hub instead: the same clients, rooms and events, served
by the hub's own WebSocket protocol (``hub.ws.wire``: its one keep-alive task, its lean
per-socket state) and, per delivery, nothing but one ``transport.write`` of the event's frame,
prepared once per event. No authentication, queues, flow control or history: what no Python
server under uvicorn on this machine can go below (docs/BENCHMARKS.md, "Issue 17").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from bench import gc_probe
from hub.ws.wire import HubWebSocketProtocol, prepare, wire_writer

DEFAULT_PREFIX = "bench:floor:"


class Floor:
    def __init__(self, redis_url: str, prefix: str, ideal: bool = False) -> None:
        self.redis_url = redis_url
        self.prefix = prefix
        self.ideal = ideal
        # ideal: the rooms hold each socket's asyncio transport instead of its WebSocket.
        self.rooms: dict[str, set[Any]] = {}
        self._forwarder: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.redis = Redis.from_url(self.redis_url, decode_responses=True)
        self.pubsub = self.redis.pubsub()
        # redis-py's listen() ends as soon as nothing is subscribed, and rooms arrive only with
        # clients: a control channel keeps the one subscriber alive from the start.
        await self.pubsub.subscribe(f"{self.prefix}-control")
        self._forwarder = asyncio.create_task(self._forward())

    async def stop(self) -> None:
        if self._forwarder is not None:
            self._forwarder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._forwarder
        await self.pubsub.aclose()
        await self.redis.aclose()

    async def join(self, room: str, ws: Any) -> None:
        sockets = self.rooms.get(room)
        if sockets is not None:
            sockets.add(ws)
            return
        # Fill the set before awaiting SUBSCRIBE, so a second client joining the same new room
        # meanwhile adds itself to this set instead of replacing it (broadcaster's lost-subscriber
        # bug of a peer). Rooms are kept when they empty: there are few of them in a benchmark.
        self.rooms[room] = {ws}
        await self.pubsub.subscribe(self.prefix + room)

    def leave(self, ws: Any, rooms: set[str]) -> None:
        for room in rooms:
            self.rooms.get(room, set()).discard(ws)

    async def _forward(self) -> None:
        skip = len(self.prefix)
        async for message in self.pubsub.listen():
            if message["type"] != "message":
                continue
            sockets = self.rooms.get(message["channel"][skip:])
            if not sockets:
                continue
            data = message["data"]
            if self.ideal:
                # The lower bound: one C call per delivery, nothing else in Python. No await
                # in this loop, so no socket can leave the set while it runs.
                wire = prepare(data)
                for transport in sockets:
                    transport.write(wire)
                continue
            for ws in tuple(sockets):  # a copy: sockets leave while we await
                try:
                    await ws.send_text(data)
                except Exception:  # a socket closed under us must not stop the others
                    sockets.discard(ws)

    async def endpoint(self, ws: WebSocket) -> None:
        await ws.accept()
        joined: set[str] = set()
        member: Any = ws
        if self.ideal:
            writer = wire_writer(ws.scope)
            if writer is None:
                raise RuntimeError("--ideal needs hub.ws.wire's protocol, uncompressed")
            member = writer.__self__.transport  # type: ignore[attr-defined]
        try:
            while True:
                try:
                    frame = json.loads(await ws.receive_text())
                    op = frame["op"]
                except (ValueError, KeyError, TypeError):
                    await ws.send_text('{"op":"error","code":"bad_frame","message":"not JSON"}')
                    continue
                if op == "subscribe" and isinstance(frame.get("channel"), str):
                    room = frame["channel"]
                    joined.add(room)
                    await self.join(room, member)
                    await ws.send_text(json.dumps({"op": "subscribed", "channel": room}))
                elif op == "ping":
                    await ws.send_text('{"op":"pong"}')
        except WebSocketDisconnect:
            pass
        finally:
            self.leave(member, joined)


def create_app(
    redis_url: str, prefix: str = DEFAULT_PREFIX, gc_probe_path: str | None = None,
    ideal: bool = False,
) -> Starlette:
    floor = Floor(redis_url, prefix, ideal)
    probe = gc_probe.install(gc_probe_path) if gc_probe_path else None

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await floor.start()
        yield
        await floor.stop()
        if probe is not None and gc_probe_path:
            gc_probe.write_summary(probe, gc_probe_path)

    app = Starlette(routes=[WebSocketRoute("/ws", floor.endpoint)], lifespan=lifespan)
    app.state.floor = floor  # for the tests
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.floor", description="The bare fan-out floor."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--prefix", default=DEFAULT_PREFIX, help="Redis channel = prefix + room")
    parser.add_argument(
        "--max-seconds", type=float, default=3600.0, help="exit by itself after this long"
    )
    parser.add_argument("--gc-probe", metavar="PATH", help="write GC pauses as JSON here at exit")
    parser.add_argument(
        "--loop",
        choices=("auto", "asyncio"),
        default="auto",
        help="auto: uvloop when installed (as the peer comparison's floor ran); asyncio: not",
    )
    parser.add_argument("--ideal", action="store_true",
                        help="the lower bound: hub.ws.wire's protocol, one transport.write per "
                        "delivery")
    args = parser.parse_args(argv)

    config = uvicorn.Config(
        create_app(args.redis_url, args.prefix, args.gc_probe, args.ideal),
        host=args.host,
        port=args.port,
        ws=HubWebSocketProtocol if args.ideal else "websockets-sansio",
        # Compression cost 30 CPU-ms per 1k deliveries in the peers for nothing on small JSON.
        ws_per_message_deflate=False,
        lifespan="on",
        log_level="warning",
        timeout_graceful_shutdown=5,
        backlog=4096,
        loop=args.loop,
    )
    server = uvicorn.Server(config)

    async def serve_bounded() -> None:
        # Bounded lifetime: a harness that died without cleaning up does not leave us behind.
        timer = asyncio.get_running_loop().call_later(
            args.max_seconds, setattr, server, "should_exit", True
        )
        try:
            await server.serve()
        finally:
            timer.cancel()

    loop_factory = config.get_loop_factory()
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(serve_bounded())


if __name__ == "__main__":
    main()
