"""``POST /api/v1/sla/{clock_id}/ack``: a supervisor acknowledges an SLA breach once, for every
screen of the scope, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlmodel import select

from channels import names
from hub.auth.principal import Principal, load_principal
from hub.models import SlaClock, Staff, TaskEvent, utcnow
from hub.tasks import acknowledgements as sla_ack
from hub.tasks.commands import new_event_id
from tests.conftest import ApiClient
from tests.support.api import signed_api
from tests.support.dbstate import row_counts


@pytest.fixture
async def api(app: Any) -> AsyncIterator[ApiClient]:
    async with signed_api(app) as client:
        yield client


async def breach(app: Any, task_id: int, kind: str = "p1_pickup") -> int:
    """Mark the task's running ``kind`` clock breached now (as the SLA worker would); its id."""
    async with app.state.ctx.db.write() as session:
        clock = (await session.exec(select(SlaClock).where(
            SlaClock.task_id == task_id, SlaClock.kind == kind,
            SlaClock.state == "running"))).one()
        clock.breached_at = utcnow()
        session.add(clock)
    assert clock.id is not None
    return clock.id


async def p2_breach(api: ApiClient, app: Any) -> tuple[dict[str, Any], int]:
    """A task waiting at Pusdatin's P2 queue whose pickup deadline passed: reported to the
    Pusdatin supervisor, and seen by Barenbang's, whose scope holds Pusdatin."""
    task = await api.register()
    for action, body in (("claim", {}), ("dispose", {"unit": "pusdatin"})):
        r = await api.as_("p1-barenbang-1", "POST", f"/api/v1/tasks/{task['id']}/{action}",
                          json=body)
        assert r.status_code == 200, r.text
    return task, await breach(app, task["id"], "p2_pickup")


async def stream_events(app: Any, channel: str, event_type: str) -> list[dict[str, Any]]:
    entries = await app.state.ctx.redis.xrange(names.stream_key(channel))
    events = [json.loads("{" + fields["e"]) for _, fields in entries]
    return [e for e in events if e["type"] == event_type]


async def principal(app: Any, username: str) -> Principal:
    async with app.state.ctx.db.read() as session:
        staff = (await session.exec(select(Staff).where(Staff.username == username))).one()
        found = await load_principal(session, staff.id or 0, staff.session_epoch)
    assert found is not None
    return found


async def test_a_supervisor_acknowledges_a_breach_and_every_screen_of_the_scope_hears_it(
        api: ApiClient, app: Any) -> None:
    """200 with who and when; the clock keeps them, the task's history has the event, and
    sla.acknowledged is published on sup.barenbang and the task's channel."""
    task = await api.register()
    clock_id = await breach(app, task["id"])
    r = await api.as_("spv-barenbang", "POST", f"/api/v1/sla/{clock_id}/ack")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["recorded"] is True and body["task"]["code"] == task["code"]
    assert body["acknowledged_by"]["username"] == "spv-barenbang"
    assert body["clock"]["acknowledged_at"] == body["acknowledged_at"] is not None
    async with app.state.ctx.db.read() as session:
        clock = await session.get(SlaClock, clock_id)
        staff = (await session.exec(select(Staff).where(Staff.username == "spv-barenbang"))).one()
        events = (await session.exec(select(TaskEvent).where(
            TaskEvent.task_id == task["id"], TaskEvent.type == "sla.acknowledged"))).all()
    assert clock is not None and clock.acknowledged_by == staff.id
    assert clock.acknowledged_at is not None
    assert [e.actor_id for e in events] == [staff.id]
    for channel in ("sup.barenbang", f"task.{task['id']}"):
        published = await stream_events(app, channel, "sla.acknowledged")
        assert [e["id"] for e in published] == [events[0].event_id], channel
        data = published[0]["data"]
        assert data["clock"]["id"] == clock_id and data["task"]["id"] == task["id"]
        assert data["acknowledged_by"]["username"] == "spv-barenbang"
    assert await stream_events(app, "p1.barenbang", "sla.acknowledged") == []


async def test_acknowledging_again_keeps_the_first_who_and_when(api: ApiClient,
                                                              app: Any) -> None:
    """A repeat (by anyone allowed) answers 200 with the first acknowledgement, writes nothing."""
    task = await api.register()
    clock_id = await breach(app, task["id"])
    first = (await api.as_("spv-barenbang", "POST", f"/api/v1/sla/{clock_id}/ack")).json()
    before = await row_counts(app.state.ctx.db)
    for username in ("spv-barenbang", "admin"):
        again = await api.as_(username, "POST", f"/api/v1/sla/{clock_id}/ack")
        assert again.status_code == 200, again.text
        assert again.json()["recorded"] is False
        assert again.json()["acknowledged_at"] == first["acknowledged_at"]
        assert again.json()["acknowledged_by"]["username"] == "spv-barenbang"
    assert await row_counts(app.state.ctx.db) == before


async def test_only_a_supervisor_of_the_scope_or_an_admin_may_acknowledge(api: ApiClient,
                                                                          app: Any) -> None:
    """Desks and supervisors of other units get 403 and change nothing; an admin may."""
    task = await api.register()
    clock_id = await breach(app, task["id"])
    before = await row_counts(app.state.ctx.db)
    for username in ("p0-1", "p1-barenbang-1", "spv-binapenta", "spv-pusdatin"):
        r = await api.as_(username, "POST", f"/api/v1/sla/{clock_id}/ack")
        assert r.status_code == 403, (username, r.text)
        assert r.json()["error"]["code"] == "forbidden"
    assert await row_counts(app.state.ctx.db) == before
    r = await api.as_("admin", "POST", f"/api/v1/sla/{clock_id}/ack")
    assert r.status_code == 200 and r.json()["acknowledged_by"]["username"] == "admin"


async def test_an_unknown_clock_is_404_and_one_not_breached_is_409(api: ApiClient,
                                                                  app: Any) -> None:
    """No such clock: 404 not_found; a running clock before its deadline: 409 not_breached."""
    for path in ("/api/v1/sla/999999/ack", "/api/v1/sla/abc/ack"):
        r = await api.as_("spv-barenbang", "POST", path)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", path
    task = await api.register()
    clock_id = task["clocks"][0]["id"]
    r = await api.as_("spv-barenbang", "POST", f"/api/v1/sla/{clock_id}/ack")
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_breached"
    async with app.state.ctx.db.read() as session:
        clock = await session.get(SlaClock, clock_id)
    assert clock is not None and clock.acknowledged_at is None


async def test_two_supervisors_acknowledging_at_once_both_succeed_and_the_first_is_recorded(
        api: ApiClient, app: Any) -> None:
    """Pusdatin's and Barenbang's supervisors press at the same moment: both 200, one
    acknowledgement recorded, one event, and both answers name the same person."""
    task, clock_id = await p2_breach(api, app)
    answers = await asyncio.gather(*(api.as_(u, "POST", f"/api/v1/sla/{clock_id}/ack")
                                     for u in ("spv-pusdatin", "spv-barenbang")))
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    bodies = [a.json() for a in answers]
    assert sorted(b["recorded"] for b in bodies) == [False, True]
    winner = next(b for b in bodies if b["recorded"])["acknowledged_by"]["username"]
    assert {b["acknowledged_by"]["username"] for b in bodies} == {winner}
    assert len({b["acknowledged_at"] for b in bodies}) == 1
    async with app.state.ctx.db.read() as session:
        events = (await session.exec(select(TaskEvent).where(
            TaskEvent.task_id == task["id"], TaskEvent.type == "sla.acknowledged"))).all()
    assert len(events) == 1
    # Reported to Pusdatin: its supervisor channel carries it (Barenbang's screen follows it).
    assert len(await stream_events(app, "sup.pusdatin", "sla.acknowledged")) == 1


async def test_the_loser_of_a_race_finds_the_winner_recorded(api: ApiClient, app: Any) -> None:
    """While the first acknowledgement's transaction is still open, a second one waits for it
    (a row lock on PostgreSQL, the write lock on SQLite) and then records nothing."""
    db = app.state.ctx.db
    _, clock_id = await p2_breach(api, app)
    first_in = asyncio.Event()

    async def first() -> sla_ack.Acknowledgement:
        async with db.write() as session:
            ack = await sla_ack.acknowledge(session, await principal(app, "spv-pusdatin"),
                                            clock_id, utcnow(), new_event_id())
            first_in.set()
            await asyncio.sleep(0.3)  # still uncommitted while the second one tries
        return ack

    async def second() -> sla_ack.Acknowledgement:
        await first_in.wait()
        async with db.write() as session:
            return await sla_ack.acknowledge(session, await principal(app, "spv-barenbang"),
                                             clock_id, utcnow(), new_event_id())

    won, lost = await asyncio.gather(first(), second())
    assert won.recorded and not lost.recorded
    assert lost.by is not None and lost.by.username == "spv-pusdatin"
    assert lost.clock.acknowledged_at == won.clock.acknowledged_at
