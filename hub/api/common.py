"""What every JSON endpoint shares: reading a JSON body safely, authenticating the caller, and
answering errors in one shape: ``{"error": {"code": ..., "message": ...}}``."""

from __future__ import annotations

import hmac
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.auth.principal import Principal
from hub.context import AppContext
from hub.errors import Forbidden, InvalidInput, NotAuthenticated, PtsaError
from hub.validation import loads_json

MAX_BODY_BYTES = 64 * 1024


def ctx(request: Request) -> AppContext:
    return request.app.state.ctx  # type: ignore[no-any-return]


def json_response(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status)


def error_response(exc: PtsaError) -> JSONResponse:
    headers = {}
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if "retry_after" in exc.details:
        headers["Retry-After"] = str(exc.details["retry_after"])
    return JSONResponse(exc.to_dict(), status_code=exc.status, headers=headers)


async def read_json(request: Request) -> dict[str, Any]:
    """The request's JSON object, or InvalidInput/413 with a message saying what is wrong."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PtsaError(f"the request body is larger than {MAX_BODY_BYTES} bytes",
                        code="too_large").with_status(413)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise PtsaError(f"the request body is larger than {MAX_BODY_BYTES} bytes",
                            code="too_large").with_status(413)
    if not body:
        return {}
    data = loads_json(body)
    if not isinstance(data, dict):
        raise InvalidInput(f"the body must be a JSON object; got {type(data).__name__}",
                           code="bad_json").with_status(400)
    return data


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _check_csrf_header(request: Request) -> None:
    """A browser session writing through the JSON API must echo its CSRF token in
    ``X-CSRF-Token``: a cross-site page can make the browser send the cookie, never the header."""
    session = request.scope.get("session")
    given = request.headers.get("x-csrf-token", "")
    if session is None or not given or not hmac.compare_digest(session.csrf.encode(),
                                                               given.encode()):
        raise Forbidden("a signed-in browser must send its X-CSRF-Token header with this request",
                        code="csrf")


async def authenticate(request: Request) -> Principal:
    """The caller from ``Authorization: Bearer <token>`` or the browser session."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return await ctx(request).principal_from_token(token.strip())
    principal = request.scope.get("principal")
    if principal is not None:
        if request.method not in _SAFE_METHODS:
            _check_csrf_header(request)
        return principal  # type: ignore[no-any-return]
    raise NotAuthenticated("sign in first: send Authorization: Bearer <token> from "
                           "POST /api/v1/auth/token")


async def handle_ptsa_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PtsaError)
    return error_response(exc)
