"""Where a hub process's memory goes per connection: a tracemalloc diff for the benchmark only.

    PTSA_BENCH_TRACEMALLOC=/tmp/alloc PTSA_BENCH_TRACEMALLOC_AT=2000 \
        python -m bench.fanout --target hub --idle 2000 --hold 60
    python -m bench.trace_alloc /tmp/alloc          # writes /tmp/alloc.txt

``bench.hub_server`` installs this when the variable is set (never the product). A watcher thread
takes a baseline snapshot while the process has no WebSocket open, waits until at least
``PTSA_BENCH_TRACEMALLOC_AT`` connections are open and their number has been steady for a few
seconds, and takes a second one; then, after one full
collection of everything (``gc.unfreeze(); gc.collect()``), a third, to tell how much of the
growth was unreachable garbage kept by the hub's ``gc.freeze()``. The snapshots are dumped next to
PATH (comparing them in the server would take longer than the benchmark holds it open); this
module's ``main`` groups the difference by allocation site (file:line), by file and by whole
traceback, in bytes per connection. tracemalloc adds its own cost per allocation: RSS figures of a
traced run are not comparable with untraced ones, so trace runs and RSS runs are separate.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

ENV = "PTSA_BENCH_TRACEMALLOC"
FRAMES_ENV = "PTSA_BENCH_TRACEMALLOC_FRAMES"
AT_ENV = "PTSA_BENCH_TRACEMALLOC_AT"  # connections to wait for (a traced join can stall)
_STEADY_S = 3.0
_TOP = 40


def install(path: str, live: Callable[[], int | None]) -> None:
    """Start tracing now; ``live()`` is the number of open sockets (None: not started yet)."""
    tracemalloc.start(int(os.environ.get(FRAMES_ENV, "10")))
    threading.Thread(target=_watch, args=(Path(path), live), name="trace-alloc",
                     daemon=True).start()


def _watch(path: Path, live: Callable[[], int | None]) -> None:
    baseline: tracemalloc.Snapshot | None = None
    while baseline is None:
        time.sleep(0.5)
        if live() == 0:
            time.sleep(1.0)  # let the start-up settle
            if live() == 0:
                baseline = tracemalloc.take_snapshot()
    baseline.dump(f"{path}.before.snap")
    at = int(os.environ.get(AT_ENV, "1"))
    last, since = 0, time.monotonic()
    while True:
        time.sleep(0.5)
        now = live() or 0
        if now != last:
            last, since = now, time.monotonic()
        elif now >= at and time.monotonic() - since >= _STEADY_S:
            break
    tracemalloc.take_snapshot().dump(f"{path}.after.snap")
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    tracemalloc.take_snapshot().dump(f"{path}.collected.snap")
    Path(f"{path}.n").write_text(str(last))


def report(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, n: int) -> list[str]:
    lines = []
    total = sum(s.size_diff for s in after.compare_to(before, "filename"))
    lines.append(f"traced growth: {total / max(n, 1):.0f} bytes per connection")
    for key in ("lineno", "filename"):
        lines.append(f"\n== by {key}: bytes/conn, objects/conn, site")
        for stat in after.compare_to(before, key)[:_TOP]:
            frame = stat.traceback[0]
            lines.append(f"{stat.size_diff / n:9.1f} {stat.count_diff / n:7.2f}  "
                         f"{_short(frame.filename)}:{frame.lineno}")
    lines.append("\n== by traceback (innermost last)")
    for stat in after.compare_to(before, "traceback")[:_TOP]:
        lines.append(f"{stat.size_diff / n:9.1f} B/conn {stat.count_diff / n:6.2f} obj/conn")
        lines.extend(f"      {_short(f.filename)}:{f.lineno}" for f in stat.traceback)
    return lines


def _short(filename: str) -> str:
    for marker in ("site-packages/", "lib/python3.11/", str(Path(__file__).parent.parent) + "/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def main(argv: list[str] | None = None) -> None:
    path = (argv or sys.argv[1:])[0]
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, __file__)]
    before, after, collected = (tracemalloc.Snapshot.load(f"{path}.{name}.snap")
                                .filter_traces(ignore)
                                for name in ("before", "after", "collected"))
    n = int(Path(f"{path}.n").read_text())
    garbage = sum(s.size_diff for s in after.compare_to(collected, "filename"))
    lines = [f"connections: {n}",
             f"unreachable garbage kept by gc.freeze(): {garbage / n:.0f} bytes per connection",
             *report(before, after, n),
             "\n\n######## after one full collection ########", *report(before, collected, n)]
    Path(f"{path}.txt").write_text("\n".join(lines) + "\n")
    print(f"written {path}.txt")


if __name__ == "__main__":
    main()
