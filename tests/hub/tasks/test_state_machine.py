"""The pure task state machine, checked against an explicit table of every (state, action, role).

The expectations below are written by hand from the product rules (issue 2, README), not
recomputed from hub/domain/tasks.py, so a change of rule shows up here as a failing cell.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from hub.domain.tasks import (
    FRONT_OFFICE,
    Action,
    Actor,
    ClockChange,
    ClockKind,
    ClockOp,
    Level,
    Role,
    Status,
    TaskState,
    can_view,
    decide,
    register,
)
from hub.errors import Conflict, Forbidden, InvalidInput, PtsaError

# The task belongs to service data-informasi: Eselon I barenbang, Eselon II pusdatin.
P1_ASSIGNEE, P2_ASSIGNEE = 10, 30
SUPERVISOR_SCOPE = frozenset({"barenbang", "pusdatin", "pusrenaker", "puslitbang"})
ACTORS = {
    "p0": Actor(1, Role.P0, FRONT_OFFICE),
    "p1": Actor(11, Role.P1, "barenbang"),  # same unit, not the assignee
    "p1x": Actor(20, Role.P1, "binapenta"),  # another Eselon I
    "p2": Actor(31, Role.P2, "pusdatin"),  # same unit, not the assignee
    "p2x": Actor(40, Role.P2, "pusrenaker"),  # a sibling Eselon II under the same Eselon I
    "spv": Actor(50, Role.SUPERVISOR, "barenbang", SUPERVISOR_SCOPE),
    "spvx": Actor(60, Role.SUPERVISOR, "binapenta", frozenset({"binapenta", "ptkln"})),
    "adm": Actor(99, Role.ADMIN, "ptsa"),
}
ASSIGNEES = {
    Level.P1: Actor(P1_ASSIGNEE, Role.P1, "barenbang"),
    Level.P2: Actor(P2_ASSIGNEE, Role.P2, "pusdatin"),
}


def _state(status: Status, level: Level, eselon2: str | None = None,
           assignee: int | None = None) -> TaskState:
    unit = {Level.P0: FRONT_OFFICE, Level.P1: "barenbang", Level.P2: eselon2 or "?"}[level]
    return TaskState(status, level, unit, "barenbang", eselon2, assignee)


STATES = {
    "p1/queued": _state(Status.QUEUED, Level.P1),
    "p1/claimed": _state(Status.CLAIMED, Level.P1, assignee=P1_ASSIGNEE),
    "p1/on_hold": _state(Status.ON_HOLD, Level.P1, assignee=P1_ASSIGNEE),
    # Back at P1 after the Eselon II desk returned it: that P2 unit may still see it.
    "p1/queued+": _state(Status.QUEUED, Level.P1, eselon2="pusdatin"),
    "p2/queued": _state(Status.QUEUED, Level.P2, "pusdatin"),
    "p2/claimed": _state(Status.CLAIMED, Level.P2, "pusdatin", P2_ASSIGNEE),
    "p2/on_hold": _state(Status.ON_HOLD, Level.P2, "pusdatin", P2_ASSIGNEE),
    "p0/returned": _state(Status.RETURNED, Level.P0),
    "completed": _state(Status.COMPLETED, Level.P2, "pusdatin", P2_ASSIGNEE),
}

# Cells: 403 Forbidden · 403a Forbidden not_assignee · 409 Conflict transition_not_allowed ·
# 409c Conflict already_claimed · 409x Conflict task_closed · = allowed, state unchanged ·
# <level>/<status> or "completed": allowed, the new state · - no such actor (nobody claimed it).
# Columns: p0 · p1 (same unit, not the assignee) · p1x (other Eselon I) · p2 (same unit, not the
# assignee) · p2x (other Eselon II) · asg (the assignee) · spv (supervisor of barenbang) · spvx
# (supervisor elsewhere) · adm.
TABLE = """
state       action   p0        p1          p1x p2         p2x asg         spv  spvx adm
p1/queued   claim    403       p1/claimed  403 403        403 -           403  403  403
p1/queued   dispose  403       409         403 403        403 -           403  403  403
p1/queued   return   403       p0/returned 403 403        403 -           403  403  403
p1/queued   hold     403       409         403 403        403 -           403  403  403
p1/queued   resume   403       409         403 403        403 -           403  403  403
p1/queued   complete 403       403         403 403        403 -           403  403  403
p1/queued   resubmit 409       403         403 403        403 -           403  403  409
p1/queued   message  =         =           403 403        403 -           =    403  =
p1/claimed  claim    403       409c        403 403        403 409c        403  403  403
p1/claimed  dispose  403       403a        403 403        403 p2/queued   403  403  403
p1/claimed  return   403       403a        403 403        403 p0/returned 403  403  403
p1/claimed  hold     403       403a        403 403        403 p1/on_hold  403  403  403
p1/claimed  resume   403       409         403 403        403 409         403  403  403
p1/claimed  complete 403       403         403 403        403 403         403  403  403
p1/claimed  resubmit 409       403         403 403        403 403         403  403  409
p1/claimed  message  =         =           403 403        403 =           =    403  =
p1/on_hold  claim    403       409         403 403        403 409         403  403  403
p1/on_hold  dispose  403       409         403 403        403 409         403  403  403
p1/on_hold  return   403       409         403 403        403 409         403  403  403
p1/on_hold  hold     403       409         403 403        403 409         403  403  403
p1/on_hold  resume   403       403a        403 403        403 p1/claimed  403  403  403
p1/on_hold  complete 403       403         403 403        403 403         403  403  403
p1/on_hold  resubmit 409       403         403 403        403 403         403  403  409
p1/on_hold  message  =         =           403 403        403 =           =    403  =
p1/queued+  claim    403       p1/claimed  403 403        403 -           403  403  403
p1/queued+  dispose  403       409         403 403        403 -           403  403  403
p1/queued+  return   403       p0/returned 403 403        403 -           403  403  403
p1/queued+  hold     403       409         403 403        403 -           403  403  403
p1/queued+  resume   403       409         403 403        403 -           403  403  403
p1/queued+  complete 403       403         403 409        403 -           403  403  403
p1/queued+  resubmit 409       403         403 403        403 -           403  403  409
p1/queued+  message  =         =           403 =          403 -           =    403  =
p2/queued   claim    403       403         403 p2/claimed 403 -           403  403  403
p2/queued   dispose  403       409         403 403        403 -           403  403  403
p2/queued   return   403       403         403 p1/queued  403 -           403  403  403
p2/queued   hold     403       403         403 409        403 -           403  403  403
p2/queued   resume   403       403         403 409        403 -           403  403  403
p2/queued   complete 403       403         403 409        403 -           403  403  403
p2/queued   resubmit 409       403         403 403        403 -           403  403  409
p2/queued   message  =         =           403 =          403 -           =    403  =
p2/claimed  claim    403       403         403 409c       403 409c        403  403  403
p2/claimed  dispose  403       409         403 403        403 403         403  403  403
p2/claimed  return   403       403         403 403a       403 p1/queued   403  403  403
p2/claimed  hold     403       403         403 403a       403 p2/on_hold  403  403  403
p2/claimed  resume   403       403         403 409        403 409         403  403  403
p2/claimed  complete 403       403         403 403a       403 completed   403  403  403
p2/claimed  resubmit 409       403         403 403        403 403         403  403  409
p2/claimed  message  =         =           403 =          403 =           =    403  =
p2/on_hold  claim    403       403         403 409        403 409         403  403  403
p2/on_hold  dispose  403       409         403 403        403 403         403  403  403
p2/on_hold  return   403       403         403 409        403 409         403  403  403
p2/on_hold  hold     403       403         403 409        403 409         403  403  403
p2/on_hold  resume   403       403         403 403a       403 p2/claimed  403  403  403
p2/on_hold  complete 403       403         403 409        403 409         403  403  403
p2/on_hold  resubmit 409       403         403 403        403 403         403  403  409
p2/on_hold  message  =         =           403 =          403 =           =    403  =
p0/returned claim    403       409         403 403        403 -           403  403  403
p0/returned dispose  403       409         403 403        403 -           403  403  403
p0/returned return   403       409         403 403        403 -           403  403  403
p0/returned hold     403       409         403 403        403 -           403  403  403
p0/returned resume   403       409         403 403        403 -           403  403  403
p0/returned complete 403       403         403 403        403 -           403  403  403
p0/returned resubmit p1/queued 403         403 403        403 -           403  403  p1/queued
p0/returned message  =         =           403 403        403 -           =    403  =
completed   claim    409x      409x        403 409x       403 409x        409x 403  409x
completed   dispose  409x      409x        403 409x       403 409x        409x 403  409x
completed   return   409x      409x        403 409x       403 409x        409x 403  409x
completed   hold     409x      409x        403 409x       403 409x        409x 403  409x
completed   resume   409x      409x        403 409x       403 409x        409x 403  409x
completed   complete 409x      409x        403 409x       403 409x        409x 403  409x
completed   resubmit 409x      409x        403 409x       403 409x        409x 403  409x
completed   message  409x      409x        403 409x       403 409x        409x 403  409x
"""

REFUSALS: dict[str, tuple[type[PtsaError], str]] = {
    "403": (Forbidden, "forbidden"),
    "403a": (Forbidden, "not_assignee"),
    "409": (Conflict, "transition_not_allowed"),
    "409c": (Conflict, "already_claimed"),
    "409x": (Conflict, "task_closed"),
}
EVENTS = {
    Action.CLAIM: "task.claimed", Action.DISPOSE: "task.disposed",
    Action.RETURN: "task.returned", Action.HOLD: "task.held", Action.RESUME: "task.resumed",
    Action.COMPLETE: "task.completed", Action.RESUBMIT: "task.resubmitted",
    Action.MESSAGE: "task.message",
}


def _parse_table() -> list[tuple[str, Action, str, str]]:
    lines = [line.split() for line in TABLE.strip().splitlines()]
    header, rows = lines[0], lines[1:]
    columns = header[2:]
    cells = []
    for row in rows:
        assert len(row) == len(header), f"malformed table row {row}"
        state, action = row[0], Action(row[1])
        for column, cell in zip(columns, row[2:], strict=True):
            cells.append((state, action, column, cell))
    return cells


CELLS = _parse_table()


def _actor(column: str, state: TaskState) -> Actor | None:
    if column == "asg":
        return ASSIGNEES[state.level] if state.assignee_id is not None else None
    return ACTORS[column]


def test_table_covers_every_state_action_and_role() -> None:
    """The expectation table has exactly one cell for every (state, action, role)."""
    seen = [(state, action, column) for state, action, column, _ in CELLS]
    assert len(seen) == len(set(seen))
    columns = [*ACTORS, "asg"]
    assert set(seen) == {(s, a, c) for s in STATES for a in Action for c in columns}


def test_assignee_column_is_filled_exactly_when_someone_claimed_the_task() -> None:
    """A '-' cell stands for 'nobody claimed it', never for a forgotten expectation."""
    for state, _action, column, cell in CELLS:
        if column == "asg":
            assert (cell == "-") == (STATES[state].assignee_id is None), (state, cell)


@pytest.mark.parametrize(("state_name", "action", "column", "expected"),
                         [c for c in CELLS if c[3] != "-"],
                         ids=[f"{s}-{a.value}-{c}" for s, a, c, e in CELLS if e != "-"])
def test_transition_table(state_name: str, action: Action, column: str, expected: str) -> None:
    """Each (state, action, role) is allowed with the listed new state or refused as listed."""
    state = STATES[state_name]
    actor = _actor(column, state)
    assert actor is not None
    kwargs = {"target_unit": "pusdatin", "target_parent": "barenbang"}
    if expected in REFUSALS:
        error, code = REFUSALS[expected]
        with pytest.raises(error) as caught:
            decide(state, action, actor, **kwargs)
        assert type(caught.value) is error
        assert caught.value.code == code, caught.value.message
        assert caught.value.message  # every refusal says why
        return
    transition = decide(state, action, actor, **kwargs)
    assert transition.event == EVENTS[action]
    if expected == "=":
        assert transition.state == state
        return
    if expected == "completed":
        assert transition.state.status == Status.COMPLETED
        assert transition.state.level == state.level
    else:
        level, status = expected.split("/")
        assert (transition.state.level.value, transition.state.status.value) == (level, status)


# The full new state of every allowed change (not just level/status): who holds it, which unit.
P1C = STATES["p1/claimed"]
P2C = STATES["p2/claimed"]
NEW_STATES = [
    ("p1/queued", Action.CLAIM, "p1", replace(STATES["p1/queued"], status=Status.CLAIMED,
                                              assignee_id=11)),
    ("p1/queued", Action.RETURN, "p1",
     TaskState(Status.RETURNED, Level.P0, FRONT_OFFICE, "barenbang", None, None)),
    ("p1/queued+", Action.CLAIM, "p1", replace(STATES["p1/queued+"], status=Status.CLAIMED,
                                               assignee_id=11)),
    ("p1/claimed", Action.DISPOSE, "asg",
     TaskState(Status.QUEUED, Level.P2, "pusdatin", "barenbang", "pusdatin", None)),
    ("p1/claimed", Action.RETURN, "asg",
     TaskState(Status.RETURNED, Level.P0, FRONT_OFFICE, "barenbang", None, None)),
    ("p1/claimed", Action.HOLD, "asg", replace(P1C, status=Status.ON_HOLD)),
    ("p1/on_hold", Action.RESUME, "asg", P1C),
    ("p2/queued", Action.CLAIM, "p2", replace(STATES["p2/queued"], status=Status.CLAIMED,
                                              assignee_id=31)),
    ("p2/queued", Action.RETURN, "p2", STATES["p1/queued+"]),
    ("p2/claimed", Action.RETURN, "asg", STATES["p1/queued+"]),
    ("p2/claimed", Action.HOLD, "asg", replace(P2C, status=Status.ON_HOLD)),
    ("p2/on_hold", Action.RESUME, "asg", P2C),
    ("p2/claimed", Action.COMPLETE, "asg", STATES["completed"]),
    ("p0/returned", Action.RESUBMIT, "p0", STATES["p1/queued"]),
    ("p1/queued+", Action.RETURN, "p1",
     TaskState(Status.RETURNED, Level.P0, FRONT_OFFICE, "barenbang", "pusdatin", None)),
]

# The SLA clocks each change starts, meets, pauses, resumes or cancels.
S, M, P, R, X = ClockOp.START, ClockOp.MEET, ClockOp.PAUSE, ClockOp.RESUME, ClockOp.CANCEL
P1K, P2K, RES = ClockKind.P1_PICKUP, ClockKind.P2_PICKUP, ClockKind.RESOLUTION
P1H = ClockKind.P1_HANDLING  # issue 11: the P1 desk's own time, from its claim to disposition
CLOCKS = {
    ("p1/queued", Action.CLAIM): (ClockChange(M, P1K), ClockChange(S, P1H, "barenbang")),
    ("p1/queued", Action.RETURN): (ClockChange(X, P1K), ClockChange(P, RES)),
    ("p1/queued+", Action.CLAIM): (ClockChange(M, P1K), ClockChange(S, P1H, "barenbang")),
    ("p1/claimed", Action.DISPOSE): (ClockChange(M, P1H), ClockChange(S, P2K, "pusdatin")),
    ("p1/claimed", Action.RETURN): (ClockChange(M, P1H), ClockChange(P, RES)),
    ("p1/claimed", Action.HOLD): (ClockChange(P, RES), ClockChange(P, P1H)),
    ("p1/on_hold", Action.RESUME): (ClockChange(R, RES), ClockChange(R, P1H)),
    ("p2/queued", Action.CLAIM): (ClockChange(M, P2K),),
    ("p2/queued", Action.RETURN): (ClockChange(X, P2K), ClockChange(S, P1K, "barenbang")),
    ("p2/claimed", Action.RETURN): (ClockChange(S, P1K, "barenbang"),),
    ("p2/claimed", Action.HOLD): (ClockChange(P, RES),),
    ("p2/on_hold", Action.RESUME): (ClockChange(R, RES),),
    ("p2/claimed", Action.COMPLETE): (ClockChange(M, RES),),
    ("p0/returned", Action.RESUBMIT): (ClockChange(R, RES), ClockChange(S, P1K, "barenbang")),
    ("p1/queued+", Action.RETURN): (ClockChange(X, P1K), ClockChange(P, RES)),
}


@pytest.mark.parametrize(("state_name", "action", "column", "expected"), NEW_STATES,
                         ids=[f"{s}-{a.value}" for s, a, _, _ in NEW_STATES])
def test_allowed_change_gives_the_whole_new_state_and_its_clocks(
        state_name: str, action: Action, column: str, expected: TaskState) -> None:
    """An allowed change sets level, unit, Eselon II and assignee, and moves the right clocks."""
    state = STATES[state_name]
    actor = _actor(column, state)
    assert actor is not None
    transition = decide(state, action, actor, target_unit="pusdatin", target_parent="barenbang")
    assert transition.state == expected
    assert transition.clocks == CLOCKS[(state_name, action)]


def test_every_allowed_change_has_a_full_expectation() -> None:
    """Each non-message cell that allows a change is also checked state-and-clocks in full."""
    allowed = {(s, a) for s, a, _, e in CELLS if e not in REFUSALS and e not in ("=", "-")}
    assert allowed == set(CLOCKS)
    assert {(s, a) for s, a, _, _ in NEW_STATES} == allowed


@pytest.mark.parametrize(("target", "parent"), [
    (None, None),  # no unit chosen
    ("binapenta", None),  # an Eselon I unit: the caller finds no Eselon II parent
    ("ptkln", "binapenta"),  # an Eselon II unit under another Eselon I
    ("no-such-unit", None),  # unknown
    ("barenbang", None),  # the task's own Eselon I
])
def test_dispose_target_must_be_an_eselon2_under_the_tasks_eselon1(
        target: str | None, parent: str | None) -> None:
    """Disposing to anything but an Eselon II unit under the task's Eselon I is invalid input."""
    with pytest.raises(InvalidInput) as caught:
        decide(P1C, Action.DISPOSE, ASSIGNEES[Level.P1], target_unit=target,
               target_parent=parent)
    assert caught.value.details.get("field") == "unit"


def test_dispose_to_a_sibling_eselon2_is_allowed() -> None:
    """Any Eselon II unit under the Eselon I may receive it, not only the service's default."""
    transition = decide(P1C, Action.DISPOSE, ASSIGNEES[Level.P1], target_unit="puslitbang",
                        target_parent="barenbang")
    assert (transition.state.unit, transition.state.eselon2) == ("puslitbang", "puslitbang")


def test_unauthorised_actor_is_refused_before_bad_input_is_reported() -> None:
    """A stranger learns nothing about which disposition targets exist: 403 before 422."""
    with pytest.raises(Forbidden):
        decide(P1C, Action.DISPOSE, ACTORS["p1"], target_unit=None, target_parent=None)


@pytest.mark.parametrize(("role", "allowed"), [
    (Role.P0, True), (Role.ADMIN, True), (Role.P1, False), (Role.P2, False),
    (Role.SUPERVISOR, False)])
def test_register_is_for_the_front_office(role: Role, allowed: bool) -> None:
    """Only P0 (and an admin) register; the request starts queued at the service's Eselon I."""
    actor = Actor(5, role, "ptsa" if role in (Role.P0, Role.ADMIN) else "barenbang")
    if not allowed:
        with pytest.raises(Forbidden):
            register("barenbang", actor)
        return
    transition = register("barenbang", actor)
    assert transition.event == "task.created"
    assert transition.state == STATES["p1/queued"]
    assert transition.clocks == (ClockChange(S, P1K, "barenbang"),
                                 ClockChange(S, RES, "barenbang"))


def test_front_office_supervisor_sees_every_task() -> None:
    """The PTSA supervisor oversees the whole hall, so every task is visible to them."""
    spv = Actor(70, Role.SUPERVISOR, FRONT_OFFICE, frozenset({FRONT_OFFICE}))
    assert all(can_view(state, spv) for state in STATES.values())


def test_refusal_messages_say_who_may_and_why() -> None:
    """Refusals name the rule: the role that does it, the desk that holds it, or the state."""
    with pytest.raises(Forbidden, match="done by Eselon II desk staff"):
        decide(P2C, Action.COMPLETE, ACTORS["p0"])
    with pytest.raises(Forbidden, match="only P2 staff of unit 'pusdatin'"):
        decide(STATES["p2/queued"], Action.CLAIM, ACTORS["p1"])
    with pytest.raises(Conflict, match="it must be claimed"):
        decide(STATES["p1/queued"], Action.DISPOSE, ACTORS["p1"], target_unit="pusdatin",
               target_parent="barenbang")
    with pytest.raises(Conflict, match="resubmits it"):
        decide(STATES["p0/returned"], Action.CLAIM, ACTORS["p1"])
