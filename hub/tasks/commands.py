"""Task commands: each one is a single database transaction.

In that transaction a command checks the transition with the pure state machine, updates the task
under an optimistic version check (so of two simultaneous claims exactly one wins), appends the
event to the task's history, writes one outbox row per channel that must hear about it, and starts
or stops SLA clocks. After commit, ``after_commit`` hooks run: the relay publishes the outbox rows
and the SLA scheduler plans the clocks' jobs. A hook that fails loses nothing: the outbox rows and
clock rows are committed, and the relay's retry loop and the SLA sweep pick them up.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, text, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.db import Database
from hub.domain import tasks as sm
from hub.domain.documents import received
from hub.errors import Conflict, Forbidden, InvalidInput, NotFound, Reason
from hub.models import Service, SlaClock, Staff, Task, TaskEvent, TaskMessage, Unit, utcnow
from hub.tasks import acknowledgements as sla_ack
from hub.tasks import unread
from hub.tasks.clocks import (
    ClockPolicy,
    PolicyProvider,
    apply_clock_changes,
    insert_starts,
    plan_starts,
    resolution_due,
)
from hub.tasks.search import index_task
from hub.tasks.service_cache import SERVICES_VERSION_KEY, ServiceCache
from hub.validation import Applicant, require_text

if TYPE_CHECKING:
    from hub.auth.principal import Principal

log = logging.getLogger(__name__)


@dataclass
class CommandResult:
    task: Task
    event_id: str
    event_type: str
    clocks: list[SlaClock] = field(default_factory=list)
    event: TaskEvent | None = None
    payload: dict[str, Any] = field(default_factory=dict)  # the event's JSON, with the card
    # Other events committed in the same transaction (a message's ``message.unread`` notices):
    # published with this one by the relay's fast path.
    companions: tuple[str, ...] = ()


AfterCommit = Callable[[CommandResult], Awaitable[None]]


def new_event_id() -> str:
    return uuid.uuid4().hex


def actor_of(staff: Staff, scope: frozenset[str] = frozenset()) -> sm.Actor:
    assert staff.id is not None  # rows loaded from the database always have one
    return sm.Actor(staff.id, sm.Role(staff.role), staff.unit_code, scope)


def state_of(task: Task) -> sm.TaskState:
    return sm.TaskState(sm.Status(task.status), sm.Level(task.level), task.unit_code,
                        task.eselon1, task.eselon2, task.assignee_id)


class TaskCommands:
    def __init__(self, db: Database, policies: PolicyProvider) -> None:
        self.db = db
        self.policies = policies
        self.services = ServiceCache()
        self.after_commit: list[AfterCommit] = []
        self.hook_timeout: float | None = None  # seconds; PTSA_REDIS_HOOK_TIMEOUT (hub.context)
        self._background: set[asyncio.Future[None]] = set()

    async def _finish(self, result: CommandResult) -> CommandResult:
        async def run(hook: AfterCommit) -> None:
            try:
                await hook(result)
            except Exception:  # the committed outbox/clock rows are retried by relay and sweep
                log.exception("after-commit hook %r failed for event %s", hook, result.event_id)

        # Together and bounded: a hung Redis must not hold the answer of a committed command
        # (a client that times out would retry it). Hooks still running go on in the background,
        # not cancelled mid-call, until they finish or their Redis read times out (then the
        # relay and SLA sweeps do their work).
        hooks = [asyncio.ensure_future(run(hook)) for hook in self.after_commit]
        if hooks:
            _, pending = await asyncio.wait(hooks, timeout=self.hook_timeout)
            for task in pending:
                self._background.add(task)
                task.add_done_callback(self._background.discard)
            if pending:
                log.warning("after-commit work for event %s took over %s s; answering without "
                            "it", result.event_id, self.hook_timeout)
        return result

    async def register(self, actor: Staff, service_code: str, applicant: Applicant,
                       description: str, documents: list[Any] | None = None) -> CommandResult:
        description = require_text("description", description, max_length=4000, required=False)
        async with self.db.write() as session:
            # Settings first: the service cache keys on the version read there.
            policy, stored = await self.policies.read(session)
            service = await self.services.get(session, service_code,
                                              stored.get(SERVICES_VERSION_KEY, ""))
            if service is None or not service.active:
                raise InvalidInput(f"unknown service '{service_code}'; see GET /api/v1/services",
                                   field="service", reason=Reason.UNKNOWN_SERVICE)
            extra: dict[str, Any] = {"service": service.code}
            if documents:  # ticked at intake from the service's checklist (hub.domain.documents)
                extra["documents"] = received(documents, service.documents)
            transition = sm.register(service.eselon1, actor_of(actor))
            now = utcnow()
            code = await _next_registration_code(session, now, policy)
            # Planned first, so the task's row is written whole (with its due_at) in one INSERT.
            starts = plan_starts(transition.clocks, transition.state.unit, now, policy,
                                 service.sop_days)
            task = await _insert_task(session, {
                "code": code, "service_code": service.code, "status": transition.state.status.value,
                "level": transition.state.level.value, "unit_code": transition.state.unit,
                "eselon1": service.eselon1, "eselon2": None, "assignee_id": None, "version": 1,
                "applicant_name": applicant.name, "applicant_org": applicant.organisation,
                "applicant_phone": applicant.phone, "applicant_email": applicant.email,
                "description": description, "created_by": actor.id or 0, "created_at": now,
                "updated_at": now, "due_at": resolution_due(starts), "completed_at": None,
                "hold_reason": None, "result": None,
            })
            await index_task(session, task)
            clocks = await insert_starts(session, task.id or 0, starts)
            result = await _record(session, task, transition.event, actor, now,
                                   extra, None, clocks, service=service)
        return await self._finish(result)

    async def act(self, actor: Staff, task_id: int, action: sm.Action, *,
                  version: int | None = None, unit: str | None = None,
                  reason: str | None = None, result_text: str | None = None,
                  body: str | None = None, scope: frozenset[str] = frozenset()) -> CommandResult:
        """Apply one action to a task.

        Raises:
            NotFound, Forbidden, Conflict (409: already claimed, stale version, not allowed here),
            InvalidInput (empty reason, oversized text, bad disposition unit).
        """
        extra: dict[str, Any] = {}
        if action in (sm.Action.RETURN, sm.Action.HOLD):
            extra["reason"] = require_text("reason", reason, max_length=1000)
        if action == sm.Action.COMPLETE:
            extra["result"] = require_text("result", result_text, max_length=4000)
        if action == sm.Action.MESSAGE:
            extra["body"] = require_text("body", body, max_length=4000)
        async with self.db.write() as session:
            task = await session.get(Task, task_id)
            if task is None:
                raise NotFound(f"task {task_id} does not exist")
            before = state_of(task)
            parent = None
            if action == sm.Action.DISPOSE and unit:
                target = await session.get(Unit, unit)
                parent = target.parent if target and target.level == "eselon2" else None
                extra["unit"] = unit
            # Decide on the task as it is now before looking at the caller's version: when the
            # change in between makes the action impossible, that reason ("already claimed by
            # Budi") tells the caller more than "stale version" would.
            try:
                transition = sm.decide(before, action, actor_of(actor, scope),
                                       target_unit=unit, target_parent=parent)
            except Conflict as exc:
                if exc.code == "already_claimed":
                    raise await _claimed_conflict(session, task) from None
                raise
            if action == sm.Action.DISPOSE:  # route only where someone can claim it
                from hub.tasks.supervise import require_staffed
                await require_staffed(session, transition.state.unit)
            if version is not None and version != task.version:
                raise Conflict(f"the task changed since you loaded it (your version {version}, "
                               f"now {task.version}); reload and try again",
                               code="stale_version", reason=Reason.STALE,
                               version=task.version)
            now = utcnow()
            companions: list[str] = []
            if action != sm.Action.MESSAGE:
                await _update_task(session, task, before, transition.state, now, extra)
            else:
                session.add(TaskMessage(task_id=task_id, author_id=actor.id or 0,
                                        body=extra["body"], created_at=now))
                # Before _record: these outbox rows then go out with the message's event.
                companions = await unread.note_message(session, task, actor, extra["body"], now)
            policy = await self.policies.get(session)
            clocks = await apply_clock_changes(session, task, transition.clocks, now, policy)
            result = await _record(session, task, transition.event, actor, now, extra, before,
                                   clocks)
            result.companions = tuple(companions)
        return await self._finish(result)

    async def mark_read(self, staff: Staff, task: Task) -> None:
        """``staff`` opened the task page: its messages are read (``hub.tasks.unread``)."""
        async with self.db.read() as session:
            if task.id not in await unread.unread_of(session, staff.id or 0):
                return  # the common case costs no write transaction
        async with self.db.write() as session:
            event_id = await unread.mark_read(session, staff, task, utcnow())
        if event_id is not None:
            await self._finish(CommandResult(task, event_id, unread.READ))

    async def acknowledge_breach(self, principal: Principal,
                                 clock_id: int) -> sla_ack.Acknowledgement:
        """Record a supervisor's acknowledgement of an SLA breach (``hub.tasks.acknowledgements``):
        the first one is published after commit like any task event; a repeat changes nothing.

        Raises:
            Forbidden, NotFound, Conflict (409 ``not_breached``).
        """
        async with self.db.write() as session:
            ack = await sla_ack.acknowledge(session, principal, clock_id, utcnow(),
                                            new_event_id())
        if ack.event_id is not None:
            await self._finish(CommandResult(ack.task, ack.event_id, sla_ack.EVENT_TYPE))
        return ack


async def _update_task(session: AsyncSession, task: Task, before: sm.TaskState,
                       after: sm.TaskState, now: datetime, extra: dict[str, Any]) -> None:
    values: dict[str, Any] = {
        "status": after.status.value, "level": after.level.value, "unit_code": after.unit,
        "eselon2": after.eselon2, "assignee_id": after.assignee_id,
        "version": task.version + 1, "updated_at": now,
    }
    if after.status == sm.Status.ON_HOLD:
        values["hold_reason"] = extra.get("reason")
    elif before.status == sm.Status.ON_HOLD:
        values["hold_reason"] = None
    if after.status == sm.Status.COMPLETED:
        values["completed_at"] = now
        values["result"] = extra.get("result")
    # The version in the WHERE clause is what makes concurrent commands safe on PostgreSQL:
    # the loser's UPDATE re-reads the committed row, matches nothing, and we answer 409.
    outcome = await session.exec(
        update(Task).where(col(Task.id) == task.id, col(Task.version) == task.version)
        .values(**values)
    )
    if outcome.rowcount != 1:  # type: ignore[attr-defined]
        # Lost the race. Nothing was written yet; raising rolls the transaction back. Under READ
        # COMMITTED this new SELECT sees the winner's committed row, so the 409 can name them.
        # (Rolling back here instead would close the transaction inside ``db.write()``.)
        current = await session.get(Task, task.id, populate_existing=True)
        if current is not None and current.assignee_id and after.status == sm.Status.CLAIMED:
            raise await _claimed_conflict(session, current)
        raise Conflict("the task changed while you were acting on it; reload and try again",
                       code="stale_version", reason=Reason.STALE)
    for key, value in values.items():
        # Already written by the UPDATE above: change the object without making it dirty, or
        # the flush would write the same values again (without the version check).
        set_committed_value(task, key, value)


async def _claimed_conflict(session: AsyncSession, task: Task) -> Conflict:
    holder = await session.get(Staff, task.assignee_id) if task.assignee_id else None
    who = f"{holder.full_name} ({holder.username})" if holder else "someone else"
    return Conflict(f"already claimed by {who}", code="already_claimed", params={"who": who},
                    assignee=holder.username if holder else None)


async def _insert_task(session: AsyncSession, values: dict[str, Any]) -> Task:
    """Insert a new task's row; returns it with its id, not attached to the session (the
    command changes nothing else on it, and the ORM's unit of work costs more than the INSERT)."""
    connection = await session.connection()
    row = await connection.execute(_INSERT_TASK, values)
    return Task(id=row.scalar_one(), **values)


# Built once: the values travel as execution parameters, so each request skips building,
# coercing and cache-keying the statements (SQLAlchemy's compiled cache has them).
_INSERT_TASK = insert(Task.__table__).returning(Task.__table__.c.id)  # type: ignore[attr-defined]
_INSERT_EVENT = insert(TaskEvent.__table__)  # type: ignore[attr-defined]
_NEXT_NUMBER = text(
    "INSERT INTO registration_counters (day, last) VALUES (:day, 1) "
    "ON CONFLICT (day) DO UPDATE SET last = registration_counters.last + 1 RETURNING last")


async def _record(session: AsyncSession, task: Task, event_type: str, actor: Staff,
                  now: datetime, extra: dict[str, Any], before: sm.TaskState | None,
                  clocks: list[SlaClock], service: Service | None = None) -> CommandResult:
    """Append the history event and its outbox rows (same transaction as the change)."""
    from channels.audience import hears
    from channels.outbox import add_outbox_rows
    from hub.tasks.serializers import event_payload

    event_id = new_event_id()
    data = dict(extra)
    if before is not None:
        data["from"] = {"status": before.status.value, "level": before.level.value,
                        "unit": before.unit}
    values: dict[str, Any] = {"event_id": event_id, "task_id": task.id or 0, "type": event_type,
              "actor_id": actor.id, "at": now, "data": json.dumps(data)}
    # A plain INSERT (no id needed back): the event object below is for the answer only.
    await (await session.connection()).execute(_INSERT_EVENT, [values])
    event = TaskEvent(**values)
    payload = await event_payload(session, task, actor, data, clocks, service=service)
    await add_outbox_rows(session, event_id, event_type, now, payload,
                          hears(event_type, task, before=before))
    return CommandResult(task, event_id, event_type, clocks, event, payload)


async def _next_registration_code(session: AsyncSession, now: datetime,
                                  policy: ClockPolicy) -> str:
    """``PTSA-YYYYMMDD-NNNN``: the day in Asia/Jakarta, a per-day counter from one atomic upsert
    (unique under concurrency on both engines; the UNIQUE constraint on tasks.code backs it)."""
    day = now.astimezone(policy.tz).strftime("%Y%m%d")
    connection = await session.connection()
    row = await connection.execute(_NEXT_NUMBER, {"day": day})
    number = int(row.scalar_one())
    return f"PTSA-{day}-{number:04d}"


async def load_task(session: AsyncSession, task_id: int) -> Task:
    task = await session.get(Task, task_id)
    if task is None:
        raise NotFound(f"task {task_id} does not exist")
    return task


def ensure_can_view(task: Task, actor: Staff, scope: frozenset[str]) -> None:
    if not sm.can_view(state_of(task), actor_of(actor, scope)):
        raise Forbidden("this task belongs to another unit", reason=Reason.NOT_ALLOWED)


async def task_by_code(session: AsyncSession, code: str) -> Task | None:
    result = await session.exec(select(Task).where(Task.code == code.strip().upper()))
    return result.first()
