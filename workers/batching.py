"""Group commit: work submitted while a transaction runs is done together in the next one.

Ten thousand deadlines in a minute means hundreds of breach jobs and e-mail state changes a
second. One transaction each would spend most of its time on BEGIN/COMMIT and, on SQLite, on the
single write lock (concurrent writers there poll with growing sleeps, so throughput collapses
under contention). ``GroupCommit`` keeps one writer per kind of work: the first caller starts a
transaction at once (no added latency when idle); callers arriving meanwhile wait and go together
in the next, after lingering ``linger`` seconds for company. Each caller gets its own result back.

If a batch fails, its items are retried one by one, so one bad item cannot sink the others.
On SQLite the worker's batchers also share one in-process lock (``write_lock``), so they queue
for the database instead of polling for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Generic, TypeVar
from weakref import WeakKeyDictionary

from sqlmodel.ext.asyncio.session import AsyncSession

from hub.background import finish_or_cancel
from hub.db import Database

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")
Handler = Callable[[AsyncSession, Sequence[Item]], Awaitable[Sequence[Result]]]

_SQLITE_LOCKS: WeakKeyDictionary[Database, asyncio.Lock] = WeakKeyDictionary()
_AFTER_COMMIT = "ptsa.after_commit"


def after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the handler's transaction has committed (never if it fails)."""
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


@asynccontextmanager
async def write_lock(db: Database) -> AsyncIterator[None]:
    """Serialise this process's writers on SQLite (one writer at a time anyway); no-op on
    PostgreSQL, where row locks and conditional UPDATEs do the work."""
    if db.dialect != "sqlite":
        yield
        return
    lock = _SQLITE_LOCKS.setdefault(db, asyncio.Lock())
    async with lock:
        yield


class SerialWrites:
    """A view of a ``Database`` whose ``write()`` first takes ``write_lock``: for parts of the
    worker written against ``Database`` (the outbox relay), so every writer in the process
    queues on the same lock instead of some of them polling SQLite's."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        async with write_lock(self._db), self._db.write() as session:
            yield session


class GroupCommit(Generic[Item, Result]):
    def __init__(self, db: Database, handler: Handler[Item, Result], *, name: str,
                 max_batch: int = 250, linger: float = 0.0) -> None:
        self.db = db
        self.handler = handler
        self.name = name
        self.max_batch = max_batch
        self.linger = linger
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        """Handle ``item`` in the next transaction; raises what the handler raised for it."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run(), name=f"group-commit-{self.name}")
        return await future

    async def close(self) -> None:
        if self._runner is not None:  # a transaction in progress commits first
            await finish_or_cancel([self._runner])
        for _, future in self._waiting:
            future.cancel()
        self._waiting.clear()

    async def _run(self) -> None:
        while self._waiting:
            if self.linger and len(self._waiting) < self.max_batch:
                # A transaction's fixed cost dwarfs its per-item cost; a few milliseconds of
                # waiting lets more items share it (PostgreSQL's commit_delay, in miniature).
                await asyncio.sleep(self.linger)
            batch = self._waiting[:self.max_batch]
            del self._waiting[:self.max_batch]
            try:
                results = await self._transaction([item for item, _ in batch])
            except Exception as exc:
                if len(batch) == 1:
                    _settle(batch[0][1], exc=exc)
                    continue
                log.warning("%s batch of %d failed (%s); retrying its items one by one",
                            self.name, len(batch), exc)
                for item, future in batch:
                    try:
                        _settle(future, (await self._transaction([item]))[0])
                    except Exception as single:
                        _settle(future, exc=single)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                _settle(future, result)

    async def _transaction(self, items: list[Item]) -> Sequence[Result]:
        async with write_lock(self.db), self.db.write() as session:
            results = await self.handler(session, items)
            callbacks = list(session.info.pop(_AFTER_COMMIT, []))
        for callback in callbacks:  # committed: now the handler's follow-ups may run
            try:
                callback()
            except Exception:  # committed all the same: a failed follow-up must not make the
                # batch look failed (it would be redone item by item, and its sends left behind)
                log.exception("%s: an after-commit follow-up failed", self.name)
        return results


def _settle(future: asyncio.Future[Result], result: Result | None = None,
            exc: BaseException | None = None) -> None:
    if future.done():  # the caller was cancelled (worker shutdown); the work is committed
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)  # type: ignore[arg-type]
