"""The SLA jobs: a clock's warning and its breach, each recorded once, at its instant.

``sla_fire(ctx, clock_id, kind, at_ms)`` is the arq job ``workers/schedule.py`` enqueues at a
clock's ``warn_at`` and ``due_at``; the sweep (``workers/sweep.py``) calls ``SlaEngine.fire`` for
clocks whose job was lost. Either way the clock goes through a ``GroupCommit``: clocks firing
together are recorded in one transaction by ``workers/sla_record.py``, whose conditional UPDATE
guarantees one record per clock however many jobs race. A job for a clock that has since been
met, cancelled or paused, or that moved to a later deadline, records nothing.

After commit the events are published (the relay's fast path; its sweep retries) and the
notification rows are sent in the background (``workers/notify.py``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from hub.context import AppContext
from workers.batching import GroupCommit
from workers.delivery import Transports
from workers.escalation import DirectoryCache
from workers.notifier import Notifier
from workers.schedule import JobKind
from workers.sla_record import Fired, FireRequest, record

log = logging.getLogger(__name__)

Publish = Callable[[str], Awaitable[object]]
# A job that runs early (the worker's clock ahead of the web's) waits this long at most; beyond
# that the sweep takes over once the deadline has passed.
MAX_EARLY_WAIT = timedelta(seconds=5)


class SlaEngine:
    def __init__(self, app: AppContext, notifier: Notifier, transports: Transports,
                 publish: Publish | None = None) -> None:
        self.app = app
        self.notifier = notifier
        self.publish = publish

        directories = DirectoryCache()

        async def handler(session: AsyncSession, requests: Sequence[FireRequest]) -> list[Fired]:
            return await record(session, requests, transports=transports,
                                settings=app.settings, directories=directories)

        self._recorder: GroupCommit[FireRequest, Fired] = GroupCommit(app.db, handler,
                                                                      name="sla")

    async def fire(self, clock_id: int, kind: JobKind, at_ms: int | None = None) -> str:
        """Record the clock's warning or breach if it is due and not yet recorded; returns
        ``warned``/``breached`` or why not (``already``, ``inactive``, ``moved``, ``early``)."""
        request = FireRequest(clock_id, kind, at_ms)
        fired = await self._recorder.submit(request)
        if fired.early_by is not None and fired.early_by <= MAX_EARLY_WAIT:
            await asyncio.sleep(fired.early_by.total_seconds())
            fired = await self._recorder.submit(request)
        if fired.recorded:
            await self._after_commit(fired)
        return fired.outcome

    async def _after_commit(self, fired: Fired) -> None:
        if fired.event_id and self.publish is not None:
            try:
                await self.publish(fired.event_id)
            except Exception:  # the relay's own sweep publishes committed outbox rows
                log.warning("could not publish %s at once; the relay will", fired.event_id)
        self.notifier.dispatch(fired.notifications)

    async def close(self) -> None:
        await self._recorder.close()


async def sla_fire(ctx: dict[str, Any], clock_id: int, kind: JobKind, at_ms: int) -> str:
    """The arq job; see the module docstring."""
    engine: SlaEngine = ctx["sla"]
    return await engine.fire(clock_id, kind, at_ms)
