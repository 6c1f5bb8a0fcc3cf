"""Hub processes under trouble: Redis restarts and clients that cannot keep up."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from channels.history import History, OutgoingEvent
from hub.models import utcnow
from tests.support.hubfixtures import Tokens, cluster, hub_env, seeded_env, tokens
from tests.support.hubproc import HubCluster, HubProcess
from tests.support.servers import RedisServer
from tests.support.wsclient import Frame, WsClient, register_task

__all__ = ["cluster", "hub_env", "tokens"]  # fixtures used by name


@pytest.fixture(params=["persistent", "empty"])
async def own_redis(request: pytest.FixtureRequest) -> AsyncIterator[RedisServer]:
    """A Redis this test may restart: with its data kept (AOF) or coming back empty."""
    server = RedisServer(persist=request.param == "persistent")
    server.start()
    yield server
    server.cleanup()


OURS = ("redis", "realtime", "relay")  # other parts report their own recovery


async def wait_checks(hub: HubProcess, healthy: bool, timeout: float = 20.0) -> dict[str, str]:
    """Wait until /healthz says Redis, the subscriber and the relay are all ok (or not)."""
    checks: dict[str, str] = {}
    try:
        async with asyncio.timeout(timeout):
            while True:
                code, body = await hub.health()
                checks = body["checks"]  # type: ignore[assignment]
                if all(checks[name] == "ok" for name in OURS) == healthy:
                    assert healthy or code == 503
                    return checks
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"/healthz not {'healthy' if healthy else 'degraded'} after "
                             f"{timeout} s: {checks}") from None


@pytest.mark.slow
async def test_hub_recovers_from_a_redis_restart_by_itself(
        own_redis: RedisServer, sqlite_url: str, tmp_path: Path, tokens: Tokens) -> None:
    """Redis restarts under a hub: /healthz reports it, the hub comes back by itself, and the
    screen gets the events committed meanwhile (data kept) or recovered:false (data lost),
    then live events again — never silence."""
    hubs = HubCluster(await seeded_env(sqlite_url, own_redis.url, tmp_path), tmp_path)
    try:
        [hub] = await hubs.start(1)
        p0 = await tokens(hub.url, "p0-1")
        client = await WsClient.open(hub.ws_url, await tokens(hub.url, "p1-barenbang-1"))
        await client.subscribe("p1.barenbang")
        await register_task(hub.url, p0)
        await client.events(1)
        own_redis.stop()
        assert (await wait_checks(hub, healthy=False))["realtime"] != "ok"
        during = [(await register_task(hub.url, p0))["code"] for _ in range(3)]
        own_redis.start()
        await wait_checks(hub, healthy=True)
        after = (await register_task(hub.url, p0))["code"]
        frames: list[Frame] = []
        async with asyncio.timeout(15):
            while not any(f.get("type") == "task.created"
                          and f["data"]["task"]["code"] == after for f in frames):
                frames.append(await client.recv(15))
        codes = [f["data"]["task"]["code"] for f in frames if f["op"] == "event"]
        resets = [f for f in frames if f["op"] == "subscribed"]
        if own_redis.persist:
            assert codes == [*during, after] and resets == []
        else:
            assert [r["recovered"] for r in resets] == [False]
            assert frames.index(resets[0]) < len(frames) - 1 and codes[-1] == after
            assert len(codes) == len(set(codes))
        await client.close()
    finally:
        hubs.close()


def small_buffer_socket(port: int) -> socket.socket:
    """A client socket with a tiny receive buffer, so a client that stops reading backs the
    server up after a few frames rather than megabytes."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


async def publish(redis_url: str, channel: str, count: int) -> None:
    """``count`` 60 KB events (a few megabytes, more than the kernel buffers of a client that
    stopped reading), two at a time: a pace a reading client keeps up with."""
    redis = Redis.from_url(redis_url, decode_responses=True)
    history = History(redis, 10_000, 3600)
    padding = "x" * 60_000
    for start in range(0, count, 2):
        await history.append([
            OutgoingEvent(uuid.uuid4().hex, channel, "task.message", utcnow(),
                          json.dumps({"n": n, "padding": padding}))
            for n in range(start, min(count, start + 2))])
        await asyncio.sleep(0.005)
    await redis.aclose()


async def test_slow_client_is_closed_with_4008_and_recovers(cluster: HubCluster,
                                                            tokens: Tokens) -> None:
    """A client that stops reading is closed with 4008 once its queue is full, without holding
    up a fast client; reconnecting with since gives it everything it missed, once."""
    [hub] = await cluster.start(1, PTSA_WS_QUEUE_SIZE="8")
    token = await tokens(hub.url, "p0-1")
    fast = await WsClient.open(hub.ws_url, token)
    start = await fast.subscribe("p0")
    slow = await WsClient.open(hub.ws_url, token, sock=small_buffer_socket(hub.port),
                               max_queue=1, ping_interval=None)
    await slow.subscribe("p0")
    publisher = asyncio.create_task(publish(hub.env["REDIS_URL"], "p0", 150))
    fast_events = await fast.events(150, timeout=30)
    await publisher
    assert [e["data"]["n"] for e in fast_events] == list(range(150))
    got: list[Frame] = []
    code = None
    try:
        while True:
            got.append(await slow.recv(10))
    except Exception:
        code = (await slow.closed_with(5))[0]
    assert code == 4008
    assert 0 < len(got) < 150
    again = await WsClient.open(hub.ws_url, token)
    answer = await again.subscribe("p0", got[-1]["offset"], start["epoch"])
    assert answer["recovered"] is True
    rest = await again.events(answer["missed"], timeout=30)
    numbers = [e["data"]["n"] for e in got + rest]
    assert numbers == list(range(150))
    await again.close()
    await fast.close()
