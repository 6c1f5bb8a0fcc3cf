"""Redis work per event of the outbox relay, with a web process and a worker both relaying.

    python -m bench.relay_commands                 # 200 registrations, SQLite
    python -m bench.relay_commands --postgres      # on a fresh PostgreSQL database

Method: the real app (``create_app``: relay fast path + its sweep) in this process and a real
``ptsa worker`` process (its relay sweep, the SLA sweep, arq polling), against a private
redis-server and a fresh database with the demo organisation. ``-n`` registrations from
``--concurrency`` desks, each registering every ``--pace`` seconds (a steady stream, so the
worker's sweep runs while the web process's marks are on their way); with ``--sla 2s`` the tasks
also warn and breach, so the worker's own events join in. Then wait until every outbox row is
marked, plus a second. Redis's ``INFO commandstats`` is reset after a warm-up; reported: outbox
rows, appends (``EVALSHA`` of the append script: one per row when nobody repeats a row) and all
commands Redis ran (including those inside scripts and the worker's arq polling), per event.
Figures: docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

from sqlmodel import col, func, select

from bench.private_app import private_services, seeded_app, signed_in
from config.settings import parse_duration
from hub.db import Database
from hub.models import Outbox
from tests.support.worker import WorkerProcess

BODY = {"service": "data-informasi", "description": "Permintaan data penempatan 2025",
        "applicant": {"name": "Andi Wijaya", "phone": "0812-1111-2222"}}


async def counts(db: Database) -> tuple[int, int, int]:
    async with db.read() as session:
        rows = int((await session.exec(select(func.count()).select_from(Outbox))).one())
        events = int((await session.exec(select(func.count(func.distinct(Outbox.event_id)))))
                     .one())
        waiting = int((await session.exec(select(func.count()).select_from(Outbox).where(
            col(Outbox.published_at).is_(None)))).one())
    return rows, events, waiting


async def measure(database_url: str, redis_url: str, var_dir: Path, n: int,
                  pace: float, concurrency: int, sla: str | None) -> dict[str, Any]:
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "PTSA_VAR_DIR": str(var_dir),
           "PTSA_CALENDAR": "always"}
    if sla:  # pickups this short: the worker's sla.warning/sla.breached events join the stream
        env.update(PTSA_SLA_P1_PICKUP=sla, PTSA_SLA_P2_PICKUP=sla)
    app = await seeded_app(env)
    worker = WorkerProcess(env, var_dir.parent / "worker.log")
    worker.start()
    try:
        settle = 2 + (parse_duration("--sla", sla).total_seconds() + 3 if sla else 0)
        return await _run(app, worker, n, pace, concurrency, settle)
    finally:
        worker.stop()


async def _run(app: Any, worker: WorkerProcess, n: int, pace: float, concurrency: int,
               settle: float) -> dict[str, Any]:
    while "Starting worker" not in worker.output():
        await asyncio.sleep(0.1)
    async with app.router.lifespan_context(app):
        ctx = app.state.ctx
        async with signed_in(app, "p0-1") as (client, headers):
            (await client.post("/api/v1/tasks", json=BODY, headers=headers)).raise_for_status()
            await asyncio.sleep(1)
            rows0, events0, _ = await counts(ctx.db)
            await ctx.redis.config_resetstat()
            started = time.monotonic()

            async def desk(count: int) -> None:
                for _ in range(count):
                    (await client.post("/api/v1/tasks", json=BODY,
                                       headers=headers)).raise_for_status()
                    await asyncio.sleep(pace)

            await asyncio.gather(*(desk(n // concurrency) for _ in range(concurrency)))
            await asyncio.sleep(settle)  # the last events (and breaches) committed
            while (await counts(ctx.db))[2]:
                await asyncio.sleep(0.1)
            await asyncio.sleep(1)
            seconds = time.monotonic() - started
            stats = await ctx.redis.info("commandstats")
            rows, events, _ = await counts(ctx.db)
    rows, events = rows - rows0, events - events0
    appends = int(stats.get("cmdstat_evalsha", {}).get("calls", 0))
    total = sum(int(v["calls"]) for v in stats.values())
    return {"registrations": n, "concurrency": concurrency, "seconds": round(seconds, 1),
            "outbox_rows": rows,
            "events": events, "appends": appends, "appends_per_row": round(appends / rows, 2),
            "commands": total, "commands_per_event": round(total / events, 1),
            "top": {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in sorted(
                stats.items(), key=lambda kv: -int(kv[1]["calls"]))[:8]}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("--pace", type=float, default=0.02)
    parser.add_argument("--concurrency", type=int, default=1, help="desks registering at once")
    parser.add_argument("--sla", metavar="DURATION",
                        help="P1/P2 pickup SLA (e.g. 2s), so the worker's SLA events join in")
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args(argv)
    with private_services(args.postgres, "ptsa-relay-") as (url, redis_url, var_dir):
        result = asyncio.run(measure(url, redis_url, var_dir, args.n, args.pace,
                                     args.concurrency, args.sla))
    print(json.dumps({"engine": "postgresql" if args.postgres else "sqlite", "sla": args.sla,
                      **result}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
