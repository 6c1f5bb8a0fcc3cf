"""Messages to the applicant: on registration, on hold waiting for them, on completion.

Only for requests whose applicant ticked consent at intake (``applicant_consents``); SMS to the
phone, e-mail to the address they gave. The source of truth is the task's history: this loop
reads recent ``task.created`` / ``task.held`` / ``task.completed`` events and turns each into one
notification row per channel, keyed ``applicant:<event id>:<channel>`` (UNIQUE ``dedupe_key``), so
however often it runs or restarts, each message exists once. The rows are then sent like every
other notification (``workers/notify/sender.py``): retried with back-off while the gateway is down,
and once across a worker that is killed (the same lease rules as breach messages).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select

from config.settings import Settings
from hub.background import Loops
from hub.db import Database
from hub.models import ApplicantConsent, Notification, Service, Task, TaskEvent, utcnow
from workers.notify.gsm import GSM7_SINGLE, fit_single_sms, gsm7_length, is_gsm7, to_gsm7_friendly
from workers.notify.sender import Notifier
from workers.notify.texts import environment, local_time
from workers.notify.transports import Transports

log = logging.getLogger(__name__)

KINDS = {"task.created": "applicant_registered", "task.held": "applicant_on_hold",
         "task.completed": "applicant_completed"}
# Events are looked at again for this long: a registration committed just before a worker
# restart, or while it was down, is still messaged. Older events are history, not news.
WINDOW = timedelta(hours=24)
# Event ids are assigned before commit: an id below the newest one seen may still commit late.
# The scan re-reads this many ids below the newest; dedupe keys make re-reading harmless.
LOOKBACK_IDS = 1000


@dataclass(frozen=True)
class ApplicantMessage:
    kind: str
    channel: str
    recipient: str
    subject: str
    body: str


def tracking_link(public_url: str, code: str) -> str:
    return f"{public_url.rstrip('/')}/lacak?kode={code}"


def applicant_messages(kind: str, task: Task, service: Service | None, reason: str | None,
                       settings: Settings) -> list[ApplicantMessage]:
    """The SMS (one GSM-7 message when it can be) and e-mail for one event, in Indonesian."""
    values: dict[str, Any] = {
        "kind": kind, "code": task.code, "name": task.applicant_name,
        "service": service.name if service else task.service_code,
        "due": local_time(task.due_at, settings.tz, with_date=True) if task.due_at else "-",
        "due_date": task.due_at.astimezone(settings.tz).strftime("%d-%m-%Y") if task.due_at
        else "-",
        "reason": " ".join((reason or "").split()),
        "link": tracking_link(settings.public_url, task.code)}
    messages = []
    if task.applicant_phone:
        messages.append(ApplicantMessage(kind, "sms", task.applicant_phone, "",
                                         _sms(values)))
    if task.applicant_email:
        env = environment()
        subject = " ".join(env.get_template("applicant_subject.txt").render(values).split())
        body = env.get_template("applicant_email.txt").render(values).strip() + "\n"
        messages.append(ApplicantMessage(kind, "email", task.applicant_email, subject, body))
    return messages


def _sms(values: dict[str, Any]) -> str:
    """GSM-7 when the text allows it (transliterated: é → e), in one 160-septet message; the
    service name and the word "Lacak" are dropped first (short form), then the text is cut to
    fit (only a very long hold reason needs that)."""
    template = environment().get_template("applicant_sms.txt")
    for short in (False, True):
        text = to_gsm7_friendly(" ".join(template.render(values, short=short).split()))
        if is_gsm7(text) and gsm7_length(text) <= GSM7_SINGLE:
            return text
    return fit_single_sms(text)


class ApplicantMessages:
    def __init__(self, db: Database, notifier: Notifier, transports: Transports,
                 settings: Settings, interval: float = 1.0) -> None:
        self.db = db
        self.notifier = notifier
        self.transports = transports
        self.settings = settings
        self.interval = interval
        self._newest = 0
        # Events already turned into rows by this process: not rendered again each second (the
        # dedupe keys, not this set, are what keeps a message single across processes).
        self._done: set[str] = set()

    async def run_forever(self, loops: Loops) -> None:
        while True:
            try:
                ids = await self.sweep()
                if ids:
                    self.notifier.dispatch(ids)
            except Exception as exc:  # the database is away: next round
                log.warning("applicant messages: sweep failed (%s)", exc)
            if await loops.pause(self.interval):
                return

    async def sweep(self, now: datetime | None = None) -> list[int]:
        """Insert the rows of recent events with consent; returns the new pending row ids."""
        now = now or utcnow()
        statement = (select(TaskEvent, Task, Service)
                     .join(Task, col(Task.id) == col(TaskEvent.task_id))
                     .join(ApplicantConsent, col(ApplicantConsent.task_id) == col(Task.id))
                     .outerjoin(Service, col(Service.code) == col(Task.service_code))
                     .where(col(TaskEvent.type).in_(list(KINDS)),
                            col(TaskEvent.at) >= now - WINDOW,
                            col(TaskEvent.id) > max(0, self._newest - LOOKBACK_IDS))
                     .order_by(col(TaskEvent.id)))
        values: list[dict[str, Any]] = []
        # Read first: on SQLite a write transaction takes the database's one write lock, and
        # most seconds there is nothing to write.
        async with self.db.read() as session:
            rows = [r for r in (await session.exec(statement)).all()
                    if r[0].event_id not in self._done]
        for event, task, service in rows:
            self._newest = max(self._newest, event.id or 0)
            reason = json.loads(event.data).get("reason") if event.type == "task.held" else None
            for m in applicant_messages(KINDS[event.type], task, service, reason, self.settings):
                missing = self.transports.missing(m.channel)
                values.append({
                    "dedupe_key": f"applicant:{event.event_id}:{m.channel}",
                    "clock_id": None, "task_id": task.id, "kind": m.kind, "channel": m.channel,
                    "recipient": m.recipient, "staff_id": None, "subject": m.subject[:300],
                    "body": m.body, "status": "held" if missing else "pending", "attempts": 0,
                    "last_error": missing, "created_at": now, "next_attempt_at": now,
                    "sent_at": None})
        fresh: list[int] = []
        if values:
            async with self.db.write() as session:
                connection = await session.connection()
                insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
                table = Notification.__table__  # type: ignore[attr-defined]
                result = await connection.execute(
                    insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"])
                    .returning(table.c.id, table.c.status), values)
                fresh = [row_id for row_id, status in result if status == "pending"]
        if len(self._done) > 50_000:
            self._done.clear()
        self._done.update(event.event_id for event, _, _ in rows)
        return fresh


async def record_consent(db: Database, task_id: int, staff_id: int | None) -> None:
    async with db.write() as session:
        if await session.get(ApplicantConsent, task_id) is None:
            session.add(ApplicantConsent(task_id=task_id, given_at=utcnow(),
                                         recorded_by=staff_id))
