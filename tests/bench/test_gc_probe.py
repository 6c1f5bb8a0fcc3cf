"""The GC probe times each pause by the wall clock and by the collector's own CPU time, and the
harness keeps the pauses of its window."""

from __future__ import annotations

import gc
import json
import time
from pathlib import Path

from bench import gc_probe


def test_a_full_collection_is_logged_with_wall_and_cpu_time(tmp_path: Path) -> None:
    path = tmp_path / "gc.json"
    probe = gc_probe.install(str(path))
    try:
        started = time.time()
        junk = [[i] for i in range(200_000)]  # enough tracked objects for a measurable pass
        gc.collect()
        del junk
        ended = time.time() + 0.001
    finally:
        gc.callbacks.remove(probe)
    full = [p for p in probe.summary()["pauses"] if p[1] == 2 and started <= p[0] < ended]
    assert full, "the forced full collection was not logged"
    _, _, wall_ms, cpu_ms = full[-1]
    assert 0 < cpu_ms <= wall_ms + 1.0  # CPU time cannot exceed the wall time it ran in
    window = gc_probe.window_summary(probe.summary(), started, ended)
    assert window["full_collections"] >= 1
    assert window["max_pause_ms"] >= wall_ms and window["max_pause_cpu_ms"] >= cpu_ms
    assert gc_probe.window_summary(probe.summary(), ended + 10, ended + 20)["max_pause_ms"] == 0.0
    gc_probe.write_summary(probe, str(path))
    assert json.loads(path.read_text())["max_cpu_ms"][2] >= cpu_ms


def test_summaries_written_before_cpu_times_existed_still_read() -> None:
    old = {"counts": [1, 0, 1], "max_ms": [0.1, 0, 3.0], "pauses": [[100.0, 2, 3.0]]}
    window = gc_probe.window_summary(old, 99.0, 101.0)
    assert window["max_pause_ms"] == 3.0 and window["max_pause_cpu_ms"] == 0.0
