"""The arq worker process: ``ptsa worker``.

Its jobs: SLA clocks (``workers/sla/engine.py``) and notifications (``workers/notify/outbox.py``);
``build_worker_options`` lists the job functions. Its loops (the outbox relay's safety net, the SLA
sweep, applicant messages, complaint deadlines) are built and started in one place,
``workers/context.py``, from ``on_startup``; nothing connects before the worker starts.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from arq.connections import RedisSettings
from arq.worker import Worker
from redis.exceptions import RedisError

from channels import names
from config.settings import Settings
from hub.cli.loop import install as install_loop
from hub.errors import ConfigError
from hub.redis_clients import arq_pool

log = logging.getLogger(__name__)


async def on_startup(ctx: dict[str, Any]) -> None:
    """The worker's wiring: its own context (workers/context.py), started part by part."""
    from workers.context import WorkerContext

    parts = WorkerContext(ctx["settings"], ctx["redis"])
    ctx["stopping"] = parts  # stopped at shutdown even if its start failed half-way
    await parts.start()
    ctx["parts"] = parts  # what the job functions use


async def on_shutdown(ctx: dict[str, Any]) -> None:
    parts = ctx.pop("stopping", None)
    if parts is not None:
        await parts.stop()


# What a Redis outage looks like from redis-py: refused or reset connections, read timeouts.
REDIS_DOWN = (RedisError, OSError, TimeoutError)
BACKOFF_MAX_S = 5.0


class ResilientWorker(Worker):
    """arq's ``Worker`` that outlives a Redis outage.

    arq's main loop awaits ``_poll_iteration`` bare, so one ``ConnectionError`` (Redis restarted,
    or a read timeout while it hangs) ends ``ptsa worker`` for good. Here a failed iteration is
    logged, the loop backs off (0.1 s doubling to 5 s) and polls again; redis-py reconnects on the
    next command. Jobs lost with a non-persistent Redis are the SLA sweep's business
    (``workers/sla/sweep.py``): it fires clocks that fell due meanwhile and re-schedules the rest.
    The pool is ours (``hub.redis_clients.arq_pool``), with connect and read timeouts, so a hung
    Redis fails a poll instead of freezing it.
    """

    def __init__(self, *args: Any, settings: Settings, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.settings = settings
        self.redis_failures = 0

    async def main(self) -> None:
        if self._pool is None:
            self._pool = arq_pool(self.settings.queue_url or "", self.settings.redis_timeout)
            while True:  # start even while Redis is still coming up
                try:
                    await self._pool.ping()
                    break
                except REDIS_DOWN as exc:
                    await self._redis_down(exc)
            self.redis_failures = 0
        await super().main()

    async def _poll_iteration(self) -> None:
        try:
            await super()._poll_iteration()
        except REDIS_DOWN as exc:
            await self._redis_down(exc)
            return
        if self.redis_failures:
            log.warning("Redis answers again after %d failed polls; carrying on",
                        self.redis_failures)
            self.redis_failures = 0

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        # arq takes a job slot before its Redis round trips and leaks it if one fails; give it
        # back, or a few outages would use up max_jobs and the worker would stop taking jobs.
        for job_id in job_ids:
            before = self.job_counter
            try:
                await super().start_jobs([job_id])
            except BaseException:
                if self.job_counter > before:
                    self._release_sem_dec_counter_on_complete()
                raise

    async def close(self) -> None:
        try:
            await super().close()
        except REDIS_DOWN as exc:  # arq's close starts with a Redis call; shut our parts anyway
            log.warning("Redis unavailable at shutdown (%s); closing without it", exc)
            if self.on_shutdown:
                await self.on_shutdown(self.ctx)

    async def _redis_down(self, exc: BaseException) -> None:
        self.redis_failures += 1
        delay = min(BACKOFF_MAX_S, 0.1 * 2 ** min(self.redis_failures - 1, 6))
        if self.redis_failures in (1, 10) or self.redis_failures % 60 == 0:
            log.warning("Redis is unavailable (%s: %s), %d failures in a row; retrying in "
                        "%.1f s", type(exc).__name__, exc, self.redis_failures, delay)
        await asyncio.sleep(delay)


def build_worker_options(settings: Settings) -> dict[str, Any]:
    if not settings.redis_url:
        raise ConfigError("the worker needs REDIS_URL (use `ptsa run` for an embedded Redis)")
    options: dict[str, Any] = {
        "functions": [],
        "cron_jobs": [],
        "on_startup": on_startup,
        "on_shutdown": on_shutdown,
        # arq runs on the standalone queue Redis (it does not support Redis Cluster).
        "redis_settings": RedisSettings.from_dsn(settings.queue_url or settings.redis_url),
        "queue_name": names.ARQ_QUEUE,
        "ctx": {"settings": settings},
        "max_jobs": 50,
        # On SIGTERM take no new jobs and give running ones a moment (they are short) before
        # cancelling: a job cancelled mid-transaction is safe (the sweep redoes it) but noisy.
        "job_completion_wait": 5,
        "handle_signals": True,
    }
    from workers import jobs

    jobs.register(options, settings)
    return options


def run_worker(settings: Settings, **overrides: Any) -> int:
    # arq runs on asyncio.get_event_loop(): uvloop's where it installs.
    install_loop(settings.event_loop)
    options = build_worker_options(settings)
    options.update(overrides)
    worker = ResilientWorker(settings=settings, **options)
    worker.run()
    return 0
