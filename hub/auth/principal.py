"""Who is asking: the authenticated staff member and the units their view covers."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.domain.tasks import FRONT_OFFICE
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
    if staff.role != "supervisor":
        return frozenset()
    children = await session.exec(select(Unit.code).where(Unit.parent == staff.unit_code))
    return frozenset({staff.unit_code, *children.all()})


async def load_principal(session: AsyncSession, staff_id: int, epoch: int) -> Principal | None:
    """The principal for a verified credential, or None if the account is gone, inactive, or
    its sessions were revoked since the credential was issued."""
    staff = await session.get(Staff, staff_id)
    if staff is None or not staff.active or staff.session_epoch != epoch:
        return None
    unit = await session.get(Unit, staff.unit_code)
    return Principal(staff, await supervisor_scope(session, staff), unit.level if unit else "")


def is_front_office(principal: Principal) -> bool:
    return principal.unit == FRONT_OFFICE
