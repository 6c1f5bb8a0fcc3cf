"""Running the real arq worker in tests: in-process (an asyncio task) or as a ``ptsa worker``
subprocess that a test can SIGKILL."""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

from arq.worker import Worker

from config.settings import PROJECT_ROOT, Settings
from workers.main import ResilientWorker, build_worker_options


async def eventually(check: Callable[[], Any], timeout: float = 10.0,
                     interval: float = 0.05, what: str = "condition") -> Any:
    """Poll ``check`` (sync or async) until it returns something truthy; returns that."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        await asyncio.sleep(interval)


async def stop_worker(worker: Worker, task: Awaitable[None], drain: float = 10.0) -> None:
    """Stop like a SIGTERM with ``job_completion_wait`` (what production does): take no new
    jobs, let running ones finish, then close. Closing at once would cancel a job in the middle
    of a database call, which the SIGKILL tests cover on purpose and this helper should not do
    by accident (a cancelled driver call leaves its connection for the garbage collector)."""
    worker.allow_pick_jobs = False
    with suppress(AssertionError):
        await eventually(lambda: all(t.done() for t in list(worker.tasks.values())),
                         timeout=drain, what="running jobs to finish")
    # arq 0.28 closes its pool with redis-py's deprecated close(); not our warning to fix.
    # Bounded: a stop that hangs (seen once in a full run, not reproduced) fails here within
    # 30 s naming what was still running, instead of as a bare 120 s test timeout.
    try:
        async with asyncio.timeout(30):
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=DeprecationWarning)
                await worker.close()
            with suppress(asyncio.CancelledError):
                await task
    except TimeoutError:
        running = [t.get_stack(limit=8) for t in asyncio.all_tasks() if not t.done()]
        raise AssertionError(f"the worker did not stop within 30 s; tasks still running: "
                             f"{running}") from None


@asynccontextmanager
async def running_worker(settings: Settings, **overrides: Any) -> AsyncIterator[Worker]:
    """The production worker options (``workers.main``) run as a task in this event loop."""
    options = build_worker_options(settings)
    options.update(burst=False, handle_signals=False, poll_delay=0.05, **overrides)
    worker = ResilientWorker(settings=settings, **options)
    task = asyncio.ensure_future(worker.async_run())
    try:
        await eventually(lambda: "parts" in worker.ctx or task.done(), what="worker start")
        if task.done():
            task.result()
        yield worker
    finally:
        await stop_worker(worker, task)


class WorkerProcess:
    """``python -m hub.cli worker`` with the given environment, output in ``log_path``."""

    def __init__(self, env: Mapping[str, str], log_path: Path) -> None:
        self.env = {**os.environ, **env, "PTSA_LOG_LEVEL": "INFO"}
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        try:
            self.proc = subprocess.Popen([sys.executable, "-m", "hub.cli", "worker"],
                                         env=self.env, cwd=PROJECT_ROOT, stdout=log,
                                         stderr=subprocess.STDOUT)
        finally:
            log.close()

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, exactly like a power cut or the OOM killer."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
