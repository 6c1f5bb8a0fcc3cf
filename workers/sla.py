"""The SLA jobs: a clock's warning and its breach, each recorded once, at its instant.

``sla_fire(ctx, clock_id, kind, at_ms)`` is the arq job that ``workers/schedule.py`` enqueues at a
clock's ``warn_at`` and ``due_at``. It does nothing when the clock has since been met, cancelled or
paused, or has moved (``at_ms`` is no longer its instant: a newer job exists for the new one). The
sweep (``workers/sweep.py``) calls ``SlaEngine.fire`` without ``at_ms`` for clocks whose job was
lost.

Once, even when two jobs race: the record is a conditional UPDATE (``SET breached_at = now WHERE
id = ? AND breached_at IS NULL AND state = 'running' AND due_at = <the instant read>``) and only the
transaction that changed the row goes on to write the history event, the outbox rows that publish
``sla.warning``/``sla.breached`` (``workers/escalation.py`` says to which channels) and, for a
breach, the notification rows (``workers/notify.py``). After commit the event is published and the
notifications are sent in the background.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from channels.outbox import add_outbox_rows
from hub.commands import new_event_id
from hub.context import AppContext
from hub.models import Service, SlaClock, Task, TaskEvent, Unit, utcnow
from hub.serializers import clock_dict, running_pickup_due, staff_ref, task_summary
from workers import escalation
from workers.delivery import Transports
from workers.notify import Draft, Notifier, insert_notifications
from workers.schedule import JobKind, epoch_ms
from workers.texts import breach_texts

log = logging.getLogger(__name__)

Publish = Callable[[str], Awaitable[object]]
# A job that runs early (worker clock ahead of the web's) waits this long at most; beyond that the
# sweep or the job's own retry takes over.
MAX_EARLY_WAIT = timedelta(seconds=5)


class SlaEngine:
    def __init__(self, app: AppContext, notifier: Notifier, transports: Transports,
                 publish: Publish | None = None) -> None:
        self.app = app
        self.notifier = notifier
        self.transports = transports
        self.publish = publish

    async def fire(self, clock_id: int, kind: JobKind, at_ms: int | None = None) -> str:
        """Record the clock's warning or breach if it is still due; returns what happened."""
        for _ in range(2):
            async with self.app.db.write() as session:
                outcome, wait, event_id, pending = await self._fire(session, clock_id, kind, at_ms)
            if wait is None:
                break
            await asyncio.sleep(wait.total_seconds())
        if event_id and self.publish is not None:
            try:
                await self.publish(event_id)
            except Exception:  # the relay's own loop publishes committed outbox rows
                log.warning("could not publish %s at once; the relay will", event_id)
        self.notifier.dispatch(pending)
        return outcome

    async def _fire(self, session: AsyncSession, clock_id: int, kind: JobKind,
                    at_ms: int | None) -> tuple[str, timedelta | None, str | None, list[int]]:
        clock = await session.get(SlaClock, clock_id)
        if clock is None or clock.state != "running":
            return "inactive", None, None, []
        instant = clock.due_at if kind == "due" else clock.warn_at
        if instant is None or (at_ms is not None and epoch_ms(instant) != at_ms):
            return "moved", None, None, []
        now = utcnow()
        if now < instant:
            early = instant - now
            return "early", (early if early <= MAX_EARLY_WAIT else None), None, []
        if kind == "warn" and clock.breached_at is not None:
            return "already", None, None, []
        field = col(SlaClock.breached_at) if kind == "due" else col(SlaClock.warned_at)
        instant_column = col(SlaClock.due_at) if kind == "due" else col(SlaClock.warn_at)
        recorded = await session.exec(update(SlaClock).where(
            col(SlaClock.id) == clock_id, field.is_(None), col(SlaClock.state) == "running",
            instant_column == instant).values({field: now}))
        if recorded.rowcount != 1:  # type: ignore[attr-defined]
            return "already", None, None, []
        # The row changed under the ORM's feet; tell it, without making it write again.
        set_committed_value(clock, "breached_at" if kind == "due" else "warned_at", now)
        task = await session.get(Task, clock.task_id)
        if task is None:  # pragma: no cover - clocks reference tasks
            return "inactive", None, None, []
        if kind == "warn":
            event_id = await self._record(session, task, clock, "sla.warning",
                                          escalation.warning_channels(task), {})
            return "warned", None, event_id, []
        event_id, pending = await self._breach(session, task, clock)
        return "breached", None, event_id, pending

    async def _breach(self, session: AsyncSession, task: Task,
                      clock: SlaClock) -> tuple[str, list[int]]:
        service = await session.get(Service, task.service_code)
        units = escalation.responsible_units(clock, task, service)
        recipients = await escalation.breach_recipients(session, units)
        if not recipients:
            log.error("SLA breach of task %s (%s) has no supervisor to notify in %s",
                      task.code, clock.kind, ", ".join(units))
        data = {"supervisors": [staff_ref(r.staff) for r in recipients]}
        event_id = await self._record(session, task, clock, "sla.breached",
                                      escalation.breach_channels(task, units), data)
        drafts: list[Draft] = []
        settings = self.app.settings
        holder = await session.get(Unit, task.unit_code)
        for r in recipients:
            unit = await session.get(Unit, r.unit)
            text = breach_texts(task=task, clock=clock, service=service, unit=unit, holder=holder,
                                recipient_name=r.staff.full_name, copy=r.copy,
                                cc_unit=await session.get(Unit, units[0]) if r.copy else None,
                                tz=settings.tz, public_url=settings.public_url)
            for channel, address, subject, body in (
                    ("email", r.staff.email, text.subject, text.email),
                    ("sms", r.staff.phone, "", text.sms)):
                if address:
                    drafts.append(Draft(clock.id or 0, task.id or 0, "breach", channel, address,
                                        r.staff.id, subject, body))
        pending = await insert_notifications(session, drafts, self.transports,
                                             clock.breached_at or utcnow())
        return event_id, pending

    async def _record(self, session: AsyncSession, task: Task, clock: SlaClock, event_type: str,
                      channels: list[str], extra: dict[str, Any]) -> str:
        """The history row and the outbox rows of one SLA event (actor: the system)."""
        at = (clock.breached_at if event_type == "sla.breached" else clock.warned_at) or utcnow()
        event_id = new_event_id()
        data = {"clock": clock_dict(clock), **extra}
        session.add(TaskEvent(event_id=event_id, task_id=task.id or 0, type=event_type,
                              actor_id=None, at=at, data=json.dumps(data)))
        pickup_due = await running_pickup_due(session, task.id or 0)
        payload = {"task": await task_summary(session, task, pickup_due), "actor": None, **data}
        add_outbox_rows(session, event_id, event_type, at, payload, channels)
        return event_id


async def sla_fire(ctx: dict[str, Any], clock_id: int, kind: JobKind, at_ms: int) -> str:
    """The arq job; see the module docstring."""
    engine: SlaEngine = ctx["sla"]
    return await engine.fire(clock_id, kind, at_ms)
