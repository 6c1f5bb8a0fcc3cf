"""The SLA jobs: a clock's warning and its breach, each recorded once, at its instant.

``sla_fire(ctx, clock_id, kind, at_ms)`` is the arq job ``workers/sla/schedule.py`` enqueues at a
clock's ``warn_at`` and ``due_at``; it hands the clock to the engine and returns (a job that
waited for the database would hold one of arq's job slots). The sweep (``workers/sla/sweep.py``)
calls ``SlaEngine.fire`` for clocks whose job was lost, or whose job ran but whose record died
with the process before the commit.

Either way the clock goes through a ``GroupCommit``: clocks firing together are recorded in one
transaction by ``workers/sla/record.py``, whose conditional UPDATE guarantees one record per clock
however many jobs race. A job for a clock that has since been met, cancelled or paused, or that
moved to a later deadline, records nothing. After commit the notification rows are sent in the
background (``workers/notify/sender.py``); the worker's relay publishes the events as they commit
(``Relay.publish_soon``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel.ext.asyncio.session import AsyncSession

from channels.relay import Relay
from hub.background import finish_or_cancel
from workers.batching import GroupCommit, after_commit
from workers.notify.sender import Notifier
from workers.notify.transports import Transports
from workers.sla.escalation import DirectoryCache
from workers.sla.record import Fired, FireRequest, record
from workers.sla.schedule import JobKind

if TYPE_CHECKING:
    from workers.context import WorkerContext

log = logging.getLogger(__name__)

# A job that runs early (the worker's clock ahead of the web's) waits this long at most; beyond
# that the sweep takes over once the deadline has passed.
MAX_EARLY_WAIT = timedelta(seconds=5)
# Deadlines falling within this much of each other are recorded in one transaction: a little
# lateness (the target is a breach recorded within a second) for far less work in a burst.
RECORD_LINGER_S = 0.05


class SlaEngine:
    def __init__(self, app: WorkerContext, notifier: Notifier, transports: Transports,
                 relay: Relay | None = None) -> None:
        self.app = app
        self.notifier = notifier

        directories = DirectoryCache()

        async def handler(session: AsyncSession, requests: Sequence[FireRequest]) -> list[Fired]:
            results, caught_up = await record(session, requests, transports=transports,
                                              settings=app.settings, directories=directories)
            if caught_up:  # nobody waits on these: send their notifications after commit
                after_commit(session, lambda: notifier.dispatch(
                    claimed for fired in caught_up for claimed in fired.notifications))
            recorded = [fired.event_id for fired in results if fired.recorded and fired.event_id]
            if relay is not None and recorded:  # on screens now, not after the relay's min_age
                after_commit(session, lambda: relay.publish_soon(recorded))
            return results

        self._recorder: GroupCommit[FireRequest, Fired] = GroupCommit(
            app.db, handler, name="sla", linger=RECORD_LINGER_S)
        self._background: set[asyncio.Task[None]] = set()

    def submit(self, clock_id: int, kind: JobKind, at_ms: int | None = None) -> None:
        """Fire in the background and return at once (the arq job's way: a job that waited for
        its group commit would sit in arq's in-progress set, which arq re-reads on every poll)."""
        task = asyncio.create_task(self._fire_logged(clock_id, kind, at_ms))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _fire_logged(self, clock_id: int, kind: JobKind, at_ms: int | None) -> None:
        try:
            outcome = await self.fire(clock_id, kind, at_ms)
        except Exception:  # nothing is lost: the sweep fires clocks that stay unrecorded
            log.exception("firing the %s of clock %s failed; the sweep will retry", kind, clock_id)
        else:
            log.debug("clock %s %s: %s", clock_id, kind, outcome)

    async def fire(self, clock_id: int, kind: JobKind, at_ms: int | None = None) -> str:
        """Record the clock's warning or breach if it is due and not yet recorded; returns
        ``warned``/``breached`` or why not (``already``, ``inactive``, ``moved``, ``early``)."""
        request = FireRequest(clock_id, kind, at_ms)
        fired = await self._recorder.submit(request)
        if fired.early_by is not None and fired.early_by <= MAX_EARLY_WAIT:
            await asyncio.sleep(fired.early_by.total_seconds())
            fired = await self._recorder.submit(request)
        if fired.recorded:
            self.notifier.dispatch(fired.notifications)
        return fired.outcome

    async def close(self) -> None:
        # Let submitted clocks be recorded (they take milliseconds); one stuck past 10 s is
        # cancelled (the sweep fires a clock left unrecorded).
        await finish_or_cancel(list(self._background), grace=10)
        await self._recorder.close()


async def sla_fire(ctx: dict[str, Any], clock_id: int, kind: JobKind, at_ms: int) -> str:
    """The arq job: hands the clock to the engine (see ``SlaEngine.submit``)."""
    engine: SlaEngine = ctx["parts"].sla
    engine.submit(clock_id, kind, at_ms)
    return "submitted"
