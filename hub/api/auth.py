"""``POST /auth/token`` and ``GET /me``."""

from __future__ import annotations

from sqlmodel import col, select, update
from starlette.requests import Request
from starlette.responses import JSONResponse

from hub.api.common import authenticate, ctx, json_response, read_json
from hub.auth.passwords import hash_password, needs_rehash, verify_password
from hub.errors import NotAuthenticated
from hub.models import Staff
from hub.serializers import staff_ref
from hub.validation import require_text


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def authenticate_password(request: Request, username: str, password: str) -> Staff:
    """Check a username and password with throttling; the staff row on success.

    Raises:
        TooManyRequests: too many recent failures for this username or address.
        NotAuthenticated: wrong username or password, or an inactive account (same message, so
            the answer does not reveal which usernames exist).
    """
    app = ctx(request)
    client = client_address(request)
    await app.throttle.check(username, client)
    async with app.db.read() as session:
        staff = (await session.exec(select(Staff).where(Staff.username == username))).first()
    if not verify_password(staff.password_hash if staff else None, password) or \
            staff is None or not staff.active:
        await app.throttle.failed(username, client)
        raise NotAuthenticated("wrong username or password", code="bad_credentials")
    await app.throttle.succeeded(username, client)
    if needs_rehash(staff.password_hash):
        # Upgrade a hash made with weaker parameters while the password is at hand; not over a
        # password changed in the meantime.
        new_hash = hash_password(password)
        async with app.db.write() as session:
            await session.exec(update(Staff).where(  # type: ignore[call-overload]
                col(Staff.id) == staff.id, col(Staff.password_hash) == staff.password_hash)
                .values(password_hash=new_hash))
        staff.password_hash = new_hash
    return staff


async def issue_token(request: Request) -> JSONResponse:
    body = await read_json(request)
    username = require_text("username", body.get("username"), max_length=60).lower()
    password = body.get("password")
    if not isinstance(password, str) or not password or len(password) > 1024:
        raise NotAuthenticated("wrong username or password", code="bad_credentials")
    staff = await authenticate_password(request, username, password)
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
