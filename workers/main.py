"""The arq worker process: ``ptsa worker``.

Its jobs: SLA clocks (``workers/sla.py``), notifications (``workers/notify.py``) and the outbox
relay's safety net. ``build_worker_options`` is where each part registers its functions, cron
jobs and start-up; nothing connects before the worker starts.
"""

from __future__ import annotations

import logging
from typing import Any

from arq.connections import RedisSettings
from arq.worker import Worker

from channels import names
from config.settings import Settings
from hub.errors import ConfigError

log = logging.getLogger(__name__)


async def on_startup(ctx: dict[str, Any]) -> None:
    from hub.context import AppContext

    settings: Settings = ctx["settings"]
    ctx["app"] = AppContext(settings)
    for start in ctx.get("starters", []):
        await start(ctx)


async def on_shutdown(ctx: dict[str, Any]) -> None:
    for stop in reversed(ctx.get("stoppers", [])):
        await stop(ctx)
    app = ctx.get("app")
    if app is not None:
        await app.close()


def build_worker_options(settings: Settings) -> dict[str, Any]:
    if not settings.redis_url:
        raise ConfigError("the worker needs REDIS_URL (use `ptsa run` for an embedded Redis)")
    options: dict[str, Any] = {
        "functions": [],
        "cron_jobs": [],
        "on_startup": on_startup,
        "on_shutdown": on_shutdown,
        "redis_settings": RedisSettings.from_dsn(settings.redis_url),
        "queue_name": names.ARQ_QUEUE,
        "ctx": {"settings": settings, "starters": [], "stoppers": []},
        "max_jobs": 50,
        # On SIGTERM take no new jobs and give running ones a moment (they are short) before
        # cancelling: a job cancelled mid-transaction is safe (the sweep redoes it) but noisy.
        "job_completion_wait": 5,
        "handle_signals": True,
    }
    from workers import complaint_sla, jobs

    jobs.register(options, settings)
    from workers import applicant

    applicant.register(options)  # messages to consenting applicants (needs jobs' notifier)
    complaint_sla.register(options)
    return options


def run_worker(settings: Settings, **overrides: Any) -> int:
    options = build_worker_options(settings)
    options.update(overrides)
    worker = Worker(**options)
    worker.run()
    return 0
