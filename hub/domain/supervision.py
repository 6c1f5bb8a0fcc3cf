"""Supervisor actions on a task: reassign, release, take over, re-route. Pure: no I/O.

They exist so that no request can get stuck with nobody able to move it (a desk that claimed it
went home, was deactivated, or it sits at an Eselon II unit without desks). They sit beside the
desk actions of ``hub.domain.tasks`` and answer the same way: a ``Transition`` or a ``PtsaError``
saying why not::

    reassign   claimed/on_hold/queued at P1 or P2 ──► the named active desk of the holding unit
               (queued: it becomes claimed, so the pickup clock is met; on hold stays on hold)
    release    claimed/on_hold at P1 or P2 ──► queued at the same unit, nobody holding it; the
               level's pickup clock starts again from the release; a hold ends (SOP clock resumes)
    takeover   like reassign, to the supervisor themselves: only a supervisor whose own unit
               holds the task (they then work it as that unit's desk)
    reroute    queued/claimed/on_hold at P2 ──► queued at another Eselon II unit under the same
               Eselon I; the old unit's pickup clock is cancelled (if still running), the new
               unit's starts; a hold ends

Who: an administrator, or a supervisor whose scope covers the unit holding the task (for a
re-route, the Eselon I unit: routing is an Eselon I decision); the front-office supervisor
oversees the whole hall. Each action needs a reason (the command layer checks its text).

Which of them a given actor may take on a given task is ``supervisor_actions``: every page and
card asks it (never restates it), and it is read off ``check_supervision``, the first step of
``decide_supervision`` — so a form is offered exactly when the command would take it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from hub.domain.tasks import (
    FRONT_OFFICE,
    Actor,
    ClockChange,
    ClockKind,
    ClockOp,
    Level,
    Role,
    Status,
    TaskState,
    Transition,
    can_view,
    picked_up,
)
from hub.errors import Conflict, Forbidden, InvalidInput, Reason


class SupervisorAction(StrEnum):
    REASSIGN = "reassign"
    RELEASE = "release"
    TAKEOVER = "takeover"
    REROUTE = "reroute"


EVENTS = {SupervisorAction.REASSIGN: "task.reassigned", SupervisorAction.RELEASE: "task.released",
          SupervisorAction.TAKEOVER: "task.taken_over", SupervisorAction.REROUTE: "task.rerouted"}


@dataclass(frozen=True)
class Desk:
    """The staff member a task is reassigned to, as the caller found them."""
    id: int
    role: Role
    unit: str
    active: bool
    name: str


def may_supervise(task: TaskState, actor: Actor, *, routing: bool = False) -> bool:
    """Whether ``actor`` may use supervisor actions on ``task`` (``routing``: a re-route)."""
    if actor.role == Role.ADMIN:
        return True
    if actor.role != Role.SUPERVISOR:
        return False
    return oversees(actor.scope, (task.eselon1 if routing else task.unit,))


def oversees(scope: frozenset[str], units: tuple[str, ...] | list[str]) -> bool:
    """Whether a supervisor with ``scope`` oversees one of ``units``: the front office's
    supervisor oversees the whole hall."""
    return FRONT_OFFICE in scope or any(unit in scope for unit in units)


def check_supervision(task: TaskState, action: SupervisorAction, actor: Actor) -> None:
    """Raise why ``actor`` may not take ``action`` on ``task`` in its present state, whatever
    they would name (desk, unit); return if the action is open to them.

    This is the state-and-actor half of ``decide_supervision`` (which calls it first), so the
    buttons of ``supervisor_actions`` and the command cannot disagree on it. What is left to
    ``decide_supervision`` after it only judges the input (which desk, which unit: 422) or the
    input against the state (reassigning to the current holder: 409 ``already_assigned``).

    Raises:
        Forbidden (403), Conflict (409 task_closed / transition_not_allowed / already_assigned).
    """
    if not can_view(task, actor):
        raise Forbidden("this task belongs to another unit", reason=Reason.NOT_ALLOWED)
    # Refusal order as in hub.domain.tasks: the role (403), the state (409), then the scope
    # (403) — a supervisor who sees a closed or returned task is told why it cannot move.
    if actor.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise Forbidden(f"only a supervisor or an administrator may {action.value} a task; "
                        f"you are {actor.role.value}", reason=Reason.NOT_ALLOWED)
    if task.status == Status.COMPLETED:
        raise Conflict(f"the task is completed; {action.value} is no longer possible",
                       code="task_closed", reason=Reason.TASK_COMPLETED)
    if task.level == Level.P0:
        raise Conflict("the task was returned to the front office; the front office resubmits "
                       "it", code="transition_not_allowed", reason=Reason.WRONG_STATE)
    routing = action == SupervisorAction.REROUTE
    if not may_supervise(task, actor, routing=routing):
        unit = task.eselon1 if routing else task.unit
        raise Forbidden(f"unit '{unit}' is outside your supervision", reason=Reason.NOT_ALLOWED)
    if action == SupervisorAction.RELEASE:
        _require_held(task)
    elif action == SupervisorAction.REROUTE:
        _require_at_eselon2(task)
    elif action == SupervisorAction.TAKEOVER:
        if actor.role != Role.SUPERVISOR or actor.unit != task.unit:
            raise Forbidden(f"only a supervisor of unit '{task.unit}' may take this task over "
                            "(it is worked at that unit's desk); reassign it to a desk instead",
                            reason=Reason.NOT_ALLOWED)
        _require_not_holder(task, actor.id)


def supervisor_actions(task: TaskState, actor: Actor) -> tuple[SupervisorAction, ...]:
    """The supervisor actions open to ``actor`` on ``task``, in ``SupervisorAction`` order: the
    one answer the task page's forms, the cards' buttons (``hub.domain.actions``) and the
    browser's table ask. Each is one ``decide_supervision`` accepts given good input (an active
    desk of the unit other than the holder; a staffed sibling Eselon II unit), and every other
    one it refuses whatever the input (tests/hub/domain/test_offered_actions.py checks both)."""
    open_ = []
    for action in SupervisorAction:
        try:
            check_supervision(task, action, actor)
        except (Forbidden, Conflict):
            continue
        open_.append(action)
    return tuple(open_)


def decide_supervision(
    task: TaskState,
    action: SupervisorAction,
    actor: Actor,
    *,
    to: Desk | None = None,
    target_unit: str | None = None,
    target_parent: str | None = None,
    target_staffed: bool = True,
) -> Transition:
    """The transition a supervisor action makes, or why it is refused.

    Args:
        to: for REASSIGN, the desk named (None if no such username).
        target_unit, target_parent: for REROUTE, the unit and its Eselon I parent (None if the
            unit is unknown or not Eselon II).
        target_staffed: for REROUTE, whether the target unit has an active P2 desk.

    Raises:
        Forbidden (403), Conflict (409 task_closed / transition_not_allowed / already_assigned),
        InvalidInput (422, field ``to`` or ``unit``).
    """
    check_supervision(task, action, actor)
    if action == SupervisorAction.RELEASE:
        return _release(task)
    if action == SupervisorAction.REROUTE:
        return _reroute(task, target_unit, target_parent, target_staffed)
    if action == SupervisorAction.TAKEOVER:
        to = Desk(actor.id, Role.SUPERVISOR, actor.unit, True, "")
    return _reassign(task, to, action)


def _require_held(task: TaskState) -> None:
    if task.status not in (Status.CLAIMED, Status.ON_HOLD):
        raise Conflict(f"only a claimed task can be released; this one is {task.status.value}",
                       code="transition_not_allowed")


def _require_at_eselon2(task: TaskState) -> None:
    if task.level != Level.P2:
        raise Conflict("only a task disposed to an Eselon II unit can be re-routed; this one is "
                       f"at {task.level.value.upper()}", code="transition_not_allowed")


def _require_not_holder(task: TaskState, staff_id: int) -> None:
    if task.assignee_id == staff_id:
        raise Conflict("the task is already assigned to them", code="already_assigned",
                       reason=Reason.ALREADY_ASSIGNED)


def _reassign(task: TaskState, to: Desk | None, action: SupervisorAction) -> Transition:
    desk_role = Role(task.level.value)
    if action == SupervisorAction.REASSIGN:
        if to is None:
            raise InvalidInput("name the desk to reassign the task to (a username)", field="to",
                               reason=Reason.DESK_REQUIRED)
        if not to.active or to.role != desk_role or to.unit != task.unit:
            raise InvalidInput(f"{to.name or to.id} is not an active {desk_role.value.upper()} "
                               f"desk of unit '{task.unit}'", field="to",
                               reason=Reason.DESK_REQUIRED)
    assert to is not None
    _require_not_holder(task, to.id)
    status = Status.ON_HOLD if task.status == Status.ON_HOLD else Status.CLAIMED
    clocks: tuple[ClockChange, ...] = ()
    if task.status == Status.QUEUED:  # someone now holds it: that is the pickup
        clocks = picked_up(task)
    return Transition(EVENTS[action], replace(task, status=status, assignee_id=to.id), clocks)


def _release(task: TaskState) -> Transition:
    _require_held(task)
    clocks = [ClockChange(ClockOp.START, _pickup(task.level), task.unit)]
    if task.status == Status.ON_HOLD:
        clocks.insert(0, ClockChange(ClockOp.RESUME, ClockKind.RESOLUTION))
    if task.level == Level.P1:  # the next claim starts a new handling clock
        clocks.insert(0, ClockChange(ClockOp.CANCEL, ClockKind.P1_HANDLING))
    new = replace(task, status=Status.QUEUED, assignee_id=None)
    return Transition(EVENTS[SupervisorAction.RELEASE], new, tuple(clocks))


def _reroute(task: TaskState, target: str | None, parent: str | None,
             staffed: bool) -> Transition:
    _require_at_eselon2(task)
    if not target:
        raise InvalidInput("choose the Eselon II unit to re-route the task to", field="unit",
                           reason=Reason.ESELON2_REQUIRED)
    if parent != task.eselon1:
        raise InvalidInput(f"unit '{target}' is not an Eselon II unit under '{task.eselon1}'",
                           field="unit", reason=Reason.NOT_ESELON2_UNDER)
    if target == task.unit:
        raise InvalidInput(f"the task is already at unit '{target}'", field="unit")
    if not staffed:
        raise InvalidInput(unstaffed_message(target), field="unit", unit=target,
                           reason=Reason.UNSTAFFED, params={"unit": target})
    clocks = []
    if task.status == Status.QUEUED:
        clocks.append(ClockChange(ClockOp.CANCEL, ClockKind.P2_PICKUP))
    if task.status == Status.ON_HOLD:
        clocks.append(ClockChange(ClockOp.RESUME, ClockKind.RESOLUTION))
    clocks.append(ClockChange(ClockOp.START, ClockKind.P2_PICKUP, target))
    new = TaskState(Status.QUEUED, Level.P2, target, task.eselon1, target, None)
    return Transition(EVENTS[SupervisorAction.REROUTE], new, tuple(clocks))


def release_transition(task: TaskState) -> Transition:
    """Release without an actor check: for the system, when the holder can no longer work it
    (deactivated, moved to another unit or role)."""
    return _release(task)


def unstaffed_message(unit: str) -> str:
    """Why a task may not be routed to ``unit`` (shared by disposition and re-route)."""
    return (f"unit '{unit}' has no active P2 desk, so nobody could claim the task there; "
            "choose another unit or ask an administrator to add a desk")


def _pickup(level: Level) -> ClockKind:
    return ClockKind.P1_PICKUP if level == Level.P1 else ClockKind.P2_PICKUP
