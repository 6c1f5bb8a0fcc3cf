"""``GET /services`` and ``GET /units``: the catalogue every form and board builds on."""

from __future__ import annotations

from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import JSONResponse

from hub.api.common import authenticate, ctx, json_response
from hub.models import Service, Unit
from hub.serializers import service_dict, unit_dict


async def list_services(request: Request) -> JSONResponse:
    await authenticate(request)
    async with ctx(request).db.read() as session:
        rows = await session.exec(select(Service).where(col(Service.active).is_(True))
                                  .order_by(col(Service.name)))
        return json_response([service_dict(s) for s in rows.all()])


async def list_units(request: Request) -> JSONResponse:
    await authenticate(request)
    async with ctx(request).db.read() as session:
        rows = await session.exec(select(Unit).where(col(Unit.active).is_(True))
                                  .order_by(col(Unit.level), col(Unit.code)))
        return json_response([unit_dict(u) for u in rows.all()])
