"""Which deliveries should have happened, which did, and how late.

The publisher logs one ``Published`` per event: the key the clients' frame reader will return,
the channels the server should deliver it on, and a reference time. Two kinds of reference:
- ``"frame"``: the publisher put its send time in the frame; the frame reader returns it.
- ``"side-table"``: the reference is only in the log (for the hub: when the HTTP response to the
  registering POST came back) and is merged here, after the run.
Either way the log decides which events fall in the steady window and how many deliveries each
should have had: one per distinct connection that joined any of its channels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from bench.client_worker import ClientSpec, WorkerResult

Reference = Literal["frame", "side-table"]


@dataclass(frozen=True)
class Published:
    key: str  # what the frame reader returns for this event: event id, task code...
    channels: tuple[str, ...]  # where the server should deliver it
    ref_time: float  # epoch seconds: send time, or the side-table reference


def count_deliveries(
    published: Sequence[Published],
    results: Sequence[WorkerResult],
    specs: Sequence[ClientSpec],
    reference: Reference,
    window: tuple[float, float],
) -> tuple[dict[str, int], list[float]]:
    """Expected, delivered, lost and unexpected deliveries of the events published in the window,
    and their latencies in ms. Events published outside the window (warm-up) are ignored."""
    subscribers: dict[str, set[int]] = {}
    receipts: dict[str, list[float]] = {}
    embedded: dict[str, float] = {}
    for result in results:
        for index in result.connected:
            for channel in specs[index].channels:
                subscribers.setdefault(channel, set()).add(index)
        for key, times in result.receipts.items():
            receipts.setdefault(key, []).extend(times)
        embedded.update(result.embedded)
    expected = delivered = lost = unexpected = 0
    latencies: list[float] = []
    for event in published:
        if not window[0] <= event.ref_time < window[1]:
            continue
        if len(event.channels) == 1:
            want = len(subscribers.get(event.channels[0], ()))
        else:
            want = len(set().union(*(subscribers.get(c, set()) for c in event.channels)))
        times = receipts.get(event.key, [])
        ref = embedded.get(event.key, event.ref_time) if reference == "frame" else event.ref_time
        expected += want
        delivered += min(len(times), want)
        lost += max(0, want - len(times))
        unexpected += max(0, len(times) - want)
        latencies.extend([(t - ref) * 1000.0 for t in times])
    counts = {"expected": expected, "delivered": delivered, "lost": lost, "unexpected": unexpected}
    return counts, latencies


def slice_counts(
    published: Sequence[Published],
    results: Sequence[WorkerResult],
    specs: Sequence[ClientSpec],
    reference: Reference,
    window: tuple[float, float],
    slice_s: float,
) -> list[tuple[tuple[float, float], dict[str, int], list[float]]]:
    """``count_deliveries`` for each consecutive ``slice_s`` of the window (the soak's
    "p99 per 5-minute slice"); the last slice may be shorter."""
    if slice_s <= 0:
        raise ValueError(f"slice_s must be positive, got {slice_s}")
    slices = []
    start = window[0]
    while start < window[1]:
        bounds = (start, min(start + slice_s, window[1]))
        counts, latencies = count_deliveries(published, results, specs, reference, bounds)
        slices.append((bounds, counts, latencies))
        start = bounds[1]
    return slices
