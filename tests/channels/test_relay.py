"""The outbox relay: the fast path after commit, and the sweep that retries what it missed."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlmodel import col, select

from channels import names
from channels.history import History
from channels.relay import Relay, run_relay_loop
from config.settings import Settings
from hub.context import AppContext
from hub.models import Outbox
from tests.conftest import ApiClient, make_settings
from tests.support.servers import free_port


async def stream_event_ids(redis: Redis, channel: str) -> list[str]:
    import json

    entries = await redis.xrange(names.stream_key(channel))
    return [json.loads("{" + fields["e"])["id"] for _, fields in entries]


async def outbox_rows(ctx: AppContext, event_id: str) -> list[Outbox]:
    async with ctx.db.read() as session:
        rows = await session.exec(select(Outbox).where(Outbox.event_id == event_id))
        return list(rows.all())


async def event_id_of(ctx: AppContext, task_id: int) -> str:
    async with ctx.db.read() as session:
        row = (await session.exec(select(Outbox).where(Outbox.channel == f"task.{task_id}")
                                  .order_by(col(Outbox.id)))).first()
    assert row is not None
    return row.event_id


async def test_fast_path_publishes_every_channel_and_marks_rows(app: Any, api: ApiClient) -> None:
    """Registering a task puts its event in p0, p1.<eselon1> and task.<id>, and marks the rows."""
    ctx: AppContext = app.state.ctx
    task = await api.register()
    event_id = await event_id_of(ctx, task["id"])
    for channel in ("p0", "p1.barenbang", f"task.{task['id']}"):
        assert await stream_event_ids(ctx.redis, channel) == [event_id]
    for _ in range(40):
        if all(r.published_at for r in await outbox_rows(ctx, event_id)):
            break
        await asyncio.sleep(0.05)
    assert all(r.published_at for r in await outbox_rows(ctx, event_id))


class TestWithoutFastPath:
    @pytest.fixture
    def settings(self, database_url: str, redis_url: str, tmp_path: Path) -> Settings:
        return make_settings(database_url, redis_url, tmp_path, PTSA_RELAY="off")

    async def test_sweep_publishes_what_the_fast_path_never_did(self, app: Any,
                                                                api: ApiClient) -> None:
        """With the relay 'killed' after commit, the sweep appends the event exactly once."""
        ctx: AppContext = app.state.ctx
        task = await api.register()
        event_id = await event_id_of(ctx, task["id"])
        assert await stream_event_ids(ctx.redis, "p0") == []
        relay = Relay.for_app(ctx, fast_path=False)
        relay.min_age = 0.0
        assert await relay.sweep() == 3
        assert await relay.sweep() == 0  # published; its marks are on their way
        other = Relay.for_app(ctx, fast_path=False)  # another process, before the marks land…
        other.min_age = 0.0
        assert await other.sweep() == 3
        await asyncio.gather(relay.flush_marks(), other.flush_marks())
        assert await relay.sweep() == 0
        assert await stream_event_ids(ctx.redis, "p0") == [event_id]  # …appended once
        assert all(r.published_at for r in await outbox_rows(ctx, event_id))

    async def test_relay_loop_for_the_worker_delivers_and_stops(self, app: Any,
                                                                api: ApiClient) -> None:
        """run_relay_loop publishes waiting rows within seconds and ends when told to stop."""
        ctx: AppContext = app.state.ctx
        task = await api.register()
        event_id = await event_id_of(ctx, task["id"])
        stop = asyncio.Event()
        loop = asyncio.create_task(run_relay_loop(ctx, stop))
        try:
            for _ in range(60):
                if await stream_event_ids(ctx.redis, "p1.barenbang"):
                    break
                await asyncio.sleep(0.1)
            assert await stream_event_ids(ctx.redis, "p1.barenbang") == [event_id]
        finally:
            stop.set()
            await asyncio.wait_for(loop, 5)
        assert all(r.published_at for r in await outbox_rows(ctx, event_id))

    async def test_a_long_redis_outage_delays_events_but_never_drops_them(
            self, app: Any, api: ApiClient) -> None:
        """Sweeps failing again and again while Redis is unreachable leave the rows waiting;
        the first sweep after the outage publishes them."""
        ctx: AppContext = app.state.ctx
        task = await api.register()
        event_id = await event_id_of(ctx, task["id"])
        dead = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", decode_responses=True)
        down = Relay(ctx.db, History(dead, 1000, 3600), fast_path=False, min_age=0.0)
        for _ in range(30):
            with pytest.raises(RedisConnectionError):
                await down.sweep()
        await dead.aclose()
        up = Relay.for_app(ctx, fast_path=False)
        up.min_age = 0.0
        assert await up.sweep() == 3
        assert await stream_event_ids(ctx.redis, f"task.{task['id']}") == [event_id]
