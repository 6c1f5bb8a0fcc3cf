"""A browser session may use the JSON API, but its writes must carry the session's CSRF token."""

from __future__ import annotations

from typing import Any

import httpx
from sqlmodel import select

from hub.auth.sessions import COOKIE_NAME
from hub.models import Staff

BODY = {"service": "data-informasi", "description": "",
        "applicant": {"name": "Rina", "organisation": "", "phone": "0812-3333-4444"}}


async def _browser(app: Any, username: str) -> tuple[httpx.AsyncClient, str]:
    ctx = app.state.ctx
    async with ctx.db.read() as session:
        staff = (await session.exec(select(Staff).where(Staff.username == username))).one()
    data, cookie = await ctx.sessions.create(staff.id, staff.session_epoch)
    transport = httpx.ASGITransport(app=app)
    client = httpx.AsyncClient(transport=transport, base_url="http://testserver",
                               cookies={COOKIE_NAME: cookie})
    return client, data.csrf


async def test_session_write_without_csrf_header_is_refused(app: Any) -> None:
    """POST with only the session cookie gets 403 csrf and registers nothing."""
    client, _ = await _browser(app, "p0-1")
    async with client:
        refused = await client.post("/api/v1/tasks", json=BODY)
        listed = await client.get("/api/v1/tasks")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf"
    assert listed.status_code == 200 and listed.json()["items"] == []


async def test_session_write_with_wrong_csrf_header_is_refused(app: Any) -> None:
    """A header that is not the session's token is refused like a missing one."""
    client, token = await _browser(app, "p0-1")
    async with client:
        refused = await client.post("/api/v1/tasks", json=BODY,
                                    headers={"X-CSRF-Token": token[::-1]})
    assert refused.status_code == 403


async def test_session_write_with_csrf_header_is_accepted(app: Any) -> None:
    """With the session's token in X-CSRF-Token the same request registers the task."""
    client, token = await _browser(app, "p0-1")
    async with client:
        created = await client.post("/api/v1/tasks", json=BODY, headers={"X-CSRF-Token": token})
    assert created.status_code == 201, created.text
