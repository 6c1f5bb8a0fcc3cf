"""``GET /api/v1/skm``: the IKM per unit, rolled up, per service, within the caller's scope."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.conftest import ApiClient
from tests.support.api import signed_api

ALL4 = [4] * 9
MIXED = [3, 3, 3, 3, 3, 3, 3, 3, 2]
ALL2 = [2] * 9


@pytest.fixture
async def api(app: Any) -> AsyncIterator[ApiClient]:
    async with signed_api(app) as client:
        yield client


async def complete(api: ApiClient, service: str, eselon2: str) -> str:
    task = await api.register(service=service)
    for user, action, body in [("p1-barenbang-1", "claim", {}),
                               ("p1-barenbang-1", "dispose", {"unit": eselon2}),
                               (f"p2-{eselon2}-1", "claim", {}),
                               (f"p2-{eselon2}-1", "complete", {"result": "Selesai"})]:
        r = await api.as_(user, "POST", f"/api/v1/tasks/{task['id']}/{action}", json=body)
        assert r.status_code in (200, 201), r.text
    return str(task["code"])


async def answer(api: ApiClient, code: str, answers: list[int]) -> None:
    url = (await api.http.get(f"/api/v1/track/{code}")).json()["survey_url"]
    r = await api.http.post("/api/v1/survey/" + url.rsplit("/", 1)[1], json={"answers": answers})
    assert r.status_code == 201, r.text


@pytest.fixture
async def answered(api: ApiClient) -> None:
    """Pusdatin: three completed, two answered (all fours; threes with a two); Pusrenaker: one
    completed and answered with twos."""
    await answer(api, await complete(api, "data-informasi", "pusdatin"), ALL4)
    await answer(api, await complete(api, "data-informasi", "pusdatin"), MIXED)
    await complete(api, "data-informasi", "pusdatin")
    await answer(api, await complete(api, "rtk", "pusrenaker"), ALL2)


def row(rows: list[dict[str, Any]], code: str) -> dict[str, Any]:
    return next(r for r in rows if r["code"] == code)


async def test_ikm_per_unit_rolls_up_from_the_respondents(api: ApiClient, answered: None) -> None:
    """Pusdatin 86.11 (B), Pusrenaker 50.00 (D), Barenbang over all three respondents 74.07 (C),
    each worked out by hand from the answers."""
    r = await api.as_("admin", "GET", "/api/v1/skm")
    assert r.status_code == 200, r.text
    report = r.json()
    # Pusdatin: NRR 3.5 on eight elements and 3.0 on the ninth: 31.0 / 9 x 25 = 86.11.
    pusdatin = row(report["units"], "pusdatin")
    assert (pusdatin["ikm"], pusdatin["mutu"], pusdatin["respondents"]) == (86.11, "B", 2)
    assert pusdatin["elements"] == [3.5] * 8 + [3.0]
    assert (pusdatin["population"], pusdatin["min_sample"], pusdatin["sample_ok"]) == (3, 3, False)
    pusrenaker = row(report["units"], "pusrenaker")
    assert (pusrenaker["ikm"], pusrenaker["mutu"], pusrenaker["sample_ok"]) == (50.0, "D", True)
    # Barenbang: element sums 9 (x8) and 8 over 3: 24 + 2.667 = 26.667 / 9 x 25 = 74.07.
    barenbang = row(report["units"], "barenbang")
    assert (barenbang["ikm"], barenbang["mutu"], barenbang["respondents"]) == (74.07, "C", 3)
    assert (report["ikm"], report["mutu"], report["respondents"]) == (74.07, "C", 3)
    assert report["scope"] == "all" and len(report["element_names"]) == 9
    assert row(report["services"], "rtk")["ikm"] == 50.0
    assert sum(w["respondents"] for w in report["trend"]) == 3


async def test_a_supervisor_sees_only_their_unit(api: ApiClient, answered: None) -> None:
    """The Pusrenaker supervisor's report holds Pusrenaker alone; asking for Pusdatin is 403."""
    r = await api.as_("spv-pusrenaker", "GET", "/api/v1/skm")
    report = r.json()
    assert [u["code"] for u in report["units"]] == ["pusrenaker"]
    assert (report["ikm"], report["respondents"]) == (50.0, 1)
    denied = await api.as_("spv-pusrenaker", "GET", "/api/v1/skm?unit=pusdatin")
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"


async def test_a_unit_filter_keeps_that_unit_and_its_children(api: ApiClient,
                                                              answered: None) -> None:
    """unit=pusdatin reports Pusdatin only, with its own figures as the total."""
    report = (await api.as_("spv-barenbang", "GET", "/api/v1/skm?unit=pusdatin")).json()
    assert [u["code"] for u in report["units"]] == ["pusdatin"]
    assert (report["ikm"], report["respondents"]) == (86.11, 2)


async def test_csv_export_has_a_row_per_unit_and_service(api: ApiClient, answered: None) -> None:
    """format=csv gives the total, unit and service rows with the nine NRR columns."""
    r = await api.as_("admin", "GET", "/api/v1/skm?format=csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0][:9] == ["kind", "code", "name", "respondents", "population", "min_sample",
                           "sample_ok", "ikm", "mutu"]
    total = rows[1]
    assert total[0] == "total" and total[7:9] == ["74.07", "C"]
    assert ["eselon2", "pusdatin"] == next(r for r in rows if r[1] == "pusdatin")[:2]


@pytest.mark.parametrize("query", ["from=2026-13-01", "from=2026-12-01&to=2026-11-01",
                                   "unit=nowhere", "format=xml", "from=2024-01-01&to=2026-01-01"])
async def test_bad_parameters_are_422(api: ApiClient, query: str) -> None:
    """A malformed date, a reversed or overlong period, an unknown unit or format is 422."""
    r = await api.as_("admin", "GET", f"/api/v1/skm?{query}")
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid"


async def test_the_index_needs_a_sign_in(api: ApiClient) -> None:
    """Without credentials the IKM is 401."""
    assert (await api.http.get("/api/v1/skm")).status_code == 401
