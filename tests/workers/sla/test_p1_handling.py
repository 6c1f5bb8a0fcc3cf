"""The P1 handling clock with a real arq worker, SMTP server and SMS gateway, on SQLite and
PostgreSQL: a P1 desk that claims at once (meeting the 2 s pickup) and then sits on the request
past a 3 s handling SLA is reported to the Eselon I supervisor, once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from channels import names
from config.settings import Settings
from hub.models import utcnow
from tests.conftest import ApiClient
from tests.support.mailbox import Mailbox
from tests.support.sla import (
    SUPERVISOR_EMAIL,
    clock_of,
    db_of,
    events,
    notifications,
    sla_env,
    stream_events,
)
from tests.support.sms_gateway import SmsGateway
from tests.support.worker import eventually, running_worker
from tests.workers.sla.test_breach import supervisor_phone
from workers.sla.schedule import epoch_ms

P1 = "p1-barenbang-1"


@pytest.fixture
def env(database_url: str, redis_url: str, tmp_path: Path, mailbox: tuple[Mailbox, int],
        gateway: SmsGateway) -> dict[str, str]:
    """The SLA tests' environment with a 3-second P1 handling SLA."""
    return sla_env(database_url, redis_url, tmp_path,
                   PTSA_SMTP_URL=f"smtp://127.0.0.1:{mailbox[1]}?timeout=3",
                   PTSA_SMS_URL=gateway.url, PTSA_SLA_P1_HANDLING="3s")


async def _claimed(api: ApiClient) -> dict[str, Any]:
    task = await api.register()
    r = await api.as_(P1, "POST", f"/api/v1/tasks/{task['id']}/claim")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_p1_desk_sitting_on_a_claimed_request_breaches_p1_handling_once(
        app: Any, api: ApiClient, settings: Settings, mailbox: tuple[Mailbox, int],
        gateway: SmsGateway) -> None:
    """Warning, then breach recorded; one e-mail and one SMS to spv-barenbang saying the P1
    desk has not disposed it; one sla.breached for the banner on sup.barenbang."""
    box, _ = mailbox
    db = db_of(app)
    phone = await supervisor_phone(app, "spv-barenbang")
    async with running_worker(settings):
        task = await _claimed(api)
        handling = await clock_of(db, task["id"], "p1_handling")
        assert (handling.state, handling.unit_code) == ("running", "barenbang")
        assert (await clock_of(db, task["id"], "p1_pickup")).state == "met"
        await eventually(lambda: events(db, task["id"], "sla.warning"), timeout=5,
                         what="the handling warning")
        await eventually(lambda: box.to(SUPERVISOR_EMAIL) and gateway.to(phone), timeout=10,
                         what="the breach e-mail and SMS")
        await asyncio.sleep(2.5)  # two more sweeps: nothing is sent twice
    clock = await clock_of(db, task["id"], "p1_handling")
    assert clock.warned_at is not None and clock.breached_at is not None
    assert timedelta(0) <= clock.breached_at - clock.due_at < timedelta(seconds=2)
    assert clock.due_at - clock.started_at == timedelta(seconds=3)
    assert len(box.to(SUPERVISOR_EMAIL)) == 1 and len(gateway.to(phone)) == 1
    body = box.to(SUPERVISOR_EMAIL)[0].message.get_content()
    assert task["code"] in body and "belum didisposisikan" in body
    assert task["code"] in gateway.to(phone)[0].text
    assert sorted((n.channel, n.kind, n.status) for n in await notifications(db, task["id"])) \
        == [("email", "breach", "sent"), ("sms", "breach", "sent")]
    published = [(ms, e) for ms, e in await stream_events(settings.redis_url or "",
                                                           names.sup("barenbang"))
                 if e["type"] == "sla.breached"]
    assert len(published) == 1
    at_ms, event = published[0]
    assert 0 <= at_ms - epoch_ms(clock.due_at) < 2000
    assert event["data"]["clock"]["kind"] == "p1_handling"
    assert [s["username"] for s in event["data"]["supervisors"]] == ["spv-barenbang"]


async def test_disposing_within_the_handling_time_meets_it_and_sends_nothing(
        app: Any, api: ApiClient, settings: Settings, mailbox: tuple[Mailbox, int],
        gateway: SmsGateway) -> None:
    """A disposition inside the 3 s meets the handling clock: no breach, no e-mail, no SMS."""
    box, _ = mailbox
    db = db_of(app)
    async with running_worker(settings):
        task = await _claimed(api)
        r = await api.as_(P1, "POST", f"/api/v1/tasks/{task['id']}/dispose",
                          json={"unit": "pusdatin"})
        assert r.status_code == 200, r.text
        r = await api.as_("p2-pusdatin-1", "POST", f"/api/v1/tasks/{task['id']}/claim")
        assert r.status_code == 200, r.text  # the P2 pickup (3 s) is met too
        clock = await clock_of(db, task["id"], "p1_handling")
        await asyncio.sleep((clock.due_at - utcnow()).total_seconds() + 2.5)
    clock = await clock_of(db, task["id"], "p1_handling")
    assert (clock.state, clock.breached_at) == ("met", None)
    assert box.received == [] and gateway.messages == []
    assert await events(db, task["id"], "sla.breached") == []
