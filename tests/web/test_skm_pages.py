"""The IKM panel on /kinerja and the printable SKM summary, read as the pages render them."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.conftest import ApiClient
from tests.hub.api.test_skm import MIXED, answer, complete
from tests.support.api import signed_api
from tests.web.conftest import Browser


@pytest.fixture
async def api(app: Any) -> AsyncIterator[ApiClient]:
    async with signed_api(app) as client:
        yield client


async def test_kpi_page_shows_the_ikm_panel_with_its_csv_and_print_links(
        api: ApiClient, browser: Browser) -> None:
    """After one answer the panel shows its IKM and mutu, the CSV and print links carry the
    page's period, and the page listens on the supervisor's channel."""
    await answer(api, await complete(api, "data-informasi", "pusdatin"), MIXED)
    page = await (await browser("spv-barenbang")).http.get("/kinerja")
    assert page.status_code == 200
    # (8 x 3 + 2) / 9 x 25 = 72.22: band C (65.00-76.60), written the Indonesian way.
    assert re.search(r'id="ikm-value">72,22<', page.text)
    assert re.search(r'id="ikm-mutu">C · Kurang baik<', page.text)
    assert re.search(r'id="ikm-respondents">1<', page.text)
    assert re.search(r'href="/api/v1/skm\?from=[-0-9]+&amp;to=[-0-9]+&amp;format=csv" id="ikm-csv"',
                     page.text)
    assert 'id="ikm-print"' in page.text and "sup.barenbang" in page.text


async def test_the_printable_summary_shows_the_regulations_tabulation(
        api: ApiClient, browser: Browser) -> None:
    """/kinerja/skm?unit=pusdatin lists IKM, mutu, the nine NRR and the weighted values."""
    await answer(api, await complete(api, "data-informasi", "pusdatin"), MIXED)
    page = await (await browser("spv-pusdatin")).http.get("/kinerja/skm?unit=pusdatin")
    assert page.status_code == 200
    assert re.search(r'id="summary-ikm"><strong>72,22<', page.text)
    assert re.search(r'id="summary-mutu">C \(Kurang baik\)<', page.text)
    assert page.text.count("<td>3,00</td>") == 8 and "<td>0.333</td>" in page.text
    assert "Penanganan pengaduan, saran dan masukan" in page.text


async def test_the_summary_of_another_unit_is_refused(browser: Browser) -> None:
    """A Pusrenaker supervisor asking for Pusdatin's summary gets 403."""
    page = await (await browser("spv-pusrenaker")).http.get("/kinerja/skm?unit=pusdatin")
    assert page.status_code == 403
