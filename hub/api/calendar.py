"""``GET /calendar/open``: the office's open spans around now, so a screen counts an SOP deadline
in working time ("sisa 2 hari kerja 3 jam") by the SLA engine's own calendar
(``BusinessCalendar.open_spans``, with the admin's extra holidays and working days)."""

from __future__ import annotations

from datetime import timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse

from hub.api.common import authenticate, ctx, json_response
from hub.models import utcnow
from hub.tasks.serializers import iso

BEHIND = timedelta(days=45)  # late SOP deadlines are counted back this far
AHEAD = timedelta(days=75)  # more than the longest SOP commitment plus holds


async def open_spans(request: Request) -> JSONResponse:
    await authenticate(request)
    calendar = (await ctx(request).policy()).calendar
    now = utcnow()
    start, end = now - BEHIND, now + AHEAD
    return json_response({
        "from": iso(start), "to": iso(end),
        "working_day_seconds": int(calendar.working_day_length.total_seconds()),
        "spans": [[iso(o), iso(c)] for o, c in calendar.open_spans(start, end)],
    })
