"""The published service standard (UU 25/2009) of each active service: requirements, completion
time in working days, cost, responsible unit. Shared by ``GET /services`` and the public page."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.domain.documents import checklist
from hub.models import Service, Unit


async def published_services(session: AsyncSession) -> list[Service]:
    rows = await session.exec(select(Service).where(col(Service.active).is_(True))
                              .order_by(col(Service.eselon1), col(Service.name)))
    return list(rows.all())


def standard_dict(service: Service, units: dict[str, Unit]) -> dict[str, Any]:
    """A service's published standard: public fields only."""
    def unit(code: str) -> dict[str, str]:
        found = units.get(code)
        return {"code": code, "name": found.name if found else code}

    return {"code": service.code, "name": service.name, "name_en": service.name_en,
            "sop_days": service.sop_days, "fee": 0, "requirements": checklist(service.documents),
            "unit": unit(service.eselon2), "eselon1": unit(service.eselon1)}
