"""A complaint's response deadline with a real arq worker, SMTP server and SMS gateway, on
SQLite and PostgreSQL: answer due in 2 s of business time, every minute counting."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlmodel import select

from config.settings import Settings, load_settings
from hub.models import Complaint, Notification
from tests.conftest import ApiClient
from tests.support.mailbox import Mailbox
from tests.support.sla import db_of
from tests.support.sms_gateway import SmsGateway
from tests.support.worker import eventually, running_worker

PUSDATIN_SPV = "spv-pusdatin@kemnaker.go.id"
BARENBANG_SPV = "spv-barenbang@kemnaker.go.id"
COMPLAINANT = "dewi@example.id"


@pytest.fixture
def settings(env: dict[str, str]) -> Settings:
    return load_settings({**env, "PTSA_COMPLAINT_RESPONSE": "2s"})


def about(box: Mailbox, address: str, number: str) -> list[Any]:
    """Mail to ``address`` about this complaint (the request itself may breach its own SLA)."""
    return [r for r in box.to(address) if number in str(r.message["Subject"])]


async def all_sent(app: Any) -> bool:
    async with db_of(app).read() as session:
        rows = (await session.exec(select(Notification).where(
            Notification.channel == "email"))).all()
    return all(n.status == "sent" for n in rows if n.task_id is None)


async def _file_about_pusdatin(api: ApiClient) -> str:
    task = await api.register()
    for action, body in [("claim", {}), ("dispose", {"unit": "pusdatin"})]:
        r = await api.as_("p1-barenbang-1", "POST", f"/api/v1/tasks/{task['id']}/{action}",
                          json=body)
        assert r.status_code == 200, r.text
    r = await api.http.post("/api/v1/complaints", json={
        "text": "Berkas saya belum diproses", "registration": task["code"],
        "email": COMPLAINANT})
    assert r.status_code == 201, r.text
    return str(r.json()["number"])


async def test_an_unanswered_complaint_is_escalated_once_then_the_reply_reaches_the_complainant(
        app: Any, api: ApiClient, settings: Settings, mailbox: tuple[Mailbox, int],
        gateway: SmsGateway) -> None:
    """Past its 2 s deadline the complaint reaches the Pusdatin supervisor (and, copied, the
    Barenbang one) by one e-mail each, however many passes run; the reply then goes to the
    complainant's e-mail with the tracking link."""
    box, _ = mailbox
    async with running_worker(settings):
        number = await _file_about_pusdatin(api)
        await eventually(lambda: about(box, PUSDATIN_SPV, number)
                         and about(box, BARENBANG_SPV, number), timeout=10,
                         what="the escalation e-mails")
        await asyncio.sleep(2.5)  # two more passes: a duplicate would have been sent by now
        assert len(about(box, PUSDATIN_SPV, number)) == 1
        assert len(about(box, BARENBANG_SPV, number)) == 1
        assert "tenggat" in about(box, PUSDATIN_SPV, number)[0].message.get_content()
        r = await api.as_("spv-pusdatin", "POST", f"/api/v1/complaints/{number}/reply",
                          json={"reply": "Berkas Anda diproses hari ini."})
        assert r.status_code == 200, r.text
        await eventually(lambda: box.to(COMPLAINANT), timeout=10, what="the reply e-mail")
        await eventually(lambda: all_sent(app), timeout=10, what="every row recorded as sent")
    reply = box.to(COMPLAINANT)[0].message
    assert "Berkas Anda diproses hari ini." in reply.get_content()
    assert f"/lacak?kode={number}" in reply.get_content()
    async with db_of(app).read() as session:
        complaint = (await session.exec(select(Complaint))).one()
        rows = (await session.exec(select(Notification))).all()
    assert complaint.breached_at is not None and complaint.status == "answered"
    mine = [n for n in rows if n.channel == "email" and n.task_id is None]  # not the request's
    assert sorted((n.kind, n.status) for n in mine) == [
        ("breach", "sent"), ("breach", "sent"), ("reply", "sent")]


async def test_a_complaint_answered_in_time_is_not_escalated(
        app: Any, api: ApiClient, settings: Settings, mailbox: tuple[Mailbox, int],
        gateway: SmsGateway) -> None:
    """Answered before its deadline, a complaint sends nothing to the supervisors."""
    box, _ = mailbox
    async with running_worker(settings):
        number = await _file_about_pusdatin(api)
        r = await api.as_("p2-pusdatin-1", "POST", f"/api/v1/complaints/{number}/reply",
                          json={"reply": "Sudah kami tangani."})
        assert r.status_code == 200
        await eventually(lambda: box.to(COMPLAINANT), timeout=10, what="the reply e-mail")
        await asyncio.sleep(3.5)  # past the deadline, with passes in between
    assert about(box, PUSDATIN_SPV, number) == [] and about(box, BARENBANG_SPV, number) == []
    async with db_of(app).read() as session:
        assert (await session.exec(select(Complaint))).one().breached_at is None
