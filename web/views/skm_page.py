"""The IKM on the KPI page (a panel beside the time figures, live) and the printable SKM summary
per unit and period (``/kinerja/skm``). Figures: ``hub/reports/skm_report.py``."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from babel.numbers import format_decimal
from starlette.requests import Request
from starlette.responses import Response

from channels import names
from channels.permissions import supervisor_channels
from hub.auth.principal import Principal
from hub.domain import skm
from hub.domain.tasks import FRONT_OFFICE, Role
from hub.errors import InvalidInput
from hub.models import utcnow
from hub.reports import skm_report
from web import i18n
from web.charts import LineChart, line_chart
from web.forms import FormErrors
from web.i18n import N_
from web.render import app_ctx, render
from web.views.base import page


def two_places(value: float | None) -> str:
    """An IKM or NRR as the regulation prints it: two decimals, in the page's language."""
    if value is None:
        return "–"
    return format_decimal(value, format="0.00", locale=i18n.BABEL_LOCALES[i18n.current_language()])


JS_STRINGS = {"skm.none": N_("No answers yet")}
MUTU_LABELS = {"A": N_("Very good"), "B": N_("Good"), "C": N_("Fair"), "D": N_("Poor")}


def live_channels(principal: Principal) -> list[str]:
    """Where a survey answer is announced (``skm.response``) for this viewer: the sup.* channels
    they may hear; none for desks, whose KPI page then shows the figures as loaded."""
    if principal.role == Role.ADMIN:
        return [names.sup(FRONT_OFFICE)]
    if principal.role == Role.SUPERVISOR:
        return [c for c in supervisor_channels(principal) if c.startswith("sup.")]
    return []


def trend_chart(report: dict[str, Any]) -> LineChart:
    return line_chart([(w["start"][5:], w["ikm"]) for w in report["trend"]], maximum=100.0,
                      tick_labels=("0", "25", "50", "75", "100"))


def api_query(unit: str | None, start: date, end: date, **extra: str) -> str:
    query = {"from": start.isoformat(), "to": end.isoformat(), **extra}
    if unit:
        query["unit"] = unit
    return urlencode(query)


async def ikm_panel(request: Request, principal: Principal, start: date, end: date,
                    unit: str | None) -> dict[str, Any]:
    """The panel's context for kpi.html: report, chart, links and live config."""
    ctx = app_ctx(request)
    try:
        report = await skm_report.build(ctx.db, principal, ctx.settings.tz, start, end, unit)
    except InvalidInput as exc:
        return {"error": FormErrors({"general": exc.message})}
    query = api_query(unit, start, end)
    return {
        "report": report, "chart": trend_chart(report),
        "csv_url": "/api/v1/skm?" + api_query(unit, start, end, format="csv"),
        "print_url": "/kinerja/skm?" + query,
        "live": {"channels": live_channels(principal), "url": "/api/v1/skm?" + query,
                 "lang": i18n.current_language(), "timezone": ctx.settings.timezone,
                 "strings": i18n.js_strings(JS_STRINGS)},
        "elements": skm.ELEMENTS, "mutu_labels": MUTU_LABELS, "fmt": two_places,
    }


@page()
async def skm_summary(request: Request) -> Response:
    """The printable summary: the regulation's tabulation for one unit (or the caller's whole
    scope) and period."""
    principal: Principal = request.scope["principal"]
    today = utcnow().astimezone(app_ctx(request).settings.tz).date()
    start, end = skm_report.parse_period(request.query_params, today)
    unit = request.query_params.get("unit") or None
    report = await skm_report.build(app_ctx(request).db, principal, app_ctx(request).settings.tz,
                                    start, end, unit)
    title = next((u["name"] for u in report["units"] if u["code"] == unit), None)
    weighted = [round(v / len(skm.ELEMENTS), 3) for v in report["elements"]]
    return render(request, "skm_summary.html", report=report, elements=skm.ELEMENTS,
                  weighted=weighted, title=title, start=start, end=end,
                  mutu_labels=MUTU_LABELS, generated=utcnow(), fmt=two_places)
