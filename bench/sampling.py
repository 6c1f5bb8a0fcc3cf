"""What a run measures of the processes around the clients, over its steady window.

Server CPU and RSS (summed over the server's processes), each client process's CPU (a busy client
inflates latency), the publisher's own CPU, Redis's, and the whole machine's load, so a run on a
shared machine says how much of the CPU others were using.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from bench import procstat


@dataclass(frozen=True)
class ServerProcesses:
    server: tuple[int, ...]  # CPU and RSS are summed over these
    redis: int | None = None  # watched too, so a saturated Redis is not blamed on the server


@dataclass(frozen=True)
class WindowSample:
    seconds: float
    server_cpu: float
    client_cpu: tuple[float, ...]
    redis_cpu: float | None
    publisher_cpu: float
    machine_busy_percent: float  # of all cores together
    steal_percent: float  # of all cores together
    rss_peak: int
    rss_mean: float
    server_cpu_each: tuple[float, ...] = ()  # CPU seconds of each server process (--hubs N)
    server_sys: float = 0.0  # of server_cpu, the kernel's share (system time)
    rss_start: int = 0
    rss_end: int = 0
    fds_start: int = 0  # open file descriptors of the server processes
    fds_end: int = 0
    rss_series: tuple[tuple[float, int], ...] = ()  # (epoch seconds, RSS) about every second


async def sample_window(
    window: tuple[float, float], procs: ServerProcesses, clients: Sequence[int]
) -> WindowSample:
    await asyncio.sleep(max(0.0, window[0] - time.time()))

    def snapshot() -> tuple[float, float, list[float], float, float, tuple[int, int, int],
                            list[float], float]:
        redis = procstat.cpu_seconds(procs.redis) if procs.redis else math.nan
        return (
            time.monotonic(),
            procstat.total_cpu(procs.server),
            [procstat.cpu_seconds(pid) for pid in clients],
            redis,
            time.process_time(),
            procstat.machine_ticks(),
            [procstat.cpu_seconds(pid) for pid in procs.server],
            sum(procstat.cpu_split(pid)[1] for pid in procs.server),
        )

    def fds() -> int:
        return sum(procstat.open_fds(pid) for pid in procs.server)

    rss_start, fds_start = procstat.total_rss(procs.server), fds()
    begin = snapshot()
    rss: list[int] = []
    series: list[tuple[float, int]] = []
    while (left := window[1] - time.time()) > 0:
        await asyncio.sleep(min(1.0, left))
        rss.append(procstat.total_rss(procs.server))
        series.append((time.time(), rss[-1]))
    end = snapshot()
    rss_end, fds_end = procstat.total_rss(procs.server), fds()
    seconds = end[0] - begin[0]
    busy, steal, total = (b - a for a, b in zip(begin[5], end[5], strict=True))
    total = max(total, 1)
    return WindowSample(
        seconds=seconds,
        server_cpu=end[1] - begin[1],
        client_cpu=tuple((b - a) / seconds * 100 for a, b in zip(begin[2], end[2], strict=True)),
        redis_cpu=None if math.isnan(begin[3]) else (end[3] - begin[3]) / seconds * 100,
        publisher_cpu=(end[4] - begin[4]) / seconds * 100,
        machine_busy_percent=busy / total * 100,
        steal_percent=steal / total * 100,
        rss_peak=max(rss, default=0),
        rss_mean=sum(rss) / len(rss) if rss else 0.0,
        server_cpu_each=tuple(b - a for a, b in zip(begin[6], end[6], strict=True)),
        server_sys=end[7] - begin[7],
        rss_start=rss_start,
        rss_end=rss_end,
        fds_start=fds_start,
        fds_end=fds_end,
        rss_series=tuple(series),
    )
