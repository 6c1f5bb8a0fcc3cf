"""Breach lag: N open SLA clocks falling due across a window; how late is the breach recorded and
how late does the supervisor's e-mail reach the SMTP server?

    python -m bench.breach_lag                          # 10,000 clocks over 60 s, SQLite
    python -m bench.breach_lag --postgres               # the same on a fresh PostgreSQL database
    python -m bench.breach_lag --clocks 2000 --workers 2

Method: a fresh database with the demo organisation; N tasks with a running P1 pickup clock each,
inserted directly, due at evenly spaced instants across ``--spread`` seconds starting ``--lead``
seconds from now, and their jobs scheduled exactly as the web process schedules them
(``workers.sla.schedule.schedule_clock``). Then ``--workers`` real ``ptsa worker`` processes run
against a private redis-server and an aiosmtpd server in this process that notes the arrival time of
each message. SMS is left unconfigured (rows are ``held``), so e-mail is the only delivery.

Lag = recorded ``breached_at`` − ``due_at``, and SMTP receipt − ``due_at``. Writes
bench/results/breach-lag-<engine>-<timestamp>.json. Method and figures: docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import insert
from sqlmodel import col, func, select

from bench import procstat
from bench.report import latency_summary, write_json
from config.catalog import load_catalog
from config.seed import seed
from config.settings import PROJECT_ROOT, normalise_database_url
from hub.db import Database
from hub.models import Notification, SlaClock, Staff, Task, utcnow
from tests.support.servers import RedisServer, create_postgres_database, drop_postgres_database
from workers.sla.schedule import open_pool, schedule_clock

_MESSAGE_ID = re.compile(rb"^Message-ID:\s*<ptsa\.n(\d+)\.", re.M | re.I)


class Sink:
    """aiosmtpd handler: the arrival time of each notification, by notification id."""

    def __init__(self) -> None:
        self.arrivals: dict[int, float] = {}
        self.duplicates = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        at = time.time()
        found = _MESSAGE_ID.search(envelope.content if isinstance(envelope.content, bytes) else b"")
        if found:
            notification_id = int(found.group(1))
            self.duplicates += notification_id in self.arrivals
            self.arrivals.setdefault(notification_id, at)
        return "250 OK"


async def create_clocks(db: Database, count: int, first_due: float, spread: float) -> None:
    """``count`` queued P1 tasks with running pickup clocks due across ``spread`` seconds."""
    now = utcnow()
    async with db.read() as session:
        creator = (await session.exec(select(Staff).where(Staff.username == "p0-1"))).one()
    tasks, clocks = [], []
    for i in range(count):
        due = now + timedelta(seconds=first_due + spread * i / count)
        tasks.append(
            {
                "id": i + 1,
                "code": f"BENCH-{i + 1:06d}",
                "service_code": "data-informasi",
                "status": "queued",
                "level": "p1",
                "unit_code": "barenbang",
                "eselon1": "barenbang",
                "version": 1,
                "applicant_name": "Pemohon Uji",
                "applicant_org": "",
                "applicant_phone": "",
                "applicant_email": "",
                "description": "",
                "created_by": creator.id,
                "created_at": now,
                "updated_at": now,
            }
        )
        # warn_at = due_at: no warning job, only the breach is measured.
        clocks.append(
            {
                "id": i + 1,
                "task_id": i + 1,
                "kind": "p1_pickup",
                "unit_code": "barenbang",
                "state": "running",
                "started_at": now,
                "warn_at": due,
                "due_at": due,
                "paused_seconds": 0.0,
                "version": 1,
            }
        )
    async with db.write() as session:
        connection = await session.connection()
        for start in range(0, count, 1000):
            await connection.execute(insert(Task), tasks[start : start + 1000])
            await connection.execute(insert(SlaClock), clocks[start : start + 1000])


async def schedule_all(db: Database, redis_url: str) -> float:
    started = time.monotonic()
    async with db.read() as session:
        clocks = (await session.exec(select(SlaClock))).all()
    pool = await open_pool(redis_url)
    try:
        for clock in clocks:
            await schedule_clock(pool, clock)
    finally:
        await pool.aclose()
    return time.monotonic() - started


def start_workers(
    n: int, env: dict[str, str], log_dir: Path, profile: bool = False
) -> list[subprocess.Popen[bytes]]:
    processes = []
    for i in range(n):
        prof = log_dir / f"worker-{i + 1}.prof"
        profiler = ["-m", "cProfile", "-o", str(prof)] if profile else []
        with (log_dir / f"worker-{i + 1}.log").open("wb") as log:
            processes.append(
                subprocess.Popen(
                    [sys.executable, *profiler, "-m", "hub.cli", "worker"],
                    env={**os.environ, **env},
                    cwd=PROJECT_ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    return processes


async def stop_workers(processes: list[subprocess.Popen[bytes]], grace: float = 15.0) -> None:
    """SIGTERM, then wait without blocking this event loop: the SMTP sink must keep answering
    while the workers close their sessions."""
    for process in processes:
        process.terminate()
    deadline = time.monotonic() + grace
    while any(p.poll() is None for p in processes) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def run_queue_wait(processes: list[subprocess.Popen[bytes]]) -> float:
    """Seconds the workers' threads have spent runnable but not running (Linux schedstat)."""
    total = 0
    for process in processes:
        for stat in Path(f"/proc/{process.pid}/task").glob("*/schedstat"):
            try:
                total += int(stat.read_text().split()[1])
            except (OSError, IndexError, ValueError):
                continue
    return total / 1e9


async def progress(db: Database) -> tuple[int, int]:
    async with db.read() as session:
        breached = (
            await session.exec(
                select(func.count())
                .select_from(SlaClock)
                .where(col(SlaClock.breached_at).is_not(None))
            )
        ).one()
        sent = (
            await session.exec(
                select(func.count()).select_from(Notification).where(Notification.status == "sent")
            )
        ).one()
    return int(breached), int(sent)


async def measure(db: Database, sink: Sink) -> dict[str, Any]:
    async with db.read() as session:
        clocks = (await session.exec(select(SlaClock))).all()
        rows = (await session.exec(select(Notification))).all()
    due = {c.id: c.due_at.timestamp() for c in clocks}
    breach = [(c.breached_at.timestamp() - due[c.id]) * 1000 for c in clocks if c.breached_at]
    email = [
        (sink.arrivals[n.id] - due[n.clock_id]) * 1000
        for n in rows
        if n.id in sink.arrivals and n.clock_id in due
    ]
    statuses: dict[str, int] = {}
    for n in rows:
        statuses[n.status] = statuses.get(n.status, 0) + 1
    # p99 breach lag per 10 s of deadlines: shows whether the worker keeps up or falls behind.
    first = min(due.values(), default=0.0)
    buckets: dict[int, list[float]] = {}
    for c in clocks:
        if c.breached_at:
            bucket = int((due[c.id] - first) // 10) * 10
            buckets.setdefault(bucket, []).append((c.breached_at.timestamp() - due[c.id]) * 1000)
    timeline = {f"{b}-{b + 10}s": round(latency_summary(lags)["p99"])
                for b, lags in sorted(buckets.items())}
    return {
        "breach_p99_ms_by_due_window": timeline,
        "breach_ms": latency_summary(breach),
        "email_ms": latency_summary(email),
        "breached": len(breach),
        "emails_received": len(sink.arrivals),
        "duplicate_emails": sink.duplicates,
        "notification_status": statuses,
        "early_breaches": sum(1 for lag in breach if lag < 0),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="ptsa-breach-lag-"))
    pg_name = None
    if args.postgres:
        pg_name, database_url = create_postgres_database()
    else:
        database_url = f"sqlite:///{tmp / 'ptsa.db'}"
    redis = RedisServer()
    redis.start()
    sink = Sink()
    loop = asyncio.get_running_loop()
    smtp = await loop.create_server(lambda: SMTP(sink, hostname="sink.test"), "127.0.0.1", 0)
    smtp_port = smtp.sockets[0].getsockname()[1]
    db = Database(normalise_database_url(database_url))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        await db.create_schema()
        await seed(db, load_catalog(), demo=True)
        await create_clocks(db, args.clocks, args.lead, args.spread)
        scheduling_s = await schedule_all(db, redis.url)
        env = {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis.url,
            "PTSA_CALENDAR": "always",
            "PTSA_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}?timeout=10",
            "PTSA_VAR_DIR": str(tmp / "var"),
            "PTSA_LOG_LEVEL": "WARNING",
        }
        processes = start_workers(args.workers, env, tmp, args.profile)
        cpu_before = procstat.total_cpu(p.pid for p in processes)
        deadline = time.monotonic() + args.lead + args.spread + args.patience
        # Per 5 s: worker CPU % and % of time it was ready to run but waiting for a CPU (other
        # processes on the machine), to tell "too slow" from "starved" from "waiting on I/O".
        cpu_samples: list[float] = []
        starved_samples: list[float] = []
        last_cpu, last_wait, last_at = cpu_before, run_queue_wait(processes), time.monotonic()
        while time.monotonic() < deadline:
            breached, sent = await progress(db)
            print(
                f"\r  breached {breached:>6}/{args.clocks}  e-mailed {len(sink.arrivals):>6}",
                end="",
                flush=True,
            )
            if breached >= args.clocks and len(sink.arrivals) >= args.clocks:
                break
            await asyncio.sleep(1.0)
            if time.monotonic() - last_at >= 5:
                cpu_now = procstat.total_cpu(p.pid for p in processes)
                wait_now, span = run_queue_wait(processes), time.monotonic() - last_at
                cpu_samples.append(round((cpu_now - last_cpu) / span * 100))
                starved_samples.append(round((wait_now - last_wait) / span * 100))
                last_cpu, last_wait, last_at = cpu_now, wait_now, time.monotonic()
        print()
        worker_cpu = procstat.total_cpu(p.pid for p in processes) - cpu_before
        result = await measure(db, sink)
    finally:
        await stop_workers(processes)
        smtp.close()
        await smtp.wait_closed()
        await db.dispose()
        redis.cleanup()
        if pg_name:
            drop_postgres_database(pg_name)
    return {
        "engine": "postgresql" if args.postgres else "sqlite",
        "clocks": args.clocks,
        "spread_s": args.spread,
        "workers": args.workers,
        "scheduling_s": scheduling_s,
        "worker_cpu_s": worker_cpu,
        "worker_cpu_percent_per_5s": cpu_samples,
        "worker_waiting_for_cpu_percent_per_5s": starved_samples,
        "logs": str(tmp),
        **result,
    }


def print_report(report: dict[str, Any]) -> None:
    print(
        f"breach lag, {report['clocks']} clocks over {report['spread_s']:g} s, "
        f"{report['engine']}, {report['workers']} worker(s)"
    )
    print(f"{'':12}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}{'count':>8}")
    for label, key, count in (
        ("breach", "breach_ms", "breached"),
        ("e-mail", "email_ms", "emails_received"),
    ):
        lag = report[key]
        print(
            f"{label:12}{lag['p50']:>10.0f}{lag['p99']:>10.0f}{lag['max']:>10.0f}{report[count]:>8}"
        )
    print(
        f"duplicates {report['duplicate_emails']}, early breaches {report['early_breaches']}, "
        f"worker CPU {report['worker_cpu_s']:.1f} s"
    )
    print(f"notifications by status: {report['notification_status']}")
    print(f"breach p99 ms by deadline window: {report['breach_p99_ms_by_due_window']}")
    print(f"worker CPU % per 5 s: {report['worker_cpu_percent_per_5s']}")
    print(f"worker waiting for a CPU % per 5 s: {report['worker_waiting_for_cpu_percent_per_5s']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.breach_lag",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--clocks", type=int, default=10_000)
    parser.add_argument("--spread", type=float, default=60.0, help="seconds the deadlines span")
    parser.add_argument("--lead", type=float, default=30.0, help="seconds until the first one")
    parser.add_argument("--workers", type=int, default=1, help="ptsa worker processes")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="a fresh PostgreSQL database "
        "(PTSA_TEST_POSTGRES_URL, default postgresql://postgres@127.0.0.1/test)",
    )
    parser.add_argument(
        "--patience", type=float, default=60.0, help="seconds to wait after the last deadline"
    )
    parser.add_argument(
        "--profile", action="store_true", help="run the workers under cProfile (worker-N.prof)"
    )
    args = parser.parse_args(argv)
    report = asyncio.run(run(args))
    print_report(report)
    name = "breach-lag-" + report["engine"]
    print(f"written to {write_json(report, name)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
