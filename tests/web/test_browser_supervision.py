"""Supervisor actions in a real browser (Chromium): release and take over from the supervisor
screen, reassign and re-route from the task page, each seen live by the desks it concerns; a
desk sees no supervisor actions; and the live banner of a P1 handling breach."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser

from config.settings import PROJECT_ROOT
from tests.support.browser import (
    LIVE_TIMEOUT_MS,
    LiveSite,
    card,
    chromium_browser,
    live_site,
    sign_in,
    site_env,
    wait_online,
)
from tests.support.worker import WorkerProcess

pytestmark = pytest.mark.browser
__all__ = ["chromium_browser"]  # the Chromium fixture, used by its name "browser"
SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"


@pytest.fixture
async def site(sqlite_url: str, redis_url: str, tmp_path: Path) -> AsyncIterator[LiveSite]:
    async with live_site(site_env(sqlite_url, redis_url, tmp_path), tmp_path) as running:
        yield running


async def test_supervisor_releases_a_claimed_request_from_the_supervisor_screen(
        site: LiveSite, browser: Browser) -> None:
    """The reason typed in the row and 'Lepaskan' put the request back in the unit's queue:
    the row shows it queued and the other desk's board shows the card, both without reload."""
    task = await site.register(name="Pemohon Tertahan")
    await site.act("p1-barenbang-1", task["id"], "claim")
    spv = await sign_in(browser, site, "spv-barenbang")
    desk = await sign_in(browser, site, "p1-barenbang-2")
    for page in (spv, desk):
        await wait_online(page)
    row = spv.locator(card("open", task["id"]))
    release = row.locator('form[data-action="release"]')
    await release.wait_for()
    assert await row.locator('form[data-action="takeover"]').is_visible()
    await release.locator("input[name=reason]").fill("Petugas sakit")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await spv.screenshot(path=str(SCREENSHOTS / "supervisor-actions.png"))
    await release.locator("button").click()
    await spv.wait_for_selector(f'{card("open", task["id"])}.status-queued',
                                timeout=LIVE_TIMEOUT_MS * 3)
    assert await release.is_hidden()
    await desk.wait_for_selector(card("queue", task["id"]), timeout=LIVE_TIMEOUT_MS * 2)
    detail = (await site.api("p0-1", "GET", f"/api/v1/tasks/{task['id']}")).json()
    last = detail["history"][-1]
    assert (last["type"], last["actor"]["username"], last["data"]["reason"]) == (
        "task.released", "spv-barenbang", "Petugas sakit")


async def test_supervisor_reassigns_and_reroutes_from_the_task_page(
        site: LiveSite, browser: Browser) -> None:
    """On the task page the supervisor reassigns to a named desk and, once disposed, re-routes
    to another Eselon II unit; the timeline shows both with their reasons."""
    task = await site.register(name="Salah Alamat")
    await site.act("p1-barenbang-1", task["id"], "claim")
    page = await sign_in(browser, site, "spv-barenbang", f"/permohonan/{task['id']}")
    await wait_online(page)
    area = page.locator("#supervisi")
    assert await area.locator("h4").all_inner_texts() == [
        "Tugaskan ulang ke petugas lain", "Lepaskan ke antrean unit", "Ambil alih sendiri"]
    form = area.locator('form[data-action="reassign"]')
    await form.locator("select[name=to]").select_option("p1-barenbang-2")
    await form.get_by_label("Alasan penugasan ulang").fill("Beban kerja dibagi")
    await form.locator("button").click()
    await page.wait_for_selector("text=Permohonan ditugaskan ulang.")
    holder = (await site.api("p0-1", "GET", f"/api/v1/tasks/{task['id']}")).json()["assignee"]
    assert holder["username"] == "p1-barenbang-2"
    assert holder["name"] in (await page.text_content("#task-assignee") or "")
    await site.act("p1-barenbang-2", task["id"], "dispose", unit="pusdatin")
    await page.goto(f"/permohonan/{task['id']}")
    await wait_online(page)
    form = page.locator('#supervisi form[data-action="reroute"]')
    disabled = await form.locator("option[disabled]").all_inner_texts()
    assert any("Puslitbang" in t or "Penelitian" in t for t in disabled), disabled
    await form.locator("select[name=unit]").select_option("pusrenaker")
    await form.get_by_label("Alasan pengalihan").fill("Ranah perencanaan")
    # One script call: a live redraw of the page (an event published just after the dispose
    # answered) may replace the form between two Playwright steps; typed values survive it.
    await page.evaluate(
        "document.querySelector('#supervisi form[data-action=\"reroute\"]').scrollIntoView()")
    await page.screenshot(path=str(SCREENSHOTS / "supervisor-task-actions.png"))
    await form.locator("button").click()
    await page.wait_for_selector("text=Disposisi permohonan dialihkan.")
    timeline = await page.text_content(".timeline") or ""
    assert "Ditugaskan ulang ke p1-barenbang-2" in timeline and "Beban kerja dibagi" in timeline
    assert "Disposisi dialihkan ke" in timeline and "Ranah perencanaan" in timeline


async def test_eselon2_supervisor_takes_over_and_a_desk_sees_no_supervisor_actions(
        site: LiveSite, browser: Browser) -> None:
    """The Pusdatin supervisor takes a queued request over from the supervisor screen; the
    Pusdatin desk's task page offers no supervisor actions, only its own labelled ones."""
    task = await site.register(name="Ambil Alih")
    await site.act("p1-barenbang-1", task["id"], "claim")
    await site.act("p1-barenbang-1", task["id"], "dispose", unit="pusdatin")
    desk = await sign_in(browser, site, "p2-pusdatin-1", f"/permohonan/{task['id']}")
    assert await desk.locator("#supervisi").count() == 0
    titles = await desk.locator(".action-area h3").all_inner_texts()
    assert titles == ["Ambil", "Kembalikan ke Barenbang"], titles
    assert await desk.locator(".action-area button.primary").all_inner_texts() == ["Ambil"]
    spv = await sign_in(browser, site, "spv-pusdatin")
    await wait_online(spv)
    row = spv.locator(card("open", task["id"]))
    takeover = row.locator('form[data-action="takeover"]')
    await takeover.locator("input[name=reason]").fill("Antrean menumpuk")
    await takeover.locator("button").click()
    await spv.wait_for_selector(f'{card("open", task["id"])}.status-claimed',
                                timeout=LIVE_TIMEOUT_MS * 3)
    # The desk's open page redraws live: the request is held now, its claim button gone.
    await desk.wait_for_function("() => !document.querySelector('.action-area')",
                                 timeout=LIVE_TIMEOUT_MS * 3)
    holder = (await site.api("p0-1", "GET", f"/api/v1/tasks/{task['id']}")).json()["assignee"]
    assert holder["username"] == "spv-pusdatin"
    assert holder["name"] in (await desk.text_content("#task-assignee") or "")


async def test_supervisor_screen_links_to_reassign_only_where_the_task_page_offers_it(
        site: LiveSite, browser: Browser) -> None:
    """The row's 'reassign or re-route' link shows for a claimed request and not for one
    returned to the front office (whose task page offers neither: both commands refuse it),
    on load and when a request is returned live."""
    returned = await site.register(name="Sudah Kembali")
    await site.act("p1-barenbang-1", returned["id"], "claim")
    await site.act("p1-barenbang-1", returned["id"], "return", reason="Berkas kurang")
    held = await site.register(name="Masih Diproses")
    await site.act("p1-barenbang-1", held["id"], "claim")
    spv = await sign_in(browser, site, "spv-barenbang")
    await wait_online(spv)
    link = 'a[data-f="supervise"]'
    await spv.locator(card("open", held["id"])).wait_for()
    assert await spv.locator(f'{card("open", held["id"])} {link}').is_visible()
    assert await spv.locator(f'{card("open", returned["id"])}.status-returned').count() == 1
    assert await spv.locator(f'{card("open", returned["id"])} {link}').is_hidden()
    page = await sign_in(browser, site, "spv-barenbang", f"/permohonan/{returned['id']}")
    assert await page.locator("#supervisi").count() == 0  # what the link would have led to
    await site.act("p1-barenbang-1", held["id"], "return", reason="Salah layanan")
    await spv.wait_for_selector(f'{card("open", held["id"])}.status-returned',
                                timeout=LIVE_TIMEOUT_MS * 3)
    assert await spv.locator(f'{card("open", held["id"])} {link}').is_hidden()


@pytest.fixture
async def handling_site(sqlite_url: str, redis_url: str,
                        tmp_path: Path) -> AsyncIterator[LiveSite]:
    """The app and a ``ptsa worker`` with a 3-second P1 handling SLA."""
    env = site_env(sqlite_url, redis_url, tmp_path, PTSA_SLA_P1_HANDLING="3s",
                   PTSA_SLA_SWEEP="1s")
    async with live_site(env, tmp_path) as running:
        worker = WorkerProcess(env, tmp_path / "worker.log")
        worker.start()
        try:
            yield running
        finally:
            worker.stop()


async def test_p1_handling_breach_raises_the_live_banner(handling_site: LiveSite,
                                                         browser: Browser) -> None:
    """A request claimed at once but not disposed within 3 s raises the banner on the Barenbang
    supervisor's screen, naming the P1 handling deadline, without a reload."""
    page = await sign_in(browser, handling_site, "spv-barenbang")
    await wait_online(page)
    task = await handling_site.register(name="Didiamkan")
    await handling_site.act("p1-barenbang-1", task["id"], "claim")
    banner = page.locator(".breach-banner", has_text=task["code"])
    await banner.wait_for(timeout=10000)
    text = await banner.text_content() or ""
    assert "SLA terlampaui" in text and "penanganan P1" in text and "Barenbang" in text
