"""Side-by-side fan-out rounds: floor and hub interleaved, medians and ratios to the floor.

    python -m bench.compare                       # 3 rounds of floor, floor-asyncio, hub
    python -m bench.compare --rounds 5 --variants floor,hub,hub-asyncio --duration 30
    python -m bench.compare --variant 'before@/tmp/old=--target hub --hub-publisher relay'

Each variant of a round is one ``python -m bench.fanout`` run in its own process (the variants
take turns: A B C A B C …), so a machine that gets busier or quieter during the sitting moves
every variant alike. The table gives each variant's median CPU per 1,000 deliveries (user and
system), p99, loss and its median ratio to ``floor`` (uvloop, as the peer comparison ran it)
and to ``floor-asyncio`` (asyncio's own loop), the ratios taken round by round. A variant
``NAME@DIR=ARGS`` runs ``bench.fanout ARGS`` from ``DIR`` (a git worktree of other code).
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.floor_target import free_port

_ROOT = Path(__file__).resolve().parent.parent

# The named variants: the hub's `relay` publisher is the floor's hall, rooms and rate.
PRESETS = {
    "floor": "--target floor",
    "floor-asyncio": "--target floor --server-loop asyncio",
    "hub": "--target hub --hub-publisher relay",
    "hub-asyncio": "--target hub --hub-publisher relay --server-loop asyncio",
    # The lower bound: the floor's clients and events, one transport.write per delivery.
    "ideal": "--target ideal",
}
FLOORS = ("floor", "floor-asyncio")


@dataclass(frozen=True)
class Variant:
    name: str
    args: tuple[str, ...]
    cwd: Path = _ROOT


def parse_variant(text: str) -> Variant:
    """``NAME`` (a preset) or ``NAME[@DIR]=ARGS``."""
    if "=" not in text:
        if text not in PRESETS:
            raise ValueError(f"unknown variant {text!r}; presets: {', '.join(PRESETS)}")
        return Variant(text, tuple(shlex.split(PRESETS[text])))
    head, _, args = text.partition("=")
    name, _, where = head.partition("@")
    return Variant(name, tuple(shlex.split(args)), Path(where) if where else _ROOT)


def run_one(variant: Variant, common: list[str], tag: str) -> dict[str, Any]:
    args = list(variant.args)
    if "--target" in args and args[args.index("--target") + 1] == "hub":
        args += ["--hub-url", f"http://127.0.0.1:{free_port()}"]
    command = [sys.executable, "-m", "bench.fanout", *args, *common, "--name", tag]
    done = subprocess.run(command, cwd=variant.cwd, capture_output=True, text=True)
    written = [line for line in done.stdout.splitlines() if line.startswith("written ")]
    if done.returncode != 0 or not written:
        raise RuntimeError(f"{variant.name}: {' '.join(command)} failed:\n"
                           f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    print(done.stdout, flush=True)
    report: dict[str, Any] = json.loads(Path(written[0][len("written "):]).read_text())
    return report


def summary(rounds: list[dict[str, dict[str, Any]]], names: list[str]) -> list[str]:
    lines = ["| variant | CPU-ms / 1k (median) | user / sys | p99 ms | lost | "
             "× floor (uvloop) | × floor-asyncio | runs |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for name in names:
        runs = [r[name] for r in rounds if name in r]
        cpu = [x["server"]["cpu_ms_per_1k"] for x in runs]
        user = [x["server"].get("user_ms_per_1k") or 0.0 for x in runs]
        sys_ = [x["server"].get("sys_ms_per_1k") or 0.0 for x in runs]
        p99 = [x["latency_ms"]["p99"] for x in runs]
        lost = sum(x["counts"]["lost"] for x in runs)
        ratios = []
        for floor in FLOORS:
            per_round = [r[name]["server"]["cpu_ms_per_1k"] / r[floor]["server"]["cpu_ms_per_1k"]
                         for r in rounds if name in r and floor in r]
            ratios.append(f"{statistics.median(per_round):.2f}" if per_round else "–")
        lines.append(
            f"| {name} | {statistics.median(cpu):.1f} | {statistics.median(user):.1f} / "
            f"{statistics.median(sys_):.1f} | {statistics.median(p99):.1f} | {lost} | "
            f"{ratios[0]} | {ratios[1]} | {', '.join(f'{c:.1f}' for c in cpu)} |")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variants", default="floor,floor-asyncio,hub",
                        help="comma-separated presets: " + ", ".join(PRESETS))
    parser.add_argument("--variant", action="append", default=[], metavar="NAME[@DIR]=ARGS",
                        help="another variant (repeatable)")
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--quiet-wait", type=float, default=20.0)
    parser.add_argument("--out", help="also write the table (markdown) and all runs (JSON) here")
    args = parser.parse_args(argv)
    variants = [parse_variant(v) for v in args.variants.split(",") if v]
    variants += [parse_variant(v) for v in args.variant]
    common = ["--clients", str(args.clients), "--duration", str(args.duration),
              "--quiet-wait", str(args.quiet_wait)]
    rounds: list[dict[str, dict[str, Any]]] = []
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for index in range(args.rounds):
        this: dict[str, dict[str, Any]] = {}
        for variant in variants:
            print(f"== round {index + 1}/{args.rounds}: {variant.name}", flush=True)
            this[variant.name] = run_one(variant, common, f"compare-{stamp}-{variant.name}")
        rounds.append(this)
        table = summary(rounds, [v.name for v in variants])
        print("\n".join(table), flush=True)
        if args.out:
            Path(args.out).with_suffix(".md").write_text("\n".join(table) + "\n")
            Path(args.out).with_suffix(".json").write_text(json.dumps(rounds, default=str))


if __name__ == "__main__":
    main()
