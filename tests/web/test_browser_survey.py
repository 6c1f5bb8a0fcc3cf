"""The SKM survey in a real browser: from the completed request's tracking page on a phone to the
supervisor's KPI page, live; screenshots of the questionnaire (390×844) and the IKM panel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser

from tests.support.browser import (
    LIVE_TIMEOUT_MS,
    LiveSite,
    Stopwatch,
    chromium_browser,
    live_site,
    screenshot,
    sign_in,
    site_env,
    wait_online,
)

pytestmark = pytest.mark.browser
__all__ = ["chromium_browser"]  # the Chromium fixture, used by its name "browser"
PHONE = {"width": 390, "height": 844}
# Answers a..d chosen per element; by hand: 4+4+3+4+3+3+4+2+3 = 30, / 9 x 25 = 83.33, mutu B.
CHOICES = [4, 4, 3, 4, 3, 3, 4, 2, 3]


@pytest.fixture
async def site(sqlite_url: str, redis_url: str, tmp_path: Path) -> AsyncIterator[LiveSite]:
    async with live_site(site_env(sqlite_url, redis_url, tmp_path), tmp_path) as running:
        yield running


async def test_a_phone_answers_the_survey_once_and_the_kpi_page_shows_it_live(
        site: LiveSite, browser: Browser) -> None:
    """Complete a request; the tracking page on a phone links to the questionnaire; answering
    it shows thanks, the link then refuses a second use, and the Pusdatin supervisor's open KPI
    page shows the new IKM within a second of the submission, without a reload."""
    kpi = await sign_in(browser, site, "spv-pusdatin", "/kinerja")
    await wait_online(kpi)
    assert await kpi.text_content("#ikm-respondents") == "0"
    task = await site.register(name="Rahmat Hidayat")
    await site.act("p1-barenbang-1", task["id"], "claim")
    await site.act("p1-barenbang-1", task["id"], "dispose", unit="pusdatin")
    await site.act("p2-pusdatin-1", task["id"], "claim")
    await site.act("p2-pusdatin-1", task["id"], "complete", result="Data dikirim")

    phone_context = await browser.new_context(viewport=PHONE, base_url=site.url, locale="id-ID",
                                              timezone_id="Asia/Jakarta", is_mobile=True,
                                              has_touch=True)
    phone = await phone_context.new_page()
    await phone.goto(f"/lacak?kode={task['code']}")
    assert await phone.locator("#survey-invite svg").count() == 1  # the QR code
    await phone.click("#survey-link")
    await phone.wait_for_selector("#survey-form")
    assert "/survei/" in phone.url
    survey_url = phone.url
    width = await phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]  # no sideways scrolling on the phone
    await screenshot(phone, "survey-phone")
    for n, choice in enumerate(CHOICES, start=1):
        await phone.check(f'input[name="u{n}"][value="{choice}"]')
    await phone.select_option("#p-age_group", "30-39")
    await phone.select_option("#p-sex", "L")
    await phone.fill("#suggestion", "Mohon tambah kursi di ruang tunggu")
    await screenshot(phone, "survey-phone-filled")
    await phone.click("#survey-send")
    clock = Stopwatch()
    await phone.wait_for_selector("#survey-thanks")

    await kpi.wait_for_function(
        "() => document.getElementById('ikm-respondents').textContent === '1'",
        timeout=LIVE_TIMEOUT_MS)
    assert clock.ms < LIVE_TIMEOUT_MS + 200, f"IKM shown {clock.ms:.0f} ms after submission"
    assert await kpi.text_content("#ikm-value") == "83,33"
    assert "B" in (await kpi.text_content("#ikm-mutu") or "")
    assert await kpi.text_content("#ikm-population") == "1"
    assert await kpi.locator("#ikm-sample-flag").is_hidden()  # 1 of 1 served: enough
    await kpi.locator("#ikm-panel").scroll_into_view_if_needed()
    shot = await kpi.locator("#ikm-panel").screenshot(path=str(
        (await screenshot(kpi, "ikm-panel-page")).with_name("ikm-panel.png")))
    assert shot

    again = await phone.goto(survey_url)
    assert again is not None and again.status == 409
    assert "sudah diisi" in (await phone.text_content("#survey-refused") or "")
    tracking = await phone.goto(f"/lacak?kode={task['code']}")
    assert tracking is not None and await phone.locator("#survey-invite").count() == 0
