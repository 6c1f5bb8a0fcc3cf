"""The staff screens in a real browser (Chromium), several staff at once, live over /ws."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from channels import names
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


# Every test runs on SQLite; the ones whose path through the database matters most (the whole
# flow, the two kinds of reconnect) run on PostgreSQL too. All of them on both engines would take
# this file from ~1.5 to over 3 minutes on the 2-core CI machine. Like ``database_url`` in
# tests/conftest.py, PostgreSQL missing is an error, not a skip.
on_each_engine = pytest.mark.parametrize("engine", ENGINES)


@pytest.fixture
def engine() -> str:
    """SQLite unless the test is marked ``on_each_engine`` (which parametrises this away)."""
    return "sqlite"


@pytest.fixture
def site_database_url(engine: str, tmp_path: Path) -> Iterator[str]:
    yield from fresh_database(engine, tmp_path)


@pytest.fixture
async def site(site_database_url: str, redis_url: str,
               tmp_path: Path) -> AsyncIterator[LiveSite]:
    async with live_site(site_env(site_database_url, redis_url, tmp_path), tmp_path) as running:
        yield running


async def queue_ids(page: Page, list_name: str = "queue") -> list[int]:
    ids = await page.eval_on_selector_all(f'[data-list="{list_name}"] [data-id]',
                                          "els => els.map(e => Number(e.dataset.id))")
    return list(ids)


@on_each_engine
async def test_a_request_flows_from_the_counter_to_completion_live(
        site: LiveSite, browser: Browser) -> None:
    """P0 registers → the P1 board shows it within 1 s → P1 claims and disposes → the P2 board
    shows it → P2 completes → the P0 board shows it done; nobody reloads."""
    p1 = await sign_in(browser, site, "p1-barenbang-1")
    p2 = await sign_in(browser, site, "p2-pusdatin-1")
    p0_board = await sign_in(browser, site, "p0-2", "/papan")
    counter = await sign_in(browser, site, "p0-1")
    for page in (p1, p2, p0_board, counter):
        await wait_online(page)

    # The counter, by keyboard alone: the service list has focus on load; typing picks by name,
    # the arrow keys move, Enter goes on to the name; Tab walks the fields; Enter on the button.
    await counter.wait_for_function("() => document.activeElement.id === 'service'")
    keys = counter.keyboard
    await keys.type("Pelayanan B")  # type-ahead: "Pelayanan Bahan Penyusunan RTK"
    assert await counter.input_value("#service") == "rtk"
    await keys.press("ArrowDown")  # the next one down: "Pelayanan Data dan Informasi"
    assert await counter.input_value("#service") == "data-informasi"
    await keys.press("Enter")
    for field, text in (("applicant-name", "Dewi Lestari"), ("applicant-org", "CV Kreatif"),
                        ("applicant-phone", "0813-2222-3333"),
                        ("applicant-email", "dewi@kreatif.co.id"),
                        ("description", "Data penempatan 2025 per provinsi")):
        if field != "applicant-name":
            await keys.press("Tab")
        assert await counter.evaluate("() => document.activeElement.id") == field
        await keys.type(text)
    await keys.press("Tab")
    assert await counter.evaluate("() => document.activeElement.id") == "register"
    await screenshot(counter, "p0-intake")
    # From the keypress, not from the receipt: the whole path (form post, commit, relay, Redis,
    # the P1's socket, the board's redraw) must fit in the second.
    stopwatch = Stopwatch()
    await keys.press("Enter")
    await p1.wait_for_selector('[data-list="queue"] [data-id]:has-text("Dewi Lestari")',
                               timeout=LIVE_TIMEOUT_MS)
    assert stopwatch.ms < LIVE_TIMEOUT_MS, f"the P1 card took {stopwatch.ms:.0f} ms"
    await counter.wait_for_url("**/tanda-terima/*")
    task_id = int(counter.url.rsplit("/", 1)[1])
    code = await counter.text_content("#regno") or ""
    await screenshot(counter, "p0-receipt")
    assert code.startswith("PTSA-")
    assert code in (await p1.text_content(card("queue", task_id)) or "")
    await screenshot(p1, "p1-board")
    await p1.click(f'{card("queue", task_id)} form[data-action="claim"] button')
    await p1.wait_for_selector(card("mine", task_id), timeout=LIVE_TIMEOUT_MS)
    await p1.select_option(f'{card("mine", task_id)} select[name="unit"]', "pusdatin")
    await p1.click(f'{card("mine", task_id)} form[data-action="dispose"] button')
    await p1.wait_for_selector(f'[data-id="{task_id}"]', state="detached",
                               timeout=LIVE_TIMEOUT_MS)

    await p2.wait_for_selector(card("queue", task_id), timeout=LIVE_TIMEOUT_MS)
    await screenshot(p2, "p2-board")
    await p2.click(f'{card("queue", task_id)} form[data-action="claim"] button')
    await p2.wait_for_selector(card("mine", task_id), timeout=LIVE_TIMEOUT_MS)
    await p2.fill(f'{card("mine", task_id)} input[name="result"]', "Data dikirim lewat email")
    await p2.click(f'{card("mine", task_id)} form[data-action="complete"] button')
    await p2.wait_for_selector(f'[data-id="{task_id}"]', state="detached",
                               timeout=LIVE_TIMEOUT_MS)

    done = f'{card("today", task_id)}.status-completed'
    await p0_board.wait_for_selector(done, timeout=LIVE_TIMEOUT_MS)
    assert await p0_board.text_content(f'{done} [data-f="status"]') == "Selesai"
    await screenshot(p0_board, "p0-board")


async def test_a_card_claimed_by_one_p1_leaves_the_other_p1s_queue(
        site: LiveSite, browser: Browser) -> None:
    """Two P1 browsers show the same queue; when one claims, the card leaves the other's."""
    first = await sign_in(browser, site, "p1-barenbang-1")
    second = await sign_in(browser, site, "p1-barenbang-2")
    await wait_online(first)
    await wait_online(second)
    task = await site.register(name="Rebutan")
    for page in (first, second):
        await page.wait_for_selector(card("queue", task["id"]), timeout=LIVE_TIMEOUT_MS)
    await first.click(f'{card("queue", task["id"])} form[data-action="claim"] button')
    await second.wait_for_selector(f'[data-id="{task["id"]}"]', state="detached",
                                   timeout=LIVE_TIMEOUT_MS)
    await first.wait_for_selector(card("mine", task["id"]), timeout=LIVE_TIMEOUT_MS)
    assert await queue_ids(second) == []


async def test_a_late_claim_is_told_who_has_the_card(site: LiveSite, browser: Browser) -> None:
    """Clicking claim on a card someone took a moment earlier shows who has it and drops the
    card, never a stale one."""
    page = await sign_in(browser, site, "p1-barenbang-1")
    await wait_online(page)
    # Stop live updates so the card stays on screen while someone else claims it.
    await page.evaluate("() => { PTSA.live.stopped = true; PTSA.live.socket.close(); }")
    task = await site.register(name="Terlambat Klik")
    await page.evaluate("() => PTSA.board.reload()")
    await page.wait_for_selector(card("queue", task["id"]))
    await site.act("p1-barenbang-2", task["id"], "claim")
    await page.click(f'{card("queue", task["id"])} form[data-action="claim"] button')
    toast = page.locator(".toast.error")
    await toast.wait_for(timeout=3000)
    assert "p1-barenbang-2" in (await toast.text_content() or "")
    await page.wait_for_selector(f'[data-id="{task["id"]}"]', state="detached", timeout=3000)


@on_each_engine
async def test_a_p1_board_recovers_exactly_the_right_cards_after_losing_its_connection(
        site: LiveSite, browser: Browser) -> None:
    """While offline, requests are registered and claimed elsewhere; on reconnect the board
    replays what it missed and shows exactly the unit's queue, each card once."""
    page = await sign_in(browser, site, "p1-barenbang-1")
    await wait_online(page)
    before = [await site.register(name=f"Sebelum {i}") for i in range(2)]
    for task in before:
        await page.wait_for_selector(card("queue", task["id"]), timeout=LIVE_TIMEOUT_MS)

    await page.context.set_offline(True)
    await page.evaluate("() => PTSA.live.socket && PTSA.live.socket.close()")
    await page.wait_for_selector('#conn[data-status="offline"]', timeout=5000)
    during = [await site.register(name=f"Selama {i}") for i in range(3)]
    await site.act("p1-barenbang-2", before[0]["id"], "claim")
    await site.act("p1-barenbang-2", during[1]["id"], "claim")
    reloads = await page.evaluate("() => document.getElementById('conn').dataset.reloaded")

    await page.context.set_offline(False)
    await page.wait_for_selector('#conn[data-status="online"]', timeout=10000)
    expected = await site.queued_ids("p1-barenbang-1", "p1", "barenbang")
    assert expected == {before[1]["id"], during[0]["id"], during[2]["id"]}
    await page.wait_for_function(
        "ids => { const shown = Array.from(document.querySelectorAll("
        "'[data-list=queue] [data-id]')).map(e => Number(e.dataset.id)).sort();"
        " return JSON.stringify(shown) === JSON.stringify(ids); }",
        arg=sorted(expected), timeout=LIVE_TIMEOUT_MS * 3)
    shown = await queue_ids(page)
    assert len(shown) == len(set(shown)) == 3
    # Recovered from the stream's history, not by reloading over HTTP.
    assert await page.evaluate(
        "() => document.getElementById('conn').dataset.reloaded") == reloads
    await screenshot(page, "p1-board-recovered")


@on_each_engine
async def test_a_board_reloads_over_http_when_history_cannot_fill_the_gap(
        site: LiveSite, browser: Browser) -> None:
    """If the channel's history is lost while offline (new epoch: recovered false), the board
    reloads its cards over HTTP and again shows exactly the queue."""
    from redis.asyncio import Redis

    page = await sign_in(browser, site, "p1-barenbang-1")
    await wait_online(page)
    first = await site.register(name="Pertama")
    await page.wait_for_selector(card("queue", first["id"]), timeout=LIVE_TIMEOUT_MS)
    reloads = await page.evaluate("() => document.getElementById('conn').dataset.reloaded")

    await page.context.set_offline(True)
    await page.evaluate("() => PTSA.live.socket && PTSA.live.socket.close()")
    await page.wait_for_selector('#conn[data-status="offline"]', timeout=5000)
    second = await site.register(name="Kedua")
    await site.act("p1-barenbang-2", first["id"], "claim")
    redis = Redis.from_url(site.env["REDIS_URL"])
    try:  # as if Redis restarted without persistence
        channel = names.p1("barenbang")
        await redis.delete(names.stream_key(channel), names.epoch_key(channel),
                           names.floor_key(channel))
    finally:
        await redis.aclose()

    await page.context.set_offline(False)
    await page.wait_for_function(
        "r => document.getElementById('conn').dataset.reloaded !== r", arg=reloads,
        timeout=10000)
    await page.wait_for_function(
        "id => { const shown = Array.from(document.querySelectorAll("
        "'[data-list=queue] [data-id]')).map(e => Number(e.dataset.id));"
        " return shown.length === 1 && shown[0] === id; }", arg=second["id"], timeout=3000)


# Records every close code a page's sockets get (set before the page's own scripts run).
RECORD_CLOSES = """
window.__closes = [];
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener("close", (event) => window.__closes.push(event.code));
  }
};
"""


async def test_a_board_refused_by_a_full_hub_retries_and_comes_online_when_a_place_frees(
        site_database_url: str, redis_url: str, tmp_path: Path, browser: Browser) -> None:
    """With PTSA_WS_MAX_CONNECTIONS=1 a second board's socket is closed with 1013: the board
    stays signed in and on its page, shows itself offline, retries with its back-off, and comes
    online once the first board's socket closes."""
    env = site_env(site_database_url, redis_url, tmp_path, PTSA_WS_MAX_CONNECTIONS="1")
    async with live_site(env, tmp_path) as full_site:
        first = await sign_in(browser, full_site, "p1-barenbang-1")
        await wait_online(first)
        second = await sign_in(browser, full_site, "p1-barenbang-2")
        await second.add_init_script(RECORD_CLOSES)
        await second.reload()
        await second.wait_for_function("() => window.__closes.includes(1013)", timeout=5000)
        assert await second.evaluate(
            "() => !PTSA.live.stopped && PTSA.live.attempt >= 2 && "
            "['offline', 'connecting'].includes(PTSA.live.status)")
        assert second.url.endswith("/papan")
        await first.context.close()
        await wait_online(second, timeout_ms=15000)
        assert await second.evaluate("() => window.__closes.every(code => code === 1013)")


async def test_an_applicant_name_with_html_is_shown_as_text_in_the_browser(
        site: LiveSite, browser: Browser) -> None:
    """A name with <script> and markup arrives live and is shown literally; nothing runs."""
    page = await sign_in(browser, site, "p1-barenbang-1")
    await wait_online(page)
    evil = ('<script>window.__pwned = 1</script><b class="evil">Budi</b>'
            '<img src=x onerror="window.__pwned=2">')
    task = await site.register(name=evil)
    name = f'{card("queue", task["id"])} [data-f="applicant_name"]'
    await page.wait_for_selector(name, timeout=LIVE_TIMEOUT_MS)
    assert await page.text_content(name) == evil
    assert await page.evaluate("() => window.__pwned") is None
    assert await page.locator(".evil").count() == 0
    task_page = page
    await task_page.goto(f"/permohonan/{task['id']}")
    assert await task_page.text_content("#applicant-name") == evil
    assert await task_page.evaluate("() => window.__pwned") is None
    await wait_online(task_page)
    await task_page.fill("#message-body", "<b class='evil'>tebal?</b> mohon cek berkas")
    await task_page.press("#message-body", "Control+Enter")
    await task_page.wait_for_selector("#thread .msg-body", timeout=3000)
    assert await task_page.text_content("#thread .msg-body") == \
        "<b class='evil'>tebal?</b> mohon cek berkas"
    assert await task_page.locator(".evil").count() == 0
    await screenshot(task_page, "task-page")


async def test_a_form_post_without_the_csrf_token_is_refused(site: LiveSite,
                                                            browser: Browser) -> None:
    """With a valid session but no token, a claim and a registration are refused (403)."""
    page = await sign_in(browser, site, "p1-barenbang-1")
    task = await site.register()
    claim = await page.context.request.post(f"/permohonan/{task['id']}/claim",
                                            form={"version": "1"}, max_redirects=0)
    assert claim.status == 403
    counter = await sign_in(browser, site, "p0-1")
    register = await counter.context.request.post("/loket", form={
        "service": "data-informasi", "applicant.name": "Tanpa Token",
        "applicant.phone": "0812-0000-1111"}, max_redirects=0)
    assert register.status == 403
    assert (await site.queued_ids("p1-barenbang-1", "p1", "barenbang")) == {task["id"]}


async def test_the_task_page_thread_and_timeline_are_live_between_positions(
        site: LiveSite, browser: Browser) -> None:
    """A P1 writes on the task's thread and claims it; the P0 looking at the same task page sees
    the message, the new holder and the timeline entry within a second, without reloading."""
    task = await site.register(name="Percakapan")
    p0 = await sign_in(browser, site, "p0-1", f"/permohonan/{task['id']}")
    p1 = await sign_in(browser, site, "p1-barenbang-1", f"/permohonan/{task['id']}")
    await wait_online(p0)
    await wait_online(p1)
    await p1.fill("#message-body", "Mohon lampirkan surat kuasa.")
    await p1.click("#message-form button")
    await p0.wait_for_selector("#thread .msg-body:has-text('Mohon lampirkan surat kuasa.')",
                               timeout=LIVE_TIMEOUT_MS)
    await p1.click("form.action-claim button")
    await p0.wait_for_selector("#task-assignee:has-text('Maria')", timeout=LIVE_TIMEOUT_MS * 2)
    assert await p0.text_content("#task-status") == "Diproses"
    assert await p0.locator(".timeline .ev-task-claimed").count() == 1


# The PC's clock runs two hours fast: Date.now() and new Date() (with no argument) are shifted;
# everything else about Date is the browser's own.
FAST_CLOCK = """(() => {
  const RealDate = Date, skew = 2 * 60 * 60 * 1000;
  class FastDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(RealDate.now() + skew); else super(...args);
    }
    static now() { return RealDate.now() + skew; }
  }
  window.Date = FastDate;
})();"""


async def test_a_pickup_countdown_follows_the_server_clock_when_the_pc_clock_is_off(
        site: LiveSite, browser: Browser) -> None:
    """On a PC whose clock is two hours fast, a fresh request still shows about 15 minutes to
    pickup (counted against the server's clock), not two hours overdue."""
    page = await sign_in(browser, site, "p1-barenbang-1")
    await page.context.add_init_script(FAST_CLOCK)
    await page.goto("/papan")
    await wait_online(page)
    skew_ms = await page.evaluate(
        "() => Date.now() - JSON.parse(document.getElementById('page-data').textContent)"
        ".server_now")
    assert 7_100_000 < skew_ms < 7_300_000  # the page really runs on a fast clock
    task = await site.register(name="Jam Komputer Salah")
    countdown = f'{card("queue", task["id"])} [data-f="countdown"]'
    await page.wait_for_selector(countdown, timeout=LIVE_TIMEOUT_MS)
    await page.wait_for_timeout(1100)  # at least one tick of the once-a-second redraw
    text = await page.text_content(countdown) or ""
    assert re.fullmatch(r"Batas ambil P1: sisa (14 menit \d+|15 menit 0) detik", text), text
    assert "late" not in (await page.get_attribute(countdown, "class") or "")


async def test_the_supervisor_sees_the_completion_countdown_paused_while_a_request_is_on_hold(
        site: LiveSite, browser: Browser) -> None:
    """A request on hold shows its SOP countdown as paused, not running — when the page loads
    with it on hold and when it goes on hold live — and runs again once it is resumed."""
    held = await site.register(name="Sudah Ditunda")
    await site.act("p1-barenbang-1", held["id"], "claim")
    await site.act("p1-barenbang-1", held["id"], "hold", reason="Menunggu surat kuasa")
    live = await site.register(name="Akan Ditunda")
    await site.act("p1-barenbang-1", live["id"], "claim")
    page = await sign_in(browser, site, "spv-barenbang", "/penyelia")
    await wait_online(page)

    def countdown(task_id: int) -> str:
        return f'[data-list="open"] [data-id="{task_id}"] [data-f="due_countdown"]'

    html = await (await page.context.request.get("/penyelia")).text()
    row = re.search(rf'data-id="{held["id"]}".*?</tr>', html, re.S)
    assert row and 'data-due=""' in row.group(0) and ">Dihentikan sementara</small>" in row.group(0)
    assert await page.text_content(countdown(held["id"])) == "Dihentikan sementara"
    assert await page.get_attribute(countdown(held["id"]), "data-due") == ""
    running = await page.text_content(countdown(live["id"])) or ""
    assert running.startswith("Janji selesai: sisa "), running

    await site.act("p1-barenbang-1", live["id"], "hold", reason="Berkas kurang")
    await page.wait_for_function(
        "sel => document.querySelector(sel).textContent === 'Dihentikan sementara'",
        arg=countdown(live["id"]), timeout=LIVE_TIMEOUT_MS)
    first = await page.text_content(countdown(live["id"]))
    await page.wait_for_timeout(1100)
    assert await page.text_content(countdown(live["id"])) == first  # it does not tick
    await site.act("p1-barenbang-1", live["id"], "resume")
    await page.wait_for_function(
        "sel => document.querySelector(sel).textContent.startsWith('Janji selesai: sisa ')",
        arg=countdown(live["id"]), timeout=LIVE_TIMEOUT_MS)


# Desktop notifications are recorded instead of shown; the permission stays the browser's own.
RECORD_NOTIFICATIONS = """(() => {
  const Real = window.Notification;
  window.__shown = [];
  class Recorded {
    constructor(title, options) { window.__shown.push({ title, body: (options || {}).body }); }
    static get permission() { return Real.permission; }
    static requestPermission() { return Real.requestPermission(); }
  }
  window.Notification = Recorded;
})();"""


async def test_a_desk_that_opted_in_gets_a_desktop_notification_for_a_new_request(
        site: LiveSite, browser: Browser) -> None:
    """With the browser's permission granted, the desk that pressed the opt-in button gets one
    notification naming the registration number; the desk that did not press it gets none."""
    pages = []
    for username in ("p1-barenbang-1", "p1-barenbang-2"):
        page = await sign_in(browser, site, username)
        await page.context.grant_permissions(["notifications"], origin=site.url)
        await page.context.add_init_script(RECORD_NOTIFICATIONS)
        await page.goto("/papan")
        await wait_online(page)
        pages.append(page)
    opted, silent = pages
    assert await opted.evaluate("() => Notification.permission") == "granted"
    await opted.click("#notify-optin")
    await opted.wait_for_selector('#notify-optin[aria-pressed="true"]', timeout=3000)
    assert await silent.get_attribute("#notify-optin", "aria-pressed") == "false"

    task = await site.register(name="Notifikasi Desktop")
    for page in pages:
        await page.wait_for_selector(card("queue", task["id"]), timeout=LIVE_TIMEOUT_MS)
    # The notification is made in the same step that draws the card, so both are settled here.
    shown = await opted.evaluate("() => window.__shown")
    assert len(shown) == 1, shown
    assert task["code"] in shown[0]["title"]
    assert "Notifikasi Desktop" in shown[0]["body"]
    assert await silent.evaluate("() => window.__shown") == []
