"""The supervisor actions' pure rule, checked against an explicit table of every (state, action,
actor), written by hand from issue 11 (not recomputed from hub/domain/supervision.py)."""

from __future__ import annotations

import pytest

from hub.domain.supervision import Desk, SupervisorAction, decide_supervision
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
    decide,
)
from hub.errors import Conflict, Forbidden, InvalidInput, PtsaError
from tests.hub.tasks.test_state_machine import STATES

ACTORS = {
    "p1": Actor(11, Role.P1, "barenbang"),
    "p2": Actor(31, Role.P2, "pusdatin"),
    # Supervisor of the Eselon I (scope: it and its Eselon II units).
    "spv": Actor(50, Role.SUPERVISOR, "barenbang",
                 frozenset({"barenbang", "pusdatin", "pusrenaker", "puslitbang"})),
    "spv2": Actor(51, Role.SUPERVISOR, "pusdatin", frozenset({"pusdatin"})),  # of the Eselon II
    "spvx": Actor(60, Role.SUPERVISOR, "binapenta", frozenset({"binapenta", "ptkln"})),
    "spv0": Actor(70, Role.SUPERVISOR, FRONT_OFFICE, frozenset({FRONT_OFFICE})),  # the hall's
    "adm": Actor(99, Role.ADMIN, FRONT_OFFICE),
}
# The desk each state's reassign names: another desk of the unit holding it.
DESKS = {Level.P1: Desk(12, Role.P1, "barenbang", True, "P1 dua"),
         Level.P2: Desk(32, Role.P2, "pusdatin", True, "P2 dua"),
         Level.P0: Desk(2, Role.P0, FRONT_OFFICE, True, "P0 dua")}

# Cells: 403 Forbidden · 409 Conflict transition_not_allowed · 409x task_closed ·
# <level>/<status>: allowed, the new state. Reroute goes to pusrenaker (staffed, same Eselon I).
TABLE = """
state       action   p1  p2  spv         spv2        spvx spv0        adm
p1/queued   reassign 403 403 p1/claimed  403         403  p1/claimed  p1/claimed
p1/queued   release  403 403 409         403         403  409         409
p1/queued   takeover 403 403 p1/claimed  403         403  403         403
p1/queued   reroute  403 403 409         403         403  409         409
p1/claimed  reassign 403 403 p1/claimed  403         403  p1/claimed  p1/claimed
p1/claimed  release  403 403 p1/queued   403         403  p1/queued   p1/queued
p1/claimed  takeover 403 403 p1/claimed  403         403  403         403
p1/claimed  reroute  403 403 409         403         403  409         409
p1/on_hold  reassign 403 403 p1/on_hold  403         403  p1/on_hold  p1/on_hold
p1/on_hold  release  403 403 p1/queued   403         403  p1/queued   p1/queued
p1/on_hold  takeover 403 403 p1/on_hold  403         403  403         403
p1/on_hold  reroute  403 403 409         403         403  409         409
p2/queued   reassign 403 403 p2/claimed  p2/claimed  403  p2/claimed  p2/claimed
p2/queued   release  403 403 409         409         403  409         409
p2/queued   takeover 403 403 403         p2/claimed  403  403         403
p2/queued   reroute  403 403 p2/queued   403         403  p2/queued   p2/queued
p2/claimed  reassign 403 403 p2/claimed  p2/claimed  403  p2/claimed  p2/claimed
p2/claimed  release  403 403 p2/queued   p2/queued   403  p2/queued   p2/queued
p2/claimed  takeover 403 403 403         p2/claimed  403  403         403
p2/claimed  reroute  403 403 p2/queued   403         403  p2/queued   p2/queued
p2/on_hold  reassign 403 403 p2/on_hold  p2/on_hold  403  p2/on_hold  p2/on_hold
p2/on_hold  release  403 403 p2/queued   p2/queued   403  p2/queued   p2/queued
p2/on_hold  takeover 403 403 403         p2/on_hold  403  403         403
p2/on_hold  reroute  403 403 p2/queued   403         403  p2/queued   p2/queued
p0/returned reassign 403 403 409         403         403  409         409
p0/returned release  403 403 409         403         403  409         409
p0/returned takeover 403 403 409         403         403  409         409
p0/returned reroute  403 403 409         403         403  409         409
completed   reassign 403 403 409x        409x        403  409x        409x
completed   release  403 403 409x        409x        403  409x        409x
completed   takeover 403 403 409x        409x        403  409x        409x
completed   reroute  403 403 409x        409x        403  409x        409x
"""
REFUSALS: dict[str, tuple[type[PtsaError], str]] = {
    "403": (Forbidden, "forbidden"), "409": (Conflict, "transition_not_allowed"),
    "409x": (Conflict, "task_closed")}


def _cells() -> list[tuple[str, SupervisorAction, str, str]]:
    lines = [line.split() for line in TABLE.strip().splitlines()]
    header, rows = lines[0], lines[1:]
    return [(row[0], SupervisorAction(row[1]), column, cell)
            for row in rows for column, cell in zip(header[2:], row[2:], strict=True)]


CELLS = _cells()


def _decide(state: TaskState, action: SupervisorAction, actor: Actor) -> object:
    return decide_supervision(state, action, actor, to=DESKS[state.level],
                              target_unit="pusrenaker", target_parent="barenbang")


def test_table_covers_every_state_action_and_actor() -> None:
    """One cell per (state, action, actor): no combination is left unspecified."""
    seen = [(s, a, c) for s, a, c, _ in CELLS]
    assert len(seen) == len(set(seen))
    assert set(seen) == {(s, a, c) for s in STATES if s != "p1/queued+"
                         for a in SupervisorAction for c in ACTORS}


@pytest.mark.parametrize(("state_name", "action", "column", "expected"), CELLS,
                         ids=[f"{s}-{a.value}-{c}" for s, a, c, _ in CELLS])
def test_supervision_table(state_name: str, action: SupervisorAction, column: str,
                           expected: str) -> None:
    """Each (state, action, actor) is allowed with the listed new state or refused as listed."""
    state, actor = STATES[state_name], ACTORS[column]
    if expected in REFUSALS:
        error, code = REFUSALS[expected]
        with pytest.raises(error) as caught:
            _decide(state, action, actor)
        assert type(caught.value) is error and caught.value.code == code, caught.value.message
        return
    transition = decide_supervision(state, action, actor, to=DESKS[state.level],
                                    target_unit="pusrenaker", target_parent="barenbang")
    level, status = expected.split("/")
    assert (transition.state.level.value, transition.state.status.value) == (level, status)
    holder = {SupervisorAction.REASSIGN: DESKS[state.level].id, SupervisorAction.TAKEOVER:
              actor.id}.get(action)
    assert transition.state.assignee_id == holder
    assert transition.event == {"reassign": "task.reassigned", "release": "task.released",
                                "takeover": "task.taken_over",
                                "reroute": "task.rerouted"}[action.value]


S, M, R, X = ClockOp.START, ClockOp.MEET, ClockOp.RESUME, ClockOp.CANCEL
P1K, P2K, RES = ClockKind.P1_PICKUP, ClockKind.P2_PICKUP, ClockKind.RESOLUTION
P1H = ClockKind.P1_HANDLING
CLOCKS = [  # (state, action, clocks) — the SLA rule of each allowed change, by the admin
    # Held now: picked up, and the P1 desk's handling clock starts.
    ("p1/queued", SupervisorAction.REASSIGN, (ClockChange(M, P1K),
                                              ClockChange(S, P1H, "barenbang"))),
    ("p1/claimed", SupervisorAction.REASSIGN, ()),
    # Released at P1: the handling clock is cancelled (the next claim starts a new one).
    ("p1/claimed", SupervisorAction.RELEASE, (ClockChange(X, P1H),
                                              ClockChange(S, P1K, "barenbang"))),
    ("p1/on_hold", SupervisorAction.RELEASE, (ClockChange(X, P1H), ClockChange(R, RES),
                                              ClockChange(S, P1K, "barenbang"))),
    ("p2/queued", SupervisorAction.REASSIGN, (ClockChange(M, P2K),)),
    ("p2/claimed", SupervisorAction.RELEASE, (ClockChange(S, P2K, "pusdatin"),)),
    ("p2/queued", SupervisorAction.REROUTE, (ClockChange(X, P2K),
                                             ClockChange(S, P2K, "pusrenaker"))),
    ("p2/claimed", SupervisorAction.REROUTE, (ClockChange(S, P2K, "pusrenaker"),)),
    ("p2/on_hold", SupervisorAction.REROUTE, (ClockChange(R, RES),
                                              ClockChange(S, P2K, "pusrenaker"))),
]


@pytest.mark.parametrize(("state_name", "action", "clocks"), CLOCKS,
                         ids=[f"{s}-{a.value}" for s, a, _ in CLOCKS])
def test_supervisor_action_moves_the_right_clocks(state_name: str, action: SupervisorAction,
                                                  clocks: tuple[ClockChange, ...]) -> None:
    """Released: pickup restarts from now; reassigned from the queue: pickup met; re-routed:
    the old unit's pickup cancelled and the new one's started; a hold ends with the SOP clock."""
    assert _decide(STATES[state_name], action, ACTORS["adm"]).clocks == clocks  # type: ignore[attr-defined]


@pytest.mark.parametrize(("desk", "why"), [
    (None, "name the desk"),
    (Desk(12, Role.P1, "barenbang", False, "Tidak Aktif"), "not an active P1 desk"),
    (Desk(31, Role.P2, "pusdatin", True, "P2 Pusdatin"), "not an active P1 desk"),
    (Desk(20, Role.P1, "binapenta", True, "P1 Binapenta"), "of unit 'barenbang'"),
])
def test_reassign_names_an_active_desk_of_the_holding_unit(desk: Desk | None, why: str) -> None:
    """Reassigning to nobody, an inactive account, another level or unit is a 422 on ``to``."""
    with pytest.raises(InvalidInput, match=why) as caught:
        decide_supervision(STATES["p1/claimed"], SupervisorAction.REASSIGN, ACTORS["spv"], to=desk)
    assert caught.value.details["field"] == "to"


@pytest.mark.parametrize(("target", "parent", "staffed", "why"), [
    (None, None, True, "choose the Eselon II unit"),
    ("ptkln", "binapenta", True, "not an Eselon II unit under 'barenbang'"),
    ("pusdatin", "barenbang", True, "already at unit 'pusdatin'"),
    ("puslitbang", "barenbang", False, "'puslitbang' has no active P2 desk"),
])
def test_reroute_goes_to_a_staffed_sibling_unit(target: str | None, parent: str | None,
                                                staffed: bool, why: str) -> None:
    """Re-routing elsewhere than a staffed other Eselon II unit of the Eselon I is a 422."""
    with pytest.raises(InvalidInput, match=why):
        decide_supervision(STATES["p2/queued"], SupervisorAction.REROUTE, ACTORS["spv"],
                           target_unit=target, target_parent=parent, target_staffed=staffed)


def test_reassigning_to_the_current_holder_is_a_conflict() -> None:
    """Naming the desk that already holds it changes nothing and says so (409)."""
    with pytest.raises(Conflict) as caught:
        decide_supervision(STATES["p1/claimed"], SupervisorAction.REASSIGN, ACTORS["spv"],
                           to=Desk(10, Role.P1, "barenbang", True, "P1 satu"))
    assert caught.value.code == "already_assigned"


def test_supervisor_who_took_a_task_over_works_it_as_the_desk() -> None:
    """After a takeover the supervisor may dispose (P1) or complete (P2) like the desk would."""
    spv, spv2 = ACTORS["spv"], ACTORS["spv2"]
    taken = decide_supervision(STATES["p1/queued"], SupervisorAction.TAKEOVER, spv).state
    assert decide(taken, Action.DISPOSE, spv, target_unit="pusdatin",
                  target_parent="barenbang").event == "task.disposed"
    taken = decide_supervision(STATES["p2/queued"], SupervisorAction.TAKEOVER, spv2).state
    assert decide(taken, Action.COMPLETE, spv2).state.status == Status.COMPLETED
