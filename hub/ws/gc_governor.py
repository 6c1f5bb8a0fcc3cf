"""Keeping hours-long WebSocket connections out of the garbage collector's full passes.

Python's tails are full collections (the peers): each walks every tracked object, and each open
socket holds ~100 of them (uvicorn's protocol, websockets' parser, asyncio's transport and
timers). uvicorn's keep-alive pings promote a steady trickle of timer objects into the oldest
generation, which triggers a full pass every minute or so: ~0.5 s at 2,000 connections, seconds
at 10,000 — a frozen screen for everyone.

``gc.freeze()`` moves every object alive at that moment to a generation the collector never
walks. The governor freezes at start-up and whenever connections have grown by a tenth since the
last freeze, so full passes only walk what is young. The price: a closed connection is cyclic
garbage (~50 objects, ~20 KiB) that a frozen generation cannot reclaim. So when the connections
closed since the last reclaim reach a quarter of those open (or every six hours), the governor
unfreezes, collects once — one full pass, at a time it chose — and freezes again. Memory held by
dead connections stays below a quarter of the live ones'.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

FREEZE = "freeze"
RECLAIM = "reclaim"
# Collector thresholds set at start (generation 0, 1, 2). Python's own: (700, 10, 10).
THRESHOLDS: tuple[int, int, int] = (700, 10, 10)


@dataclass
class Churn:
    """Connections opened and closed since the governor last acted."""

    opened: int = 0
    closed: int = 0


def decide(live: int, since_freeze: Churn, since_reclaim: Churn, age_s: float, *,
           grow: float = 0.1, garbage: float = 0.25, max_age_s: float = 6 * 3600) -> str | None:
    """What to do now: ``RECLAIM``, ``FREEZE`` or nothing. Pure, for the tests."""
    if since_reclaim.closed > max(200, garbage * live) or (
            age_s > max_age_s and since_reclaim.closed > 0):
        return RECLAIM
    if since_freeze.opened > max(100, grow * live):
        return FREEZE
    return None


class CollectorGovernor:
    """Args:
        live: how many connections are open now.
        interval: seconds between checks.
    """

    def __init__(self, live: Callable[[], int], interval: float = 2.0) -> None:
        self.live = live
        self.interval = interval
        self.since_freeze = Churn()
        self.since_reclaim = Churn()
        self._reclaimed_at = time.monotonic()
        self._task: asyncio.Task[None] | None = None

    def opened(self) -> None:
        self.since_freeze.opened += 1
        self.since_reclaim.opened += 1

    def closed(self) -> None:
        self.since_freeze.closed += 1
        self.since_reclaim.closed += 1

    def start(self) -> None:
        gc.set_threshold(*THRESHOLDS)
        gc.freeze()  # everything from start-up: modules, metadata, the app
        self._task = asyncio.create_task(self._run(), name="gc-governor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        # A process that builds several apps (the tests) gets each one's objects back.
        gc.unfreeze()

    def step(self) -> str | None:
        action = decide(self.live(), self.since_freeze, self.since_reclaim,
                        time.monotonic() - self._reclaimed_at)
        if action == RECLAIM:
            started = time.perf_counter()
            gc.unfreeze()
            found = gc.collect()
            gc.freeze()
            log.info("reclaimed %d objects of closed connections in %.0f ms", found,
                     (time.perf_counter() - started) * 1000)
            self.since_reclaim = Churn()
            self.since_freeze = Churn()
            self._reclaimed_at = time.monotonic()
        elif action == FREEZE:
            gc.freeze()
            self.since_freeze = Churn()
        return action

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.step()
