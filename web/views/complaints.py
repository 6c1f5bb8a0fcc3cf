"""Complaints on the web: the public form ``/pengaduan`` (no sign-in; throttled like the API,
double-submit CSRF like the sign-in form) and the open complaints panel of the boards and the
supervisor page (answered there through ``POST /api/v1/complaints/{number}/reply``)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from hub.auth.principal import Principal
from hub.auth.throttle import limit_rate
from hub.errors import InvalidInput
from hub.feedback import complaints
from web import csrf
from web.forms import FormErrors, text_field
from web.i18n import N_
from web.i18n import gettext as _
from web.render import app_ctx, render
from web.views.base import page

FIELDS = ("text", "registration", "name", "phone", "email")
FIELD_ERRORS = {
    "text": N_("Write your complaint (at most 4000 characters)."),
    "registration": N_("No request has that registration number. Check your receipt, or leave "
                       "it empty."),
    "name": N_("The name is too long."),
    "phone": N_("Write a phone number like 0812-3456-7890."),
    "email": N_("Write an e-mail address like nama@contoh.id."),
}


def _form(request: Request, values: dict[str, str], errors: FormErrors | None = None,
          status: int = 200, filed: Any = None) -> Response:
    cookie = request.cookies.get(csrf.LOGIN_COOKIE) or csrf.new_login_token()
    response = render(request, "complaint_form.html", status=status, login_csrf=cookie,
                      values=values, errors=errors or FormErrors(), filed=filed)
    if request.scope.get("session") is None:
        response.set_cookie(csrf.LOGIN_COOKIE, cookie, httponly=True, samesite="strict",
                            secure=app_ctx(request).settings.is_production)
    return response


@page(public=True)
async def complaint_form(request: Request) -> Response:
    return _form(request, {"registration": (request.query_params.get("kode") or "")[:30]})


@page(public=True)
async def complaint_submit(request: Request) -> Response:
    client = request.client.host if request.client else "unknown"
    ctx = app_ctx(request)
    await limit_rate(ctx.redis, "complaint", client, complaints.LIMIT_PER_WINDOW,
                     complaints.WINDOW_SECONDS)
    form = await request.form()
    values = {name: text_field(form, name) for name in FIELDS}
    try:
        filed = await complaints.file(ctx, dict(values))
    except InvalidInput as exc:
        field = str(exc.details.get("field", "text"))
        errors = FormErrors({field: _(FIELD_ERRORS.get(field, FIELD_ERRORS["text"]))})
        return _form(request, values, errors, status=422)
    return _form(request, {}, status=201, filed=filed)


async def open_panel(request: Request, principal: Principal) -> list[dict[str, Any]]:
    """The open complaints the principal may see, as cards (no complainant details)."""
    return [complaints.card(c) for c in await complaints.open_for(app_ctx(request), principal)]


def forward_units(principal: Principal, units: dict[str, Any]) -> list[tuple[str, str]]:
    """The units a triaging supervisor may forward to (empty for everyone else)."""
    if not complaints.may_triage(principal):
        return []
    return sorted(((code, u.short_name or u.name) for code, u in units.items()
                   if u.level in ("eselon1", "eselon2")), key=lambda item: item[1])
