"""Which buttons a viewer gets on a task's card: read off the state machine, never restated.

A button is only a hint (the command decides), but a hint that disagrees with the decision shows
buttons that fail or hides ones that work. So the answer is ``hub.domain.tasks.desk_actions`` and
``hub.domain.supervision.supervisor_actions`` — the same functions the task page asks, read off
``decide`` and ``decide_supervision`` — for the card's situation. The situation is five facts,
the same on the server and in the browser: the viewer's role, the task's status and level,
whether the task sits at the viewer's unit, and whether the viewer holds it. The browser gets
``action_table`` (every situation, computed here) with the board's configuration, so cards drawn
live from events (``web/static/js/board.js``) show what a reload would. Supervisor actions
assume the card is in the supervisor's scope (re-routing's too): their boards show only those
cards. A card's supervisor forms are release and take over; reassign and re-route are forms of
the task page, which the card links to when one of them is open.
"""

from __future__ import annotations

from itertools import product

from hub.domain.supervision import supervisor_actions
from hub.domain.tasks import Actor, Level, Role, Status, TaskState, desk_actions

_ME, _HERE, _THERE = 1, "here", "there"


def card_actions(role: str, status: str, level: str, *, same_unit: bool,
                 mine: bool) -> frozenset[str]:
    """The desk actions (``Action``) and the supervisor actions open to a viewer of ``role`` on
    a task in ``status`` at ``level``; nothing for a device's role."""
    if role not in Role.__members__.values():
        return frozenset()
    task = TaskState(Status(status), Level(level), _HERE if same_unit else _THERE,
                     _HERE, _HERE, _ME if mine else None)
    actor = Actor(_ME, Role(role), _HERE, frozenset({_HERE, _THERE}))
    return frozenset(a.value for a in (*desk_actions(task, actor),
                                       *supervisor_actions(task, actor)))


def action_table(role: str) -> dict[str, list[str]]:
    """``card_actions`` for ``role`` in every situation, keyed ``status|level|same_unit|mine``
    (the last two ``0`` or ``1``): the browser's copy of the answer, not of the rule."""
    return {f"{status}|{level}|{int(same)}|{int(mine)}":
            sorted(card_actions(role, status, level, same_unit=same, mine=mine))
            for status, level, same, mine in product(Status, Level, (False, True), (False, True))}
