"""``/api/v1/queue``: tickets from the kiosk or the desk, calls at the counters, the hall state.

Callers: staff (bearer token or browser session, as everywhere) and devices. A kiosk or display
page sends its ``ptsa_device`` cookie plus the page's ``X-CSRF-Token``; other device clients send
``Authorization: Device <token>``.
"""

from __future__ import annotations

import hmac
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from hub.api.common import authenticate, ctx, json_response, read_json
from hub.auth.principal import Principal
from hub.errors import Forbidden, InvalidInput
from hub.queue import hall_queue
from hub.queue.devices import COOKIE_NAME, device_csrf, device_for_token, device_principal
from hub.validation import parse_id

STAFF_CALLERS = ("p0", "admin")
VIEWERS = ("p0", "admin", "supervisor", "kiosk", "display")


async def caller(request: Request) -> tuple[Principal, int | None]:
    """The principal and, for a device, its id."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "device":
        device = await device_for_token(ctx(request).db, token.strip())
        return device_principal(device), device.id
    cookie = request.cookies.get(COOKIE_NAME)
    if cookie and request.scope.get("principal") is None and scheme.lower() != "bearer":
        device = await device_for_token(ctx(request).db, cookie)
        if request.method != "GET":
            given = request.headers.get("x-csrf-token", "")
            expected = device_csrf(ctx(request).settings.secret_key, device)
            if not hmac.compare_digest(given.encode(), expected.encode()):
                raise Forbidden("a device page must send its X-CSRF-Token header",
                                code="csrf")
        return device_principal(device), device.id
    return await authenticate(request), None


def _require(principal: Principal, roles: tuple[str, ...]) -> None:
    if principal.role not in roles:
        raise Forbidden(f"the hall queue is not open to the role {principal.role}")


def _ticket_id(request: Request) -> int:
    return parse_id(request.path_params["ticket_id"], "ticket")


async def take_ticket(request: Request) -> JSONResponse:
    principal, device_id = await caller(request)
    _require(principal, ("kiosk", *STAFF_CALLERS))
    body = await read_json(request)
    ticket = await hall_queue(ctx(request)).take(
        body.get("group"), device_id=device_id,
        staff_id=None if device_id else principal.id)
    return json_response(ticket, 201)


async def queue_state(request: Request) -> JSONResponse:
    principal, _ = await caller(request)
    _require(principal, VIEWERS)
    return json_response(await hall_queue(ctx(request)).snapshot())


async def call_next(request: Request) -> JSONResponse:
    principal, _ = await caller(request)
    _require(principal, STAFF_CALLERS)
    body = await read_json(request)
    return json_response(await hall_queue(ctx(request)).call(body.get("counter"), principal.id))


async def _ticket_action(request: Request, action: str) -> JSONResponse:
    principal, _ = await caller(request)
    _require(principal, STAFF_CALLERS)
    body = await read_json(request)
    hall, ticket_id = hall_queue(ctx(request)), _ticket_id(request)
    result: dict[str, Any]
    if action == "recall":
        result = await hall.recall(ticket_id)
    elif action == "skip":
        result = await hall.skip(ticket_id)
    elif action == "return":
        result = await hall.come_back(ticket_id)
    else:
        result = await hall.transfer(ticket_id, body.get("group"))
    return json_response(result)


async def recall(request: Request) -> JSONResponse:
    return await _ticket_action(request, "recall")


async def skip(request: Request) -> JSONResponse:
    return await _ticket_action(request, "skip")


async def come_back(request: Request) -> JSONResponse:
    return await _ticket_action(request, "return")


async def transfer(request: Request) -> JSONResponse:
    return await _ticket_action(request, "transfer")


async def running_text(request: Request) -> JSONResponse:
    principal, _ = await caller(request)
    _require(principal, ("admin",))
    body = await read_json(request)
    value = body.get("text")
    if not isinstance(value, str) or len(value) > 300:
        raise InvalidInput("text must be a string of at most 300 characters", field="text")
    await hall_queue(ctx(request)).set_text(value)
    return json_response({"text": value.strip()})
