"""``GET /api/v1/skm``: the IKM (PermenPANRB 14/2017) per unit and service, JSON or CSV.

Query: ``unit`` (an Eselon I or II code within the caller's scope; default: everything the caller
may see), ``from``/``to`` (dates of submission, inclusive; default the year to date), ``format``
(``json`` | ``csv``). Definitions: ``hub/reports/skm_report.py`` and ``hub/domain/skm.py``. """

from __future__ import annotations

import csv
import io

from starlette.requests import Request
from starlette.responses import Response

from hub.api.common import authenticate, ctx, json_response
from hub.errors import InvalidInput
from hub.models import utcnow
from hub.reports import skm_report


async def get_skm(request: Request) -> Response:
    principal = await authenticate(request)
    settings = ctx(request).settings
    query = request.query_params
    fmt = query.get("format") or "json"
    if fmt not in ("json", "csv"):
        raise InvalidInput(f"format must be json or csv; got {fmt!r}", field="format")
    start, end = skm_report.parse_period(query, utcnow().astimezone(settings.tz).date())
    report = await skm_report.build(ctx(request).db, principal, settings.tz, start, end,
                                    query.get("unit") or None)
    if fmt == "json":
        return json_response(report)
    buffer = io.StringIO()
    csv.writer(buffer).writerows(skm_report.csv_rows(report))
    name = f"ptsa-skm-{report['unit'] or 'all'}-{report['from']}-{report['to']}.csv"
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
