"""Signing in with a username and password, throttled by account and address: shared by
``POST /auth/token`` and the sign-in page."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import col, select, update
from starlette.requests import Request

from hub.auth.passwords import hash_password, needs_rehash, verify_password
from hub.errors import NotAuthenticated
from hub.models import Staff

if TYPE_CHECKING:
    from hub.context import AppContext


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def authenticate_password(app: AppContext, client: str, username: str,
                                password: str) -> Staff:
    """Check a username and password with throttling; the staff row on success.

    Raises:
        TooManyRequests: too many recent failures for this username or address.
        NotAuthenticated: wrong username or password, or an inactive account (same message, so
            the answer does not reveal which usernames exist).
    """
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
