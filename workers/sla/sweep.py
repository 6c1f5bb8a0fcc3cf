"""The safety net: every ``PTSA_SLA_SWEEP`` (default 10 s) one pass over open clocks and
unsent notifications, so that a lost job (Redis flushed or restarted without persistence, a web
process that died between commit and scheduling) costs at most one interval, never a breach.

Each pass:

1. fires, directly, every running clock whose warning or deadline passed more than ``GRACE`` ago
   without being recorded and whose job is gone from Redis (or still waiting after
   ``STUCK_AFTER``); if the job runs too, the conditional UPDATE lets one win;
2. (re)schedules the jobs of clocks falling due within the next two intervals — arq ignores an id
   it holds, so a lost job is re-created in time to fire on time;
3. sends again notifications whose worker died (lease over), and pending ones whose retry job was
   lost.

While Redis is unreachable the pass goes on without it: overdue clocks count as lost (so breaches
are recorded, e-mailed and texted during the outage; their live events wait in the outbox) and
scheduling waits for the next pass.

Every worker runs the sweep; all of it is idempotent, so several workers only repeat no-ops.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from arq.connections import ArqRedis
from redis.exceptions import RedisError
from sqlalchemy import or_
from sqlmodel import col, select

from hub.background import Loops
from hub.db import Database
from hub.domain.tasks import ClockState
from hub.models import SlaClock, utcnow
from workers.notify.sender import Notifier
from workers.sla.engine import SlaEngine
from workers.sla.schedule import ClockTimes, JobKind, queued_jobs, schedule_missing, sla_job_id

log = logging.getLogger(__name__)

REDIS_DOWN = (RedisError, OSError, TimeoutError)
GRACE = timedelta(seconds=2)
STUCK_AFTER = timedelta(seconds=30)
BATCH = 500


@dataclass
class SweepReport:
    fired: int = 0
    scheduled: int = 0
    resent: int = 0


class SlaSweep:
    def __init__(self, db: Database, engine: SlaEngine, notifier: Notifier, pool: ArqRedis,
                 interval: timedelta) -> None:
        self.db = db
        self.engine = engine
        self.notifier = notifier
        self.pool = pool
        self.interval = interval

    async def run_forever(self, loops: Loops) -> None:
        """A pass now and then one every interval, until the worker stops."""
        while True:
            try:
                report = await self.once()
                if report.fired or report.resent:
                    log.warning("SLA sweep caught up: %s", report)
            except Exception:  # a database or Redis outage: try again next interval
                log.exception("SLA sweep failed; retrying in %s", self.interval)
            if await loops.pause(self.interval.total_seconds()):
                return

    async def once(self, now: datetime | None = None) -> SweepReport:
        now = now or utcnow()
        report = SweepReport()
        lost = await self._lost(await self._overdue(now - GRACE), now)
        # Fired together, they are recorded together (workers/batching.py).
        outcomes = await asyncio.gather(*(self.engine.fire(clock_id, kind)
                                          for clock_id, kind in lost))
        report.fired = sum(outcome in ("warned", "breached") for outcome in outcomes)
        upcoming = await self._upcoming(now, now + 2 * self.interval)
        try:
            report.scheduled = await schedule_missing(self.pool, upcoming)
        except REDIS_DOWN as exc:  # the next pass schedules them; due ones get fired meanwhile
            log.warning("SLA sweep could not schedule jobs (Redis: %s)", exc)
        recovered = await self.notifier.recover_stale(now)
        due = await self.notifier.due_pending(GRACE, now)
        resend = sorted(set(recovered) | set(due))
        self.notifier.dispatch(resend)
        report.resent = len(resend)
        return report

    async def _overdue(self, before: datetime) -> list[tuple[int, JobKind, datetime]]:
        async with self.db.read() as session:
            breaches = await session.exec(select(SlaClock.id, SlaClock.due_at).where(
                SlaClock.state == ClockState.RUNNING.value, col(SlaClock.breached_at).is_(None),
                col(SlaClock.due_at) <= before).order_by(col(SlaClock.due_at)).limit(BATCH))
            warnings = await session.exec(select(SlaClock.id, SlaClock.warn_at).where(
                SlaClock.state == ClockState.RUNNING.value, col(SlaClock.breached_at).is_(None),
                col(SlaClock.warned_at).is_(None), col(SlaClock.warn_at) <= before,
                col(SlaClock.due_at) > before).order_by(col(SlaClock.warn_at)).limit(BATCH))
            due: list[tuple[int, JobKind, datetime]] = [
                (i, "due", at) for i, at in breaches.all() if i]
            return due + [(i, "warn", at) for i, at in warnings.all() if i and at]

    async def _lost(self, overdue: list[tuple[int, JobKind, datetime]],
                    now: datetime) -> list[tuple[int, JobKind]]:
        """The overdue clocks whose job is gone from Redis, or has waited so long that it must be
        stuck; a job that is merely late under load is left to run (firing both is harmless, but
        doubles the work exactly when there is the most of it)."""
        if not overdue:
            return []
        try:
            queued = await queued_jobs(self.pool, [sla_job_id(i, k, at) for i, k, at in overdue])
        except REDIS_DOWN:
            # Redis is away, and its jobs with it for all we know: the database decides, so
            # breaches are recorded and notified during the outage (a job that also runs later
            # finds the clock recorded; the conditional UPDATE lets one win).
            queued = [False] * len(overdue)
        return [(clock_id, kind) for (clock_id, kind, at), alive in zip(overdue, queued,
                                                                        strict=True)
                if not alive or at < now - STUCK_AFTER]

    async def _upcoming(self, start: datetime, end: datetime) -> list[ClockTimes]:
        # Plain columns, not ORM objects: under load this is thousands of rows every interval.
        async with self.db.read() as session:
            rows = await session.exec(select(  # type: ignore[call-overload]
                SlaClock.id, SlaClock.state, SlaClock.warn_at, SlaClock.due_at,
                SlaClock.warned_at, SlaClock.breached_at).where(
                SlaClock.state == ClockState.RUNNING.value, col(SlaClock.breached_at).is_(None),
                or_(col(SlaClock.due_at).between(start, end),
                    col(SlaClock.warn_at).between(start, end))).limit(5 * BATCH))
            return [ClockTimes(*row) for row in rows.all()]
