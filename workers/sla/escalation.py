"""Who hears about a warning or a breach, and on which channels.

* A **warning** goes to the desk that holds the task, live: ``task.<id>``, the holding level's
  channel (``p0``, ``p1.<eselon1>`` or ``p2.<eselon2>``) and ``sup.<holding unit>``.
* A **breach** goes to the responsible supervisor by e-mail and SMS and, live, to ``task.<id>``,
  the level channel and ``sup.<unit>`` of every responsible unit:

  ========== ====================================================================
  p1_pickup  the Eselon I unit whose P1 desk did not claim the task
  p2_pickup  the Eselon II unit whose P2 desk did not claim the task
  resolution the Eselon II unit (its KPI), with the Eselon I unit copied
  ========== ====================================================================

A unit without an active supervisor escalates to its parent's supervisors, so a breach is never
sent to nobody just because a post is vacant. Pure functions over a ``Directory`` (units,
services, supervisors) that ``DirectoryCache`` provides once per transaction.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.domain.tasks import Role
from hub.models import Service, Staff, Unit


@dataclass(frozen=True)
class Recipient:
    staff: Staff
    unit: str  # the unit whose breach it is (the supervisor may sit higher up, see above)
    copy: bool  # copied for information (Eselon I on a resolution breach)


@dataclass
class Directory:
    units: dict[str, Unit] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)
    supervisors: dict[str, list[Staff]] = field(default_factory=dict)  # unit → active ones

    def lineage(self, unit_code: str) -> list[str]:
        """The unit and its parents, up to the top."""
        chain: list[str] = []
        code: str | None = unit_code
        while code and code not in chain:
            chain.append(code)
            unit = self.units.get(code)
            code = unit.parent if unit else None
        return chain


class DirectoryCache:
    """Units and services change a few times a year: read them at most every ``ttl`` seconds
    (a breach burst would otherwise load a hundred rows per transaction). Supervisors are read
    fresh every time, only for the units concerned, so a deactivated one stops getting mail."""

    def __init__(self, ttl: float = 60.0) -> None:
        self.ttl = ttl
        self._static: Directory | None = None
        self._loaded_at = 0.0

    async def load(self, session: AsyncSession) -> Directory:
        """Units and services (cached); no supervisors yet, see ``add_supervisors``."""
        now = time.monotonic()
        if self._static is None or now - self._loaded_at > self.ttl:
            static = Directory()
            for unit in (await session.exec(select(Unit))).all():
                static.units[unit.code] = unit
            for service in (await session.exec(select(Service))).all():
                static.services[service.code] = service
            self._static, self._loaded_at = static, now
        return Directory(self._static.units, self._static.services)


async def add_supervisors(session: AsyncSession, directory: Directory,
                          unit_codes: set[str]) -> None:
    """The active supervisors of these units and of the units above them, read fresh."""
    wanted = {code for unit in unit_codes for code in directory.lineage(unit)}
    if not wanted:
        return
    rows = await session.exec(select(Staff).where(
        Staff.role == Role.SUPERVISOR.value, col(Staff.active).is_(True),
        col(Staff.unit_code).in_(wanted)).order_by(col(Staff.id)))
    for person in rows.all():
        directory.supervisors.setdefault(person.unit_code, []).append(person)


def breach_recipients(directory: Directory, units: list[str]) -> list[Recipient]:
    """Active supervisors of each unit (the first unit acts; later ones are copied), each person
    once, climbing to the parent unit when a unit has none."""
    recipients: list[Recipient] = []
    seen: set[int] = set()
    for position, unit in enumerate(units):
        for person in _supervisors_up_from(directory, unit):
            if person.id not in seen:
                seen.add(person.id or 0)
                recipients.append(Recipient(person, unit, copy=position > 0))
    return recipients


def _supervisors_up_from(directory: Directory, unit_code: str) -> list[Staff]:
    for code in directory.lineage(unit_code):
        if directory.supervisors.get(code):
            return directory.supervisors[code]
    return []
