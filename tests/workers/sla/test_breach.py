"""SLA clocks firing with a real arq worker, a real SMTP server and a real SMS gateway, on SQLite
and PostgreSQL: P1 pickup in 2 s, every minute counting."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col

from channels import names
from config.settings import Settings
from hub.models import SlaClock, utcnow
from tests.conftest import ApiClient
from tests.support.mailbox import Mailbox
from tests.support.pages import PageClient, page_client
from tests.support.sla import (
    BASE_URL,
    SUPERVISOR_EMAIL,
    clock_of,
    db_of,
    events,
    notifications,
    stream_events,
)
from tests.support.sms_gateway import SmsGateway
from tests.support.worker import eventually, running_worker
from workers.notify.gsm import gsm7_length, is_gsm7
from workers.notify.sms import normalise_phone
from workers.sla.schedule import epoch_ms, schedule_clock

SUPERVISOR_PHONE_OF = "spv-barenbang"


async def supervisor_phone(app: Any, username: str) -> str:
    from sqlmodel import select

    from hub.models import Staff

    async with db_of(app).read() as session:
        staff = (await session.exec(select(Staff).where(Staff.username == username))).one()
    assert staff.phone
    return normalise_phone(staff.phone)  # as the gateway receives it


async def test_unclaimed_task_breach_reaches_the_eselon1_supervisor_once(
        app: Any, api: ApiClient, settings: Settings, mailbox: tuple[Mailbox, int],
        gateway: SmsGateway) -> None:
    """An unclaimed task breaches its P1 pickup: one e-mail, one SMS, one sla.breached on sup.*."""
    box, _ = mailbox
    db = db_of(app)
    phone = await supervisor_phone(app, SUPERVISOR_PHONE_OF)
    async with running_worker(settings):
        task = await api.register()
        clock = await clock_of(db, task["id"], "p1_pickup")
        await eventually(lambda: box.to(SUPERVISOR_EMAIL) and gateway.to(phone), timeout=10,
                         what="the breach e-mail and SMS")
        await asyncio.sleep(2.5)  # two more sweeps and any duplicate job would have sent again
    clock = await clock_of(db, task["id"], "p1_pickup")
    assert clock.breached_at is not None
    assert timedelta(0) <= clock.breached_at - clock.due_at < timedelta(seconds=2)
    assert len(box.to(SUPERVISOR_EMAIL)) == 1 and len(gateway.to(phone)) == 1
    assert len(await events(db, task["id"], "sla.breached")) == 1
    rows = await notifications(db, task["id"])
    assert sorted((n.channel, n.status, n.attempts) for n in rows) == [
        ("email", "sent", 1), ("sms", "sent", 1)]
    # The event reached the supervisor's channel within 2 s of the deadline.
    published = [(ms, e) for ms, e in await stream_events(settings.redis_url or "",
                                                           names.sup("barenbang"))
                 if e["type"] == "sla.breached"]
    assert len(published) == 1
    at_ms, event = published[0]
    assert 0 <= at_ms - epoch_ms(clock.due_at) < 2000
    assert event["data"]["task"]["id"] == task["id"]
    assert event["data"]["clock"]["kind"] == "p1_pickup" and event["data"]["clock"]["breached"]
    assert [s["username"] for s in event["data"]["supervisors"]] == ["spv-barenbang"]


async def test_breach_messages_are_indonesian_and_link_to_the_task(
        app: Any, api: ApiClient, settings: Settings, mailbox: tuple[Mailbox, int],
        gateway: SmsGateway) -> None:
    """The e-mail is Indonesian with the task link; the SMS fits one GSM-7 message."""
    box, _ = mailbox
    phone = await supervisor_phone(app, SUPERVISOR_PHONE_OF)
    async with running_worker(settings):
        task = await api.register()
        await eventually(lambda: box.to(SUPERVISOR_EMAIL) and gateway.to(phone), timeout=10)
    message = box.to(SUPERVISOR_EMAIL)[0].message
    body = message.get_content()
    assert task["code"] in str(message["Subject"]) and "Terlambat" in str(message["Subject"])
    assert "belum diambil oleh petugas P1" in body and "Mohon segera ditindaklanjuti" in body
    assert f"{BASE_URL}/permohonan/{task['id']}" in body
    sms = gateway.to(phone)[0].text
    assert task["code"] in sms and f"{BASE_URL}/permohonan/{task['id']}" in sms
    assert is_gsm7(sms) and gsm7_length(sms) <= 160


async def test_the_breach_link_opens_the_task_page_for_the_supervisor(
        app: Any, api: ApiClient, settings: Settings, mailbox: tuple[Mailbox, int],
        gateway: SmsGateway) -> None:
    """The link in the e-mail and in the SMS, read at the SMTP server and the gateway, leads to
    the task page: the supervisor's signed-in browser gets 200 with the registration number."""
    box, _ = mailbox
    phone = await supervisor_phone(app, SUPERVISOR_PHONE_OF)
    async with running_worker(settings):
        task = await api.register()
        await eventually(lambda: box.to(SUPERVISOR_EMAIL) and gateway.to(phone), timeout=10)
    links = [re.findall(r"https?://[^\s<>\"]+", text)
             for text in (box.to(SUPERVISOR_EMAIL)[0].message.get_content(),
                          gateway.to(phone)[0].text)]
    async with page_client(app) as http:
        browser = PageClient(http)
        assert (await browser.login("spv-barenbang")).status_code in (302, 303)
        for found in links:
            [link] = [u for u in found if u.startswith(BASE_URL)]
            answer = await http.get(link[len(BASE_URL):])
            assert answer.status_code == 200, link
            assert task["code"] in answer.text


async def test_task_claimed_before_its_deadline_sends_nothing(
        app: Any, api: ApiClient, settings: Settings, mailbox: tuple[Mailbox, int],
        gateway: SmsGateway) -> None:
    """A P1 claim inside the 2 s meets the clock: no breach, no e-mail, no SMS."""
    box, _ = mailbox
    db = db_of(app)
    async with running_worker(settings):
        task = await api.register()
        r = await api.as_("p1-barenbang-1", "POST", f"/api/v1/tasks/{task['id']}/claim")
        assert r.status_code == 200, r.text
        clock = await clock_of(db, task["id"], "p1_pickup")
        await asyncio.sleep((clock.due_at - utcnow()).total_seconds() + 2.5)
    clock = await clock_of(db, task["id"], "p1_pickup")
    assert (clock.state, clock.breached_at) == ("met", None)
    assert await notifications(db, task["id"]) == []
    assert box.received == [] and gateway.messages == []
    assert await events(db, task["id"], "sla.breached") == []


async def test_warning_goes_live_to_the_desk_and_sends_no_mail(
        app: Any, api: ApiClient, settings: Settings, mailbox: tuple[Mailbox, int]) -> None:
    """At 80 % of the pickup time sla.warning goes to the task, P1 desk and supervisor channels."""
    db = db_of(app)
    async with running_worker(settings):
        task = await api.register()
        warned = await eventually(lambda: events(db, task["id"], "sla.warning"), timeout=5)
        clock = await clock_of(db, task["id"], "p1_pickup")
        assert clock.warned_at is not None and clock.warn_at is not None
        assert clock.warned_at - clock.warn_at < timedelta(seconds=1)
        assert clock.breached_at is None  # the warning came before the deadline
        for channel in (names.task(task["id"]), names.p1("barenbang"), names.sup("barenbang")):
            await eventually(lambda ch=channel: _has_event(settings, ch, "sla.warning"),
                             timeout=3, what=f"sla.warning on {channel}")
    assert len(warned) == 1 and warned[0].actor_id is None
    assert [n for n in await notifications(db, task["id"]) if n.kind == "warning"] == []


async def _has_event(settings: Settings, channel: str, event_type: str) -> bool:
    return any(e["type"] == event_type
               for _, e in await stream_events(settings.redis_url or "", channel))


async def test_racing_jobs_record_one_breach_and_one_notification_set(
        app: Any, api: ApiClient, settings: Settings, mailbox: tuple[Mailbox, int],
        gateway: SmsGateway) -> None:
    """Three jobs and three direct calls fire one clock at once: one breach, one e-mail, one SMS."""
    box, _ = mailbox
    db = db_of(app)
    phone = await supervisor_phone(app, SUPERVISOR_PHONE_OF)
    async with running_worker(settings) as worker:
        task = await api.register()
        clock = await clock_of(db, task["id"], "p1_pickup")
        at_ms = epoch_ms(clock.due_at)
        pool = worker.ctx["redis"]
        for n in range(3):  # duplicates under other ids, as a second scheduler would make
            await pool.enqueue_job("sla_fire", clock.id, "due", at_ms, _job_id=f"race-{n}",
                                   _queue_name=names.ARQ_QUEUE, _defer_until=clock.due_at)
        await asyncio.sleep(max(0.0, (clock.due_at - utcnow()).total_seconds()))
        engine = worker.ctx["parts"].sla
        outcomes = await asyncio.gather(*(engine.fire(clock.id, "due", at_ms) for _ in range(3)))
        await eventually(lambda: box.to(SUPERVISOR_EMAIL) and gateway.to(phone), timeout=10)
        await asyncio.sleep(2.0)
    assert outcomes.count("breached") <= 1
    assert len(await events(db, task["id"], "sla.breached")) == 1
    assert len(await notifications(db, task["id"])) == 2
    assert len(box.to(SUPERVISOR_EMAIL)) == 1 and len(gateway.to(phone)) == 1


async def test_hold_pauses_the_resolution_clock_and_resume_moves_its_job(
        app: Any, api: ApiClient, settings: Settings, mailbox: tuple[Mailbox, int]) -> None:
    """On hold the old due job does nothing; resume schedules a new one that breaches later."""
    box, _ = mailbox
    db = db_of(app)
    ctx = app.state.ctx
    pool = ctx.scheduler.pool
    async with running_worker(settings):
        task = await api.register()
        base = f"/api/v1/tasks/{task['id']}"
        assert (await api.as_("p1-barenbang-1", "POST", f"{base}/claim")).status_code == 200
        # An SOP of three seconds instead of three days, so the test sees the deadline.
        resolution = await clock_of(db, task["id"], "resolution")
        old_due = utcnow() + timedelta(seconds=3)
        async with db.write() as session:
            await session.exec(update(SlaClock).where(col(SlaClock.id) == resolution.id)
                               .values(due_at=old_due, warn_at=old_due))
        resolution = await clock_of(db, task["id"], "resolution")
        assert await schedule_clock(pool, resolution) == 1
        r = await api.as_("p1-barenbang-1", "POST", f"{base}/hold",
                          json={"reason": "Berkas kurang"})
        assert r.status_code == 200, r.text
        await asyncio.sleep((old_due - utcnow()).total_seconds() + 1.5)
        held = await clock_of(db, task["id"], "resolution")
        assert (held.state, held.breached_at) == ("paused", None)  # the old job did nothing
        assert await pool.zscore(names.ARQ_QUEUE, f"sla:{held.id}:due:{epoch_ms(old_due)}") is None
        r = await api.as_("p1-barenbang-1", "POST", f"{base}/resume")
        assert r.status_code == 200, r.text
        moved = await clock_of(db, task["id"], "resolution")
        assert moved.due_at > old_due + timedelta(seconds=1)
        assert await pool.zscore(names.ARQ_QUEUE, f"sla:{moved.id}:due:{epoch_ms(moved.due_at)}")
        await eventually(lambda: len(box.received) >= 2, timeout=10, what="both breach e-mails")
    breached = await clock_of(db, task["id"], "resolution")
    assert breached.breached_at is not None and breached.breached_at >= moved.due_at
    assert len(await events(db, task["id"], "sla.breached")) == 1
    # Resolution: the Eselon II supervisor acts, the Eselon I supervisor is copied.
    subjects = {r.recipients[0]: str(r.message["Subject"]) for r in box.received}
    assert set(subjects) == {"spv-pusdatin@kemnaker.go.id", SUPERVISOR_EMAIL}
    assert "Tembusan" in subjects[SUPERVISOR_EMAIL]
    assert "Tembusan" not in subjects["spv-pusdatin@kemnaker.go.id"]
