"""Supervisor commands (reassign, release, take over, re-route) and releasing everything a staff
member holds when they can no longer work it. Same shape as ``hub.tasks.commands.TaskCommands.act``:
one transaction, the pure rule (``hub.domain.supervision``) decides, the optimistic version check
makes of two simultaneous supervisors exactly one win, history + outbox rows + clocks are written
together, after-commit hooks publish and schedule.

Every event written here can take a task away from a unit or a person: each is in
``channels.permissions.REAUTHORISE_ON``, so every hub process re-checks the ``task.<id>``
subscribers before the event goes out and drops those who may no longer see the task.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.domain import supervision as sv
from hub.domain import tasks as sm
from hub.errors import Conflict, InvalidInput, NotFound, Reason
from hub.models import Staff, Task, TaskEvent, Unit, utcnow
from hub.tasks.clocks import apply_clock_changes
from hub.tasks.commands import (
    CommandResult,
    TaskCommands,
    _record,
    _update_task,
    actor_of,
    state_of,
)
from hub.validation import require_text

_DONE = {"task.created": "registered", "task.reassigned": "reassigned", "task.released": "released",
         "task.taken_over": "taken over", "task.rerouted": "re-routed",
         "task.claimed": "claimed", "task.disposed": "disposed", "task.returned": "returned",
         "task.held": "put on hold", "task.resumed": "resumed", "task.completed": "completed",
         "task.resubmitted": "resubmitted"}


async def has_active_desk(session: AsyncSession, unit: str, role: str = "p2") -> bool:
    """Whether ``unit`` has an active desk of ``role`` (someone who could claim a task there)."""
    row = await session.exec(select(Staff.id).where(
        Staff.unit_code == unit, Staff.role == role, col(Staff.active).is_(True)).limit(1))
    return row.first() is not None


async def units_without_desk(session: AsyncSession) -> list[Unit]:
    """Active Eselon I units without an active P1 desk and Eselon II units without an active P2
    desk: a request routed there would wait for good (the admin page and ``ptsa check`` warn)."""
    staffed = set((await session.exec(select(Staff.unit_code, Staff.role).where(
        col(Staff.active).is_(True), col(Staff.role).in_(("p1", "p2"))).distinct())).all())
    units = await session.exec(select(Unit).where(
        col(Unit.active).is_(True), col(Unit.level).in_(("eselon1", "eselon2")))
        .order_by(col(Unit.level), col(Unit.code)))
    return [u for u in units.all()
            if (u.code, "p1" if u.level == "eselon1" else "p2") not in staffed]


async def require_staffed(session: AsyncSession, unit: str) -> None:
    """Disposition rule: never route a task where nobody can claim it."""
    if not await has_active_desk(session, unit):
        raise InvalidInput(sv.unstaffed_message(unit), field="unit", unit=unit,
                           reason=Reason.UNSTAFFED, params={"unit": unit})


async def supervise(commands: TaskCommands, actor: Staff, task_id: int,
                    action: sv.SupervisorAction, *, reason: Any, to: Any = None,
                    unit: Any = None, version: int | None = None,
                    scope: frozenset[str] = frozenset()) -> CommandResult:
    """Apply one supervisor action.

    Raises:
        NotFound, Forbidden, Conflict (409; when another change got there first, the message
        names who did what), InvalidInput (reason, ``to``, ``unit``).
    """
    extra: dict[str, Any] = {"reason": require_text("reason", reason, max_length=1000)}
    if action == sv.SupervisorAction.REASSIGN:
        extra["to"] = require_text("to", to, max_length=60).lower()
    if action == sv.SupervisorAction.REROUTE:
        extra["unit"] = require_text("unit", unit, max_length=40)
    async with commands.db.write() as session:
        task = await session.get(Task, task_id)
        if task is None:
            raise NotFound(f"task {task_id} does not exist")
        before = state_of(task)
        desk = None
        if "to" in extra:
            person = (await session.exec(select(Staff).where(
                Staff.username == extra["to"]))).first()
            desk = _desk(person) if person else None
        parent, staffed = None, True
        if "unit" in extra:
            target = await session.get(Unit, extra["unit"])
            parent = target.parent if target and target.level == "eselon2" else None
            staffed = await has_active_desk(session, extra["unit"])
        try:
            transition = sv.decide_supervision(
                before, action, actor_of(actor, scope), to=desk, target_unit=extra.get("unit"),
                target_parent=parent, target_staffed=staffed)
            if version is not None and version != task.version:
                raise Conflict(f"the task changed since you loaded it (your version {version}, "
                               f"now {task.version}); reload and try again",
                               code="stale_version", reason=Reason.STALE,
                               version=task.version)
            now = utcnow()
            await _update_task(session, task, before, transition.state, now, extra)
        except Conflict as exc:
            raise await _who_got_there_first(session, task_id, exc) from None
        result = await _apply(commands, session, task, before, transition, actor, now, extra)
    return await commands._finish(result)


async def release_all_held_by(commands: TaskCommands, staff: Staff, by: Staff | None,
                              why: str) -> int:
    """Release every open task ``staff`` holds back to its unit's queue (the pickup clock starts
    again), recorded as ``task.released`` by ``by`` (None: the staff member's own account, for
    changes made from the command line). Returns how many were released."""
    results: list[CommandResult] = []
    for attempt in range(3):  # a desk action racing with this one: read again and retry
        try:
            results = await _release_all(commands, staff, by, why)
            break
        except Conflict:
            if attempt == 2:
                raise
    for result in results:
        await commands._finish(result)
    return len(results)


async def _release_all(commands: TaskCommands, staff: Staff, by: Staff | None,
                       why: str) -> list[CommandResult]:
    results: list[CommandResult] = []
    async with commands.db.write() as session:
        rows = await session.exec(select(Task).where(
            Task.assignee_id == staff.id,
            col(Task.status).in_((sm.Status.CLAIMED.value, sm.Status.ON_HOLD.value))))
        for task in rows.all():
            before = state_of(task)
            transition = sv.release_transition(before)
            now = utcnow()
            extra = {"reason": why, "released": staff.username}
            await _update_task(session, task, before, transition.state, now, extra)
            results.append(await _apply(commands, session, task, before, transition,
                                        by or staff, now, extra))
    return results


async def _apply(commands: TaskCommands, session: AsyncSession, task: Task,
                 before: sm.TaskState, transition: sm.Transition, actor: Staff, now: datetime,
                 extra: dict[str, Any]) -> CommandResult:
    policy = await commands.policies.get(session)
    clocks = await apply_clock_changes(session, task, transition.clocks, now, policy)
    result = await _record(session, task, transition.event, actor, now, extra, before, clocks)
    return result


def _desk(person: Staff) -> sv.Desk:
    return sv.Desk(person.id or 0, sm.Role(person.role), person.unit_code, person.active,
                   f"{person.full_name} ({person.username})")


async def _who_got_there_first(session: AsyncSession, task_id: int, exc: Conflict) -> Conflict:
    """A refusal because the task changed: name the latest change, who made it and when, so two
    supervisors acting at once learn what the other one did."""
    if exc.code == "already_assigned":
        return exc
    row = (await session.exec(select(TaskEvent, Staff).outerjoin(
        Staff, col(Staff.id) == col(TaskEvent.actor_id)).where(
        TaskEvent.task_id == task_id, TaskEvent.type != "task.message").order_by(
        col(TaskEvent.id).desc()).limit(1))).first()
    if row is None:
        return exc
    event, who = row
    name = f"{who.full_name} ({who.username})" if who else "someone"
    what = _DONE.get(event.type, event.type)
    # Stated as the last change, not as the cause: the refusal may have other reasons too.
    return Conflict(f"{exc.message} (last change: {what} by {name} at "
                    f"{event.at.isoformat(timespec='seconds')})", code=exc.code,
                    reason=Reason.LAST_CHANGE, params={"who": name},
                    by=who.username if who else None, last_event=event.type,
                    at=event.at.isoformat())
