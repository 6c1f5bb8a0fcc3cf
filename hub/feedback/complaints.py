"""Complaints (pengaduan): filing, who sees them, the reply, and the complainant's message.

Why a table of its own and not a task of a new kind: a task is a service request (a catalogue
service, an SOP clock, the P0 → P1 → P2 state machine, a staff member who registered it); a
complaint has none of these and one plain rule — answer within N working days or the
supervisors are told. Its deadline comes from the same calendar arithmetic as the SOP clock
(``hub.domain.clocks``), its escalation goes through the same notification outbox and sender
(``workers/sla/complaints.py`` → ``notifications`` → ``workers/notify/sender.py``), and its events
through the same outbox relay to the same boards, without touching the task state machine.

Events (``complaint.created``, ``complaint.answered``, ``complaint.breached``) go to the level
channel of the unit's board (``p2.<eselon2>``, ``p1.<eselon1>`` or ``p0``), its ``sup.`` channels
and ``sup.ptsa``; they carry the complaint card, never the complainant's name or contact.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from channels import names
from channels.outbox import add_outbox_rows
from config.settings import Settings
from hub.auth.principal import Principal
from hub.domain import complaints as rules
from hub.domain.tasks import FRONT_OFFICE, Role
from hub.errors import Conflict, Forbidden, InvalidInput, NotFound, Reason
from hub.models import Complaint, Notification, Service, Unit, utcnow
from hub.tasks.commands import task_by_code
from hub.tasks.serializers import iso
from hub.validation import optional_email, optional_phone, require_text

if TYPE_CHECKING:
    from hub.context import AppContext

log = logging.getLogger(__name__)
MAX_TEXT = 4000
MAX_REPLY = 4000
# Per address: a person with a real grievance files one or two; a script filing hundreds would
# bury the units' boards.
LIMIT_PER_WINDOW = 5
WINDOW_SECONDS = 600


def card(c: Complaint) -> dict[str, Any]:
    """What staff screens show and events carry: no complainant name or contact."""
    return {"id": c.id, "number": c.number, "unit": c.unit_code, "eselon1": c.eselon1,
            "eselon2": c.eselon2, "registration": c.registration, "text": c.text[:300],
            "status": c.status, "created_at": iso(c.created_at), "due_at": iso(c.due_at),
            "breached_at": iso(c.breached_at), "replied_at": iso(c.replied_at),
            "can_reply": bool(c.phone or c.email)}


def public_status(c: Complaint) -> dict[str, Any]:
    """The complainant's view on the tracking page."""
    return {"number": c.number, "kind": "complaint", "status": c.status,
            "submitted_at": iso(c.created_at), "due_at": iso(c.due_at),
            "reply": c.reply, "replied_at": iso(c.replied_at)}


def channels_of(c: Complaint) -> list[str]:
    if c.eselon2 and c.unit_code == c.eselon2:
        board = names.p2(c.eselon2)
    elif c.unit_code != FRONT_OFFICE:
        board = names.p1(c.unit_code)
    else:
        board = names.p0()
    return list(dict.fromkeys([board, names.sup(c.unit_code),
                               *([names.sup(c.eselon1)] if c.eselon1 else []),
                               names.sup(FRONT_OFFICE)]))


def visible_filter(principal: Principal) -> Any:
    role, unit = principal.role, principal.unit
    if role == Role.ADMIN or (role == Role.SUPERVISOR and FRONT_OFFICE in principal.scope):
        return True
    if role == Role.SUPERVISOR:
        scope = list(principal.scope)
        return or_(col(Complaint.unit_code).in_(scope), col(Complaint.eselon1).in_(scope),
                   col(Complaint.eselon2).in_(scope))
    if role == Role.P0:
        return col(Complaint.unit_code) == FRONT_OFFICE
    if role == Role.P1:
        return col(Complaint.eselon1) == unit
    if role == Role.P2:
        return col(Complaint.eselon2) == unit
    return False


def _event_id(number: str, what: str) -> str:
    return "c" + hashlib.sha256(f"{number}:{what}".encode()).hexdigest()[:24]


async def _publish(ctx: AppContext, event_id: str) -> None:
    relay = ctx.relay
    if relay is None:
        return
    try:
        await relay.publish_event(event_id)
    except Exception as exc:  # the committed rows wait for the relay's sweep
        log.warning("publishing %s after commit failed (%s)", event_id, exc)


async def file(ctx: AppContext, body: dict[str, Any]) -> Complaint:
    """File a public complaint; InvalidInput (422) names the bad field, nothing is stored."""
    text = require_text("text", body.get("text"), max_length=MAX_TEXT)
    registration = require_text("registration", body.get("registration"), max_length=30,
                                required=False).upper() or None
    name = require_text("name", body.get("name"), max_length=120, required=False) or None
    phone = optional_phone("phone", body.get("phone")) or None
    email = optional_email("email", body.get("email")) or None
    policy = await ctx.policy()
    now = utcnow()
    async with ctx.db.write() as session:
        eselon1 = eselon2 = None
        if registration:
            task = await task_by_code(session, registration)
            if task is None:
                raise InvalidInput("no request has that registration number; check the receipt, "
                                   "or leave it empty", field="registration")
            service = await session.get(Service, task.service_code)
            eselon1 = task.eselon1
            eselon2 = task.eselon2 or (service.eselon2 if service else None)
        where = rules.route(eselon1, eselon2)
        complaint = Complaint(
            number=rules.new_number(now, policy.calendar), text=text, registration=registration,
            unit_code=where.unit, eselon1=where.eselon1, eselon2=where.eselon2, name=name,
            phone=phone, email=email, status="open", created_at=now,
            due_at=rules.due_at(now, policy.calendar, ctx.settings.complaint_days,
                                ctx.settings.complaint_response))
        session.add(complaint)
        await session.flush()
        event_id = _event_id(complaint.number, "created")
        await add_outbox_rows(session, event_id, "complaint.created", now,
                              {"complaint": card(complaint)}, channels_of(complaint))
    await _publish(ctx, event_id)
    return complaint


async def by_number(session: AsyncSession, number: str) -> Complaint | None:
    found = await session.exec(select(Complaint).where(col(Complaint.number) == number.upper()))
    return found.first()


async def open_for(ctx: AppContext, principal: Principal, limit: int = 200) -> list[Complaint]:
    async with ctx.db.read() as session:
        rows = await session.exec(select(Complaint).where(
            visible_filter(principal), col(Complaint.status) == "open")
            .order_by(col(Complaint.due_at)).limit(limit))
        return list(rows.all())


async def reply(ctx: AppContext, principal: Principal, number: str, text: Any) -> Complaint:
    """Record the answer once, publish it, and queue it to the complainant's phone/e-mail.

    Raises:
        NotFound (unknown or outside scope), InvalidInput (empty/oversized), Conflict (answered).
    """
    answer = require_text("reply", text, max_length=MAX_REPLY)
    now = utcnow()
    async with ctx.db.write() as session:
        complaint = await by_number(session, number)
        if complaint is None:
            raise NotFound("no complaint has that number")
        visible = (await session.exec(select(Complaint.id).where(
            col(Complaint.id) == complaint.id, visible_filter(principal)))).first()
        if visible is None:
            raise Forbidden("this complaint belongs to another unit", reason=Reason.NOT_ALLOWED)
        won = await session.exec(update(Complaint).where(  # type: ignore[call-overload]
            col(Complaint.id) == complaint.id, col(Complaint.status) == "open")
            .values(status="answered", reply=answer, replied_at=now, replied_by=principal.id)
            .execution_options(synchronize_session=False))
        if won.rowcount != 1:
            raise Conflict("this complaint has already been answered", code="answered")
        await session.refresh(complaint)
        event_id = _event_id(complaint.number, "answered")
        await add_outbox_rows(session, event_id, "complaint.answered", now,
                              {"complaint": card(complaint)}, channels_of(complaint))
        await _queue_to_complainant(session, ctx.settings, complaint, now)
    await _publish(ctx, event_id)
    return complaint


def may_triage(principal: Principal) -> bool:
    """The front office's supervisor (and an admin) sends complaints on to the right unit."""
    return principal.role == Role.ADMIN or (principal.role == Role.SUPERVISOR
                                         and FRONT_OFFICE in principal.scope)


async def forward(ctx: AppContext, principal: Principal, number: str, unit: Any) -> Complaint:
    """Triage: give an open complaint to an Eselon I or II unit (its deadline does not move).

    Raises:
        Forbidden (not the front office supervisor or an admin), NotFound, InvalidInput (not an
        Eselon I/II unit), Conflict (answered).
    """
    if not may_triage(principal):
        raise Forbidden("only the front office supervisor or an admin forwards complaints")
    code = require_text("unit", unit, max_length=40)
    now = utcnow()
    async with ctx.db.write() as session:
        complaint = await by_number(session, number)
        if complaint is None:
            raise NotFound("no complaint has that number")
        target = await session.get(Unit, code)
        if target is None or target.level not in ("eselon1", "eselon2"):
            raise InvalidInput(f"unit must be an Eselon I or II unit; got {code!r}", field="unit")
        where = rules.route(target.parent if target.level == "eselon2" else target.code,
                            target.code if target.level == "eselon2" else None)
        before = channels_of(complaint)
        won = await session.exec(update(Complaint).where(  # type: ignore[call-overload]
            col(Complaint.id) == complaint.id, col(Complaint.status) == "open")
            .values(unit_code=where.unit, eselon1=where.eselon1, eselon2=where.eselon2)
            .execution_options(synchronize_session=False))
        if won.rowcount != 1:
            raise Conflict("this complaint has already been answered", code="answered")
        await session.refresh(complaint)
        event_id = _event_id(complaint.number, f"forwarded:{where.unit}:{now.isoformat()}")
        await add_outbox_rows(session, event_id, "complaint.forwarded", now,
                              {"complaint": card(complaint)},
                              list(dict.fromkeys(before + channels_of(complaint))))
    await _publish(ctx, event_id)
    return complaint


async def _queue_to_complainant(session: AsyncSession, settings: Settings, c: Complaint,
                                now: datetime) -> None:
    link = f"{settings.public_url}/lacak?kode={c.number}"
    subject = f"Jawaban pengaduan {c.number}"
    body = f"Pengaduan {c.number} telah dijawab:\n\n{c.reply}\n\nLihat: {link}"
    sms = f"PTSA Kemnaker: pengaduan {c.number} telah dijawab. Lihat {link}"
    drafts = [("email", c.email, body), ("sms", c.phone, sms)]
    await add_notifications(session, settings, c.id or 0, "reply", now,
                            [(channel, to, subject, text, None)
                             for channel, to, text in drafts if to])


async def add_notifications(session: AsyncSession, settings: Settings, complaint_id: int,
                            kind: str, now: datetime,
                            drafts: list[tuple[str, str, str, str, int | None]]) -> list[int]:
    """Notification rows (channel, recipient, subject, body, staff id), once per complaint, kind,
    channel and recipient however often this runs; returns the new pending rows' ids. Sent by the
    worker's notifier (``workers/notify/sender.py``), held while the channel is not configured."""
    values = []
    for channel, recipient, subject, body, staff_id in drafts:
        missing = (channel == "email" and not settings.smtp_url) or \
            (channel == "sms" and not settings.sms_url)
        key = f"complaint:{complaint_id}:{kind}:{channel}:{recipient}"
        if len(key) > 200:
            key = f"complaint:{complaint_id}:{kind}:{channel}:" + \
                hashlib.sha256(recipient.encode()).hexdigest()
        values.append({"dedupe_key": key, "clock_id": None, "task_id": None, "kind": kind,
                       "channel": channel, "recipient": recipient, "staff_id": staff_id,
                       "subject": subject[:300], "body": body,
                       "status": "held" if missing else "pending", "attempts": 0,
                       "last_error": f"{channel} is not configured" if missing else None,
                       "created_at": now, "next_attempt_at": now, "sent_at": None})
    if not values:
        return []
    connection = await session.connection()
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    table = Notification.__table__  # type: ignore[attr-defined]
    statement = (insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"])
                 .returning(table.c.id, table.c.status))
    rows = (await connection.execute(statement, values)).all()
    return [row_id for row_id, status in rows if status == "pending"]
