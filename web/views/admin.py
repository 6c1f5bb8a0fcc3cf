"""Admin pages: staff, units, services and SOP days, SLA minutes, calendar days."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import Response

from hub.errors import NotFound, PtsaError
from hub.models import AppSetting, CalendarDay, Service, Unit, utcnow
from hub.tasks.clocks import P1_HANDLING_KEY, P1_PICKUP_KEY, P2_PICKUP_KEY
from hub.tasks.supervise import units_without_desk
from web import admin_ops
from web.forms import FormErrors, localise, text_field
from web.i18n import gettext as _
from web.render import app_ctx, redirect, render
from web.views.base import page, path_int

ADMIN = ("admin",)
STAFF_FIELDS = ("username", "full_name", "role", "unit", "email", "phone", "password")


async def _units(request: Request) -> list[Unit]:
    async with app_ctx(request).db.read() as session:
        rows = await session.exec(select(Unit).order_by(col(Unit.level), col(Unit.code)))
        return list(rows.all())


def _notice(request: Request) -> str:
    released = request.query_params.get("released", "")
    if released.isascii() and released.isdigit() and 0 < int(released) < 10**6:
        return _("Saved. %(count)s request(s) this staff member held went back to their "
                 "unit's queue.") % {"count": int(released)}
    return _("Saved.") if request.query_params.get("ok") else ""


async def _staff_page(request: Request, values: dict[str, str] | None = None,
                      errors: FormErrors | None = None, status: int = 200) -> Response:
    staff = await admin_ops.staff_list(app_ctx(request))
    return render(request, "admin/staff.html", status=status, staff=staff,
                  units=await _units(request), values=values or {}, errors=errors or FormErrors(),
                  notice=_notice(request), section="staff")


@page(roles=ADMIN)
async def staff_page(request: Request) -> Response:
    return await _staff_page(request)


@page(roles=ADMIN)
async def staff_add(request: Request) -> Response:
    form = await request.form()
    values = {name: text_field(form, name) for name in STAFF_FIELDS}
    try:
        await admin_ops.add_staff(app_ctx(request), username=values["username"],
                                  role=values["role"], unit=values["unit"],
                                  full_name=values["full_name"], email=values["email"],
                                  phone=values["phone"], password=values["password"])
    except PtsaError as exc:
        errors = FormErrors()
        errors.add(exc, fallback_field="username")
        if errors.get("name"):
            errors["full_name"] = errors.pop("name")
        values["password"] = ""
        return await _staff_page(request, values, errors, status=exc.status)
    return redirect("/admin/petugas?ok=1")


@page(roles=ADMIN)
async def staff_state(request: Request) -> Response:
    staff_id = path_int(request, "staff_id")
    change = request.path_params["change"]
    if change not in ("aktifkan", "nonaktifkan"):
        raise NotFound(f"no change {change!r}")
    active = change == "aktifkan"
    principal = request.scope["principal"]
    _staff, released = await admin_ops.set_staff_active(app_ctx(request), staff_id, active,
                                                        by=principal.staff)
    return redirect(f"/admin/petugas?ok=1&released={released}" if released
                    else "/admin/petugas?ok=1")


@page(roles=ADMIN)
async def staff_password(request: Request) -> Response:
    staff_id = path_int(request, "staff_id")
    form = await request.form()
    try:
        await admin_ops.reset_password(app_ctx(request), staff_id, text_field(form, "password"))
    except PtsaError as exc:
        errors = FormErrors()
        errors[f"password.{staff_id}"] = localise(exc)
        return await _staff_page(request, errors=errors, status=exc.status)
    return redirect("/admin/petugas?ok=1")


async def _units_page(request: Request, values: dict[str, str] | None = None,
                      errors: FormErrors | None = None, status: int = 200) -> Response:
    async with app_ctx(request).db.read() as session:
        unstaffed = [u.code for u in await units_without_desk(session)]
    return render(request, "admin/units.html", status=status, units=await _units(request),
                  values=values or {}, errors=errors or FormErrors(), notice=_notice(request),
                  section="units", unstaffed=unstaffed)


@page(roles=ADMIN)
async def units_page(request: Request) -> Response:
    return await _units_page(request)


@page(roles=ADMIN)
async def unit_add(request: Request) -> Response:
    form = await request.form()
    values = {n: text_field(form, n) for n in ("code", "name", "short_name", "parent")}
    try:
        await admin_ops.add_unit(app_ctx(request), **values)
    except PtsaError as exc:
        errors = FormErrors()
        errors.add(exc, fallback_field="code")
        return await _units_page(request, values, errors, status=exc.status)
    return redirect("/admin/unit?ok=1")


@page(roles=ADMIN)
async def unit_update(request: Request) -> Response:
    form = await request.form()
    code = request.path_params["code"]
    try:
        await admin_ops.update_unit(app_ctx(request), code, name=text_field(form, "name"),
                                    short_name=text_field(form, "short_name"),
                                    active=form.get("active") == "1")
    except PtsaError as exc:
        errors = FormErrors()
        errors[f"unit.{code}"] = localise(exc)
        return await _units_page(request, errors=errors, status=exc.status)
    return redirect("/admin/unit?ok=1")


async def _services_page(request: Request, values: dict[str, str] | None = None,
                         errors: FormErrors | None = None, status: int = 200) -> Response:
    async with app_ctx(request).db.read() as session:
        services = list((await session.exec(select(Service).order_by(
            col(Service.eselon1), col(Service.code)))).all())
    return render(request, "admin/services.html", status=status, services=services,
                  units=await _units(request), values=values or {},
                  errors=errors or FormErrors(), notice=_notice(request), section="services")


@page(roles=ADMIN)
async def services_page(request: Request) -> Response:
    return await _services_page(request)


@page(roles=ADMIN)
async def service_add(request: Request) -> Response:
    form = await request.form()
    values = {n: text_field(form, n) for n in ("code", "name", "eselon2", "sop_days")}
    try:
        await admin_ops.add_service(app_ctx(request), **values)
    except PtsaError as exc:
        errors = FormErrors()
        errors.add(exc, fallback_field="code")
        return await _services_page(request, values, errors, status=exc.status)
    return redirect("/admin/layanan?ok=1")


@page(roles=ADMIN)
async def service_update(request: Request) -> Response:
    form = await request.form()
    code = request.path_params["code"]
    try:
        await admin_ops.update_service(app_ctx(request), code, name=text_field(form, "name"),
                                       sop_days=text_field(form, "sop_days"),
                                       active=form.get("active") == "1",
                                       documents=text_field(form, "documents"))
    except PtsaError as exc:
        errors = FormErrors()
        errors[f"service.{code}"] = localise(exc)
        return await _services_page(request, errors=errors, status=exc.status)
    return redirect("/admin/layanan?ok=1")


async def _sla_values(request: Request) -> dict[str, str]:
    ctx = app_ctx(request)
    async with ctx.db.read() as session:
        stored = {s.key: s.value for s in (await session.exec(select(AppSetting))).all()}

    def minutes(key: str, default: timedelta) -> str:
        seconds = float(stored[key]) if key in stored else default.total_seconds()
        return f"{seconds / 60:g}"

    return {"p1_minutes": minutes(P1_PICKUP_KEY, ctx.policies.defaults.p1_pickup),
            "p2_minutes": minutes(P2_PICKUP_KEY, ctx.policies.defaults.p2_pickup),
            "p1_handling_minutes": minutes(P1_HANDLING_KEY, ctx.policies.defaults.p1_handling)}


@page(roles=ADMIN)
async def sla_page(request: Request) -> Response:
    return render(request, "admin/sla.html", values=await _sla_values(request),
                  errors=FormErrors(), notice=_notice(request), section="sla",
                  calendar=app_ctx(request).settings.calendar)


@page(roles=ADMIN)
async def sla_save(request: Request) -> Response:
    form = await request.form()
    values = {n: text_field(form, n) for n in ("p1_minutes", "p2_minutes",
                                                "p1_handling_minutes")}
    try:
        # An older form without the handling field leaves that setting alone.
        await admin_ops.set_sla_minutes(app_ctx(request), values["p1_minutes"],
                                        values["p2_minutes"],
                                        values["p1_handling_minutes"]
                                        if "p1_handling_minutes" in form else None)
    except PtsaError as exc:
        errors = FormErrors()
        errors.add(exc, fallback_field="p1_minutes")
        return render(request, "admin/sla.html", status=exc.status, values=values,
                      errors=errors, notice="", section="sla",
                      calendar=app_ctx(request).settings.calendar)
    return redirect("/admin/sla?ok=1")


async def _calendar_page(request: Request, values: dict[str, str] | None = None,
                         errors: FormErrors | None = None, status: int = 200) -> Response:
    ctx = app_ctx(request)
    async with ctx.db.read() as session:
        days = list((await session.exec(select(CalendarDay).order_by(
            col(CalendarDay.day)))).all())
    policy = await ctx.policy()
    today = utcnow().astimezone(ctx.settings.tz).date()
    upcoming: list[dict[str, Any]] = []
    for offset in range(0, 120):
        d = today + timedelta(days=offset)
        name = policy.calendar.holiday_name(d)
        if name:
            upcoming.append({"day": d, "name": name})
    return render(request, "admin/calendar.html", status=status, days=days, upcoming=upcoming,
                  values=values or {}, errors=errors or FormErrors(), notice=_notice(request),
                  section="calendar")


@page(roles=ADMIN)
async def calendar_page(request: Request) -> Response:
    return await _calendar_page(request)


@page(roles=ADMIN)
async def calendar_set(request: Request) -> Response:
    form = await request.form()
    values = {n: text_field(form, n) for n in ("day", "kind", "name")}
    try:
        await admin_ops.set_calendar_day(app_ctx(request), by=request.scope["principal"].staff,
                                         **values)
    except PtsaError as exc:
        errors = FormErrors()
        errors.add(exc, fallback_field="day")
        return await _calendar_page(request, values, errors, status=exc.status)
    return redirect("/admin/kalender?ok=1")


@page(roles=ADMIN)
async def calendar_remove(request: Request) -> Response:
    await admin_ops.remove_calendar_day(app_ctx(request), request.path_params["day"])
    return redirect("/admin/kalender?ok=1")
