"""What the boards show, read from the database: the same cards ``GET /api/v1/tasks`` returns
(``hub.tasks.serializers.task_summary``), so a card drawn by the server and one drawn by the live JS
from an event or a reload are built from the same fields."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.auth.principal import Principal
from hub.domain.visibility import visible_tasks
from hub.models import Service, Staff, Task, Unit, utcnow
from hub.tasks.serializers import running_pickup_dues, task_summary

OPEN_STATUSES = ("queued", "claimed", "on_hold", "returned")
DESK_STATUSES = ("queued", "claimed", "on_hold")
BOARD_LIMIT = 500


def start_of_today(tz: Any) -> datetime:
    return datetime.combine(utcnow().astimezone(tz).date(), time.min, tzinfo=tz)


async def _cards(session: AsyncSession, query: Any) -> list[dict[str, Any]]:
    tasks = (await session.exec(query.order_by(col(Task.id).desc()).limit(BOARD_LIMIT))).all()
    dues = await running_pickup_dues(session, [t.id or 0 for t in tasks])
    return [await task_summary(session, t, dues.get(t.id or 0)) for t in tasks]


async def desk_cards(session: AsyncSession, principal: Principal) -> list[dict[str, Any]]:
    """A P1/P2 desk: its unit's queue and the tasks its staff hold (the JS keeps the caller's)."""
    level = principal.role
    return await _cards(session, select(Task).where(
        Task.level == level, Task.unit_code == principal.unit,
        col(Task.status).in_(DESK_STATUSES)))


async def front_office_cards(session: AsyncSession, tz: Any) -> list[dict[str, Any]]:
    """The front office: today's requests, and any returned request waiting to be resubmitted."""
    return await _cards(session, select(Task).where(or_(
        col(Task.created_at) >= start_of_today(tz), col(Task.status) == "returned")))


async def open_cards(session: AsyncSession, principal: Principal) -> list[dict[str, Any]]:
    """A supervisor: every open task in scope."""
    return await _cards(session, select(Task).where(
        visible_tasks(principal), col(Task.status).in_(OPEN_STATUSES)))


async def active_services(session: AsyncSession) -> list[Service]:
    rows = await session.exec(select(Service).where(col(Service.active).is_(True))
                              .order_by(col(Service.eselon1), col(Service.name)))
    return list(rows.all())


async def units_by_code(session: AsyncSession) -> dict[str, Unit]:
    return {u.code: u for u in (await session.exec(select(Unit))).all()}


async def eselon2_under(session: AsyncSession, eselon1: str) -> list[Unit]:
    rows = await session.exec(select(Unit).where(Unit.parent == eselon1,
                                                 col(Unit.active).is_(True))
                              .order_by(col(Unit.name)))
    return list(rows.all())


async def staffed_units(session: AsyncSession, role: str) -> set[str]:
    """Units with at least one active desk of ``role``: where a task may be routed."""
    rows = await session.exec(select(Staff.unit_code).where(
        Staff.role == role, col(Staff.active).is_(True)).distinct())
    return set(rows.all())


async def active_desks(session: AsyncSession, unit: str, level: str) -> list[Staff]:
    """The active desks of ``unit`` at ``level`` (p1/p2): whom a supervisor may reassign to."""
    rows = await session.exec(select(Staff).where(
        Staff.unit_code == unit, Staff.role == level, col(Staff.active).is_(True))
        .order_by(col(Staff.full_name)))
    return list(rows.all())
