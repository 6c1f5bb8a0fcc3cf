"""The soak's per-slice figures (``bench.deliveries.slice_counts``) and the harness's reading of
a process's open file descriptors and CPU split: plain logic over known inputs, and /proc of
this very process."""

from __future__ import annotations

import os

import pytest

from bench import procstat
from bench.client_worker import ClientSpec, WorkerResult
from bench.deliveries import Published, count_deliveries, slice_counts


def _run() -> tuple[list[Published], list[WorkerResult], list[ClientSpec]]:
    specs = [ClientSpec("ws://x", ("p0",)), ClientSpec("ws://x", ("p0", "p1.a"))]
    published = [Published(f"e{t}", ("p0",), 100.0 + t) for t in range(10)]  # one a second
    result = WorkerResult(0, connected=[0, 1])
    for t in range(10):
        late = 0.050 if t < 5 else 0.200  # the second half is slower
        # Client 1 misses e7: one lost delivery in the second half.
        result.receipts[f"e{t}"] = [100.0 + t + 0.001] + ([] if t == 7 else [100.0 + t + late])
    return published, [result], specs


def test_each_slice_counts_only_its_own_events() -> None:
    published, results, specs = _run()
    slices = slice_counts(published, results, specs, "side-table", (100.0, 110.0), 5.0)
    assert [bounds for bounds, _, _ in slices] == [(100.0, 105.0), (105.0, 110.0)]
    first, second = slices[0][1], slices[1][1]
    assert (first["expected"], first["delivered"], first["lost"]) == (10, 10, 0)
    assert (second["expected"], second["delivered"], second["lost"]) == (10, 9, 1)
    assert max(slices[0][2]) == pytest.approx(50.0) and max(slices[1][2]) == pytest.approx(200.0)
    whole, _ = count_deliveries(published, results, specs, "side-table", (100.0, 110.0))
    assert whole["delivered"] == first["delivered"] + second["delivered"]


def test_the_last_slice_may_be_shorter_and_a_slice_must_be_positive() -> None:
    published, results, specs = _run()
    slices = slice_counts(published, results, specs, "side-table", (100.0, 110.0), 4.0)
    assert [bounds for bounds, _, _ in slices][-1] == (108.0, 110.0)
    with pytest.raises(ValueError, match="slice_s must be positive"):
        slice_counts(published, results, specs, "side-table", (100.0, 110.0), 0)


def test_open_fds_and_cpu_split_of_a_live_and_a_gone_process() -> None:
    before = procstat.open_fds(os.getpid())
    with open(__file__) as _:
        assert procstat.open_fds(os.getpid()) == before + 1
    user, system = procstat.cpu_split(os.getpid())
    assert user > 0 and system >= 0
    assert user + system == pytest.approx(procstat.cpu_seconds(os.getpid()), abs=0.05)
    assert procstat.open_fds(2**22 + 7) == 0 and procstat.cpu_split(2**22 + 7) == (0.0, 0.0)
