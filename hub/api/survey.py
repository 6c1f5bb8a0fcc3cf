"""``POST /api/v1/survey/{token}``: the public SKM questionnaire (hub/feedback/survey.py).

201 recorded · 404 unknown link · 409 already answered · 410 expired · 422 bad answers, profile or
suggestion (nothing stored) · 413 a body over 64 KiB. No sign-in: the token is the credential.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from hub.api.common import ctx, json_response, read_json
from hub.feedback import survey


async def submit_survey(request: Request) -> JSONResponse:
    token = request.path_params["token"]
    await survey.check_token(ctx(request).db, token)
    body = await read_json(request)
    await survey.submit(ctx(request), token, body)
    return json_response({"status": "recorded"}, status=201)
