"""``GET /api/v1/tasks``: filters, paging, and who sees which tasks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col

from hub.models import SlaClock, utcnow
from tests.conftest import ApiClient
from tests.support.api import signed_api


@pytest.fixture
async def api(app: Any) -> AsyncIterator[ApiClient]:
    """Demo users with signed tokens (signing in itself is tested in test_api_auth.py)."""
    async with signed_api(app) as client:
        yield client


@pytest.fixture
async def board(api: ApiClient) -> dict[str, int]:
    """Three requests: A at P2 pusdatin (queued), B claimed at P1 barenbang by
    p1-barenbang-2, C queued at P1 binapenta."""
    a = await api.register(service="data-informasi")
    b = await api.register(service="rtk")
    c = await api.register(service="pencairan-deposito")
    for user, tid, action, body in [
        ("p1-barenbang-1", a["id"], "claim", {}),
        ("p1-barenbang-1", a["id"], "dispose", {"unit": "pusdatin"}),
        ("p1-barenbang-2", b["id"], "claim", {}),
    ]:
        r = await api.as_(user, "POST", f"/api/v1/tasks/{tid}/{action}", json=body)
        assert r.status_code == 200, r.text
    return {"A": a["id"], "B": b["id"], "C": c["id"]}


async def _ids(api: ApiClient, user: str, query: str = "") -> list[int]:
    r = await api.as_(user, "GET", f"/api/v1/tasks{query}")
    assert r.status_code == 200, r.text
    return [item["id"] for item in r.json()["items"]]


async def test_filters_select_the_right_tasks(api: ApiClient, board: dict[str, int]) -> None:
    """level, unit, status and assignee each narrow the list as named; newest first."""
    a, b, c = board["A"], board["B"], board["C"]
    cases = [
        ("", [c, b, a]),
        ("?level=p2", [a]),
        ("?level=p1", [c, b]),
        ("?unit=binapenta", [c]),
        ("?unit=pusdatin", [a]),
        ("?unit=barenbang", [b]),
        ("?status=queued", [c, a]),
        ("?status=claimed", [b]),
        ("?status=claimed,queued", [c, b, a]),
        ("?status=completed", []),
        ("?assignee=p1-barenbang-2", [b]),
        ("?assignee=p1-barenbang-1", []),
        ("?level=p1&status=queued", [c]),
        ("?overdue=true", []),
    ]
    for query, expected in cases:
        assert await _ids(api, "admin", query) == expected, query


async def test_overdue_lists_tasks_with_a_clock_past_due(api: ApiClient, app: Any,
                                                         board: dict[str, int]) -> None:
    """A task whose running clock is past due appears under overdue=true; met clocks do not."""
    async with app.state.ctx.db.write() as session:
        await session.exec(update(SlaClock).where(col(SlaClock.task_id) == board["C"],
                                                  col(SlaClock.kind) == "p1_pickup")
                           .values(due_at=utcnow() - timedelta(minutes=1)))
        # A met clock past due is history, not an overdue task.
        await session.exec(update(SlaClock).where(col(SlaClock.task_id) == board["B"],
                                                  col(SlaClock.kind) == "p1_pickup")
                           .values(due_at=utcnow() - timedelta(minutes=1)))
    assert await _ids(api, "admin", "?overdue=true") == [board["C"]]
    assert await _ids(api, "admin", "?overdue=1&unit=barenbang") == []


async def test_paging(api: ApiClient, board: dict[str, int]) -> None:
    """limit and offset page through the newest-first list."""
    a, b, c = board["A"], board["B"], board["C"]
    assert await _ids(api, "p0-1", "?limit=2") == [c, b]
    assert await _ids(api, "p0-1", "?limit=2&offset=2") == [a]
    assert await _ids(api, "p0-1", "?offset=3") == []
    r = await api.as_("p0-1", "GET", "/api/v1/tasks?limit=1&offset=1")
    assert (r.json()["limit"], r.json()["offset"]) == (1, 1)


BAD_QUERIES = ["?limit=0", "?limit=501", "?limit=abc", "?limit=-1", "?offset=-1", "?offset=x",
               "?level=p9", "?status=done", "?status=queued,bogus", "?since=yesterday"]


async def test_bad_filters_are_422(api: ApiClient) -> None:
    """A filter or paging value that makes no sense is 422 naming the parameter, not a 500."""
    for query in BAD_QUERIES:
        r = await api.as_("p0-1", "GET", f"/api/v1/tasks{query}")
        assert r.status_code == 422, (query, r.text)
        assert r.json()["error"]["field"] in query


async def test_each_desk_sees_only_its_tasks(api: ApiClient, board: dict[str, int]) -> None:
    """P1 and P2 see their own unit's tasks; supervisors their units; P0 and admin all."""
    a, b, c = board["A"], board["B"], board["C"]
    visibility = {
        "p0-1": [c, b, a], "admin": [c, b, a], "spv-ptsa": [c, b, a],
        "p1-barenbang-2": [b, a], "p1-binapenta-1": [c], "p1-setjen-1": [],
        "p2-pusdatin-1": [a], "p2-pusrenaker-1": [], "p2-ptkln-1": [],
        "spv-barenbang": [b, a], "spv-pusdatin": [a], "spv-binapenta": [c], "spv-itjen": [],
    }
    for user, expected in visibility.items():
        assert await _ids(api, user) == expected, user
        # Filters never widen what a desk may see.
        assert await _ids(api, user, "?unit=binapenta") == [t for t in expected if t == c], user


async def test_task_of_another_unit_is_403(api: ApiClient, board: dict[str, int]) -> None:
    """Reading a task of another unit is 403 and shows none of it."""
    for user, tid in [("p1-binapenta-1", board["A"]), ("p2-ptkln-1", board["A"]),
                      ("p2-pusrenaker-1", board["A"]), ("p1-barenbang-1", board["C"]),
                      ("spv-binapenta", board["B"])]:
        r = await api.as_(user, "GET", f"/api/v1/tasks/{tid}")
        assert r.status_code == 403, (user, r.text)
        assert r.json()["error"]["code"] == "forbidden"
        assert "Andi" not in r.text
    r = await api.as_("p2-pusdatin-1", "GET", f"/api/v1/tasks/{board['A']}")
    assert r.status_code == 200
    assert r.json()["applicant"]["phone"] == "0812-1111-2222"


async def test_list_items_are_cards(api: ApiClient, board: dict[str, int]) -> None:
    """Each item carries what a board needs: code, status, level, unit, assignee, service,
    due dates, version."""
    r = await api.as_("admin", "GET", "/api/v1/tasks?assignee=p1-barenbang-2")
    (item,) = r.json()["items"]
    assert item["assignee"]["username"] == "p1-barenbang-2"
    assert {"id", "code", "status", "level", "unit", "assignee", "version", "service",
            "service_name", "due_at", "pickup_due_at", "created_at"} <= set(item)
    assert "phone" not in item["applicant"]  # contact details only on the task's own page
