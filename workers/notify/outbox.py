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
  fold duplicates (an SMS carries the same reference, ``{ref}`` in ``PTSA_SMS_FIELDS``). The
  window is one DATA round trip or gateway answer plus one commit: ``sent`` is committed on its
  own right after the answer (``workers/notify/sender.py``), before the slot takes another message.

The lease is short (5 s) and renewed every third of it by the live worker, so a slow server never
loses the row to another worker, and a dead worker's rows are taken over seconds later.

Transient failures retry with exponential back-off (1 s, 2 s, 4 s … 5 min) through an arq job at
the exact time; the sweep re-dispatches any pending row whose job was lost. The sending itself is
``workers/notify/sender.py``; this module is the rows: inserting them and listing them for people.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.models import Notification
from workers.notify.transports import Transports
from workers.sla.schedule import epoch_ms

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


def dedupe_key(clock_id: int, kind: str, channel: str, recipient: str) -> str:
    key = f"{clock_id}:{kind}:{channel}:{recipient}"
    if len(key) > 200:  # the column's width; a long address still gets one stable key
        key = f"{clock_id}:{kind}:{channel}:sha256:{hashlib.sha256(recipient.encode()).hexdigest()}"
    return key


@dataclass(frozen=True)
class Claimed:
    """A row a worker holds (status ``sending``, this ``attempts``) and is about to send."""

    id: int
    attempts: int
    channel: str
    recipient: str
    subject: str
    body: str
    created_at: datetime

    @classmethod
    def of(cls, row: Notification) -> Claimed:
        return cls(row.id or 0, row.attempts, row.channel, row.recipient, row.subject, row.body,
                   row.created_at)

    @property
    def message_id(self) -> str:
        """Stable across retries, so a receiving client can fold a duplicate."""
        return f"ptsa.n{self.id}.{epoch_ms(self.created_at)}"


def backoff(attempt: int) -> timedelta:
    return min(MAX_BACKOFF, timedelta(seconds=2 ** max(0, attempt - 1)))


async def insert_notifications(session: AsyncSession, drafts: Iterable[Draft],
                               transports: Transports, now: datetime,
                               lease: timedelta | None = None) -> dict[int, list[Claimed]]:
    """Insert the rows, skipping any whose ``dedupe_key`` exists. A row whose channel is not
    configured is ``held``; the others are ``pending``, or with ``lease`` already claimed for the
    caller (``sending``, attempt 1, leased until ``now + lease``), saving a transaction per
    message in a burst. Returns the claimed rows by clock id (empty without ``lease``).

    One cached statement run with many parameter sets (SQLAlchemy's "insertmanyvalues"), not ORM
    objects: a burst of breaches inserts hundreds of rows in one transaction."""
    values: list[dict[str, Any]] = []
    for d in drafts:
        missing = transports.missing(d.channel)
        status = "held" if missing else "sending" if lease else "pending"
        values.append({
            "dedupe_key": dedupe_key(d.clock_id, d.kind, d.channel, d.recipient),
            "clock_id": d.clock_id, "task_id": d.task_id, "kind": d.kind, "channel": d.channel,
            "recipient": d.recipient, "staff_id": d.staff_id, "subject": d.subject[:300],
            "body": d.body, "status": status, "attempts": int(status == "sending"),
            "last_error": missing, "created_at": now, "sent_at": None,
            "next_attempt_at": now + lease if status == "sending" and lease else now})
    if not values:
        return {}
    connection = await session.connection()
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    table = Notification.__table__  # type: ignore[attr-defined]
    statement = (insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"])
                 .returning(table.c.id, table.c.dedupe_key))
    inserted = {key: row_id for row_id, key in (await connection.execute(statement, values))}
    claimed: dict[int, list[Claimed]] = {}
    for v in values:
        row_id = inserted.pop(v["dedupe_key"], None)  # pop: a key repeated in drafts is one row
        if row_id is not None and v["status"] == "sending":
            claimed.setdefault(v["clock_id"], []).append(Claimed(
                row_id, 1, v["channel"], v["recipient"], v["subject"], v["body"], now))
    return claimed
