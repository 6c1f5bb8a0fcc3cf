"""Admin: KPI targets per unit and metric (``hub.reports.kpi_targets``), shown on the KPI page."""

from __future__ import annotations

from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import Response

from hub.errors import PtsaError
from hub.models import Unit
from hub.reports.kpi_targets import METRICS, load_targets, set_target
from web.forms import FormErrors, text_field
from web.i18n import gettext as _
from web.render import app_ctx, redirect, render
from web.views.base import page

ADMIN = ("admin",)


async def _page(request: Request, values: dict[str, str] | None = None,
                errors: FormErrors | None = None, status: int = 200) -> Response:
    async with app_ctx(request).db.read() as session:
        units = (await session.exec(select(Unit).where(
            col(Unit.level).in_(("eselon1", "eselon2")), col(Unit.active).is_(True))
            .order_by(col(Unit.level), col(Unit.code)))).all()
        targets = await load_targets(session)
    notice = _("Saved.") if request.query_params.get("ok") else ""
    return render(request, "admin/targets.html", status=status, units=units, targets=targets,
                  metrics=METRICS, values=values or {}, errors=errors or FormErrors(),
                  notice=notice, section="targets")


@page(roles=ADMIN)
async def targets_page(request: Request) -> Response:
    return await _page(request)


@page(roles=ADMIN)
async def target_save(request: Request) -> Response:
    form = await request.form()
    values = {n: text_field(form, n) for n in ("unit", "metric", "target")}
    try:
        await set_target(app_ctx(request).db, values["unit"], values["metric"], values["target"])
    except PtsaError as exc:
        errors = FormErrors()
        errors.add(exc, fallback_field="target")
        return await _page(request, values, errors, status=exc.status)
    return redirect("/admin/target?ok=1")
