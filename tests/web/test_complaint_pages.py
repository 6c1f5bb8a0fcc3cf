"""The public complaint form /pengaduan and complaint tracking on /lacak, as rendered pages."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func
from sqlmodel import select

from hub.models import Complaint
from tests.support.pages import csrf_from
from tests.web.conftest import Browser


async def _count(app: Any) -> int:
    async with app.state.ctx.db.read() as session:
        return int((await session.exec(select(func.count()).select_from(Complaint))).one())


async def test_the_public_form_files_a_complaint_and_tracking_shows_it(app: Any,
                                                                       browser: Browser) -> None:
    """Without sign-in the form gives a complaint number whose tracking page says it waits for
    an answer."""
    visitor = await browser()
    form = await visitor.http.get("/pengaduan")
    assert form.status_code == 200
    sent = await visitor.http.post("/pengaduan", data={
        "csrf_token": csrf_from(form.text), "text": "Antrean terlalu lama", "name": "Budi"})
    assert sent.status_code == 201
    number = re.search(r'id="complaint-number">(ADU-[0-9A-Z-]+)<', sent.text)
    assert number
    page = await visitor.http.get("/lacak", params={"kode": number.group(1)})
    assert page.status_code == 200 and 'id="complaint-result"' in page.text
    assert re.search(r'id="complaint-status">Menunggu jawaban<', page.text)
    assert "Budi" not in page.text


async def test_a_bad_form_is_explained_and_stores_nothing(app: Any, browser: Browser) -> None:
    """An unknown registration number is explained on the form (422) and nothing is stored."""
    visitor = await browser()
    form = await visitor.http.get("/pengaduan")
    sent = await visitor.http.post("/pengaduan", data={
        "csrf_token": csrf_from(form.text), "text": "x", "registration": "PTSA-20200101-0001"})
    assert sent.status_code == 422 and 'id="err-registration"' in sent.text
    assert await _count(app) == 0


async def test_the_form_refuses_a_post_without_its_token(app: Any, browser: Browser) -> None:
    """A cross-site post without the form's CSRF token is 403 and stores nothing."""
    sent = await (await browser()).http.post("/pengaduan", data={"text": "spam"})
    assert sent.status_code == 403
    assert await _count(app) == 0


async def test_a_flood_through_the_form_is_throttled(app: Any, browser: Browser) -> None:
    """The form shares the API's limit: the sixth complaint from one address in ten minutes is
    refused with 429."""
    visitor = await browser(address="10.7.7.7")
    token = csrf_from((await visitor.http.get("/pengaduan")).text)
    statuses = [(await visitor.http.post("/pengaduan", data={
        "csrf_token": token, "text": f"Keluhan {i}"})).status_code for i in range(6)]
    assert statuses == [201] * 5 + [429]
    assert await _count(app) == 5


async def test_only_the_front_office_supervisor_gets_the_forward_form(app: Any,
                                                                     browser: Browser) -> None:
    """The front office supervisor's page lists the unrouted complaint with a forward form; a
    unit supervisor's page lists neither."""
    visitor = await browser()
    token = csrf_from((await visitor.http.get("/pengaduan")).text)
    sent = await visitor.http.post("/pengaduan", data={"csrf_token": token, "text": "Lama"})
    number = re.search(r'id="complaint-number">(ADU-[0-9A-Z-]+)<', sent.text)
    assert number
    front = (await (await browser("spv-ptsa")).http.get("/penyelia")).text
    assert f'data-number="{number.group(1)}"' in front and 'class="complaint-forward' in front
    assert '<option value="pusdatin">' in front
    unit = (await (await browser("spv-pusdatin")).http.get("/penyelia")).text
    assert number.group(1) not in unit and 'class="complaint-forward' not in unit
