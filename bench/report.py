"""Turning a run into numbers people read: percentiles, a table, a JSON file."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an ascending sequence (q in 0..100); NaN when empty."""
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def latency_summary(latencies_ms: list[float]) -> dict[str, float]:
    ordered = sorted(latencies_ms)
    return {
        "p50": percentile(ordered, 50),
        "p95": percentile(ordered, 95),
        "p99": percentile(ordered, 99),
        "max": ordered[-1] if ordered else math.nan,
        "min": ordered[0] if ordered else math.nan,
    }


def write_json(report: dict[str, Any], name: str) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2, default=_plain))
    return path


def _plain(value: object) -> object:
    return None if isinstance(value, float) and math.isnan(value) else str(value)


def _f(value: float | None, digits: int = 1) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def print_fanout(report: dict[str, Any]) -> None:
    lat, srv, cli, cnt = report["latency_ms"], report["server"], report["clients"], report["counts"]
    gc = srv.get("gc_window") or {}
    rows = [
        (
            "run",
            f"{report['target']}  N={report['clients_asked']} "
            f"(joined {cnt['connected']}, failed {cnt['failed']}, refused {cnt['refused']})  "
            f"window {report['duration_s']:.0f} s after {report['warmup_s']:.0f} s warm-up  "
            f"{report['rate']:g} events/s, {report['client']} clients",
        ),
        (
            "latency ms",
            f"p50 {_f(lat['p50'])}  p95 {_f(lat['p95'])}  p99 {_f(lat['p99'])}  "
            f"max {_f(lat['max'])}  (min {_f(lat['min'], 2)})",
        ),
        (
            "deliveries",
            f"{_f(cnt['deliveries_per_s'])}/s  delivered {cnt['delivered']}  "
            f"expected {cnt['expected']}  lost {cnt['lost']}  "
            f"duplicates {cnt['duplicates']}  unexpected {cnt['unexpected']}",
        ),
        (
            "server",
            f"{_f(srv['cpu_ms_per_1k'])} CPU-ms/1k deliveries  "
            f"({_f(srv['cpu_percent'])} % of a core)  "
            f"{_f(srv['kib_per_connection'])} KiB/connection  "
            f"RSS {_f(srv['rss_before_mib'])} → {_f(srv['rss_connected_mib'])} MiB "
            f"(window peak {_f(srv['rss_window_peak_mib'])})",
        ),
        *(
            [(
                "per hub",
                "CPU-ms/1k of its deliveries "
                + ", ".join(_f(c) for c in srv["cpu_ms_per_1k_each"])
                + "  (% of a core " + ", ".join(_f(c) for c in srv["cpu_percent_each"]) + ")",
            )]
            if len(srv.get("cpu_percent_each", ())) > 1
            else []
        ),
        (
            "server split",
            f"user {_f(srv.get('user_ms_per_1k'))} + sys {_f(srv.get('sys_ms_per_1k'))} "
            f"CPU-ms/1k;  window start → end: RSS {_f(srv.get('rss_window_start_mib'))} → "
            f"{_f(srv.get('rss_window_end_mib'))} MiB, open fds {srv.get('fds_window_start')} → "
            f"{srv.get('fds_window_end')}",
        ),
        (
            "server gc",
            f"window: {gc.get('full_collections', '-')} full collections, "
            f"{gc.get('pauses_over_1ms', '-')} pauses ≥ 1 ms, "
            f"max {gc.get('max_pause_ms', '-')} ms "
            f"(collector CPU in it {gc.get('max_pause_cpu_ms', '-')} ms)",
        ),
        (
            "harness",
            f"client processes {', '.join(_f(p) for p in cli['cpu_percent'])} % of a core;"
            f" publisher {_f(cli['publisher_cpu_percent'])} %; "
            f"redis {_f(report['redis_cpu_percent'])} %; "
            f"machine busy {_f(report['machine_busy_percent'])} % of all cores "
            f"(steal {_f(report['steal_percent'])} %); "
            f"other processes {_f(report['foreign_cpu_percent'])} % of a core",
        ),
        ("verdict", report["verdict"]),
    ]
    for piece in report.get("slices", []):
        sl = piece["latency_ms"]
        rows.append(
            (
                f"slice {piece['start_s'] / 60:g}-{piece['end_s'] / 60:g} min",
                f"p50 {_f(sl['p50'])}  p99 {_f(sl['p99'])}  max {_f(sl['max'])} ms  "
                f"delivered {piece['delivered']}  lost {piece['lost']}  "
                f"RSS {_f(piece['rss_end_mib'])} MiB  "
                f"longest GC pause {_f(piece.get('gc_max_pause_ms'), 2)} ms "
                f"(CPU {_f(piece.get('gc_max_pause_cpu_ms'), 2)})",
            )
        )
    _print_rows(rows)


def print_idle(report: dict[str, Any]) -> None:
    srv, cnt = report["server"], report["counts"]
    rows = [
        (
            "run",
            f"{report['target']} idle  N={report['clients_asked']} "
            f"(joined {cnt['connected']}, failed {cnt['failed']}) "
            f"in {report['connect_s']:.1f} s over {report['client_processes']} processes",
        ),
        (
            "server",
            f"{_f(srv['kib_per_connection'])} KiB/connection  "
            f"RSS {_f(srv['rss_before_mib'])} → {_f(srv['rss_connected_mib'])} MiB, "
            f"after {report['hold_s']:g} s idle {_f(srv['rss_held_mib'])} MiB; "
            f"idle CPU {_f(srv['idle_cpu_percent'])} % of a core",
        ),
        ("errors", "; ".join(report["errors"]) or "none"),
    ]
    _print_rows(rows)


def _print_rows(rows: list[tuple[str, str]]) -> None:
    width = max(len(label) for label, _ in rows)
    for label, text in rows:
        print(f"{label:<{width}}  {text}")
