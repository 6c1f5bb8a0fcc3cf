"""Who is asking: the authenticated staff member and the units their view covers."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.domain.tasks import Role
from hub.models import Staff, Unit


@dataclass(frozen=True)
class Principal:
    staff: Staff
    scope: frozenset[str]  # units a supervisor oversees (own unit and the ones under it)
    unit_level: str = ""  # front | eselon1 | eselon2

    @property
    def id(self) -> int:
        return self.staff.id or 0

    @property
    def username(self) -> str:
        return self.staff.username

    @property
    def role(self) -> str:
        return self.staff.role

    @property
    def unit(self) -> str:
        return self.staff.unit_code


async def supervisor_scope(session: AsyncSession, staff: Staff) -> frozenset[str]:
    if staff.role != Role.SUPERVISOR:
        return frozenset()
    children = await session.exec(select(Unit.code).where(Unit.parent == staff.unit_code))
    return frozenset({staff.unit_code, *children.all()})


# Built once (the staff id is a parameter): every request runs it.
_ACCOUNT = (select(Staff, Unit.level).outerjoin(Unit, col(Unit.code) == col(Staff.unit_code))
            .where(col(Staff.id) == bindparam("staff_id")))


async def load_principal(session: AsyncSession, staff_id: int, epoch: int) -> Principal | None:
    """The principal for a verified credential, or None if the account is gone, inactive, or
    its sessions were revoked since the credential was issued."""
    # One query for the account and its unit's level: this runs on every request.
    row = (await session.exec(_ACCOUNT, params={"staff_id": staff_id})).first()
    if row is None:
        return None
    staff, level = row
    if not staff.active or staff.session_epoch != epoch:
        return None
    return Principal(staff, await supervisor_scope(session, staff), level or "")
