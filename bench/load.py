"""The load harness: N WebSocket clients in separate processes, a paced publisher, and the counts.

A *target* is the server under test (the bare floor, the real hub). The harness starts it, opens
the clients the target describes, publishes through the target at a steady rate, samples the
server's CPU and memory, and turns what the clients received into latency, loss and cost figures.

How deliveries are counted and latency referenced: bench/deliveries.py.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bench import procstat
from bench.client_pool import ClientPool
from bench.client_worker import ClientKind, ClientSpec, FrameReader, WorkerResult
from bench.deliveries import Published, Reference, count_deliveries, slice_counts
from bench.gc_probe import window_summary
from bench.report import latency_summary
from bench.sampling import ServerProcesses, WindowSample, sample_window

# A client process above this share of a core queues frames itself and inflates the latency.
_CLIENT_BUSY_PERCENT = 80.0
_MACHINE_BUSY_PERCENT = 90.0
_FOREIGN_PERCENT = 15.0  # includes steal and the kernel's own network work


class Target(Protocol):
    name: str
    reference: Reference

    def frame_reader(self) -> FrameReader:
        """A module-level function (it is sent to the client processes)."""
        ...

    async def start(self) -> ServerProcesses: ...

    async def client_specs(self, n: int) -> list[ClientSpec]: ...

    async def publish(self, seq: int) -> Published: ...

    async def stop(self) -> dict[str, Any]:
        """Stop the server; return what it reported about itself (``{"gc": probe summary}``)."""
        ...


@dataclass(frozen=True)
class FanoutOptions:
    clients: int = 2000
    rate: float = 20.0
    warmup: float = 10.0
    duration: float = 60.0
    grace: float = 2.0  # after the window, for deliveries still in flight
    processes: int = 2
    batch: int = 200
    connect_timeout: float = 30.0
    client: ClientKind = "lean"
    slice_s: float | None = None  # soak: also report each slice of this many seconds

    def connect_budget(self) -> float:
        return 60.0 + self.clients / 50.0


async def run_fanout(target: Target, opts: FanoutOptions) -> dict[str, Any]:
    """Run one fan-out benchmark and return its report (see ``report.print_fanout``)."""
    pool: ClientPool | None = None
    notes: dict[str, Any] = {}
    try:
        procs = await target.start()
        specs = await target.client_specs(opts.clients)
        rss_before = procstat.total_rss(procs.server)
        lifetime = opts.connect_budget() + opts.warmup + opts.duration + opts.grace + 120.0
        pool = ClientPool(
            specs,
            target.frame_reader(),
            opts.processes,
            opts.batch,
            opts.connect_timeout,
            lifetime,
            opts.client,
        )
        pool.start()
        ready = await pool.wait_ready(opts.connect_budget())
        rss_connected = procstat.total_rss(procs.server)

        published: list[Published] = []
        errors: list[str] = []
        start = time.time()
        window = (start + opts.warmup, start + opts.warmup + opts.duration)
        sampler = asyncio.create_task(sample_window(window, procs, pool.pids))
        await _publish_paced(target, opts.rate, window[1], published, errors)
        sample = await sampler
        await asyncio.sleep(opts.grace)
        results = await pool.collect()
    finally:
        if pool is not None:
            pool.close()
        notes = await target.stop()

    counts, latencies = count_deliveries(published, results, specs, target.reference, window)
    report = _fanout_report(
        target,
        opts,
        ready.seconds,
        rss_before,
        rss_connected,
        sample,
        counts,
        latencies,
        results,
        errors,
        notes,
        window,
    )
    if opts.slice_s:
        report["slices"] = _slices(
            slice_counts(published, results, specs, target.reference, window, opts.slice_s),
            sample,
            notes.get("gc"),
        )
    return report


def _slices(
    slices: Sequence[tuple[tuple[float, float], dict[str, int], list[float]]],
    sample: WindowSample,
    gc: dict[str, Any] | None,
) -> list[dict[str, Any]]:
    """Per slice: its counts, latency, the server's RSS at its end and its longest GC pause."""
    rows = []
    for (begin, end), counts, latencies in slices:
        rss = [value for at, value in sample.rss_series if at <= end]
        rows.append(
            {
                "start_s": begin - slices[0][0][0],
                "end_s": end - slices[0][0][0],
                **counts,
                "latency_ms": latency_summary(latencies),
                "rss_end_mib": rss[-1] / 2**20 if rss else math.nan,
                **(
                    {
                        "gc_max_pause_ms": (w := window_summary(gc, begin, end))["max_pause_ms"],
                        "gc_max_pause_cpu_ms": w["max_pause_cpu_ms"],
                    }
                    if gc
                    else {"gc_max_pause_ms": math.nan, "gc_max_pause_cpu_ms": math.nan}
                ),
            }
        )
    return rows


async def run_idle(
    target: Target,
    n: int,
    processes: int,
    batch: int = 200,
    hold: float = 5.0,
    connect_timeout: float = 30.0,
    client: ClientKind = "lean",
) -> dict[str, Any]:
    """Open n connections that only listen, and report what they cost the server at rest."""
    pool: ClientPool | None = None
    try:
        procs = await target.start()
        specs = await target.client_specs(n)
        rss_before = procstat.total_rss(procs.server)
        budget = 60.0 + n / 50.0
        pool = ClientPool(
            specs,
            target.frame_reader(),
            processes,
            batch,
            connect_timeout,
            budget + hold + 120.0,
            client,
        )
        pool.start()
        ready = await pool.wait_ready(budget)
        rss_connected = procstat.total_rss(procs.server)
        cpu_before = procstat.total_cpu(procs.server)
        await asyncio.sleep(hold)
        rss_held = procstat.total_rss(procs.server)
        idle_cpu = (procstat.total_cpu(procs.server) - cpu_before) / hold * 100.0
        results = await pool.collect()
    finally:
        if pool is not None:
            pool.close()
        await target.stop()
    connected = sum(len(r.connected) for r in results)
    return {
        "mode": "idle",
        "target": target.name,
        "client": client,
        "clients_asked": n,
        "client_processes": len(results),
        "connect_s": ready.seconds,
        "hold_s": hold,
        "counts": {
            "connected": connected,
            "failed": sum(r.failed for r in results),
            "refused": sum(r.refused for r in results),
            "closed_early": sum(r.closed_early for r in results),
        },
        "server": {
            "rss_before_mib": rss_before / 2**20,
            "rss_connected_mib": rss_connected / 2**20,
            "rss_held_mib": rss_held / 2**20,
            "kib_per_connection": (rss_connected - rss_before) / 1024 / max(connected, 1),
            "kib_per_connection_held": (rss_held - rss_before) / 1024 / max(connected, 1),
            "idle_cpu_percent": idle_cpu,
        },
        "errors": [e for r in results for e in r.errors][:5],
    }


async def _publish_paced(
    target: Target, rate: float, until: float, log: list[Published], errors: list[str]
) -> None:
    # Due times are fixed from the start, so a slow publish delays nothing after it, and each
    # publish is its own task: an HTTP publisher slower than 1/rate must not lower the rate.
    async def one(seq: int) -> None:
        try:
            log.append(await target.publish(seq))
        except Exception as exc:  # counted and shown: one failed publish must not end the run
            errors.append(f"{type(exc).__name__}: {exc}"[:200])

    pending: set[asyncio.Task[None]] = set()
    wall, mono = time.time(), time.monotonic()
    seq = 0
    while wall + seq / rate < until:
        await asyncio.sleep(max(0.0, mono + seq / rate - time.monotonic()))
        task = asyncio.create_task(one(seq))
        pending.add(task)
        task.add_done_callback(pending.discard)
        seq += 1
    if pending:
        await asyncio.gather(*pending)


def _fanout_report(
    target: Target,
    opts: FanoutOptions,
    connect_s: float,
    rss_before: int,
    rss_connected: int,
    sample: WindowSample,
    counts: dict[str, int],
    latencies: list[float],
    results: Sequence[WorkerResult],
    errors: list[str],
    notes: dict[str, Any],
    window: tuple[float, float],
) -> dict[str, Any]:
    connected = sum(len(r.connected) for r in results)
    delivered = counts["delivered"]
    report: dict[str, Any] = {
        "mode": "fanout",
        "target": target.name,
        "reference": target.reference,
        "client": opts.client,
        "clients_asked": opts.clients,
        "rate": opts.rate,
        "warmup_s": opts.warmup,
        "duration_s": opts.duration,
        "connect_s": connect_s,
        "latency_ms": latency_summary(latencies),
        "counts": {
            **counts,
            "connected": connected,
            "failed": sum(r.failed for r in results),
            "refused": sum(r.refused for r in results),
            "closed_early": sum(r.closed_early for r in results),
            "duplicates": sum(r.duplicates for r in results),
            "frames": sum(r.frames for r in results),
            "deliveries_per_s": delivered / opts.duration,
            "publish_errors": len(errors),
        },
        "server": {
            "cpu_ms_per_1k": sample.server_cpu * 1e6 / delivered if delivered else math.nan,
            "cpu_percent": sample.server_cpu / sample.seconds * 100,
            # One entry per fan-out hub process (--hubs N); clients are spread evenly, so each
            # hub's CPU-ms per 1k of its deliveries is ~ its CPU / (delivered / N).
            "cpu_percent_each": [c / sample.seconds * 100 for c in sample.server_cpu_each],
            "cpu_ms_per_1k_each": [
                c * 1e6 / (delivered / len(sample.server_cpu_each)) if delivered else math.nan
                for c in sample.server_cpu_each
            ],
            # The kernel's share: for a loopback server it holds most of the TCP work of both
            # ends of each write, which is the same for every server in the comparison.
            "sys_ms_per_1k": sample.server_sys * 1e6 / delivered if delivered else math.nan,
            "user_ms_per_1k": (sample.server_cpu - sample.server_sys) * 1e6 / delivered
            if delivered
            else math.nan,
            "rss_window_start_mib": sample.rss_start / 2**20,
            "rss_window_end_mib": sample.rss_end / 2**20,
            "fds_window_start": sample.fds_start,
            "fds_window_end": sample.fds_end,
            "kib_per_connection": (rss_connected - rss_before) / 1024 / max(connected, 1),
            "kib_per_connection_window_peak": (sample.rss_peak - rss_before)
            / 1024
            / max(connected, 1),
            "rss_before_mib": rss_before / 2**20,
            "rss_connected_mib": rss_connected / 2**20,
            "rss_window_peak_mib": sample.rss_peak / 2**20,
            "gc_window": window_summary(notes["gc"], *window) if "gc" in notes else None,
        },
        "clients": {
            "cpu_percent": list(sample.client_cpu),
            "publisher_cpu_percent": sample.publisher_cpu,
            "gc_counts": [r.gc_counts for r in results],
        },
        "redis_cpu_percent": sample.redis_cpu,
        "machine_busy_percent": sample.machine_busy_percent,
        "steal_percent": sample.steal_percent,
        # CPU used by processes outside this benchmark, in % of one core: another test run on a
        # 2-core machine skews every figure, so the report says when it happened.
        "foreign_cpu_percent": max(
            0.0,
            sample.machine_busy_percent * procstat.CORES
            - sample.server_cpu / sample.seconds * 100
            - sum(sample.client_cpu)
            - sample.publisher_cpu
            - (sample.redis_cpu or 0.0),
        ),
        "errors": ([e for r in results for e in r.errors] + errors)[:10],
    }
    report["verdict"] = _verdict(report)
    return report


def _verdict(report: dict[str, Any]) -> str:
    busiest = max(report["clients"]["cpu_percent"], default=0.0)
    counts = report["counts"]
    notes = []
    if busiest >= _CLIENT_BUSY_PERCENT:
        notes.append(
            f"HARNESS-BOUND: a client process used {busiest:.0f} % of a core "
            "(add --processes or lower --clients)"
        )
    if report["machine_busy_percent"] >= _MACHINE_BUSY_PERCENT:
        notes.append(f"MACHINE-BOUND: all cores {report['machine_busy_percent']:.0f} % busy")
    if report["foreign_cpu_percent"] >= _FOREIGN_PERCENT:
        notes.append(
            f"NOISY: other processes used {report['foreign_cpu_percent']:.0f} % of a "
            "core during the window; rerun on a quiet machine"
        )
    if counts["lost"] or counts["duplicates"] or counts["unexpected"] or counts["failed"]:
        notes.append("DELIVERY PROBLEMS: see lost/duplicates/unexpected/failed")
    if counts["closed_early"]:
        notes.append(f"{counts['closed_early']} connections closed by the server")
    if not notes:
        notes.append(
            f"ok: busiest client process {busiest:.0f} % of a core, "
            f"machine {report['machine_busy_percent']:.0f} % busy"
        )
    return "; ".join(notes)
