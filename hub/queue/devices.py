"""Kiosk and hall-display devices: no staff sign-in, a token an admin creates instead.

The token is shown once (``ptsa device add`` or the admin page) and only its SHA-256 is stored, so
a copy of the database signs nobody in. A device page takes it once as ``?token=`` and keeps it in
the ``ptsa_device`` cookie (HttpOnly). Revoking a device refuses its pages and API calls at once
and closes its WebSocket (a kick for ``device-<id>``).

A device acts through a ``Principal`` whose role is its kind (``kiosk`` or ``display``) on a
transient staff record that is never stored: every role check elsewhere refuses it, and channel
permissions let a display read only the hall channel.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.types import Scope

from hub.auth.principal import Principal
from hub.db import Database
from hub.domain.slugs import SLUG
from hub.domain.tasks import FRONT_OFFICE
from hub.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from hub.models import Device, Staff, utcnow

COOKIE_NAME = "ptsa_device"
TOKEN_PREFIX = "ptsa-dev-"
KINDS = ("kiosk", "display")
_NAME = SLUG


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def device_username(device_id: int) -> str:
    """The name a device's sockets are registered and kicked under."""
    return f"device-{device_id}"


def device_principal(device: Device) -> Principal:
    staff = Staff(id=0, username=device_username(device.id or 0), full_name=device.name,
                  role=device.kind, unit_code=FRONT_OFFICE, password_hash="!")
    return Principal(staff, frozenset(), "front")


def device_csrf(secret_key: str, device: Device) -> str:
    """The value a device page echoes in X-CSRF-Token: bound to this device's token, so a
    cross-site page cannot know it."""
    return hmac.new(secret_key.encode(), b"device-csrf:" + device.token_hash.encode(),
                    "sha256").hexdigest()[:40]


async def add_device(db: Database, name: str, kind: str,
                     created_by: int | None = None) -> tuple[Device, str]:
    """A new device and its token (returned once; only the hash is stored)."""
    if not _NAME.match(name or "") or len(name) > 60:
        raise InvalidInput(f"a device name is a slug like kiosk-lobi-1; got {name!r}",
                           field="name")
    if kind not in KINDS:
        raise InvalidInput(f"kind must be kiosk or display; got {kind!r}", field="kind")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    async with db.write() as session:
        taken = (await session.exec(select(Device).where(col(Device.name) == name))).first()
        if taken is not None:
            raise Conflict(f"a device named {name!r} exists already", code="device_exists")
        device = Device(name=name, kind=kind, token_hash=hash_token(token),
                        created_by=created_by, created_at=utcnow())
        session.add(device)
    return device, token


async def revoke_device(db: Database, device_id: int) -> Device:
    async with db.write() as session:
        device = await session.get(Device, device_id)
        if device is None:
            raise NotFound(f"device {device_id} does not exist")
        if device.revoked_at is None:
            device.revoked_at = utcnow()
            session.add(device)
    return device


async def list_devices(session: AsyncSession) -> list[Device]:
    return list((await session.exec(select(Device).order_by(col(Device.name)))).all())


async def device_for_token(db: Database, token: str | None,
                           kind: str | None = None) -> Device:
    """The active device holding ``token``.

    Raises:
        NotAuthenticated: 401 ``device_unknown`` for no or an unknown token, 401
            ``device_revoked`` for a revoked one; Forbidden-like 403 ``device_kind`` when a
            kiosk token opens the display or the other way round.
    """
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise NotAuthenticated("this device has no valid token; ask an administrator for one",
                               code="device_unknown")
    async with db.read() as session:
        device = (await session.exec(select(Device).where(
            col(Device.token_hash) == hash_token(token)))).first()
    if device is None:
        raise NotAuthenticated("this device token is not known; ask an administrator for a "
                               "new one", code="device_unknown")
    if device.revoked_at is not None:
        raise NotAuthenticated("this device's token was revoked by an administrator",
                               code="device_revoked")
    if kind is not None and device.kind != kind:
        raise NotAuthenticated(f"this token belongs to a {device.kind}, not a {kind}",
                               code="device_kind").with_status(403)
    return device


def cookie_token(scope: Scope) -> str | None:
    from http.cookies import SimpleCookie

    for key, value in scope.get("headers", []):
        if key == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed cookie header is the same as none
                return None
            morsel = jar.get(COOKIE_NAME)
            return morsel.value if morsel else None
    return None


async def active_device_ids(db: Database, ids: list[int]) -> set[int]:
    """Which of these devices still hold (for the WebSocket recheck)."""
    if not ids:
        return set()
    async with db.read() as session:
        rows = await session.exec(select(Device.id).where(
            col(Device.id).in_(ids), col(Device.revoked_at).is_(None)))
        return {i for i in rows.all() if i is not None}

