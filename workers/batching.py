"""Group commit: work submitted while a transaction runs is done together in the next one.

Ten thousand deadlines in a minute means hundreds of breach jobs and e-mail state changes a
second. One transaction each would spend most of its time on BEGIN/COMMIT and, on SQLite, on the
single write lock (concurrent writers there poll with growing sleeps, so throughput collapses
under contention). ``GroupCommit`` keeps one writer per kind of work: the first caller starts a
transaction at once (no added latency when idle); callers arriving meanwhile wait and go together
in the next. Each caller gets its own result back.

If a batch fails, its items are retried one by one, so one bad item cannot sink the others.
On SQLite the worker's batchers also share one in-process lock (``write_lock``), so they queue
for the database instead of polling for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Generic, TypeVar
from weakref import WeakKeyDictionary

from sqlmodel.ext.asyncio.session import AsyncSession

from hub.db import Database

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")
Handler = Callable[[AsyncSession, Sequence[Item]], Awaitable[Sequence[Result]]]

_SQLITE_LOCKS: WeakKeyDictionary[Database, asyncio.Lock] = WeakKeyDictionary()


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


class GroupCommit(Generic[Item, Result]):
    def __init__(self, db: Database, handler: Handler[Item, Result], *, name: str,
                 max_batch: int = 250) -> None:
        self.db = db
        self.handler = handler
        self.name = name
        self.max_batch = max_batch
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
        if self._runner is not None:
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)
        for _, future in self._waiting:
            future.cancel()
        self._waiting.clear()

    async def _run(self) -> None:
        while self._waiting:
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
            return await self.handler(session, items)


def _settle(future: asyncio.Future[Result], result: Result | None = None,
            exc: BaseException | None = None) -> None:
    if future.done():  # the caller was cancelled (worker shutdown); the work is committed
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)  # type: ignore[arg-type]
