"""SLA clocks in the database: the policy in force and applying a transition's clock changes.

The arithmetic (business calendar, deadlines, pauses) is pure and lives in ``hub.domain``; this
module reads what it needs (admin calendar days, admin SLA overrides) and writes ``sla_clocks``
rows inside the command's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.catalog import SlaPolicy
from config.settings import Settings
from hub.domain import clocks as clockmath
from hub.domain.calendar import BusinessCalendar, DayOverride
from hub.domain.tasks import OPEN_CLOCKS, ClockChange, ClockKind, ClockOp, ClockState
from hub.models import AppSetting, CalendarDay, Service, SlaClock, Task

# app_settings keys an admin may change at run time. Without them: PTSA_SLA_P1_PICKUP /
# PTSA_SLA_P2_PICKUP when set (tests and drills use seconds), else the [sla] section of
# config/organisation.toml, where the policy is kept as data.
P1_PICKUP_KEY = "sla_p1_pickup_seconds"
P2_PICKUP_KEY = "sla_p2_pickup_seconds"
P1_HANDLING_KEY = "sla_p1_handling_seconds"  # PTSA_SLA_P1_HANDLING, [sla] p1_handling_minutes
CALENDAR_VERSION_KEY = "calendar_version"


@dataclass(frozen=True)
class ClockPolicy:
    tz: ZoneInfo
    calendar: BusinessCalendar
    p1_pickup: timedelta
    p2_pickup: timedelta
    warn_ratio: float
    p1_handling: timedelta = timedelta(minutes=60)

    def pickup_duration(self, kind: ClockKind) -> timedelta:
        """The business duration of a fixed-length clock (a pickup, or P1 handling)."""
        if kind == ClockKind.P1_HANDLING:
            return self.p1_handling
        return self.p1_pickup if kind == ClockKind.P1_PICKUP else self.p2_pickup


_SETTINGS = select(col(AppSetting.key), col(AppSetting.value))  # built once; every command reads it


class PolicyProvider:
    """Builds the ``ClockPolicy`` from settings plus the admin's database overrides, and rebuilds
    it only when an admin changed something (``calendar_version`` is bumped on every change), so
    each command costs one small read instead of rebuilding the holiday calendar.

    ``catalog_sla`` is the ``[sla]`` section of ``config/organisation.toml``.
    """

    def __init__(self, settings: Settings, catalog_sla: SlaPolicy) -> None:
        self.settings = settings
        self.defaults = SlaPolicy(settings.sla_p1_pickup or catalog_sla.p1_pickup,
                                  settings.sla_p2_pickup or catalog_sla.p2_pickup,
                                  settings.sla_p1_handling or catalog_sla.p1_handling)
        self._cached: tuple[str, ClockPolicy] | None = None

    async def get(self, session: AsyncSession) -> ClockPolicy:
        return (await self.read(session))[0]

    async def read(self, session: AsyncSession) -> tuple[ClockPolicy, dict[str, str]]:
        """The policy and the ``app_settings`` it was built from (other cached things key on
        their versions there: ``hub.tasks.service_cache``)."""
        stored = dict((await session.exec(_SETTINGS)).all())
        version = stored.get(CALENDAR_VERSION_KEY, "0") + "|" + stored.get(P1_PICKUP_KEY, "") + \
            "|" + stored.get(P2_PICKUP_KEY, "") + "|" + stored.get(P1_HANDLING_KEY, "")
        if self._cached and self._cached[0] == version:
            return self._cached[1], stored
        days = (await session.exec(select(CalendarDay))).all()
        policy = self.build(stored, [DayOverride(d.day, d.kind, d.name) for d in days])  # type: ignore[arg-type]
        self._cached = (version, policy)
        return policy, stored

    def build(self, stored: dict[str, str], overrides: Iterable[DayOverride]) -> ClockPolicy:
        s = self.settings
        calendar = BusinessCalendar.indonesian(s.tz, s.office_hours, overrides,
                                               always=s.calendar == "always")

        def seconds(key: str, default: timedelta) -> timedelta:
            return timedelta(seconds=float(stored[key])) if key in stored else default

        return ClockPolicy(s.tz, calendar, seconds(P1_PICKUP_KEY, self.defaults.p1_pickup),
                           seconds(P2_PICKUP_KEY, self.defaults.p2_pickup), s.sla_warn_at,
                           seconds(P1_HANDLING_KEY, self.defaults.p1_handling))


async def apply_clock_changes(session: AsyncSession, task: Task, changes: Iterable[ClockChange],
                              now: datetime, policy: ClockPolicy,
                              sop_days: int | None = None) -> list[SlaClock]:
    """Write the clock changes of one transition; returns the clocks that started or moved
    (their jobs must be (re)scheduled after commit)."""
    touched: list[SlaClock] = []
    for change in changes:
        if change.op == ClockOp.START:
            touched.append(await _start(session, task, change, now, policy, sop_days))
            continue
        clock = await _open_clock(session, task.id or 0, change.kind)
        if clock is None:
            continue  # nothing running of that kind (e.g. a task created before clocks existed)
        if change.op in (ClockOp.MEET, ClockOp.CANCEL):
            stopped = ClockState.MET if change.op == ClockOp.MEET else ClockState.CANCELLED
            clock.state = stopped.value
            clock.stopped_at = now
        elif change.op == ClockOp.PAUSE and clock.state == ClockState.RUNNING:
            clock.state = ClockState.PAUSED.value
            clock.paused_at = now
        elif change.op == ClockOp.RESUME and clock.state == ClockState.PAUSED and clock.paused_at:
            resumed = clockmath.resume(plan_of(clock), now, policy.calendar)
            clock.state = ClockState.RUNNING.value
            clock.paused_at = None
            clock.paused_seconds = resumed.paused.total_seconds()
            clock.due_at, clock.warn_at = resumed.due_at, resumed.warn_at
            touched.append(clock)
        else:
            continue
        clock.version += 1
        session.add(clock)
        if clock.kind == ClockKind.RESOLUTION:
            task.due_at = clock.due_at  # the task's own copy, written by the flush below
    await session.flush()  # one flush for all: new clocks are inserted together
    return touched


def plan_of(clock: SlaClock) -> clockmath.ClockPlan:
    """The pure arithmetic's view of a clock row."""
    return clockmath.ClockPlan(
        kind=ClockKind(clock.kind), started_at=clock.started_at,
        warn_at=clock.warn_at or clock.due_at, due_at=clock.due_at, paused_at=clock.paused_at,
        paused=timedelta(seconds=clock.paused_seconds))


def plan_start(kind: ClockKind, now: datetime, policy: ClockPolicy,
               sop_days: int) -> clockmath.ClockPlan:
    """The deadlines of a clock starting now (pure)."""
    if kind == ClockKind.RESOLUTION:
        return clockmath.start_resolution(now, sop_days, policy.calendar, policy.warn_ratio)
    return clockmath.start_pickup(kind.value, now, policy.pickup_duration(kind), policy.calendar,
                                  policy.warn_ratio)


@dataclass(frozen=True)
class StartingClock:
    """A clock a new task starts with, planned before the task's row is written (so the task's
    ``due_at`` goes into its INSERT instead of a second UPDATE)."""

    kind: ClockKind
    unit_code: str
    plan: clockmath.ClockPlan


def plan_starts(changes: Iterable[ClockChange], unit_code: str, now: datetime,
                policy: ClockPolicy, sop_days: int) -> list[StartingClock]:
    """The clocks a new task starts (only ``START`` changes: a new task has none running)."""
    return [StartingClock(c.kind, c.unit or unit_code, plan_start(c.kind, now, policy, sop_days))
            for c in changes if c.op == ClockOp.START]


def resolution_due(starts: Iterable[StartingClock]) -> datetime | None:
    """The task's own copy of its resolution deadline."""
    return next((s.plan.due_at for s in starts if s.kind == ClockKind.RESOLUTION), None)


async def insert_starts(session: AsyncSession, task_id: int,
                        starts: list[StartingClock]) -> list[SlaClock]:
    """Write a new task's clocks in one statement; returns them with their ids, not attached to
    the session (nothing in the transaction changes them again)."""
    if not starts:
        return []
    rows: list[dict[str, Any]] = [
        {"task_id": task_id, "kind": s.kind.value, "unit_code": s.unit_code,
         "state": ClockState.RUNNING.value, "started_at": s.plan.started_at,
         "warn_at": s.plan.warn_at, "due_at": s.plan.due_at, "paused_at": None,
         "paused_seconds": 0.0, "warned_at": None, "breached_at": None, "stopped_at": None,
         "version": 1, "acknowledged_at": None, "acknowledged_by": None} for s in starts]
    connection = await session.connection()
    # A task starts at most one clock of each kind, so the kind names each returned id.
    returned = await connection.execute(_INSERT_CLOCKS, rows)
    ids = {kind: clock_id for clock_id, kind in returned.all()}
    return [SlaClock(id=ids[row["kind"]], **row) for row in rows]


_CLOCKS = SlaClock.__table__  # type: ignore[attr-defined]
# Built once; executemany with RETURNING is one INSERT … VALUES (…), (…) RETURNING on both engines.
_INSERT_CLOCKS = insert(_CLOCKS).returning(_CLOCKS.c.id, _CLOCKS.c.kind)


async def _start(session: AsyncSession, task: Task, change: ClockChange, now: datetime,
                 policy: ClockPolicy, sop_days: int | None) -> SlaClock:
    if change.kind == ClockKind.RESOLUTION and sop_days is None:
        service = await session.get(Service, task.service_code)
        sop_days = service.sop_days if service else 1
    plan = plan_start(change.kind, now, policy, 1 if sop_days is None else sop_days)
    if change.kind == ClockKind.RESOLUTION:
        task.due_at = plan.due_at
    clock = SlaClock(task_id=task.id or 0, kind=change.kind.value,
                     unit_code=change.unit or task.unit_code, state=ClockState.RUNNING.value,
                     started_at=plan.started_at, warn_at=plan.warn_at, due_at=plan.due_at)
    session.add(clock)
    return clock


async def _open_clock(session: AsyncSession, task_id: int, kind: ClockKind) -> SlaClock | None:
    rows = await session.exec(select(SlaClock).where(
        SlaClock.task_id == task_id, SlaClock.kind == kind.value,
        col(SlaClock.state).in_(OPEN_CLOCKS)).order_by(col(SlaClock.id).desc()))
    return rows.first()


def responsible_units(clock: SlaClock, task: Task, service: Service | None) -> list[str]:
    """The units whose supervisors are told of this clock's breach (and may acknowledge it), the
    one that must act first: the clock's own unit for a pickup; for the resolution clock, the
    Eselon II unit working on it, then its Eselon I."""
    if clock.kind != ClockKind.RESOLUTION:
        return [clock.unit_code]
    eselon2 = task.eselon2 or (service.eselon2 if service else None)
    return list(dict.fromkeys(u for u in (eselon2, task.eselon1) if u))
