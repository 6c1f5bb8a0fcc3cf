"""Graceful drain behind a load balancer: SIGTERM first turns /healthz into 503 "draining".

uvicorn stops listening and closes every WebSocket (1012, "reconnect") the moment it gets
SIGTERM. Behind HAProxy that is a little early: until HAProxy's health check notices, it still
sends new connections and requests to the port that just closed (they are retried elsewhere,
but a request already sent is lost). With ``PTSA_DRAIN`` set, the first SIGTERM only marks the
process draining — /healthz answers 503 ``{"status": "draining"}``, so HAProxy takes it out of
rotation within its check interval while it keeps serving what is in flight — and hands the
signal to uvicorn ``PTSA_DRAIN`` later. A second SIGTERM, or SIGINT, stops at once.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)

Handler = Callable[[int, FrameType | None], Any]


class Drain:
    """The process's drain state (``ctx.drain``); ``install`` takes over SIGTERM."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.draining = False
        self._original: Handler | None = None

    def install(self) -> None:
        """Wrap the SIGTERM handler uvicorn installed (none in tests that run the app in-process,
        where the drain stays off)."""
        if self.seconds <= 0:
            return
        original = signal.getsignal(signal.SIGTERM)
        if not callable(original):
            return
        self._original = original
        loop = asyncio.get_running_loop()

        def on_sigterm(sig: int, frame: FrameType | None) -> None:
            if self.draining:  # a second SIGTERM: no more waiting
                original(sig, frame)
                return
            self.draining = True
            log.warning("SIGTERM: draining for %.1f s (/healthz answers 503) before stopping",
                        self.seconds)
            loop.call_soon_threadsafe(loop.call_later, self.seconds, original, sig, None)

        signal.signal(signal.SIGTERM, on_sigterm)

    def uninstall(self) -> None:
        if self._original is not None:
            signal.signal(signal.SIGTERM, self._original)
            self._original = None
