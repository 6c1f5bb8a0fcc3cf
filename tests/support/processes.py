"""What the child processes of the test support (hubs, HAProxy) share: waiting until one is
ready while noticing that it died, its log's tail for the failure message, and stopping it as
``systemctl stop`` would (SIGTERM, then SIGKILL if it does not exit in time)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

# One probe of readiness: (ready, what it saw) — the last "what it saw" ends the timeout error.
Probe = Callable[[], Awaitable[tuple[bool, str]]]


async def wait_until_ready(proc: subprocess.Popen[bytes] | None, probe: Probe, *, what: str,
                           timeout: float, log: Callable[[], str],
                           interval: float = 0.1) -> None:
    """Poll ``probe`` every ``interval`` seconds until it says ready.

    Raises:
        RuntimeError: ``proc`` exited (or never started), or ``timeout`` passed; either way
            with the tail of its log, since that is where the reason is.
    """
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc is None or proc.poll() is not None:
            raise RuntimeError(f"{what} exited before it was ready:\n{log()}")
        try:
            ready, last = await probe()
            if ready:
                return
        except (OSError, httpx.HTTPError) as exc:  # not listening yet
            last = repr(exc)
        await asyncio.sleep(interval)
    raise RuntimeError(f"{what} not ready after {timeout} s ({last}):\n{log()}")


def log_tail(path: Path, chars: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def terminate(proc: subprocess.Popen[bytes] | None, timeout: float) -> None:
    """SIGTERM and wait up to ``timeout`` seconds; SIGKILL if it is still running then."""
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
