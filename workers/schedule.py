"""Scheduling each SLA clock's warning and due jobs in arq, at their exact instants.

Job ids are ``sla:<clock_id>:<warn|due>:<instant in epoch ms>``. arq refuses a second job with an
id it still holds, so scheduling a clock twice (the command's hook, then the sweep's look-ahead)
makes one job; a clock that moves (a hold, then resume) gets jobs with new ids at its new instants,
and the old job, when it runs, sees that the instant is no longer the clock's and does nothing.

The web process installs ``install_scheduler`` as a start-up hook: after every committed command it
schedules ``CommandResult.clocks`` (clocks started or moved). If that fails nothing is lost: the
clock rows are committed and the worker's sweep schedules or fires them (``workers/sweep.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal, NamedTuple

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from arq.constants import job_key_prefix

from channels import names
from hub.models import SlaClock

if TYPE_CHECKING:
    from hub.commands import CommandResult
    from hub.context import AppContext

log = logging.getLogger(__name__)

JobKind = Literal["warn", "due"]
SLA_JOB = "sla_fire"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def epoch_ms(at: datetime) -> int:
    """Milliseconds since the epoch, rounded *up*: a job scheduled at this instant never runs
    before the clock's own (microsecond) instant."""
    return -((_EPOCH - at) // _MS)


def sla_job_id(clock_id: int, kind: JobKind, at: datetime) -> str:
    return f"sla:{clock_id}:{kind}:{epoch_ms(at)}"


class ClockTimes(NamedTuple):
    """The columns of a clock that scheduling reads (an ``SlaClock`` row has them too)."""

    id: int | None
    state: str
    warn_at: datetime | None
    due_at: datetime
    warned_at: datetime | None
    breached_at: datetime | None


def planned_jobs(clock: SlaClock | ClockTimes) -> list[tuple[JobKind, datetime]]:
    """The jobs a clock still needs: none unless it is running; a warning only before the
    deadline and only once; the deadline only until the breach is recorded."""
    if clock.state != "running" or clock.breached_at is not None:
        return []
    jobs: list[tuple[JobKind, datetime]] = []
    if clock.warned_at is None and clock.warn_at is not None and clock.warn_at < clock.due_at:
        jobs.append(("warn", clock.warn_at))
    jobs.append(("due", clock.due_at))
    return jobs


async def schedule_clock(pool: ArqRedis, clock: SlaClock) -> int:
    """Enqueue the clock's jobs; returns how many were new (0 when all were already there)."""
    created = 0
    for kind, at in planned_jobs(clock):
        created += await _enqueue(pool, clock.id or 0, kind, at)
    return created


async def queued_jobs(pool: ArqRedis, job_ids: list[str]) -> list[bool]:
    """Whether each job is in the queue, one round trip for all. arq keeps a job in its queue
    (a sorted set) until it finishes, so this is "will run or is running"; a job key without a
    queue entry is an orphan that will never run."""
    if not job_ids:
        return []
    async with pool.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.zscore(names.ARQ_QUEUE, job_id)
        scores = await pipe.execute()
    return [score is not None for score in scores]


async def schedule_missing(pool: ArqRedis, clocks: Iterable[SlaClock | ClockTimes]) -> int:
    """Like ``schedule_clock`` for many clocks, but asks Redis once which jobs are queued, so the
    sweep's look-ahead costs one round trip when nothing was lost."""
    planned = [(clock.id or 0, kind, at) for clock in clocks for kind, at in planned_jobs(clock)]
    queued = await queued_jobs(pool, [sla_job_id(i, k, at) for i, k, at in planned])
    created = 0
    for (clock_id, kind, at), alive in zip(planned, queued, strict=True):
        if not alive:
            # An orphaned job key would make arq refuse the id; it can never run, so drop it.
            await pool.delete(job_key_prefix + sla_job_id(clock_id, kind, at))
            created += await _enqueue(pool, clock_id, kind, at)
    return created


async def _enqueue(pool: ArqRedis, clock_id: int, kind: JobKind, at: datetime) -> int:
    job = await pool.enqueue_job(SLA_JOB, clock_id, kind, epoch_ms(at),
                                 _job_id=sla_job_id(clock_id, kind, at),
                                 _queue_name=names.ARQ_QUEUE,
                                 _defer_until=_EPOCH + epoch_ms(at) * _MS)
    return int(job is not None)


class SlaScheduler:
    """The web process's after-commit hook: schedules the clocks a command started or moved."""

    def __init__(self, pool: ArqRedis) -> None:
        self.pool = pool
        self.problem: str | None = None

    async def after_commit(self, result: CommandResult) -> None:
        try:
            for clock in result.clocks:
                await schedule_clock(self.pool, clock)
        except Exception as exc:
            # The sweep schedules or fires these clocks within one interval; say so on /healthz.
            self.problem = f"could not schedule SLA jobs ({type(exc).__name__}); the sweep will"
            raise
        self.problem = None

    def health(self) -> str:
        return self.problem or "ok"


async def open_pool(redis_url: str) -> ArqRedis:
    return await create_pool(RedisSettings.from_dsn(redis_url), default_queue_name=names.ARQ_QUEUE)


async def install_scheduler(ctx: AppContext, stack: AsyncExitStack) -> None:
    """Web start-up hook: an arq pool and the after-commit hook that schedules clocks."""
    pool = await open_pool(ctx.settings.redis_url or "")
    stack.push_async_callback(pool.aclose)
    scheduler = SlaScheduler(pool)
    ctx.commands.after_commit.append(scheduler.after_commit)
    ctx.extras["sla_scheduler"] = scheduler
