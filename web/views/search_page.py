"""``/cari``: the staff search box's results, with filters by service, status, unit and days
(P0 browses an earlier day with ``from`` = ``to``). The same ``hub.tasks.search`` rules as
``GET /api/v1/tasks?q=…``, within what the signed-in staff member may see."""

from __future__ import annotations

from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import Response

from hub.auth.principal import Principal
from hub.domain.tasks import Role
from hub.domain.visibility import visible_tasks
from hub.errors import InvalidInput
from hub.models import Task
from hub.tasks.search import Filters
from hub.tasks.serializers import task_summary
from hub.tasks.unread import unread_of
from web import queries
from web.forms import FormErrors
from web.render import app_ctx, render
from web.views.base import page

RESULTS = 100


@page(roles=(Role.P0, Role.P1, Role.P2, Role.SUPERVISOR, Role.ADMIN))
async def search(request: Request) -> Response:
    principal: Principal = request.scope["principal"]
    ctx = app_ctx(request)
    errors = FormErrors()
    cards: list[dict[str, object]] = []
    status = 200
    params = dict(request.query_params)
    if params.get("hari"):  # the boards' "another day": one day, from = to
        params["from"] = params["to"] = params.pop("hari")
    try:
        filters = Filters.parse(params)
    except InvalidInput as exc:
        errors.add(exc)
        filters, status = Filters(), 422
    async with ctx.db.read() as session:
        services = await queries.active_services(session)
        units = await queries.units_by_code(session)
        if filters.any:
            query = select(Task).where(visible_tasks(principal))
            try:
                query = filters.apply(query, ctx.settings.tz)
            except InvalidInput as exc:
                errors.add(exc)
                status = 422
            else:
                rows = await session.exec(query.order_by(col(Task.id).desc()).limit(RESULTS))
                cards = [await task_summary(session, t) for t in rows.all()]
    values = {name: params.get(name, "")
              for name in ("q", "service", "status", "unit", "from", "to")}
    return render(request, "search.html", status=status, cards=cards, filters=filters,
                  values=values, errors=errors, services=services, units=units,
                  limit=RESULTS)


@page(roles=(Role.P0, Role.P1, Role.P2, Role.SUPERVISOR, Role.ADMIN))
async def unread_page(request: Request) -> Response:
    """``/pesan``: the requests with messages the signed-in staff member has not read."""
    principal: Principal = request.scope["principal"]
    async with app_ctx(request).db.read() as session:
        counts = await unread_of(session, principal.id)
        units = await queries.units_by_code(session)
        rows = await session.exec(select(Task).where(col(Task.id).in_(list(counts)))
                                  .order_by(col(Task.id).desc()))
        cards = [await task_summary(session, t) for t in rows.all()]
    return render(request, "unread.html", cards=cards, counts=counts, units=units)
