"""A desk's day in a real browser (Chromium): search from the top bar, unread messages,
countdowns in words."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser

from config.settings import load_settings
from hub.domain.calendar import BusinessCalendar
from tests.conftest import fresh_database
from tests.support.browser import (
    LIVE_TIMEOUT_MS,
    LiveSite,
    Stopwatch,
    chromium_browser,
    live_site,
    new_context,
    screenshot,
    sign_in,
    site_env,
    wait_online,
)

pytestmark = pytest.mark.browser
__all__ = ["chromium_browser"]  # the Chromium fixture, used by its name "browser"


@pytest.fixture
def site_database_url(tmp_path: Path) -> Iterator[str]:
    yield from fresh_database("sqlite", tmp_path)


@pytest.fixture
async def site(site_database_url: str, redis_url: str,
               tmp_path: Path) -> AsyncIterator[LiveSite]:
    async with live_site(site_env(site_database_url, redis_url, tmp_path), tmp_path) as running:
        yield running


async def test_the_top_bar_search_finds_a_request_by_each_field(
        site: LiveSite, browser: Browser) -> None:
    """Typed into the top bar and submitted with Enter, a registration number, a name, an
    organisation and a phone in the other national form each list the request, linked to its
    page; a search that matches nothing says so."""
    other = await site.register(name="Budi Santoso")
    wanted = await site.api("p0-1", "POST", "/api/v1/tasks", json={
        "service": "data-informasi", "description": "Data",
        "applicant": {"name": "Siti Rahayu", "organisation": "CV Sinar Abadi",
                      "phone": "+62 813-5555-0001"}})
    assert wanted.status_code == 201, wanted.text
    task = wanted.json()
    page = await sign_in(browser, site, "p0-1", "/papan")
    for query in (task["code"], "siti rah", "Sinar Abadi", "0813 5555 0001"):
        await page.fill("#top-q", query)
        await page.press("#top-q", "Enter")
        await page.wait_for_url("**/cari?q=*")
        rows = page.locator("#results tbody tr")
        assert await rows.count() == 1, query
        assert await rows.first.get_attribute("data-id") == str(task["id"])
        assert other["code"] not in await page.locator("#results").inner_text()
    await screenshot(page, "search-results")
    await page.click(f"#results a:text('{task['code']}')")
    await page.wait_for_url(f"**/permohonan/{task['id']}")
    await page.fill("#top-q", "Tidak Ada Orang")
    await page.press("#top-q", "Enter")
    await page.wait_for_selector("#result-count")
    assert await page.locator("#results").count() == 0
    assert "0" in await page.locator("#result-count").inner_text()


async def test_search_filters_and_another_day_on_the_front_office_board(
        site: LiveSite, browser: Browser) -> None:
    """The results page narrows by service and status; P0's board opens any earlier day's
    requests; a reversed date range is refused beside the field."""
    rtk = await site.register(name="Andi Rtk", service="rtk")
    data = await site.register(name="Andi Data", service="data-informasi")
    page = await sign_in(browser, site, "p0-1", "/cari?q=andi")
    assert await page.locator("#results tbody tr").count() == 2
    await page.select_option("#f-service", "rtk")
    await page.click("#search-filters button[type=submit]")
    await page.wait_for_url("**service=rtk*")
    assert [await r.get_attribute("data-id") for r in
            await page.locator("#results tbody tr").all()] == [str(rtk["id"])]
    await page.select_option("#f-service", "")
    await page.select_option("#f-status", "claimed")
    await page.click("#search-filters button[type=submit]")
    await page.wait_for_url("**status=claimed*")
    assert await page.locator("#results").count() == 0
    # Another day from the board: today's date shows today's two requests.
    await page.goto("/papan")
    today = await page.evaluate(
        "new Date().toLocaleDateString('sv-SE', {timeZone: 'Asia/Jakarta'})")
    await page.fill("#other-day-date", today)
    await page.click("#other-day button")
    await page.wait_for_url("**/cari?hari=*")
    ids = {await r.get_attribute("data-id") for r in await page.locator("#results tbody tr").all()}
    assert ids == {str(rtk["id"]), str(data["id"])}
    await page.goto("/cari?from=2026-11-27&to=2026-11-26")
    assert await page.locator("#err-to").is_visible()


async def test_a_message_badges_the_holders_card_at_once_and_reading_clears_it_everywhere(
        site: LiveSite, browser: Browser) -> None:
    """A supervisor's message on a task a P1 desk holds puts a badge on that card and in the top
    bar of both the desk's PCs within 1 s, with a toast; opening the task page on one PC clears
    the badges on the other too (the count is kept on the server)."""
    task = await site.register()
    await site.act("p1-barenbang-1", task["id"], "claim")
    desk = await sign_in(browser, site, "p1-barenbang-1", "/papan")
    other_pc = await sign_in(browser, site, "p1-barenbang-1", "/papan")
    for page in (desk, other_pc):
        await wait_online(page)
    badge = f'[data-list="mine"] [data-id="{task["id"]}"] .unread-badge'
    # The supervisor signs in before the clock starts: the first API call pays an Argon2 check
    # (~0.3 s on a loaded machine), which is sign-in, not the message's way to the screens.
    await site.api("spv-barenbang", "GET", f"/api/v1/tasks/{task['id']}")
    clock = Stopwatch()
    await site.act("spv-barenbang", task["id"], "messages", body="Pemohon menelepon, mohon cek.")
    await desk.wait_for_selector(badge, timeout=LIVE_TIMEOUT_MS)
    assert clock.ms < LIVE_TIMEOUT_MS, f"badge after {clock.ms:.0f} ms"
    await other_pc.wait_for_selector(badge, timeout=LIVE_TIMEOUT_MS)
    assert await desk.inner_text(badge) == "1"
    assert await desk.inner_text("#unread-total [data-f=n]") == "1"
    assert "Pemohon menelepon" in await desk.inner_text("#toasts")
    await screenshot(desk, "unread-badge")
    # A reload keeps it: the server knows.
    await desk.reload()
    await desk.wait_for_selector(badge)
    await desk.click(f'[data-list="mine"] [data-id="{task["id"]}"] [data-f="link"]')
    await desk.wait_for_url(f"**/permohonan/{task['id']}")
    await other_pc.wait_for_selector(badge, state="detached", timeout=LIVE_TIMEOUT_MS * 3)
    assert await other_pc.is_hidden("#unread-total")
    answer = await site.api("p1-barenbang-1", "GET", "/api/v1/me/unread")
    assert answer.json()["total"] == 0


def _words(minutes: int, per_day: int, working: bool) -> str:
    """Indonesian duration words as the screens write them (no seconds: callers pass ≥ 1 h)."""
    days, rest = divmod(minutes, per_day)
    hours, mins = divmod(rest, 60)
    if working:
        return f"{days} hari kerja {hours} jam" if days else f"{hours} jam {mins} menit kerja"
    return f"{days} hari {hours} jam" if days else f"{hours} jam {mins} menit"


async def test_countdowns_name_their_deadline_in_indonesian_and_the_sop_one_in_working_time(
        redis_url: str, tmp_path: Path, browser: Browser) -> None:
    """With the office calendar, the task page's SOP countdown reads "Janji selesai: sisa N hari
    kerja H jam" equal to the SLA engine's business_time_between(now, due), and the board's
    pickup countdown reads "Batas ambil P1: sisa …" in calendar time without seconds beyond an
    hour."""
    env = site_env(f"sqlite:///{tmp_path / 'office.db'}", redis_url, tmp_path,
                   PTSA_CALENDAR="office")
    async with live_site(env, tmp_path) as site:
        task = await site.register()
        detail = (await site.api("p1-barenbang-1", "GET", f"/api/v1/tasks/{task['id']}")).json()
        settings = load_settings(env)
        calendar = BusinessCalendar.indonesian(settings.tz, settings.office_hours, [])
        per_day = int(calendar.working_day_length.total_seconds() // 60)
        due = datetime.fromisoformat(detail["due_at"].replace("Z", "+00:00"))
        pickup = datetime.fromisoformat(detail["pickup_due_at"].replace("Z", "+00:00"))

        def expected_sop() -> set[str]:  # the minute may turn while we read the page
            now = datetime.now(UTC)
            return {"Janji selesai: sisa " + _words(
                int((calendar.business_time_between(now + timedelta(seconds=s), due)
                     .total_seconds()) // 60), per_day, working=True) for s in (-2, 0, 2)}

        page = await sign_in(browser, site, "p1-barenbang-1", f"/permohonan/{task['id']}")
        sop = page.locator('tr[data-kind="resolution"] .countdown')
        await page.wait_for_function(
            "() => document.querySelector('tr[data-kind=\"resolution\"] .countdown')"
            ".textContent.startsWith('Janji selesai')")
        assert await sop.inner_text() in expected_sop()
        await screenshot(page, "task-countdowns")
        board = await sign_in(browser, site, "p1-barenbang-1", "/papan")
        text = await board.inner_text(f'[data-id="{task["id"]}"] [data-f="countdown"]')
        left = pickup - datetime.now(UTC)
        assert text.startswith("Batas ambil P1: sisa "), text
        if left >= timedelta(hours=1):
            minutes = int(left.total_seconds() // 60)
            assert text.removeprefix("Batas ambil P1: sisa ") in {
                _words(minutes + d, 24 * 60, working=False) for d in (-1, 0, 1)}, text
        else:
            assert re.fullmatch(r"Batas ambil P1: sisa \d+ menit \d+ detik", text), text


async def _set_checklist(site: LiveSite, browser: Browser, service: str, lines: str) -> None:
    """An admin sets a service's document checklist through the admin page."""
    admin = await sign_in(browser, site, "admin", "/admin/layanan")
    await admin.fill(f"#vd-{service}", lines)
    await admin.click(f'tr[data-service="{service}"] button[type=submit]')
    await admin.wait_for_url("**/admin/layanan?ok=1")
    await admin.context.close()


async def test_intake_reports_every_field_error_at_once_and_keeps_the_browser_checks(
        site: LiveSite, browser: Browser) -> None:
    """The browser's own checks stay on (an empty name stops the submit); past them, a bad
    phone, a bad email and a missing service come back together, each beside its field."""
    page = await sign_in(browser, site, "p0-1", "/loket")
    assert await page.get_attribute("#intake-form", "novalidate") is None
    await page.click("#register")
    assert await page.evaluate("document.querySelector('#applicant-name').validity.valueMissing")
    assert "/loket" in page.url and await page.locator("#error-summary").count() == 0
    # An old browser (or one with checks off) posts anyway: the server finds everything at once.
    await page.fill("#applicant-name", "Siti")
    await page.fill("#applicant-phone", "telepon saya")
    await page.evaluate("document.querySelector('#applicant-email').type = 'text'")
    await page.fill("#applicant-email", "bukan-email")
    await page.evaluate("document.getElementById('intake-form').noValidate = true")
    await page.click("#register")
    await page.wait_for_selector("#error-summary")
    for field in ("service", "applicant-phone", "applicant-email"):
        assert await page.locator(f"#err-{field}").is_visible(), field
    assert await page.input_value("#applicant-name") == "Siti"
    await screenshot(page, "intake-errors")


async def test_documents_ticked_at_intake_are_printed_on_the_receipt_with_officer_and_qr(
        site: LiveSite, browser: Browser) -> None:
    """A service's admin-set checklist appears when it is chosen; the ticked documents, the
    receiving officer and a QR code of the tracking link (which opens the tracking page) are on
    the receipt."""
    await _set_checklist(site, browser, "data-informasi",
                         "Surat permohonan\nKTP pemohon\nSurat kuasa")
    page = await sign_in(browser, site, "p0-1", "/loket")
    assert await page.locator('fieldset[data-service="data-informasi"]').is_hidden()
    await page.select_option("#service", "data-informasi")
    await page.check('input[name=documents][value="Surat permohonan"]')
    await page.check('input[name=documents][value="Surat kuasa"]')
    await page.fill("#applicant-name", "Rina Kusuma")
    await page.fill("#applicant-phone", "0812-3333-4444")
    await page.click("#register")
    await page.wait_for_url("**/tanda-terima/*")
    items = await page.locator("#receipt-documents li").all_inner_texts()
    assert items == ["Surat permohonan", "Surat kuasa"]
    assert await page.inner_text("#receipt-officer") == "Siti Rahmawati"  # p0-1's name
    code = await page.inner_text("#regno")
    link = f"{site.url}/lacak?kode={code}"
    assert _qr_matrix(await page.inner_html("#receipt-qr")) == _expected_matrix(link)
    await screenshot(page, "receipt-documents")
    track = await page.context.new_page()
    await track.goto(link)
    assert code in await track.inner_text("main")


def _qr_matrix(svg: str) -> set[tuple[int, int]]:
    """The dark modules of segno's SVG path (relative h-moves on rows at y + .5)."""
    path = re.search(r' d="([^"]+)"', svg)
    assert path, svg
    dark, x, y = set(), 0, 0
    for op, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?:\s(-?[\d.]+))?", path.group(1)):
        if op == "M":
            x, y = int(float(a)), int(float(b))
        elif op == "m":
            x, y = x + int(float(a)), y + int(float(b))
        else:
            dark |= {(x + i, y) for i in range(int(float(a)))}
            x += int(float(a))
    return dark


def _expected_matrix(url: str) -> set[tuple[int, int]]:
    import segno

    code = segno.make(url, error="m", micro=False)
    return {(x + 2, y + 2) for y, row in enumerate(code.matrix) for x, v in enumerate(row) if v}


async def test_a_desk_finds_the_service_usual_unit_pre_selected_for_disposition(
        site: LiveSite, browser: Browser) -> None:
    """The card's disposition list starts at the service's usual Eselon II unit."""
    task = await site.register(service="rtk")
    await site.act("p1-barenbang-1", task["id"], "claim")
    page = await sign_in(browser, site, "p1-barenbang-1", "/papan")
    select = f'[data-list="mine"] [data-id="{task["id"]}"] select[name=unit]'
    await page.wait_for_selector(select)
    assert await page.input_value(select) == "pusrenaker"


async def test_a_hold_shows_its_reason_as_a_warning_and_p0_can_contact_the_applicant(
        site: LiveSite, browser: Browser) -> None:
    """When a desk puts a request on hold, P0's card shows the reason live, styled as a
    warning, with "Hubungi pemohon" leading to the applicant's phone and email on the task
    page; the supervisor's row shows the reason too."""
    task = await site.register(name="Menunggu Berkas")
    await site.act("p1-barenbang-1", task["id"], "claim")
    board = await sign_in(browser, site, "p0-1", "/papan")
    supervisor = await sign_in(browser, site, "spv-barenbang", "/penyelia")
    for page in (board, supervisor):
        await wait_online(page)
    await site.act("p1-barenbang-1", task["id"], "hold", reason="Surat kuasa belum ada")
    reason = f'[data-list="today"] [data-id="{task["id"]}"] [data-f="hold_row"]'
    await board.wait_for_selector(reason, state="visible", timeout=LIVE_TIMEOUT_MS)
    assert "Surat kuasa belum ada" in await board.inner_text(reason)
    colour = await board.eval_on_selector(reason, "e => getComputedStyle(e).borderLeftColor")
    assert colour == "rgb(178, 106, 0)"  # --warn, not the success green
    row = f'[data-list="open"] [data-id="{task["id"]}"] [data-f="hold_row"]'
    await supervisor.wait_for_selector(row, state="visible", timeout=LIVE_TIMEOUT_MS)
    assert await supervisor.inner_text(row) == "Surat kuasa belum ada"
    await screenshot(board, "p0-hold")
    await board.click(f"{reason} a.contact")
    await board.wait_for_url(f"**/permohonan/{task['id']}#pemohon")
    assert await board.get_attribute("#hold-reason a[href^='tel:']", "href") == "tel:081211112222"
    # The desk does not see the contact prompt (only P0 calls the applicant).
    desk = await sign_in(browser, site, "p1-barenbang-1", f"/permohonan/{task['id']}")
    assert "Surat kuasa belum ada" in await desk.inner_text("#hold-reason")
    assert await desk.locator("#hold-reason a").count() == 0


async def test_anyone_reads_the_service_standards_without_signing_in(
        site: LiveSite, browser: Browser) -> None:
    """/layanan opens in a browser with no session and shows every active service with its
    working days, cost and responsible unit; the sign-in page links to it."""
    context = await new_context(browser, site)
    page = await context.new_page()
    await page.goto("/masuk")
    await page.click("a[href='/layanan']")
    await page.wait_for_url("**/layanan")
    services = (await site.http.get("/api/v1/services")).json()
    assert await page.locator("section.standard").count() == len(services) > 0
    first = page.locator(f"#layanan-{services[0]['code']}")
    assert f"paling lama {services[0]['sop_days']} hari kerja" in await first.inner_text()
    assert "Gratis" in await first.inner_text()
    await screenshot(page, "layanan")


async def test_the_kpi_page_fits_1366_pixels_with_indonesian_axes_and_an_excel_csv(
        site: LiveSite, browser: Browser) -> None:
    """At 1366 px nothing scrolls sideways; trend axes read like "12 Okt"; "Ekspor untuk Excel"
    (per Eselon I, where the P1 figures are) downloads a UTF-8 file with a BOM that a semicolon
    parser reads as Indonesian headers with decimal commas, and the plain CSV stays
    comma-separated."""
    task = await site.register()
    await site.act("p1-barenbang-1", task["id"], "claim")
    page = await sign_in(browser, site, "spv-ptsa", "/kinerja")
    widths = await page.evaluate(
        "() => [document.documentElement.scrollWidth, "
        "document.querySelector('#kpi-table').parentElement.scrollWidth, "
        "document.querySelector('#kpi-table').parentElement.clientWidth]")
    assert widths[0] <= 1366 and widths[1] <= widths[2], widths
    months = "Jan|Feb|Mar|Apr|Mei|Jun|Jul|Agu|Sep|Okt|Nov|Des"
    ticks = await page.evaluate(
        "() => Array.from(document.querySelectorAll('svg text'), t => t.textContent.trim())")
    assert any(re.fullmatch(rf"\d{{1,2}} ({months})", t) for t in ticks), ticks
    await screenshot(page, "kpi-1366")
    # P1 figures are credited per Eselon I (issue 11): export that view.
    await page.goto("/kinerja?by=eselon1")
    async with page.expect_download() as waiting:
        await page.click("#excel-export")
    raw = Path(await (await waiting.value).path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:6] == ["Kode", "Nama", "SOP (hari kerja)", "Terdaftar", "Selesai", "Berjalan"]
    header = rows[0]
    total = dict(zip(header, rows[-1], strict=True))
    assert total["Nama"] == "Total" and total["Terdaftar"] == "1"
    assert total["Ambil P1 % tepat waktu"] == "100"
    minutes = total["Ambil P1 median (menit kerja)"]
    assert re.fullmatch(r"\d+(,\d+)?", minutes) and "." not in minutes, minutes
    plain = await page.context.request.get(await page.get_attribute("#csv-export", "href") or "")
    assert (await plain.text()).startswith("key,name,")


async def test_a_desk_board_filters_its_cards_by_service_and_keeps_the_filter_live(
        site: LiveSite, browser: Browser) -> None:
    """Choosing a service on the board hides the other services' cards, also one that arrives
    live afterwards; "all services" shows them again."""
    data = await site.register(service="data-informasi")
    rtk = await site.register(service="rtk")
    page = await sign_in(browser, site, "p1-barenbang-1", "/papan")
    await wait_online(page)
    await page.select_option("#board-service", "rtk")
    assert await page.is_hidden(f'[data-list="queue"] [data-id="{data["id"]}"]')
    assert await page.is_visible(f'[data-list="queue"] [data-id="{rtk["id"]}"]')
    later = await site.register(service="data-informasi")
    await page.wait_for_selector(f'[data-list="queue"] [data-id="{later["id"]}"]',
                                 state="attached", timeout=LIVE_TIMEOUT_MS)
    assert await page.is_hidden(f'[data-list="queue"] [data-id="{later["id"]}"]')
    await page.select_option("#board-service", "")
    assert await page.is_visible(f'[data-list="queue"] [data-id="{later["id"]}"]')


# Desktop notifications and sounds are recorded instead of shown or played.
RECORD = """(() => {
  const Real = window.Notification;
  window.__shown = [];
  window.__beeps = 0;
  class Recorded {
    constructor(title, options) { window.__shown.push({ title, body: (options || {}).body }); }
    static get permission() { return Real.permission; }
    static requestPermission() { return Real.requestPermission(); }
  }
  window.Notification = Recorded;
  const RealAudio = window.AudioContext;
  window.AudioContext = class extends RealAudio {
    createOscillator() { window.__beeps += 1; return super.createOscillator(); }
  };
})();"""


async def test_an_opted_in_desk_gets_a_desktop_notification_and_a_sound_for_a_message(
        site: LiveSite, browser: Browser) -> None:
    """With notifications and the sound switched on, a colleague's message shows one desktop
    notification naming the request and the author, and plays one sound."""
    task = await site.register()
    await site.act("p1-barenbang-1", task["id"], "claim")
    page = await sign_in(browser, site, "p1-barenbang-1")
    await page.context.grant_permissions(["notifications"], origin=site.url)
    await page.context.add_init_script(RECORD)
    await page.goto("/papan")
    await wait_online(page)
    await page.click("#notify-optin")
    await page.wait_for_selector('#notify-optin[aria-pressed="true"]', timeout=3000)
    await page.check("#sound-optin")
    beeps = await page.evaluate("() => window.__beeps")  # switching it on plays a sample
    await site.act("spv-barenbang", task["id"], "messages", body="Tolong hubungi pemohon.")
    await page.wait_for_selector(f'[data-id="{task["id"]}"] .unread-badge',
                                 timeout=LIVE_TIMEOUT_MS)
    shown = await page.evaluate("() => window.__shown")
    assert len(shown) == 1, shown
    assert task["code"] in shown[0]["title"] and "Tolong hubungi pemohon." == shown[0]["body"]
    assert await page.evaluate("() => window.__beeps") == beeps + 1
