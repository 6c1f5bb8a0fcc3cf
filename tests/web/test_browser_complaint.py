"""A complaint in real browsers with the real worker and SMTP server: the public form, live on the
unit's board and supervisor page, escalated once at a seconds-long deadline, answered, and the
answer seen on the tracking page."""

from __future__ import annotations

import asyncio
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
from tests.support.mailbox import Mailbox, smtp_server
from tests.support.worker import WorkerProcess, eventually

pytestmark = pytest.mark.browser
__all__ = ["chromium_browser"]  # the Chromium fixture, used by its name "browser"
SPV = "spv-pusdatin@kemnaker.go.id"
COMPLAINANT = "warga@example.id"


@pytest.fixture
async def mailbox() -> AsyncIterator[tuple[Mailbox, int]]:
    box = Mailbox()
    async with smtp_server(box) as port:
        yield box, port


@pytest.fixture
async def site(sqlite_url: str, redis_url: str, tmp_path: Path,
               mailbox: tuple[Mailbox, int]) -> AsyncIterator[LiveSite]:
    """The app and a worker; complaints due in 3 s; pickups slow enough never to breach here."""
    env = site_env(sqlite_url, redis_url, tmp_path, PTSA_COMPLAINT_RESPONSE="3s",
                   PTSA_SLA_SWEEP="1s", PTSA_SLA_P1_PICKUP="1h", PTSA_SLA_P2_PICKUP="1h",
                   PTSA_SMTP_URL=f"smtp://127.0.0.1:{mailbox[1]}?timeout=3")
    async with live_site(env, tmp_path) as running:
        worker = WorkerProcess(env, tmp_path / "worker.log")
        worker.start()
        try:
            yield running
        finally:
            worker.stop()


def about(box: Mailbox, address: str, number: str) -> list[object]:
    return [r for r in box.to(address) if number in str(r.message["Subject"])]


async def test_a_complaint_reaches_the_unit_live_is_escalated_once_and_its_answer_is_tracked(
        site: LiveSite, browser: Browser, mailbox: tuple[Mailbox, int]) -> None:
    """Filed on the public form about a Pusdatin request, the complaint shows on the Pusdatin desk
    and supervisor screens within a second; unanswered at 3 s it is marked overdue and mailed to
    the supervisor once; the supervisor's reply takes it off both screens and the complainant
    reads it on the tracking page (and in their e-mail)."""
    box, _ = mailbox
    task = await site.register()
    await site.act("p1-barenbang-1", task["id"], "claim")
    await site.act("p1-barenbang-1", task["id"], "dispose", unit="pusdatin")
    desk = await sign_in(browser, site, "p2-pusdatin-1", "/papan")
    supervisor = await sign_in(browser, site, "spv-pusdatin", "/penyelia")
    for screen in (desk, supervisor):
        await wait_online(screen)

    visitor = await (await browser.new_context(base_url=site.url, locale="id-ID")).new_page()
    await visitor.goto(f"/lacak?kode={task['code']}")
    await visitor.click("#complaint-link")
    assert await visitor.input_value("#registration") == task["code"]
    await visitor.fill("#text", "Sudah seminggu belum ada kabar.")
    await visitor.fill("#email", COMPLAINANT)
    await visitor.click("#complaint-send")
    clock = Stopwatch()
    number = (await visitor.text_content("#complaint-number") or "").strip()
    assert number.startswith("ADU-")
    item = f'#complaints-list li[data-number="{number}"]'
    await desk.wait_for_selector(item, timeout=LIVE_TIMEOUT_MS)
    await supervisor.wait_for_selector(item, timeout=LIVE_TIMEOUT_MS)
    assert clock.ms < LIVE_TIMEOUT_MS + 300, f"shown {clock.ms:.0f} ms after filing"
    assert "seminggu" in (await supervisor.text_content(item) or "")

    await eventually(lambda: about(box, SPV, number), timeout=15, what="the escalation e-mail")
    await supervisor.wait_for_selector(f"{item}.overdue", timeout=3000)
    await asyncio.sleep(2.5)  # more passes of the worker: no second e-mail
    assert len(about(box, SPV, number)) == 1
    await screenshot(supervisor, "supervisor-complaint")

    await supervisor.fill(f"{item} textarea", "Mohon maaf, berkas Anda selesai besok.")
    await supervisor.click(f"{item} button[type=submit]")
    await supervisor.wait_for_selector(item, state="detached", timeout=LIVE_TIMEOUT_MS)
    await desk.wait_for_selector(item, state="detached", timeout=LIVE_TIMEOUT_MS)

    await visitor.goto(f"/lacak?kode={number}")
    assert await visitor.text_content("#complaint-reply") == \
        "Mohon maaf, berkas Anda selesai besok."
    await eventually(lambda: box.to(COMPLAINANT), timeout=15, what="the reply e-mail")
    assert "selesai besok" in box.to(COMPLAINANT)[0].message.get_content()
