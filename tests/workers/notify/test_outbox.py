"""The notification outbox with a real worker, SMTP server and SMS gateway: retries after an SMTP
outage, permanent failures, unconfigured channels (held, listed, released) and de-duplication.

Here the SMTP port is chosen first and each test decides when a server listens on it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from config.settings import Settings
from hub.models import utcnow
from hub.reports.notification_log import list_notifications
from tests.conftest import ApiClient
from tests.support.mailbox import Mailbox, smtp_server
from tests.support.servers import free_port
from tests.support.sla import (
    SUPERVISOR_EMAIL,
    clock_of,
    db_of,
    events,
    notifications,
    sla_env,
)
from tests.support.sms_gateway import SmsGateway
from tests.support.worker import eventually, running_worker
from workers.notify.outbox import Draft, insert_notifications
from workers.notify.transports import Transports


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def env(database_url: str, redis_url: str, tmp_path: Path, smtp_port: int,
        gateway: SmsGateway) -> dict[str, str]:
    return sla_env(database_url, redis_url, tmp_path,
                   PTSA_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}?timeout=2",
                   PTSA_SMS_URL=gateway.url)


async def email_row(app: Any, task_id: int) -> Any:
    rows = [n for n in await notifications(db_of(app), task_id) if n.channel == "email"]
    return rows[0] if rows else None


async def test_smtp_down_when_the_breach_fires_delivers_once_when_it_is_back(
        app: Any, api: ApiClient, settings: Settings, smtp_port: int) -> None:
    """Connection refused is retried with back-off; the e-mail arrives once SMTP listens again."""
    box = Mailbox()
    async with running_worker(settings):
        task = await api.register()
        failed = await eventually(
            lambda: _failed_attempt(app, task["id"]), timeout=10, what="a failed attempt")
        assert failed.status == "pending" and "127.0.0.1" in (failed.last_error or "")
        async with smtp_server(box, smtp_port):
            await eventually(lambda: box.to(SUPERVISOR_EMAIL), timeout=15, what="the e-mail")
            await asyncio.sleep(2.5)
    assert len(box.to(SUPERVISOR_EMAIL)) == 1
    row = await email_row(app, task["id"])
    assert row.status == "sent" and row.attempts >= 2
    assert box.to(SUPERVISOR_EMAIL)[0].message_id.startswith(f"<ptsa.n{row.id}.")


async def _failed_attempt(app: Any, task_id: int) -> Any:
    row = await email_row(app, task_id)
    return row if row is not None and row.attempts >= 1 and row.last_error else None


async def test_permanent_refusal_is_marked_failed_with_the_servers_reason(
        app: Any, api: ApiClient, settings: Settings, smtp_port: int) -> None:
    """A 550 is not retried: the row is failed, with the reply, and the admin log shows it."""
    box = Mailbox()
    box.refuse = "550 5.1.1 Mailbox tidak dikenal"
    async with smtp_server(box, smtp_port), running_worker(settings):
        task = await api.register()
        row = await eventually(lambda: _in_status(app, task["id"], "failed"), timeout=10)
        await asyncio.sleep(1.5)
    row = await email_row(app, task["id"])
    assert (row.status, row.attempts) == ("failed", 1)
    assert "550" in (row.last_error or "") and "tidak dikenal" in (row.last_error or "")
    logged = [n for n in await list_notifications(db_of(app)) if n["channel"] == "email"]
    assert logged[0]["status"] == "failed" and logged[0]["task"]["code"] == task["code"]


async def _in_status(app: Any, task_id: int, status: str) -> Any:
    row = await email_row(app, task_id)
    return row if row is not None and row.status == status else None


async def test_unconfigured_channels_keep_notifications_held_and_listed(
        app: Any, api: ApiClient, settings: Settings, gateway: SmsGateway) -> None:
    """Without PTSA_SMTP_URL and PTSA_SMS_URL the rows are held, never dropped, and listed."""
    bare = settings.with_overrides(smtp_url=None, sms_url=None)
    db = db_of(app)
    async with running_worker(bare):
        task = await api.register()
        await eventually(lambda: events(db, task["id"], "sla.breached"), timeout=10)
        await asyncio.sleep(1.5)
    rows = await notifications(db, task["id"])
    assert sorted((n.channel, n.status) for n in rows) == [("email", "held"), ("sms", "held")]
    assert all(n.attempts == 0 and "is not set" in (n.last_error or "") for n in rows)
    assert gateway.messages == []
    everything = await list_notifications(db)
    assert {n["id"] for n in everything} == {n.id for n in rows}
    mine = await list_notifications(db, unit_codes=["barenbang", "pusdatin"])
    assert {n["staff"]["username"] for n in mine} == {"spv-barenbang"}
    assert await list_notifications(db, unit_codes=["binapenta"]) == []


async def test_held_notifications_are_sent_once_their_channel_is_configured(
        app: Any, api: ApiClient, settings: Settings, smtp_port: int) -> None:
    """A worker started with SMTP configured sends the held e-mail; SMS stays held."""
    db = db_of(app)
    async with running_worker(settings.with_overrides(smtp_url=None, sms_url=None)):
        task = await api.register()
        await eventually(lambda: _in_status(app, task["id"], "held"), timeout=10)
    box = Mailbox()
    async with smtp_server(box, smtp_port), running_worker(settings.with_overrides(sms_url=None)):
        await eventually(lambda: box.to(SUPERVISOR_EMAIL), timeout=10)
        await asyncio.sleep(1.5)
    assert len(box.to(SUPERVISOR_EMAIL)) == 1
    rows = {n.channel: n for n in await notifications(db, task["id"])}
    assert (rows["email"].status, rows["sms"].status) == ("sent", "held")


async def test_the_same_notification_is_inserted_once(app: Any, api: ApiClient,
                                                      settings: Settings) -> None:
    """A second insert of the same (clock, kind, channel, recipient) adds no row and claims
    nothing."""
    db = db_of(app)
    task = await api.register()
    clock = await clock_of(db, task["id"], "p1_pickup")
    draft = Draft(clock.id or 0, task["id"], "breach", "email", SUPERVISOR_EMAIL, None,
                  "Terlambat", "Isi")
    transports = Transports(settings)
    async with db.write() as session:
        first = await insert_notifications(session, [draft, draft], transports, utcnow(),
                                           lease=timedelta(minutes=1))
    async with db.write() as session:
        again = await insert_notifications(session, [draft], transports, utcnow(),
                                           lease=timedelta(minutes=1))
    assert [[(c.attempts, c.recipient) for c in claimed] for claimed in first.values()] == [
        [(1, SUPERVISOR_EMAIL)]]
    assert again == {}
    assert len(await notifications(db, task["id"])) == 1
