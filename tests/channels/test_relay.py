"""The outbox relay: the fast path after commit, and the sweep that retries what it missed."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlmodel import col, select

from channels import names
from channels.history import History
from channels.relay import Relay
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


class CountingRelay(Relay):
    """A relay that counts its sweeps."""

    sweeps = 0

    async def sweep(self) -> int:
        self.sweeps += 1
        return await super().sweep()


class TestSweepPace:
    """A web process's sweep is a safety net: slow while nothing is known to wait, fast as soon
    as its own fast path leaves rows behind."""

    @pytest.fixture
    def settings(self, database_url: str, redis_url: str, tmp_path: Path) -> Settings:
        return make_settings(database_url, redis_url, tmp_path, PTSA_RELAY="off")

    async def test_an_idle_relay_sweeps_at_the_idle_interval(self, app: Any) -> None:
        ctx: AppContext = app.state.ctx
        relay = CountingRelay(ctx.db, History(ctx.redis, 1000, 3600), interval=0.05,
                              idle_interval=30.0, min_age=0.0)
        assert relay.next_pause() == 30.0
        relay.start()
        try:
            await asyncio.sleep(1.0)
            assert relay.sweeps == 1  # the one at start; the next is 30 s away
        finally:
            await relay.stop()

    async def test_rows_the_fast_path_left_behind_are_swept_at_the_short_interval(
            self, app: Any, api: ApiClient) -> None:
        """The fast path fails (Redis unreachable for it): the relay wakes, keeps sweeping every
        `interval` while the rows wait, and publishes them once Redis answers."""
        ctx: AppContext = app.state.ctx
        dead = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", decode_responses=True)
        relay = CountingRelay(ctx.db, History(dead, 1000, 3600), interval=0.05,
                              idle_interval=30.0, min_age=0.0)
        relay.start()
        try:
            await asyncio.sleep(0.2)
            assert relay.sweeps == 1
            task = await api.register()
            event_id = await event_id_of(ctx, task["id"])
            await relay.after_commit(SimpleNamespace(event_id=event_id))  # type: ignore[arg-type]
            assert relay.next_pause() == 0.05
            await asyncio.sleep(0.5)
            assert relay.sweeps >= 4  # failing sweeps, every 50 ms
            assert await stream_event_ids(ctx.redis, "p0") == []
            relay.history = History(ctx.redis, 1000, 3600)  # Redis is back
            for _ in range(40):
                if await stream_event_ids(ctx.redis, "p0"):
                    break
                await asyncio.sleep(0.05)
            assert await stream_event_ids(ctx.redis, "p0") == [event_id]
        finally:
            await relay.stop()
            await dead.aclose()
        assert all(r.published_at for r in await outbox_rows(ctx, event_id))
