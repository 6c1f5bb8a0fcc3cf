"""``bench.floor --ideal`` (``--target ideal``): the lower-bound server still does the floor's
job — subscribe, then every frame published on the room's Redis channel, exactly as published —
with one ``transport.write`` of a prepared frame per delivery; a socket that leaves is dropped."""

from __future__ import annotations

import asyncio
import json
import uuid

from redis.asyncio import Redis
from websockets.asyncio.client import connect

from bench.compare import PRESETS, parse_variant
from bench.fanout import make_target, parse_args
from bench.floor import create_app
from bench.floor_target import FloorTarget
from hub.ws.wire import HubWebSocketProtocol
from tests.support.inprocess import uvicorn_serving

REDIS_URL = "redis://127.0.0.1:6379/0"


async def test_the_ideal_floor_forwards_published_frames_and_forgets_closed_sockets() -> None:
    prefix = f"test:ideal:{uuid.uuid4().hex[:8]}:"
    app = create_app(REDIS_URL, prefix, ideal=True)
    redis = Redis.from_url(REDIS_URL)
    try:
        async with uvicorn_serving(app, ws=HubWebSocketProtocol, ws_per_message_deflate=False,
                                   lifespan="on") as (_, port):
            async with connect(f"ws://127.0.0.1:{port}/ws", compression=None) as stays, \
                    connect(f"ws://127.0.0.1:{port}/ws", compression=None) as leaves:
                for ws in (stays, leaves):
                    await ws.send(json.dumps({"op": "subscribe", "channel": "p0"}))
                    assert json.loads(await asyncio.wait_for(ws.recv(), 5))["op"] == "subscribed"
                frame = json.dumps({"op": "event", "id": "e1", "data": {"é": "✓"}})
                await redis.publish(prefix + "p0", frame)
                assert await asyncio.wait_for(stays.recv(), 5) == frame
                assert await asyncio.wait_for(leaves.recv(), 5) == frame
                await leaves.close()
                async with asyncio.timeout(5):
                    while len(app.state.floor.rooms["p0"]) != 1:
                        await asyncio.sleep(0.02)
                await redis.publish(prefix + "p0", '{"op":"event","id":"e2"}')
                assert await asyncio.wait_for(stays.recv(), 5) == '{"op":"event","id":"e2"}'
    finally:
        await redis.aclose()


def test_ideal_is_a_target_and_a_compare_preset() -> None:
    target = make_target(parse_args(["--target", "ideal"]))
    assert isinstance(target, FloorTarget) and target.ideal and target.name == "ideal"
    assert parse_variant("ideal").args == tuple(PRESETS["ideal"].split())
