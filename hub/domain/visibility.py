"""Who may see a task, as SQL: the twin of ``hub.domain.tasks.can_view``.

``can_view`` decides for one task in hand (its page, its channel, its thread); listings, search,
boards, KPI and the supervisor's panels ask the database for every task the caller may see, with
the condition built here. Both read the same rule, and ``tests/hub/domain/test_visibility.py``
holds them equal over generated staff and tasks on SQLite and PostgreSQL: change one, change
the other. Building an expression does no I/O; the caller runs it.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Protocol

from sqlalchemy import false, or_, true
from sqlmodel import col

from hub.domain.tasks import FRONT_OFFICE, Role
from hub.models import Task


class Viewer(Protocol):
    """Who is asking (``hub.auth.principal.Principal`` is one): a role that may be a device's."""

    @property
    def role(self) -> str: ...
    @property
    def unit(self) -> str: ...
    @property
    def scope(self) -> Collection[str]: ...


def visible_tasks(viewer: Viewer) -> Any:
    """The SQL condition on ``Task`` that holds exactly for the tasks ``can_view`` allows."""
    role, unit, scope = viewer.role, viewer.unit, viewer.scope
    if role in (Role.ADMIN, Role.P0):
        return true()
    if role == Role.P1:
        return col(Task.eselon1) == unit
    if role == Role.P2:
        return col(Task.eselon2) == unit
    if role == Role.SUPERVISOR:
        if FRONT_OFFICE in scope:
            return true()
        units = sorted(scope)
        if not units:
            return false()
        return or_(col(Task.eselon1).in_(units), col(Task.eselon2).in_(units),
                   col(Task.unit_code).in_(units))
    return false()
