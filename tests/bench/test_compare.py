"""``bench.compare``: variants as written on the command line, and the table's medians and
ratios (taken round by round, so a busier round moves floor and hub alike)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.compare import PRESETS, parse_variant, summary


def test_presets_and_variants_from_another_worktree() -> None:
    assert parse_variant("hub").args == tuple(PRESETS["hub"].split())
    other = parse_variant("before@/tmp/old=--target hub --server-loop asyncio")
    assert (other.name, other.cwd, other.args) == (
        "before", Path("/tmp/old"), ("--target", "hub", "--server-loop", "asyncio"))
    with pytest.raises(ValueError, match="unknown variant 'hubb'"):
        parse_variant("hubb")


def _run(cpu: float, p99: float = 5.0, lost: int = 0) -> dict[str, Any]:
    return {"server": {"cpu_ms_per_1k": cpu, "user_ms_per_1k": cpu * 0.6,
                       "sys_ms_per_1k": cpu * 0.4},
            "latency_ms": {"p99": p99}, "counts": {"lost": lost}}


def test_ratios_are_medians_of_each_rounds_ratio() -> None:
    rounds = [
        {"floor": _run(20), "floor-asyncio": _run(25), "hub": _run(10)},
        {"floor": _run(40), "floor-asyncio": _run(40), "hub": _run(30, lost=2)},  # a busy round
        {"floor": _run(20), "floor-asyncio": _run(20), "hub": _run(12)},
    ]
    table = summary(rounds, ["floor", "floor-asyncio", "hub"])
    hub = next(line for line in table if line.startswith("| hub |"))
    cells = [c.strip() for c in hub.strip("|").split("|")]
    # CPU median 12.0; ratios to the floor per round 0.5, 0.75, 0.6 → 0.60; to floor-asyncio
    # 0.4, 0.75, 0.6 → 0.60; two lost in all; the runs in order.
    assert cells[1] == "12.0" and cells[4] == "2" and cells[5] == "0.60" and cells[6] == "0.60"
    assert cells[7] == "10.0, 30.0, 12.0"
