"""Staff accounts from the command line (``ptsa user add``, ``ptsa users``); the admin pages use
the same checks."""

from __future__ import annotations

import re

from sqlmodel import select

from config.settings import Settings
from hub.auth.passwords import MIN_PASSWORD_LENGTH, hash_password
from hub.db import Database
from hub.errors import Conflict, InvalidInput
from hub.models import Staff, Unit, utcnow
from hub.validation import optional_email, optional_phone, require_text

_USERNAME = re.compile(r"^[a-z0-9]+(?:[-_.][a-z0-9]+)*\Z")
# Which unit level each role works at ("any" for admins and supervisors of any unit).
_ROLE_LEVEL = {"p0": "front", "p1": "eselon1", "p2": "eselon2"}


def check_new_user(username: str, role: str, unit: Unit | None, password: str) -> str:
    username = username.strip().lower()
    if not _USERNAME.match(username) or len(username) > 60:
        raise InvalidInput("username must be lower-case letters and digits, optionally joined by "
                           f"'-', '_' or '.', at most 60 characters; got {username!r}",
                           field="username")
    if role not in ("p0", "p1", "p2", "supervisor", "admin"):
        raise InvalidInput(f"role must be p0, p1, p2, supervisor or admin; got {role!r}",
                           field="role")
    if unit is None:
        raise InvalidInput("unknown unit; see config/organisation.toml or GET /api/v1/units",
                           field="unit")
    wanted = _ROLE_LEVEL.get(role)
    if wanted and unit.level != wanted:
        raise InvalidInput(f"a {role} works at a {wanted} unit; '{unit.code}' is {unit.level}",
                           field="unit")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"the password must have at least {MIN_PASSWORD_LENGTH} characters",
                           field="password")
    return username


async def create_staff(db: Database, *, username: str, role: str, unit: str, full_name: str,
                       email: str | None, phone: str | None, password: str) -> Staff:
    async with db.write() as session:
        unit_row = await session.get(Unit, unit)
        username = check_new_user(username, role, unit_row, password)
        full_name = require_text("name", full_name, max_length=120)
        # SLA warnings go to these: a typo here is a warning nobody receives.
        email = optional_email("email", email)
        phone = optional_phone("phone", phone)
        taken = (await session.exec(select(Staff).where(Staff.username == username))).first()
        if taken:
            raise Conflict(f"username {username!r} is taken", code="username_taken")
        staff = Staff(username=username, full_name=full_name, role=role, unit_code=unit,
                      email=email or None, phone=phone or None,
                      password_hash=hash_password(password), created_at=utcnow())
        session.add(staff)
    return staff


async def add_user(settings: Settings, **fields: str | None) -> Staff:
    db = Database(settings.database_url)
    try:
        return await create_staff(db, **fields)  # type: ignore[arg-type]
    finally:
        await db.dispose()


async def list_users(settings: Settings) -> list[str]:
    db = Database(settings.database_url)
    try:
        async with db.read() as session:
            rows = (await session.exec(select(Staff).order_by(Staff.role, Staff.username))).all()
    finally:
        await db.dispose()
    return [f"{s.username:28} {s.role:11} {s.unit_code:20} {s.full_name}"
            + ("" if s.active else "  (inactive)") for s in rows]
