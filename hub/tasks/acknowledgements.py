"""Acknowledging an SLA breach: a supervisor's "seen, on it", kept on the clock.

The acknowledgement lives in ``sla_clocks`` (``acknowledged_at``/``acknowledged_by``), so every
screen of the scope drops the banner, and the record says who saw the breach and when. It is
written with a conditional UPDATE::

    UPDATE sla_clocks SET acknowledged_at = :now, acknowledged_by = :me
     WHERE id = :id AND breached_at IS NOT NULL AND acknowledged_at IS NULL

so of two supervisors acknowledging at once both succeed and only the first is recorded (on
PostgreSQL the second UPDATE waits for the first to commit and then matches nothing; on SQLite the
write transactions take turns). Only the first writes the ``sla.acknowledged`` history event and
its outbox rows, for the ``sup.<unit>`` channels that heard the breach and the task's channel.

Who may: an admin, or a supervisor who oversees one of the units the breach was reported to
(``hub.tasks.clocks.responsible_units``) — or the front office's supervisor, who oversees the
whole hall (as the supervisor screen's scope does, ``web.views.supervisor.scope_units``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from channels.audience import hears
from channels.outbox import add_outbox_rows
from hub.auth.principal import Principal
from hub.domain.supervision import oversees
from hub.domain.tasks import Role
from hub.errors import Conflict, Forbidden, NotFound, Reason
from hub.models import Service, SlaClock, Staff, Task, TaskEvent
from hub.tasks.clocks import responsible_units
from hub.tasks.serializers import clock_dict, iso, running_pickup_due, staff_ref, task_summary

EVENT_TYPE = "sla.acknowledged"


@dataclass(frozen=True)
class Acknowledgement:
    clock: SlaClock
    task: Task
    by: Staff | None
    recorded: bool  # False: acknowledged before (by this caller or another), nothing written
    event_id: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {"clock": clock_dict(self.clock), "task": {"id": self.task.id,
                                                          "code": self.task.code},
                "acknowledged_at": iso(self.clock.acknowledged_at),
                "acknowledged_by": staff_ref(self.by), "recorded": self.recorded}


async def acknowledge(session: AsyncSession, principal: Principal, clock_id: int,
                      now: datetime, event_id: str) -> Acknowledgement:
    """Record ``principal``'s acknowledgement of the breach of clock ``clock_id``.

    Raises:
        Forbidden: not a supervisor or admin, or the breach is outside the supervisor's scope.
        NotFound: no such clock.
        Conflict: the clock is not breached (``not_breached``).
    """
    if principal.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise Forbidden("only a supervisor of the unit, or an admin, may acknowledge a breach",
                        reason=Reason.NOT_ALLOWED)
    clock = await session.get(SlaClock, clock_id)
    if clock is None:
        raise NotFound(f"SLA clock {clock_id} does not exist")
    task = await session.get(Task, clock.task_id)
    assert task is not None  # sla_clocks.task_id is a foreign key
    units = responsible_units(clock, task, await session.get(Service, task.service_code))
    if not may_acknowledge(principal, units):
        raise Forbidden(f"this breach was reported to {', '.join(units)}, outside your scope")
    if clock.breached_at is None:
        raise Conflict(f"SLA clock {clock_id} ({clock.kind}) is not breached; there is nothing "
                       "to acknowledge", code="not_breached")
    if clock.acknowledged_at is not None:
        by = await session.get(Staff, clock.acknowledged_by) if clock.acknowledged_by else None
        return Acknowledgement(clock, task, by, recorded=False)
    won = await session.exec(update(SlaClock).where(  # type: ignore[call-overload]
        col(SlaClock.id) == clock_id, col(SlaClock.breached_at).is_not(None),
        col(SlaClock.acknowledged_at).is_(None),
    ).values(acknowledged_at=now, acknowledged_by=principal.id)
        .execution_options(synchronize_session=False))
    # Under READ COMMITTED this re-read sees the row as committed by whoever won.
    await session.refresh(clock)
    by = await session.get(Staff, clock.acknowledged_by) if clock.acknowledged_by else None
    if won.rowcount != 1:
        return Acknowledgement(clock, task, by, recorded=False)
    data = {"clock": clock_dict(clock), "acknowledged_by": staff_ref(by),
            "acknowledged_at": iso(now)}
    session.add(TaskEvent(event_id=event_id, task_id=task.id or 0, type=EVENT_TYPE,
                          actor_id=principal.id, at=now, data=json.dumps(data)))
    payload = {"task": await task_summary(session, task,
                                          await running_pickup_due(session, task.id or 0)),
               "actor": staff_ref(principal.staff), **data}
    await add_outbox_rows(session, event_id, EVENT_TYPE, now, payload,
                          hears(EVENT_TYPE, task, supervisors=units))
    return Acknowledgement(clock, task, by, recorded=True, event_id=event_id)


def may_acknowledge(principal: Principal, units: list[str]) -> bool:
    if principal.role == Role.ADMIN:
        return True
    return principal.role == Role.SUPERVISOR and oversees(principal.scope, units)
