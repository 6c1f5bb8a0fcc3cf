"""The boards: P0 intake (the counter) with its printable receipt, the front-office board of
today's requests, and the P1/P2 desk queues. All of them go live through ``static/js``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from hub.auth.principal import Principal
from hub.commands import ensure_can_view, load_task
from hub.errors import InvalidInput, PtsaError
from hub.models import ApplicantConsent, Service
from hub.queue import hall_queue
from hub.validation import Applicant
from web import queries
from web.forms import FormErrors, text_field
from web.render import app_ctx, redirect, render
from web.views.base import page, path_int
from web.views.live import board_config
from web.views.tasks import available_actions
from workers.applicant import record_consent

INTAKE_FIELDS = ("service", "applicant.name", "applicant.organisation", "applicant.phone",
                 "applicant.email", "description", "queue_ticket", "notify_consent")


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
    await _prefill_from_ticket(request, values)
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
        ticket_id = await _servable_ticket(request, values["queue_ticket"])
        result = await app_ctx(request).commands.register(
            principal.staff, values["service"], applicant, values["description"])
    except InvalidInput as exc:
        errors.add(exc)
        return await _intake_page(request, principal, values, errors, status=422)
    if ticket_id is not None:  # "Daftarkan" from the queue: the ticket's service ends here
        await hall_queue(app_ctx(request)).served(ticket_id, result.task)
    if values["notify_consent"] == "1":  # SMS/e-mail to the applicant (workers/applicant.py)
        await record_consent(app_ctx(request).db, result.task.id or 0, principal.id)
    return redirect(f"/tanda-terima/{result.task.id}")


async def _prefill_from_ticket(request: Request, values: dict[str, str]) -> None:
    """``/loket?antrean=<ticket id>`` (the queue's "Daftarkan"): the ticket's group's first
    service, and the ticket to link the registration to."""
    raw = request.query_params.get("antrean", "")
    if raw.isdigit() and len(raw) < 18:
        hall = hall_queue(app_ctx(request))
        ticket = await hall.check_servable(int(raw))
        group = hall.config.group(ticket.group_code)
        values["queue_ticket"] = raw
        values["queue_number"] = ticket.number
        if group and group.services and not values["service"]:
            values["service"] = group.services[0]


async def _servable_ticket(request: Request, raw: str) -> int | None:
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise InvalidInput(f"{raw!r} is not a queue ticket", field="queue_ticket")
    try:
        await hall_queue(app_ctx(request)).check_servable(int(raw))
    except PtsaError as exc:
        raise InvalidInput(exc.message, field="queue_ticket") from None
    return int(raw)


@page(roles=("p0", "admin", "supervisor"))
async def receipt(request: Request) -> Response:
    principal: Principal = request.scope["principal"]
    ctx = app_ctx(request)
    async with ctx.db.read() as session:
        task = await load_task(session, path_int(request))
        ensure_can_view(task, principal.staff, principal.scope)
        service = await session.get(Service, task.service_code)
        consent = await session.get(ApplicantConsent, task.id)
    base = ctx.settings.base_url or str(request.base_url).rstrip("/")
    return render(request, "receipt.html", task=task, service=service, consent=consent,
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
                  kind=kind, eselon2=eselon2,
                  actions_for=lambda card: available_actions(card, principal))
