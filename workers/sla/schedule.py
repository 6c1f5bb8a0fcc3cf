"""Scheduling each SLA clock's warning and due jobs in arq, at their exact instants.

Job ids are ``sla:<clock_id>:<warn|due>:<instant in epoch ms>``. arq refuses a second job with an
id it still holds, so scheduling a clock twice (the command's hook, then the sweep's look-ahead)
makes one job; a clock that moves (a hold, then resume) gets jobs with new ids at its new instants,
and the old job, when it runs, sees that the instant is no longer the clock's and does nothing.

The web process (hub/app.py ``start_parts``) adds ``SlaScheduler.after_commit`` to its command
hooks: after every committed command it schedules ``CommandResult.clocks`` (clocks started or
moved). If that fails nothing is lost: the clock rows are committed and the worker's sweep
schedules or fires them (``workers/sla/sweep.py``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal, NamedTuple

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms

from channels import names
from hub.domain.tasks import ClockState
from hub.models import SlaClock
from hub.redis_clients import arq_pool

if TYPE_CHECKING:
    from hub.tasks.commands import CommandResult

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
    if clock.state != ClockState.RUNNING or clock.breached_at is not None:
        return []
    jobs: list[tuple[JobKind, datetime]] = []
    if clock.warned_at is None and clock.warn_at is not None and clock.warn_at < clock.due_at:
        jobs.append(("warn", clock.warn_at))
    jobs.append(("due", clock.due_at))
    return jobs


async def schedule_clocks(pool: ArqRedis, clocks: Iterable[SlaClock]) -> int:
    """Enqueue the clocks' jobs; returns how many were new (0 when all were already there)."""
    return await enqueue_jobs(pool, [(clock.id or 0, kind, at) for clock in clocks
                                     for kind, at in planned_jobs(clock)])


async def schedule_clock(pool: ArqRedis, clock: SlaClock) -> int:
    return await schedule_clocks(pool, [clock])


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
    missing = [job for job, alive in zip(planned, queued, strict=True) if not alive]
    if not missing:
        return 0
    # An orphaned job key would make arq refuse the id; it can never run, so drop it.
    await pool.delete(*(job_key_prefix + sla_job_id(*job) for job in missing))
    return await enqueue_jobs(pool, missing)


# arq's ``enqueue_job`` for many jobs in one round trip: the same keys, the same serialised job
# and the same rule (an id whose job or result key exists is not enqueued again), atomic as
# arq's WATCH/MULTI is. arq's own call costs three round trips per job, and a registration
# schedules up to four jobs after every command.
_ENQUEUE = """
local created = 0
for j = 0, (#KEYS - 1) / 2 - 1 do
  local job_key, result_key, a = KEYS[2 + 2 * j], KEYS[3 + 2 * j], 4 * j
  if redis.call('EXISTS', job_key, result_key) == 0 then
    redis.call('PSETEX', job_key, ARGV[a + 3], ARGV[a + 4])
    redis.call('ZADD', KEYS[1], ARGV[a + 2], ARGV[a + 1])
    created = created + 1
  end
end
return created
"""


async def enqueue_jobs(pool: ArqRedis, jobs: list[tuple[int, JobKind, datetime]]) -> int:
    """Enqueue ``sla_fire(clock_id, kind, at_ms)`` at each instant; returns how many were new."""
    if not jobs:
        return 0
    keys: list[str] = [names.ARQ_QUEUE]
    args: list[str | int | bytes] = []
    now_ms = timestamp_ms()
    for clock_id, kind, at in jobs:
        job_id, score = sla_job_id(clock_id, kind, at), epoch_ms(at)
        keys += [job_key_prefix + job_id, result_key_prefix + job_id]
        payload = serialize_job(SLA_JOB, (clock_id, kind, score), {}, None, now_ms,
                                serializer=pool.job_serializer)
        args += [job_id, score, max(1, score - now_ms + pool.expires_extra_ms), payload]
    created = await pool.eval(_ENQUEUE, len(keys), *keys, *args)  # type: ignore[misc, arg-type]
    return int(created)


class SlaScheduler:
    """The web process's after-commit hook: schedules the clocks a command started or moved.

    When a schedule fails (Redis down or slow), nothing is lost: the clock rows are committed and
    the worker's sweep schedules them within one ``sweep_interval``. ``/healthz`` says so for that
    long after the last failure, then answers "ok" again by itself — not only at the next
    command's successful schedule: a hub taken out by its balancer for this gets no commands, and
    would stay out of service long after Redis came back. Redis itself is ``/healthz``'s own
    check.
    """

    PROBLEM = "could not schedule SLA jobs in time; the sweep will"

    def __init__(self, pool: ArqRedis, sweep_interval: timedelta) -> None:
        self.pool = pool
        self.sweep_interval_s = sweep_interval.total_seconds()
        self.failed_at: float | None = None  # time.monotonic() of the last failed schedule

    async def after_commit(self, result: CommandResult) -> None:
        try:
            await schedule_clocks(self.pool, result.clocks)
        except BaseException:  # the hooks' time bound cancels a schedule that hangs: one too
            self.failed_at = time.monotonic()
            raise
        self.failed_at = None

    def health(self) -> str:
        if self.failed_at is not None \
                and time.monotonic() - self.failed_at < self.sweep_interval_s:
            return self.PROBLEM
        return "ok"


async def open_pool(redis_url: str, timeout: timedelta | None = None) -> ArqRedis:
    if timeout is not None:  # the web process: answers must not wait on a hung Redis
        return arq_pool(redis_url, timeout)
    return await create_pool(RedisSettings.from_dsn(redis_url), default_queue_name=names.ARQ_QUEUE)
