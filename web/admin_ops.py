"""What the admin pages change: staff accounts, units, services and SOP days, SLA minutes and
calendar days. Each function is one write transaction and raises ``InvalidInput`` naming the field.

Two rules the rest of the system relies on:
* deactivating an account or resetting its password bumps ``staff.session_epoch`` (every token and
  cookie of the account stops working) and kicks its open sockets on every hub process;
* every change to SLA minutes or calendar days bumps the ``calendar_version`` app setting, which is
  how ``PolicyProvider`` in every process knows to rebuild its cached policy.
"""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from channels import names
from hub.auth.accounts import create_staff
from hub.auth.passwords import MIN_PASSWORD_LENGTH, hash_password
from hub.auth.sessions import kick
from hub.context import AppContext
from hub.domain.documents import parse_checklist
from hub.errors import Conflict, InvalidInput, NotFound, Reason
from hub.models import AppSetting, CalendarDay, Service, Staff, Unit
from hub.tasks.clocks import CALENDAR_VERSION_KEY, P1_HANDLING_KEY, P1_PICKUP_KEY, P2_PICKUP_KEY
from hub.tasks.service_cache import bump_services_version
from hub.tasks.supervise import release_all_held_by
from hub.validation import parse_date, parse_int, require_text

MAX_SLA_MINUTES = 24 * 60
MAX_SOP_DAYS = 60


async def add_staff(ctx: AppContext, *, username: str, role: str, unit: str, full_name: str,
                    email: str, phone: str, password: str) -> Staff:
    return await create_staff(ctx.db, username=username, role=role, unit=unit,
                              full_name=full_name, email=email or None, phone=phone or None,
                              password=password)


def _revoke(session: AsyncSession, staff: Staff) -> None:
    """Every token and session cookie of ``staff`` stops working (they carry the epoch)."""
    staff.session_epoch += 1
    session.add(staff)


async def set_staff_active(ctx: AppContext, staff_id: int, active: bool,
                           by: Staff | None = None) -> tuple[Staff, int]:
    """Returns the account and how many requests were released: deactivating releases every
    request the account holds to its unit's queue, as nobody else could act on them."""
    async with ctx.db.write() as session:
        staff = await session.get(Staff, staff_id)
        if staff is None:
            raise NotFound(f"staff {staff_id} does not exist")
        staff.active = active
        if not active:
            _revoke(session, staff)
        session.add(staff)
    released = 0
    if not active:
        await kick(ctx.redis, staff.username)
        released = await release_all_held_by(ctx.commands, staff, by, "account deactivated")
    return staff, released


async def reset_password(ctx: AppContext, staff_id: int, password: str) -> Staff:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"the password must have at least {MIN_PASSWORD_LENGTH} characters",
                           field="password", reason=Reason.PASSWORD_SHORT,
                           params={"n": MIN_PASSWORD_LENGTH})
    async with ctx.db.write() as session:
        staff = await session.get(Staff, staff_id)
        if staff is None:
            raise NotFound(f"staff {staff_id} does not exist")
        staff.password_hash = hash_password(password)
        _revoke(session, staff)
    await kick(ctx.redis, staff.username)
    return staff


def _check_code(code: str) -> str:
    code = code.strip().lower()
    if len(code) > 40 or names.parse_channel(f"p2.{code}") is None:
        raise InvalidInput("code must be lower-case letters and digits in dash-separated words, "
                           f"at most 40 characters; got {code!r}", field="code")
    return code


async def add_unit(ctx: AppContext, *, code: str, name: str, short_name: str,
                   parent: str) -> Unit:
    """A new Eselon II unit under an Eselon I unit (new Eselon I units come from the config)."""
    code = _check_code(code)
    name = require_text("name", name, max_length=200)
    short_name = require_text("short_name", short_name, max_length=60, required=False)
    async with ctx.db.write() as session:
        if await session.get(Unit, code) is not None:
            raise Conflict(f"unit {code!r} exists", code="unit_exists")
        parent_row = await session.get(Unit, parent)
        if parent_row is None or parent_row.level != "eselon1":
            raise InvalidInput("choose the Eselon I unit it belongs to", field="parent")
        unit = Unit(code=code, name=name, short_name=short_name or name, level="eselon2",
                    parent=parent)
        session.add(unit)
    return unit


async def update_unit(ctx: AppContext, code: str, *, name: str, short_name: str,
                      active: bool) -> Unit:
    name = require_text("name", name, max_length=200)
    short_name = require_text("short_name", short_name, max_length=60, required=False)
    async with ctx.db.write() as session:
        unit = await session.get(Unit, code)
        if unit is None:
            raise NotFound(f"unit {code!r} does not exist")
        unit.name, unit.short_name, unit.active = name, short_name or name, active
        session.add(unit)
    return unit


def _sop_days(raw: str) -> int:
    return parse_int("sop_days", raw, low=1, high=MAX_SOP_DAYS)


async def update_service(ctx: AppContext, code: str, *, name: str, sop_days: str,
                         active: bool, documents: str | None = None) -> Service:
    name = require_text("name", name, max_length=200)
    days = _sop_days(sop_days)
    checklist = parse_checklist(documents) if documents is not None else None
    async with ctx.db.write() as session:
        service = await session.get(Service, code)
        if service is None:
            raise NotFound(f"service {code!r} does not exist")
        service.name, service.sop_days, service.active = name, days, active
        if checklist is not None:
            service.documents = checklist
        session.add(service)
        await bump_services_version(session)  # every process reloads it
    return service


async def add_service(ctx: AppContext, *, code: str, name: str, eselon2: str,
                      sop_days: str) -> Service:
    code = _check_code(code)
    name = require_text("name", name, max_length=200)
    days = _sop_days(sop_days)
    async with ctx.db.write() as session:
        if await session.get(Service, code) is not None:
            raise Conflict(f"service {code!r} exists", code="service_exists")
        unit = await session.get(Unit, eselon2)
        if unit is None or unit.level != "eselon2" or not unit.parent:
            raise InvalidInput("choose the Eselon II unit that delivers it", field="eselon2",
                               reason=Reason.ESELON2_REQUIRED)
        service = Service(code=code, name=name, eselon1=unit.parent, eselon2=unit.code,
                          sop_days=days)
        session.add(service)
        await bump_services_version(session)
    return service


async def _set(session: AsyncSession, key: str, value: str) -> None:
    row = await session.get(AppSetting, key)
    if row is None:
        session.add(AppSetting(key=key, value=value))
    else:
        row.value = value
        session.add(row)


async def bump_calendar_version(session: AsyncSession) -> None:
    row = await session.get(AppSetting, CALENDAR_VERSION_KEY)
    current = int(row.value) if row is not None and row.value.isdigit() else 0
    await _set(session, CALENDAR_VERSION_KEY, str(current + 1))


def _minutes(field: str, raw: str) -> float:
    try:
        value = float(raw.replace(",", "."))
    except ValueError:
        value = -1
    if not 0 < value <= MAX_SLA_MINUTES:
        raise InvalidInput(f"{field} must be a number of minutes from 0 to {MAX_SLA_MINUTES}; "
                           f"got {raw!r}", field=field)
    return value


async def set_sla_minutes(ctx: AppContext, p1_minutes: str, p2_minutes: str,
                          p1_handling_minutes: str | None = None) -> None:
    p1 = _minutes("p1_minutes", p1_minutes)
    p2 = _minutes("p2_minutes", p2_minutes)
    handling = (_minutes("p1_handling_minutes", p1_handling_minutes)
                if p1_handling_minutes is not None else None)
    async with ctx.db.write() as session:
        await _set(session, P1_PICKUP_KEY, f"{p1 * 60:g}")
        await _set(session, P2_PICKUP_KEY, f"{p2 * 60:g}")
        if handling is not None:
            await _set(session, P1_HANDLING_KEY, f"{handling * 60:g}")
        await bump_calendar_version(session)


async def set_calendar_day(ctx: AppContext, *, day: str, kind: str, name: str,
                           by: Staff) -> CalendarDay:
    when = parse_date("day", day)
    if when is None:
        raise InvalidInput("day must be a date like 2026-12-24", field="day",
                           reason=Reason.NOT_DATE)
    if kind not in ("holiday", "working"):
        raise InvalidInput(f"kind must be holiday or working; got {kind!r}", field="kind")
    name = require_text("name", name, max_length=200)
    async with ctx.db.write() as session:
        row = await session.get(CalendarDay, when)
        if row is None:
            row = CalendarDay(day=when, kind=kind, name=name, created_by=by.id)
        else:
            row.kind, row.name, row.created_by = kind, name, by.id
        session.add(row)
        await bump_calendar_version(session)
    return row


async def remove_calendar_day(ctx: AppContext, day: str) -> None:
    try:
        when = parse_date("day", day)
    except InvalidInput:
        when = None
    if when is None:
        raise NotFound(f"no calendar day {day[:40]!r}")
    async with ctx.db.write() as session:
        row = await session.get(CalendarDay, when)
        if row is None:
            raise NotFound(f"no calendar day {day!r}")
        await session.delete(row)
        await bump_calendar_version(session)


async def staff_list(ctx: AppContext) -> list[Staff]:
    async with ctx.db.read() as session:
        rows = await session.exec(select(Staff).order_by(Staff.role, Staff.username))
        return list(rows.all())
