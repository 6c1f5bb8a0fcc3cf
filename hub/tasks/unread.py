"""Unread messages per staff member, kept in the database so every PC they use agrees.

A message on a task counts as unread for everyone taking part in it except its author: who holds
it, who registered it, who acted on it or wrote on it before. Each of them hears
``message.unread`` on their ``user.<username>`` channel (with the task's count and their total);
opening the task page clears that task's count and sends ``message.read`` the same way, so the
badge goes on the other PCs too. Both are written to the outbox in the same transaction as the
change (docs/PROTOCOL.md).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, text, union
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from channels import names
from channels.outbox import add_outbox_rows
from hub.models import Staff, Task, TaskEvent, TaskMessage, UnreadMessages

UNREAD = "message.unread"
READ = "message.read"
EXCERPT = 140


async def participants(session: AsyncSession, task: Task) -> list[Staff]:
    """Everyone who has held, registered, acted on or written on ``task`` (active staff)."""
    ids: Any = union(select(TaskEvent.actor_id).where(col(TaskEvent.task_id) == task.id),
                select(TaskMessage.author_id).where(col(TaskMessage.task_id) == task.id))
    wanted = {row for row in (await session.exec(ids)).scalars() if row}  # type: ignore[call-overload]
    wanted |= {i for i in (task.assignee_id, task.created_by) if i}
    if not wanted:
        return []
    rows = await session.exec(select(Staff).where(col(Staff.id).in_(wanted),
                                                  col(Staff.active).is_(True)))
    return list(rows.all())


async def total(session: AsyncSession, staff_id: int) -> int:
    value = await session.exec(select(func.coalesce(func.sum(UnreadMessages.count), 0))
                               .where(col(UnreadMessages.staff_id) == staff_id))
    return int(value.one())


async def note_message(session: AsyncSession, task: Task, author: Staff, body: str,
                       now: datetime) -> list[str]:
    """Count a new message as unread for the task's other participants and tell them. Returns
    the ids of the ``message.unread`` events written, to go out with the message's own."""
    connection = await session.connection()
    event_ids: list[str] = []
    for staff in await participants(session, task):
        if staff.id == author.id:
            continue
        # One upsert: two messages at once both count, on either engine.
        row = await connection.execute(text(
            "INSERT INTO unread_messages (staff_id, task_id, count, last_message_at) "
            "VALUES (:staff, :task, 1, :at) ON CONFLICT (staff_id, task_id) DO UPDATE SET "
            "count = unread_messages.count + 1, last_message_at = :at RETURNING count"
        ).bindparams(staff=staff.id, task=task.id, at=now.replace(tzinfo=None)))
        count = int(row.scalar_one())
        payload: dict[str, Any] = {
            "task": {"id": task.id, "code": task.code}, "count": count,
            "total": await total(session, staff.id or 0),
            "from": {"username": author.username, "name": author.full_name},
            "excerpt": body if len(body) <= EXCERPT else body[:EXCERPT - 1] + "…",
        }
        event_ids.append(uuid.uuid4().hex)
        await add_outbox_rows(session, event_ids[-1], UNREAD, now, payload,
                              [names.user(staff.username)])
    return event_ids


async def unread_of(session: AsyncSession, staff_id: int) -> dict[int, int]:
    """Task id → unread messages, for one staff member."""
    rows = await session.exec(select(UnreadMessages).where(
        col(UnreadMessages.staff_id) == staff_id, col(UnreadMessages.count) > 0))
    return {r.task_id: r.count for r in rows.all()}


async def mark_read(session: AsyncSession, staff: Staff, task: Task,
                    now: datetime) -> str | None:
    """Clear the staff member's unread count on ``task``; the event id of the ``message.read``
    written to the outbox, or None when nothing was unread."""
    outcome = await session.exec(delete(UnreadMessages).where(  # type: ignore[call-overload]
        col(UnreadMessages.staff_id) == staff.id, col(UnreadMessages.task_id) == task.id))
    if not outcome.rowcount:
        return None
    event_id = uuid.uuid4().hex
    payload = {"task": {"id": task.id, "code": task.code},
               "total": await total(session, staff.id or 0)}
    await add_outbox_rows(session, event_id, READ, now, payload, [names.user(staff.username)])
    return event_id
