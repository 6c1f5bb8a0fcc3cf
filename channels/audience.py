"""Who hears an event about a task: the channels its outbox rows go to, in one place.

* A desk's move (``task.*``): the front office (it follows every request's live status), the
  Eselon I desk, the Eselon II desk and the one the task left, and the task's own channel.
* A supervisor's move (``hub.domain.supervision.EVENTS``): the same, and the supervisor screens of
  every unit the task leaves or reaches (not the front office's: it watches the hall).
* An SLA warning or breach: the task's channel, the desk holding it, and the supervisors of its
  unit (a warning) or of the units the breach escalates to (the caller names them).
* An acknowledged breach: the supervisors it was reported to, and the task's channel.

Channel names are built by ``channels.names``; the caller adds the outbox rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from channels import names
from hub.domain.supervision import EVENTS as SUPERVISOR_EVENTS
from hub.domain.tasks import FRONT_OFFICE, Level

ACKNOWLEDGED = "sla.acknowledged"
_SUPERVISOR_MOVES = frozenset(SUPERVISOR_EVENTS.values())


class Placed(Protocol):
    """Where a task is now (``hub.models.Task`` is one)."""

    @property
    def id(self) -> int | None: ...
    @property
    def level(self) -> str: ...
    @property
    def unit_code(self) -> str: ...
    @property
    def eselon1(self) -> str: ...
    @property
    def eselon2(self) -> str | None: ...


class Left(Protocol):
    """Where a task was before the move (``hub.domain.tasks.TaskState`` is one)."""

    @property
    def unit(self) -> str: ...
    @property
    def eselon2(self) -> str | None: ...


def hears(event_type: str, task: Placed, *, before: Left | None = None,
          supervisors: Iterable[str] = ()) -> list[str]:
    """The channels that hear ``event_type`` about ``task``, each once.

    Args:
        before: for a move, where the task was (its old desk hears that it left).
        supervisors: for ``sla.breached`` and ``sla.acknowledged``, the units whose supervisors
            the breach was reported to.
    """
    own = names.task(task.id or 0)
    if event_type == ACKNOWLEDGED:
        return _unique([*(names.sup(unit) for unit in supervisors), own])
    if event_type.startswith("sla."):
        units = (task.unit_code,) if event_type == "sla.warning" else tuple(supervisors)
        return _unique([own, desk_channel(task), *(names.sup(unit) for unit in units)])
    chans = [names.p0(), names.p1(task.eselon1)]
    for unit in (task.eselon2, before.eselon2 if before else None):
        if unit:
            chans.append(names.p2(unit))
    chans.append(own)
    if event_type in _SUPERVISOR_MOVES:
        chans += [names.sup(unit) for unit in (task.eselon1, task.unit_code,
                                                before.unit if before else None)
                  if unit and unit != FRONT_OFFICE]
    return _unique(chans)


def desk_channel(task: Placed) -> str:
    """The board of the desk holding the task."""
    if task.level == Level.P1:
        return names.p1(task.unit_code)
    if task.level == Level.P2:
        return names.p2(task.unit_code)
    return names.p0()


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
