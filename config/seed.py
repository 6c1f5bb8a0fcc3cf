"""Loading the organisation and, for demonstrations, the demo staff into the database.

Both are idempotent: rows that exist are left alone (an admin may have edited a service's SOP days
or a unit's name in the database since), missing rows are added. Running ``make run`` twice gives
the same data, not twice the data.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select

from config.catalog import Catalog
from hub.auth.passwords import hash_password
from hub.db import Database
from hub.domain.tasks import FRONT_OFFICE
from hub.models import Service, Staff, Unit, utcnow

DEMO_PASSWORD = "ptsa-demo-2026"


@dataclass(frozen=True)
class SeedReport:
    units_added: int
    services_added: int
    staff_added: int


async def seed_catalog(db: Database, catalog: Catalog) -> tuple[int, int]:
    """Insert the units (parents first) and services that are not in the database yet."""
    units_added = services_added = 0
    async with db.write() as session:
        existing = set((await session.exec(select(Unit.code))).all())
        for level in ("front", "eselon1", "eselon2"):
            for unit in catalog.units:
                if unit.level == level and unit.code not in existing:
                    session.add(Unit(code=unit.code, name=unit.name, short_name=unit.short_name,
                                     level=unit.level, parent=unit.parent))
                    units_added += 1
            await session.flush()
        have = set((await session.exec(select(Service.code))).all())
        for svc in catalog.services:
            if svc.code not in have:
                session.add(Service(code=svc.code, name=svc.name, name_en=svc.name_en,
                                    eselon1=svc.eselon1, eselon2=svc.eselon2,
                                    sop_days=svc.sop_days, sop_source=svc.sop_source))
                services_added += 1
    return units_added, services_added


async def seed_demo_staff(db: Database, catalog: Catalog, password: str = DEMO_PASSWORD) -> int:
    """Insert the demo staff plan (9 P0, 14 P1, 33 P2, supervisors, an admin) with one password.

    Hashing is Argon2id and deliberately slow, so one hash is shared by all demo accounts.
    """
    password_hash = hash_password(password)
    added = 0
    async with db.write() as session:
        have = set((await session.exec(select(Staff.username))).all())
        for person in catalog.demo_staff:
            if person.username in have:
                continue
            session.add(Staff(username=person.username, full_name=person.full_name,
                              role=person.role, unit_code=person.unit_code or FRONT_OFFICE,
                              email=person.email, phone=person.phone,
                              password_hash=password_hash, created_at=utcnow()))
            added += 1
    return added


async def seed(db: Database, catalog: Catalog, *, demo: bool) -> SeedReport:
    units, services = await seed_catalog(db, catalog)
    staff = await seed_demo_staff(db, catalog) if demo else 0
    return SeedReport(units, services, staff)
