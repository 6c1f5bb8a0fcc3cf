"""The complaints' response deadline: a complaint still open at its ``due_at`` is escalated once.

Every ``PTSA_SLA_SWEEP`` the worker looks for open complaints past their deadline. Each is
claimed by a conditional UPDATE (``breached_at IS NULL``), so of two workers, or two passes, one
records the breach; the e-mail/SMS rows to the supervisors (the SLA escalation's recipients:
``workers/sla/escalation.py``) have one ``dedupe_key`` per complaint, channel and person, and go out
through the same notifier as SLA breaches (``workers/notify/sender.py``: exactly once per row). The
``complaint.breached`` event leaves through the worker's outbox relay.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlmodel import col, select

from hub.background import Loops
from hub.feedback.complaints import add_notifications, card, channels_of
from hub.models import Complaint, utcnow
from workers.sla.escalation import DirectoryCache, add_supervisors, breach_recipients

if TYPE_CHECKING:
    from workers.context import WorkerContext

log = logging.getLogger(__name__)
BATCH = 200


class ComplaintDeadlines:
    def __init__(self, app: WorkerContext, notifier: Any) -> None:
        self.app = app
        self.notifier = notifier
        self.directories = DirectoryCache()

    async def once(self, now: datetime | None = None) -> int:
        """Escalate every open complaint past its deadline; returns how many were recorded."""
        from channels.outbox import add_outbox_rows

        now = now or utcnow()
        recorded = 0
        pending: list[int] = []
        settings = self.app.settings
        async with self.app.db.write() as session:
            overdue = (await session.exec(select(Complaint).where(
                col(Complaint.status) == "open", col(Complaint.breached_at).is_(None),
                col(Complaint.due_at) <= now).order_by(col(Complaint.due_at)).limit(BATCH))).all()
            if not overdue:
                return 0
            directory = await self.directories.load(session)
            await add_supervisors(session, directory, {c.unit_code for c in overdue})
            for complaint in overdue:
                won = await session.exec(update(Complaint).where(  # type: ignore[call-overload]
                    col(Complaint.id) == complaint.id, col(Complaint.status) == "open",
                    col(Complaint.breached_at).is_(None)).values(breached_at=now)
                    .execution_options(synchronize_session=False))
                if won.rowcount != 1:
                    continue
                recorded += 1
                complaint.breached_at = now
                units = list(dict.fromkeys(u for u in (complaint.unit_code, complaint.eselon1)
                                           if u))
                people = breach_recipients(directory, units)
                due = complaint.due_at.astimezone(settings.tz).strftime("%d-%m-%Y %H.%M")
                subject = f"[PTSA] Pengaduan {complaint.number} melewati tenggat jawaban"
                body = (f"Pengaduan {complaint.number} untuk unit {complaint.unit_code} belum "
                        f"dijawab; tenggat {due} WIB terlampaui (eskalasi).\n\n"
                        f"{complaint.text[:500]}\n\nJawab di {settings.public_url}/penyelia")
                sms = (f"PTSA: pengaduan {complaint.number} ({complaint.unit_code}) terlambat "
                       f"dijawab, tenggat {due} WIB.")
                drafts = []
                for person in people:
                    if person.staff.email:
                        drafts.append(("email", person.staff.email, subject, body,
                                       person.staff.id))
                    if person.staff.phone:
                        drafts.append(("sms", person.staff.phone, subject, sms, person.staff.id))
                pending += await add_notifications(session, settings, complaint.id or 0,
                                                   "breach", now, drafts)
                await add_outbox_rows(
                    session, f"cb{complaint.id}x{int(now.timestamp())}", "complaint.breached",
                    now, {"complaint": card(complaint),
                          "supervisors": [p.staff.username for p in people]},
                    channels_of(complaint))
        if recorded:
            log.warning("escalated %d complaint(s) past their response deadline", recorded)
        self.notifier.dispatch(pending)
        return recorded

    async def run_forever(self, loops: Loops) -> None:
        interval = self.app.settings.sla_sweep_interval.total_seconds()
        while True:
            try:
                await self.once()
            except Exception:  # a database outage: the next pass picks the complaints up
                log.exception("complaint deadline pass failed; retrying in %ss", interval)
            if await loops.pause(interval):
                return
