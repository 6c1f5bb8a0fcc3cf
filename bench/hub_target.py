"""The real hub as a load-harness target.  >>> LEAD: complete the hooks marked ``LEAD HOOK`` <<<

Done here, against the DESIGN.md contracts: one token per distinct user from
``POST /api/v1/auth/token``; unit codes from ``GET /api/v1/units`` and service codes from
``GET /api/v1/services``; clients on ``ws://host:port/ws?token=...``; tasks registered with
``POST /api/v1/tasks`` at the harness's steady rate. The latency reference is the moment the
HTTP response to that POST came back (``reference = "side-table"``, keyed by task code), so the
figure is "registered at the counter → seen on the screens".

Note that a hub publishing before it answers the POST can deliver *before* the reference time:
negative latencies are kept as measured (the report shows the minimum), not clipped.
"""

from __future__ import annotations

import json
import random
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from bench.client_pool import HarnessError
from bench.client_worker import ClientSpec, FrameReader
from bench.deliveries import Published, Reference
from bench.floor_target import stop_process, wait_for_port
from bench.hall import Hall
from bench.sampling import ServerProcesses


@dataclass(frozen=True)
class HubClient:
    username: str
    password: str
    channels: tuple[str, ...]  # subscribed in order; each must be allowed for this user


def start_hub_processes(base_url: str, redis_url: str) -> list[subprocess.Popen[bytes]]:
    """LEAD HOOK 1: start the hub (web process(es), relay if separate) listening on base_url.

    Return the Popen objects; the first one's PID (and the others') are measured as "server".
    Start them with ``start_new_session=True`` and a bounded lifetime if the CLI offers one, with
    the production-like settings (no permessage-deflate, REDIS_URL=redis_url, a seeded database
    that holds the users returned by ``hub_clients``).
    """
    raise NotImplementedError("bench.hub_target.start_hub_processes: the lead completes this")


def hub_clients(hall: Hall, n: int) -> list[HubClient]:
    """LEAD HOOK 2: n connections shaped like the hall, as users allowed on their channels.

    Use ``hall.level_rooms(n)`` for the 10/30/60 shape: a ``p0`` room needs a P0 user, ``p1.X`` a
    P1 of unit X, ``p2.Y`` a P2 of unit Y; add ``user.<username>`` as the second channel. Several
    connections may share a user (one token is fetched per distinct username).
    """
    raise NotImplementedError("bench.hub_target.hub_clients: the lead completes this")


def choose_service(services: Sequence[dict[str, Any]], rng: random.Random) -> str:
    """LEAD HOOK 3a: the service code of the next registered task.

    Pick it so that the rooms its ``task.created`` lands on follow the hall's 10/30/60 weights
    (see ``Hall.pick_room``). The default (uniform over all services) is only a placeholder.
    """
    return str(rng.choice(services)["code"])


def task_channels(task: dict[str, Any]) -> tuple[str, ...]:
    """LEAD HOOK 3b: the channels whose subscribers must receive this task's ``task.created``.

    The default follows DESIGN.md (the task's ``level`` and ``unit``); confirm it against the
    relay, and add e.g. ``sup.<unit>`` if bench clients subscribe there too.
    """
    level, unit = task["level"], task.get("unit")
    return ("p0",) if level == "p0" or not unit else (f"{level}.{unit}",)


def read_hub_frame(text: str) -> tuple[str, float | None] | None:
    """LEAD HOOK 4: the side-table key of a frame (the task code), or None to ignore the frame.

    Only ``task.created`` counts: the other events of a task are not what the harness published.
    If the hub adds its own publish time to ``data``, return it as the second item and switch
    ``HubTarget.reference`` to ``"frame"`` to measure hub-only latency.
    """
    frame = json.loads(text)
    if frame.get("op") != "event" or frame.get("type") != "task.created":
        return None
    return str(frame["data"]["code"]), None


@dataclass
class HubTarget:
    base_url: str = "http://127.0.0.1:8000"
    redis_url: str = "redis://127.0.0.1:6379/0"
    publisher_username: str = "bench-counter"  # a P0 at the front desk registers the tasks
    publisher_password: str = ""
    seed: int = 1
    name: str = "hub"
    reference: Reference = "side-table"
    hall: Hall = field(default_factory=Hall)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._procs: list[subprocess.Popen[bytes]] = []
        self._http: httpx.AsyncClient | None = None
        self._tokens: dict[str, str] = {}
        self._services: list[dict[str, Any]] = []

    def frame_reader(self) -> FrameReader:
        return read_hub_frame

    async def start(self) -> ServerProcesses:
        self._procs = start_hub_processes(self.base_url, self.redis_url)
        port = urlsplit(self.base_url).port or 80
        await wait_for_port(port, self._procs[0], timeout=60.0)
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=30.0)
        token = await self.token(self.publisher_username, self.publisher_password)
        headers = {"Authorization": f"Bearer {token}"}
        units = (await self._http.get("/api/v1/units", headers=headers)).raise_for_status().json()
        self.hall = Hall(
            p1_codes=tuple(u["code"] for u in units if u["level"] == "eselon1"),
            p2_codes=tuple(u["code"] for u in units if u["level"] == "eselon2"),
        )
        services = await self._http.get("/api/v1/services", headers=headers)
        self._services = services.raise_for_status().json()
        return ServerProcesses(server=tuple(p.pid for p in self._procs))

    async def token(self, username: str, password: str) -> str:
        """A bearer token for username, fetched once per run."""
        if username not in self._tokens:
            if self._http is None:
                raise HarnessError("token() called before start()")
            answer = await self._http.post(
                "/api/v1/auth/token", json={"username": username, "password": password}
            )
            if answer.status_code != 200:
                raise HarnessError(
                    f"POST /api/v1/auth/token for {username!r}: "
                    f"expected 200, got {answer.status_code} {answer.text[:200]}"
                )
            self._tokens[username] = answer.json()["access_token"]
        return self._tokens[username]

    async def client_specs(self, n: int) -> list[ClientSpec]:
        ws_base = self.base_url.replace("http", "ws", 1)
        specs = []
        for client in hub_clients(self.hall, n):
            token = await self.token(client.username, client.password)
            specs.append(ClientSpec(f"{ws_base}/ws?token={quote(token)}", client.channels))
        return specs

    async def publish(self, seq: int) -> Published:
        if self._http is None:
            raise HarnessError("publish() called before start()")
        token = await self.token(self.publisher_username, self.publisher_password)
        body = {
            "service": choose_service(self._services, self._rng),
            "applicant": {
                "name": f"Bench Applicant {seq}",
                "organisation": "PT Bench",
                "phone": "+62215550000",
                "email": f"bench{seq}@example.test",
            },
            "description": f"benchmark task {seq}",
        }
        answer = await self._http.post(
            "/api/v1/tasks", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        answered_at = time.time()  # the reference: when the counter saw the task registered
        if answer.status_code != 201:
            raise HarnessError(
                f"POST /api/v1/tasks: expected 201, got {answer.status_code} {answer.text[:200]}"
            )
        task = answer.json()
        return Published(str(task["code"]), task_channels(task), answered_at)

    async def stop(self) -> dict[str, Any]:
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        for proc in reversed(self._procs):
            stop_process(proc)
        self._procs = []
        return {}
