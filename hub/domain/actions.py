"""Which buttons a viewer gets on a task's card: read off the state machine, never restated.

A button is only a hint (the command decides), but a hint that disagrees with the decision shows
buttons that fail or hides ones that work. So the answer is what ``hub.domain.tasks.decide`` and
``hub.domain.supervision.decide_supervision`` say for the card's situation: an action is offered
when they allow it, or refuse only for missing input (the disposition's unit). The situation is
five facts, the same on the server and in the browser: the viewer's role, the task's status and
level, whether the task sits at the viewer's unit, and whether the viewer holds it. The browser
gets ``action_table`` (every situation, computed here) with the board's configuration, so cards
drawn live from events (``web/static/js/board.js``) show what a reload would. Supervisor actions
assume the card is in the supervisor's scope: their boards show only those cards.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from itertools import product

from hub.domain.supervision import SupervisorAction, decide_supervision
from hub.domain.tasks import Action, Actor, Level, Role, Status, TaskState, decide
from hub.errors import InvalidInput, PtsaError

CARD_SUPERVISOR_ACTIONS = (SupervisorAction.RELEASE, SupervisorAction.TAKEOVER)
_ME, _HERE, _THERE = 1, "here", "there"


def _allowed(decision: Callable[[], object]) -> bool:
    try:
        decision()
    except InvalidInput:
        return True  # open to the viewer; the form asks for what is missing
    except PtsaError:
        return False
    return True


def card_actions(role: str, status: str, level: str, *, same_unit: bool,
                 mine: bool) -> frozenset[str]:
    """The desk actions (``Action``) and the card's supervisor actions (release, takeover) open
    to a viewer of ``role`` on a task in ``status`` at ``level``; nothing for a device's role."""
    if role not in Role.__members__.values():
        return frozenset()
    task = TaskState(Status(status), Level(level), _HERE if same_unit else _THERE,
                     _HERE, _HERE, _ME if mine else None)
    actor = Actor(_ME, Role(role), _HERE, frozenset({_HERE, _THERE}))
    desk = {a.value for a in Action if _allowed(partial(decide, task, a, actor))}
    supervising = {a.value for a in CARD_SUPERVISOR_ACTIONS
                   if _allowed(partial(decide_supervision, task, a, actor))}
    return frozenset(desk | supervising)


def action_table(role: str) -> dict[str, list[str]]:
    """``card_actions`` for ``role`` in every situation, keyed ``status|level|same_unit|mine``
    (the last two ``0`` or ``1``): the browser's copy of the answer, not of the rule."""
    return {f"{status}|{level}|{int(same)}|{int(mine)}":
            sorted(card_actions(role, status, level, same_unit=same, mine=mine))
            for status, level, same, mine in product(Status, Level, (False, True), (False, True))}
