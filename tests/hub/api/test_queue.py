"""The hall queue through its API, on SQLite and PostgreSQL: device tokens, ticket numbering
under concurrency and across days, calls at the counters, refusals, the waiting KPI."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from hub.models import CalendarDay, Device, QueueTicket
from hub.queue import hall_queue
from hub.queue.devices import add_device, revoke_device
from tests.conftest import ApiClient, make_settings


async def _device(app: Any, name: str, kind: str = "kiosk") -> dict[str, str]:
    _, token = await add_device(app.state.ctx.db, name, kind)
    return {"Authorization": f"Device {token}"}


async def test_fifty_tickets_from_five_kiosks_get_fifty_distinct_consecutive_numbers(
        app: Any, api: ApiClient) -> None:
    """50 taps at once, 10 on each of 5 kiosks, give A-001 … A-050, each exactly once."""
    kiosks = [await _device(app, f"kiosk-{n}") for n in range(5)]

    async def tap(headers: dict[str, str]) -> httpx.Response:
        return await api.http.post("/api/v1/queue/tickets", json={"group": "A"}, headers=headers)

    answers = await asyncio.gather(*(tap(kiosks[i % 5]) for i in range(50)))
    assert [a.status_code for a in answers] == [201] * 50, [a.text for a in answers if
                                                             a.status_code != 201][:3]
    numbers = sorted(a.json()["number"] for a in answers)
    assert numbers == [f"A-{n:03d}" for n in range(1, 51)]
    async with app.state.ctx.db.read() as session:
        stored = (await session.exec(select(QueueTicket.number))).all()
    assert sorted(stored) == numbers
    assert sorted(a.json()["ahead"] for a in answers) == list(range(50))


async def test_numbering_restarts_on_the_next_working_day(app: Any) -> None:
    """Two tickets today are A-001 and A-002; the first one tomorrow (Jakarta) is A-001 again,
    and group B counts on its own."""
    hall = hall_queue(app.state.ctx)
    today = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
    first = await hall.take("A", now=today)
    second = await hall.take("A", now=today + timedelta(minutes=1))
    other = await hall.take("B", now=today + timedelta(minutes=2))
    # 17:30 UTC is 00:30 the next day in Jakarta.
    tomorrow = await hall.take("A", now=datetime(2026, 11, 26, 17, 30, tzinfo=UTC))
    assert [first["number"], second["number"], other["number"], tomorrow["number"]] == \
        ["A-001", "A-002", "B-001", "A-001"]
    assert (first["day"], tomorrow["day"]) == ("20261126", "20261127")
    assert second["ahead"] == 1 and tomorrow["ahead"] == 0


async def test_a_ticket_tells_the_people_ahead_and_the_wait_from_todays_calls(
        app: Any) -> None:
    """With calls every 4 minutes over the last 20 minutes, 3 ahead wait 12 minutes."""
    hall = hall_queue(app.state.ctx)
    start = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
    for n in range(8):
        await hall.take("A", now=start + timedelta(seconds=n))
    for n in range(5):  # calls at 02:04, 02:08, ... 02:20
        await hall.call("loket-1", 1, now=start + timedelta(minutes=4 * (n + 1)))
    ticket = await hall.take("A", now=start + timedelta(minutes=20))
    assert ticket["ahead"] == 3
    # 5 calls over the 16 minutes since the first: 0.3125 a minute → ceil(3 / 0.3125) = 10.
    assert ticket["estimated_wait_minutes"] == 10


async def test_two_counters_call_in_turn_and_an_empty_queue_says_so(app: Any,
                                                                    api: ApiClient) -> None:
    """loket-1 gets A-001, loket-2 A-002; a third call answers 409 queue_empty; the state
    lists the last call of each counter."""
    kiosk = await _device(app, "kiosk-lobi")
    for _ in range(2):
        assert (await api.http.post("/api/v1/queue/tickets", json={"group": "A"},
                                    headers=kiosk)).status_code == 201
    first = await api.as_("p0-1", "POST", "/api/v1/queue/call", json={"counter": "loket-1"})
    second = await api.as_("p0-2", "POST", "/api/v1/queue/call", json={"counter": "loket-2"})
    assert (first.status_code, first.json()["number"], first.json()["counter"]) == \
        (200, "A-001", "loket-1")
    assert second.json()["number"] == "A-002"
    assert second.json()["announcement"] == "Nomor antrean A dua, silakan ke loket dua"
    empty = await api.as_("p0-1", "POST", "/api/v1/queue/call", json={"counter": "loket-1"})
    assert empty.status_code == 409
    assert empty.json()["error"]["code"] == "queue_empty"
    state = (await api.as_("spv-ptsa", "GET", "/api/v1/queue")).json()
    by_counter = {c["counter"]: c["ticket"] and c["ticket"]["number"] for c in state["counters"]}
    assert by_counter["loket-1"] == "A-001" and by_counter["loket-2"] == "A-002"
    assert {g["code"]: g["waiting"] for g in state["groups"]} == {"A": 0, "B": 0, "C": 0}


async def test_concurrent_calls_never_give_one_applicant_to_two_counters(
        app: Any, api: ApiClient) -> None:
    """Ten counters' calls at once for six waiting tickets: six distinct tickets, four empty."""
    hall = hall_queue(app.state.ctx)
    for _ in range(6):
        await hall.take("B")
    answers = await asyncio.gather(*(api.as_("p0-1", "POST", "/api/v1/queue/call",
                                             json={"counter": f"loket-{1 + n % 4}"})
                                     for n in range(10)))
    called = [a.json()["number"] for a in answers if a.status_code == 200]
    assert sorted(called) == [f"B-{n:03d}" for n in range(1, 7)]
    assert sum(a.status_code == 409 for a in answers) == 4


async def test_a_no_show_may_come_back_once_and_a_ticket_can_move_to_another_group(
        app: Any, api: ApiClient) -> None:
    """Skip → no_show; return → waiting again; a second return is refused; transfer moves the
    waiting ticket to group C keeping its number; recall counts the call."""
    hall = hall_queue(app.state.ctx)
    await hall.take("A")
    called = (await api.as_("p0-1", "POST", "/api/v1/queue/call",
                            json={"counter": "loket-1"})).json()
    base = f"/api/v1/queue/tickets/{called['id']}"
    recalled = await api.as_("p0-1", "POST", f"{base}/recall")
    assert recalled.json()["calls"] == 2
    assert (await api.as_("p0-1", "POST", f"{base}/skip")).json()["status"] == "no_show"
    back = await api.as_("p0-1", "POST", f"{base}/return")
    assert (back.json()["status"], back.json()["returns"]) == ("waiting", 1)
    await api.as_("p0-1", "POST", "/api/v1/queue/call", json={"counter": "loket-1"})
    await api.as_("p0-1", "POST", f"{base}/skip")
    again = await api.as_("p0-1", "POST", f"{base}/return")
    assert again.status_code == 409 and again.json()["error"]["code"] == "ticket_state"
    moved_ticket = await hall.take("A")
    moved = await api.as_("p0-1", "POST", f"/api/v1/queue/tickets/{moved_ticket['id']}/transfer",
                          json={"group": "C"})
    assert (moved.json()["number"], moved.json()["group"]) == ("A-002", "C")
    only_b = await api.as_("p0-1", "POST", "/api/v1/queue/call", json={"counter": "loket-4"})
    assert only_b.json()["number"] == "A-002"  # loket-4 serves B and C


async def test_unknown_and_revoked_device_tokens_are_refused(app: Any, api: ApiClient) -> None:
    """A made-up token and a revoked one get 401 with their own codes, and store nothing; a
    display token cannot take tickets."""
    unknown = await api.http.post("/api/v1/queue/tickets", json={"group": "A"},
                                  headers={"Authorization": "Device ptsa-dev-made-up"})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (401, "device_unknown")
    device, token = await add_device(app.state.ctx.db, "kiosk-old", "kiosk")
    await revoke_device(app.state.ctx.db, device.id or 0)
    revoked = await api.http.post("/api/v1/queue/tickets", json={"group": "A"},
                                  headers={"Authorization": f"Device {token}"})
    assert (revoked.status_code, revoked.json()["error"]["code"]) == (401, "device_revoked")
    display = await _device(app, "layar-1", "display")
    refused = await api.http.post("/api/v1/queue/tickets", json={"group": "A"}, headers=display)
    assert refused.status_code == 403
    async with app.state.ctx.db.read() as session:
        assert (await session.exec(select(QueueTicket))).all() == []


async def test_bad_queue_input_is_refused_with_a_clear_error(app: Any, api: ApiClient) -> None:
    """Unknown group, unknown counter, a P1 calling and a missing ticket each get their 4xx."""
    bad_group = await api.as_("p0-1", "POST", "/api/v1/queue/tickets", json={"group": "Z"})
    assert (bad_group.status_code, bad_group.json()["error"]["field"]) == (422, "group")
    bad_counter = await api.as_("p0-1", "POST", "/api/v1/queue/call", json={"counter": "x"})
    assert (bad_counter.status_code, bad_counter.json()["error"]["field"]) == (422, "counter")
    p1 = await api.as_("p1-barenbang-1", "POST", "/api/v1/queue/call",
                       json={"counter": "loket-1"})
    assert p1.status_code == 403
    missing = await api.as_("p0-1", "POST", "/api/v1/queue/tickets/999/skip")
    assert missing.status_code == 404
    anonymous = await api.http.post("/api/v1/queue/tickets", json={"group": "A"})
    assert anonymous.status_code == 401


async def test_a_ticket_on_a_closed_day_is_refused_with_the_next_opening(
        database_url: str, redis_url: str, tmp_path: Any) -> None:
    """On the office calendar, today made a holiday by the admin: 409 closed, with the next
    opening at 08:00 Jakarta on a later day, and no ticket stored."""
    from config.catalog import load_catalog
    from config.seed import seed
    from hub.app import create_app
    from hub.db import Database

    settings = make_settings(database_url, redis_url, tmp_path, PTSA_CALENDAR="office")
    db = Database(settings.database_url)
    await db.create_schema()
    await seed(db, load_catalog(), demo=False)
    today = datetime.now(settings.tz).date()
    async with db.write() as session:
        session.add(CalendarDay(day=today, kind="holiday", name="Uji libur"))
    _, token = await add_device(db, "kiosk-libur", "kiosk")
    await db.dispose()
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            answer = await client.post("/api/v1/queue/tickets", json={"group": "A"},
                                       headers={"Authorization": f"Device {token}"})
        assert answer.status_code == 409
        error = answer.json()["error"]
        assert error["code"] == "closed"
        opens = datetime.fromisoformat(error["next_open"].replace("Z", "+00:00"))
        local = opens.astimezone(settings.tz)
        assert local.date() > today and (local.hour, local.minute) == (8, 0)
        async with application.state.ctx.db.read() as session:
            assert (await session.exec(select(QueueTicket))).all() == []


async def test_the_waiting_kpi_and_overdue_count_follow_hand_worked_waits(app: Any) -> None:
    """Tickets at 09:00, 09:05, 09:10 called at 09:20, 09:50, 10:00 (waits 20, 45, 50 min;
    target 30): average 38.3, 1 within, 2 over; at 10:00 a ticket taken at 09:25 is overdue."""
    hall = hall_queue(app.state.ctx)
    jkt = app.state.ctx.settings.tz
    at = lambda h, m: datetime(2026, 11, 26, h, m, tzinfo=jkt)  # noqa: E731
    for h, m in ((9, 0), (9, 5), (9, 10)):
        await hall.take("A", now=at(h, m))
    for h, m in ((9, 20), (9, 50), (10, 0)):
        await hall.call("loket-1", 1, now=at(h, m))
    await hall.take("B", now=at(9, 25))
    await hall.take("B", now=at(9, 45))
    state = await hall.snapshot(now=at(10, 0))
    assert state["kpi"]["called"] == 3
    assert state["kpi"]["average_wait_minutes"] == 38.3
    assert (state["kpi"]["within_target"], state["kpi"]["over_target"]) == (1, 2)
    assert state["overdue"] == 1 and state["wait_target_minutes"] == 30


async def test_device_tokens_are_stored_only_as_hashes(app: Any) -> None:
    """The token printed once is nowhere in the devices table."""
    _, token = await add_device(app.state.ctx.db, "kiosk-hash", "kiosk")
    async with app.state.ctx.db.read() as session:
        device = (await session.exec(select(Device).where(col(Device.name) == "kiosk-hash"))).one()
    assert token not in device.token_hash and len(device.token_hash) == 64


async def test_a_hall_display_may_follow_only_the_hall_channel(app: Any) -> None:
    """A display reads ``hall`` and nothing else; P0 and the front office's penyelia read it
    too; a P1 does not."""
    from channels.permissions import may_subscribe
    from hub.auth.principal import load_principal
    from hub.models import Staff
    from hub.queue.devices import device_principal

    device, _ = await add_device(app.state.ctx.db, "layar-1", "display")
    display = device_principal(device)

    async def visible(*_: Any) -> bool:  # even a task everyone may see stays closed to it
        return True

    assert await may_subscribe(display, "hall", visible)
    for other in ("p0", "p1.barenbang", "task.1", "user.device-1", "sup.ptsa"):
        assert not await may_subscribe(display, other, visible)
    async with app.state.ctx.db.read() as session:
        people = {s.username: s for s in (await session.exec(select(Staff))).all()}
        allowed = {}
        for name in ("p0-1", "spv-ptsa", "p1-barenbang-1", "spv-barenbang"):
            principal = await load_principal(session, people[name].id or 0, 0)
            assert principal is not None
            allowed[name] = await may_subscribe(principal, "hall", visible)
    assert allowed == {"p0-1": True, "spv-ptsa": True, "p1-barenbang-1": False,
                       "spv-barenbang": False}


def test_ptsa_device_add_prints_the_token_once_and_revoke_refuses_it(
        database_url: str, redis_url: str, tmp_path: Any) -> None:
    """``ptsa device add`` prints a token that signs the device in (hash stored, not the token);
    ``ptsa device revoke`` makes it refused; a bad kind is refused by the command line."""
    import subprocess
    import sys

    from config.settings import PROJECT_ROOT

    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "PTSA_VAR_DIR": str(tmp_path / "var")}

    def ptsa(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "hub.cli", "device", *args], env=env,
                              capture_output=True, text=True, cwd=PROJECT_ROOT)

    added = ptsa("add", "kiosk-lobi-1", "--kind", "kiosk")
    assert added.returncode == 0, added.stderr
    token = next(line for line in added.stdout.splitlines() if line.startswith("ptsa-dev-"))
    assert f"/antrean?token={token}" in added.stdout
    settings = make_settings(database_url, redis_url, tmp_path)

    async def check(expected: str | None) -> None:
        from hub.db import Database
        from hub.errors import NotAuthenticated
        from hub.queue.devices import device_for_token

        db = Database(settings.database_url)
        try:
            if expected is None:
                assert (await device_for_token(db, token, "kiosk")).name == "kiosk-lobi-1"
            else:
                with pytest.raises(NotAuthenticated) as refused:
                    await device_for_token(db, token, "kiosk")
                assert refused.value.code == expected
            async with db.read() as session:
                stored = (await session.exec(select(Device))).one()
            assert token not in stored.token_hash
        finally:
            await db.dispose()

    asyncio.run(check(None))
    assert ptsa("add", "kiosk-lobi-1", "--kind", "kiosk").returncode == 2  # name taken
    assert ptsa("add", "tv-1", "--kind", "tv").returncode == 2  # argparse: bad choice
    revoked = ptsa("revoke", "1")
    assert revoked.returncode == 0 and "revoked kiosk kiosk-lobi-1" in revoked.stdout
    asyncio.run(check("device_revoked"))
