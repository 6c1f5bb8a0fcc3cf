"""``GET /api/v1/tasks?q=…`` and the list filters ``service``, ``status``, ``unit``, ``from``,
``to``: each field is found, within what the caller may see, on both engines."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update
from sqlmodel import col

from hub.models import Task, utcnow
from tests.conftest import ApiClient


@pytest.fixture
async def people(api: ApiClient) -> dict[str, dict[str, Any]]:
    """Three requests from different applicants at different Eselon I units."""
    return {
        "siti": await api.register(service="data-informasi", name="Siti Rahayu",
                                   organisation="CV Sinar Abadi", phone="+62 813-5555-0001"),
        "budi": await api.register(service="rtk", name="Budi Santoso",
                                   organisation="PT Maju Jaya", phone="0812-7777-0002"),
        "bu": await api.register(service="pencairan-deposito", name="Ayu Budiarti",
                                 organisation="Yayasan Peduli", phone="62 811 0000 003"),
    }


async def _search(api: ApiClient, user: str, query: str) -> list[str]:
    r = await api.as_(user, "GET", "/api/v1/tasks", params={"q": query})
    assert r.status_code == 200, r.text
    return [item["code"] for item in r.json()["items"]]


async def test_each_field_finds_its_request(api: ApiClient,
                                            people: dict[str, dict[str, Any]]) -> None:
    """Registration number (whole or a prefix), name and organisation words (prefixes, any case,
    all words must match) and phone in either national or +62 form each find the request."""
    siti, budi, ayu = (people[k]["code"] for k in ("siti", "budi", "bu"))
    cases = [
        (siti, [siti]),
        (siti.lower(), [siti]),
        (siti[5:], [siti]),  # without "PTSA-"
        ("siti", [siti]),
        ("RAHAYU", [siti]),
        ("budi", [ayu, budi]),  # Budi Santoso and Budiarti: a word prefix
        ("budi santoso", [budi]),
        ("maju jaya", [budi]),
        ("sinar", [siti]),
        ("0813-5555", [siti]),  # 0… finds +62…
        ("+62812 7777", [budi]),  # +62… finds 0…
        ("08110000003", [ayu]),  # 0… finds 62… (no plus)
        ("Tidak Ada", []),
    ]
    for query, expected in cases:
        assert await _search(api, "p0-1", query) == expected, query
    # A prefix of the shared day finds all three, newest first.
    assert await _search(api, "p0-1", siti[:13]) == [ayu, budi, siti]


async def test_search_stays_within_what_the_caller_may_see(
        api: ApiClient, people: dict[str, dict[str, Any]]) -> None:
    """An Eselon I desk finds only its own unit's requests, whatever it types."""
    siti, budi, ayu = (people[k]["code"] for k in ("siti", "budi", "bu"))
    assert await _search(api, "p1-barenbang-1", "budi") == [budi]  # not Ayu's (binapenta)
    assert await _search(api, "p1-binapenta-1", "budi") == [ayu]
    assert await _search(api, "p1-binapenta-1", siti) == []
    assert await _search(api, "p1-binapenta-1", "0813 5555") == []
    assert await _search(api, "p2-pusdatin-1", "siti") == []  # not routed there yet


async def test_filters_by_service_status_unit_and_dates(
        api: ApiClient, people: dict[str, dict[str, Any]], seeded_db: Any) -> None:
    """service, status, unit and a from/to day range (office days) narrow a list or a search;
    a request from an earlier day is found by its date range."""
    siti, budi, ayu = (people[k] for k in ("siti", "budi", "bu"))
    async with seeded_db.write() as session:
        await session.exec(update(Task).where(col(Task.id) == siti["id"])
                           .values(created_at=utcnow() - timedelta(days=3)))
    r = await api.as_("p1-barenbang-1", "POST", f"/api/v1/tasks/{siti['id']}/claim", json={})
    assert r.status_code == 200, r.text
    today = utcnow().astimezone(ZoneInfo("Asia/Jakarta")).date()

    async def codes(query: str) -> list[str]:
        r = await api.as_("p0-1", "GET", f"/api/v1/tasks?{query}")
        assert r.status_code == 200, r.text
        return [t["code"] for t in r.json()["items"]]

    assert await codes("service=rtk") == [budi["code"]]
    assert await codes("status=claimed") == [siti["code"]]
    assert await codes("unit=binapenta") == [ayu["code"]]
    earlier = (today - timedelta(days=3)).isoformat()
    assert await codes(f"from={earlier}&to={earlier}") == [siti["code"]]
    assert await codes(f"from={(today - timedelta(days=1)).isoformat()}") == [
        ayu["code"], budi["code"]]
    assert await codes("q=budi&service=pencairan-deposito") == [ayu["code"]]


@pytest.mark.parametrize(("query", "field"), [
    ("q=a", "q"), ("q=%20%21%21", "q"), ("q=" + "x" * 101, "q"),
    ("from=27-11-2026", "from"), ("to=kemarin", "to"),
    ("from=2026-11-27&to=2026-11-26", "to"), ("status=open", "status"),
])
async def test_bad_search_parameters_are_refused_with_the_field(
        api: ApiClient, query: str, field: str) -> None:
    """A query too short or too long, a malformed day, a reversed range or an unknown status
    answer 422 naming the parameter."""
    r = await api.as_("p0-1", "GET", f"/api/v1/tasks?{query}")
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["field"] == field, error
