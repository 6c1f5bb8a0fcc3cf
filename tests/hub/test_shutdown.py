"""Stopping the web app and the worker on SQLite leaves nothing running in aiosqlite's threads.

Before hub/background.py, the relay's first sweep (it runs as the app starts) was cancelled
inside its query when the app stopped at once: aiosqlite's thread then finished the query and
reported to an event loop already closed, "RuntimeError: Event loop is closed" raised in the
thread. It happened in 38 of 100 start-and-stop cycles, and failed one CI run (pytest reports a
thread's exception at the next test). Each test here runs 40 cycles, each on an event loop of its
own that is closed right after, as pytest-asyncio does between tests.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from config.settings import Settings
from tests.conftest import make_settings
from tests.support.dbtemplate import seeded
from tests.support.servers import RedisServer

CYCLES = 40


@pytest.fixture
def sqlite_settings(redis_server: RedisServer, tmp_path: Path) -> Settings:
    url = f"sqlite:///{tmp_path / 'ptsa.db'}"
    asyncio.run(seeded(url))
    return make_settings(url, redis_server.url, tmp_path)


@pytest.fixture
def thread_errors(monkeypatch: pytest.MonkeyPatch) -> list[BaseException | None]:
    errors: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: errors.append(args.exc_value))
    return errors


def settle() -> None:
    """Give every aiosqlite thread the time to finish what it was handed."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(
            t.name.endswith("(_connection_worker_thread)") for t in threading.enumerate()):
        time.sleep(0.02)


def test_the_web_app_stopped_at_once_leaves_no_thread_error(
        sqlite_settings: Settings, thread_errors: list[Any]) -> None:
    from hub.app import create_app

    async def cycle(delay: float) -> None:
        app = create_app(sqlite_settings)
        async with app.router.lifespan_context(app):
            await asyncio.sleep(delay)  # the relay's first sweep is on its way, or under way

    for n in range(CYCLES):
        asyncio.run(cycle(n / CYCLES * 0.02))
    settle()
    assert thread_errors == []


def test_the_worker_stopped_at_once_leaves_no_thread_error(
        sqlite_settings: Settings, thread_errors: list[Any]) -> None:
    from workers.context import WorkerContext
    from workers.sla.schedule import open_pool

    async def cycle(delay: float) -> None:
        pool = await open_pool(sqlite_settings.queue_url or "")
        parts = WorkerContext(sqlite_settings, pool)
        try:
            await parts.start()  # the SLA sweep, applicant messages, complaint deadlines, relay
            await asyncio.sleep(delay)  # so that each loop is somewhere in its first round
        finally:
            await parts.stop()
            await pool.aclose()

    for n in range(CYCLES):
        asyncio.run(cycle(n / CYCLES * 0.02))
    settle()
    assert thread_errors == []
