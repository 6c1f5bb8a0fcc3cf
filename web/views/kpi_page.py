"""The KPI page: the same report as ``GET /api/v1/kpi``, as tables and SVG charts."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent
from starlette.requests import Request
from starlette.responses import Response

from hub.errors import InvalidInput
from hub.models import utcnow
from hub.reports.kpi import NOT_DISPOSED
from hub.reports.kpi_report import build_report, parse_params
from web import i18n
from web.charts import bar_chart, line_chart
from web.forms import FormErrors
from web.render import app_ctx, render
from web.views.base import page
from web.views.skm_page import ikm_panel

PARAMS = ("by", "from", "to", "weeks", "unit", "service")


def percent(value: float | None) -> str:
    if value is None:
        return "–"
    return format_percent(value, locale=i18n.BABEL_LOCALES[i18n.current_language()])


def number(value: float | None) -> str:
    if value is None:
        return "–"
    return format_decimal(value, locale=i18n.BABEL_LOCALES[i18n.current_language()])


@page()
async def kpi_page(request: Request) -> Response:
    principal = request.scope["principal"]
    today = utcnow().astimezone(app_ctx(request).settings.tz).date()
    errors = FormErrors()
    query = {k: v for k, v in request.query_params.items() if k in PARAMS and v}
    try:
        params = parse_params(query, today)
    except InvalidInput as exc:
        errors.add(exc)
        params = parse_params({}, today)
    report = await build_report(app_ctx(request), principal, params)
    groups = report["groups"]
    share_key = "pickup_p2" if params["by"] == "unit" else "pickup_p1"
    charts: dict[str, Any] = {
        "pickup": bar_chart([(group_label(g), g[share_key]["share_within"]) for g in groups]),
        "completion": bar_chart([(group_label(g), g["completion"]["share_within"])
                                 for g in groups]),
        "trend": line_chart([(axis_day(w["start"]), w["completion_share_within"])
                             for w in report["totals"]["trend"]]),
        "trend_pickup": line_chart([(axis_day(w["start"]), w["pickup_share_within"])
                                    for w in report["totals"]["trend"]]),
    }
    csv_query = {k: str(v) for k, v in params.items() if k in PARAMS and v is not None}
    csv_query.update({"from": params["from"].isoformat(), "to": params["to"].isoformat(),
                      "format": "csv"})
    ikm = await ikm_panel(request, principal, params["from"], params["to"], params["unit"])
    excel_query = {**csv_query, "format": "excel"}
    return render(request, "kpi.html", report=report, params=params, charts=charts,
                  errors=errors, share_key=share_key, percent=percent, number=number,
                  csv_url="/api/v1/kpi?" + urlencode(csv_query),
                  excel_url="/api/v1/kpi?" + urlencode(excel_query), ikm=ikm)


def group_label(group: dict[str, Any]) -> str:
    """A row's name on the page: the API names the row of requests not yet disposed in English."""
    return i18n.gettext("Not yet disposed") if group["key"] == NOT_DISPOSED else str(group["name"])


def axis_day(iso_day: str) -> str:
    """A week's first day on a chart axis in the page's language: "12 Okt", not "10-12"."""
    language = i18n.current_language()
    return format_date(date.fromisoformat(iso_day), "d MMM",
                       locale=i18n.BABEL_LOCALES[language])
