"""Unread messages per staff member: who counts them, the live ``message.unread`` /
``message.read`` events on ``user.<username>``, and clearing by opening the task page — on both
engines, through the real app, Redis streams and pages."""

from __future__ import annotations

import json
from typing import Any

from channels import names
from tests.conftest import ApiClient
from tests.support.pages import PageClient, page_client


async def _unread(api: ApiClient, user: str) -> dict[str, Any]:
    r = await api.as_(user, "GET", "/api/v1/me/unread")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def _events(app: Any, username: str) -> list[tuple[str, dict[str, Any]]]:
    entries = await app.state.ctx.redis.xrange(names.stream_key(names.user(username)))
    frames = [json.loads("{" + fields["e"]) for _, fields in entries]
    return [(frame["type"], frame["data"]) for frame in frames]


async def _message(api: ApiClient, user: str, task_id: int, body: str) -> None:
    r = await api.as_(user, "POST", f"/api/v1/tasks/{task_id}/messages", json={"body": body})
    assert r.status_code == 201, r.text


async def test_a_message_counts_for_the_other_participants_only(api: ApiClient,
                                                                app: Any) -> None:
    """The holder and the registering desk count a colleague's message; its author, an
    uninvolved desk of the same unit and other units do not; a second message makes two."""
    task = await api.register()
    r = await api.as_("p1-barenbang-1", "POST", f"/api/v1/tasks/{task['id']}/claim", json={})
    assert r.status_code == 200, r.text
    await _message(api, "spv-barenbang", task["id"], "Tolong dipercepat, pemohon menunggu.")
    await _message(api, "spv-barenbang", task["id"], "Sudah ada kabar?")
    for user in ("p1-barenbang-1", "p0-1"):
        assert await _unread(api, user) == {
            "total": 2, "tasks": [{"id": task["id"], "code": task["code"], "count": 2}]}, user
    for user in ("spv-barenbang", "p1-barenbang-2", "p2-pusdatin-1"):
        assert (await _unread(api, user))["total"] == 0, user
    # The holder answers: now the supervisor (who wrote) counts one; the holder still two.
    await _message(api, "p1-barenbang-1", task["id"], "Sedang diproses.")
    assert (await _unread(api, "spv-barenbang"))["total"] == 1
    assert (await _unread(api, "p1-barenbang-1"))["total"] == 2
    events = await _events(app, "p1-barenbang-1")
    assert [t for t, _ in events] == ["message.unread", "message.unread"]
    last = events[-1][1]
    assert last["task"] == {"id": task["id"], "code": task["code"]}
    assert (last["count"], last["total"]) == (2, 2)
    assert last["from"]["username"] == "spv-barenbang"
    assert last["excerpt"] == "Sudah ada kabar?"


async def test_opening_the_task_page_reads_its_messages_for_every_pc(api: ApiClient,
                                                                     app: Any) -> None:
    """The task page clears the reader's count for that task only and publishes
    ``message.read`` with the new total; opening it again writes nothing more."""
    first, second = await api.register(), await api.register(name="Budi Santoso")
    for task in (first, second):
        await _message(api, "spv-ptsa", task["id"], "Cek dokumen.")
    assert (await _unread(api, "p0-1"))["total"] == 2
    async with page_client(app) as http:
        browser = PageClient(http)
        await browser.login("p0-1")
        for _ in range(2):
            page = await http.get(f"/permohonan/{first['id']}")
            assert page.status_code == 200
    assert await _unread(api, "p0-1") == {
        "total": 1, "tasks": [{"id": second["id"], "code": second["code"], "count": 1}]}
    reads = [data for kind, data in await _events(app, "p0-1") if kind == "message.read"]
    assert reads == [{"task": {"id": first["id"], "code": first["code"]}, "total": 1}]


async def test_unread_needs_a_sign_in(api: ApiClient) -> None:
    """Without a token the answer is 401 in the JSON error shape."""
    r = await api.http.get("/api/v1/me/unread")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthenticated"
