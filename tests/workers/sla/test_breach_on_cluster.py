"""The SLA path with the queue on a standalone Redis (arq: PTSA_QUEUE_URL) and channel history on
a Redis Cluster (REDIS_URL=redis+cluster://...): a breach is recorded, mailed, texted and
published once."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from channels import names
from config.settings import Settings, load_settings
from hub.redis_clients import cluster_client
from tests.conftest import ApiClient
from tests.support.mailbox import Mailbox
from tests.support.redis_cluster import RedisCluster
from tests.support.sla import (
    SUPERVISOR_EMAIL,
    api,
    clock_of,
    db_of,
    events,
    gateway,
    mailbox,
    notifications,
    sla_env,
)
from tests.support.sms_gateway import SmsGateway
from tests.support.worker import eventually, running_worker

__all__ = ["api", "gateway", "mailbox"]  # fixtures used by name


@pytest.fixture
def settings(sqlite_url: str, redis_url: str, redis_cluster: RedisCluster, tmp_path: Path,
             mailbox: tuple[Mailbox, int], gateway: SmsGateway) -> Settings:
    return load_settings(sla_env(
        sqlite_url, redis_cluster.url, tmp_path, PTSA_QUEUE_URL=redis_url,
        PTSA_SMTP_URL=f"smtp://127.0.0.1:{mailbox[1]}?timeout=3", PTSA_SMS_URL=gateway.url))


async def test_breach_on_cluster_history_and_standalone_queue_happens_once(
        app: Any, api: ApiClient, settings: Settings, mailbox: tuple[Mailbox, int],
        gateway: SmsGateway) -> None:
    """An unclaimed task's 2 s P1 pickup breaches: one e-mail, one sla.breached event in the
    database and one in the supervisor channel's stream on the cluster; arq's keys are on the
    queue Redis, none on the cluster."""
    box, _ = mailbox
    db = db_of(app)
    assert settings.redis_cluster and settings.queue_url
    async with running_worker(settings):
        task = await api.register()
        await eventually(lambda: box.to(SUPERVISOR_EMAIL), timeout=10, what="the breach e-mail")
        await asyncio.sleep(2.5)  # two more sweeps: a duplicate would have been sent by now
    clock = await clock_of(db, task["id"], "p1_pickup")
    assert clock.breached_at is not None
    assert len(box.to(SUPERVISOR_EMAIL)) == 1
    recorded = await events(db, task["id"], "sla.breached")
    assert len(recorded) == 1
    assert [n.status for n in await notifications(db, task["id"]) if n.channel == "email"] == [
        "sent"]
    cluster = cluster_client(settings.redis_url or "", timedelta(seconds=2),
                             decode_responses=True)
    try:
        entries = await cluster.xrange(names.stream_key(names.sup("barenbang")))
        arq_keys = [k async for k in cluster.scan_iter(match=f"{names.ARQ_QUEUE}*")]
    finally:
        await cluster.aclose()
    # By the event's id: the session's cluster is shared, and an earlier test's task with the same
    # number may have breached on this channel too.
    breached = [json.loads("{" + fields["e"]) for _, fields in entries]
    breached = [e for e in breached if e["id"] == recorded[0].event_id]
    assert len(breached) == 1
    assert arq_keys == []
