"""SLA breaches with three hubs behind HAProxy and one worker (on a standalone Redis, and with
the queue on a standalone Redis and history on the Redis Cluster): each breach recorded once,
e-mailed once, texted once, and shown once on a supervisor's screen — even with the hub that
registered (and scheduled) half of the requests killed before they fall due."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import select

from hub.models import Staff
from tests.support.mailbox import Mailbox, smtp_server
from tests.support.multihub import Site, multihub
from tests.support.sla import SUPERVISOR_EMAIL, clock_of, events, notifications
from tests.support.sms_gateway import SmsGateway, sms_gateway
from tests.support.worker import eventually
from tests.support.wsclient import WsClient, fetch_token, register_task
from workers.notify.sms import normalise_phone

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

TASKS = 12


@pytest.fixture
async def site(request: pytest.FixtureRequest,
               tmp_path: Path) -> AsyncIterator[tuple[Site, Mailbox, SmsGateway]]:
    """History on the Redis Cluster, the queue (arq) on a standalone Redis. (One standalone
    Redis is what every other SLA test runs on: tests/workers/sla.)"""
    cluster = request.getfixturevalue("redis_cluster")
    box = Mailbox()
    with sms_gateway() as gateway:
        async with smtp_server(box) as port:
            extra = {"PTSA_SLA_P1_PICKUP": "4s", "PTSA_SLA_SWEEP": "1s",
                     "PTSA_NOTIFY_LEASE": "4s", "PTSA_BASE_URL": "http://ptsa.test",
                     "PTSA_SMTP_URL": f"smtp://127.0.0.1:{port}?timeout=3",
                     "PTSA_SMS_URL": gateway.url}
            async with multihub(tmp_path, hubs=3, cluster=cluster, extra_env=extra) as started:
                yield started, box, gateway
            box.release()


async def test_breaches_recorded_mailed_and_shown_once_across_hubs(
        site: tuple[Site, Mailbox, SmsGateway]) -> None:
    started, box, gateway = site
    url = started.haproxy.url
    async with started.db.read() as session:
        staff = (await session.exec(select(Staff).where(Staff.username == "spv-barenbang"))).one()
    phone = normalise_phone(staff.phone or "")
    screen = await WsClient.open(started.haproxy.ws_url, await fetch_token(url, "spv-barenbang"))
    await screen.subscribe("sup.barenbang")
    p0 = await fetch_token(url, "p0-1")
    tasks = await asyncio.gather(*(register_task(url, p0) for _ in range(TASKS)))
    started.hubs[0].kill()  # its after-commit scheduling happened; the jobs are in Redis

    async def breached() -> bool:
        clocks = [await clock_of(started.db, t["id"], "p1_pickup") for t in tasks]
        return all(c.breached_at is not None for c in clocks)

    await eventually(breached, timeout=40, what="every breach recorded")
    await eventually(lambda: len(box.to(SUPERVISOR_EMAIL)) >= TASKS
                     and len(gateway.to(phone)) >= TASKS, timeout=40,
                     what="every breach e-mail and SMS")
    frames = await screen.drain(quiet=4.0)  # a few more sweeps: a duplicate would show now
    shown = [f["data"]["task"]["id"] for f in frames
             if f.get("op") == "event" and f["type"] == "sla.breached"]
    assert sorted(shown) == sorted(t["id"] for t in tasks)
    received = box.to(SUPERVISOR_EMAIL)
    assert len(received) == TASKS and len({m.message_id for m in received}) == TASKS
    assert len(gateway.to(phone)) == TASKS
    for task in tasks:
        assert len(await events(started.db, task["id"], "sla.breached")) == 1
        rows = await notifications(started.db, task["id"])
        assert sorted((n.channel, n.status) for n in rows if n.kind == "breach") == [
            ("email", "sent"), ("sms", "sent")]
    await screen.close()
