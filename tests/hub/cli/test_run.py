"""`make run`'s entry point (`ptsa run`) on an empty directory: it answers with the demo data
loaded, Ctrl-C stops every process it started, and a second start reuses the data. With
DATABASE_URL and REDIS_URL set it uses that PostgreSQL and that Redis instead."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from config.seed import DEMO_PASSWORD
from tests.support.servers import create_postgres_database, drop_postgres_database, free_port

PTSA = str(Path(sys.executable).parent / "ptsa")
START_TIMEOUT = 90.0


def _children_of(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (by parent id, so a child in its own session counts)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The command name may hold spaces or parentheses; fields after the last ")" are safe.
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "?"


class Running:
    """One `ptsa run` in its own process group, as a terminal would start it."""

    def __init__(self, workdir: Path, var_dir: Path, **extra_env: str) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("PTSA_") and k not in ("DATABASE_URL", "REDIS_URL")}
        env["PTSA_VAR_DIR"] = str(var_dir)
        env.update(extra_env)
        self.log_path = workdir / f"run-{self.port}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen([PTSA, "run", "--port", str(self.port)], cwd=workdir,
                                     env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.base = f"http://127.0.0.1:{self.port}"
        self.started: set[int] = set()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_healthy(self) -> dict[str, Any]:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"ptsa run exited with {self.proc.returncode}:\n{self.log()}")
            try:
                r = httpx.get(f"{self.base}/healthz", timeout=2)
                # Healthy, and the runner has printed its welcome (it polls the port itself, so
                # it may notice a moment after we do).
                if r.status_code == 200 and DEMO_PASSWORD in self.log():
                    self.started = _children_of(self.proc.pid)
                    return r.json()  # type: ignore[no-any-return]
            except httpx.TransportError:
                pass
            time.sleep(0.25)
        pytest.fail(f"no healthy answer within {START_TIMEOUT} s:\n{self.log()}")

    def ctrl_c(self) -> int:
        """SIGINT to the whole foreground group, like Ctrl-C; returns the exit code."""
        os.killpg(self.proc.pid, signal.SIGINT)
        code = self.proc.wait(timeout=30)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(_alive(p) for p in self.started):
            time.sleep(0.1)
        return code

    def kill_everything(self) -> None:
        """Last resort after a failure: no process of ours may outlive the test."""
        for pid in {self.proc.pid, *self.started, *_children_of(self.proc.pid)}:
            if _alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self.proc.poll() is None:
            self.proc.wait(timeout=10)
        self._log.close()


@pytest.fixture
def runs(tmp_path: Path) -> Iterator[list[Running]]:
    started: list[Running] = []
    yield started
    for run in started:
        run.kill_everything()


def _sign_in(base: str, username: str) -> dict[str, str]:
    r = httpx.post(f"{base}/api/v1/auth/token",
                   json={"username": username, "password": DEMO_PASSWORD}, timeout=10)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


# The demo organisation of the source text: 9 at the counter, two desks per Eselon I unit,
# 33 Eselon II desks, a supervisor for each of the 21 units that have desks, one admin.
DEMO_ROLES = {"p0": 9, "p1": 14, "p2": 33, "supervisor": 21, "admin": 1}
COUNT_SQL = {table: f"SELECT COUNT(*) FROM {table}"
             for table in ("units", "services", "staff", "tasks")}
COUNT_SQL["distinct_usernames"] = "SELECT COUNT(DISTINCT username) FROM staff"
ROLES_SQL = "SELECT role, COUNT(*) FROM staff GROUP BY role"


def _db_counts(db_path: Path) -> dict[str, Any]:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        counts: dict[str, Any] = {k: conn.execute(q).fetchone()[0] for k, q in COUNT_SQL.items()}
        counts["roles"] = dict(conn.execute(ROLES_SQL).fetchall())
    conn.close()
    return counts


def _pg_counts(url: str) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(url) as conn:
        counts: dict[str, Any] = {k: conn.execute(q).fetchone()[0]  # type: ignore[index]
                                  for k, q in COUNT_SQL.items()}
        counts["roles"] = dict(conn.execute(ROLES_SQL).fetchall())  # type: ignore[arg-type]
    return counts


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_ptsa_run_from_empty_directory_then_again(tmp_path: Path,
                                                  runs: list[Running]) -> None:
    """First start creates SQLite, embedded Redis and the demo data and answers; Ctrl-C stops
    all its processes; a second start answers with the same data, not twice the data."""
    var_dir = tmp_path / "var"
    first = Running(tmp_path, var_dir)
    runs.append(first)
    health = first.wait_healthy()
    assert health["checks"]["database"] == "ok" and health["checks"]["redis"] == "ok"
    log = first.log()
    assert f"http://127.0.0.1:{first.port}/" in log and "p1-barenbang-1" in log
    assert DEMO_PASSWORD in log and "embedded Redis" in log
    commands = " ".join(_command(p) for p in first.started)
    assert "redis-server" in commands and "uvicorn" in commands and "hub.cli worker" in commands

    headers = _sign_in(first.base, "p0-1")
    units = httpx.get(f"{first.base}/api/v1/units", headers=headers, timeout=10).json()
    services = httpx.get(f"{first.base}/api/v1/services", headers=headers, timeout=10).json()
    r = httpx.post(f"{first.base}/api/v1/tasks", headers=headers, timeout=10, json={
        "service": "data-informasi", "description": "kept across restarts",
        "applicant": {"name": "Dewi", "phone": "0812 3456 7890"}})
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    assert (var_dir / "ptsa.db").exists() and (var_dir / "redis").is_dir()
    counts = _db_counts(var_dir / "ptsa.db")
    assert counts["roles"] == DEMO_ROLES
    assert counts["staff"] == counts["distinct_usernames"] == sum(DEMO_ROLES.values())
    assert (counts["units"], counts["services"]) == (len(units), len(services))
    assert len(services) == 10

    assert first.ctrl_c() == 0, first.log()
    left = {p: _command(p) for p in first.started if _alive(p)}
    assert not left, f"processes left running after Ctrl-C: {left}"
    # Each child was stopped once (a second SIGINT is uvicorn's "force exit", which skips the
    # app's shutdown), and the embedded Redis last, so they shut down with Redis still there.
    stopping = first.log().split("Shutting down", 1)[-1]
    assert "Application shutdown complete" in stopping, first.log()
    assert "connection lost" not in stopping and "Traceback" not in stopping, first.log()

    second = Running(tmp_path, var_dir)
    runs.append(second)
    second.wait_healthy()
    assert _db_counts(var_dir / "ptsa.db") == counts
    assert "0 units, 0 services, 0 staff added" in second.log()
    headers = _sign_in(second.base, "p0-1")
    assert len(httpx.get(f"{second.base}/api/v1/units", headers=headers, timeout=10).json()) \
        == len(units)
    r = httpx.get(f"{second.base}/api/v1/track/{code}", timeout=10)
    assert r.status_code == 200 and r.json()["stage"] == "received"
    assert second.ctrl_c() == 0, second.log()
    left = {p: _command(p) for p in second.started if _alive(p)}
    assert not left, f"processes left running after Ctrl-C: {left}"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_ptsa_run_uses_the_postgresql_and_redis_it_is_given(tmp_path: Path, runs: list[Running],
                                                            redis_url: str) -> None:
    """With DATABASE_URL and REDIS_URL set: no embedded Redis, no SQLite file; the demo data
    lands in PostgreSQL once, and a second start adds nothing."""
    name, pg_url = create_postgres_database()
    try:
        var_dir = tmp_path / "var"
        given = {"DATABASE_URL": pg_url, "REDIS_URL": redis_url}
        first = Running(tmp_path, var_dir, **given)
        runs.append(first)
        health = first.wait_healthy()
        assert health["checks"]["database"] == "ok" and health["checks"]["redis"] == "ok"
        assert "embedded Redis" not in first.log()
        assert "redis-server" not in " ".join(_command(p) for p in first.started)
        assert not (var_dir / "ptsa.db").exists() and not (var_dir / "redis").exists()
        counts = _pg_counts(pg_url)
        assert counts["roles"] == DEMO_ROLES and counts["services"] == 10
        headers = _sign_in(first.base, "p0-1")
        r = httpx.post(f"{first.base}/api/v1/tasks", headers=headers, timeout=10, json={
            "service": "data-informasi", "applicant": {"name": "Dewi", "phone": "0812 3456 7890"}})
        assert r.status_code == 201, r.text
        assert first.ctrl_c() == 0, first.log()

        second = Running(tmp_path, var_dir, **given)
        runs.append(second)
        second.wait_healthy()
        assert "0 units, 0 services, 0 staff added" in second.log()
        assert _pg_counts(pg_url) == {**counts, "tasks": counts["tasks"] + 1}
        assert second.ctrl_c() == 0, second.log()
    finally:
        for run in runs:
            run.kill_everything()  # the database cannot be dropped while they hold connections
        runs.clear()
        drop_postgres_database(name)
