"""The periodic subscription re-check over more sockets than one slice (``_RECHECK_SLICE``): it
drops exactly the subscriptions that no longer pass, the others keep receiving, and it lets the
event loop run between slices (real sockets to the app under uvicorn, in this process).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from channels.history import History, OutgoingEvent
from config.settings import Settings
from hub.models import utcnow
from hub.ws.connection import Connection
from hub.ws.endpoint import _RECHECK_SLICE
from tests.conftest import make_settings
from tests.hub.ws.test_reauthorise import act
from tests.hub.ws.test_wire import serving
from tests.support.wsclient import WsClient, fetch_token, register_task

KEPT, DROPPED = 140, 140  # P1 sockets that may still see the task, P2 sockets that may not


@pytest.fixture
def settings(sqlite_url: str, redis_url: str, tmp_path: Path) -> Settings:
    """No relay (no event announces the move: only the re-check can notice), no periodic pass
    (the test runs it), room for all the sockets on two accounts."""
    return make_settings(sqlite_url, redis_url, tmp_path, PTSA_RELAY="off",
                         PTSA_WS_RECHECK="1h", PTSA_WS_MAX_SOCKETS_PER_ACCOUNT=str(KEPT))


async def open_subscribed(ws_url: str, token: str, channel: str, count: int) -> list[WsClient]:
    clients = await asyncio.gather(*(WsClient.open(ws_url, token) for _ in range(count)))
    answers = await asyncio.gather(*(c.subscribe(channel, timeout=20) for c in clients))
    assert all(a["op"] == "subscribed" for a in answers), answers[:3]
    return list(clients)


async def test_a_recheck_over_several_slices_drops_the_right_ones_and_yields(
        app: Any, redis_url: str) -> None:
    """280 sockets on one task's channel, 140 of a desk the task has since left: the pass
    unsubscribes exactly those 140 (forbidden), the other 140 get the next event, and a task
    that ran while the pass was under way saw it part-done (it yielded between slices)."""
    assert KEPT + DROPPED > _RECHECK_SLICE
    hub = app.state.ctx.ws
    async with serving(app) as port:
        base, ws_url = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/ws"
        p0, p1, p2 = await asyncio.gather(*(fetch_token(base, user) for user in (
            "p0-1", "p1-barenbang-1", "p2-pusdatin-1")))
        task = await register_task(base, p0)
        channel = f"task.{task['id']}"
        await act(base, p1, task["id"], "claim")
        await act(base, p1, task["id"], "dispose", unit="pusdatin")
        # The P1 account's sockets first: the registry goes account by account, so the P2
        # sockets straddle the end of the first slice.
        kept = await open_subscribed(ws_url, p1, channel, KEPT)
        dropped = await open_subscribed(ws_url, p2, channel, DROPPED)
        await act(base, p2, task["id"], "return", reason="Bukan wewenang Pusdatin")
        await act(base, p1, task["id"], "claim")
        await act(base, p1, task["id"], "dispose", unit="pusrenaker")

        doomed = [c for c in hub.registry
                  if isinstance(c, Connection) and c.principal.username == "p2-pusdatin-1"]
        assert len(doomed) == DROPPED
        seen: list[int] = []  # how many doomed subscriptions were gone, each time it ran
        passing = True

        async def watch() -> None:
            while passing:
                seen.append(sum(channel not in c.subs for c in doomed))
                await asyncio.sleep(0)

        watcher = asyncio.create_task(watch())
        try:
            assert await hub.recheck_subscriptions() == DROPPED
        finally:
            passing = False
            await watcher
        assert any(0 < n < DROPPED for n in seen), (
            f"no other task ran mid-pass: it saw {sorted(set(seen))} of {DROPPED} dropped")

        answers = await asyncio.gather(*(c.recv_until(lambda f: f.get("op") == "unsubscribed")
                                         for c in dropped))
        assert all(a == {"op": "unsubscribed", "channel": channel, "code": "forbidden"}
                   for a in answers), answers[:3]
        redis = Redis.from_url(redis_url, decode_responses=True)
        try:
            await History(redis, 1000, 3600).append([OutgoingEvent(
                uuid.uuid4().hex, channel, "task.message", utcnow(),
                json.dumps({"task": {"id": task["id"]}}))])
        finally:
            await redis.aclose()
        for got in await asyncio.gather(*(c.events(1, channel=channel) for c in kept)):
            assert [e["type"] for e in got] == ["task.message"]
        for frames in await asyncio.gather(*(c.drain(0.3) for c in dropped)):
            assert not [f for f in frames if f.get("op") == "event"], frames
        await asyncio.gather(*(c.close() for c in [*kept, *dropped]))
