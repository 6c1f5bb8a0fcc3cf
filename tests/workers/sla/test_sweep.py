"""Job ids, rescheduling, stale jobs and the sweep that catches clocks whose jobs were lost."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from redis.asyncio import Redis

from channels import names
from config.settings import Settings
from hub.models import utcnow
from tests.conftest import ApiClient
from tests.support.mailbox import Mailbox
from tests.support.sla import (
    SUPERVISOR_EMAIL,
    clock_of,
    db_of,
    events,
    notifications,
)
from tests.support.worker import eventually, running_worker
from workers.sla.schedule import epoch_ms, sla_job_id


async def test_job_ids_name_the_clock_the_kind_and_the_instant(app: Any,
                                                              api: ApiClient) -> None:
    """The command's hook schedules sla:<clock>:warn|due:<ms>; scheduling again adds nothing."""
    task = await api.register()
    clock = await clock_of(db_of(app), task["id"], "p1_pickup")
    assert clock.warn_at is not None
    pool = app.state.ctx.scheduler.pool
    ids = {i.decode() for i in await pool.zrange(names.ARQ_QUEUE, 0, -1)}
    assert {f"sla:{clock.id}:warn:{epoch_ms(clock.warn_at)}",
            f"sla:{clock.id}:due:{epoch_ms(clock.due_at)}"} <= ids
    assert sla_job_id(clock.id or 0, "due", clock.due_at) in ids
    from workers.sla.schedule import schedule_clock

    assert await schedule_clock(pool, clock) == 0  # idempotent
    score = await pool.zscore(names.ARQ_QUEUE, sla_job_id(clock.id or 0, "due", clock.due_at))
    assert score == epoch_ms(clock.due_at)  # never before the clock's own instant


async def test_a_job_for_a_moved_or_met_clock_does_nothing(
        app: Any, api: ApiClient, settings: Settings, mailbox: tuple[Mailbox, int]) -> None:
    """A stale instant answers "moved", a met clock "inactive"; neither records a breach."""
    db = db_of(app)
    async with running_worker(settings) as worker:
        engine = worker.ctx["parts"].sla
        task = await api.register()
        clock = await clock_of(db, task["id"], "p1_pickup")
        await asyncio.sleep((clock.due_at - utcnow()).total_seconds() - 0.8)
        stale = epoch_ms(clock.due_at - timedelta(minutes=5))
        assert await engine.fire(clock.id, "due", stale) == "moved"
        r = await api.as_("p1-barenbang-1", "POST", f"/api/v1/tasks/{task['id']}/claim")
        assert r.status_code == 200, r.text
        assert await engine.fire(clock.id, "due", epoch_ms(clock.due_at)) == "inactive"
        await asyncio.sleep(1.5)
    assert (await clock_of(db, task["id"], "p1_pickup")).breached_at is None
    assert await events(db, task["id"], "sla.breached") == []


async def test_sweep_fires_the_breach_when_scheduled_jobs_are_deleted(
        app: Any, api: ApiClient, settings: Settings, mailbox: tuple[Mailbox, int]) -> None:
    """Redis loses every scheduled job; the sweep still records the breach and mails once."""
    box, _ = mailbox
    db = db_of(app)
    task = await api.register()
    redis = Redis.from_url(settings.redis_url or "")
    try:
        job_keys = [k async for k in redis.scan_iter("arq:job:sla:*")]
        assert job_keys
        await redis.delete(names.ARQ_QUEUE, *job_keys)
    finally:
        await redis.aclose()
    async with running_worker(settings):
        clock = await eventually(lambda: _breached_clock(app, task["id"]), timeout=10,
                                 what="the breach, recorded by the sweep")
        await eventually(lambda: box.to(SUPERVISOR_EMAIL), timeout=10)
        await asyncio.sleep(2.0)
    assert clock.breached_at - clock.due_at < timedelta(seconds=2 + 1 + 1)  # grace + interval
    assert len(await events(db, task["id"], "sla.breached")) == 1
    assert len(box.to(SUPERVISOR_EMAIL)) == 1


async def _breached_clock(app: Any, task_id: int) -> Any:
    clock = await clock_of(db_of(app), task_id, "p1_pickup")
    return clock if clock.breached_at else None


async def test_sweep_fires_clocks_that_fell_due_while_no_worker_ran(
        app: Any, api: ApiClient, settings: Settings, mailbox: tuple[Mailbox, int]) -> None:
    """Clocks due while the worker was down are breached by the sweep at start-up, once each."""
    box, _ = mailbox
    db = db_of(app)
    tasks = [await api.register() for _ in range(3)]
    redis = Redis.from_url(settings.redis_url or "")
    try:
        await redis.delete(names.ARQ_QUEUE)  # the jobs are gone with the old Redis
    finally:
        await redis.aclose()
    await asyncio.sleep(2.5)  # every clock is now overdue
    async with running_worker(settings):
        await eventually(lambda: len(box.to(SUPERVISOR_EMAIL)) >= 3, timeout=10)
        await asyncio.sleep(1.5)
    for task in tasks:
        assert len(await events(db, task["id"], "sla.breached")) == 1
    assert len(box.to(SUPERVISOR_EMAIL)) == 3
    assert len(await notifications(db)) == 6


async def test_batched_enqueue_writes_what_arq_enqueue_job_writes(redis_url: str) -> None:
    """``enqueue_jobs`` (one Lua round trip) leaves the same job key, payload, expiry and queue
    score as arq's own ``enqueue_job``, and refuses an id arq still holds, as arq does."""
    from arq.constants import job_key_prefix, result_key_prefix
    from arq.jobs import deserialize_job

    from workers.sla.schedule import SLA_JOB, enqueue_jobs, open_pool

    pool = await open_pool(redis_url)
    try:
        at = utcnow() + timedelta(minutes=10)
        score = epoch_ms(at)
        ours, theirs = sla_job_id(1, "due", at), sla_job_id(2, "due", at)
        assert await enqueue_jobs(pool, [(1, "due", at)]) == 1
        await pool.enqueue_job(SLA_JOB, 2, "due", score, _job_id=theirs,
                               _queue_name=names.ARQ_QUEUE,
                               _defer_until=at.replace(microsecond=(score % 1000) * 1000))
        for job_id, clock_id in ((ours, 1), (theirs, 2)):
            assert await pool.zscore(names.ARQ_QUEUE, job_id) == score
            job = deserialize_job(await pool.get(job_key_prefix + job_id))
            assert (job.function, job.args, job.kwargs, job.job_try) == (
                SLA_JOB, (clock_id, "due", score), {}, None)
        ttl_ours, ttl_theirs = (await pool.pttl(job_key_prefix + ours),
                                await pool.pttl(job_key_prefix + theirs))
        assert abs(ttl_ours - ttl_theirs) < 5_000 and ttl_ours > 24 * 3600 * 1000
        # Already queued, or finished with a result kept: not enqueued again (arq's rule).
        assert await enqueue_jobs(pool, [(1, "due", at), (2, "due", at)]) == 0
        done = sla_job_id(3, "warn", at)
        await pool.set(result_key_prefix + done, b"x")
        assert await enqueue_jobs(pool, [(3, "warn", at), (4, "warn", at)]) == 1
        assert await pool.zscore(names.ARQ_QUEUE, done) is None
        assert await pool.zscore(names.ARQ_QUEUE, sla_job_id(4, "warn", at)) == score
    finally:
        await pool.aclose()
