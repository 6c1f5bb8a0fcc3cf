"""The safety net: every ``PTSA_SLA_SWEEP`` (default 10 s) one pass over open clocks and
unsent notifications, so that a lost job (Redis flushed or restarted without persistence, a web
process that died between commit and scheduling) costs at most one interval, never a breach.

Each pass:

1. fires, directly, every running clock whose warning or deadline passed more than ``GRACE`` ago
   without being recorded (the grace leaves the on-time job its moment; if both run, the
   conditional UPDATE lets one win);
2. (re)schedules the jobs of clocks falling due within the next two intervals — arq ignores an id
   it holds, so a lost job is re-created in time to fire on time;
3. sends again notifications whose worker died (lease over), and pending ones whose retry job was
   lost.

Every worker runs the sweep; all of it is idempotent, so several workers only repeat no-ops.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from arq.connections import ArqRedis
from sqlalchemy import or_
from sqlmodel import col, select

from hub.db import Database
from hub.models import SlaClock, utcnow
from workers.notifier import Notifier
from workers.schedule import JobKind, schedule_missing
from workers.sla import SlaEngine

log = logging.getLogger(__name__)

GRACE = timedelta(seconds=2)
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

    async def run_forever(self) -> None:
        while True:
            try:
                report = await self.once()
                if report.fired or report.resent:
                    log.warning("SLA sweep caught up: %s", report)
            except Exception:  # a database or Redis outage: try again next interval
                log.exception("SLA sweep failed; retrying in %s", self.interval)
            await asyncio.sleep(self.interval.total_seconds())

    async def once(self, now: datetime | None = None) -> SweepReport:
        now = now or utcnow()
        report = SweepReport()
        # Fired together, they are recorded together (workers/batching.py).
        outcomes = await asyncio.gather(*(self.engine.fire(clock_id, kind)
                                          for clock_id, kind in await self._overdue(now - GRACE)))
        report.fired = sum(outcome in ("warned", "breached") for outcome in outcomes)
        upcoming = await self._upcoming(now, now + 2 * self.interval)
        report.scheduled = await schedule_missing(self.pool, upcoming)
        recovered = await self.notifier.recover_stale(now)
        due = await self.notifier.due_pending(GRACE, now)
        resend = sorted(set(recovered) | set(due))
        self.notifier.dispatch(resend)
        report.resent = len(resend)
        return report

    async def _overdue(self, before: datetime) -> list[tuple[int, JobKind]]:
        async with self.db.read() as session:
            breaches = await session.exec(select(SlaClock.id).where(
                SlaClock.state == "running", col(SlaClock.breached_at).is_(None),
                col(SlaClock.due_at) <= before).order_by(col(SlaClock.due_at)).limit(BATCH))
            warnings = await session.exec(select(SlaClock.id).where(
                SlaClock.state == "running", col(SlaClock.breached_at).is_(None),
                col(SlaClock.warned_at).is_(None), col(SlaClock.warn_at) <= before,
                col(SlaClock.due_at) > before).order_by(col(SlaClock.warn_at)).limit(BATCH))
            due: list[tuple[int, JobKind]] = [(i, "due") for i in breaches.all() if i]
            return due + [(i, "warn") for i in warnings.all() if i]

    async def _upcoming(self, start: datetime, end: datetime) -> list[SlaClock]:
        async with self.db.read() as session:
            rows = await session.exec(select(SlaClock).where(
                SlaClock.state == "running", col(SlaClock.breached_at).is_(None),
                or_(col(SlaClock.due_at).between(start, end),
                    col(SlaClock.warn_at).between(start, end))).limit(5 * BATCH))
            return list(rows.all())
