"""Queue commands. Each is one database transaction that changes tickets and writes the event to
the ``hall`` channel's outbox; after commit the relay publishes it (as for task commands).

Numbering: one atomic upsert on ``queue_counters (day, series)`` hands out the next number, and
the UNIQUE (day, series, seq) constraint on ``queue_tickets`` backs it: two kiosks tapping at the
same instant get consecutive numbers on SQLite and PostgreSQL alike. Calls: the oldest waiting
ticket of the counter's groups is taken with a conditional UPDATE (``WHERE status = 'waiting'``),
so two counters calling at once never get the same person.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, text, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from channels import names
from channels.outbox import add_outbox_rows
from config.queue import QueueConfig
from hub.db import Database
from hub.domain import queue as rules
from hub.errors import Conflict, InvalidInput, NotFound
from hub.models import AppSetting, QueueTicket, Task, utcnow
from hub.tasks.clocks import PolicyProvider
from hub.tasks.serializers import iso

log = logging.getLogger(__name__)
HALL_TEXT_KEY = "hall_running_text"
LAST_CALLS = 8
_CALL_RETRIES = 10


def _minutes(span: timedelta) -> float | int:
    """30 for 30 minutes, 0.1 for the seconds-long targets of tests."""
    minutes = round(span.total_seconds() / 60, 1)
    return int(minutes) if minutes == int(minutes) else minutes


def ticket_dict(ticket: QueueTicket) -> dict[str, Any]:
    return {"id": ticket.id, "number": ticket.number, "group": ticket.group_code,
            "status": ticket.status, "taken_at": iso(ticket.taken_at),
            "called_at": iso(ticket.called_at), "last_called_at": iso(ticket.last_called_at),
            "counter": ticket.counter, "calls": ticket.calls, "returns": ticket.returns,
            "served_at": iso(ticket.served_at), "task_id": ticket.task_id}


class HallQueue:
    def __init__(self, db: Database, policies: PolicyProvider, config: QueueConfig,
                 wait_target: timedelta) -> None:
        self.db = db
        self.policies = policies
        self.config = config
        self.wait_target = wait_target
        self.publish: Any = None  # async (event_id) -> None, set by the web process's relay

    async def _after(self, event_id: str) -> None:
        if self.publish is None:
            return
        try:
            await self.publish(event_id)
        except Exception as exc:  # committed outbox rows are retried by the relay's sweep
            log.warning("publishing hall event %s failed (%s); the sweep retries it",
                        event_id, exc)

    async def _today(self, session: AsyncSession, now: datetime) -> str:
        policy = await self.policies.get(session)
        return rules.queue_day(now, policy.calendar)

    async def _event(self, session: AsyncSession, event_type: str, now: datetime,
                     payload: dict[str, Any]) -> str:
        event_id = uuid.uuid4().hex
        day = rules.queue_day(now, (await self.policies.get(session)).calendar)
        payload = {**payload, "waiting": await self._waiting_counts(session, day)}
        await add_outbox_rows(session, event_id, event_type, now, payload, [names.hall()])
        return event_id

    async def _waiting_counts(self, session: AsyncSession, day: str) -> dict[str, int]:
        rows = await session.exec(select(QueueTicket.group_code, func.count()).where(
            col(QueueTicket.day) == day, col(QueueTicket.status) == "waiting",
        ).group_by(col(QueueTicket.group_code)))
        counts = {g.code: 0 for g in self.config.groups}
        counts.update({code: int(n) for code, n in rows.all()})
        return counts

    # --- tickets ----------------------------------------------------------------------------
    async def take(self, group_code: Any, *, device_id: int | None = None,
                   staff_id: int | None = None, now: datetime | None = None) -> dict[str, Any]:
        """A new ticket in ``group_code``; Conflict ``closed`` (with ``next_open``) outside
        office hours and on holidays."""
        group = self.config.group(group_code) if isinstance(group_code, str) else None
        if group is None:
            known = ", ".join(g.code for g in self.config.groups)
            raise InvalidInput(f"unknown queue group {group_code!r}; one of {known}",
                               field="group")
        given = now
        now = now or utcnow()
        async with self.db.write() as session:
            policy = await self.policies.get(session)
            opening = rules.may_take_ticket(now, policy.calendar)
            if not opening.open:
                assert opening.next_open is not None
                raise Conflict("the service hall is closed now; tickets can be taken again "
                               f"from {opening.next_open.astimezone(policy.tz):%Y-%m-%d %H:%M}",
                               code="closed", next_open=iso(opening.next_open))
            day = rules.queue_day(now, policy.calendar)
            connection = await session.connection()
            seq = int((await connection.execute(text(
                "INSERT INTO queue_counters (day, series, last) VALUES (:day, :series, 1) "
                "ON CONFLICT (day, series) DO UPDATE SET last = queue_counters.last + 1 "
                "RETURNING last").bindparams(day=day, series=group.code))).scalar_one())
            # The counter row is locked until commit: read the clock now, so the line's order
            # (position_at) is the numbers' order even when kiosks tap at the same instant.
            now = given or utcnow()
            ticket = QueueTicket(day=day, series=group.code, seq=seq,
                                 number=rules.ticket_number(group.code, seq),
                                 group_code=group.code, status="waiting", taken_at=now,
                                 position_at=now, device_id=device_id, staff_id=staff_id)
            session.add(ticket)
            await session.flush()
            ahead = await self._ahead(session, ticket)
            calls = (await session.exec(select(QueueTicket.called_at).where(
                col(QueueTicket.day) == day, col(QueueTicket.group_code) == group.code,
                col(QueueTicket.called_at).is_not(None)))).all()
            rate = rules.service_rate([c for c in calls if c is not None], now)
            wait = rules.estimated_wait_minutes(ahead, rate,
                                                self.config.default_minutes_per_applicant)
            body = {**ticket_dict(ticket), "group_name": group.name, "ahead": ahead,
                    "estimated_wait_minutes": wait, "day": day}
            event_id = await self._event(session, "queue.ticket", now, {"ticket": body})
        await self._after(event_id)
        return body

    async def _ahead(self, session: AsyncSession, ticket: QueueTicket) -> int:
        return int((await session.exec(select(func.count()).where(
            col(QueueTicket.day) == ticket.day, col(QueueTicket.status) == "waiting",
            col(QueueTicket.group_code) == ticket.group_code,
            (col(QueueTicket.position_at) < ticket.position_at)
            | ((col(QueueTicket.position_at) == ticket.position_at)
               & (col(QueueTicket.id) < ticket.id))))).one())

    # --- calling ----------------------------------------------------------------------------
    async def call(self, counter: Any, staff_id: int,
                   now: datetime | None = None) -> dict[str, Any]:
        """The next waiting ticket of the counter's groups, or Conflict ``queue_empty``."""
        served = self._counter(counter).groups
        for _ in range(_CALL_RETRIES):
            now = now or utcnow()
            async with self.db.write() as session:
                day = await self._today(session, now)
                candidate = (await session.exec(select(QueueTicket).where(
                    col(QueueTicket.day) == day, col(QueueTicket.status) == "waiting",
                    col(QueueTicket.group_code).in_(served),
                ).order_by(col(QueueTicket.position_at), col(QueueTicket.id)).limit(1))).first()
                if candidate is None:
                    raise Conflict(f"nobody is waiting for {counter} "
                                   f"(groups {', '.join(served)})", code="queue_empty")
                won = await session.exec(update(QueueTicket).where(  # type: ignore[call-overload]
                    col(QueueTicket.id) == candidate.id, col(QueueTicket.status) == "waiting",
                ).values(status="called", counter=counter, called_by=staff_id,
                         # the first call ends the wait; a come-back keeps it
                         called_at=candidate.called_at or now,
                         last_called_at=now, calls=col(QueueTicket.calls) + 1)
                    .execution_options(synchronize_session=False))
                if won.rowcount != 1:
                    continue  # another counter took this one a moment ago: the next one
                await session.refresh(candidate)
                body, event_id = await self._called(session, candidate, now, recall=False)
            await self._after(event_id)
            return body
        raise Conflict("the queue is too busy; press again", code="busy")

    async def _called(self, session: AsyncSession, ticket: QueueTicket, now: datetime,
                      *, recall: bool) -> tuple[dict[str, Any], str]:
        body = ticket_dict(ticket)
        payload = {"ticket": body, "counter": ticket.counter, "recall": recall,
                   "announcement": rules.announcement(ticket.number, ticket.counter or "")}
        event_id = await self._event(session, "queue.called", now, payload)
        return {**body, "announcement": payload["announcement"]}, event_id

    def _counter(self, counter: Any) -> Any:
        found = self.config.counter(counter) if isinstance(counter, str) else None
        if found is None:
            known = ", ".join(c.code for c in self.config.counters)
            raise InvalidInput(f"unknown counter {counter!r}; one of {known}", field="counter")
        return found

    async def _change(self, ticket_id: int, allowed: tuple[str, ...], values: dict[str, Any],
                      event_type: str, now: datetime | None = None,
                      check: Any = None) -> dict[str, Any]:
        """One conditional change of a ticket (its status must be in ``allowed``)."""
        now = now or utcnow()
        async with self.db.write() as session:
            ticket = await session.get(QueueTicket, ticket_id)
            if ticket is None:
                raise NotFound(f"queue ticket {ticket_id} does not exist")
            if ticket.status not in allowed or (check is not None and not check(ticket)):
                raise Conflict(f"ticket {ticket.number} is {ticket.status}; this is not possible "
                               "now", code="ticket_state", status_now=ticket.status)
            values = {k: (v(ticket, now) if callable(v) else v) for k, v in values.items()}
            won = await session.exec(update(QueueTicket).where(  # type: ignore[call-overload]
                col(QueueTicket.id) == ticket_id, col(QueueTicket.status) == ticket.status,
                col(QueueTicket.calls) == ticket.calls,
            ).values(**values).execution_options(synchronize_session=False))
            if won.rowcount != 1:
                raise Conflict(f"ticket {ticket.number} changed a moment ago; reload",
                               code="ticket_state")
            await session.refresh(ticket)
            if event_type == "queue.called":
                body, event_id = await self._called(session, ticket, now, recall=True)
            else:
                body = ticket_dict(ticket)
                event_id = await self._event(session, event_type, now, {"ticket": body})
        await self._after(event_id)
        return body

    async def recall(self, ticket_id: int, now: datetime | None = None) -> dict[str, Any]:
        return await self._change(ticket_id, ("called",), {
            "last_called_at": lambda t, n: n, "calls": lambda t, n: t.calls + 1},
            "queue.called", now)

    async def skip(self, ticket_id: int, now: datetime | None = None) -> dict[str, Any]:
        """The applicant did not come: ``no_show``; they may come back once (``come_back``)."""
        return await self._change(ticket_id, ("called",), {"status": "no_show"},
                                  "queue.changed", now)

    async def come_back(self, ticket_id: int, now: datetime | None = None) -> dict[str, Any]:
        """A no-show who turned up after all waits again, at the back of the line; once."""
        return await self._change(ticket_id, ("no_show",), {
            "status": "waiting", "returns": lambda t, n: t.returns + 1,
            "position_at": lambda t, n: n}, "queue.changed", now,
            check=lambda t: t.returns < 1)

    async def transfer(self, ticket_id: int, group_code: Any,
                       now: datetime | None = None) -> dict[str, Any]:
        """The applicant belongs to another group: they wait there, keeping their number and
        their place by the time they took the ticket."""
        group = self.config.group(group_code) if isinstance(group_code, str) else None
        if group is None:
            raise InvalidInput(f"unknown queue group {group_code!r}", field="group")
        return await self._change(ticket_id, ("called", "waiting"), {
            "status": "waiting", "group_code": group.code, "counter": None},
            "queue.changed", now)

    async def check_servable(self, ticket_id: int) -> QueueTicket:
        """The called ticket a registration is about to be linked to (checked before the
        registration, so a wrong ticket stores nothing)."""
        ticket = await self.ticket(ticket_id)
        if ticket.status != "called" or ticket.task_id is not None:
            raise Conflict(f"queue ticket {ticket.number} is not being served at a counter "
                           f"now ({ticket.status})", code="ticket_state")
        return ticket

    async def served(self, ticket_id: int, task: Task, now: datetime | None = None) -> None:
        """Link a called ticket to the request registered for it: the end of its service time."""
        now = now or utcnow()
        async with self.db.write() as session:
            won = await session.exec(update(QueueTicket).where(  # type: ignore[call-overload]
                col(QueueTicket.id) == ticket_id, col(QueueTicket.status) == "called",
                col(QueueTicket.task_id).is_(None),
            ).values(status="served", served_at=now, task_id=task.id)
                .execution_options(synchronize_session=False))
            if won.rowcount != 1:
                raise Conflict(f"queue ticket {ticket_id} is not being served at a counter now",
                               code="ticket_state")
            ticket = await session.get(QueueTicket, ticket_id)
            assert ticket is not None
            await session.refresh(ticket)
            event_id = await self._event(session, "queue.changed", now, {
                "ticket": ticket_dict(ticket), "task_code": task.code})
        await self._after(event_id)

    async def ticket(self, ticket_id: int) -> QueueTicket:
        async with self.db.read() as session:
            ticket = await session.get(QueueTicket, ticket_id)
        if ticket is None:
            raise NotFound(f"queue ticket {ticket_id} does not exist")
        return ticket

    # --- the hall's state ---------------------------------------------------------------------
    async def set_text(self, value: str) -> None:
        value = value.strip()[:300]
        now = utcnow()
        async with self.db.write() as session:
            stored = await session.get(AppSetting, HALL_TEXT_KEY)
            if stored is None:
                session.add(AppSetting(key=HALL_TEXT_KEY, value=value))
            else:
                stored.value = value
                session.add(stored)
            event_id = await self._event(session, "hall.text", now, {"text": value})
        await self._after(event_id)

    async def snapshot(self, now: datetime | None = None) -> dict[str, Any]:
        """``GET /api/v1/queue``: groups with waiting counts, the last call per counter, the
        latest calls, the running text and today's waiting KPI."""
        now = now or utcnow()
        async with self.db.read() as session:
            day = await self._today(session, now)
            waiting = await self._waiting_counts(session, day)
            tickets = (await session.exec(select(QueueTicket).where(
                col(QueueTicket.day) == day))).all()
            stored = await session.get(AppSetting, HALL_TEXT_KEY)
        waiting_since = [t.taken_at for t in tickets if t.status == "waiting"]
        called = sorted((t for t in tickets if t.last_called_at is not None),
                        key=lambda t: t.last_called_at or now, reverse=True)
        counters = []
        for counter in self.config.counters:
            last = next((t for t in called if t.counter == counter.code), None)
            counters.append({"counter": counter.code, "groups": list(counter.groups),
                             "ticket": ticket_dict(last) if last else None})
        return {
            "day": day,
            "groups": [{"code": g.code, "name": g.name, "services": list(g.services),
                        "waiting": waiting.get(g.code, 0)} for g in self.config.groups],
            "counters": counters,
            "last_calls": [{**ticket_dict(t), "announcement": rules.announcement(
                t.number, t.counter or "")} for t in called[:LAST_CALLS]],
            "running_text": stored.value if stored else "",
            "wait_target_minutes": _minutes(self.wait_target),
            "overdue": rules.overdue_count(waiting_since, now, self.wait_target),
            "kpi": self._kpi(tickets),
        }

    def _kpi(self, tickets: Sequence[Any]) -> dict[str, Any]:
        """Waiting (ticket → first call) against the target and service (call → registered)."""
        kpi = rules.waiting_kpi([t.called_at - t.taken_at for t in tickets
                                 if t.called_at is not None], self.wait_target)
        service = [(t.served_at - t.called_at).total_seconds() / 60 for t in tickets
                   if t.served_at is not None and t.called_at is not None]
        return {"called": kpi.served, "average_wait_minutes": kpi.average_minutes,
                "within_target": kpi.within_target, "over_target": kpi.over_target,
                "average_service_minutes": round(sum(service) / len(service), 1)
                if service else None}

    async def period_kpi(self, first: date, last: date) -> dict[str, Any]:
        """The KPI over the working days ``first`` … ``last`` (the KPI page, ``hall`` in
        ``GET /api/v1/kpi``): a ticket counts on its Jakarta day (``queue_day``)."""
        async with self.db.read() as session:
            tickets: Sequence[Any] = (await session.exec(select(
                QueueTicket.status, QueueTicket.taken_at, QueueTicket.called_at,
                QueueTicket.served_at,
            ).where(col(QueueTicket.day) >= f"{first:%Y%m%d}",
                    col(QueueTicket.day) <= f"{last:%Y%m%d}"))).all()
        return {**self._kpi(tickets), "wait_target_minutes": _minutes(self.wait_target),
                "no_shows": sum(1 for t in tickets if t.status == "no_show")}
