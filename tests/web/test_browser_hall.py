"""The hall in a real browser (Chromium): kiosk → slip → counters call → the hall display shows
and speaks each call → "Daftarkan" registers the linked request → the P1 board shows it; and the
display after a network blip. Device tokens come from the real ``ptsa device add`` command.

The display's speech is captured at the browser API boundary: an init script replaces
``window.speechSynthesis`` (speak/getVoices) and records each utterance's text.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from config.settings import PROJECT_ROOT
from tests.conftest import ENGINES, fresh_database
from tests.support.browser import (
    LIVE_TIMEOUT_MS,
    LiveSite,
    Stopwatch,
    card,
    chromium_browser,
    live_site,
    screenshot,
    sign_in,
    site_env,
    wait_online,
)

pytestmark = pytest.mark.browser
__all__ = ["chromium_browser"]  # the Chromium fixture, used by its name "browser"
# The two flows run on SQLite and PostgreSQL (as in test_browser_live.py); the rest on SQLite.
on_each_engine = pytest.mark.parametrize("engine", ENGINES)
SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"

SPEECH_STUB = """
window.__spoken = [];
window.__chimes = 0;
(() => {
  const play = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function () { window.__chimes += 1; return play.call(this); };
  const voice = Object.create(window.SpeechSynthesisVoice ? SpeechSynthesisVoice.prototype : {});
  Object.defineProperty(voice, "lang", { value: "id-ID" });
  Object.defineProperty(voice, "name", { value: "Bahasa Indonesia (uji)" });
  Object.defineProperty(window, "speechSynthesis", { configurable: true, value: {
    speak(u) { window.__spoken.push(u.text); setTimeout(() => u.onend && u.onend(), 20); },
    getVoices() { return [voice]; }, cancel() {}, onvoiceschanged: null,
  }});
})();
"""


@pytest.fixture
def engine() -> str:
    return "sqlite"


@pytest.fixture
def site_database_url(engine: str, tmp_path: Path) -> Iterator[str]:
    yield from fresh_database(engine, tmp_path)


@pytest.fixture
async def site(site_database_url: str, redis_url: str,
               tmp_path: Path) -> AsyncIterator[LiveSite]:
    async with live_site(site_env(site_database_url, redis_url, tmp_path), tmp_path) as running:
        yield running


def add_device(site: LiveSite, name: str, kind: str) -> str:
    """``ptsa device add`` against the site's database; returns the token it printed."""
    done = subprocess.run([sys.executable, "-m", "hub.cli", "device", "add", name, "--kind", kind],
                          env={"PATH": "/usr/bin:/bin", **site.env}, capture_output=True,
                          text=True, check=True, cwd=PROJECT_ROOT)
    match = re.search(r"^(ptsa-dev-\S+)$", done.stdout, re.M)
    assert match, done.stdout + done.stderr
    return match.group(1)


async def device_page(browser: Browser, site: LiveSite, path: str, token: str,
                      viewport: dict[str, int] | None = None, speech: bool = False,
                      voice_lang: str = "id-ID") -> Page:
    context = await browser.new_context(base_url=site.url, locale="id-ID",
                                        timezone_id="Asia/Jakarta",
                                        viewport=viewport or {"width": 1366, "height": 768})
    if speech:
        await context.add_init_script(SPEECH_STUB.replace("id-ID", voice_lang))
    # The print dialog is the browser's: record that the slip asked for it.
    await context.add_init_script("window.print = () => { window.__printed = true; };")
    page = await context.new_page()
    await page.goto(f"{path}?token={token}")
    assert page.url.endswith(path), "the token is taken out of the address"
    return page


async def spoken(page: Page) -> list[str]:
    return list(await page.evaluate("() => window.__spoken"))


async def number_at(page: Page, counter: str) -> str:
    return (await page.text_content(
        f'.layar-counter[data-counter="{counter}"] .layar-number') or "").strip()


@on_each_engine
async def test_a_kiosk_ticket_is_called_announced_and_registered_as_a_linked_request(
        site: LiveSite, browser: Browser) -> None:
    """Tap A twice at the kiosk → slips A-001/A-002 → loket-1 and loket-2 call in turn → the
    display shows and speaks each call within 1 s → Daftarkan at loket-1 registers the request
    linked to A-001 → the P1 board shows it."""
    kiosk = await device_page(browser, site, "/antrean", add_device(site, "kiosk-lobi", "kiosk"))
    display = await device_page(browser, site, "/layar",
                                add_device(site, "layar-aula", "display"),
                                viewport={"width": 1920, "height": 1080}, speech=True)
    loket1 = await sign_in(browser, site, "p0-1", "/loket/antrean?loket=loket-1")
    loket2 = await sign_in(browser, site, "p0-2", "/loket/antrean?loket=loket-2")
    p1 = await sign_in(browser, site, "p1-barenbang-1")
    for page in (display, loket1, loket2, p1):
        await wait_online(page)
    await screenshot(kiosk, "hall-kiosk")
    await kiosk.screenshot(path=str(SCREENSHOTS / "hall-kiosk.png"))

    slips = []
    for _ in range(2):
        await kiosk.click('.kiosk-button[data-group="A"]')
        await kiosk.wait_for_url(re.compile(r"/antrean/tiket/\d+"))
        await kiosk.wait_for_function("() => window.__printed === true")
        slips.append(await kiosk.text_content(".slip-number"))
        if len(slips) == 1:
            slip_url = (await kiosk.text_content("#slip-url") or "").strip()
            assert "Informasi & Data" in (await kiosk.text_content(".slip-group") or "")
            assert await kiosk.locator(".slip-qr svg").count() == 1
            await kiosk.emulate_media(media="print")
            await kiosk.screenshot(path=str(SCREENSHOTS / "hall-slip-print.png"))
            await kiosk.emulate_media(media="screen")
        await kiosk.goto("/antrean")
    assert slips == ["A-001", "A-002"]
    await display.wait_for_function(
        "() => document.querySelector('#waiting [data-group=\"A\"] .count').textContent === '2'",
        timeout=LIVE_TIMEOUT_MS)

    for counter_page, counter, number, words in (
            (loket1, "loket-1", "A-001", "Nomor antrean A satu, silakan ke loket satu"),
            (loket2, "loket-2", "A-002", "Nomor antrean A dua, silakan ke loket dua")):
        stopwatch = Stopwatch()
        await counter_page.click("#call-next")
        await display.wait_for_function(
            f"() => document.querySelector('.layar-counter[data-counter=\"{counter}\"] "
            f".layar-number').textContent.trim() === '{number}'", timeout=LIVE_TIMEOUT_MS)
        assert stopwatch.ms < LIVE_TIMEOUT_MS, f"{number} took {stopwatch.ms:.0f} ms"
        await display.wait_for_function(f"() => window.__spoken.includes('{words}')",
                                        timeout=3000)
        assert (await counter_page.text_content("#current-number") or "").strip() == number
    assert await spoken(display) == ["Nomor antrean A satu, silakan ke loket satu",
                                     "Nomor antrean A dua, silakan ke loket dua"]
    assert await display.evaluate("() => window.__chimes") == 2  # a chime before each
    text = "Loket 4 khusus PKB dan Peraturan Perusahaan. Layanan gratis."
    assert (await site.api("admin", "POST", "/api/v1/queue/text",
                           json={"text": text})).status_code == 200
    await display.wait_for_function(
        f"() => document.getElementById('running-text').textContent === '{text}'",
        timeout=LIVE_TIMEOUT_MS)
    await display.screenshot(path=str(SCREENSHOTS / "hall-display.png"))
    await loket1.screenshot(path=str(SCREENSHOTS / "hall-counter.png"))

    empty = await loket1.evaluate("""async () => {
        const r = await fetch('/api/v1/queue/call', {method: 'POST', credentials: 'same-origin',
          headers: {'Content-Type': 'application/json', 'X-CSRF-Token': PTSA.config.csrf},
          body: JSON.stringify({counter: 'loket-1'})});
        return [r.status, (await r.json()).error.code]; }""")
    assert empty == [409, "queue_empty"]
    await loket1.click("#call-next")  # nobody waits: the screen says so, the ticket stays
    await loket1.wait_for_selector("#queue-message.alert:has-text('Tidak ada')")
    assert (await loket1.text_content("#current-number") or "").strip() == "A-001"

    await loket1.click("#register")
    await loket1.wait_for_url(re.compile(r"/loket\?antrean=\d+"))
    assert "A-001" in (await loket1.text_content("#queue-ticket") or "")
    assert await loket1.input_value("#service") == "data-informasi"
    await loket1.fill("#applicant-name", "Sri Wahyuni")
    await loket1.fill("#applicant-phone", "0812-3333-4444")
    await loket1.click("#intake-form button#register")
    await loket1.wait_for_url("**/tanda-terima/*")
    task_id = int(loket1.url.rsplit("/", 1)[1])
    code = (await loket1.text_content("#regno") or "").strip()
    await p1.wait_for_selector(card("queue", task_id), timeout=LIVE_TIMEOUT_MS)
    assert "Sri Wahyuni" in (await p1.text_content(card("queue", task_id)) or "")
    # The slip's QR link now leads to the registration number.
    status = await loket1.context.new_page()
    await status.goto(slip_url)
    assert await status.get_attribute("#ticket-status", "data-status") == "served"
    assert code in (await status.text_content("#ticket-status") or "")


@on_each_engine
async def test_the_display_recovers_after_ten_seconds_offline_without_repeating_a_call(
        site: LiveSite, browser: Browser) -> None:
    """One call is spoken; the display goes offline for 10 s while 3 calls happen; back online
    it shows each counter's current number and has spoken nothing twice (nor the missed calls)."""
    display = await device_page(browser, site, "/layar",
                                add_device(site, "layar-aula", "display"),
                                viewport={"width": 1920, "height": 1080}, speech=True)
    await wait_online(display)
    for _ in range(4):
        assert (await site.api("p0-1", "POST", "/api/v1/queue/tickets",
                               json={"group": "B"})).status_code == 201
    first = await site.api("p0-1", "POST", "/api/v1/queue/call", json={"counter": "loket-1"})
    assert first.json()["number"] == "B-001"
    await display.wait_for_function("() => window.__spoken.length === 1", timeout=3000)

    await display.context.set_offline(True)
    await display.wait_for_selector('#conn[data-status="offline"]', timeout=5000)
    for counter in ("loket-2", "loket-3", "loket-1"):
        answer = await site.api("p0-2", "POST", "/api/v1/queue/call", json={"counter": counter})
        assert answer.status_code == 200
    await asyncio.sleep(10)
    await display.context.set_offline(False)
    await wait_online(display, timeout_ms=20000)
    await display.wait_for_function(
        "() => document.querySelector('.layar-counter[data-counter=\"loket-1\"] "
        ".layar-number').textContent.trim() === 'B-004'", timeout=3000)
    assert await number_at(display, "loket-2") == "B-002"
    assert await number_at(display, "loket-3") == "B-003"
    assert (await display.text_content('#waiting [data-group="B"] .count') or "") == "0"
    await asyncio.sleep(1.5)  # any late speech would have started by now
    assert await spoken(display) == ["Nomor antrean B satu, silakan ke loket satu"]

    # A fresh call after the blip is spoken again, once.
    await site.api("p0-1", "POST", "/api/v1/queue/tickets", json={"group": "B"})
    await site.api("p0-1", "POST", "/api/v1/queue/call", json={"counter": "loket-2"})
    await display.wait_for_function("() => window.__spoken.length === 2", timeout=3000)
    assert (await spoken(display))[1] == "Nomor antrean B lima, silakan ke loket dua"


async def test_the_front_office_supervisor_sees_waits_over_the_target_live(
        site_database_url: str, redis_url: str, tmp_path: Path, browser: Browser) -> None:
    """With a 3-second waiting target: a new ticket shows as waiting within 1 s, becomes overdue
    once it has waited past the target, and leaves the count within 1 s of being called."""
    env = site_env(site_database_url, redis_url, tmp_path, PTSA_QUEUE_WAIT_TARGET="3s")
    async with live_site(env, tmp_path) as site:
        supervisor = await sign_in(browser, site, "spv-ptsa", "/penyelia")
        await wait_online(supervisor)
        await supervisor.wait_for_function(
            "() => document.getElementById('hall-overdue-count').textContent === '0'")
        await site.api("p0-1", "POST", "/api/v1/queue/tickets", json={"group": "A"})
        await supervisor.wait_for_function(
            "() => document.getElementById('hall-waiting').textContent === '1'",
            timeout=LIVE_TIMEOUT_MS)
        await supervisor.wait_for_function(
            "() => document.getElementById('hall-overdue-count').textContent === '1'",
            timeout=15000)
        await supervisor.screenshot(path=str(SCREENSHOTS / "hall-supervisor.png"))
        await site.api("p0-1", "POST", "/api/v1/queue/call", json={"counter": "loket-1"})
        await supervisor.wait_for_function(
            "() => document.getElementById('hall-overdue-count').textContent === '0'",
            timeout=LIVE_TIMEOUT_MS)
        assert (await supervisor.text_content("#hall-average") or "").endswith(" min")


async def test_a_revoked_display_loses_its_screen_at_once(site: LiveSite,
                                                          browser: Browser) -> None:
    """The admin revokes the display on the devices page; its socket is closed and the screen
    shows the Indonesian refusal instead of the queue."""
    display = await device_page(browser, site, "/layar",
                                add_device(site, "layar-lama", "display"), speech=True)
    await wait_online(display)
    admin = await sign_in(browser, site, "admin", "/admin/perangkat")
    await admin.screenshot(path=str(SCREENSHOTS / "hall-devices.png"))
    await admin.click('tr[data-device="layar-lama"] button.danger')
    await admin.wait_for_selector('tr[data-device="layar-lama"]:has-text("dicabut")')
    await display.wait_for_selector("#refused[data-code='device_revoked']", timeout=5000)
    assert "dicabut" in (await display.text_content("#refused") or "")


async def test_without_an_indonesian_voice_the_display_calls_with_the_chime_alone(
        site: LiveSite, browser: Browser) -> None:
    """Only an English voice on the system: the call is shown and nothing is spoken (an English
    voice would mangle "Nomor antrean A satu")."""
    display = await device_page(browser, site, "/layar", add_device(site, "layar-2", "display"),
                                speech=True, voice_lang="en-US")
    await wait_online(display)
    await site.api("p0-1", "POST", "/api/v1/queue/tickets", json={"group": "C"})
    await site.api("p0-1", "POST", "/api/v1/queue/call", json={"counter": "loket-4"})
    await display.wait_for_function(
        "() => document.querySelector('.layar-counter[data-counter=\"loket-4\"] "
        ".layar-number').textContent.trim() === 'C-001'", timeout=LIVE_TIMEOUT_MS)
    await asyncio.sleep(2)
    assert await spoken(display) == []
    assert await display.evaluate("() => window.__chimes") == 1
