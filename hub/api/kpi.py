"""``GET /api/v1/kpi``: unit and service KPIs as JSON, or CSV with ``format=csv``.

Query parameters: ``by`` (``unit`` | ``eselon1`` | ``service``), ``from`` and ``to`` (dates of
registration, ``YYYY-MM-DD`` in the office time zone; default: the trend window up to today),
``weeks`` (trend length, 1-52, default 8), ``unit`` (an Eselon I or II code), ``service``,
``format`` (``json`` | ``csv`` | ``excel``: the CSV for Excel set to Indonesian,
``hub/reports/kpi_excel.py``). The caller sees the tasks their role may see
(``hub.domain.visibility.visible_tasks``).
Definitions: ``hub/reports/kpi.py``.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from hub.api.common import authenticate, ctx, json_response
from hub.models import utcnow
from hub.reports import kpi
from hub.reports.kpi_excel import excel_csv
from hub.reports.kpi_report import build_report, parse_params


def csv_response(report: dict[str, Any]) -> Response:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(kpi.csv_rows(report))
    name = f"ptsa-kpi-{report['by']}-{report['from']}-{report['to']}.csv"
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


async def get_kpi(request: Request) -> Response:
    principal = await authenticate(request)
    today = utcnow().astimezone(ctx(request).settings.tz).date()
    params = parse_params(request.query_params, today)
    report = await build_report(ctx(request), principal, params)
    if params["format"] == "csv":
        return csv_response(report)
    if params["format"] == "excel":
        name = f"ptsa-kinerja-{report['by']}-{report['from']}-{report['to']}.csv"
        return Response(excel_csv(report).encode("utf-8"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return json_response(report)
