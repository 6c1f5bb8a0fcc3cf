"""Where a registration's CPU goes, by package: ``bench.register_cost`` under cProfile with a CPU
clock (``time.process_time``), each function's own time summed per package.

    python -m bench.register_profile                # SQLite, 300 registrations
    python -m bench.register_profile --postgres

Own time (tottime) is charged to the package whose code ran: SQLAlchemy's statement building,
compiling and row handling, the ORM's object construction, the event loop's scheduling, the
driver, Redis, the HTTP stack (starlette and the bench's httpx client), and the hub's own code.
The clock is the process's, so the driver's threads (aiosqlite runs each statement in a thread)
land on whatever function was being timed when they ran, mostly the loop's wait (``epoll``):
read the rows as shares and compare before and after in the same sitting. Profiling slows the
code 3-4 times. Figures: docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import time
from collections import defaultdict

from bench.private_app import private_services
from bench.register_cost import measure

# (part, fragment of the function's file path): the first that matches names the part.
PARTS = (
    ("loop waiting (epoll) while the driver's thread runs SQL (aiosqlite)", "select.epoll"),
    ("event loop (asyncio, selectors, sockets, threads)", "_contextvars.Context"),
    ("event loop (asyncio, selectors, sockets, threads)", "_asyncio."),
    ("SQLAlchemy Core: statements, compile cache, execution, rows", "/sqlalchemy/engine/"),
    ("SQLAlchemy Core: statements, compile cache, execution, rows", "/sqlalchemy/sql/"),
    ("SQLAlchemy ORM and SQLModel: sessions, objects, flush", "/sqlalchemy/orm/"),
    ("SQLAlchemy ORM and SQLModel: sessions, objects, flush", "/sqlmodel/"),
    ("SQLAlchemy ORM and SQLModel: sessions, objects, flush", "/pydantic"),
    ("SQLAlchemy async bridge (greenlets)", "/sqlalchemy/util/"),
    ("SQLAlchemy async bridge (greenlets)", "/sqlalchemy/ext/asyncio/"),
    ("SQLAlchemy async bridge (greenlets)", "greenlet"),
    ("SQLAlchemy dialects and pool", "/sqlalchemy/"),
    ("database driver (aiosqlite, psycopg)", "/aiosqlite/"),
    ("database driver (aiosqlite, psycopg)", "/psycopg"),
    ("database driver (aiosqlite, psycopg)", "sqlite3"),
    ("Redis client (relay append, SLA jobs)", "/redis/"),
    ("Redis client (relay append, SLA jobs)", "/arq/"),
    ("HTTP: starlette and the bench's httpx client", "/starlette/"),
    ("HTTP: starlette and the bench's httpx client", "/httpx/"),
    ("HTTP: starlette and the bench's httpx client", "/httpcore/"),
    ("HTTP: starlette and the bench's httpx client", "/anyio/"),
    ("hub's own code (hub/, channels/, workers/, config/)", "/hub/"),
    ("hub's own code (hub/, channels/, workers/, config/)", "/channels/"),
    ("hub's own code (hub/, channels/, workers/, config/)", "/workers/"),
    ("hub's own code (hub/, channels/, workers/, config/)", "/config/"),
    ("event loop (asyncio, selectors, sockets, threads)", "/asyncio/"),
    ("event loop (asyncio, selectors, sockets, threads)", "selectors"),
    ("event loop (asyncio, selectors, sockets, threads)", "socket"),
    ("event loop (asyncio, selectors, sockets, threads)", "threading"),
    ("event loop (asyncio, selectors, sockets, threads)", "queue"),
    ("built-ins called from all of the above (isinstance, len, dict, json, datetime)", ""),
)


def by_part(stats: pstats.Stats) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for (path, _line, function), (_cc, _nc, tottime, _ct, _callers) in \
            stats.stats.items():  # type: ignore[attr-defined]
        where = f"{path} {function}"
        part = next(name for name, fragment in PARTS if fragment in where)
        totals[part] += tottime
    return dict(totals)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("-n", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args(argv)
    profiler = cProfile.Profile(time.process_time)
    with private_services(args.postgres, "ptsa-register-") as (url, redis_url, var_dir):
        result = asyncio.run(measure(url, redis_url, var_dir, args.n, args.warmup, 0,
                                     profiler=profiler))
    totals = by_part(pstats.Stats(profiler))
    total = sum(totals.values())
    n = result["n"]
    print(f"{'postgresql' if args.postgres else 'sqlite'}: {n} registrations, "
          f"{result['sql_statements_per_post']:.1f} SQL statements/POST, "
          f"{total / n * 1000:.1f} CPU ms/POST under the profiler")
    for name, seconds in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"  {seconds / n * 1000:5.2f} ms  {seconds / total * 100:4.1f} %  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
