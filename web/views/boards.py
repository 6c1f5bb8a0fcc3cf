"""The boards: P0 intake (the counter) with its printable receipt, the front-office board of
today's requests, and the P1/P2 desk queues. All of them go live through ``static/js``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from hub.auth.principal import Principal
from hub.commands import ensure_can_view, load_task
from hub.errors import InvalidInput
from hub.models import Service
from hub.validation import Applicant
from web import queries
from web.forms import FormErrors, text_field
from web.render import app_ctx, redirect, render
from web.views.base import page, path_int
from web.views.complaints import open_panel
from web.views.live import board_config
from web.views.tasks import available_actions

INTAKE_FIELDS = ("service", "applicant.name", "applicant.organisation", "applicant.phone",
                 "applicant.email", "description")


async def _intake_page(request: Request, principal: Principal, values: dict[str, str],
                       errors: FormErrors, status: int = 200) -> Response:
    ctx = app_ctx(request)
    async with ctx.db.read() as session:
        services = await queries.active_services(session)
        units = await queries.units_by_code(session)
        cards = await queries.front_office_cards(session, ctx.settings.tz)
    config = board_config(request, principal, "p0", cards, units)
    return render(request, "intake.html", status=status, services=services, units=units,
                  values=values, errors=errors, config=config, cards=cards,
                  actions_for=lambda card: available_actions(card, principal))


@page(roles=("p0", "admin"))
async def intake_form(request: Request) -> Response:
    values = {name: "" for name in INTAKE_FIELDS}
    values["service"] = request.query_params.get("service", "")
    return await _intake_page(request, request.scope["principal"], values, FormErrors())


@page(roles=("p0", "admin"))
async def intake_submit(request: Request) -> Response:
    principal: Principal = request.scope["principal"]
    form = await request.form()
    values = {name: text_field(form, name) for name in INTAKE_FIELDS}
    errors = FormErrors()
    try:
        if not values["service"]:
            raise InvalidInput("unknown service ''", field="service")
        applicant = Applicant.parse({"name": values["applicant.name"],
                                     "organisation": values["applicant.organisation"],
                                     "phone": values["applicant.phone"],
                                     "email": values["applicant.email"]})
        result = await app_ctx(request).commands.register(
            principal.staff, values["service"], applicant, values["description"])
    except InvalidInput as exc:
        errors.add(exc)
        return await _intake_page(request, principal, values, errors, status=422)
    return redirect(f"/tanda-terima/{result.task.id}")


@page(roles=("p0", "admin", "supervisor"))
async def receipt(request: Request) -> Response:
    principal: Principal = request.scope["principal"]
    ctx = app_ctx(request)
    async with ctx.db.read() as session:
        task = await load_task(session, path_int(request))
        ensure_can_view(task, principal.staff, principal.scope)
        service = await session.get(Service, task.service_code)
    base = ctx.settings.base_url or str(request.base_url).rstrip("/")
    return render(request, "receipt.html", task=task, service=service,
                  track_url=f"{base}/lacak", track_link=f"{base}/lacak?kode={task.code}")


@page()
async def board(request: Request) -> Response:
    principal: Principal = request.scope["principal"]
    if principal.role == "supervisor":
        return redirect("/penyelia")
    ctx = app_ctx(request)
    async with ctx.db.read() as session:
        units = await queries.units_by_code(session)
        if principal.role in ("p1", "p2"):
            cards = await queries.desk_cards(session, principal)
            eselon2 = await queries.eselon2_under(session, principal.unit) \
                if principal.role == "p1" else []
            kind = "desk"
        else:
            cards = await queries.front_office_cards(session, ctx.settings.tz)
            eselon2 = []
            kind = "p0"
    config = board_config(request, principal, kind, cards, units)
    return render(request, "board.html", config=config, cards=cards, units=units,
                  kind=kind, eselon2=eselon2, complaints=await open_panel(request, principal),
                  actions_for=lambda card: available_actions(card, principal))
