"""Admin: edit a staff member's name, contacts, unit and role. A new unit or role releases the
requests they held (the admin is told how many) and ends their sessions and sockets."""

from __future__ import annotations

from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import Response

from hub.auth.accounts import edit_staff, finish_edit
from hub.errors import NotFound, PtsaError
from hub.models import Staff, Unit
from web.forms import FormErrors, text_field
from web.render import app_ctx, redirect, render
from web.views.base import page, path_int

ADMIN = ("admin",)
FIELDS = ("full_name", "email", "phone", "unit", "role")


async def _form(request: Request, staff: Staff, values: dict[str, str] | None = None,
                errors: FormErrors | None = None, status: int = 200) -> Response:
    async with app_ctx(request).db.read() as session:
        units = (await session.exec(select(Unit).where(col(Unit.active).is_(True))
                                    .order_by(col(Unit.level), col(Unit.code)))).all()
    shown = values or {"full_name": staff.full_name, "email": staff.email or "",
                       "phone": staff.phone or "", "unit": staff.unit_code, "role": staff.role}
    return render(request, "admin/staff_edit.html", status=status, person=staff, units=units,
                  values=shown, errors=errors or FormErrors(), section="staff")


async def _staff(request: Request) -> Staff:
    async with app_ctx(request).db.read() as session:
        staff = await session.get(Staff, path_int(request, "staff_id"))
    if staff is None:
        raise NotFound("no such staff member")
    return staff


@page(roles=ADMIN)
async def staff_edit_page(request: Request) -> Response:
    return await _form(request, await _staff(request))


@page(roles=ADMIN)
async def staff_edit(request: Request) -> Response:
    staff = await _staff(request)
    form = await request.form()
    values = {name: text_field(form, name) for name in FIELDS}
    ctx = app_ctx(request)
    try:
        edit = await edit_staff(ctx.db, staff.username, full_name=values["full_name"],
                                email=values["email"], phone=values["phone"],
                                unit=values["unit"], role=values["role"])
    except PtsaError as exc:
        errors = FormErrors()
        errors.add(exc, fallback_field="full_name")
        if errors.get("name"):
            errors["full_name"] = errors.pop("name")
        return await _form(request, staff, values, errors, status=exc.status)
    edit = await finish_edit(edit, ctx.commands, ctx.redis, request.scope["principal"].staff)
    if edit.released:
        return redirect(f"/admin/petugas?ok=1&released={edit.released}")
    return redirect("/admin/petugas?ok=1")
