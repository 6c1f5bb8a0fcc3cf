"""The public survey pages: the link and QR code on Lacak Permohonan, the questionnaire form."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import select

from hub.domain.skm import ELEMENTS
from hub.models import SurveyResponse
from tests.conftest import ApiClient
from tests.support.api import signed_api
from tests.support.pages import csrf_from
from tests.web.conftest import Browser

P1, P2 = "p1-barenbang-1", "p2-pusdatin-1"


@pytest.fixture
async def api(app: Any) -> AsyncIterator[ApiClient]:
    async with signed_api(app) as client:
        yield client


async def _completed_code(api: ApiClient) -> str:
    task = await api.register()
    for user, action, body in [(P1, "claim", {}), (P1, "dispose", {"unit": "pusdatin"}),
                               (P2, "claim", {}), (P2, "complete", {"result": "Selesai"})]:
        r = await api.as_(user, "POST", f"/api/v1/tasks/{task['id']}/{action}", json=body)
        assert r.status_code in (200, 201), r.text
    return str(task["code"])


async def _count(app: Any) -> int:
    async with app.state.ctx.db.read() as session:
        return int((await session.exec(select(func.count()).select_from(SurveyResponse))).one())


async def test_tracking_page_offers_the_survey_link_and_its_qr_code(api: ApiClient,
                                                                    browser: Browser) -> None:
    """A completed request's tracking page links to /survei/<token> and shows it as an SVG QR."""
    code = await _completed_code(api)
    page = await (await browser()).http.get("/lacak", params={"kode": code})
    assert page.status_code == 200
    link = re.search(r'id="survey-link" href="([^"]+)"', page.text)
    assert link and "/survei/" in link.group(1)
    assert '<svg' in page.text.split('id="survey-invite"', 1)[1]


async def test_the_form_records_answers_once_and_then_says_so(api: ApiClient, app: Any,
                                                               browser: Browser) -> None:
    """The questionnaire shows nine elements with four labels each; a full answer is recorded
    (201) and the link then answers 409 with the 'already answered' page."""
    code = await _completed_code(api)
    url = (await api.http.get(f"/api/v1/track/{code}")).json()["survey_url"]
    path = "/survei/" + url.rsplit("/", 1)[1]
    phone = await browser()
    form = await phone.http.get(path)
    assert form.status_code == 200
    assert form.text.count('class="skm-q"') == len(ELEMENTS) + 1  # nine and the profile
    assert "Sangat sopan dan ramah" in form.text and "Dikelola dengan baik" in form.text
    data = {"csrf_token": csrf_from(form.text), **{f"u{i}": "3" for i in range(1, 10)},
            "sex": "L", "suggestion": "Antrean cepat"}
    partial = await phone.http.post(path, data={k: v for k, v in data.items() if k != "u9"})
    assert partial.status_code == 422 and "kesembilan" in partial.text
    assert await _count(app) == 0
    sent = await phone.http.post(path, data=data)
    assert sent.status_code == 201 and 'id="survey-thanks"' in sent.text
    assert await _count(app) == 1
    again = await phone.http.get(path)
    assert again.status_code == 409 and 'id="survey-refused"' in again.text
    assert (await phone.http.post(path, data=data)).status_code == 409
    assert await _count(app) == 1


async def test_the_form_refuses_a_post_without_its_csrf_token(api: ApiClient, app: Any,
                                                              browser: Browser) -> None:
    """A cross-site post without the form's token is refused and records nothing."""
    code = await _completed_code(api)
    url = (await api.http.get(f"/api/v1/track/{code}")).json()["survey_url"]
    path = "/survei/" + url.rsplit("/", 1)[1]
    r = await (await browser()).http.post(path, data={f"u{i}": "4" for i in range(1, 10)})
    assert r.status_code == 403
    assert await _count(app) == 0


async def test_a_forged_link_shows_the_not_valid_page(browser: Browser) -> None:
    """An unknown token gives a 404 page saying the link is not valid."""
    r = await (await browser()).http.get("/survei/" + "f" * 40)
    assert r.status_code == 404 and 'id="survey-refused"' in r.text
