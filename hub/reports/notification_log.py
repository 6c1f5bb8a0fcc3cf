"""The notification log: what was sent to whom, when, and whether it arrived. A read of the
``notifications`` table shared by the supervisor's screen and whoever else lists it; the rows are
written and sent by the worker (``workers/notify/outbox.py``, ``workers/notify/sender.py``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import or_
from sqlmodel import col, select

from hub.db import Database
from hub.domain.instants import iso
from hub.models import Notification, SlaClock, Staff, Task


async def list_notifications(db: Database, *, unit_codes: Iterable[str] | None = None,
                             limit: int = 200) -> list[dict[str, Any]]:
    """The notification log, newest first, for the admin (all) or a supervisor (``unit_codes``:
    rows about clocks or tasks of those units, or sent to their staff)."""
    statement = (select(Notification, Staff, Task, SlaClock)
                 .outerjoin(Staff, col(Staff.id) == col(Notification.staff_id))
                 .outerjoin(Task, col(Task.id) == col(Notification.task_id))
                 .outerjoin(SlaClock, col(SlaClock.id) == col(Notification.clock_id)))
    if unit_codes is not None:
        units = list(unit_codes)
        statement = statement.where(or_(
            col(Staff.unit_code).in_(units), col(SlaClock.unit_code).in_(units),
            col(Task.eselon1).in_(units), col(Task.eselon2).in_(units)))
    statement = statement.order_by(col(Notification.id).desc()).limit(limit)
    async with db.read() as session:
        rows = (await session.exec(statement)).all()
    return [_log_entry(n, staff, task, clock) for n, staff, task, clock in rows]


def _log_entry(n: Notification, staff: Staff | None, task: Task | None,
               clock: SlaClock | None) -> dict[str, Any]:
    return {
        "id": n.id, "kind": n.kind, "channel": n.channel, "recipient": n.recipient,
        "status": n.status, "attempts": n.attempts, "last_error": n.last_error,
        "subject": n.subject, "body": n.body, "created_at": iso(n.created_at),
        "next_attempt_at": iso(n.next_attempt_at), "sent_at": iso(n.sent_at),
        "staff": ({"username": staff.username, "name": staff.full_name, "unit": staff.unit_code}
                  if staff else None),
        "task": {"id": task.id, "code": task.code} if task else None,
        "clock": {"id": clock.id, "kind": clock.kind, "unit": clock.unit_code} if clock else None,
    }
