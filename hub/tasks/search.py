"""Staff search and list filters over tasks (``GET /api/v1/tasks?q=…``, the ``/cari`` page).

A request is indexed once, when it is registered (``index_task``, same transaction); a search is
a prefix range over ``task_terms``' primary key or ``tasks.code``'s unique index, intersected
with what the caller may see. No scan over the tasks table: ``bench/search.py`` times it on
100,000 requests (docs/BENCHMARKS.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, insert, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.domain import search as rules
from hub.domain.tasks import Status
from hub.errors import InvalidInput, Reason
from hub.models import Task, TaskTerm
from hub.validation import parse_date

MAX_QUERY = 100


async def index_task(session: AsyncSession, task: Task) -> None:
    """Write the terms a registered task (with its id) is found by."""
    rows = [{"kind": kind, "term": term, "task_id": task.id or 0}
            for kind, term in rules.task_terms(task.applicant_name, task.applicant_org,
                                               task.applicant_phone)]
    if rows:
        # One executemany, not ORM objects: nothing reads the terms back in this transaction.
        connection = await session.connection()
        await connection.execute(_INSERT_TERMS, rows)


_INSERT_TERMS = insert(TaskTerm.__table__)  # type: ignore[attr-defined]


def _term_range(kind: str, prefix: str) -> Any:
    upper = rules.next_prefix(prefix)
    conditions = [col(TaskTerm.kind) == kind, col(TaskTerm.term) >= prefix]
    if upper is not None:
        conditions.append(col(TaskTerm.term) < upper)
    return col(Task.id).in_(select(TaskTerm.task_id).where(*conditions))


def text_condition(text: str) -> Any:
    """The SQL condition for a typed search; InvalidInput when it says nothing searchable."""
    text = text.strip()
    if len(text) > MAX_QUERY:
        raise InvalidInput(f"q is too long: {len(text)} characters, at most {MAX_QUERY}",
                           field="q", reason=Reason.TOO_LONG,
                           params={"n": len(text), "max": MAX_QUERY})
    query = rules.parse_query(text)
    if query.empty or len(text) < 2:
        raise InvalidInput("q must have at least two letters or digits of a registration "
                           f"number, name, organisation or phone; got {text!r}", field="q",
                           reason=Reason.QUERY_TOO_SHORT)
    if query.code_prefix:
        low, high = rules.code_range(query.code_prefix)
        return and_(col(Task.code) >= low, *([col(Task.code) < high] if high else []))
    if query.phone_prefix:
        return _term_range(rules.PHONE, query.phone_prefix)
    return and_(*[_term_range(rules.WORD, w) for w in query.word_prefixes])


def parse_day(raw: str, field: str) -> date:
    value = parse_date(field, raw)  # total: a date out of range is refused, not a 500
    if value is None:
        raise InvalidInput(f"{field} must be a date like 2026-11-27; got {raw!r}", field=field,
                           reason=Reason.NOT_DATE)
    return value


@dataclass(frozen=True)
class Filters:
    """What a list or search asks for, read from query parameters (``q``, ``service``,
    ``status``, ``unit``, ``from``, ``to``; dates are days in the office time zone)."""

    q: str = ""
    service: str = ""
    status: tuple[str, ...] = ()
    unit: str = ""
    day_from: date | None = None
    day_to: date | None = None

    @classmethod
    def parse(cls, params: Any) -> Filters:
        status = tuple(s for s in (params.get("status") or "").split(",") if s)
        unknown = set(status) - {s.value for s in Status}
        if unknown:
            raise InvalidInput(f"unknown status {sorted(unknown)}; use "
                               f"{', '.join(s.value for s in Status)}", field="status",
                               reason=Reason.UNKNOWN_STATUS)
        day_from = parse_day(params["from"], "from") if params.get("from") else None
        day_to = parse_day(params["to"], "to") if params.get("to") else None
        if day_from and day_to and day_to < day_from:
            raise InvalidInput(f"to ({day_to}) is before from ({day_from})", field="to",
                               reason=Reason.DATE_ORDER)
        return cls(q=(params.get("q") or "").strip(), service=params.get("service") or "",
                   status=status, unit=params.get("unit") or "", day_from=day_from,
                   day_to=day_to)

    @property
    def any(self) -> bool:
        return bool(self.q or self.service or self.status or self.unit or self.day_from
                    or self.day_to)

    def apply(self, query: Any, tz: ZoneInfo) -> Any:
        if self.q:
            query = query.where(text_condition(self.q))
        if self.service:
            query = query.where(col(Task.service_code) == self.service)
        if self.status:
            query = query.where(col(Task.status).in_(self.status))
        if self.unit:
            # Where it is now, or the Eselon II unit it was routed to.
            query = query.where(or_(col(Task.unit_code) == self.unit,
                                    col(Task.eselon2) == self.unit))
        if self.day_from:
            query = query.where(col(Task.created_at) >= _start(self.day_from, tz))
        if self.day_to:
            query = query.where(col(Task.created_at) < _start(self.day_to + timedelta(1), tz))
        return query


def _start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


async def reindex(session: AsyncSession) -> int:
    """Index the tasks a database made before search has no terms for; the number indexed."""
    indexed = select(TaskTerm.task_id)
    tasks = (await session.exec(select(Task).where(col(Task.id).not_in(indexed)))).all()
    for task in tasks:
        await index_task(session, task)
    return len(tasks)
