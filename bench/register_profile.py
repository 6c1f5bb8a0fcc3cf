"""Where a registration's time goes, by part of the path: ``bench.register_cost`` run under a
sampling profiler (pyinstrument, 0.2 ms interval, the main thread), its samples summed per part.

    pip install pyinstrument     # into your venv, for profiling only (not a product dependency)
    python -m bench.register_profile                # SQLite, 300 registrations
    python -m bench.register_profile --postgres

A sample is charged to the innermost part on its stack (an after-commit hook inside the command
counts as the hook). SQLAlchemy runs its statements in greenlets, whose stacks do not show the
caller, so their samples form one row of their own. The driver's threads (aiosqlite) are not
sampled; their CPU is in ``register_cost``'s total. Profiling slows the code about twofold, so
read the shares, not the milliseconds. Figures: docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.register_cost import measure
from tests.support.servers import RedisServer, create_postgres_database, drop_postgres_database

# (part, file suffix, function): the first match from the innermost frame outwards names it.
PARTS = (
    ("relay fast path (outbox SELECT, Redis append)", "channels/relay.py", "after_commit"),
    ("SLA jobs (arq enqueue script)", "workers/sla/schedule.py", "after_commit"),
    ("authenticate (token, account query)", "hub/api/common.py", "authenticate"),
    ("register command (transaction, event card)", "hub/tasks/commands.py", "register"),
    ("endpoint: body, validation, JSON answer", "hub/api/tasks.py", "create_task"),
    ("ASGI stack and the bench's httpx client", "bench/register_cost.py", "measure"),
)
GREENLET = "SQLAlchemy statements (greenlet side: compile, execute, rows)"
LOOP = "event loop: scheduling, callbacks, driver hand-offs"
IDLE = "idle"


class Sampler:
    """cProfile's ``enable``/``disable`` over one pyinstrument run (started at the first
    ``enable``, so the warm-up is left out)."""

    def __init__(self) -> None:
        try:  # not a product dependency: imported by name so type checks pass without it
            pyinstrument = importlib.import_module("pyinstrument")
        except ImportError:
            raise SystemExit("bench.register_profile needs pyinstrument: "
                             ".venv/bin/pip install pyinstrument") from None
        self.profiler: Any = pyinstrument.Profiler(interval=0.0002, async_mode="disabled")
        self.started = False

    def enable(self) -> None:
        if not self.started:
            self.profiler.start()
            self.started = True

    def disable(self) -> None:  # sampling runs on until stop(): the gaps are the bench's loop
        pass


def breakdown(root: Any) -> dict[str, float]:
    """Seconds of samples per part. The thread's top frames are the asyncio run (the module
    being run) and, beside it, the greenlets SQLAlchemy switched into."""
    totals: dict[str, float] = defaultdict(float)

    def walk(frame: Any, part: str) -> None:
        for name, suffix, function in PARTS:
            if frame.function == function and (frame.file_path or "").endswith(suffix):
                part = name
                break
        idle = frame.function == "epoll.poll"  # the loop waiting: not CPU
        totals[IDLE if idle else part] += frame.total_self_time
        for child in frame.children:
            walk(child, part)

    tops = root.children if root.file_path == "<thread>" or root.is_synthetic else [root]
    for top in tops:
        walk(top, LOOP if _is_main(top) else GREENLET)
    return dict(totals)


def _is_main(frame: Any) -> bool:
    return frame.function in ("<module>", "_run_module_as_main", "_run_code")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("PTSA_ENV", "development")
    sampler = Sampler()
    redis = RedisServer()
    redis.start()
    pg_name = None
    try:
        with tempfile.TemporaryDirectory(prefix="ptsa-register-") as tmp:
            if args.postgres:
                pg_name, url = create_postgres_database()
            else:
                url = f"sqlite:///{tmp}/ptsa.db"
            result = asyncio.run(measure(url, redis.url, Path(tmp) / "var", args.n,
                                         args.warmup, 0, profiler=sampler))
    finally:
        redis.cleanup()
        if pg_name:
            drop_postgres_database(pg_name)
    session = sampler.profiler.stop()
    totals = breakdown(session.root_frame())
    busy = sum(v for k, v in totals.items() if k != IDLE)
    print(f"{'postgresql' if args.postgres else 'sqlite'}: {result['n']} registrations, "
          f"{result['sql_statements_per_post']:.1f} SQL statements/POST; main thread busy "
          f"{busy / result['n'] * 1000:.1f} ms/POST under the profiler")
    for name, seconds in sorted(totals.items(), key=lambda kv: -kv[1]):
        if name != IDLE:
            print(f"  {seconds / busy * 100:5.1f} %  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
