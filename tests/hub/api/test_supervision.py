"""Supervisor actions through the JSON API on SQLite and PostgreSQL: each by an allowed and a
forbidden role, the error shapes, what history, outbox and clocks record, and two supervisors
acting on one request at once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlmodel import col, select

from hub.models import Outbox, Task
from tests.conftest import ApiClient
from tests.support.api import signed_api
from tests.support.dbstate import row_counts

P0, P1, P1B, SPV, ADM = "p0-1", "p1-barenbang-1", "p1-barenbang-2", "spv-barenbang", "admin"


@pytest.fixture
async def api(app: Any) -> AsyncIterator[ApiClient]:
    async with signed_api(app) as client:
        yield client


async def _post(api: ApiClient, user: str, path: str, **body: Any) -> Any:
    return await api.as_(user, "POST", path, json=body)


async def _claimed(api: ApiClient) -> tuple[dict[str, Any], str]:
    task = await api.register(P0)
    base = f"/api/v1/tasks/{task['id']}"
    r = await _post(api, P1, f"{base}/claim")
    assert r.status_code == 200, r.text
    return r.json(), base


async def _disposed(api: ApiClient) -> tuple[dict[str, Any], str]:
    _task, base = await _claimed(api)
    r = await _post(api, P1, f"{base}/dispose", unit="pusdatin")
    assert r.status_code == 200, r.text
    return r.json(), base


def _clocks(task: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [c for c in task["clocks"] if c["kind"] == kind]


async def _outbox_channels(app: Any, event_id: str) -> set[str]:
    async with app.state.ctx.db.read() as session:
        rows = await session.exec(select(Outbox).where(Outbox.event_id == event_id))
        return {r.channel for r in rows.all()}


async def test_supervisor_reassigns_a_claimed_request_to_another_desk(api: ApiClient,
                                                                     app: Any) -> None:
    """Reassign answers the task as GET does, with the new holder, the reason in the history,
    and the event on the desks', the supervisors' and the task's channels."""
    task, base = await _claimed(api)
    r = await _post(api, SPV, f"{base}/reassign", to=P1B, reason="Petugas sakit")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["assignee"]["username"]) == ("claimed", P1B)
    assert body["event"]["type"] == "task.reassigned"
    last = body["history"][-1]
    assert (last["type"], last["actor"]["username"]) == ("task.reassigned", SPV)
    assert (last["data"]["reason"], last["data"]["to"]) == ("Petugas sakit", P1B)
    got = await api.as_(P0, "GET", base)
    assert {k: v for k, v in got.json().items()} == {k: v for k, v in body.items()
                                                     if k != "event"}
    assert await _outbox_channels(app, body["event"]["id"]) == {
        "p0", "p1.barenbang", "sup.barenbang", f"task.{task['id']}"}
    r = await _post(api, P1B, f"{base}/dispose", unit="pusdatin")  # the new holder works it
    assert r.status_code == 200, r.text


async def test_release_restarts_the_pickup_clock_from_the_release(api: ApiClient) -> None:
    """The released request is queued again and a new P1 pickup clock runs from the release."""
    _task, base = await _claimed(api)
    r = await _post(api, ADM, f"{base}/release", reason="Petugas pulang")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["assignee"]) == ("queued", None)
    pickups = _clocks(body, "p1_pickup")
    assert [c["state"] for c in pickups] == ["met", "running"]
    assert pickups[1]["started_at"] == body["history"][-1]["at"]
    assert body["pickup_due_at"] == pickups[1]["due_at"]


async def test_supervisor_takes_a_request_over_and_completes_it(api: ApiClient) -> None:
    """The Eselon II unit's supervisor takes a queued request and completes it at that desk."""
    _task, base = await _disposed(api)
    r = await _post(api, "spv-pusdatin", f"{base}/takeover", reason="Antrean menumpuk")
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["assignee"]["username"]) == ("claimed", "spv-pusdatin")
    assert _clocks(r.json(), "p2_pickup")[0]["state"] == "met"
    r = await _post(api, "spv-pusdatin", f"{base}/complete", result="Data dikirim")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "completed"


async def test_reroute_moves_a_disposition_to_a_sibling_unit_and_its_clock(api: ApiClient,
                                                                          app: Any) -> None:
    """Re-routed to pusrenaker: the old pickup clock is cancelled, the new unit's runs, and
    both Eselon II channels hear it."""
    task, base = await _disposed(api)
    r = await _post(api, SPV, f"{base}/reroute", unit="pusrenaker", reason="Salah unit")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["unit"], body["eselon2"], body["status"]) == ("pusrenaker", "pusrenaker",
                                                               "queued")
    assert [(c["unit"], c["state"]) for c in _clocks(body, "p2_pickup")] == [
        ("pusdatin", "cancelled"), ("pusrenaker", "running")]
    assert {"p2.pusdatin", "p2.pusrenaker", "sup.pusdatin", "sup.pusrenaker",
            "sup.barenbang"} <= await _outbox_channels(app, body["event"]["id"])
    r = await _post(api, "p2-pusdatin-1", f"{base}/claim")
    assert r.status_code == 403
    r = await _post(api, "p2-pusrenaker-1", f"{base}/claim")
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(("user", "action", "body", "status", "code"), [
    (P1B, "reassign", {"to": P1B, "reason": "x"}, 403, "forbidden"),  # a desk, not a supervisor
    (P1, "release", {"reason": "x"}, 403, "forbidden"),
    ("spv-binapenta", "release", {"reason": "x"}, 403, "forbidden"),  # another Eselon I
    (P0, "reroute", {"unit": "pusrenaker", "reason": "x"}, 403, "forbidden"),
    (ADM, "takeover", {"reason": "x"}, 403, "forbidden"),  # admins do not work requests
    (SPV, "release", {}, 422, "invalid"),  # a reason is required
    (SPV, "release", {"reason": "   "}, 422, "invalid"),
    (SPV, "reassign", {"to": "nobody-here", "reason": "x"}, 422, "invalid"),
    (SPV, "reassign", {"to": "p2-pusdatin-1", "reason": "x"}, 422, "invalid"),
    (SPV, "reassign", {"to": P1, "reason": "x"}, 409, "already_assigned"),
    (SPV, "reroute", {"unit": "pusrenaker", "reason": "x"}, 409, "transition_not_allowed"),
])
async def test_refused_supervisor_action_changes_nothing(
        api: ApiClient, app: Any, user: str, action: str, body: dict[str, Any], status: int,
        code: str) -> None:
    """A forbidden role or bad input is refused in the error shape and nothing is stored."""
    task, base = await _claimed(api)
    before = await row_counts(app.state.ctx.db)
    r = await _post(api, user, f"{base}/{action}", **body)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code and error["message"]
    assert await row_counts(app.state.ctx.db) == before
    got = await api.as_(P0, "GET", base)
    assert got.json()["version"] == task["version"]


async def test_unknown_task_is_404_and_malformed_body_400(api: ApiClient) -> None:
    """A task that does not exist is 404; a body that is not JSON is 400 bad_json."""
    r = await _post(api, SPV, "/api/v1/tasks/99999/release", reason="x")
    assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found")
    r = await api.as_(SPV, "POST", "/api/v1/tasks/1/release", content=b"{nope")
    assert (r.status_code, r.json()["error"]["code"]) == (400, "bad_json")


async def test_two_supervisors_at_once_one_wins_the_other_hears_who_did_what(
        api: ApiClient, app: Any) -> None:
    """Reassign and release race on one version: one 200, one 409 naming the winner's act."""
    task, base = await _claimed(api)
    version = task["version"]
    jobs = [_post(api, SPV, f"{base}/reassign", to=P1B, reason="A", version=version),
            _post(api, ADM, f"{base}/release", reason="B", version=version)]
    results = await asyncio.gather(*jobs)
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 409], [r.text for r in results]
    won = next(r for r in results if r.status_code == 200).json()
    lost = next(r for r in results if r.status_code == 409).json()["error"]
    winner = won["history"][-1]
    verb = {"task.reassigned": "reassigned", "task.released": "released"}[winner["type"]]
    assert lost["by"] == winner["actor"]["username"]
    assert lost["last_event"] == winner["type"]
    assert f"(last change: {verb} by {winner['actor']['name']}" in lost["message"]
    async with app.state.ctx.db.read() as session:
        row = await session.get(Task, task["id"])
        events = (await session.exec(select(Outbox.type).where(
            col(Outbox.type).in_(("task.reassigned", "task.released"))))).all()
    assert row is not None and row.version == version + 1
    assert len(set(events)) == 1


async def test_release_of_an_already_released_request_names_who_released_it(
        api: ApiClient) -> None:
    """The second of two releases, one after the other, is a 409 naming the first."""
    _task, base = await _claimed(api)
    r = await _post(api, SPV, f"{base}/release", reason="pertama")
    assert r.status_code == 200
    r = await _post(api, ADM, f"{base}/release", reason="kedua")
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["by"] == SPV and "(last change: released by" in error["message"]
    assert json.dumps(error)  # plain JSON all the way
