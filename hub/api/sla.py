"""``POST /sla/{clock_id}/ack``: a supervisor acknowledges an SLA breach
(``hub/tasks/acknowledgements.py``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from hub.api.common import authenticate, ctx, json_response
from hub.validation import parse_id


async def acknowledge(request: Request) -> JSONResponse:
    """200 with who acknowledged and when, also when someone already had (``recorded`` says
    whether this call did); 403 outside the scope, 404 no such clock, 409 not breached."""
    principal = await authenticate(request)
    clock_id = parse_id(request.path_params["clock_id"], "SLA clock")
    ack = await ctx(request).commands.acknowledge_breach(principal, clock_id)
    return json_response(ack.to_dict())
