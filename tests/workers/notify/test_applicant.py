"""Messages to the applicant through a real ``ptsa worker``, the recording SMTP server and the
HTTP SMS gateway: one SMS and one e-mail per event (registered, on hold, completed), none without
consent, none twice across a SIGKILLed worker."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from hub.models import Notification
from tests.conftest import ApiClient
from tests.support.mailbox import Mailbox
from tests.support.sla import BASE_URL, db_of
from tests.support.sms_gateway import SmsGateway
from tests.support.worker import WorkerProcess, eventually
from workers.notify.applicant import record_consent

PHONE, EMAIL = "0812-1111-2222", "andi@example.co.id"
AT_GATEWAY = "6281211112222"  # the number as the gateway receives it (workers/notify/sms.py)
OTHER_PHONE, OTHER_EMAIL = "0813-9999-0000", "tanpa.izin@example.co.id"
LEASE_S = 4.0


@pytest.fixture
def workers() -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for process in started:
        process.stop()


def start_worker(workers: list[WorkerProcess], env: dict[str, str], log: Path) -> WorkerProcess:
    process = WorkerProcess(env, log)
    process.start()
    workers.append(process)
    return process


async def sms_sent(app: Any) -> bool:
    async with db_of(app).read() as session:
        rows = (await session.exec(select(Notification).where(
            col(Notification.kind) == "applicant_registered",
            col(Notification.channel) == "sms"))).all()
    return [r.status for r in rows] == ["sent"]


async def consenting_request(app: Any, api: ApiClient) -> dict[str, Any]:
    task = await api.register()  # PHONE and EMAIL
    await record_consent(db_of(app), task["id"], None)
    await api.register(phone=OTHER_PHONE, email=OTHER_EMAIL)  # no consent: never messaged
    return task


async def test_the_applicant_gets_one_sms_and_one_email_per_event_and_only_with_consent(
        app: Any, api: ApiClient, env: dict[str, str], mailbox: tuple[Mailbox, int],
        gateway: SmsGateway, workers: list[WorkerProcess], tmp_path: Path) -> None:
    """Registered, held (with the reason) and completed each bring one SMS (GSM-7, one part) and
    one e-mail in Indonesian with the registration number and tracking link; the applicant who
    did not consent gets nothing."""
    box, _ = mailbox
    worker = start_worker(workers, env, tmp_path / "worker.log")
    task = await consenting_request(app, api)
    code, link = task["code"], f"{BASE_URL}/lacak?kode={task['code']}"
    await eventually(lambda: gateway.to(AT_GATEWAY) and box.to(EMAIL), timeout=15,
                     what="the registration messages\n" + worker.output())
    sms = gateway.to(AT_GATEWAY)[0].text
    # The service name does not fit in one SMS with the link: the short form leaves it out.
    assert sms.startswith(f"PTSA Kemnaker: permohonan terdaftar, no. registrasi {code}. "
                          "Perkiraan selesai ") and sms.endswith(link)
    assert len(sms) <= 160 and sms.isascii()
    mail = box.to(EMAIL)[0].message
    assert mail["Subject"] == f"Permohonan {code} terdaftar - PTSA Kemnaker"
    body = mail.get_content()
    assert "Yth. Andi Wijaya" in body and f"Nomor registrasi : {code}" in body and link in body
    assert "Layanan          : Pelayanan Data dan Informasi Ketenagakerjaan" in body

    await api.as_("p1-barenbang-1", "POST", f"/api/v1/tasks/{task['id']}/claim", json={})
    await api.as_("p1-barenbang-1", "POST", f"/api/v1/tasks/{task['id']}/dispose",
                  json={"unit": "pusdatin"})
    await api.as_("p2-pusdatin-1", "POST", f"/api/v1/tasks/{task['id']}/claim", json={})
    held = await api.as_("p2-pusdatin-1", "POST", f"/api/v1/tasks/{task['id']}/hold",
                         json={"reason": "Surat pengantar dari perusahaan belum dilampirkan"})
    assert held.status_code == 200, held.text
    await eventually(lambda: len(gateway.to(AT_GATEWAY)) == 2 and len(box.to(EMAIL)) == 2,
                     timeout=15, what="the on-hold messages")
    assert "ditunda, menunggu Anda: Surat pengantar dari perusahaan belum dilampirkan" in \
        gateway.to(AT_GATEWAY)[1].text
    assert "Surat pengantar dari perusahaan belum dilampirkan" in \
        box.to(EMAIL)[1].message.get_content()

    await api.as_("p2-pusdatin-1", "POST", f"/api/v1/tasks/{task['id']}/resume", json={})
    done = await api.as_("p2-pusdatin-1", "POST", f"/api/v1/tasks/{task['id']}/complete",
                         json={"result": "Data dikirim"})
    assert done.status_code == 200, done.text
    await eventually(lambda: len(gateway.to(AT_GATEWAY)) == 3 and len(box.to(EMAIL)) == 3,
                     timeout=15, what="the completion messages")
    assert "selesai. Dokumen dapat diambil / telah dikirim" in gateway.to(AT_GATEWAY)[2].text
    assert box.to(EMAIL)[2].message["Subject"] == f"Permohonan {code} selesai - PTSA Kemnaker"

    await asyncio.sleep(3)  # several sweeps later: nothing repeated, nothing for the other one
    assert (len(gateway.to(AT_GATEWAY)), len(box.to(EMAIL))) == (3, 3)
    assert gateway.to("6281399990000") == [] and box.to(OTHER_EMAIL) == []


async def test_no_applicant_message_is_sent_twice_across_a_killed_worker(
        app: Any, api: ApiClient, env: dict[str, str], mailbox: tuple[Mailbox, int],
        gateway: SmsGateway, workers: list[WorkerProcess], tmp_path: Path) -> None:
    """SIGKILL while the SMTP server holds its RCPT reply for the applicant's e-mail; the
    restarted worker (which re-reads the recent events) sends it once, and the SMS stays one."""
    box, _ = mailbox
    box.stall_at = "rcpt"
    first = start_worker(workers, env, tmp_path / "worker-1.log")
    await consenting_request(app, api)
    await eventually(box.stalled.is_set, timeout=20, what="the stalled SMTP server\n" +
                     first.output())
    # The SMS goes its own way; once its row says sent, the kill lands on the e-mail alone (a
    # kill inside an SMS request is the documented "may arrive twice" window,
    # workers/notify/outbox.py).
    await eventually(lambda: sms_sent(app), timeout=10, what="the SMS")
    first.kill()
    box.release()
    second = start_worker(workers, env, tmp_path / "worker-2.log")
    await eventually(lambda: box.to(EMAIL), timeout=LEASE_S + 15,
                     what="the e-mail from the restarted worker\n" + second.output())
    await asyncio.sleep(LEASE_S + 1.5)  # past another lease and many sweeps
    assert len(box.to(EMAIL)) == 1 and len(gateway.to(AT_GATEWAY)) == 1


async def test_an_applicant_sms_is_retried_while_the_gateway_is_down_and_sent_once(
        app: Any, api: ApiClient, env: dict[str, str], mailbox: tuple[Mailbox, int],
        gateway: SmsGateway, workers: list[WorkerProcess], tmp_path: Path) -> None:
    """The gateway answers 503 for a while: the row is retried (attempts grow, the error is
    kept), then, once the gateway is back, exactly one SMS arrives."""
    gateway.down_with = 503
    start_worker(workers, env, tmp_path / "worker.log")
    await consenting_request(app, api)

    async def retried() -> bool:
        async with db_of(app).read() as session:
            rows = (await session.exec(select(Notification).where(
                col(Notification.kind) == "applicant_registered",
                col(Notification.channel) == "sms"))).all()
        return len(rows) == 1 and rows[0].attempts >= 2 and rows[0].status == "pending" \
            and "503" in (rows[0].last_error or "")

    await eventually(retried, timeout=15, what="two failed attempts")
    gateway.down_with = None
    await eventually(lambda: sms_sent(app), timeout=15, what="the SMS once the gateway is back")
    await asyncio.sleep(2)
    assert len(gateway.to(AT_GATEWAY)) == 1 and len(box_of(mailbox).to(EMAIL)) == 1


def box_of(mailbox: tuple[Mailbox, int]) -> Mailbox:
    return mailbox[0]
