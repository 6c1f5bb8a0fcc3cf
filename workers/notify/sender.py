"""Sending notification rows: claim, hand over, record — each step a fenced, committed UPDATE.

The states and the exactly-once argument are in ``workers/notify/outbox.py``. Here:
``Notifier.deliver`` moves one row ``pending → sending → delivering → sent`` (or back to
``pending`` with back-off, or to ``failed``); every move is ``UPDATE … WHERE id = ? AND attempts =
<mine> AND status = <expected>``, so a worker that lost its lease to another can no longer move the
row, and stops before handing anything over. Moves from concurrent sends share transactions
(``workers/batching.py``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from arq.connections import ArqRedis
from sqlalchemy import or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from channels import names
from hub.background import finish_or_cancel
from hub.db import Database
from hub.models import Notification, utcnow
from workers.batching import GroupCommit, write_lock
from workers.notify.email import DeliveryError
from workers.notify.outbox import (
    CRASHED_BEFORE,
    CRASHED_DURING,
    GIVE_UP_AFTER,
    IN_FLIGHT,
    NOTIFY_JOB,
    Claimed,
    backoff,
)
from workers.notify.transports import Transports

log = logging.getLogger(__name__)

# State changes of messages sent at about the same time share a transaction (workers/batching.py).
MOVE_LINGER_S = 0.02


class LeaseLost(Exception):
    """Another worker took the row over; stop before handing anything to the server."""


@dataclass(frozen=True)
class Move:
    """One state change of one row. ``attempt`` None means a claim (from ``pending``)."""

    notification_id: int
    attempt: int | None
    to_status: str
    from_status: tuple[str, ...] = ()
    last_error: str | None = None
    not_before: datetime | None = None  # next_attempt_at when going back to pending


class Notifier:
    """``dispatch`` sends rows in the background (a breach job must not wait for a slow SMTP
    server), at most ``concurrency`` at a time; ``deliver`` sends one and says what happened."""

    def __init__(self, db: Database, transports: Transports, pool: ArqRedis | None,
                 lease: timedelta, concurrency: int = 50,
                 send_timeout: timedelta = timedelta(seconds=30)) -> None:
        self.db = db
        self.transports = transports
        self.pool = pool
        self.lease = lease
        self.send_timeout = send_timeout
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[str]] = set()
        self._queued: set[int] = set()
        self._moves: GroupCommit[Move, Notification | bool] = GroupCommit(
            db, self._apply, name="notify", linger=MOVE_LINGER_S)
        # "sent" marks go at once, not after a linger or behind a queue of other moves: until it
        # commits, a crash means the message is sent again (the at-least-once window).
        self._sent: GroupCommit[Move, Notification | bool] = GroupCommit(
            db, self._apply, name="notify-sent")
        self._held: dict[int, int] = {}  # rows this worker holds: id -> attempts (its fence)
        self._renewer: asyncio.Task[None] | None = None

    def dispatch(self, rows: Iterable[int | Claimed]) -> None:
        """Send these rows in the background: pending ones by id (claimed first), or rows this
        worker already holds. A row already queued here is not queued twice (the sweep offers
        rows that are merely waiting for a free slot)."""
        for row in rows:
            notification_id = row if isinstance(row, int) else row.id
            if notification_id in self._queued:
                continue
            self._queued.add(notification_id)
            if not isinstance(row, int):  # claimed at insertion: its lease runs already
                self._hold(row.id, row.attempts)
            task = asyncio.create_task(self._deliver_logged(row))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for dispatched sends (tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        # A send in progress finishes (up to STOP_GRACE_S) and is recorded, rather than being
        # cut between the server's acceptance and the row's "sent" (then sent again).
        await finish_or_cancel(list(self._tasks))
        if self._renewer is not None:
            self._renewer.cancel()
            await asyncio.gather(self._renewer, return_exceptions=True)
        await self._moves.close()
        await self._sent.close()

    # --- the lease -----------------------------------------------------------------------------
    # A claimed row carries a short lease (PTSA_NOTIFY_LEASE, 5 s): while this worker lives it
    # renews the lease of every row it holds every third of it, so a slow SMTP server or gateway
    # never lets another worker take a row over, while a crashed worker's rows are taken over by
    # the next sweep once the lease has run out, seconds later rather than a minute.

    def _hold(self, notification_id: int, attempt: int) -> None:
        self._held[notification_id] = attempt
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.create_task(self._renew_forever(), name="notify-lease")

    async def _renew_forever(self) -> None:
        while self._held:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            try:
                await self.renew_leases()
            except Exception as exc:  # the database is away: the leases may run out (a resend)
                log.warning("could not renew the lease of %d notifications: %s",
                            len(self._held), exc)

    async def renew_leases(self) -> int:
        """Push the lease of every row this worker holds to now + lease; returns how many."""
        by_attempt: dict[int, list[int]] = {}
        for notification_id, attempt in list(self._held.items()):
            by_attempt.setdefault(attempt, []).append(notification_id)
        renewed = 0
        async with write_lock(self.db), self.db.write() as session:
            for attempt, ids in by_attempt.items():
                for start in range(0, len(ids), 500):  # a burst holds thousands
                    rows = await session.exec(update(Notification).where(  # type: ignore[call-overload]
                        col(Notification.id).in_(ids[start:start + 500]),
                        col(Notification.attempts) == attempt,
                        col(Notification.status).in_(IN_FLIGHT))
                        .values(next_attempt_at=utcnow() + self.lease)
                        .returning(col(Notification.id)))
                    renewed += len(rows.all())
        return renewed

    async def _deliver_logged(self, row: int | Claimed) -> str:
        notification_id = row if isinstance(row, int) else row.id
        try:
            return await self.deliver(row)
        except Exception:  # the row stays in flight; the sweep retries it after the lease
            log.exception("sending notification %s failed unexpectedly", notification_id)
            return "error"
        finally:
            self._queued.discard(notification_id)
            if not isinstance(row, int) and self._held.get(row.id) == row.attempts:
                del self._held[row.id]  # dispatched but never sent (cancelled): stop renewing

    async def deliver(self, row: int | Claimed) -> str:
        """Send one row (``_deliver``), then stop renewing its lease."""
        held: list[int] = []
        try:
            return await self._deliver(row, held)
        finally:
            for attempt in held:
                notification_id = row if isinstance(row, int) else row.id
                if self._held.get(notification_id) == attempt:
                    del self._held[notification_id]

    async def _deliver(self, row: int | Claimed, held: list[int]) -> str:
        """Send one row — a pending one by id, claimed first, or one already claimed — and
        record the outcome: ``sent``, ``retry``, ``failed``, ``not-pending`` (someone else has
        it, or it is not due yet) or ``lease-lost``."""
        async with self._slots:
            if isinstance(row, int):
                found = await self._moves.submit(Move(row, None, "sending"))
                if not isinstance(found, Notification):
                    return "not-pending"
                row = Claimed.of(found)
            attempt = row.attempts
            self._hold(row.id, attempt)
            held.append(attempt)
            budget = self.send_timeout.total_seconds()

            async def committing() -> None:
                if not await self._move(row, attempt, "delivering", ("sending",)):
                    raise LeaseLost()

            try:
                async with asyncio.timeout(budget):
                    await self.transports.send(row, committing)
            except LeaseLost:
                log.warning("notification %s was taken over by another worker", row.id)
                return "lease-lost"
            except DeliveryError as exc:
                return await self._failed(row, attempt, exc)
            except TimeoutError:
                return await self._failed(row, attempt, DeliveryError(
                    f"sending took longer than {budget:g} s (PTSA_NOTIFY_SEND_TIMEOUT)",
                    permanent=False))
            if not await self._sent.submit(Move(row.id, attempt, "sent", ("delivering",))):
                log.warning("notification %s was sent after its lease expired; another worker "
                            "may send it too", row.id)
            return "sent"

    async def _move(self, row: Notification | Claimed, attempt: int, to_status: str,
                    from_status: tuple[str, ...], **extra: Any) -> bool:
        return bool(await self._moves.submit(Move(row.id or 0, attempt, to_status,
                                                  from_status, **extra)))

    async def _failed(self, row: Claimed, attempt: int, exc: DeliveryError) -> str:
        now = utcnow()
        if exc.permanent or now - row.created_at >= GIVE_UP_AFTER:
            reason = exc.message if exc.permanent else (
                f"gave up after {attempt} attempts over {GIVE_UP_AFTER}: {exc.message}")
            await self._move(row, attempt, "failed", IN_FLIGHT, last_error=reason)
            log.warning("notification %s failed: %s", row.id, reason)
            return "failed"
        retry_at = now + backoff(attempt)
        if await self._move(row, attempt, "pending", IN_FLIGHT, last_error=exc.message,
                            not_before=retry_at):
            await self.schedule_retry(row.id, attempt, retry_at)
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

    async def _apply(self, session: AsyncSession,
                     moves: Sequence[Move]) -> list[Notification | bool]:
        """The GroupCommit handler: claims in one UPDATE, other moves one UPDATE per kind."""
        now = utcnow()
        results: list[Notification | bool] = [False] * len(moves)
        groups: dict[tuple[Any, ...], list[int]] = {}
        for index, move in enumerate(moves):
            key = (move.attempt, move.to_status, move.from_status, move.last_error,
                   move.not_before)
            groups.setdefault(key, []).append(index)
        for (attempt, to_status, from_status, last_error, not_before), indexes in groups.items():
            ids = sorted({moves[i].notification_id for i in indexes})
            where: list[Any] = [col(Notification.id).in_(ids)]
            values: dict[str, Any] = {"status": to_status}
            if attempt is None:  # a claim
                where += [col(Notification.status) == "pending",
                          or_(col(Notification.next_attempt_at).is_(None),
                              col(Notification.next_attempt_at) <= now + timedelta(seconds=1))]
                values.update(attempts=col(Notification.attempts) + 1,
                              next_attempt_at=now + self.lease)
            else:
                where += [col(Notification.attempts) == attempt,
                          col(Notification.status).in_(from_status)]
                values["next_attempt_at"] = {"delivering": now + self.lease,
                                             "pending": not_before or now}.get(to_status)
                if to_status == "sent":
                    values["sent_at"] = now
                if last_error is not None:
                    values["last_error"] = last_error
            rows = await session.exec(update(Notification).where(  # type: ignore[call-overload]
                *where).values(**values).returning(col(Notification.id)))
            moved = {row[0] for row in rows.all()}
            claimed: dict[int, Notification] = {}
            if attempt is None and moved:
                claimed = {n.id or 0: n for n in (await session.exec(select(Notification).where(
                    col(Notification.id).in_(moved)))).all()}
            for i in indexes:  # a row moves once: a duplicate request in the batch gets False
                notification_id = moves[i].notification_id
                if notification_id in moved:
                    moved.discard(notification_id)
                    results[i] = claimed.get(notification_id, True)
        return results

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
            if await self._move(row, row.attempts, "pending", (row.status,), last_error=note,
                                not_before=now):
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
        async with write_lock(self.db), self.db.write() as session:
            rows = await session.exec(update(Notification).where(  # type: ignore[call-overload]
                col(Notification.status) == "held", col(Notification.channel).in_(channels),
                col(Notification.created_at) > now - GIVE_UP_AFTER)
                .values(status="pending", next_attempt_at=now,
                        last_error="held while its channel was not configured")
                .returning(col(Notification.id)))
            return sorted(row[0] for row in rows.all())
