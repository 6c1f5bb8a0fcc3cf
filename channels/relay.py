"""The outbox relay: committed events → channel streams and live fan-out, with nothing lost.

A command's transaction writes one outbox row per (event, channel). Two paths move rows to Redis:

- the *fast path*: right after commit, ``after_commit`` publishes the event's rows at once, so a
  task appears on screens before the HTTP answer leaves;
- the *sweep*: each process running a relay (web processes, the worker) retries rows still
  unpublished after ``min_age``, so a crash, a Redis outage or a failed hook between commit and
  publish only delays an event. The worker sweeps four times a second for rows older than 1.5 s
  (longer than a web process takes to mark what it published, so it does not repeat them), and
  publishes its own SLA events as they commit (``publish_soon``); it also picks up what a crashed
  web process left behind. A web process
  sweeps every ``interval`` (1 s) while it knows of waiting rows (its own fast path failed, or its
  last sweep found some) and every ``idle_interval`` (5 s) otherwise: a query a second in every
  web process bought nothing the worker's sweep does not already do, and was most of an idle
  hub's CPU.

Appending is idempotent (``History.append`` skips an (event, channel) it has seen), so the two
paths, and several processes sweeping at once, never append an event twice. A row is marked
``published_at`` only after Redis confirmed it. Marks are written in one UPDATE every quarter
second, not one per command (that would be a second write transaction per request); a mark lost in
a crash just means one harmless, de-duplicated retry. The mark writer sleeps while there is
nothing to mark.

Start it with ``Relay.start()`` / ``await Relay.stop()`` (web processes: ``hub.app.start_parts``;
the worker: ``workers.jobs``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlmodel import col

from channels import names
from channels.history import History, OutgoingEvent
from config.settings import Settings
from hub.background import finish_or_cancel, wait_at_most
from hub.db import Database
from hub.models import Outbox, utcnow


class Committed(Protocol):
    """What the after-commit hook needs of a command's result
    (``hub.tasks.commands.CommandResult``)."""

    @property
    def event_id(self) -> str: ...

    @property
    def companions(self) -> tuple[str, ...]: ...


class Parts(Protocol):
    """A process's settings, database and history Redis (the web's or the worker's context)."""

    settings: Settings
    db: Database
    history_redis: Redis | RedisCluster

log = logging.getLogger(__name__)

# Rows whose channel name is malformed can never be appended; they get this many attempts at
# once and are left alone (and logged). Every other failure is retried for as long as it takes:
# a Redis outage must delay events, never drop them.
POISONED = 1_000_000
# Published rows are kept this long for inspection, then deleted; the task history is in
# task_events, so nothing of record is lost.
KEEP_PUBLISHED = timedelta(days=1)
_PRUNE_EVERY_S = 3600.0
_STALE_AFTER_S = 30.0  # health() complains when a row waits longer than this
_MARK_EVERY_S = 0.25

# Plain columns, not ORM objects: this runs after every command.
_ROW = select(*(col(c) for c in (Outbox.id, Outbox.event_id, Outbox.channel, Outbox.type,
                                   Outbox.at, Outbox.payload)))


def _fast_path_query(unmarked: bool, own_only: bool) -> Any:
    """The fast path's SELECT (``Relay.publish_event``), its values as parameters."""
    ours: Any = bindparam("ours", expanding=True)
    newest = select(func.max(Outbox.id)).where(col(Outbox.event_id).in_(ours)).scalar_subquery()
    query = _ROW.where(col(Outbox.published_at).is_(None), col(Outbox.id) <= newest,
                       col(Outbox.attempts) < POISONED)
    if unmarked:
        query = query.where(col(Outbox.id).not_in(bindparam("unmarked", expanding=True)))
    if own_only:
        query = query.where(or_(col(Outbox.event_id).in_(ours),
                                col(Outbox.at) < bindparam("cutoff")))
    return query.order_by(col(Outbox.id)).limit(bindparam("limit"))


# Built once, one per shape: this runs after every command, and building, coercing and
# cache-keying the statement cost more than running it.
_FAST_PATH = {(unmarked, own_only): _fast_path_query(unmarked, own_only)
              for unmarked in (False, True) for own_only in (False, True)}


class Relay:
    """Moves outbox rows to Redis.

    Args:
        fast_path: publish in the after-commit hook (web processes); False leaves everything to
            the sweep (``PTSA_RELAY=sweep``).
        interval: seconds between sweeps while rows are known to be waiting.
        idle_interval: seconds between sweeps otherwise (default: ``interval``).
        min_age: a row is retried only when it is at least this old, so the sweep neither races
            the fast path of a command that just committed nor republishes rows whose marks are
            on their way.
    """

    def __init__(self, db: Database, history: History, *, fast_path: bool = True,
                 interval: float = 1.0, idle_interval: float | None = None,
                 min_age: float = 2.0, batch: int = 500) -> None:
        self.db = db
        self.history = history
        self.fast_path = fast_path
        self.interval = interval
        self.idle_interval = interval if idle_interval is None else max(interval, idle_interval)
        self.min_age = min_age
        self.batch = batch
        self._marks: list[int] = []
        self._soon: set[str] = set()  # events this process committed: publish at the next wake
        self._unmarked: set[int] = set()  # published here, mark not yet written
        self._tasks: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()  # ends the sweep's pause: rows were left behind, or stop()
        self._marked = asyncio.Event()  # marks are waiting to be written
        self._short_until = 0.0  # monotonic time until which the sweep keeps the short interval
        self._oldest_waiting: float | None = None  # monotonic time a waiting row was first seen
        self._failing = 0
        self._last_prune = 0.0

    @classmethod
    def for_app(cls, ctx: Parts, *, fast_path: bool = True, db: Database | None = None,
                **options: Any) -> Relay:
        """The relay of ``ctx``'s database (or ``db``) and Redis, history limits from settings;
        ``options`` go to the constructor (``interval``, ``min_age``, ``batch``)."""
        settings = ctx.settings
        history = History(ctx.history_redis, settings.history_max_len,
                          int(settings.history_max_age.total_seconds()))
        return cls(db or ctx.db, history, fast_path=fast_path, **options)

    # --- fast path -------------------------------------------------------------------------
    async def after_commit(self, result: Committed) -> None:
        """The ``TaskCommands.after_commit`` hook: publish this event's rows now."""
        if not self.fast_path:
            return
        published = False
        try:
            await self.publish_event(result.event_id, *result.companions)
            published = True
        except Exception as exc:  # committed rows wait for the sweep; the request goes on
            log.warning("publishing event %s after commit failed (%s); the relay sweep will "
                        "retry it", result.event_id, exc)
        finally:  # also when cancelled (shutdown)
            if not published:
                self._left_behind()

    async def publish_event(self, event_id: str, *companions: str) -> int:
        """Publish one event's rows (and those of the ``companions`` committed with it),
        preceded by any older row still waiting (after a Redis outage, say), so the first event
        after the outage does not overtake those committed during it. Returns how many rows
        Redis confirmed."""
        ours = [event_id, *companions]
        params: dict[str, Any] = {"ours": ours, "limit": self.batch}
        unmarked = bool(self._unmarked)
        if unmarked:  # published here, marks on their way: not again (nor loaded)
            params["unmarked"] = sorted(self._unmarked)[-500:]
        own_only = time.monotonic() >= self._short_until
        if own_only:
            # Nothing of ours is waiting: younger rows of other events belong to other processes'
            # fast paths (or the worker's), whose marks may be on their way; not ours to repeat.
            params["cutoff"] = utcnow() - timedelta(seconds=self.min_age)
        query = _FAST_PATH[unmarked, own_only]
        async with self.db.read() as session:
            rows = (await session.exec(query, params=params)).all()  # type: ignore[call-overload]
        return await self._publish([r for r in rows if r.id not in self._unmarked])

    async def _publish(self, rows: Sequence[Any]) -> int:
        valid = [row for row in rows if names.parse_channel(row.channel) is not None]
        if len(valid) != len(rows):
            bad = [row for row in rows if names.parse_channel(row.channel) is None]
            log.error("outbox rows with malformed channel names: %s",
                      [(r.id, r.channel) for r in bad])
            await self._count_failures([r.id for r in bad], POISONED)
        outcomes = await self.history.append(
            [OutgoingEvent(r.event_id, r.channel, r.type, r.at, r.payload) for r in valid])
        done: list[int] = []
        failed: list[int] = []
        for row, outcome in zip(valid, outcomes, strict=True):
            if isinstance(outcome, Exception):
                log.warning("appending event %s to %s failed: %s", row.event_id, row.channel,
                            outcome)
                failed.append(row.id)
            else:
                done.append(row.id)
        if failed:
            await self._count_failures(failed, 1)
            self._left_behind()
        if done:
            self._marks.extend(done)
            self._unmarked.update(done)
            self._marked.set()
        return len(done)

    def _left_behind(self) -> None:
        """Rows this process committed are still unpublished: sweep at the short interval until
        they are old enough to be swept (``min_age``) and a sweep has had a go at them."""
        self._short_until = time.monotonic() + self.min_age + 2 * self.interval
        self._wake.set()

    def publish_soon(self, event_ids: Sequence[str]) -> None:
        """Events this process just committed without a fast path (the worker's SLA events):
        published at once by the sweep task, without waiting for ``min_age``, so ``min_age`` can
        stay well above the web processes' mark interval (their rows are not re-published while
        their marks are on the way)."""
        self._soon.update(event_ids)
        self._wake.set()

    async def _publish_soon(self) -> int:
        if not self._soon:
            return 0
        event_ids, self._soon = sorted(self._soon), set()
        async with self.db.read() as session:
            rows = (await session.exec(_ROW.where(  # type: ignore[call-overload]
                col(Outbox.event_id).in_(event_ids), col(Outbox.published_at).is_(None),
                col(Outbox.attempts) < POISONED).order_by(col(Outbox.id)))).all()
        return await self._publish([r for r in rows if r.id not in self._unmarked])

    # --- sweep -----------------------------------------------------------------------------
    async def sweep(self) -> int:
        """Publish rows left unpublished for ``min_age`` seconds; returns how many were."""
        cutoff = utcnow() - timedelta(seconds=self.min_age)
        async with self.db.read() as session:
            rows = (await session.exec(_ROW.where(  # type: ignore[call-overload]
                col(Outbox.published_at).is_(None), col(Outbox.at) < cutoff,
                col(Outbox.attempts) < POISONED,
            ).order_by(col(Outbox.id)).limit(self.batch))).all()
        rows = [r for r in rows if r.id not in self._unmarked]
        if not rows:
            self._oldest_waiting = None
            return 0
        if self._oldest_waiting is None:
            self._oldest_waiting = time.monotonic()
        published = await self._publish(rows)
        self._short_until = max(self._short_until, time.monotonic() + self.interval)  # more?
        if published == len(rows):
            self._oldest_waiting = None
        log.info("relay sweep published %d of %d waiting outbox rows", published, len(rows))
        return published

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Sweep until ``stop`` is set (or the task is cancelled): every ``interval`` seconds
        while rows are known to wait, every ``idle_interval`` otherwise. A ``stop`` other than
        the relay's own is noticed at the end of the current pause."""
        stop = stop or self._stop
        while not stop.is_set():
            self._wake.clear()
            try:
                await self._publish_soon()
                await self.sweep()
                await self._maybe_prune()
                self._failing = 0
            except Exception as exc:  # Redis or the database is down: keep trying, say so
                self._failing += 1
                if self._failing in (1, 10) or self._failing % 60 == 0:
                    log.warning("relay sweep failed (%d in a row): %s", self._failing, exc)
            await wait_at_most(self._wake, self.next_pause())

    def next_pause(self) -> float:
        """Seconds until the next sweep."""
        waiting = (self._oldest_waiting is not None or self._failing > 0
                   or time.monotonic() < self._short_until)
        return self.interval if waiting else self.idle_interval

    # --- marks -----------------------------------------------------------------------------
    async def _write_marks(self) -> None:
        while not self._stop.is_set():
            await self._marked.wait()
            # Gather a quarter second of marks in one UPDATE; stop() ends the wait early.
            await wait_at_most(self._stop, _MARK_EVERY_S)
            self._marked.clear()
            await self.flush_marks()

    async def flush_marks(self) -> None:
        ids, self._marks = self._marks, []
        if not ids:
            return
        try:
            async with self.db.write() as session:
                for start in range(0, len(ids), 500):
                    await session.exec(update(Outbox).where(  # type: ignore[call-overload]
                        col(Outbox.id).in_(ids[start:start + 500])).values(published_at=utcnow()))
        except Exception as exc:  # unmarked rows are retried by the sweep; appends are idempotent
            log.warning("could not mark %d outbox rows published: %s", len(ids), exc)
        finally:
            self._unmarked.difference_update(ids)

    async def _count_failures(self, ids: list[int], by: int) -> None:
        if not ids:
            return
        with contextlib.suppress(Exception):
            async with self.db.write() as session:
                await session.exec(update(Outbox).where(  # type: ignore[call-overload]
                    col(Outbox.id).in_(ids)).values(attempts=col(Outbox.attempts) + by))

    async def _maybe_prune(self) -> None:
        now = time.monotonic()
        if now - self._last_prune < _PRUNE_EVERY_S:
            return
        self._last_prune = now
        async with self.db.write() as session:
            await session.exec(delete(Outbox).where(  # type: ignore[call-overload]
                col(Outbox.published_at) < utcnow() - KEEP_PUBLISHED))

    # --- life cycle ------------------------------------------------------------------------
    def start(self, *, sweep: bool = True) -> None:
        self._stop.clear()
        self._tasks.append(asyncio.create_task(self._write_marks(), name="relay-marks"))
        if sweep:
            self._tasks.append(asyncio.create_task(self.run(self._stop), name="relay-sweep"))

    async def stop(self) -> None:
        """End the sweep and the mark writer at a clean point, then write the last marks.

        A sweep or a mark write in progress is let finish rather than cancelled inside its
        database call (hub/background.py says why); only one that hangs is cancelled.
        """
        self._stop.set()
        self._wake.set()
        self._marked.set()
        await finish_or_cancel(self._tasks)
        self._tasks.clear()
        await self.flush_marks()

    def health(self) -> str:
        if self._failing:
            return f"relay sweep failing ({self._failing} times in a row)"
        if self._oldest_waiting is not None:
            waited = time.monotonic() - self._oldest_waiting
            if waited > _STALE_AFTER_S:
                return f"outbox rows unpublished for {waited:.0f} s"
        return "ok"

