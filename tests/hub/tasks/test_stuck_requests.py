"""The three ways a request got stuck with nobody able to move it (issue 11), on SQLite and
PostgreSQL: a desk that claimed it went home, a desk that claimed it was deactivated, and a
disposition to an Eselon II unit that has no active P2 desk."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from hub.models import SlaClock, Staff, Task
from tests.conftest import ApiClient
from tests.support.api import signed_api

P0, P1, P1B, SPV = "p0-1", "p1-barenbang-1", "p1-barenbang-2", "spv-barenbang"


@pytest.fixture
async def api(app: Any) -> AsyncIterator[ApiClient]:
    async with signed_api(app) as client:
        yield client


async def _claimed_by_p1(api: ApiClient) -> dict[str, Any]:
    task = await api.register(P0)
    r = await api.as_(P1, "POST", f"/api/v1/tasks/{task['id']}/claim")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_request_claimed_by_an_absent_colleague_can_be_released_and_claimed_again(
        api: ApiClient) -> None:
    """The supervisor releases a request its claimer left; another desk of the unit claims it."""
    task = await _claimed_by_p1(api)
    base = f"/api/v1/tasks/{task['id']}"
    r = await api.as_(P1B, "POST", f"{base}/claim")
    assert r.status_code == 409  # the stuck state: only the absent claimer could act
    r = await api.as_(SPV, "POST", f"{base}/release", json={"reason": "Petugas sakit"})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["assignee"]) == ("queued", None)
    r = await api.as_(P1B, "POST", f"{base}/claim")
    assert r.status_code == 200, r.text
    assert r.json()["assignee"]["username"] == P1B


async def test_deactivating_a_desk_returns_its_claimed_requests_to_the_unit_queue(
        api: ApiClient, app: Any) -> None:
    """A deactivated desk's claimed request goes back to its queue with a fresh pickup clock."""
    from web.admin_ops import set_staff_active

    task = await _claimed_by_p1(api)
    async with app.state.ctx.db.read() as session:
        staff = (await session.exec(select(Staff).where(Staff.username == P1))).one()
    await set_staff_active(app.state.ctx, staff.id or 0, False)
    r = await api.as_(P0, "GET", f"/api/v1/tasks/{task['id']}")
    detail = r.json()
    assert (detail["status"], detail["assignee"]) == ("queued", None)
    assert detail["history"][-1]["type"] == "task.released"
    running = [c for c in detail["clocks"] if c["kind"] == "p1_pickup" and c["state"] == "running"]
    assert len(running) == 1
    r = await api.as_(P1B, "POST", f"/api/v1/tasks/{task['id']}/claim")
    assert r.status_code == 200, r.text


async def test_disposition_to_a_unit_without_an_active_desk_is_refused_naming_the_unit(
        api: ApiClient, app: Any) -> None:
    """puslitbang has no P2 desk: disposing there is a 422 that names it, and nothing changes."""
    task = await _claimed_by_p1(api)
    r = await api.as_(P1, "POST", f"/api/v1/tasks/{task['id']}/dispose",
                      json={"unit": "puslitbang"})
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["field"] == "unit" and "puslitbang" in error["message"]
    async with app.state.ctx.db.read() as session:
        row = await session.get(Task, task["id"])
        assert row is not None
        assert (row.status, row.level, row.version) == ("claimed", "p1", task["version"])


async def test_request_already_sitting_at_an_unstaffed_unit_is_rerouted_by_the_supervisor(
        api: ApiClient, app: Any) -> None:
    """A request disposed to puslitbang before the rule existed is re-routed to pusdatin."""
    task = await _claimed_by_p1(api)
    r = await api.as_(P1, "POST", f"/api/v1/tasks/{task['id']}/dispose", json={"unit": "pusdatin"})
    assert r.status_code == 200, r.text
    async with app.state.ctx.db.write() as session:  # as an older release left it
        await session.exec(update(Task).where(col(Task.id) == task["id"]).values(
            unit_code="puslitbang", eselon2="puslitbang"))
        await session.exec(update(SlaClock).where(
            col(SlaClock.task_id) == task["id"], SlaClock.kind == "p2_pickup").values(
            unit_code="puslitbang"))
    r = await api.as_(SPV, "POST", f"/api/v1/tasks/{task['id']}/reroute",
                      json={"unit": "pusdatin", "reason": "Puslitbang belum punya petugas"})
    assert r.status_code == 200, r.text
    assert (r.json()["unit"], r.json()["status"]) == ("pusdatin", "queued")
    r = await api.as_("p2-pusdatin-1", "POST", f"/api/v1/tasks/{task['id']}/claim")
    assert r.status_code == 200, r.text
