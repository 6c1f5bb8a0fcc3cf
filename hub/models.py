"""SQLModel tables. ``schema.sql`` describes the same tables; tests/hub/test_schema.py keeps the
two identical on SQLite and PostgreSQL.

All timestamps are stored as naive UTC (``UTCDateTime``) and come back timezone-aware, so the same
column works on SQLite (which has no time zones) and PostgreSQL. Display converts to Asia/Jakarta.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Index, Text, UniqueConstraint
from sqlalchemy import text as sql_text
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Naive UTC in the database, aware UTC in Python."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"refusing to store a naive datetime {value!r}; use an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # pragma: no cover - raw SQLite text from a hand-written query
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC)


def ts(nullable: bool = True, **kw: Any) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, **kw))


def text(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(Text, nullable=nullable))


class Unit(SQLModel, table=True):
    __tablename__ = "units"
    code: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=200)
    short_name: str = Field(default="", max_length=60)
    level: str = Field(max_length=10)  # front | eselon1 | eselon2
    parent: str | None = Field(default=None, foreign_key="units.code", max_length=40)
    active: bool = True


class Staff(SQLModel, table=True):
    __tablename__ = "staff"
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, max_length=60)
    full_name: str = Field(max_length=120)
    role: str = Field(max_length=12)  # p0 | p1 | p2 | supervisor | admin
    unit_code: str = Field(foreign_key="units.code", max_length=40)
    email: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=30)
    password_hash: str = Field(max_length=200)
    active: bool = True
    # Bumped on logout-everywhere, deactivation and password reset: old tokens and sockets die.
    session_epoch: int = 0
    language: str = Field(default="id", max_length=5)
    created_at: datetime = ts(nullable=False)


class Service(SQLModel, table=True):
    __tablename__ = "services"
    code: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=200)
    name_en: str = Field(default="", max_length=200)
    eselon1: str = Field(foreign_key="units.code", max_length=40)
    eselon2: str = Field(foreign_key="units.code", max_length=40)
    sop_days: int
    sop_source: str = Field(default="", max_length=200)
    active: bool = True
    # The documents an applicant brings, one a line: ticked at intake, printed on the receipt,
    # published on /layanan (hub/domain/documents.py).
    documents: str = Field(default="", max_length=2000)


class Task(SQLModel, table=True):
    __tablename__ = "tasks"
    # The desk queues: "what is waiting at P1 barenbang" (schema.sql declares the same index).
    __table_args__ = (Index("ix_tasks_queue", "level", "unit_code", "status"),
                      Index("ix_tasks_created_at", "created_at"))
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=30)
    service_code: str = Field(foreign_key="services.code", max_length=40)
    status: str = Field(max_length=12)  # see hub.domain.tasks.Status
    level: str = Field(max_length=4)  # p0 | p1 | p2
    unit_code: str = Field(foreign_key="units.code", max_length=40)
    eselon1: str = Field(foreign_key="units.code", max_length=40)
    eselon2: str | None = Field(default=None, foreign_key="units.code", max_length=40)
    assignee_id: int | None = Field(default=None, foreign_key="staff.id")
    version: int = 1
    applicant_name: str = Field(max_length=120)
    applicant_org: str = Field(default="", max_length=200)
    applicant_phone: str = Field(default="", max_length=30)
    applicant_email: str = Field(default="", max_length=200)
    description: str = text(nullable=False)
    created_by: int = Field(foreign_key="staff.id")
    created_at: datetime = ts(nullable=False)
    updated_at: datetime = ts(nullable=False)
    due_at: datetime | None = ts()
    completed_at: datetime | None = ts()
    hold_reason: str | None = text()
    result: str | None = text()


class TaskEvent(SQLModel, table=True):
    """The append-only history of a task: one row per change, with actor and time."""

    __tablename__ = "task_events"
    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(unique=True, max_length=32)
    task_id: int = Field(foreign_key="tasks.id", index=True)
    type: str = Field(max_length=40)
    actor_id: int | None = Field(default=None, foreign_key="staff.id")
    at: datetime = ts(nullable=False)
    data: str = text(nullable=False)  # JSON


class TaskMessage(SQLModel, table=True):
    __tablename__ = "task_messages"
    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="tasks.id", index=True)
    author_id: int = Field(foreign_key="staff.id")
    body: str = text(nullable=False)
    created_at: datetime = ts(nullable=False)


class TaskTerm(SQLModel, table=True):
    """A word or phone a staff search finds the task by (hub/domain/search.py)."""

    __tablename__ = "task_terms"
    kind: str = Field(primary_key=True, max_length=1)  # w (word) | p (phone)
    term: str = Field(primary_key=True, max_length=40)
    task_id: int = Field(primary_key=True, foreign_key="tasks.id")


class UnreadMessages(SQLModel, table=True):
    """How many messages on a task a staff member has not read (hub/tasks/unread.py)."""

    __tablename__ = "unread_messages"
    staff_id: int = Field(primary_key=True, foreign_key="staff.id")
    task_id: int = Field(primary_key=True, foreign_key="tasks.id")
    count: int = 0
    last_message_at: datetime = ts(nullable=False)


class SlaClock(SQLModel, table=True):
    __tablename__ = "sla_clocks"
    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="tasks.id", index=True)
    kind: str = Field(max_length=12)  # p1_pickup | p2_pickup | resolution
    unit_code: str = Field(foreign_key="units.code", max_length=40)
    state: str = Field(max_length=10)  # running | paused | met | cancelled
    started_at: datetime = ts(nullable=False)
    warn_at: datetime | None = ts()
    due_at: datetime = ts(nullable=False)
    paused_at: datetime | None = ts()
    paused_seconds: float = 0.0
    warned_at: datetime | None = ts()
    breached_at: datetime | None = ts()
    stopped_at: datetime | None = ts()
    version: int = 1
    # A supervisor's "seen, on it" for a breach: the first one is kept
    # (hub/tasks/acknowledgements.py).
    acknowledged_at: datetime | None = ts()
    acknowledged_by: int | None = Field(default=None, foreign_key="staff.id")


class Outbox(SQLModel, table=True):
    """Events committed with their change, waiting to be appended to a channel's stream."""

    __tablename__ = "outbox"
    # The relay's work list: only rows still waiting are indexed (as in schema.sql).
    __table_args__ = (Index("ix_outbox_unpublished", "id",
                            sqlite_where=sql_text("published_at IS NULL"),
                            postgresql_where=sql_text("published_at IS NULL")),)
    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=32, index=True)
    channel: str = Field(max_length=80)
    type: str = Field(max_length=40)
    at: datetime = ts(nullable=False)
    payload: str = text(nullable=False)  # JSON of the event's data
    published_at: datetime | None = ts()
    attempts: int = 0


class Notification(SQLModel, table=True):
    """One email or SMS to one recipient. ``dedupe_key`` makes each (clock, kind, channel,
    recipient) exist once, however often a job runs."""

    __tablename__ = "notifications"
    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(unique=True, max_length=200)
    clock_id: int | None = Field(default=None, foreign_key="sla_clocks.id")
    task_id: int | None = Field(default=None, foreign_key="tasks.id")
    kind: str = Field(max_length=20)  # warning | breach
    channel: str = Field(max_length=10)  # email | sms
    recipient: str = Field(max_length=200)
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    subject: str = Field(default="", max_length=300)
    body: str = text(nullable=False)
    status: str = Field(max_length=12)  # pending | sending | sent | failed | held
    attempts: int = 0
    last_error: str | None = text()
    created_at: datetime = ts(nullable=False)
    next_attempt_at: datetime | None = ts()
    sent_at: datetime | None = ts()


class CalendarDay(SQLModel, table=True):
    """An admin's change to the working calendar: an extra holiday (e.g. a newly decreed cuti
    bersama) or an extra working day (e.g. a Saturday service day)."""

    __tablename__ = "calendar_days"
    day: date = Field(primary_key=True)
    kind: str = Field(max_length=10)  # holiday | working
    name: str = Field(max_length=200)
    created_by: int | None = Field(default=None, foreign_key="staff.id")


class RegistrationCounter(SQLModel, table=True):
    """Per-day sequence for readable registration numbers (PTSA-20261127-0042)."""

    __tablename__ = "registration_counters"
    day: str = Field(primary_key=True, max_length=8)
    last: int = 0


class AppSetting(SQLModel, table=True):
    """Values an admin may change at run time (SLA minutes); environment gives the defaults."""

    __tablename__ = "app_settings"
    key: str = Field(primary_key=True, max_length=60)
    value: str = Field(max_length=200)


class Device(SQLModel, table=True):
    """A kiosk or hall display: signs in with a token an admin created (only its hash is kept)."""

    __tablename__ = "devices"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=60)
    kind: str = Field(max_length=10)  # kiosk | display
    token_hash: str = Field(unique=True, max_length=64)
    created_by: int | None = Field(default=None, foreign_key="staff.id")
    created_at: datetime = ts(nullable=False)
    revoked_at: datetime | None = ts()
    last_seen_at: datetime | None = ts()


class QueueCounter(SQLModel, table=True):
    """Per-day, per-letter sequence of queue tickets (A-001, A-002, ...)."""

    __tablename__ = "queue_counters"
    day: str = Field(primary_key=True, max_length=8)
    series: str = Field(primary_key=True, max_length=1)
    last: int = 0


class QueueTicket(SQLModel, table=True):
    __tablename__ = "queue_tickets"
    __table_args__ = (UniqueConstraint("day", "series", "seq"),
                      Index("ix_queue_tickets_line", "day", "status", "group_code"))
    id: int | None = Field(default=None, primary_key=True)
    day: str = Field(max_length=8)
    series: str = Field(max_length=1)
    seq: int
    number: str = Field(max_length=12)
    group_code: str = Field(max_length=1)
    status: str = Field(max_length=10)  # waiting | called | no_show | served
    taken_at: datetime = ts(nullable=False)
    position_at: datetime = ts(nullable=False)
    device_id: int | None = Field(default=None, foreign_key="devices.id")
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    called_at: datetime | None = ts()
    last_called_at: datetime | None = ts()
    counter: str | None = Field(default=None, max_length=40)
    called_by: int | None = Field(default=None, foreign_key="staff.id")
    calls: int = 0
    returns: int = 0
    served_at: datetime | None = ts()
    task_id: int | None = Field(default=None, foreign_key="tasks.id")


class ApplicantConsent(SQLModel, table=True):
    """The applicant agreed, at intake, to SMS/e-mail about their request
    (workers/notify/applicant.py)."""

    __tablename__ = "applicant_consents"
    task_id: int = Field(primary_key=True, foreign_key="tasks.id")
    given_at: datetime = ts(nullable=False)
    recorded_by: int | None = Field(default=None, foreign_key="staff.id")
class SurveyToken(SQLModel, table=True):
    """A completed request's one-time SKM link, kept only as a hash. The task link is a used-flag:
    no response row points back here (hub/feedback/survey.py)."""

    __tablename__ = "survey_tokens"
    token_hash: str = Field(primary_key=True, max_length=64)
    task_id: int = Field(foreign_key="tasks.id", unique=True)
    expires_at: datetime = ts(nullable=False)
    used: bool = False


class SurveyResponse(SQLModel, table=True):
    """One anonymous SKM questionnaire: unit, service and period, never the request or applicant."""

    __tablename__ = "survey_responses"
    __table_args__ = (Index("ix_survey_responses_unit", "eselon2", "submitted_at"),)
    id: int | None = Field(default=None, primary_key=True)
    eselon1: str = Field(foreign_key="units.code", max_length=40)
    eselon2: str | None = Field(default=None, foreign_key="units.code", max_length=40)
    service_code: str = Field(foreign_key="services.code", max_length=40)
    period: str = Field(max_length=7)  # YYYY-MM of completion, Asia/Jakarta
    submitted_at: datetime = ts(nullable=False)
    u1: int
    u2: int
    u3: int
    u4: int
    u5: int
    u6: int
    u7: int
    u8: int
    u9: int
    age_group: str | None = Field(default=None, max_length=10)
    sex: str | None = Field(default=None, max_length=1)
    education: str | None = Field(default=None, max_length=10)
    occupation: str | None = Field(default=None, max_length=12)
    suggestion: str | None = text()


class Complaint(SQLModel, table=True):
    """A public complaint (pengaduan) with its own response deadline
    (hub/feedback/complaints.py)."""

    __tablename__ = "complaints"
    __table_args__ = (Index("ix_complaints_open", "status", "due_at"),)
    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(unique=True, max_length=30)
    text: str = text(nullable=False)
    registration: str | None = Field(default=None, max_length=30)
    unit_code: str = Field(foreign_key="units.code", max_length=40)
    eselon1: str | None = Field(default=None, foreign_key="units.code", max_length=40)
    eselon2: str | None = Field(default=None, foreign_key="units.code", max_length=40)
    name: str | None = Field(default=None, max_length=120)
    phone: str | None = Field(default=None, max_length=30)
    email: str | None = Field(default=None, max_length=200)
    status: str = Field(max_length=10)  # open | answered
    created_at: datetime = ts(nullable=False)
    due_at: datetime = ts(nullable=False)
    breached_at: datetime | None = ts()
    # Not text(): the ``text`` column above shadows the helper inside this class body.
    reply: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    replied_at: datetime | None = ts()
    replied_by: int | None = Field(default=None, foreign_key="staff.id")
