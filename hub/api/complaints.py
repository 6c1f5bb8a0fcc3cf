"""Complaints (pengaduan) over the API (hub/feedback/complaints.py).

``POST /complaints`` is public and rate-limited per address (the throttle of public tracking);
``GET /complaints`` and ``POST /complaints/{number}/reply`` are for signed-in staff within scope.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from hub.api.common import authenticate, ctx, json_response, read_json
from hub.auth.throttle import limit_rate
from hub.feedback import complaints
from hub.tasks.serializers import iso


async def file_complaint(request: Request) -> JSONResponse:
    client = request.client.host if request.client else "unknown"
    await limit_rate(ctx(request).redis, "complaint", client, complaints.LIMIT_PER_WINDOW,
                     complaints.WINDOW_SECONDS)
    body = await read_json(request)
    filed = await complaints.file(ctx(request), body)
    return json_response({"number": filed.number, "due_at": iso(filed.due_at),
                          "status": filed.status}, status=201)


async def list_complaints(request: Request) -> JSONResponse:
    principal = await authenticate(request)
    rows = await complaints.open_for(ctx(request), principal)
    return json_response({"items": [complaints.card(c) for c in rows]})


async def reply_complaint(request: Request) -> JSONResponse:
    principal = await authenticate(request)
    body = await read_json(request)
    answered = await complaints.reply(ctx(request), principal, request.path_params["number"],
                                      body.get("reply"))
    return json_response(complaints.card(answered))


async def forward_complaint(request: Request) -> JSONResponse:
    principal = await authenticate(request)
    body = await read_json(request)
    moved = await complaints.forward(ctx(request), principal, request.path_params["number"],
                                     body.get("unit"))
    return json_response(complaints.card(moved))
