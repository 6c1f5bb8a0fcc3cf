"""The SKM questionnaire over the API: the one-time link on the tracking answer and its answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, update
from sqlmodel import col, select

from hub.models import SurveyResponse, SurveyToken, Task, utcnow
from tests.conftest import ApiClient
from tests.support.api import signed_api

P1, P2 = "p1-barenbang-1", "p2-pusdatin-1"
GOOD = {"answers": [4, 3, 3, 4, 3, 4, 4, 2, 3],
        "profile": {"age_group": "30-39", "sex": "P", "education": "D4-S1",
                    "occupation": "SWASTA"},
        "suggestion": "Ruang tunggu perlu kipas angin"}


@pytest.fixture
async def api(app: Any) -> AsyncIterator[ApiClient]:
    async with signed_api(app) as client:
        yield client


async def _completed(api: ApiClient) -> tuple[int, str]:
    task = await api.register(name="Siti Rahayu")
    tid = task["id"]
    for user, action, body in [(P1, "claim", {}), (P1, "dispose", {"unit": "pusdatin"}),
                               (P2, "claim", {}), (P2, "complete", {"result": "Data dikirim"})]:
        r = await api.as_(user, "POST", f"/api/v1/tasks/{tid}/{action}", json=body)
        assert r.status_code in (200, 201), r.text
    return tid, task["code"]


async def _survey_path(api: ApiClient, code: str) -> str:
    data = (await api.http.get(f"/api/v1/track/{code}")).json()
    url = data["survey_url"]
    assert url.startswith("http") and "/survei/" in url
    return "/api/v1/survey/" + url.rsplit("/", 1)[1]


async def _responses(app: Any) -> list[SurveyResponse]:
    async with app.state.ctx.db.read() as session:
        return list((await session.exec(select(SurveyResponse))).all())


async def test_survey_link_appears_on_completion_and_is_spent_by_one_answer(
        api: ApiClient, app: Any) -> None:
    """The tracking answer has survey_url only after completion; one answer records it, a second
    is refused with 409 and the link disappears from tracking."""
    task = await api.register()
    before = (await api.http.get(f"/api/v1/track/{task['code']}")).json()
    assert "survey_url" not in before
    tid, code = await _completed(api)
    path = await _survey_path(api, code)
    assert path == await _survey_path(api, code)  # the same link on every visit
    r = await api.http.post(path, json=GOOD)
    assert r.status_code == 201, r.text
    again = await api.http.post(path, json=GOOD)
    assert again.status_code == 409 and again.json()["error"]["code"] == "answered"
    assert "survey_url" not in (await api.http.get(f"/api/v1/track/{code}")).json()
    [row] = await _responses(app)
    assert [getattr(row, f"u{i}") for i in range(1, 10)] == GOOD["answers"]
    assert (row.eselon1, row.eselon2, row.service_code) == ("barenbang", "pusdatin",
                                                            "data-informasi")
    assert (row.age_group, row.sex, row.education, row.occupation) == ("30-39", "P", "D4-S1",
                                                                       "SWASTA")
    assert row.suggestion == GOOD["suggestion"]
    assert "task_id" not in SurveyResponse.model_fields  # anonymous by construction
    async with app.state.ctx.db.read() as session:
        token = (await session.exec(select(SurveyToken))).one()
    assert token.task_id == tid and token.used
    assert token.token_hash != path.rsplit("/", 1)[1]  # only the hash is kept


async def test_a_forged_token_is_404_and_stores_nothing(api: ApiClient, app: Any) -> None:
    """A made-up token answers 404 in the JSON error shape and records nothing."""
    await _completed(api)
    r = await api.http.post("/api/v1/survey/" + "0" * 40, json=GOOD)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert await _responses(app) == []


async def test_an_expired_link_is_410_and_not_offered(api: ApiClient, app: Any) -> None:
    """After PTSA_SURVEY_DAYS the link answers 410 and tracking no longer offers it."""
    tid, code = await _completed(api)
    path = await _survey_path(api, code)
    past = utcnow() - timedelta(days=31)
    async with app.state.ctx.db.write() as session:
        await session.exec(update(Task).where(col(Task.id) == tid).values(completed_at=past))
        await session.exec(update(SurveyToken).values(expires_at=past + timedelta(days=30)))
    r = await api.http.post(path, json=GOOD)
    assert r.status_code == 410 and r.json()["error"]["code"] == "expired"
    assert "survey_url" not in (await api.http.get(f"/api/v1/track/{code}")).json()
    assert await _responses(app) == []


@pytest.mark.parametrize("change", [
    {"answers": [4, 3, 3, 4, 3, 4, 4, 2, 5]}, {"answers": [0] * 9}, {"answers": [4] * 8},
    {"answers": "444444444"}, {"profile": {"sex": "X"}}, {"profile": {"religion": "-"}},
    {"suggestion": "x" * 2001},
])
async def test_bad_answers_are_422_and_leave_the_link_usable(api: ApiClient, app: Any,
                                                            change: dict[str, Any]) -> None:
    """Out-of-range answers, an unknown profile value or an oversized suggestion answer 422,
    store nothing, and the link still takes a correct answer."""
    _, code = await _completed(api)
    path = await _survey_path(api, code)
    r = await api.http.post(path, json={**GOOD, **change})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid"
    assert await _responses(app) == []
    assert (await api.http.post(path, json=GOOD)).status_code == 201


async def test_an_oversized_body_is_413(api: ApiClient, app: Any) -> None:
    """A body over 64 KiB is refused before it is read whole."""
    _, code = await _completed(api)
    path = await _survey_path(api, code)
    r = await api.http.post(path, json={**GOOD, "suggestion": "x" * 70_000})
    assert r.status_code == 413
    async with app.state.ctx.db.read() as session:
        assert (await session.exec(select(func.count()).select_from(SurveyResponse))).one() == 0
