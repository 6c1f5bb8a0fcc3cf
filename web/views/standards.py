"""``/layanan``: the published service standards, public (no sign-in) — each service's
requirements, completion time in working days, cost (free) and responsible unit; the same
fields as the public ``GET /api/v1/services``."""

from __future__ import annotations

from sqlmodel import select
from starlette.requests import Request
from starlette.responses import Response

from hub.models import Unit
from hub.tasks.service_standards import published_services, standard_dict
from web.render import app_ctx, render
from web.views.base import page


@page(public=True)
async def services(request: Request) -> Response:
    async with app_ctx(request).db.read() as session:
        rows = await published_services(session)
        units = {u.code: u for u in (await session.exec(select(Unit))).all()}
    return render(request, "services.html", services=[standard_dict(s, units) for s in rows])
