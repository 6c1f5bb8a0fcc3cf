"""How tasks, units, services and events look in JSON: one place, used by the API, the pages and
the events, so a card built from an event matches a card built from ``GET /tasks``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.domain.clocks import PICKUP_KINDS
from hub.domain.instants import iso
from hub.domain.tasks import ClockState
from hub.models import Service, SlaClock, Staff, Task, TaskEvent, TaskMessage, Unit


def unit_dict(unit: Unit) -> dict[str, Any]:
    return {"code": unit.code, "name": unit.name, "short_name": unit.short_name,
            "level": unit.level, "parent": unit.parent}


def service_dict(service: Service) -> dict[str, Any]:
    return {"code": service.code, "name": service.name, "name_en": service.name_en,
            "eselon1": service.eselon1, "eselon2": service.eselon2,
            "sop_days": service.sop_days, "sop_source": service.sop_source}


def staff_ref(staff: Staff | None) -> dict[str, Any] | None:
    if staff is None:
        return None
    return {"username": staff.username, "name": staff.full_name, "role": staff.role,
            "unit": staff.unit_code}


def clock_dict(clock: SlaClock) -> dict[str, Any]:
    return {"id": clock.id, "kind": clock.kind, "unit": clock.unit_code, "state": clock.state,
            "started_at": iso(clock.started_at), "warn_at": iso(clock.warn_at),
            "due_at": iso(clock.due_at), "paused_at": iso(clock.paused_at),
            "paused_seconds": clock.paused_seconds, "warned_at": iso(clock.warned_at),
            "breached_at": iso(clock.breached_at), "stopped_at": iso(clock.stopped_at),
            "met": clock.state == ClockState.MET,
            "breached": clock.breached_at is not None,
            "acknowledged_at": iso(clock.acknowledged_at)}


async def task_summary(session: AsyncSession, task: Task, pickup_due_at: datetime | None = None,
                       service: Service | None = None) -> dict[str, Any]:
    """The card: enough for a board to draw and sort a task without another request.
    ``service``: the task's service when the caller holds it already."""
    if service is None or service.code != task.service_code:
        service = await session.get(Service, task.service_code)
    assignee = await session.get(Staff, task.assignee_id) if task.assignee_id else None
    return {
        "id": task.id, "code": task.code, "status": task.status, "level": task.level,
        "unit": task.unit_code, "eselon1": task.eselon1, "eselon2": task.eselon2,
        "assignee": staff_ref(assignee), "version": task.version,
        "service": task.service_code, "service_name": service.name if service else "",
        "sop_days": service.sop_days if service else None,
        "service_unit": service.eselon2 if service else None,  # the usual disposition
        "applicant": {"name": task.applicant_name, "organisation": task.applicant_org},
        "created_at": iso(task.created_at), "updated_at": iso(task.updated_at),
        "due_at": iso(task.due_at), "completed_at": iso(task.completed_at),
        "hold_reason": task.hold_reason, "pickup_due_at": iso(pickup_due_at),
    }


# Not p1_handling: that runs while someone holds it (hub.domain.clocks).
PICKUPS = tuple(sorted(kind.value for kind in PICKUP_KINDS))


def pickup_deadlines(clocks: Iterable[SlaClock]) -> dict[int, datetime]:
    """The running pickup deadline of each task among ``clocks`` (a task has at most one pickup
    clock running): for the card, without a query when the clocks are at hand."""
    return {c.task_id: c.due_at for c in clocks
            if c.state == ClockState.RUNNING and c.kind in PICKUPS}


async def running_pickup_dues(session: AsyncSession,
                              task_ids: Iterable[int]) -> dict[int, datetime]:
    """The running pickup deadline of each of ``task_ids`` that has one, in one query."""
    ids = list(task_ids)
    if not ids:
        return {}
    rows = await session.exec(select(SlaClock).where(
        col(SlaClock.task_id).in_(ids), SlaClock.state == ClockState.RUNNING.value,
        col(SlaClock.kind).in_(PICKUPS)))
    return pickup_deadlines(rows.all())


async def running_pickup_due(session: AsyncSession, task_id: int) -> datetime | None:
    return (await running_pickup_dues(session, (task_id,))).get(task_id)


async def event_payload(session: AsyncSession, task: Task, actor: Staff,
                        data: dict[str, Any], touched: list[SlaClock],
                        service: Service | None = None) -> dict[str, Any]:
    """The event's JSON: the task's card, who acted, and the command's data. ``touched`` are
    the clocks the command started or changed: one of them is the running pickup clock when the
    command started it, which saves the query for it."""
    pickup_due = (pickup_deadlines(touched).get(task.id or 0)
                  or await running_pickup_due(session, task.id or 0))
    payload = {"task": await task_summary(session, task, pickup_due, service),
               "actor": staff_ref(actor)}
    payload.update(data)
    return payload


def _with_private_fields(summary: dict[str, Any], task: Task) -> dict[str, Any]:
    detail = {**summary, "applicant": {**summary["applicant"], "phone": task.applicant_phone,
                                       "email": task.applicant_email}}
    detail["description"] = task.description
    detail["result"] = task.result
    return detail


def new_task_detail(task: Task, summary: dict[str, Any], event: TaskEvent, actor: Staff,
                    clocks: list[SlaClock]) -> dict[str, Any]:
    """``task_detail`` of a task its registration has just written, from what the command
    already holds (its card, its one event, its clocks; no messages yet) instead of reading it
    all back. A test checks it equals ``GET /api/v1/tasks/{id}``."""
    detail = _with_private_fields(summary, task)
    detail["history"] = [{"id": event.event_id, "type": event.type, "at": iso(event.at),
                          "actor": staff_ref(actor), "data": json.loads(event.data)}]
    detail["clocks"] = [clock_dict(c) for c in sorted(clocks, key=lambda c: c.id or 0)]
    detail["messages"] = []
    return detail


async def task_detail(session: AsyncSession, task: Task) -> dict[str, Any]:
    """Everything about one task: applicant contact, history, clocks, thread."""
    summary = await task_summary(session, task, await running_pickup_due(session, task.id or 0))
    detail = _with_private_fields(summary, task)
    events = await session.exec(select(TaskEvent).where(TaskEvent.task_id == task.id)
                                .order_by(TaskEvent.id))  # type: ignore[arg-type]
    staff_cache: dict[int, Staff | None] = {}

    async def who(staff_id: int | None) -> dict[str, Any] | None:
        if staff_id is None:
            return None
        if staff_id not in staff_cache:
            staff_cache[staff_id] = await session.get(Staff, staff_id)
        return staff_ref(staff_cache[staff_id])

    detail["history"] = [
        {"id": e.event_id, "type": e.type, "at": iso(e.at), "actor": await who(e.actor_id),
         "data": json.loads(e.data)}
        for e in events.all()
    ]
    clocks = await session.exec(select(SlaClock).where(SlaClock.task_id == task.id)
                                .order_by(SlaClock.id))  # type: ignore[arg-type]
    detail["clocks"] = [clock_dict(c) for c in clocks.all()]
    messages = await session.exec(select(TaskMessage).where(TaskMessage.task_id == task.id)
                                  .order_by(TaskMessage.id))  # type: ignore[arg-type]
    detail["messages"] = [
        {"id": m.id, "author": await who(m.author_id), "body": m.body, "at": iso(m.created_at)}
        for m in messages.all()
    ]
    return detail
