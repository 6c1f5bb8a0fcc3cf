"""CPU and memory of other processes, read from /proc (Linux only, no extra dependency).

CPU is user+sys in seconds at clock-tick resolution (10 ms), which is plenty over a 10 s+ window.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterable

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int) -> float:
    """User+system CPU time consumed so far by ``pid``; 0.0 when it has gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            text = stat.read()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    # The command name (field 2) may contain spaces; fields after its closing ')' are fixed.
    fields = text.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def cpu_split(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of ``pid``; (0.0, 0.0) when it has gone.

    System time of a loopback server includes much of the kernel's TCP work for both ends of
    each write: the part of a delivery no Python change can remove.
    """
    try:
        with open(f"/proc/{pid}/stat") as stat:
            text = stat.read()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0, 0.0
    fields = text.rpartition(")")[2].split()
    return int(fields[11]) / _TICKS, int(fields[12]) / _TICKS


def open_fds(pid: int) -> int:
    """Open file descriptors of ``pid`` (sockets included); 0 when it has gone."""
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return 0


def rss_bytes(pid: int) -> int:
    """Resident set size of ``pid``; 0 when it has gone."""
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (FileNotFoundError, ProcessLookupError):
        return 0


def total_cpu(pids: Iterable[int]) -> float:
    return sum(cpu_seconds(pid) for pid in pids)


def total_rss(pids: Iterable[int]) -> int:
    return sum(rss_bytes(pid) for pid in pids)


def machine_ticks() -> tuple[int, int, int]:
    """(busy, steal, total) jiffies of all cores since boot; subtract two readings for a window.

    Steal is time the hypervisor gave to other machines: it slows everything and is in busy too.
    """
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # guest time is already counted in user
    return total - idle, values[7], total


CORES = os.cpu_count() or 1


async def wait_until_quiet(max_wait: float, busy_below: float = 10.0, probe: float = 2.0) -> float:
    """Wait, at most ``max_wait`` seconds, until the machine is under ``busy_below`` % busy.

    On a shared 2-core machine another test run doubles every tail; waiting for it beats
    measuring it. Returns the busy % of the last probe (the caller reports it if still high).
    """
    deadline = time.monotonic() + max_wait
    while True:
        before = machine_ticks()
        await asyncio.sleep(probe)
        after = machine_ticks()
        busy = (after[0] - before[0]) / max(after[2] - before[2], 1) * 100
        if busy < busy_below or time.monotonic() >= deadline:
            return busy
