"""``GET /services`` and ``GET /units``: the catalogue every form and board builds on.

``GET /services`` also answers without a sign-in, with the published service standard of each
service (UU 25/2009): requirements, completion time in working days, cost, responsible unit.
A caller who sends credentials gets them checked (a bad token is still 401)."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse

from hub.api.common import authenticate, ctx, json_response
from hub.domain.documents import checklist
from hub.models import Service, Unit
from hub.serializers import service_dict, unit_dict


async def list_services(request: Request) -> JSONResponse:
    signed_in = "authorization" in request.headers or request.scope.get("principal") is not None
    if signed_in:
        await authenticate(request)
    async with ctx(request).db.read() as session:
        services = await published_services(session)
        units = {u.code: u for u in (await session.exec(select(Unit))).all()}
    if signed_in:
        return json_response([{**service_dict(s), **standard_dict(s, units)} for s in services])
    return json_response([standard_dict(s, units) for s in services])


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


async def list_units(request: Request) -> JSONResponse:
    await authenticate(request)
    async with ctx(request).db.read() as session:
        rows = await session.exec(select(Unit).where(col(Unit.active).is_(True))
                                  .order_by(col(Unit.level), col(Unit.code)))
        return json_response([unit_dict(u) for u in rows.all()])
