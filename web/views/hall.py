"""The hall's screens: the kiosk (``/antrean``) and its ticket slip, the hall display
(``/layar``), the counter's calling screen (``/loket/antrean``), the public ticket status behind
the slip's QR code, and the admin's devices page (``/admin/perangkat``).

Kiosk and display pages sign in with a device token (hub/queue/devices.py): passed once as
``?token=``, then kept in an HttpOnly cookie; the address bar is cleaned by a redirect so the
token does not linger on screen.
"""

from __future__ import annotations

from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response

from hub.auth.principal import Principal
from hub.auth.sessions import kick
from hub.domain.tasks import Role
from hub.errors import NotAuthenticated, NotFound, PtsaError
from hub.models import Device, QueueTicket
from hub.queue import hall_queue
from hub.queue.devices import (
    COOKIE_NAME,
    add_device,
    device_csrf,
    device_for_token,
    device_username,
    list_devices,
    revoke_device,
)
from web import i18n
from web.forms import text_field
from web.i18n import gettext as _
from web.qr import qr_svg
from web.render import app_ctx, redirect, render
from web.views.base import page, path_int

DEVICE_COOKIE_AGE = 400 * 24 * 3600  # the browser's upper limit: a kiosk stays signed in
COUNTER_COOKIE = "ptsa_loket"


def _refused(request: Request, exc: PtsaError) -> Response:
    reasons = {
        "device_revoked": _("This device's access was revoked by an administrator."),
        "device_kind": _("This token belongs to another kind of device."),
    }
    message = reasons.get(exc.code, _("This device is not registered, or its token is not "
                                      "known."))
    return render(request, "hall_refused.html", status=exc.status, message=message,
                  code=exc.code)


async def _device(request: Request, kind: str) -> Device | Response:
    """The signed-in device of this kind, a redirect that stores ``?token=``, or a refusal."""
    i18n.set_language(i18n.normalise_language(request.query_params.get("lang")) or "id")
    given = request.query_params.get("token")
    try:
        device = await device_for_token(app_ctx(request).db,
                                        given or request.cookies.get(COOKIE_NAME), kind)
    except NotAuthenticated as exc:
        response = _refused(request, exc)
        if given is None:
            response.delete_cookie(COOKIE_NAME)
        return response
    if given is not None:
        response = redirect(request.url.path)
        response.set_cookie(COOKIE_NAME, given, max_age=DEVICE_COOKIE_AGE, httponly=True,
                            samesite="strict")
        return response
    return device


async def kiosk(request: Request) -> Response:
    found = await _device(request, "kiosk")
    if not isinstance(found, Device):
        return found
    ctx = app_ctx(request)
    hall = hall_queue(ctx)
    snapshot = await hall.snapshot()
    return render(request, "antrean.html", groups=snapshot["groups"], device=found,
                  config={"csrf": device_csrf(ctx.settings.secret_key, found), "strings": {
                      "closed": _("The service hall is closed. Tickets can be taken again from "
                                  "%(when)s."),
                      "failed": _("The ticket could not be printed. Please ask the "
                                  "receptionist.")}})


async def _slip_caller(request: Request) -> None:
    principal: Principal | None = request.scope.get("principal")
    if principal is not None and principal.role in (Role.P0, Role.ADMIN):
        return
    await device_for_token(app_ctx(request).db, request.cookies.get(COOKIE_NAME), "kiosk")


async def slip(request: Request) -> Response:
    """The printable slip (58/80 mm) of a ticket: for the kiosk that took it, or staff."""
    i18n.set_language("id")
    try:
        await _slip_caller(request)
    except NotAuthenticated as exc:
        return _refused(request, exc)
    ctx = app_ctx(request)
    ticket = await hall_queue(ctx).ticket(path_int(request, "ticket_id"))
    snapshot = await hall_queue(ctx).snapshot()
    group = next((g for g in snapshot["groups"] if g["code"] == ticket.group_code), None)
    base = ctx.settings.base_url or str(request.base_url).rstrip("/")
    link = f"{base}/antrean/cek/{ticket.day}/{ticket.number}"
    ahead = request.query_params.get("ahead", "")
    wait = request.query_params.get("wait", "")
    qr = qr_svg(link, scale=3)  # smaller modules than the receipt's: a 58/80 mm roll
    return render(request, "slip.html", ticket=ticket, group=group, link=link, qr=qr,
                  ahead=ahead if ahead.isdigit() else "", wait=wait if wait.isdigit() else "",
                  printed=datetime.now(ctx.settings.tz))


@page(public=True)
async def ticket_status(request: Request) -> Response:
    """Public: where a ticket stands (the slip's QR code). Shows no personal data."""
    day, number = request.path_params["day"], request.path_params["number"]
    ctx = app_ctx(request)
    from sqlmodel import col, select

    async with ctx.db.read() as session:
        ticket = (await session.exec(select(QueueTicket).where(
            col(QueueTicket.day) == str(day)[:8], col(QueueTicket.number) == str(number)[:12],
        ))).first()
    if ticket is None:
        raise NotFound("no such ticket today")
    task_code = None
    if ticket.task_id is not None:
        from hub.models import Task

        async with ctx.db.read() as session:
            task = await session.get(Task, ticket.task_id)
            task_code = task.code if task else None
    return render(request, "ticket_status.html", ticket=ticket, task_code=task_code)


async def display(request: Request) -> Response:
    found = await _device(request, "display")
    if not isinstance(found, Device):
        return found
    snapshot = await hall_queue(app_ctx(request)).snapshot()
    return render(request, "layar.html", snapshot=snapshot,
                  config={"snapshot": snapshot, "channels": ["hall"],
                          "strings": _connection_strings()})


def _connection_strings() -> dict[str, str]:
    return {key: _(key_text) for key, key_text in (
        ("conn.online", "Live"), ("conn.offline", "Offline"), ("conn.connecting", "Connecting…"),
        ("conn.reloading", "Refreshing…"), ("signed_out", "Your session ended; sign in again."))}


@page(roles=(Role.P0, Role.ADMIN))
async def counter(request: Request) -> Response:
    """The counter's calling screen: next, recall, no-show, come back, transfer, register."""
    hall = hall_queue(app_ctx(request))
    counters = [c.code for c in hall.config.counters]
    chosen = request.query_params.get("loket") or request.cookies.get(COUNTER_COOKIE) or ""
    if chosen not in counters:
        chosen = counters[0] if counters else ""
    snapshot = await hall.snapshot()
    response = render(request, "loket_antrean.html", snapshot=snapshot, counters=counters,
                      counter=chosen,
                      config={"counter": chosen, "snapshot": snapshot, "channels": ["hall"],
                              "strings": {
                                  **_connection_strings(),
                                  "queue_empty": _("Nobody is waiting for this counter."),
                                  "called": _("Called %(number)s"),
                                  "taken": _("Ticket %(number)s taken"),
                                  "back": _("Back in line")}})
    response.set_cookie(COUNTER_COOKIE, chosen, max_age=DEVICE_COOKIE_AGE, httponly=True,
                        samesite="lax")
    return response


# --- admin: devices and the running text ------------------------------------------------------
@page(roles=(Role.ADMIN,))
async def devices_page(request: Request) -> Response:
    return await _devices(request)


async def _devices(request: Request, new: tuple[Device, str] | None = None,
                   error: str = "", status: int = 200) -> Response:
    ctx = app_ctx(request)
    async with ctx.db.read() as session:
        devices = await list_devices(session)
    snapshot = await hall_queue(ctx).snapshot()
    return render(request, "admin/devices.html", status=status, devices=devices, new=new,
                  error=error, running_text=snapshot["running_text"], section="devices",
                  errors={}, notice="")


@page(roles=(Role.ADMIN,))
async def device_add(request: Request) -> Response:
    form = await request.form()
    principal: Principal = request.scope["principal"]
    try:
        new = await add_device(app_ctx(request).db, text_field(form, "name"),
                               text_field(form, "kind"), principal.id)
    except PtsaError as exc:
        return await _devices(request, error=exc.message, status=exc.status)
    return await _devices(request, new=new)


@page(roles=(Role.ADMIN,))
async def device_revoke(request: Request) -> Response:
    ctx = app_ctx(request)
    device = await revoke_device(ctx.db, path_int(request, "device_id"))
    await kick(ctx.redis, device_username(device.id or 0))  # its open display closes now
    return redirect("/admin/perangkat")


@page(roles=(Role.ADMIN,))
async def running_text(request: Request) -> Response:
    form = await request.form()
    await hall_queue(app_ctx(request)).set_text(text_field(form, "text")[:300])
    return redirect("/admin/perangkat")
