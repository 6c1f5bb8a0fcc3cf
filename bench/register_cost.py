"""What one ``POST /api/v1/tasks`` costs the API process: CPU, wall time and SQL statements.

    python -m bench.register_cost                   # 300 registrations, SQLite
    python -m bench.register_cost --postgres        # on a fresh PostgreSQL database
    python -m bench.register_cost --profile 25      # plus the 25 costliest functions (cProfile)

Method: the real app (``create_app``, its lifespan and relay) in this process against a private
redis-server and a fresh database with the demo organisation; a P0 bearer token; the requests go
through httpx's ASGI transport, so there is no socket and no uvicorn in the figures — what is left
is the command, its transaction, the clocks, the relay and the JSON answer. Registrations run
one after another after ``--warmup`` unmeasured ones. Figures: docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import statistics
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bench.private_app import private_services, seeded_app, signed_in

BODY = {"service": "data-informasi", "description": "Permintaan data penempatan 2025",
        "applicant": {"name": "Andi Wijaya", "organisation": "PT Maju Jaya",
                      "phone": "0812-1111-2222", "email": "andi@example.co.id"}}


class StatementCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *_: Any) -> None:
        self.count += 1


async def measure(database_url: str, redis_url: str, var_dir: Path, n: int, warmup: int,
                  profile: int, profiler: Any = None) -> dict[str, Any]:
    """``profiler``: anything with cProfile's ``enable``/``disable`` (``bench.register_profile``
    passes a sampling one); by default cProfile when ``profile`` rows are asked for."""
    app = await seeded_app({"DATABASE_URL": database_url, "REDIS_URL": redis_url,
                            "PTSA_VAR_DIR": str(var_dir)})
    counter = StatementCounter()
    async with app.router.lifespan_context(app):
        engines = [e.sync_engine for e in app.state.ctx.db.engines]
        for engine in engines:
            event.listen(engine, "before_cursor_execute", counter)
        async with signed_in(app, "p0-1") as (client, headers):
            for _ in range(warmup):
                (await client.post("/api/v1/tasks", json=BODY, headers=headers)).raise_for_status()
            counter.count = 0
            if profiler is None and profile:
                profiler = cProfile.Profile()
            walls: list[float] = []
            cpu_start = time.process_time()
            for _ in range(n):
                started = time.perf_counter()
                if profiler:
                    profiler.enable()
                response = await client.post("/api/v1/tasks", json=BODY, headers=headers)
                if profiler:
                    profiler.disable()
                walls.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
            cpu_ms = (time.process_time() - cpu_start) * 1000
            # Let the relay finish publishing what the last requests committed.
            await asyncio.sleep(0.5)
        for engine in engines:
            event.remove(engine, "before_cursor_execute", counter)
    if profile and isinstance(profiler, cProfile.Profile):
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(profile)
    return {"n": n, "cpu_ms_per_post": cpu_ms / n, "wall_ms_p50": statistics.median(walls),
            "wall_ms_p90": sorted(walls)[int(0.9 * (n - 1))],
            "sql_statements_per_post": counter.count / n}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--profile", type=int, default=0, metavar="ROWS")
    args = parser.parse_args(argv)
    with private_services(args.postgres, "ptsa-register-") as (url, redis_url, var_dir):
        result = asyncio.run(measure(url, redis_url, var_dir, args.n, args.warmup,
                                     args.profile))
    engine = "postgresql" if args.postgres else "sqlite"
    print(f"{engine}: {result['n']} registrations, CPU {result['cpu_ms_per_post']:.1f} ms/POST, "
          f"wall p50 {result['wall_ms_p50']:.1f} ms, p90 {result['wall_ms_p90']:.1f} ms, "
          f"{result['sql_statements_per_post']:.1f} SQL statements/POST")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
