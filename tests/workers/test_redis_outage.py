"""A ``ptsa worker`` process living through a Redis outage: Redis stopped for eight seconds under
a burst of breaches and started again (empty: every arq job is gone), the worker left alone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ApiClient
from tests.support.mailbox import Mailbox
from tests.support.servers import RedisServer
from tests.support.sla import SUPERVISOR_EMAIL, clock_of, db_of, events, notifications, sla_env
from tests.support.sms_gateway import SmsGateway
from tests.support.worker import WorkerProcess, eventually
from workers.notify.sms import normalise_phone

TASKS_BEFORE, TASKS_DURING = 6, 6
OUTAGE_S = 8.0


@pytest.fixture
async def own_redis() -> AsyncIterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.cleanup()


@pytest.fixture
def env(database_url: str, own_redis: RedisServer, tmp_path: Path,
        mailbox: tuple[Mailbox, int], gateway: SmsGateway) -> dict[str, str]:
    return sla_env(database_url, own_redis.url, tmp_path,
                   PTSA_SMTP_URL=f"smtp://127.0.0.1:{mailbox[1]}?timeout=3",
                   PTSA_SMS_URL=gateway.url, PTSA_REDIS_TIMEOUT="1s")


@pytest.fixture
def worker(env: dict[str, str], tmp_path: Path) -> Iterator[WorkerProcess]:
    process = WorkerProcess(env, tmp_path / "worker.log")
    process.start()
    yield process
    process.stop()


async def supervisor_phone(app: Any) -> str:
    from sqlmodel import select

    from hub.models import Staff

    async with db_of(app).read() as session:
        staff = (await session.exec(select(Staff).where(
            Staff.username == "spv-barenbang"))).one()
    return normalise_phone(staff.phone or "")


@pytest.mark.slow
async def test_worker_survives_a_redis_outage_and_notifies_every_breach_once(
        app: Any, api: ApiClient, own_redis: RedisServer, worker: WorkerProcess,
        mailbox: tuple[Mailbox, int], gateway: SmsGateway) -> None:
    """Breaches falling due while Redis is down are recorded, e-mailed and texted exactly once."""
    box, _ = mailbox
    db = db_of(app)
    phone = await supervisor_phone(app)
    await eventually(lambda: "Starting worker" in worker.output(), timeout=20,
                     what="the worker to start")
    tasks = [await api.register() for _ in range(TASKS_BEFORE)]
    own_redis.stop()  # every scheduled job goes with it (no persistence)
    stopped = time.monotonic()
    for _ in range(TASKS_DURING):  # committed; their after-commit scheduling fails
        tasks.append(await api.register())

    async def breached(some: list[dict[str, Any]]) -> bool:
        clocks = [await clock_of(db, t["id"], "p1_pickup") for t in some]
        return all(c.breached_at is not None for c in clocks)

    # The database is the truth: breaches falling due now are recorded and e-mailed without Redis.
    await eventually(lambda: breached(tasks[:TASKS_BEFORE]), timeout=OUTAGE_S - 2,
                     what="the breaches recorded while Redis is down")
    await eventually(lambda: len(box.to(SUPERVISOR_EMAIL)) >= TASKS_BEFORE, timeout=3,
                     what="their e-mails while Redis is down")
    await asyncio.sleep(OUTAGE_S - (time.monotonic() - stopped))
    assert worker.proc is not None and worker.proc.poll() is None, worker.output()[-3000:]
    own_redis.start()

    await eventually(lambda: breached(tasks), timeout=30, what="every breach recorded")
    await eventually(lambda: len(box.to(SUPERVISOR_EMAIL)) >= len(tasks)
                     and len(gateway.to(phone)) >= len(tasks), timeout=30,
                     what="every breach e-mail and SMS")
    await asyncio.sleep(3)  # a few more sweeps: any duplicate would have gone out by now
    assert worker.proc is not None and worker.proc.poll() is None, worker.output()[-3000:]
    received = box.to(SUPERVISOR_EMAIL)
    assert len(received) == len(tasks)
    assert len({m.message_id for m in received}) == len(tasks)
    assert len(gateway.to(phone)) == len(tasks)
    for task in tasks:
        assert len(await events(db, task["id"], "sla.breached")) == 1
        rows = await notifications(db, task["id"])
        assert sorted((n.channel, n.status) for n in rows) == [("email", "sent"), ("sms", "sent")]
    assert "Redis is unavailable" in worker.output()


async def test_worker_stops_cleanly_on_sigterm_while_redis_is_down(
        app: Any, own_redis: RedisServer, worker: WorkerProcess) -> None:
    """SIGTERM during an outage: the worker closes its own parts without Redis and exits 0."""
    await eventually(lambda: "Starting worker" in worker.output(), timeout=20,
                     what="the worker to start")
    own_redis.stop()
    await eventually(lambda: "Redis is unavailable" in worker.output(), timeout=10,
                     what="the worker to notice")
    worker.stop()
    assert worker.proc is not None and worker.proc.returncode == 0, worker.output()[-3000:]
    assert "closing without it" in worker.output()
