"""The bare floor (bench/floor.py) as a load-harness target.

Starts the floor in its own process, describes hall-shaped clients, and publishes ~300-byte event
frames straight to Redis with the send time inside (``reference = "frame"``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from bench.client_pool import HarnessError
from bench.client_worker import ClientSpec, FrameReader
from bench.deliveries import Published, Reference
from bench.floor import DEFAULT_PREFIX
from bench.hall import Hall, hall_channels
from bench.sampling import ServerProcesses

EVENT_BYTES = 300
_PROJECT_ROOT = Path(__file__).resolve().parent.parent


def read_floor_frame(text: str) -> tuple[str, float | None] | None:
    """Frame reader for frames built by ``event_frame``: (event id, embedded send time)."""
    frame = json.loads(text)
    if frame.get("op") != "event":
        return None
    return frame["id"], frame["data"]["sent_at"]


def event_frame(event_id: str, seq: int, room: str, sent_at: float) -> str:
    """An event frame shaped like PROTOCOL.md's, padded to about ``EVENT_BYTES`` bytes."""
    frame: dict[str, Any] = {
        "op": "event",
        "channel": room,
        "offset": seq,
        "id": event_id,
        "type": "task.created",
        "at": time.strftime("%Y-%m-%dT%H:%M:%S+07:00", time.gmtime(sent_at + 7 * 3600)),
        "data": {
            "sent_at": sent_at,
            "code": f"PTSA-{seq:06d}",
            "status": "new",
            "unit": room.partition(".")[2] or "front",
            "summary": "",
        },
    }
    pad = EVENT_BYTES - len(json.dumps(frame))
    frame["data"]["summary"] = "x" * max(0, pad)
    return json.dumps(frame)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise HarnessError(f"server exited with code {proc.returncode} before listening")
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        await asyncio.sleep(0.1)
    raise HarnessError(f"server did not listen on port {port} within {timeout:.0f} s")


def stop_process(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM (uvicorn shuts down gracefully), then SIGKILL after ``grace`` seconds."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class FloorTarget:
    redis_url: str = "redis://127.0.0.1:6379/0"
    port: int = 0  # 0: any free port
    hall: Hall = field(default_factory=Hall)
    lifetime: float = 900.0  # the floor exits by itself after this long
    seed: int = 1
    name: str = "floor"
    reference: Reference = "frame"
    loop: str = "auto"  # auto: uvloop when installed; asyncio: asyncio's own loop
    ideal: bool = False  # bench.floor --ideal: the lower bound, one transport.write a delivery

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._run = uuid.uuid4().hex[:6]  # event ids of two runs never collide
        self._proc: subprocess.Popen[bytes] | None = None
        self._redis: Redis | None = None
        self._gc_path = ""

    def frame_reader(self) -> FrameReader:
        return read_floor_frame

    async def start(self) -> ServerProcesses:
        self.port = self.port or free_port()
        handle, self._gc_path = tempfile.mkstemp(prefix="floor-gc-", suffix=".json")
        os.close(handle)
        command = [
            sys.executable,
            "-m",
            "bench.floor",
            "--port",
            str(self.port),
            "--redis-url",
            self.redis_url,
            "--max-seconds",
            str(self.lifetime),
            "--gc-probe",
            self._gc_path,
            "--loop",
            self.loop,
            *(["--ideal"] if self.ideal else []),
        ]
        # Own session: the terminal's Ctrl-C reaches only the harness, which stops the floor
        # in order (clients first) instead of both racing to shut down.
        self._proc = subprocess.Popen(command, cwd=_PROJECT_ROOT, start_new_session=True)
        await wait_for_port(self.port, self._proc, timeout=20.0)
        self._redis = Redis.from_url(self.redis_url)
        info = await self._redis.info("server")
        return ServerProcesses(server=(self._proc.pid,), redis=int(info["process_id"]))

    async def client_specs(self, n: int) -> list[ClientSpec]:
        url = f"ws://127.0.0.1:{self.port}/ws"
        names = [f"u{i:05d}" for i in range(n)]
        return [ClientSpec(url, channels) for channels in hall_channels(self.hall, names)]

    async def publish(self, seq: int) -> Published:
        if self._redis is None:
            raise HarnessError("publish() called before start()")
        room = self.hall.pick_room(self._rng)
        event_id = f"{self._run}-{seq}"
        sent_at = time.time()
        await self._redis.publish(DEFAULT_PREFIX + room, event_frame(event_id, seq, room, sent_at))
        return Published(event_id, (room,), sent_at)

    async def stop(self) -> dict[str, Any]:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None
        if self._proc is not None:
            await asyncio.to_thread(stop_process, self._proc)
            self._proc = None
        notes: dict[str, Any] = {}
        if self._gc_path:
            with contextlib.suppress(OSError, ValueError):
                notes["gc"] = json.loads(Path(self._gc_path).read_text())
            Path(self._gc_path).unlink(missing_ok=True)
            self._gc_path = ""
        return notes
