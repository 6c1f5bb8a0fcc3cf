"""The notification outbox: every e-mail and SMS is a row first, and is sent from its row.

A breach inserts one row per (clock, kind, channel, recipient) in the same transaction that records
the breach; ``dedupe_key`` is UNIQUE, so however often a job runs, the row exists once. Row states::

    held        its channel is not configured (PTSA_SMTP_URL / PTSA_SMS_URL unset); kept and listed
                for the admin, released to ``pending`` when a worker starts with the channel set
    pending     waiting to be sent, not before ``next_attempt_at``
    sending     claimed by one worker (``attempts`` += 1; ``next_attempt_at`` = end of its lease)
    delivering  that worker passed the point of no return: SMTP ``DATA`` / the SMS HTTP request
    sent        the server accepted it (``sent_at``)
    failed      a permanent error (5xx, bad address), or transient ones for ``GIVE_UP_AFTER``

Exactly once, and its honest limit. Every step is a committed conditional UPDATE fenced by
``attempts`` (a worker whose lease was taken over can no longer move the row), so two jobs for one
row send it once. A worker that dies leaves its row ``sending`` or ``delivering``; once the lease
(``PTSA_NOTIFY_LEASE``) has passed, the sweep sends it again with the *same* Message-ID:

* died while ``sending`` (connecting, EHLO, MAIL, RCPT; or before the SMS request): nothing can have
  been delivered — an SMTP server discards a transaction whose DATA never completed — so the resend
  makes exactly one message;
* died while ``delivering``: the message may or may not have been accepted, and no protocol lets us
  ask. We resend (a missed escalation is the failure this product exists to prevent) and note on
  the row that the recipient may see it twice, with the same Message-ID that mail clients use to
  fold duplicates. The window is one DATA round trip plus one commit, milliseconds on a LAN.

Transient failures retry with exponential back-off (1 s, 2 s, 4 s … 5 min) through an arq job at
the exact time; the sweep re-dispatches any pending row whose job was lost.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from arq.connections import ArqRedis
from sqlalchemy import or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from channels import names
from hub.db import Database
from hub.models import Notification, SlaClock, Staff, Task, utcnow
from hub.serializers import iso
from workers.delivery import Transports
from workers.email import DeliveryError
from workers.schedule import epoch_ms

log = logging.getLogger(__name__)

NOTIFY_JOB = "notify_send"
GIVE_UP_AFTER = timedelta(hours=24)
MAX_BACKOFF = timedelta(minutes=5)
IN_FLIGHT = ("sending", "delivering")
CRASHED_BEFORE = ("an earlier attempt stopped before handing the message over "
                  "(worker stopped or lease expired); sent again")
CRASHED_DURING = ("an earlier attempt stopped while handing the message over (worker stopped or "
                  "lease expired); sent again with the same Message-ID, may arrive twice")


@dataclass(frozen=True)
class Draft:
    clock_id: int
    task_id: int
    kind: str  # breach | warning
    channel: str  # email | sms
    recipient: str
    staff_id: int | None
    subject: str
    body: str


class LeaseLost(Exception):
    """Another worker took the row over; stop before handing anything to the server."""


def dedupe_key(clock_id: int, kind: str, channel: str, recipient: str) -> str:
    key = f"{clock_id}:{kind}:{channel}:{recipient}"
    if len(key) > 200:  # the column's width; a long address still gets one stable key
        key = f"{clock_id}:{kind}:{channel}:sha256:{hashlib.sha256(recipient.encode()).hexdigest()}"
    return key


def message_id(row: Notification) -> str:
    """Stable across retries, so a receiving client can fold a duplicate."""
    return f"ptsa.n{row.id}.{epoch_ms(row.created_at)}"


def backoff(attempt: int) -> timedelta:
    return min(MAX_BACKOFF, timedelta(seconds=2 ** max(0, attempt - 1)))


async def insert_notifications(session: AsyncSession, drafts: Iterable[Draft],
                               transports: Transports, now: datetime) -> list[int]:
    """Insert the rows (``held`` when their channel is not configured), skipping any whose
    ``dedupe_key`` exists; returns the ids of the new ``pending`` rows."""
    values: list[dict[str, Any]] = []
    for d in drafts:
        missing = transports.missing(d.channel)
        values.append({
            "dedupe_key": dedupe_key(d.clock_id, d.kind, d.channel, d.recipient),
            "clock_id": d.clock_id, "task_id": d.task_id, "kind": d.kind, "channel": d.channel,
            "recipient": d.recipient, "staff_id": d.staff_id, "subject": d.subject[:300],
            "body": d.body, "status": "held" if missing else "pending", "attempts": 0,
            "last_error": missing, "created_at": now, "next_attempt_at": now})
    if not values:
        return []
    dialect = (await session.connection()).dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (insert(Notification).values(values)
                 .on_conflict_do_nothing(index_elements=["dedupe_key"])
                 .returning(col(Notification.id), col(Notification.status)))
    rows = (await session.exec(statement)).all()  # type: ignore[call-overload]
    return sorted(row[0] for row in rows if row[1] == "pending")


class Notifier:
    """Sends rows: claims, hands over, records. ``dispatch`` runs sends in the background (a
    breach job must not wait for a slow SMTP server), at most ``concurrency`` at a time."""

    def __init__(self, db: Database, transports: Transports, pool: ArqRedis | None,
                 lease: timedelta, concurrency: int = 20) -> None:
        self.db = db
        self.transports = transports
        self.pool = pool
        self.lease = lease
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[str]] = set()

    def dispatch(self, ids: Iterable[int]) -> None:
        for notification_id in ids:
            task = asyncio.create_task(self._deliver_logged(notification_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for dispatched sends (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _deliver_logged(self, notification_id: int) -> str:
        try:
            return await self.deliver(notification_id)
        except Exception:  # the row stays in flight; the sweep retries it after the lease
            log.exception("sending notification %s failed unexpectedly", notification_id)
            return "error"

    async def deliver(self, notification_id: int) -> str:
        """Claim one pending row and send it; returns what happened (for logs and tests)."""
        async with self._slots:
            row = await self._claim(notification_id)
            if row is None:
                return "not-pending"
            attempt = row.attempts

            async def committing() -> None:
                if not await self._move(row, attempt, "sending", status="delivering",
                                        next_attempt_at=utcnow() + self.lease):
                    raise LeaseLost()

            try:
                async with asyncio.timeout(self.lease.total_seconds() / 2):
                    await self.transports.send(row, message_id(row), committing)
            except LeaseLost:
                log.warning("notification %s was taken over by another worker", row.id)
                return "lease-lost"
            except DeliveryError as exc:
                return await self._failed(row, attempt, exc)
            except TimeoutError:
                return await self._failed(row, attempt, DeliveryError(
                    f"sending took longer than {self.lease.total_seconds() / 2:g} s "
                    "(half of PTSA_NOTIFY_LEASE)", permanent=False))
            if not await self._move(row, attempt, "delivering", status="sent", sent_at=utcnow(),
                                    next_attempt_at=None):
                log.warning("notification %s was sent after its lease expired; another worker "
                            "may send it too", row.id)
            return "sent"

    async def _claim(self, notification_id: int) -> Notification | None:
        now = utcnow()
        async with self.db.write() as session:
            claimed = await session.exec(update(Notification).where(
                col(Notification.id) == notification_id, col(Notification.status) == "pending",
                or_(col(Notification.next_attempt_at).is_(None),
                    col(Notification.next_attempt_at) <= now + timedelta(seconds=1)),
            ).values(status="sending", attempts=col(Notification.attempts) + 1,
                     next_attempt_at=now + self.lease))
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return None
            return await session.get(Notification, notification_id)

    async def _move(self, row: Notification, attempt: int, status_from: str | tuple[str, ...],
                    **values: Any) -> bool:
        """One fenced step: only the worker holding ``attempt`` may move the row."""
        allowed = (status_from,) if isinstance(status_from, str) else status_from
        async with self.db.write() as session:
            moved = await session.exec(update(Notification).where(
                col(Notification.id) == row.id, col(Notification.attempts) == attempt,
                col(Notification.status).in_(allowed)).values(**values))
            return moved.rowcount == 1  # type: ignore[attr-defined]

    async def _failed(self, row: Notification, attempt: int, exc: DeliveryError) -> str:
        now = utcnow()
        if exc.permanent or now - row.created_at >= GIVE_UP_AFTER:
            reason = exc.message if exc.permanent else (
                f"gave up after {attempt} attempts over {GIVE_UP_AFTER}: {exc.message}")
            await self._move(row, attempt, IN_FLIGHT, status="failed", last_error=reason,
                             next_attempt_at=None)
            log.warning("notification %s failed: %s", row.id, reason)
            return "failed"
        retry_at = now + backoff(attempt)
        if await self._move(row, attempt, IN_FLIGHT, status="pending", last_error=exc.message,
                            next_attempt_at=retry_at):
            await self.schedule_retry(row.id or 0, attempt, retry_at)
        return "retry"

    async def schedule_retry(self, notification_id: int, attempt: int, at: datetime) -> None:
        if self.pool is None:
            return
        try:
            await self.pool.enqueue_job(NOTIFY_JOB, notification_id,
                                        _job_id=f"notify:{notification_id}:{attempt}",
                                        _queue_name=names.ARQ_QUEUE, _defer_until=at)
        except Exception:  # Redis trouble: the sweep re-dispatches due pending rows
            log.warning("could not schedule the retry of notification %s", notification_id)

    # --- what the sweep calls ----------------------------------------------------------------

    async def recover_stale(self, now: datetime | None = None) -> list[int]:
        """Rows whose worker died (lease over) back to ``pending``; returns their ids."""
        now = now or utcnow()
        async with self.db.read() as session:
            stale = (await session.exec(select(Notification).where(
                col(Notification.status).in_(IN_FLIGHT),
                col(Notification.next_attempt_at) < now))).all()
        recovered = []
        for row in stale:
            note = CRASHED_DURING if row.status == "delivering" else CRASHED_BEFORE
            if await self._move(row, row.attempts, row.status, status="pending",
                                last_error=note, next_attempt_at=now):
                log.warning("notification %s: %s", row.id, note)
                recovered.append(row.id or 0)
        return recovered

    async def due_pending(self, older_than: timedelta, now: datetime | None = None) -> list[int]:
        """Pending rows due for longer than ``older_than`` (their job should have run)."""
        cutoff = (now or utcnow()) - older_than
        async with self.db.read() as session:
            rows = await session.exec(select(Notification.id).where(
                Notification.status == "pending", col(Notification.next_attempt_at) <= cutoff)
                .order_by(col(Notification.id)).limit(1000))
            return [i for i in rows.all() if i is not None]

    async def release_held(self, now: datetime | None = None) -> list[int]:
        """Held rows of channels configured now (recent ones) become pending; returns ids."""
        now = now or utcnow()
        channels = [c for c in ("email", "sms") if self.transports.missing(c) is None]
        if not channels:
            return []
        async with self.db.write() as session:
            rows = await session.exec(select(Notification.id).where(
                Notification.status == "held", col(Notification.channel).in_(channels),
                col(Notification.created_at) > now - GIVE_UP_AFTER))
            ids = [i for i in rows.all() if i is not None]
            if ids:
                await session.exec(update(Notification).where(
                    col(Notification.id).in_(ids), col(Notification.status) == "held")
                    .values(status="pending", next_attempt_at=now,
                            last_error="held while its channel was not configured"))
        return ids


async def list_notifications(db: Database, *, unit_codes: Iterable[str] | None = None,
                             limit: int = 200) -> list[dict[str, Any]]:
    """The notification log, newest first, for the admin (all) or a supervisor (``unit_codes``:
    rows about clocks or tasks of those units, or sent to their staff)."""
    statement = (select(Notification, Staff, Task, SlaClock)
                 .outerjoin(Staff, col(Staff.id) == col(Notification.staff_id))
                 .outerjoin(Task, col(Task.id) == col(Notification.task_id))
                 .outerjoin(SlaClock, col(SlaClock.id) == col(Notification.clock_id)))
    if unit_codes is not None:
        units = list(unit_codes)
        statement = statement.where(or_(
            col(Staff.unit_code).in_(units), col(SlaClock.unit_code).in_(units),
            col(Task.eselon1).in_(units), col(Task.eselon2).in_(units)))
    statement = statement.order_by(col(Notification.id).desc()).limit(limit)
    async with db.read() as session:
        rows = (await session.exec(statement)).all()
    return [_log_entry(n, staff, task, clock) for n, staff, task, clock in rows]


def _log_entry(n: Notification, staff: Staff | None, task: Task | None,
               clock: SlaClock | None) -> dict[str, Any]:
    return {
        "id": n.id, "kind": n.kind, "channel": n.channel, "recipient": n.recipient,
        "status": n.status, "attempts": n.attempts, "last_error": n.last_error,
        "subject": n.subject, "body": n.body, "created_at": iso(n.created_at),
        "next_attempt_at": iso(n.next_attempt_at), "sent_at": iso(n.sent_at),
        "staff": ({"username": staff.username, "name": staff.full_name, "unit": staff.unit_code}
                  if staff else None),
        "task": {"id": task.id, "code": task.code} if task else None,
        "clock": {"id": clock.id, "kind": clock.kind, "unit": clock.unit_code} if clock else None,
    }
