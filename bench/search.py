"""Staff search on 100,000 requests: how long does ``GET /api/v1/tasks?q=…`` take in the
database, per kind of query, on SQLite and PostgreSQL?

    python -m bench.search                    # 100,000 requests, both engines
    python -m bench.search --tasks 20000 --engines sqlite --runs 10

Method: a fresh database per engine with the organisation's units and services; N requests spread
over the last 365 days with generated Indonesian names, organisations and phones (half in ``0812…``
form, half ``+62 812…``), inserted in batches together with their search terms exactly as
registration writes them (``hub.tasks.search.index_task`` rules), then ``ANALYZE``. Each query kind
is built by ``hub.tasks.search`` with the API's visibility rule and page (newest first, 100 rows),
run once to warm up and then ``--runs`` times: the time to fetch the page's rows, and with the
page's cards built as the endpoint builds them (``hub.tasks.serializers.task_summary``). Writes
bench/results/search-<timestamp>.json. Figures: docs/BENCHMARKS.md. """

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert
from sqlmodel import col, select

from config.catalog import load_catalog
from config.seed import seed_catalog
from config.settings import normalise_database_url
from hub.auth.principal import Principal
from hub.db import Database
from hub.domain.search import task_terms
from hub.domain.visibility import visible_tasks
from hub.models import Service, Staff, Task, TaskTerm
from hub.tasks.search import Filters
from hub.tasks.serializers import running_pickup_dues, task_summary
from tests.support.servers import create_postgres_database, drop_postgres_database

TZ = ZoneInfo("Asia/Jakarta")
FIRST = ["Andi", "Budi", "Siti", "Dewi", "Agus", "Rina", "Joko", "Putri", "Hendra", "Wulan",
         "Eko", "Sri", "Bambang", "Nur", "Rudi", "Ayu", "Fajar", "Indah", "Yusuf", "Lestari"]
LAST = ["Santoso", "Wijaya", "Rahayu", "Pratama", "Hidayat", "Saputra", "Kusuma", "Lubis",
        "Siregar", "Nasution", "Harahap", "Setiawan", "Gunawan", "Susanto", "Hakim", "Utami"]
ORG = ["PT", "CV", "Yayasan", "Koperasi", "Universitas", "LPK"]
ORG_WORD = ["Maju", "Jaya", "Sinar", "Abadi", "Sejahtera", "Makmur", "Mandiri", "Nusantara",
            "Karya", "Bersama", "Sentosa", "Mulia", "Cahaya", "Harapan", "Bangsa", "Prima"]


def _applicant(rng: random.Random, n: int) -> tuple[str, str, str]:
    # A per-request syllable keeps names varied (real halls see thousands of distinct names).
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)} {rng.choice(FIRST)}{n % 997}"
    org = f"{rng.choice(ORG)} {rng.choice(ORG_WORD)} {rng.choice(ORG_WORD)}"
    number = f"{rng.randrange(811, 899)}{rng.randrange(10**7, 10**8)}"
    phone = f"0{number[:3]}-{number[3:7]}-{number[7:]}" if n % 2 else f"+62 {number}"
    return name, org, phone


async def populate(db: Database, count: int, seed: int = 12) -> dict[str, Any]:
    """Insert ``count`` requests with their terms; returns samples to search for."""
    await db.create_schema()
    await seed_catalog(db, load_catalog())
    rng = random.Random(seed)
    now = datetime.now(UTC)
    async with db.write() as session:
        services = list((await session.exec(select(Service))).all())
        staff = Staff(username="bench", full_name="Bench", role="p0", unit_code="ptsa",
                      password_hash="x", created_at=now)
        session.add(staff)
        await session.flush()
        staff_id = staff.id
    per_day: dict[str, int] = {}
    samples: dict[str, Any] = {}
    batch = 5000
    for start in range(0, count, batch):
        tasks, terms = [], []
        for n in range(start, min(count, start + batch)):
            created = now - timedelta(seconds=(count - n) * 365 * 86400 / count)
            day = created.astimezone(TZ).strftime("%Y%m%d")
            per_day[day] = per_day.get(day, 0) + 1
            service = services[n % len(services)]
            name, org, phone = _applicant(rng, n)
            status = "completed" if n < count * 0.9 else rng.choice(["queued", "claimed"])
            tasks.append({
                "id": n + 1, "code": f"PTSA-{day}-{per_day[day]:04d}",
                "service_code": service.code, "status": status, "level": "p1",
                "unit_code": service.eselon1, "eselon1": service.eselon1, "eselon2": None,
                "version": 1, "applicant_name": name, "applicant_org": org,
                "applicant_phone": phone, "applicant_email": "", "description": "bench",
                "created_by": staff_id, "created_at": created, "updated_at": created})
            terms += [{"kind": k, "term": t, "task_id": n + 1}
                      for k, t in task_terms(name, org, phone)]
            if n == count // 3:
                samples.update(code=tasks[-1]["code"], name=name, org=org, phone=phone,
                               eselon1=service.eselon1, day=created.astimezone(TZ).date())
        async with db.write() as session:
            await session.exec(insert(Task), params=tasks)  # type: ignore[call-overload]
            await session.exec(insert(TaskTerm), params=terms)  # type: ignore[call-overload]
    async with db.engine.connect() as conn:
        await conn.exec_driver_sql("ANALYZE")
        await conn.commit()
    return samples


def query_kinds(s: dict[str, Any]) -> dict[str, tuple[str, dict[str, str]]]:
    """(role, filters) per kind of query, from a sample request in the middle of the data."""
    first, last = s["name"].split()[:2]
    number = s["phone"].replace("+62 ", "0").replace("-", "")
    other_form = "+62 " + number[1:]
    day = s["day"].isoformat()
    return {
        "registration number (whole)": ("p0", {"q": s["code"]}),
        "registration number (a day's prefix)": ("p0", {"q": s["code"][:13]}),
        "name, one common word": ("p0", {"q": first}),
        "name, two words": ("p0", {"q": f"{first} {last}"}),
        "name, short prefix (2 letters)": ("p0", {"q": first[:2]}),
        "organisation, two words": ("p0", {"q": " ".join(s["org"].split()[1:])}),
        "phone, 0812… form": ("p0", {"q": number}),
        "phone, +62 form, first 7 digits": ("p0", {"q": other_form[:11]}),
        "P1 desk: name within its unit": ("p1", {"q": first}),
        "one earlier day (from=to)": ("p0", {"from": day, "to": day}),
        "service + status, no text": ("p0", {"service": "data-informasi", "status": "queued"}),
        "name + date range + status": ("p0", {"q": last, "from": day,
                                              "to": (s["day"] + timedelta(30)).isoformat(),
                                              "status": "completed"}),
    }


async def time_queries(db: Database, samples: dict[str, Any], runs: int) -> dict[str, Any]:
    results = {}
    for kind, (role, params) in query_kinds(samples).items():
        unit = samples["eselon1"] if role == "p1" else "ptsa"
        principal = Principal(staff=Staff(id=1, username="x", full_name="x", role=role,
                                          unit_code=unit, password_hash="",
                                          created_at=datetime.now(UTC)),
                              scope=frozenset())
        query = Filters.parse(params).apply(select(Task).where(visible_tasks(principal)), TZ)
        query = query.order_by(col(Task.id).desc()).limit(100)
        times, pages, found = [], [], 0
        for run in range(runs + 1):
            async with db.read() as session:
                began = time.perf_counter()
                rows = (await session.exec(query)).all()
                elapsed = (time.perf_counter() - began) * 1000
                # What the endpoint does next: the cards of the page (hub.tasks.serializers).
                pickup = await running_pickup_dues(session, [t.id or 0 for t in rows])
                [await task_summary(session, t, pickup.get(t.id or 0)) for t in rows]
                page = (time.perf_counter() - began) * 1000
            found = len(rows)
            if run:
                times.append(elapsed)
                pages.append(page)
        times.sort()
        pages.sort()
        results[kind] = {"rows": found, "median_ms": round(statistics.median(times), 2),
                         "max_ms": round(times[-1], 2),
                         "page_median_ms": round(statistics.median(pages), 2),
                         "page_max_ms": round(pages[-1], 2)}
        r = results[kind]
        print(f"  {kind:40s} {found:4d} rows  query median {r['median_ms']:6.2f} ms, max "
              f"{r['max_ms']:6.2f} · with cards median {r['page_median_ms']:6.2f} ms, max "
              f"{r['page_max_ms']:6.2f}", flush=True)
    return results


async def bench_engine(engine: str, count: int, runs: int) -> dict[str, Any]:
    pg_name = None
    with tempfile.TemporaryDirectory() as tmp:
        if engine == "sqlite":
            url = f"sqlite:///{Path(tmp) / 'search.db'}"
        else:
            pg_name, url = create_postgres_database()
        db = Database(normalise_database_url(url))
        try:
            began = time.perf_counter()
            samples = await populate(db, count)
            print(f"{engine}: {count} requests inserted in {time.perf_counter() - began:.0f} s",
                  flush=True)
            return await time_queries(db, samples, runs)
        finally:
            await db.dispose()
            if pg_name:
                drop_postgres_database(pg_name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args()
    report: dict[str, Any] = {"tasks": args.tasks, "runs": args.runs,
                              "date": date.today().isoformat()}
    for engine in args.engines.split(","):
        report[engine] = asyncio.run(bench_engine(engine, args.tasks, args.runs))
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    path = out / f"search-{datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"written {path}")


if __name__ == "__main__":
    main()
