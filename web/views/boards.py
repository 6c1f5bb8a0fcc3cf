"""The boards: P0 intake (the counter) with its printable receipt, the front-office board of
today's requests, and the P1/P2 desk queues. All of them go live through ``static/js``."""

from __future__ import annotations

import json
from collections.abc import Callable

from sqlmodel import select
from starlette.requests import Request
from starlette.responses import Response

from hub.auth.principal import Principal
from hub.domain.documents import checklist
from hub.domain.tasks import Role
from hub.errors import InvalidInput, PtsaError, Reason
from hub.models import ApplicantConsent, Service, Staff, TaskEvent
from hub.queue import hall_queue
from hub.tasks.commands import ensure_can_view, load_task
from hub.validation import Applicant, optional_email, optional_phone, require_text
from web import i18n, queries
from web.forms import FormErrors, message_for, text_field
from web.qr import qr_svg
from web.render import app_ctx, redirect, render
from web.views.base import page, path_int
from web.views.complaints import open_panel
from web.views.live import board_config
from web.views.tasks import available_actions
from workers.notify.applicant import record_consent

INTAKE_FIELDS = ("service", "applicant.name", "applicant.organisation", "applicant.phone",
                 "applicant.email", "description", "queue_ticket", "notify_consent")


def check_intake(values: dict[str, str]) -> tuple[Applicant | None, FormErrors]:
    """Every field's check at once, so the counter sees all that is wrong in one round trip:
    the applicant when all pass, else None and the errors by field."""
    errors = FormErrors()
    checks: list[tuple[str, Callable[[str], object]]] = [
        ("applicant.name", lambda v: require_text("applicant.name", v, max_length=120)),
        ("applicant.organisation", lambda v: require_text("applicant.organisation", v,
                                                          max_length=200, required=False)),
        ("applicant.phone", lambda v: optional_phone("applicant.phone", v)),
        ("applicant.email", lambda v: optional_email("applicant.email", v)),
        ("description", lambda v: require_text("description", v, max_length=4000,
                                               required=False)),
    ]
    if not values["service"]:
        errors["service"] = message_for(Reason.UNKNOWN_SERVICE) or ""
    for name, check in checks:
        try:
            check(values[name])
        except InvalidInput as exc:
            errors.add(exc)
    try:  # the rules across fields (phone or email), with a stand-in for a name already refused
        applicant = Applicant.parse({
            "name": "-" if "applicant.name" in errors else values["applicant.name"],
            "organisation": values["applicant.organisation"],
            "phone": values["applicant.phone"], "email": values["applicant.email"]})
    except InvalidInput as exc:
        if str(exc.details.get("field")) not in errors:
            errors.add(exc)
        return None, errors
    return (None, errors) if errors else (applicant, errors)


async def _intake_page(request: Request, principal: Principal, values: dict[str, str],
                       errors: FormErrors, status: int = 200,
                       documents: list[str] | None = None) -> Response:
    ctx = app_ctx(request)
    async with ctx.db.read() as session:
        services = await queries.active_services(session)
        units = await queries.units_by_code(session)
        cards = await queries.front_office_cards(session, ctx.settings.tz)
    config = board_config(request, principal, "p0", cards, units)
    return render(request, "intake.html", status=status, services=services, units=units,
                  values=values, errors=errors, config=config, cards=cards,
                  ticked=set(documents or ()), checklist=checklist,
                  actions_for=lambda card: available_actions(card, principal))


@page(roles=(Role.P0, Role.ADMIN))
async def intake_form(request: Request) -> Response:
    values = {name: "" for name in INTAKE_FIELDS}
    values["service"] = request.query_params.get("service", "")
    await _prefill_from_ticket(request, values)
    return await _intake_page(request, request.scope["principal"], values, FormErrors())


@page(roles=(Role.P0, Role.ADMIN))
async def intake_submit(request: Request) -> Response:
    principal: Principal = request.scope["principal"]
    form = await request.form()
    values = {name: text_field(form, name) for name in INTAKE_FIELDS}
    documents = [d for d in form.getlist("documents") if isinstance(d, str)]
    applicant, errors = check_intake(values)
    try:
        if applicant is None:
            raise errors.first()
        ticket_id = await _servable_ticket(request, values["queue_ticket"])
        result = await app_ctx(request).commands.register(
            principal.staff, values["service"], applicant, values["description"], documents)
    except InvalidInput as exc:
        if applicant is not None:
            errors.add(exc)
        return await _intake_page(request, principal, values, errors, status=422,
                                  documents=documents)
    if ticket_id is not None:  # "Daftarkan" from the queue: the ticket's service ends here
        await hall_queue(app_ctx(request)).served(ticket_id, result.task)
    if values["notify_consent"] == "1":  # SMS/e-mail to the applicant (workers/notify/applicant.py)
        await record_consent(app_ctx(request).db, result.task.id or 0, principal.id)
    return redirect(f"/tanda-terima/{result.task.id}")


async def _prefill_from_ticket(request: Request, values: dict[str, str]) -> None:
    """``/loket?antrean=<ticket id>`` (the queue's "Daftarkan"): the ticket's group's first
    service, and the ticket to link the registration to."""
    raw = request.query_params.get("antrean", "")
    if raw.isascii() and raw.isdigit() and len(raw) < 10:
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
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
        raise InvalidInput(f"{raw!r} is not a queue ticket", field="queue_ticket")
    try:
        await hall_queue(app_ctx(request)).check_servable(int(raw))
    except PtsaError as exc:
        raise InvalidInput(exc.message, field="queue_ticket", reason=exc.reason,
                           params=exc.params) from None
    return int(raw)


@page(roles=(Role.P0, Role.ADMIN, Role.SUPERVISOR))
async def receipt(request: Request) -> Response:
    principal: Principal = request.scope["principal"]
    ctx = app_ctx(request)
    async with ctx.db.read() as session:
        task = await load_task(session, path_int(request))
        ensure_can_view(task, principal.staff, principal.scope)
        service = await session.get(Service, task.service_code)
        officer = await session.get(Staff, task.created_by)
        consent = await session.get(ApplicantConsent, task.id)
        created = (await session.exec(select(TaskEvent).where(
            TaskEvent.task_id == task.id, TaskEvent.type == "task.created"))).first()
    documents = json.loads(created.data).get("documents", []) if created else []
    base = ctx.settings.base_url or str(request.base_url).rstrip("/")
    link = f"{base}/lacak?kode={task.code}"
    return render(request, "receipt.html", task=task, service=service, officer=officer,
                  consent=consent,
                  documents=documents, track_url=f"{base}/lacak", track_link=link,
                  qr=qr_svg(link, i18n.gettext("QR code of the tracking link")))


@page()
async def board(request: Request) -> Response:
    principal: Principal = request.scope["principal"]
    if principal.role == Role.SUPERVISOR:
        return redirect("/penyelia")
    ctx = app_ctx(request)
    async with ctx.db.read() as session:
        units = await queries.units_by_code(session)
        services = await queries.active_services(session)
        if principal.role in (Role.P1, Role.P2):
            cards = await queries.desk_cards(session, principal)
            eselon2 = await queries.eselon2_under(session, principal.unit) \
                if principal.role == Role.P1 else []
            kind = "desk"
        else:
            cards = await queries.front_office_cards(session, ctx.settings.tz)
            eselon2 = []
            kind = "p0"
    config = board_config(request, principal, kind, cards, units)
    return render(request, "board.html", config=config, cards=cards, units=units,
                  kind=kind, eselon2=eselon2, services=services,
                  complaints=await open_panel(request, principal),
                  actions_for=lambda card: available_actions(card, principal))
