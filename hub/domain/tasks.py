"""The task state machine: which actor may do what to a task in which state. Pure: no I/O.

A task lives at a *level* (the desk that holds it) in a *status*::

    register (P0) ──► p1/queued ──claim──► p1/claimed ──dispose──► p2/queued ──claim──► p2/claimed
                        ▲   │                  │                     │                    │
                        │   └──return──► p0/returned ◄──return──┘    │ ◄──return (to P1) ─┘
                        └─────resubmit──────┘                        │
    claimed ◄─resume── on_hold ◄─hold── claimed           p2/claimed ──complete──► completed

``decide`` answers one question: given the task, the actor and the action, what changes? It returns
a ``Transition`` (new state, the event to record, and the SLA clocks to start, meet, pause, resume
or cancel) or raises a ``PtsaError`` whose message says why not. The service layer applies the
transition in one database transaction with an optimistic version check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum

from hub.errors import Conflict, Forbidden, InvalidInput, Reason

FRONT_OFFICE = "ptsa"


class Status(StrEnum):
    QUEUED = "queued"  # waiting to be claimed at its level (antre)
    CLAIMED = "claimed"  # someone at its level is working on it (diproses)
    ON_HOLD = "on_hold"  # waiting for the applicant (berkas tidak lengkap)
    RETURNED = "returned"  # sent back to the front office (dikembalikan)
    COMPLETED = "completed"  # selesai


class Level(StrEnum):
    P0 = "p0"
    P1 = "p1"
    P2 = "p2"


class Role(StrEnum):
    P0 = "p0"
    P1 = "p1"
    P2 = "p2"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Action(StrEnum):
    CLAIM = "claim"
    DISPOSE = "dispose"
    RETURN = "return"
    HOLD = "hold"
    RESUME = "resume"
    COMPLETE = "complete"
    RESUBMIT = "resubmit"
    MESSAGE = "message"


class ClockKind(StrEnum):
    P1_PICKUP = "p1_pickup"
    P2_PICKUP = "p2_pickup"
    RESOLUTION = "resolution"
    P1_HANDLING = "p1_handling"  # from the P1 claim to the disposition (or return)


class ClockState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"  # while the task is on hold
    MET = "met"
    CANCELLED = "cancelled"


OPEN_CLOCKS = (ClockState.RUNNING.value, ClockState.PAUSED.value)  # SQL ``IN`` list


class ClockOp(StrEnum):
    START = "start"
    MEET = "meet"
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"


@dataclass(frozen=True)
class ClockChange:
    op: ClockOp
    kind: ClockKind
    unit: str | None = None  # for START: the unit whose KPI the clock counts towards


@dataclass(frozen=True)
class TaskState:
    status: Status
    level: Level
    unit: str  # the unit holding the task: front office, an Eselon I or an Eselon II code
    eselon1: str
    eselon2: str | None
    assignee_id: int | None


@dataclass(frozen=True)
class Actor:
    id: int
    role: Role
    unit: str
    # For supervisors: the units they oversee (their own and the ones under it).
    scope: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Transition:
    event: str  # task.claimed, task.disposed, ...
    state: TaskState
    clocks: tuple[ClockChange, ...] = field(default_factory=tuple)


_LEVEL_OF_ROLE = {Role.P1: Level.P1, Role.P2: Level.P2}


def check_may_register(role: Role) -> None:
    """Registering is the front office's job (an admin may stand in)."""
    if role not in (Role.P0, Role.ADMIN):
        raise Forbidden(f"only front-office staff (P0) register requests; you are {role}")


def register(service_eselon1: str, actor: Actor) -> Transition:
    """A P0 registers a request: it joins the P1 queue of the service's Eselon I unit."""
    check_may_register(actor.role)
    state = TaskState(Status.QUEUED, Level.P1, service_eselon1, service_eselon1, None, None)
    return Transition("task.created", state, (
        ClockChange(ClockOp.START, ClockKind.P1_PICKUP, service_eselon1),
        ClockChange(ClockOp.START, ClockKind.RESOLUTION, service_eselon1),
    ))


def can_view(task: TaskState, actor: Actor) -> bool:
    """Who may see a task (its page, its channel, its messages)."""
    if actor.role in (Role.ADMIN, Role.P0):
        return True
    if actor.role == Role.P1:
        return actor.unit == task.eselon1
    if actor.role == Role.P2:
        return task.eselon2 is not None and actor.unit == task.eselon2
    if actor.role == Role.SUPERVISOR:
        return FRONT_OFFICE in actor.scope or bool(
            {task.eselon1, task.eselon2, task.unit} & actor.scope
        )
    return False


def decide(
    task: TaskState,
    action: Action,
    actor: Actor,
    *,
    target_unit: str | None = None,
    target_parent: str | None = None,
) -> Transition:
    """The transition ``action`` by ``actor`` makes, or the reason it is refused.

    Args:
        target_unit: for DISPOSE, the Eselon II unit the task is routed to.
        target_parent: that unit's Eselon I parent (the caller looks it up), or None if the unit
            is unknown or not an Eselon II unit.

    Raises:
        Forbidden: the actor's role or unit may not do this.
        Conflict: the task is not in a state that allows it (e.g. already claimed).
        InvalidInput: the disposition target is not an Eselon II unit under the task's Eselon I.
    """
    if not can_view(task, actor):
        raise Forbidden("this task belongs to another unit", reason=Reason.NOT_ALLOWED)
    if actor.role == Role.SUPERVISOR and task.assignee_id == actor.id and actor.unit == task.unit:
        # A supervisor who took the task over (hub.domain.supervision) works it as the desk.
        actor = replace(actor, role=Role(task.level.value))
    if action == Action.MESSAGE:
        if task.status == Status.COMPLETED:
            raise Conflict("the task is completed; its thread is closed", code="task_closed",
                           reason=Reason.TASK_COMPLETED)
        return Transition("task.message", task)
    if task.status == Status.COMPLETED:
        raise Conflict(f"the task is completed; {action} is no longer possible",
                       code="task_closed", reason=Reason.TASK_COMPLETED)
    # Refusals go from the most permanent reason to the most passing one: the role never does
    # this (403), it is not your desk (403), not in this state (409), someone else claimed it
    # (403), bad input (422). So "claim it first" is a 409, not a misleading "only the one who
    # claimed it may", and a P0 asking to hold gets "P0 does not hold tasks", not a level riddle.
    allowed = _ROLES_FOR[action]
    if actor.role not in allowed:
        raise Forbidden(f"{_ROLE_NAMES[actor.role]} may not {_VERBS[action]} a task; "
                        f"that is done by {' or '.join(_ROLE_NAMES[r] for r in allowed)}",
                        reason=Reason.NOT_ALLOWED)
    handler = _HANDLERS[action]
    return handler(task, actor, target_unit, target_parent)


def desk_actions(task: TaskState, actor: Actor) -> tuple[Action, ...]:
    """The desk actions open to ``actor`` on ``task``, in ``Action`` order: those ``decide``
    allows, or refuses only for missing input (the disposition's unit, which the form asks).
    The one answer the task page's forms, the cards' buttons (``hub.domain.actions``) and the
    browser's table ask; read off ``decide`` itself, so they cannot disagree with it (and
    tests/hub/domain/test_offered_actions.py checks that good input is then accepted)."""
    open_ = []
    for action in Action:
        try:
            decide(task, action, actor)
        except InvalidInput:
            pass  # open to the actor; the form asks for what is missing
        except (Forbidden, Conflict):
            continue
        open_.append(action)
    return tuple(open_)


def _require_desk(task: TaskState, actor: Actor, verb: str) -> None:
    """The actor works at the desk level and unit currently holding the task."""
    if _LEVEL_OF_ROLE.get(actor.role) != task.level or actor.unit != task.unit:
        raise Forbidden(f"only {task.level.upper()} staff of unit '{task.unit}' may {verb} this "
                        f"task (you are {actor.role} of '{actor.unit}')",
                        reason=Reason.NOT_ALLOWED)


def _require_assignee(task: TaskState, actor: Actor, verb: str) -> None:
    if task.assignee_id != actor.id:
        raise Forbidden(f"only the staff member who claimed the task may {verb} it",
                        code="not_assignee", reason=Reason.NOT_ALLOWED)


def _require_status(task: TaskState, action: Action, *allowed: Status) -> None:
    if task.status not in allowed:
        if action == Action.CLAIM and task.status == Status.CLAIMED:
            raise Conflict("the task is already claimed", code="already_claimed",
                           reason=Reason.ALREADY_CLAIMED)
        wanted = " or ".join(s.value for s in allowed)
        raise Conflict(f"cannot {_VERBS[action]} a task that is {task.status.value} at "
                       f"{task.level.value}; it must be {wanted}", code="transition_not_allowed",
                       reason=Reason.WRONG_STATE)


def _require_not_returned(task: TaskState, action: Action) -> None:
    if task.level == Level.P0:
        raise Conflict(f"the task was returned to the front office; it cannot be "
                       f"{_DONE[action]} until the front office resubmits it",
                       code="transition_not_allowed", reason=Reason.WRONG_STATE)


def _claim(task: TaskState, actor: Actor, *_: object) -> Transition:
    _require_not_returned(task, Action.CLAIM)
    _require_desk(task, actor, "claim")
    _require_status(task, Action.CLAIM, Status.QUEUED)
    new = replace(task, status=Status.CLAIMED, assignee_id=actor.id)
    return Transition("task.claimed", new, picked_up(task))


def picked_up(task: TaskState) -> tuple[ClockChange, ...]:
    """A queued task gets a holder: its pickup clock is met, and at P1 the handling clock
    starts, so a desk cannot meet the pickup by claiming and then sit on the request."""
    if task.level == Level.P1:
        return (ClockChange(ClockOp.MEET, ClockKind.P1_PICKUP),
                ClockChange(ClockOp.START, ClockKind.P1_HANDLING, task.unit))
    return (ClockChange(ClockOp.MEET, ClockKind.P2_PICKUP),)


def _dispose(task: TaskState, actor: Actor, target: str | None, parent: str | None) -> Transition:
    if task.level != Level.P1:
        raise Conflict(f"only a task at P1 can be disposed to an Eselon II unit; this one is at "
                       f"{task.level.upper()}", code="transition_not_allowed",
                       reason=Reason.WRONG_STATE)
    _require_desk(task, actor, "dispose")
    _require_status(task, Action.DISPOSE, Status.CLAIMED)
    _require_assignee(task, actor, "dispose")
    if not target:
        raise InvalidInput("choose the Eselon II unit to dispose the task to", field="unit",
                           reason=Reason.ESELON2_REQUIRED)
    if parent != task.eselon1:
        raise InvalidInput(f"unit '{target}' is not an Eselon II unit under '{task.eselon1}'",
                           field="unit", reason=Reason.NOT_ESELON2_UNDER)
    new = TaskState(Status.QUEUED, Level.P2, target, task.eselon1, target, None)
    return Transition("task.disposed", new,
                      (ClockChange(ClockOp.MEET, ClockKind.P1_HANDLING),
                       ClockChange(ClockOp.START, ClockKind.P2_PICKUP, target)))


def _return(task: TaskState, actor: Actor, *_: object) -> Transition:
    _require_not_returned(task, Action.RETURN)
    _require_desk(task, actor, "return")
    _require_status(task, Action.RETURN, Status.QUEUED, Status.CLAIMED)
    if task.status == Status.CLAIMED:
        _require_assignee(task, actor, "return")
    if task.level == Level.P2:
        # Back to the Eselon I desk, which gets a fresh pickup clock of its own.
        new = TaskState(Status.QUEUED, Level.P1, task.eselon1, task.eselon1, task.eselon2, None)
        clocks = [ClockChange(ClockOp.START, ClockKind.P1_PICKUP, task.eselon1)]
        if task.status == Status.QUEUED:
            clocks.insert(0, ClockChange(ClockOp.CANCEL, ClockKind.P2_PICKUP))
        return Transition("task.returned", new, tuple(clocks))
    # P1 sends it back to the front office: the applicant must act, so the SOP clock pauses.
    new = TaskState(Status.RETURNED, Level.P0, FRONT_OFFICE, task.eselon1, task.eselon2, None)
    clocks = [ClockChange(ClockOp.PAUSE, ClockKind.RESOLUTION)]
    if task.status == Status.QUEUED:
        clocks.insert(0, ClockChange(ClockOp.CANCEL, ClockKind.P1_PICKUP))
    else:  # sending it back is how this desk finished handling it
        clocks.insert(0, ClockChange(ClockOp.MEET, ClockKind.P1_HANDLING))
    return Transition("task.returned", new, tuple(clocks))


def _resubmit(task: TaskState, actor: Actor, *_: object) -> Transition:
    _require_status(task, Action.RESUBMIT, Status.RETURNED)
    new = TaskState(Status.QUEUED, Level.P1, task.eselon1, task.eselon1, task.eselon2, None)
    return Transition("task.resubmitted", new, (
        ClockChange(ClockOp.RESUME, ClockKind.RESOLUTION),
        ClockChange(ClockOp.START, ClockKind.P1_PICKUP, task.eselon1),
    ))


def _hold(task: TaskState, actor: Actor, *_: object) -> Transition:
    _require_not_returned(task, Action.HOLD)
    _require_desk(task, actor, "put on hold")
    _require_status(task, Action.HOLD, Status.CLAIMED)
    _require_assignee(task, actor, "put on hold")
    return Transition("task.held", replace(task, status=Status.ON_HOLD),
                      (ClockChange(ClockOp.PAUSE, ClockKind.RESOLUTION), *_handling(task,
                                                                                 ClockOp.PAUSE)))


def _resume(task: TaskState, actor: Actor, *_: object) -> Transition:
    _require_not_returned(task, Action.RESUME)
    _require_desk(task, actor, "resume")
    _require_status(task, Action.RESUME, Status.ON_HOLD)
    _require_assignee(task, actor, "resume")
    return Transition("task.resumed", replace(task, status=Status.CLAIMED),
                      (ClockChange(ClockOp.RESUME, ClockKind.RESOLUTION), *_handling(task,
                                                                                  ClockOp.RESUME)))


def _handling(task: TaskState, op: ClockOp) -> tuple[ClockChange, ...]:
    """A hold at P1 (waiting for the applicant) pauses the P1 handling clock too."""
    return (ClockChange(op, ClockKind.P1_HANDLING),) if task.level == Level.P1 else ()


def _complete(task: TaskState, actor: Actor, *_: object) -> Transition:
    if task.level != Level.P2:
        raise Conflict(f"a task is completed at its Eselon II desk (P2); this one is at "
                       f"{task.level.upper()}", code="transition_not_allowed",
                       reason=Reason.WRONG_STATE)
    _require_desk(task, actor, "complete")
    _require_status(task, Action.COMPLETE, Status.CLAIMED)
    _require_assignee(task, actor, "complete")
    return Transition("task.completed", replace(task, status=Status.COMPLETED),
                      (ClockChange(ClockOp.MEET, ClockKind.RESOLUTION),))


# Which roles ever perform each action (MESSAGE: anyone who may see the task).
_ROLES_FOR: dict[Action, tuple[Role, ...]] = {
    Action.CLAIM: (Role.P1, Role.P2),
    Action.DISPOSE: (Role.P1,),
    Action.RETURN: (Role.P1, Role.P2),
    Action.HOLD: (Role.P1, Role.P2),
    Action.RESUME: (Role.P1, Role.P2),
    Action.COMPLETE: (Role.P2,),
    Action.RESUBMIT: (Role.P0, Role.ADMIN),
}
_ROLE_NAMES = {Role.P0: "front-office staff (P0)", Role.P1: "Eselon I desk staff (P1)",
               Role.P2: "Eselon II desk staff (P2)", Role.SUPERVISOR: "a supervisor",
               Role.ADMIN: "an administrator"}
_VERBS = {Action.CLAIM: "claim", Action.DISPOSE: "dispose", Action.RETURN: "return",
          Action.HOLD: "put on hold", Action.RESUME: "resume", Action.COMPLETE: "complete",
          Action.RESUBMIT: "resubmit", Action.MESSAGE: "message"}
_DONE = {Action.CLAIM: "claimed", Action.DISPOSE: "disposed", Action.RETURN: "returned",
         Action.HOLD: "put on hold", Action.RESUME: "resumed", Action.COMPLETE: "completed",
         Action.RESUBMIT: "resubmitted", Action.MESSAGE: "messaged"}


_Handler = Callable[[TaskState, Actor, str | None, str | None], Transition]
_HANDLERS: dict[Action, _Handler] = {
    Action.CLAIM: _claim,
    Action.DISPOSE: _dispose,
    Action.RETURN: _return,
    Action.RESUBMIT: _resubmit,
    Action.HOLD: _hold,
    Action.RESUME: _resume,
    Action.COMPLETE: _complete,
}
