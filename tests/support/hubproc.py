"""Real hub processes for tests: ``uvicorn --factory hub.app:create_app`` as a child process.

Started with the same command line ``ptsa run`` uses (``hub.cli.runner.web_command``), configured
through environment variables, and ready once ``GET /healthz`` answers 200. Each process logs to
a file in the test's temporary directory, shown when a test fails to start one.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

from config.settings import PROJECT_ROOT, load_settings
from hub.cli.runner import web_command
from tests.support.processes import log_tail, terminate, wait_until_ready
from tests.support.servers import free_port


class HubProcess:
    """One uvicorn hub process.

    Args:
        env: settings as environment variables (DATABASE_URL, REDIS_URL, PTSA_*).
        log_path: where its output goes.
    """

    def __init__(self, env: Mapping[str, str], log_path: Path, port: int | None = None,
                 extra_args: Sequence[str] = ()) -> None:
        self.port = port or free_port()
        self.extra_args = tuple(extra_args)
        self.env = {**os.environ, **env, "PTSA_HOST": "127.0.0.1", "PTSA_PORT": str(self.port)}
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def start(self) -> None:
        settings = load_settings(self.env)
        command = [*web_command(settings), *self.extra_args]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(command, env=self.env, cwd=PROJECT_ROOT, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    async def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait until /healthz answers 200 (database, Redis and the subscriber all ok)."""
        async with httpx.AsyncClient(base_url=self.url, timeout=2.0) as client:
            async def healthy() -> tuple[bool, str]:
                answer = await client.get("/healthz")
                return answer.status_code == 200, answer.text

            await wait_until_ready(self.proc, healthy, what=f"hub on port {self.port}",
                                   timeout=timeout, log=self.log)

    async def health(self) -> tuple[int, dict[str, object]]:
        async with httpx.AsyncClient(base_url=self.url, timeout=5.0) as client:
            answer = await client.get("/healthz")
            return answer.status_code, answer.json()

    def log(self) -> str:
        return log_tail(self.log_path)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (uvicorn closes sockets with 1012 and runs the lifespan shutdown)."""
        terminate(self.proc, timeout)
        self.proc = None

    def kill(self) -> None:
        """SIGKILL: no shutdown at all, as in a crash."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


class HubCluster:
    """Hub processes sharing one database and one Redis; all stopped by ``close``."""

    def __init__(self, env: Mapping[str, str], log_dir: Path) -> None:
        self.env = dict(env)
        self.log_dir = log_dir
        self.hubs: list[HubProcess] = []

    async def start(self, count: int = 1, **extra_env: str) -> list[HubProcess]:
        started = []
        for _ in range(count):
            hub = HubProcess({**self.env, **extra_env},
                             self.log_dir / f"hub-{len(self.hubs) + 1}.log")
            self.hubs.append(hub)
            hub.start()
            started.append(hub)
        await asyncio.gather(*(hub.wait_ready() for hub in started))
        return started

    def close(self) -> None:
        for hub in self.hubs:
            hub.stop()
