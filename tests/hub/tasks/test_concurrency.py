"""Races that real desks produce, on SQLite and PostgreSQL: many people claiming one task at the
same moment, and many counters registering at once."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlmodel import select

from hub.auth.accounts import create_staff
from hub.models import Staff, utcnow
from tests.conftest import ApiClient
from tests.support.api import signed_api
from tests.support.dbstate import row_counts

CLAIMERS = 20


@pytest.fixture
async def api(app: Any) -> AsyncIterator[ApiClient]:
    """Demo users with signed tokens (signing in itself is tested in test_api_auth.py)."""
    async with signed_api(app) as client:
        yield client


async def _p1_tokens(app: Any, count: int) -> dict[str, str]:
    """Bearer tokens of ``count`` distinct P1 staff of barenbang: the two demo ones, one added
    through ``create_staff`` and the rest inserted with that one's (slow, Argon2id) hash."""
    ctx = app.state.ctx
    extra = await create_staff(ctx.db, username="p1-barenbang-3", role="p1", unit="barenbang",
                               full_name="Petugas Barenbang 3", email=None, phone=None,
                               password="race-password-1")
    async with ctx.db.write() as session:
        for n in range(4, count + 1):
            session.add(Staff(username=f"p1-barenbang-{n}", full_name=f"Petugas Barenbang {n}",
                              role="p1", unit_code="barenbang",
                              password_hash=extra.password_hash, created_at=utcnow()))
    async with ctx.db.read() as session:
        staff = (await session.exec(select(Staff).where(Staff.role == "p1",
                                                        Staff.unit_code == "barenbang"))).all()
    assert len(staff) == count
    return {s.username: ctx.tokens.issue(s.id, s.session_epoch) for s in staff}


async def test_twenty_simultaneous_claims_have_exactly_one_winner(api: ApiClient,
                                                                 app: Any) -> None:
    """One claim wins (200); the other 19 get 409 already_claimed naming who has the task."""
    tokens = await _p1_tokens(app, CLAIMERS)
    task = await api.register()
    before = await row_counts(app.state.ctx.db)

    async def claim(username: str, token: str) -> tuple[str, httpx.Response]:
        r = await api.http.post(f"/api/v1/tasks/{task['id']}/claim", json={"version": 1},
                                headers={"Authorization": f"Bearer {token}"})
        return username, r

    results = await asyncio.gather(*(claim(u, t) for u, t in tokens.items()))
    winners = [(u, r) for u, r in results if r.status_code == 200]
    losers = [(u, r) for u, r in results if r.status_code != 200]
    assert len(winners) == 1, [(u, r.status_code, r.text) for u, r in results]
    winner, won = winners[0]
    assert won.json()["assignee"]["username"] == winner
    assert len(losers) == CLAIMERS - 1
    for _username, r in losers:
        assert r.status_code == 409, r.text
        error = r.json()["error"]
        assert error["code"] == "already_claimed"
        assert error["assignee"] == winner
        assert winner in error["message"]

    after = await row_counts(app.state.ctx.db)
    assert after["task_events"] == before["task_events"] + 1  # one task.claimed, not twenty
    assert after["outbox"] - before["outbox"] == 3  # p0, p1.barenbang, task.<id>
    r = await api.as_("p0-1", "GET", f"/api/v1/tasks/{task['id']}")
    detail = r.json()
    assert (detail["version"], detail["assignee"]["username"]) == (2, winner)
    assert [h["type"] for h in detail["history"]] == ["task.created", "task.claimed"]


async def test_simultaneous_registrations_get_unique_sequential_numbers(api: ApiClient,
                                                                        app: Any) -> None:
    """Twenty desks registering at once get PTSA-<Jakarta day>-0001 … 0020, no gaps, no twins."""
    for n in range(1, 10):
        await api.token(f"p0-{n}")
    day = utcnow().astimezone(app.state.ctx.settings.tz).strftime("%Y%m%d")
    tasks = await asyncio.gather(*(api.register(f"p0-{n % 9 + 1}") for n in range(20)))
    codes = [t["code"] for t in tasks]
    assert all(re.fullmatch(r"PTSA-\d{8}-\d{4}", c) for c in codes), codes
    day_after = utcnow().astimezone(app.state.ctx.settings.tz).strftime("%Y%m%d")
    assert {c[5:13] for c in codes} <= {day, day_after}
    if day == day_after:
        assert sorted(int(c[-4:]) for c in codes) == list(range(1, 21))
    assert len(set(codes)) == 20
    assert len({t["id"] for t in tasks}) == 20


async def test_stale_version_loses_to_a_change_in_between(api: ApiClient) -> None:
    """Acting on version 1 after someone moved the task to version 2 is a 409 stale_version."""
    task = await api.register()
    base = f"/api/v1/tasks/{task['id']}"
    r = await api.as_("p1-barenbang-1", "POST", f"{base}/claim", json={"version": 1})
    assert r.status_code == 200
    r = await api.as_("p1-barenbang-1", "POST", f"{base}/hold",
                      json={"version": 1, "reason": "menunggu berkas"})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "stale_version"
    assert r.json()["error"]["version"] == 2
