"""Staff accounts from the command line (``ptsa user add``, ``ptsa users``); the admin pages use
the same checks."""

from __future__ import annotations

import re
from dataclasses import dataclass

from redis.asyncio import Redis
from sqlmodel import select

from config.settings import Settings
from hub.auth.passwords import MIN_PASSWORD_LENGTH, hash_password
from hub.auth.sessions import kick
from hub.db import Database
from hub.domain.tasks import Role
from hub.errors import Conflict, InvalidInput, NotFound, Reason
from hub.models import Staff, Unit, utcnow
from hub.tasks.commands import TaskCommands
from hub.tasks.supervise import release_all_held_by
from hub.validation import optional_email, optional_phone, require_text

_USERNAME = re.compile(r"^[a-z0-9]+(?:[-_.][a-z0-9]+)*\Z")
# Which unit level each role works at ("any" for admins and supervisors of any unit).
_ROLE_LEVEL = {"p0": "front", "p1": "eselon1", "p2": "eselon2"}


def check_new_user(username: str, role: str, unit: Unit | None, password: str) -> str:
    username = username.strip().lower()
    if not _USERNAME.match(username) or len(username) > 60:
        raise InvalidInput("username must be lower-case letters and digits, optionally joined by "
                           f"'-', '_' or '.', at most 60 characters; got {username!r}",
                           field="username", reason=Reason.USERNAME_FORMAT)
    check_role_and_unit(role, unit)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"the password must have at least {MIN_PASSWORD_LENGTH} characters",
                           field="password", reason=Reason.PASSWORD_SHORT,
                           params={"n": MIN_PASSWORD_LENGTH})
    return username


def check_role_and_unit(role: str, unit: Unit | None) -> None:
    if role not in Role.__members__.values():
        raise InvalidInput(f"role must be p0, p1, p2, supervisor or admin; got {role!r}",
                           field="role")
    if unit is None:
        raise InvalidInput("unknown unit; see config/organisation.toml or GET /api/v1/units",
                           field="unit")
    wanted = _ROLE_LEVEL.get(role)
    if wanted and unit.level != wanted:
        raise InvalidInput(f"a {role} works at a {wanted} unit; '{unit.code}' is {unit.level}",
                           field="unit", reason=Reason.ROLE_LEVEL)


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


@dataclass
class StaffEdit:
    staff: Staff
    moved: bool  # unit or role changed: their requests must be released, their sessions ended
    released: int = 0


async def edit_staff(db: Database, username: str, *, full_name: str | None = None,
                     email: str | None = None, phone: str | None = None,
                     unit: str | None = None, role: str | None = None) -> StaffEdit:
    """Change what is given (None: leave it; "" clears e-mail or phone). A change of unit or
    role bumps ``session_epoch`` in the same transaction, so every token and cookie of the
    account stops working at once; the caller then releases the requests it held
    (``finish_edit``).

    Raises:
        NotFound, InvalidInput (field ``name``, ``email``, ``phone``, ``unit``, ``role``).
    """
    async with db.write() as session:
        staff = (await session.exec(select(Staff).where(
            Staff.username == username.strip().lower()))).first()
        if staff is None:
            raise NotFound(f"no staff member {username!r}; see `ptsa users`")
        new_role, new_unit = role or staff.role, unit or staff.unit_code
        check_role_and_unit(new_role, await session.get(Unit, new_unit))
        if full_name is not None:
            staff.full_name = require_text("name", full_name, max_length=120)
        if email is not None:
            staff.email = optional_email("email", email) or None
        if phone is not None:
            staff.phone = optional_phone("phone", phone) or None
        moved = (new_role, new_unit) != (staff.role, staff.unit_code)
        staff.role, staff.unit_code = new_role, new_unit
        if moved:
            staff.session_epoch += 1
        session.add(staff)
    return StaffEdit(staff, moved)


async def finish_edit(edit: StaffEdit, commands: TaskCommands, redis: Redis | None,
                      by: Staff | None) -> StaffEdit:
    """After a move to another unit or role: release what they held and close their sockets
    (without Redis, e.g. from the command line with no REDIS_URL, sockets close at the hub's
    periodic re-check of accounts instead)."""
    if not edit.moved:
        return edit
    edit.released = await release_all_held_by(commands, edit.staff, by,
                                              "staff member moved to another unit or role")
    if redis is not None:
        await kick(redis, edit.staff.username)
    return edit


async def set_user(settings: Settings, username: str, **fields: str | None) -> StaffEdit:
    """``ptsa user set``: edit, then release and kick as the admin page does."""
    from redis.asyncio import Redis as RedisClient

    from config.catalog import load_catalog
    from hub.tasks.clocks import PolicyProvider

    db = Database(settings.database_url)
    redis = RedisClient.from_url(settings.queue_url) if settings.queue_url else None
    try:
        edit = await edit_staff(db, username, **fields)
        # No after-commit hooks here: the relay's retry loop publishes the committed outbox
        # rows and the SLA sweep schedules the new pickup clocks (hub/tasks/commands.py).
        commands = TaskCommands(db, PolicyProvider(settings, load_catalog().sla))
        return await finish_edit(edit, commands, redis, None)
    finally:
        if redis is not None:
            await redis.aclose()
        await db.dispose()


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
