"""Browser tests: the real app under uvicorn (a child process), demo data in a fresh SQLite
database, Debian's Chromium driven by Playwright (never ``playwright install``), screenshots in
``tests/artifacts/``."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from config.catalog import load_catalog
from config.seed import DEMO_PASSWORD, seed
from config.settings import PROJECT_ROOT, load_settings
from hub.db import Database
from tests.support.hubproc import HubProcess

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts"
VIEWPORT = {"width": 1366, "height": 768}
LIVE_TIMEOUT_MS = 1000  # "shows the card within 1 s without reload"


class LiveSite:
    """The running app, plus an API client that signs in demo staff once each."""

    def __init__(self, hub: HubProcess, env: dict[str, str]) -> None:
        self.hub = hub
        self.env = env
        self.url = hub.url
        self.http = httpx.AsyncClient(base_url=hub.url, timeout=10)
        self._tokens: dict[str, str] = {}

    async def api(self, username: str, method: str, path: str, **kw: Any) -> httpx.Response:
        if username not in self._tokens:
            answer = await self.http.post("/api/v1/auth/token", json={
                "username": username, "password": DEMO_PASSWORD})
            answer.raise_for_status()
            self._tokens[username] = answer.json()["access_token"]
        headers = {"Authorization": f"Bearer {self._tokens[username]}"}
        return await self.http.request(method, path, headers=headers, **kw)

    async def register(self, name: str = "Andi Wijaya", service: str = "data-informasi",
                       username: str = "p0-1") -> dict[str, Any]:
        answer = await self.api(username, "POST", "/api/v1/tasks", json={
            "service": service, "description": "Permintaan data",
            "applicant": {"name": name, "organisation": "PT Maju Jaya",
                          "phone": "0812-1111-2222", "email": "andi@example.co.id"}})
        assert answer.status_code == 201, answer.text
        return answer.json()  # type: ignore[no-any-return]

    async def act(self, username: str, task_id: int, action: str, **body: Any) -> dict[str, Any]:
        answer = await self.api(username, "POST", f"/api/v1/tasks/{task_id}/{action}", json=body)
        assert answer.status_code in (200, 201), answer.text
        return answer.json()  # type: ignore[no-any-return]

    async def queued_ids(self, username: str, level: str, unit: str) -> set[int]:
        answer = await self.api(username, "GET", f"/api/v1/tasks?level={level}&unit={unit}"
                                                 "&status=queued&limit=500")
        return {t["id"] for t in answer.json()["items"]}


def site_env(database_url: str, redis_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "PTSA_VAR_DIR": str(tmp_path / "var"), "PTSA_CALENDAR": "always"}
    env.update(extra)
    return env


@asynccontextmanager
async def live_site(env: dict[str, str], tmp_path: Path) -> AsyncIterator[LiveSite]:
    settings = load_settings(env)
    db = Database(settings.database_url)
    try:
        await db.create_schema()
        await seed(db, load_catalog(), demo=True)
    finally:
        await db.dispose()
    hub = HubProcess(env, tmp_path / "hub.log")
    hub.start()
    site = LiveSite(hub, env)
    try:
        await hub.wait_ready()
        yield site
    finally:
        await site.http.aclose()
        hub.stop()


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                           headless=True)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture(name="browser")
async def chromium_browser() -> AsyncIterator[Browser]:
    """Headless Chromium for one test; browser test modules import this fixture by name."""
    async with chromium() as launched:
        yield launched


async def new_context(browser: Browser, site: LiveSite) -> BrowserContext:
    return await browser.new_context(viewport=VIEWPORT, base_url=site.url, locale="id-ID",
                                     timezone_id="Asia/Jakarta")


async def sign_in(browser: Browser, site: LiveSite, username: str,
                  path: str | None = None) -> Page:
    """A fresh browser context signed in through the real form; on ``path`` when given."""
    context = await new_context(browser, site)
    page = await context.new_page()
    await page.goto("/masuk")
    await page.fill("#username", username)
    await page.fill("#password", DEMO_PASSWORD)
    await page.press("#password", "Enter")
    await page.wait_for_url(lambda url: "/masuk" not in url)
    if path:
        await page.goto(path)
    return page


async def wait_online(page: Page, timeout_ms: int = 10000) -> None:
    """Until the page is subscribed to all its channels (and its first reload is done)."""
    await page.wait_for_selector('#conn[data-status="online"]', timeout=timeout_ms)
    await page.wait_for_function(
        "() => !window.PTSA.board || (document.getElementById('conn').hasAttribute("
        "'data-reloaded') && !PTSA.board.reloadPending && !PTSA.board.reloading)",
        timeout=timeout_ms)


async def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=False)
    return path


def card(list_name: str, task_id: int) -> str:
    return f'[data-list="{list_name}"] [data-id="{task_id}"]'


class Stopwatch:
    def __init__(self) -> None:
        self.start = time.monotonic()

    @property
    def ms(self) -> float:
        return (time.monotonic() - self.start) * 1000
