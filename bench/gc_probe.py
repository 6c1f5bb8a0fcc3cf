"""Records garbage-collection pauses of the process it is installed in.

The peers showed that the tails of Python servers are full collections of hundreds of milliseconds;
this probe shows whether a run had any, with a wall-clock time for each so the harness can keep
only those inside its steady window. The summary is written as JSON when the process exits.

Each pause is timed twice: wall time (what a screen waits) and the thread's own CPU time (what
the collector did). On a shared machine a cheap young collection can look hundreds of
milliseconds long because the process was descheduled in the middle of it; the CPU time tells
the collector's cost from the machine's.
"""

from __future__ import annotations

import atexit
import gc
import json
import time
from typing import Any

# Young collections happen hundreds of times a second and cost microseconds: only count them,
# and time-stamp only the pauses long enough to show in a latency tail, plus every full one.
_LOGGED_MS = 1.0
_MAX_LOGGED = 20_000


class GcProbe:
    def __init__(self) -> None:
        self.counts = [0, 0, 0]
        self.total_ms = [0.0, 0.0, 0.0]
        self.max_ms = [0.0, 0.0, 0.0]
        # (epoch, generation, wall ms, CPU ms of this thread)
        self.pauses: list[tuple[float, int, float, float]] = []
        self.max_cpu_ms = [0.0, 0.0, 0.0]
        self._started = 0.0
        self._started_cpu = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            self._started_cpu = time.thread_time()
            return
        ms = (time.perf_counter() - self._started) * 1000.0
        cpu_ms = (time.thread_time() - self._started_cpu) * 1000.0
        gen = int(info["generation"])
        self.counts[gen] += 1
        self.total_ms[gen] += ms
        self.max_ms[gen] = max(self.max_ms[gen], ms)
        self.max_cpu_ms[gen] = max(self.max_cpu_ms[gen], cpu_ms)
        if (ms >= _LOGGED_MS or gen == 2) and len(self.pauses) < _MAX_LOGGED:
            self.pauses.append((time.time(), gen, round(ms, 3), round(cpu_ms, 3)))

    def summary(self) -> dict[str, Any]:
        return {
            "counts": self.counts,
            "total_ms": [round(v, 3) for v in self.total_ms],
            "max_ms": [round(v, 3) for v in self.max_ms],
            "max_cpu_ms": [round(v, 3) for v in self.max_cpu_ms],
            "pauses": self.pauses,
        }


def install(path: str) -> GcProbe:
    """Start recording; the summary goes to ``path`` at interpreter exit.

    A server stopped by a signal may never reach the interpreter's exit handlers (uvicorn
    re-raises SIGTERM after its graceful shutdown), so servers also call ``write_summary`` at the
    end of their lifespan.
    """
    probe = GcProbe()
    gc.callbacks.append(probe)
    atexit.register(write_summary, probe, path)
    return probe


def write_summary(probe: GcProbe, path: str) -> None:
    with open(path, "w") as out:
        json.dump(probe.summary(), out)


def window_summary(summary: dict[str, Any], start: float, end: float) -> dict[str, Any]:
    """The pauses of a probe summary that fall inside [start, end)."""
    inside = [p for p in summary.get("pauses", []) if start <= p[0] < end]
    long = [p for p in inside if p[2] >= _LOGGED_MS]
    return {
        "full_collections": sum(1 for p in inside if p[1] == 2),
        "pauses_over_1ms": len(long),
        "pauses_over_1ms_by_generation": [sum(1 for p in long if p[1] == g) for g in range(3)],
        "max_pause_ms": max((p[2] for p in inside), default=0.0),
        # The collector's own CPU in the longest pauses (summaries older than this have none).
        "max_pause_cpu_ms": max((p[3] for p in inside if len(p) > 3), default=0.0),
        "lifetime_counts": summary.get("counts"),
        "lifetime_max_ms": summary.get("max_ms"),
        "lifetime_max_cpu_ms": summary.get("max_cpu_ms"),
    }
