"""The supervisor's screen in a real browser: the live breach banner fired by the real arq
worker on a seconds-long SLA; and the other boards, for screenshots."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser

from tests.support.browser import (
    LIVE_TIMEOUT_MS,
    LiveSite,
    chromium_browser,
    live_site,
    screenshot,
    sign_in,
    site_env,
    wait_online,
)
from tests.support.worker import WorkerProcess

pytestmark = pytest.mark.browser
__all__ = ["chromium_browser"]  # the Chromium fixture, used by its name "browser"


@pytest.fixture
async def sla_site(sqlite_url: str, redis_url: str, tmp_path: Path) -> AsyncIterator[LiveSite]:
    """The app and a ``ptsa worker`` process with a 2-second P1 pickup SLA."""
    env = site_env(sqlite_url, redis_url, tmp_path, PTSA_SLA_P1_PICKUP="2s",
                   PTSA_SLA_P2_PICKUP="3s", PTSA_SLA_SWEEP="1s")
    async with live_site(env, tmp_path) as site:
        worker = WorkerProcess(env, tmp_path / "worker.log")
        worker.start()
        try:
            yield site
        finally:
            worker.stop()


async def test_the_supervisor_sees_a_live_breach_banner_and_can_acknowledge_it(
        sla_site: LiveSite, browser: Browser) -> None:
    """A request nobody claims within the 2 s pickup SLA raises the banner on the Barenbang
    supervisor's open screens (two PCs); acknowledging it on one takes it off the other within
    a second, without a reload, and reloading either does not bring it back."""
    page = await sign_in(browser, sla_site, "spv-barenbang")
    assert page.url.endswith("/penyelia")
    other = await sign_in(browser, sla_site, "spv-barenbang")
    for screen in (page, other):
        await wait_online(screen)
    task = await sla_site.register(name="Tidak Diambil")
    row = f'[data-list="open"] [data-id="{task["id"]}"]'
    await page.wait_for_selector(row, timeout=1000)
    banner = page.locator(".breach-banner", has_text=task["code"])
    other_banner = other.locator(".breach-banner", has_text=task["code"])
    await banner.wait_for(timeout=8000)
    await other_banner.wait_for(timeout=LIVE_TIMEOUT_MS)
    text = await banner.text_content() or ""
    assert "SLA terlampaui" in text and "pengambilan P1" in text and "Barenbang" in text
    await page.wait_for_selector(f"{row}.overdue", timeout=3000)
    await screenshot(page, "supervisor-breach")
    await banner.locator("button").click()
    await banner.wait_for(state="detached", timeout=1000)
    await other_banner.wait_for(state="detached", timeout=LIVE_TIMEOUT_MS)
    toast = other.locator(".toast", has_text=task["code"])
    assert "sudah dilihat oleh" in (await toast.text_content() or "")
    assert await page.locator(".toast", has_text="sudah dilihat").count() == 0  # it was us
    for screen in (page, other):
        await screen.reload()
        await wait_online(screen)
        await screen.wait_for_timeout(300)
        assert await screen.locator(".breach-banner", has_text=task["code"]).count() == 0
    log = await sign_in(browser, sla_site, "spv-barenbang", "/penyelia/notifikasi")
    assert task["code"] in (await log.text_content("table.log") or "")


# Chromium without a sound card: an AudioContext whose oscillators count their starts.
_COUNT_PLAYS = """
window.__plays = 0;
class CountingAudioContext {
  constructor() { this.currentTime = 0; this.destination = {}; }
  createOscillator() {
    return { type: "", frequency: { value: 0 }, connect() {}, stop() {},
             start() { window.__plays += 1; } };
  }
  createGain() { return { gain: { value: 0 }, connect() {} }; }
}
window.AudioContext = CountingAudioContext;
window.webkitAudioContext = CountingAudioContext;
"""


async def test_a_breach_sounds_only_where_sound_on_breach_is_ticked(
        sla_site: LiveSite, browser: Browser) -> None:
    """Two open supervisor screens, "Bunyi saat terlambat" ticked on one: the breach beeps
    there and stays silent on the other; the choice survives a reload."""
    loud = await sign_in(browser, sla_site, "spv-barenbang")
    quiet = await sign_in(browser, sla_site, "spv-barenbang")
    for screen in (loud, quiet):
        await screen.add_init_script(_COUNT_PLAYS)
        await screen.reload()
        await wait_online(screen)
    toggle = loud.get_by_label("Bunyi saat terlambat")
    await toggle.check()
    assert await loud.evaluate("window.__plays") == 1  # ticking it plays a test beep
    assert not await quiet.get_by_label("Bunyi saat terlambat").is_checked()
    task = await sla_site.register(name="Berbunyi")
    for screen in (loud, quiet):
        await screen.locator(".breach-banner", has_text=task["code"]).wait_for(timeout=8000)
    await loud.wait_for_function("window.__plays >= 2", timeout=1000)
    assert await quiet.evaluate("window.__plays") == 0
    await loud.reload()
    await wait_online(loud)
    assert await loud.get_by_label("Bunyi saat terlambat").is_checked()


async def test_kpi_admin_and_tracking_pages_render_in_the_browser(
        sla_site: LiveSite, browser: Browser) -> None:
    """The KPI charts, the admin pages and Lacak Permohonan render without script errors."""
    task = await sla_site.register(name="Untuk KPI")
    await sla_site.act("p1-barenbang-1", task["id"], "claim")
    await sla_site.act("p1-barenbang-1", task["id"], "dispose", unit="pusdatin")
    await sla_site.act("p2-pusdatin-1", task["id"], "claim")
    await sla_site.act("p2-pusdatin-1", task["id"], "complete", result="Selesai dikirim")
    errors: list[str] = []
    admin = await sign_in(browser, sla_site, "admin")
    admin.on("pageerror", lambda exc: errors.append(str(exc)))
    await admin.goto("/kinerja")
    assert await admin.locator("svg.chart").count() == 5  # four KPI charts and the IKM trend
    await screenshot(admin, "kpi")
    for path, name in (("/admin/petugas", "admin-staff"), ("/admin/kalender", "admin-calendar")):
        await admin.goto(path)
        await screenshot(admin, name)
    visitor = await (await browser.new_context(base_url=sla_site.url,
                                               viewport={"width": 1366, "height": 768})).new_page()
    await visitor.goto(f"/lacak?kode={task['code']}")
    assert await visitor.text_content("#track-stage") == "Selesai"
    await screenshot(visitor, "lacak")
    assert errors == []
