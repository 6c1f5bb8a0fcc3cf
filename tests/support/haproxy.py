"""Debian's HAProxy in front of hub processes, run with the SHIPPED ``deploy/haproxy.cfg``.

``render`` changes only the lines the file marks "rendered by tests": the listen address, the
hub list between ``# BEGIN hubs`` and ``# END hubs``, the admin socket path, and
user/group/chroot when the tests do not run as root. Everything else (timeouts, balance, health
checks, forwarded headers) is exactly what ships, so the file cannot drift from what is tested.

The process runs in master-worker mode (``-W``): ``reload`` is SIGUSR2, as ``systemctl reload``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from config.settings import PROJECT_ROOT
from tests.support.processes import log_tail, terminate, wait_until_ready
from tests.support.servers import free_port

SHIPPED = PROJECT_ROOT / "deploy" / "haproxy.cfg"
MARK = "# rendered by tests: "


def haproxy_executable() -> str:
    found = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists()
                                        else None)
    if not found:
        raise RuntimeError("no haproxy: install Debian's haproxy (apt-get install haproxy)")
    return found


def render(text: str, port: int, servers: Sequence[tuple[str, int]], run_dir: Path) -> str:
    """The shipped configuration with only the marked lines replaced.

    Raises:
        ValueError: a marked line or the hubs block is missing (the file changed shape).
    """
    lines = text.splitlines()
    out: list[str] = []
    seen: set[str] = set()
    in_hubs = False
    replace_next: str | None = None
    root = os.geteuid() == 0
    for line in lines:
        stripped = line.strip()
        indent = line[: len(line) - len(line.lstrip())]
        if replace_next is not None:
            what, replace_next = replace_next, None
            seen.add(what)
            if what == "bind":
                out.append(f"{indent}bind 127.0.0.1:{port}")
            elif what == "stats socket":
                out.append(f"{indent}stats socket {run_dir / 'admin.sock'} mode 600 level admin")
            elif what in ("user", "group", "chroot"):
                if root:
                    out.append(line)
            continue
        if stripped.startswith(MARK):
            replace_next = stripped[len(MARK):]
            continue
        if stripped.startswith("# BEGIN hubs"):  # every pool lists the same hubs
            in_hubs = True
            seen.add("hubs")
            out.append(line)
            out.extend(f"{indent}server {name} 127.0.0.1:{p}" for name, p in servers)
            continue
        if stripped.startswith("# END hubs"):
            in_hubs = False
        if not in_hubs:
            out.append(line)
    missing = {"bind", "stats socket", "user", "group", "chroot", "hubs"} - seen
    if missing:
        raise ValueError(f"{SHIPPED}: the marked lines {sorted(missing)} are missing")
    return "\n".join(out) + "\n"


class HAProxy:
    """One HAProxy (master + worker) with the shipped configuration, on a free port."""

    def __init__(self, servers: Sequence[tuple[str, int]], log_path: Path) -> None:
        self.port = free_port()
        self.servers = list(servers)
        self.run_dir = Path(tempfile.mkdtemp(prefix="ptsa-haproxy-"))
        self.config = self.run_dir / "haproxy.cfg"
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def write_config(self) -> None:
        self.config.write_text(render(SHIPPED.read_text(), self.port, self.servers, self.run_dir))
        check = subprocess.run([haproxy_executable(), "-c", "-f", str(self.config)],
                               capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"haproxy -c refused {self.config}:\n{check.stdout}{check.stderr}")

    def start(self) -> None:
        self.write_config()
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([haproxy_executable(), "-W", "-f", str(self.config)],
                                         stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    async def wait_ready(self, up: int | None = None, timeout: float = 20.0) -> None:
        """Until the frontend accepts connections and ``up`` servers (default: all) are UP."""
        want = len(self.servers) if up is None else up

        async def enough_up() -> tuple[bool, str]:
            states = await self.server_states()
            return sum(s == "UP" for s in states.values()) >= want, str(states)

        await wait_until_ready(self.proc, enough_up, what="haproxy", timeout=timeout,
                               log=self.log)

    async def command(self, line: str) -> str:
        """One command on the admin socket (``show stat``, ``set server ...``)."""
        reader, writer = await asyncio.open_unix_connection(str(self.run_dir / "admin.sock"))
        try:
            writer.write(line.encode() + b"\n")
            await writer.drain()
            return (await reader.read()).decode()
        finally:
            writer.close()

    async def stats(self, backend: str = "hubs") -> dict[str, dict[str, str]]:
        """``show stat`` of one backend's servers, by server name."""
        text = await self.command("show stat")
        rows = [r for r in text.splitlines() if r and not r.startswith("#")]
        header = text.splitlines()[0].lstrip("# ").split(",")
        found: dict[str, dict[str, str]] = {}
        for row in rows:
            values = dict(zip(header, row.split(","), strict=False))
            if values.get("pxname") == backend and values.get("svname") not in ("BACKEND",
                                                                               "FRONTEND"):
                found[values["svname"]] = values
        return found

    async def server_states(self) -> dict[str, str]:
        """``UP``, ``DOWN``, ``MAINT``, ... of each hub (transitional states reduced to the
        first word: ``UP 1/2`` is still UP)."""
        return {name: s["status"].split()[0] for name, s in (await self.stats()).items()}

    async def current_sessions(self) -> dict[str, int]:
        """Open connections (WebSockets included) per hub, as HAProxy counts them (both pools)."""
        found: dict[str, int] = {}
        for backend in ("hubs", "hubs_failopen"):
            for name, s in (await self.stats(backend)).items():
                found[name] = found.get(name, 0) + int(s["scur"] or 0)
        return found

    def reload(self) -> None:
        """SIGUSR2 to the master: a new worker reads the configuration; the old one finishes."""
        assert self.proc is not None
        self.write_config()
        self.proc.send_signal(signal.SIGUSR2)

    def log(self) -> str:
        return log_tail(self.log_path)

    def stop(self) -> None:
        """SIGTERM (as ``systemctl stop``); ``start`` brings it back on the same port."""
        terminate(self.proc, timeout=10)
        self.proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.run_dir, ignore_errors=True)


