"""``POST /sla/{clock_id}/ack``: a supervisor acknowledges an SLA breach (``hub/sla_ack.py``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from hub.api.common import authenticate, ctx, json_response
from hub.errors import NotFound


async def acknowledge(request: Request) -> JSONResponse:
    """200 with who acknowledged and when, also when someone already had (``recorded`` says
    whether this call did); 403 outside the scope, 404 no such clock, 409 not breached."""
    principal = await authenticate(request)
    raw = request.path_params["clock_id"]
    if not raw.isdigit() or len(raw) > 18:
        raise NotFound(f"SLA clock {raw!r} does not exist")
    ack = await ctx(request).commands.acknowledge_breach(principal, int(raw))
    return json_response(ack.to_dict())
