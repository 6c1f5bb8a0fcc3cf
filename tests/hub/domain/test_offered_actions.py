"""What a page or card offers is what the command takes: ``supervisor_actions`` against
``decide_supervision`` and ``desk_actions`` against ``decide``, over every status × level ×
role × unit (the actor's own or another) × holder (the actor, someone else, nobody) × scope
(with or without the holding unit, the Eselon I that routes, the whole hall).

An action offered is accepted given good input (an active desk of the holding unit other than
the holder; a staffed Eselon II unit under the same Eselon I); one not offered is refused with
403 or 409 whatever the input, never only for the input (a 422 would mean a hidden form that
would have worked). And a card, which knows only five facts of the situation
(``hub.domain.actions``), offers what the task page offers for the real task and viewer.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, partial
from itertools import product

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.domain.actions import card_actions
from hub.domain.supervision import (
    Desk,
    SupervisorAction,
    decide_supervision,
    may_supervise,
    supervisor_actions,
)
from hub.domain.tasks import (
    FRONT_OFFICE,
    Action,
    Actor,
    Level,
    Role,
    Status,
    TaskState,
    Transition,
    can_view,
    decide,
    desk_actions,
)
from hub.errors import Conflict, Forbidden, PtsaError

# One Eselon I ("e1") with two Eselon II units ("a", "b"), another Eselon I ("f1"), the hall.
ME, SOMEONE_ELSE, DESK = 7, 8, 9
# Where a task of each level sits and which Eselon II it names (set from the disposition on; a
# task returned to P1 keeps it). At P2, the other Eselon II is where a re-route goes.
SHAPES = {Level.P0: [(FRONT_OFFICE, None), (FRONT_OFFICE, "a")],
          Level.P1: [("e1", None), ("e1", "a")], Level.P2: [("a", "a"), ("b", "b")]}
OWN = ("same", "related", "unrelated")  # the actor's unit: the task's, its Eselon I or II, f1


def situation(status: Status, level: Level, shape: int, role: Role, own: str,
              assignee: int | None, holds_unit: bool, holds_eselon1: bool,
              hall: bool) -> tuple[TaskState, Actor]:
    unit, eselon2 = SHAPES[level][shape]
    task = TaskState(status, level, unit, "e1", eselon2, assignee)
    own_unit = {"same": unit, "related": "e1" if unit != "e1" else "a",
                "unrelated": "f1"}[own]
    scope = {u for u, held in ((unit, holds_unit), ("e1", holds_eselon1),
                               (FRONT_OFFICE, hall)) if held}
    return task, Actor(ME, role, own_unit, frozenset(scope))


DIMENSIONS = (list(Status), list(Level), [0, 1], list(Role), list(OWN),
              [None, ME, SOMEONE_ELSE], [False, True], [False, True], [False, True])
situations = st.tuples(*(st.sampled_from(d) for d in DIMENSIONS)).map(lambda d: situation(*d))
# Scope is a supervisor's only (an admin's reach is the whole hall, a desk's its unit): the other
# roles are walked with none, which keeps the walk to about a second.
EVERY_SITUATION = [situation(*d) for d in product(*DIMENSIONS)
                   if d[3] == Role.SUPERVISOR or not any(d[6:])]


_card_actions = cache(card_actions)  # 300 distinct situations of a card; each asked many times


def _sibling(task: TaskState) -> str:
    return "b" if task.unit == "a" else "a"


def _supervise(task: TaskState, action: SupervisorAction, actor: Actor,
               good_input: bool) -> Transition:
    if not good_input:
        return decide_supervision(task, action, actor, to=None, target_unit=None)
    desk = Desk(DESK, Role(task.level.value), task.unit, True, "another desk")
    return decide_supervision(task, action, actor, to=desk, target_unit=_sibling(task),
                              target_parent=task.eselon1, target_staffed=True)


def _refusal(decision: Callable[[], object]) -> type[PtsaError] | None:
    """The kind of error ``decision`` raises, or None when it is accepted."""
    try:
        decision()
    except PtsaError as exc:
        return type(exc)
    return None


def check_supervisor_actions(task: TaskState, actor: Actor) -> None:
    offered = supervisor_actions(task, actor)
    for action in SupervisorAction:
        with_input = _refusal(partial(_supervise, task, action, actor, good_input=True))
        if action in offered:
            assert with_input is None, (action, task, actor, with_input)
        else:
            without = _refusal(partial(_supervise, task, action, actor, good_input=False))
            assert with_input in (Forbidden, Conflict), (action, task, actor, with_input)
            assert without in (Forbidden, Conflict), (action, task, actor, without)


def check_desk_actions(task: TaskState, actor: Actor) -> None:
    offered = desk_actions(task, actor)
    for action in Action:
        with_input = _refusal(partial(decide, task, action, actor, target_unit=_sibling(task),
                                      target_parent=task.eselon1))
        if action in offered:
            assert with_input is None, (action, task, actor, with_input)
        else:
            without = _refusal(partial(decide, task, action, actor))
            assert with_input in (Forbidden, Conflict), (action, task, actor, with_input)
            assert without in (Forbidden, Conflict), (action, task, actor, without)


def check_card(task: TaskState, actor: Actor) -> None:
    """For a task the viewer sees, and (a supervisor) oversees with its routing — the cards'
    assumption: a supervisor's board holds only such cards."""
    if not can_view(task, actor) or (actor.role == Role.SUPERVISOR and not (
            may_supervise(task, actor) and may_supervise(task, actor, routing=True))):
        return
    page = {a.value for a in (*desk_actions(task, actor), *supervisor_actions(task, actor))}
    assert _card_actions(actor.role, task.status, task.level, same_unit=task.unit == actor.unit,
                        mine=task.assignee_id == actor.id) == page, (task, actor)


CHECKS = (check_supervisor_actions, check_desk_actions, check_card)


@settings(max_examples=300, deadline=None)
@given(situations)
def test_what_is_offered_is_what_the_command_takes(
        situation: tuple[TaskState, Actor]) -> None:
    """Hypothesis walks the situations (and shrinks a failure to its plainest case)."""
    for check in CHECKS:
        check(*situation)


def test_what_is_offered_is_what_the_command_takes_in_every_situation() -> None:
    """And every one of the few thousand is checked once, so no corner is left to chance."""
    assert len(EVERY_SITUATION) == 5 * 3 * 2 * 3 * 3 * (2 * 2 * 2 + 4)
    for situation_ in EVERY_SITUATION:
        for check in CHECKS:
            check(*situation_)


def test_the_hand_written_cases_read_as_expected() -> None:
    """Spot checks of the answer itself, so the properties above are not vacuous."""
    held = TaskState(Status.CLAIMED, Level.P2, "a", "e1", "a", SOMEONE_ELSE)
    spv_e1 = Actor(ME, Role.SUPERVISOR, "e1", frozenset({"e1", "a", "b"}))
    spv_a = Actor(ME, Role.SUPERVISOR, "a", frozenset({"a"}))
    admin = Actor(ME, Role.ADMIN, FRONT_OFFICE)
    assert supervisor_actions(held, spv_e1) == (
        SupervisorAction.REASSIGN, SupervisorAction.RELEASE, SupervisorAction.REROUTE)
    assert supervisor_actions(held, spv_a) == (
        SupervisorAction.REASSIGN, SupervisorAction.RELEASE, SupervisorAction.TAKEOVER)
    assert SupervisorAction.TAKEOVER not in supervisor_actions(
        TaskState(Status.CLAIMED, Level.P2, "a", "e1", "a", ME), spv_a)
    returned = TaskState(Status.RETURNED, Level.P0, FRONT_OFFICE, "e1", None, None)
    assert supervisor_actions(returned, admin) == ()
    assert desk_actions(returned, admin) == (Action.RESUBMIT, Action.MESSAGE)
    p2 = Actor(ME, Role.P2, "a")
    assert desk_actions(TaskState(Status.CLAIMED, Level.P2, "a", "e1", "a", ME), p2) == (
        Action.RETURN, Action.HOLD, Action.COMPLETE, Action.MESSAGE)
