"""``POST /auth/token`` and ``GET /me``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from hub.api.common import authenticate, ctx, json_response, read_json
from hub.auth.login import authenticate_password, client_address
from hub.errors import NotAuthenticated
from hub.tasks.serializers import staff_ref
from hub.validation import require_text


async def issue_token(request: Request) -> JSONResponse:
    body = await read_json(request)
    username = require_text("username", body.get("username"), max_length=60).lower()
    password = body.get("password")
    if not isinstance(password, str) or not password or len(password) > 1024:
        raise NotAuthenticated("wrong username or password", code="bad_credentials")
    staff = await authenticate_password(ctx(request), client_address(request), username,
                                        password)
    token = ctx(request).tokens.issue(staff.id or 0, staff.session_epoch)
    return json_response({"access_token": token, "token_type": "bearer",
                          "expires_in": ctx(request).tokens.max_age})


async def me(request: Request) -> JSONResponse:
    principal = await authenticate(request)
    data = staff_ref(principal.staff) or {}
    data.update(email=principal.staff.email, phone=principal.staff.phone,
                scope=sorted(principal.scope), channels=_default_channels(request, principal))
    return json_response(data)


def _default_channels(request: Request, principal: object) -> list[str]:
    from channels.permissions import default_channels

    return default_channels(principal)  # type: ignore[arg-type]
