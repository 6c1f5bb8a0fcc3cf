"""The whole path of a request through the JSON API, on SQLite and PostgreSQL: P0 registers, P1
claims and disposes, P2 claims, holds, resumes, messages and completes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from hub.models import Outbox, utcnow
from tests.conftest import ApiClient
from tests.support.api import signed_api

P0, P1, P2 = "p0-1", "p1-barenbang-1", "p2-pusdatin-1"


@pytest.fixture
async def api(app: Any) -> AsyncIterator[ApiClient]:
    """Demo users with signed tokens (signing in itself is tested in test_api_auth.py)."""
    async with signed_api(app) as client:
        yield client


def _at(text: str | None) -> datetime:
    assert text is not None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _clock(task: dict[str, Any], kind: str) -> dict[str, Any]:
    found = [c for c in task["clocks"] if c["kind"] == kind]
    assert len(found) == 1, task["clocks"]
    return found[0]


async def _ok(api: ApiClient, user: str, path: str, **body: Any) -> dict[str, Any]:
    r = await api.as_(user, "POST", path, json=body)
    assert r.status_code in (200, 201), r.text
    return r.json()  # type: ignore[no-any-return]


async def test_request_travels_from_front_office_to_completion(api: ApiClient, app: Any) -> None:
    """Every step is accepted, changes state and clocks as the SOP says, and is in the history."""
    began = utcnow()
    task = await api.register(P0)
    tid, base = task["id"], f"/api/v1/tasks/{task['id']}"
    assert (task["status"], task["level"], task["unit"], task["assignee"]) == (
        "queued", "p1", "barenbang", None)
    assert task["version"] == 1
    assert _clock(task, "p1_pickup")["state"] == "running"
    resolution_due = _at(_clock(task, "resolution")["due_at"])
    assert _at(task["due_at"]) == resolution_due > began + timedelta(days=2)  # 3 SOP days

    task = await _ok(api, P1, f"{base}/claim", version=1)
    assert (task["status"], task["assignee"]["username"], task["version"]) == ("claimed", P1, 2)
    p1_pickup = _clock(task, "p1_pickup")
    assert p1_pickup["state"] == "met" and p1_pickup["met"] and p1_pickup["stopped_at"]

    task = await _ok(api, P1, f"{base}/dispose", unit="pusdatin", version=2)
    assert (task["status"], task["level"], task["unit"], task["eselon2"], task["assignee"]) == (
        "queued", "p2", "pusdatin", "pusdatin", None)
    p2_pickup = _clock(task, "p2_pickup")
    assert (p2_pickup["state"], p2_pickup["unit"]) == ("running", "pusdatin")
    disposed_at = _at(task["history"][-1]["at"])
    assert _at(p2_pickup["started_at"]) == disposed_at
    assert task["pickup_due_at"] == p2_pickup["due_at"]

    task = await _ok(api, P2, f"{base}/claim")
    assert (task["status"], task["assignee"]["username"]) == ("claimed", P2)
    assert _clock(task, "p2_pickup")["state"] == "met"
    assert task["pickup_due_at"] is None

    task = await _ok(api, P2, f"{base}/hold", reason="Surat kuasa belum dilampirkan")
    assert (task["status"], task["hold_reason"]) == ("on_hold", "Surat kuasa belum dilampirkan")
    held = _clock(task, "resolution")
    assert held["state"] == "paused" and held["paused_at"]
    await asyncio.sleep(0.3)  # the hold lasts a measurable time (PTSA_CALENDAR=always)

    task = await _ok(api, P2, f"{base}/resume")
    resumed = _clock(task, "resolution")
    assert (task["status"], task["hold_reason"], resumed["state"]) == ("claimed", None, "running")
    moved = _at(resumed["due_at"]) - resolution_due
    assert timedelta(seconds=0.25) <= moved <= timedelta(seconds=30)
    assert abs(moved.total_seconds() - resumed["paused_seconds"]) < 0.01
    assert _at(task["due_at"]) == _at(resumed["due_at"])

    task = await _ok(api, P2, f"{base}/messages", body="Mohon konfirmasi periode data 2025")
    assert [(m["author"]["username"], m["body"]) for m in task["messages"]] == [
        (P2, "Mohon konfirmasi periode data 2025")]

    task = await _ok(api, P2, f"{base}/complete", result="Data dikirim melalui email")
    finished = utcnow()
    assert (task["status"], task["result"]) == ("completed", "Data dikirim melalui email")
    assert began <= _at(task["completed_at"]) <= finished
    assert _clock(task, "resolution")["state"] == "met"
    assert all(c["state"] == "met" for c in task["clocks"])

    r = await api.as_(P0, "GET", base)
    assert r.status_code == 200
    history = r.json()["history"]
    assert [(h["type"], h["actor"]["username"]) for h in history] == [
        ("task.created", P0), ("task.claimed", P1), ("task.disposed", P1),
        ("task.claimed", P2), ("task.held", P2), ("task.resumed", P2), ("task.message", P2),
        ("task.completed", P2)]
    times = [_at(h["at"]) for h in history]
    assert times == sorted(times) and began <= times[0] and times[-1] <= finished
    assert all(h["actor"]["name"] for h in history)
    assert history[2]["data"]["unit"] == "pusdatin"
    assert history[4]["data"]["reason"] == "Surat kuasa belum dilampirkan"
    assert history[2]["data"]["from"] == {"status": "claimed", "level": "p1", "unit": "barenbang"}
    assert len({h["id"] for h in history}) == len(history)

    # Every step also left its event in the outbox for the channels that must hear it.
    async with app.state.ctx.db.read() as session:
        rows = (await session.exec(select(Outbox))).all()
    by_event: dict[str, set[str]] = {}
    notices = [r for r in rows if r.type.startswith("message.")]  # unread counts, per person
    for row in rows:
        if row not in notices:
            by_event.setdefault(row.event_id, set()).add(row.channel)
    assert set(by_event) == {h["id"] for h in history}
    # P2's message counts as unread for P0 (registered it) and P1 (acted on it), on their own
    # channels only.
    assert sorted((r.type, r.channel) for r in notices) == [
        ("message.unread", "user.p0-1"), ("message.unread", "user.p1-barenbang-1")]
    disposed = by_event[history[2]["id"]]
    assert disposed == {"p0", "p1.barenbang", "p2.pusdatin", f"task.{tid}"}
    created = by_event[history[0]["id"]]
    assert created == {"p0", "p1.barenbang", f"task.{tid}"}
    payload = json.loads(next(r.payload for r in rows if r.event_id == history[3]["id"]))
    assert payload["task"]["assignee"]["username"] == P2


async def test_return_resubmit_and_return_from_p2(api: ApiClient) -> None:
    """Returns go one level back with their reason; a resubmitted task starts a new P1 pickup."""
    task = await api.register()
    base = f"/api/v1/tasks/{task['id']}"
    await _ok(api, P1, f"{base}/claim")
    task = await _ok(api, P1, f"{base}/return", reason="Layanan salah pilih")
    assert (task["status"], task["level"], task["unit"]) == ("returned", "p0", "ptsa")
    assert _clock(task, "resolution")["state"] == "paused"
    task = await _ok(api, P0, f"{base}/resubmit")
    assert (task["status"], task["level"], task["unit"]) == ("queued", "p1", "barenbang")
    assert [c["state"] for c in task["clocks"] if c["kind"] == "p1_pickup"] == ["met", "running"]
    assert _clock(task, "resolution")["state"] == "running"
    await _ok(api, "p1-barenbang-2", f"{base}/claim")
    await _ok(api, "p1-barenbang-2", f"{base}/dispose", unit="pusdatin")
    task = await _ok(api, P2, f"{base}/return", reason="Bukan data kami")
    assert (task["status"], task["level"], task["unit"], task["eselon2"]) == (
        "queued", "p1", "barenbang", "pusdatin")
    assert _clock(task, "p2_pickup")["state"] == "cancelled"
    assert task["history"][-1]["data"]["reason"] == "Bukan data kami"
    # The Eselon II desk that had it may still read it, but no longer act on it.
    r = await api.as_(P2, "GET", base)
    assert r.status_code == 200
    r = await api.as_(P2, "POST", f"{base}/claim", json={})
    assert r.status_code == 403


async def test_the_registration_answer_is_the_task_as_get_returns_it(api: ApiClient) -> None:
    """POST /tasks builds its answer from what the command holds (no read-back); it must be
    exactly what GET /tasks/{id} then reads from the database, on both engines."""
    created = await api.register(P0, service="data-informasi",
                                 name="Siti <b>Aminah</b>", organisation="Universitas X")
    fetched = await api.as_(P0, "GET", f"/api/v1/tasks/{created['id']}")
    assert fetched.status_code == 200, fetched.text
    assert created == fetched.json()
    assert [e["type"] for e in created["history"]] == ["task.created"]
    assert {c["kind"] for c in created["clocks"]} == {"p1_pickup", "resolution"}
    assert created["pickup_due_at"] == _clock(created, "p1_pickup")["due_at"]
