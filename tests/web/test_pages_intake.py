"""The counter: registering a request from the form, the receipt, errors beside fields, escaping."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlmodel import func, select

from hub.app import create_app
from hub.db import Database
from hub.domain.calendar import BusinessCalendar
from hub.models import Task
from tests.conftest import make_settings
from tests.support.pages import PageClient, page_client
from tests.web.conftest import Browser
from web import i18n

APPLICANT = {"service": "data-informasi", "applicant.name": "Siti Rahma",
             "applicant.organisation": "PT Sejahtera", "applicant.phone": "0812-3333-4444",
             "applicant.email": "siti@example.co.id", "description": "Data TKA 2025"}


async def task_count(app: Any) -> int:
    async with app.state.ctx.db.read() as session:
        return int((await session.exec(select(func.count()).select_from(Task))).one())


async def test_intake_shows_services_with_their_sop_days(browser: Browser) -> None:
    """The service picker names each service with its SOP commitment in working days."""
    pages = await browser("p0-1")
    page = await pages.http.get("/loket")
    assert "Pelayanan Data dan Informasi Ketenagakerjaan — 3 hari kerja" in page.text
    assert re.search(r'value="data-informasi" data-sop="3"', page.text)


async def test_registering_leads_to_a_printable_receipt(browser: Browser, app: Any) -> None:
    """A registration answers with the receipt: number, service, committed date in Indonesian,
    and how to track it."""
    pages = await browser("p0-1")
    answer = await pages.post_form("/loket", APPLICANT, token_from="/loket")
    assert answer.status_code == 303
    receipt = await pages.http.get(answer.headers["location"])
    assert receipt.status_code == 200
    text = receipt.text
    code = re.search(r'id="regno">(PTSA-\d{8}-\d{4})<', text)
    assert code, text[:500]
    assert "Tanda terima" in text
    assert "Siti Rahma" in text
    assert "/lacak" in text and f"kode={code.group(1)}" in text
    # Committed completion in Indonesian long format, e.g. "Senin, 30 November 2026, 10.05 WIB".
    assert re.search(r'id="receipt-due"><strong>\w+, \d{1,2} \w+ \d{4}, \d{2}\.\d{2} WIB', text)
    assert "paling lama 3 hari kerja" in text
    assert await task_count(app) == 1


async def test_the_receipt_promises_the_date_the_business_calendar_gives(
        seeded_db: Database, database_url: str, redis_url: str, tmp_path: Path) -> None:
    """On the office calendar, the committed completion printed is the closing time of the
    service's 3rd working day after registration (holidays and weekends skipped), as computed by
    the business calendar, in the receipt's long Indonesian format."""
    settings = make_settings(database_url, redis_url, tmp_path, PTSA_CALENDAR="office")
    application = create_app(settings)
    async with application.router.lifespan_context(application), \
            page_client(application) as http:
        pages = PageClient(http)
        assert (await pages.login("p0-1")).status_code == 303
        answer = await pages.post_form("/loket", APPLICANT, token_from="/loket")
        assert answer.status_code == 303
        receipt = (await http.get(answer.headers["location"])).text
        async with application.state.ctx.db.read() as session:
            task = (await session.exec(select(Task))).one()
    calendar = BusinessCalendar.indonesian(settings.tz, settings.office_hours, [])
    due = calendar.add_working_days(task.created_at, 3)  # data-informasi: SOP 3 working days
    assert (due.hour, due.minute) == (16, 0) and calendar.is_working_day(due.date())
    assert task.due_at == due
    i18n.set_language("id")
    printed = re.search(r'id="receipt-due"><strong>([^<]*)</strong>', receipt)
    assert printed and printed.group(1) == i18n.format_when(due, settings.tz, "long")


async def test_invalid_input_is_shown_beside_the_field_and_typing_is_kept(
        browser: Browser, app: Any) -> None:
    """Without phone or email the form comes back with the message beside the phone field and
    everything typed still there; nothing is registered."""
    pages = await browser("p0-1")
    data = {**APPLICANT, "applicant.phone": "", "applicant.email": ""}
    answer = await pages.post_form("/loket", data, token_from="/loket")
    assert answer.status_code == 422
    assert 'id="err-applicant-phone"' in answer.text
    assert "Isi nomor telepon atau email pemohon" in answer.text
    assert 'value="Siti Rahma"' in answer.text and 'value="PT Sejahtera"' in answer.text
    assert "Data TKA 2025</textarea>" in answer.text
    assert 'value="data-informasi" data-sop="3" data-unit="Pusdatinaker" selected' in answer.text
    assert await task_count(app) == 0


async def test_a_bad_phone_number_is_explained(browser: Browser) -> None:
    """A malformed phone number gets an example of the expected form."""
    pages = await browser("p0-1")
    answer = await pages.post_form("/loket", {**APPLICANT, "applicant.phone": "abc"},
                                   token_from="/loket")
    assert answer.status_code == 422
    assert "Nomor telepon tidak valid; tulis seperti 0812-3456-7890." in answer.text


async def test_intake_without_csrf_token_is_refused(browser: Browser, app: Any) -> None:
    """A forged registration (no token) is refused with 403 and registers nothing."""
    pages = await browser("p0-1")
    answer = await pages.http.post("/loket", data=APPLICANT)
    assert answer.status_code == 403
    assert "Token keamanan formulir" in answer.text
    wrong = await pages.http.post("/loket", data={**APPLICANT, "csrf_token": "forged"})
    assert wrong.status_code == 403
    assert await task_count(app) == 0


async def test_an_applicant_name_with_html_is_shown_as_text(browser: Browser) -> None:
    """``<script>`` in a name is escaped on the receipt, the board and the task page."""
    evil = '<script>alert("x")</script><b>Budi</b>'
    pages = await browser("p0-1")
    answer = await pages.post_form("/loket", {**APPLICANT, "applicant.name": evil},
                                   token_from="/loket")
    location = answer.headers["location"]
    task_id = location.rsplit("/", 1)[1]
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;b&gt;Budi&lt;/b&gt;"
    for path in (location, "/papan", f"/permohonan/{task_id}"):
        page = await pages.http.get(path)
        assert escaped in page.text, path
        assert "<script>alert" not in page.text, path
    # In the JSON for the live JS too, no raw "<" can close the script element.
    board = (await pages.http.get("/papan")).text
    assert "\\u003cscript\\u003e" in board
