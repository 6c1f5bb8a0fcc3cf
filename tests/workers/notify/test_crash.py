"""A ``ptsa worker`` process SIGKILLed in the middle of sending a breach e-mail, then restarted.

The SMTP server stalls its reply at a chosen step so the kill lands exactly there:

* at RCPT, before DATA (the row is ``sending``): nothing can have been delivered, and the restarted
  worker sends the e-mail exactly once;
* inside DATA, after the server has the message (the row is ``delivering``): no protocol tells the
  worker whether the server kept it, so it sends again with the same Message-ID — the documented
  limit of "exactly once" (workers/notify/outbox.py, docs/OPERATIONS.md).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ApiClient
from tests.support.mailbox import Mailbox
from tests.support.sla import (
    SUPERVISOR_EMAIL,
    db_of,
    notifications,
)
from tests.support.sms_gateway import SmsGateway
from tests.support.worker import WorkerProcess, eventually
from workers.notify.outbox import CRASHED_BEFORE, CRASHED_DURING

LEASE_S = 4.0  # PTSA_NOTIFY_LEASE in tests.support.sla.sla_env


@pytest.fixture
def workers(env: dict[str, str], tmp_path: Path) -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for process in started:
        process.stop()


def start_worker(workers: list[WorkerProcess], env: dict[str, str], log: Path) -> WorkerProcess:
    process = WorkerProcess(env, log)
    process.start()
    workers.append(process)
    return process


async def email_row(app: Any, task_id: int) -> Any:
    rows = [n for n in await notifications(db_of(app), task_id) if n.channel == "email"]
    return rows[0] if rows else None


async def sms_sent(app: Any, task_id: int) -> bool:
    return any(n.channel == "sms" and n.status == "sent"
               for n in await notifications(db_of(app), task_id))


async def kill_mid_send(app: Any, api: ApiClient, env: dict[str, str], box: Mailbox,
                        gateway: SmsGateway, workers: list[WorkerProcess], tmp_path: Path,
                        stall_at: str) -> tuple[dict[str, Any], WorkerProcess]:
    """Register a task, let the worker stall at ``stall_at``, SIGKILL it, restart a worker."""
    box.stall_at = stall_at
    first = start_worker(workers, env, tmp_path / "worker-1.log")
    task = await api.register()
    await eventually(box.stalled.is_set, timeout=20, what=f"the SMTP server stalled at {stall_at}")
    # The SMS goes its own way; let it be recorded as sent so the kill lands on the e-mail alone.
    await eventually(lambda: sms_sent(app, task["id"]), timeout=10, what="the SMS")
    first.kill()
    box.release()  # the server answers a client that is gone
    second = start_worker(workers, env, tmp_path / "worker-2.log")
    return task, second


async def test_worker_killed_before_data_sends_exactly_one_email(
        app: Any, api: ApiClient, env: dict[str, str], mailbox: tuple[Mailbox, int],
        gateway: SmsGateway, workers: list[WorkerProcess], tmp_path: Path) -> None:
    """SIGKILL while the server holds its RCPT reply; after restart exactly one e-mail arrives."""
    box, _ = mailbox
    task, second = await kill_mid_send(app, api, env, box, gateway, workers, tmp_path, "rcpt")
    row = await email_row(app, task["id"])
    assert row.status == "sending"  # killed before the point of no return
    await eventually(lambda: box.to(SUPERVISOR_EMAIL), timeout=LEASE_S + 15,
                     what="the e-mail from the restarted worker\n" + second.output())
    await asyncio.sleep(LEASE_S + 1.5)  # past another lease: nothing else is coming
    assert len(box.to(SUPERVISOR_EMAIL)) == 1
    row = await email_row(app, task["id"])
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, CRASHED_BEFORE)
    assert len(gateway.messages) == 1


async def test_worker_killed_inside_data_resends_with_the_same_message_id(
        app: Any, api: ApiClient, env: dict[str, str], mailbox: tuple[Mailbox, int],
        gateway: SmsGateway, workers: list[WorkerProcess], tmp_path: Path) -> None:
    """SIGKILL after the server has the message: resent (possible duplicate), same Message-ID."""
    box, _ = mailbox
    task, second = await kill_mid_send(app, api, env, box, gateway, workers, tmp_path, "data")
    row = await email_row(app, task["id"])
    assert row.status == "delivering"  # killed past the point of no return
    await eventually(lambda: len(box.to(SUPERVISOR_EMAIL)) == 2, timeout=LEASE_S + 15,
                     what="the resent e-mail\n" + second.output())
    await asyncio.sleep(LEASE_S + 1.5)
    received = box.to(SUPERVISOR_EMAIL)
    assert len(received) == 2 and received[0].message_id == received[1].message_id
    row = await email_row(app, task["id"])
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, CRASHED_DURING)


async def phone_of(app: Any, username: str) -> str:
    from sqlmodel import select

    from hub.models import Staff
    from workers.notify.sms import normalise_phone

    async with db_of(app).read() as session:
        staff = (await session.exec(select(Staff).where(Staff.username == username))).one()
    return normalise_phone(staff.phone or "")


async def sms_row(app: Any, task_id: int) -> Any:
    return next(n for n in await notifications(db_of(app), task_id) if n.channel == "sms")


@pytest.mark.slow
async def test_worker_killed_while_the_gateway_holds_the_sms_resends_it_with_the_same_ref(
        app: Any, api: ApiClient, env: dict[str, str], mailbox: tuple[Mailbox, int],
        gateway: SmsGateway, workers: list[WorkerProcess], tmp_path: Path) -> None:
    """SIGKILL while the gateway holds the SMS request open: a second worker takes the row over
    within seconds (default lease) and sends it again with the same reference — the documented
    at-least-once limit, which a gateway that de-duplicates by {ref} turns into one SMS."""
    box, _ = mailbox
    env = {k: v for k, v in env.items() if k != "PTSA_NOTIFY_LEASE"}  # the default: 5 s
    env["PTSA_SMS_FIELDS"] = "number={phone}&message={text}&ref={ref}"
    phone = await phone_of(app, "spv-barenbang")
    gateway.hold()
    first = start_worker(workers, env, tmp_path / "worker-1.log")
    task = await api.register()
    await eventually(gateway.held.is_set, timeout=20, what="the gateway holding the SMS")
    await eventually(lambda: box.to(SUPERVISOR_EMAIL), timeout=10, what="the e-mail")
    row = await sms_row(app, task["id"])
    assert row.status == "delivering"  # the request is out: past the point of no return
    first.kill()
    killed = time.monotonic()
    gateway.release()  # the gateway answers a client that is gone
    survivor = start_worker(workers, env, tmp_path / "worker-2.log")
    await eventually(lambda: len(gateway.to(phone)) == 2, timeout=20,
                     what="the resent SMS\n" + survivor.output())
    assert time.monotonic() - killed < 10, "taken over after the lease, not a minute"
    await eventually(lambda: sms_sent(app, task["id"]), timeout=5, what="the SMS marked sent")
    await asyncio.sleep(3)
    sent = gateway.to(phone)
    assert len(sent) == 2 and sent[0].ref == sent[1].ref and sent[0].ref.startswith("ptsa.n")
    row = await sms_row(app, task["id"])
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, CRASHED_DURING)
    assert len(box.to(SUPERVISOR_EMAIL)) == 1


@pytest.mark.slow
async def test_a_live_worker_keeps_a_slow_sms_past_its_lease(
        app: Any, api: ApiClient, env: dict[str, str], gateway: SmsGateway,
        workers: list[WorkerProcess], tmp_path: Path) -> None:
    """A gateway answering after two leases: the sender renews its lease, so the second worker
    never takes the row over and the SMS goes once."""
    phone = await phone_of(app, "spv-barenbang")
    gateway.hold()
    start_worker(workers, env, tmp_path / "worker-1.log")
    start_worker(workers, env, tmp_path / "worker-2.log")
    task = await api.register()
    await eventually(gateway.held.is_set, timeout=20, what="the gateway holding the SMS")
    await asyncio.sleep(2 * LEASE_S)  # within the SMS client's own 10 s timeout
    gateway.release()
    await eventually(lambda: sms_sent(app, task["id"]), timeout=10, what="the SMS marked sent")
    await asyncio.sleep(2)
    assert len(gateway.to(phone)) == 1
    row = await sms_row(app, task["id"])
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, None)


async def test_worker_stopped_mid_send_finishes_the_send_before_it_exits(
        app: Any, api: ApiClient, env: dict[str, str], mailbox: tuple[Mailbox, int],
        gateway: SmsGateway, workers: list[WorkerProcess], tmp_path: Path) -> None:
    """SIGTERM (a deploy, ``systemctl stop``) while the server has the message but holds its
    reply: the worker lets the send finish and records it before it exits (hub/background.py),
    so the next worker has nothing to resend. Cancelling it there, as before, left the row
    ``delivering`` and the e-mail was sent twice."""
    box, _ = mailbox
    box.stall_at = "data"
    first = start_worker(workers, env, tmp_path / "worker-1.log")
    task = await api.register()
    await eventually(box.stalled.is_set, timeout=20, what="the SMTP server stalled at data")
    await eventually(lambda: sms_sent(app, task["id"]), timeout=10, what="the SMS")
    stopping = asyncio.create_task(asyncio.to_thread(first.stop))
    await asyncio.sleep(1.0)  # the worker is shutting down, the send still in progress
    box.release()
    await stopping
    assert first.proc is not None and first.proc.returncode == 0, first.output()
    row = await email_row(app, task["id"])
    assert (row.status, row.attempts) == ("sent", 1), first.output()
    second = start_worker(workers, env, tmp_path / "worker-2.log")
    await asyncio.sleep(LEASE_S + 1.5)  # past a lease: a row left in flight would be resent
    assert len(box.to(SUPERVISOR_EMAIL)) == 1, second.output()
