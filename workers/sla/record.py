"""Recording warnings and breaches: one transaction for every clock that fires together.

``record(session, requests, ...)`` is the ``GroupCommit`` handler of ``workers/sla/engine.py``. For
the
clocks asked for it makes one conditional UPDATE per kind::

    UPDATE sla_clocks SET breached_at = :now
     WHERE id IN (...) AND breached_at IS NULL AND state = 'running' AND due_at <= :now
    RETURNING id

(``warned_at``/``warn_at`` for warnings, which also need ``breached_at IS NULL``). Only the clocks
it returns go on: whatever else ran at the same moment — another job for the same clock, the sweep,
another worker — finds ``breached_at`` set and returns nothing, so each breach is written once.
A clock that was met, cancelled or paused, or that moved to a later deadline, fails the WHERE and
is left alone. For each recorded clock: the ``sla.warning``/``sla.breached`` history event (no
actor), its outbox rows (published by the relay) and, for breaches, the notification rows — each
table in one multi-row INSERT for the whole batch (ORM objects cost about a millisecond apiece).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from channels.audience import hears
from channels.outbox import outbox_rows
from config.settings import Settings
from hub.domain.tasks import ClockState
from hub.models import Outbox, SlaClock, Staff, Task, TaskEvent, utcnow
from hub.tasks.clocks import responsible_units
from hub.tasks.commands import new_event_id
from hub.tasks.serializers import (
    clock_dict,
    pickup_deadlines,
    running_pickup_dues,
    staff_ref,
    task_summary,
)
from workers.notify.outbox import Claimed, Draft, insert_notifications
from workers.notify.texts import breach_texts
from workers.notify.transports import Transports
from workers.sla import escalation
from workers.sla.schedule import JobKind, epoch_ms

log = logging.getLogger(__name__)

CATCH_UP_AFTER = timedelta(milliseconds=500)  # later than a punctual job could have been
CATCH_UP_LIMIT = 200


@dataclass(frozen=True)
class FireRequest:
    clock_id: int
    kind: JobKind
    at_ms: int | None = None  # the instant the job was scheduled for; None from the sweep


@dataclass
class _Rows:
    """What one batch writes, inserted with one statement per table at the end."""

    events: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    drafts: list[Draft] = field(default_factory=list)


@dataclass(frozen=True)
class Fired:
    # breached | warned, or why not: already (recorded before), inactive (met, cancelled,
    # paused), moved (the job's instant is no longer the clock's), early (not due yet)
    outcome: str
    event_id: str | None = None
    notifications: tuple[Claimed, ...] = field(default=())  # claimed rows to send after commit
    early_by: timedelta | None = None

    @property
    def recorded(self) -> bool:
        return self.outcome in ("breached", "warned")


async def record(session: AsyncSession, requests: Sequence[FireRequest], *,
                 transports: Transports, settings: Settings,
                 directories: escalation.DirectoryCache) -> tuple[list[Fired], list[Fired]]:
    """The outcome for each request, and the clocks recorded by catching up (see below)."""
    lease = settings.notify_lease
    now = utcnow()
    kinds: tuple[JobKind, ...] = ("due", "warn")
    recorded = {kind: await _conditional_update(session, kind, ids, now)
                for kind in kinds
                if (ids := sorted({r.clock_id for r in requests if r.kind == kind}))}
    # Catching up: under a burst arq starts jobs more slowly than deadlines pass (one job at a
    # time, a few Redis round trips each), so each batch also records the clocks already
    # overdue by CATCH_UP_AFTER whose jobs have not run yet; those jobs then find nothing to do.
    requested = {r.clock_id for r in requests}
    for kind in kinds:
        caught = await _catch_up(session, kind, now, requested)
        if caught:
            recorded.setdefault(kind, []).extend(caught)
    fired: set[tuple[int, JobKind]] = {(clock.id or 0, kind) for kind, clocks in
                                       recorded.items() for clock in clocks}
    if not fired:
        return await _not_recorded(session, requests, now), []
    clocks = {c.id: c for updated in recorded.values() for c in updated}
    tasks = {t.id: t for t in (await session.exec(select(Task).where(
        col(Task.id).in_({c.task_id for c in clocks.values()})))).all()}
    directory = await directories.load(session)
    await escalation.add_supervisors(session, directory, {
        unit for clock_id, kind in fired if kind == "due"
        for unit in _responsible(clocks[clock_id], tasks[clocks[clock_id].task_id], directory)})
    # Into this session, so the task cards read no service row; held in a list because the
    # session's identity map only keeps weak references.
    services_here = [await session.merge(directory.services[code], load=False)
                     for code in {t.service_code for t in tasks.values()}
                     if code in directory.services]
    await _load_assignees(session, tasks.values())
    pickups = await _running_pickups(session, tasks, clocks.values())
    outcomes: dict[tuple[int, JobKind], Fired] = {}
    rows = _Rows()
    for clock_id, kind in sorted(fired):
        clock, task = clocks[clock_id], tasks[clocks[clock_id].task_id]
        pickup_due = pickups.get(task.id or 0)
        if kind == "warn":
            event_id = await _event(session, rows, task, clock, "sla.warning", now, pickup_due,
                                    hears("sla.warning", task), {})
        else:
            event_id = await _breach(session, rows, task, clock, now, pickup_due, directory,
                                     settings)
        outcomes[(clock_id, kind)] = Fired("warned" if kind == "warn" else "breached", event_id)
    connection = await session.connection()
    await connection.execute(insert(TaskEvent.__table__), rows.events)  # type: ignore[attr-defined]
    await connection.execute(insert(Outbox.__table__), rows.outbox)  # type: ignore[attr-defined]
    claimed = await insert_notifications(session, rows.drafts, transports, now, lease)
    for clock_id, held_by_us in claimed.items():
        outcomes[(clock_id, "due")] = Fired("breached", outcomes[(clock_id, "due")].event_id,
                                            tuple(held_by_us))
    del services_here
    # The first request for a recorded clock carries the outcome; duplicates learn it was done.
    results: list[Fired | None] = [outcomes.pop((r.clock_id, r.kind), None) for r in requests]
    others = [r for r, result in zip(requests, results, strict=True) if result is None]
    explained = iter(await _not_recorded(session, others, now))
    return [result or next(explained) for result in results], list(outcomes.values())


async def _catch_up(session: AsyncSession, kind: JobKind, now: datetime,
                    requested: set[int]) -> list[SlaClock]:
    """Record up to CATCH_UP_LIMIT clocks of ``kind`` overdue by more than CATCH_UP_AFTER."""
    pending, values = _unrecorded(kind, now - CATCH_UP_AFTER, now)
    if kind == "warn":  # a warning past the deadline is pointless: the breach says it all
        pending.append(col(SlaClock.due_at) > now)
    instant = col(SlaClock.due_at) if kind == "due" else col(SlaClock.warn_at)  # type: ignore[arg-type]
    overdue = select(SlaClock.id).where(col(SlaClock.state) == ClockState.RUNNING.value, *pending)
    if requested:
        overdue = overdue.where(col(SlaClock.id).not_in(requested))
    return await _record_where(session, col(SlaClock.id).in_(
        overdue.order_by(instant).limit(CATCH_UP_LIMIT)), pending, values)


async def _not_recorded(session: AsyncSession, requests: Sequence[FireRequest],
                        now: datetime) -> list[Fired]:
    """Why each request recorded nothing, from one read of their clocks."""
    if not requests:
        return []
    clocks = {c.id: c for c in (await session.exec(select(SlaClock).where(
        col(SlaClock.id).in_({r.clock_id for r in requests})))).all()}
    results = []
    for request in requests:
        clock = clocks.get(request.clock_id)
        instant = None if clock is None else (
            clock.due_at if request.kind == "due" else clock.warn_at)
        if clock is None or clock.state != ClockState.RUNNING or instant is None:
            results.append(Fired("inactive"))
        elif clock.breached_at is not None or (request.kind == "warn" and clock.warned_at):
            results.append(Fired("already"))
        elif request.at_ms is not None and epoch_ms(instant) != request.at_ms:
            results.append(Fired("moved"))  # a job exists at the new instant (or the sweep adds it)
        elif instant > now:
            results.append(Fired("early", early_by=instant - now))
        else:  # pragma: no cover - due, running and unrecorded fails no WHERE clause
            results.append(Fired("already"))
    return results


async def _conditional_update(session: AsyncSession, kind: JobKind, ids: list[int],
                              now: datetime) -> list[SlaClock]:
    pending, values = _unrecorded(kind, now, now)
    return await _record_where(session, col(SlaClock.id).in_(ids), pending, values)


def _unrecorded(kind: JobKind, due_by: datetime, now: datetime
                ) -> tuple[list[Any], dict[str, Any]]:
    """The conditions of a clock whose warning or breach fell due by ``due_by`` and is not
    recorded yet, and the values that record it at ``now``."""
    if kind == "due":
        return ([col(SlaClock.breached_at).is_(None), col(SlaClock.due_at) <= due_by],
                {"breached_at": now})
    return ([col(SlaClock.warned_at).is_(None), col(SlaClock.breached_at).is_(None),
             col(SlaClock.warn_at) <= due_by], {"warned_at": now})


async def _record_where(session: AsyncSession, chosen: Any, pending: list[Any],
                        values: dict[str, Any]) -> list[SlaClock]:
    """The conditional UPDATE that records clocks: only running ones still ``pending`` match,
    so of two racing batches exactly one gets each clock back."""
    rows = await session.exec(update(SlaClock).where(  # type: ignore[call-overload]
        chosen, col(SlaClock.state) == ClockState.RUNNING.value, *pending).values(**values)
        .returning(SlaClock).execution_options(synchronize_session=False))
    return list(rows.scalars().all())


def _responsible(clock: SlaClock, task: Task, directory: escalation.Directory) -> list[str]:
    return responsible_units(clock, task, directory.services.get(task.service_code))


async def _load_assignees(session: AsyncSession, tasks: Any) -> None:
    """Into the identity map, so the event's task card costs no query per task."""
    ids = {t.assignee_id for t in tasks if t.assignee_id}
    if ids:
        (await session.exec(select(Staff).where(col(Staff.id).in_(ids)))).all()


async def _running_pickups(session: AsyncSession, tasks: dict[int | None, Task],
                           clocks: Iterable[SlaClock]) -> dict[int, datetime]:
    """Each task's running pickup deadline, for its card. A running pickup clock that fires is
    that deadline itself; only tasks whose resolution clock fires need a query."""
    pickups = pickup_deadlines(clocks)
    others = [task_id for task_id in tasks if task_id and task_id not in pickups]
    pickups.update(await running_pickup_dues(session, others))
    return pickups


async def _breach(session: AsyncSession, rows: _Rows, task: Task, clock: SlaClock,
                  now: datetime, pickup_due: datetime | None, directory: escalation.Directory,
                  settings: Settings) -> str:
    service = directory.services.get(task.service_code)
    units = _responsible(clock, task, directory)
    recipients = escalation.breach_recipients(directory, units)
    event_id = await _event(session, rows, task, clock, "sla.breached", now, pickup_due,
                            hears("sla.breached", task, supervisors=units),
                            {"supervisors": [staff_ref(r.staff) for r in recipients]})
    for r in recipients:
        text = breach_texts(task=task, clock=clock, service=service,
                            unit=directory.units.get(r.unit),
                            holder=directory.units.get(task.unit_code),
                            recipient_name=r.staff.full_name, copy=r.copy,
                            cc_unit=directory.units.get(units[0]) if r.copy else None,
                            tz=settings.tz, public_url=settings.public_url)
        for channel, address, subject, body in (("email", r.staff.email, text.subject, text.email),
                                                ("sms", r.staff.phone, "", text.sms)):
            if address:
                rows.drafts.append(Draft(clock.id or 0, task.id or 0, "breach", channel, address,
                                         r.staff.id, subject, body))
    if not recipients:
        log.error(
            "SLA breach of task %s (%s) has no supervisor to notify in %s",
            task.code, clock.kind, ", ".join(units))
    return event_id


async def _event(session: AsyncSession, rows: _Rows, task: Task, clock: SlaClock,
                 event_type: str, at: datetime, pickup_due: datetime | None, channels: list[str],
                 extra: dict[str, Any]) -> str:
    """The history row and the outbox rows of one SLA event (actor: the system)."""
    event_id = new_event_id()
    data = {"clock": clock_dict(clock), **extra}
    rows.events.append({"event_id": event_id, "task_id": task.id, "type": event_type,
                        "actor_id": None, "at": at, "data": json.dumps(data)})
    payload = {"task": await task_summary(session, task, pickup_due), "actor": None, **data}
    rows.outbox.extend(outbox_rows(event_id, event_type, at, payload, channels))
    return event_id
