"""``GET /services`` and ``GET /units``: the catalogue every form and board builds on.

``GET /services`` also answers without a sign-in, with the published service standard of each
service (UU 25/2009): requirements, completion time in working days, cost, responsible unit.
A caller who sends credentials gets them checked (a bad token is still 401)."""

from __future__ import annotations

from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import JSONResponse

from hub.api.common import authenticate, ctx, json_response
from hub.models import Unit
from hub.tasks.serializers import service_dict, unit_dict
from hub.tasks.service_standards import published_services, standard_dict


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


async def list_units(request: Request) -> JSONResponse:
    await authenticate(request)
    async with ctx(request).db.read() as session:
        rows = await session.exec(select(Unit).where(col(Unit.active).is_(True))
                                  .order_by(col(Unit.level), col(Unit.code)))
        return json_response([unit_dict(u) for u in rows.all()])
