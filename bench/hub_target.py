"""The real hub as a load-harness target.

One token per distinct user from ``POST /api/v1/auth/token``; unit codes from
``GET /api/v1/units`` and service codes from ``GET /api/v1/services``; clients on
``ws://host:port/ws?token=...``; tasks registered with ``POST /api/v1/tasks`` at the harness's
steady rate. The latency reference is the moment the HTTP response to that POST came back
(``reference = "side-table"``, keyed by task code), so the figure is "registered at the counter →
seen on the screens".

The hub publishes after commit and *before* it answers the POST, so a screen can receive an
event before the reference time: negative latencies are kept as measured, not clipped.

Processes (``bench/hub_procs.py``): the *fan-out* hub the clients connect to (``--hub-url``; the
measured server, like the peers' one server process), a second hub process that answers the
POSTs (its relay publishes; CPU reported apart as ``api_cpu_s``), a private Redis and a fresh
database with the demo staff. Every ``task.created`` reaches ``p0`` and ``p1.<eselon1>``
(``channels.audience.hears``): a new request goes to the front office and to the Eselon I
desk, never straight to a P2 room, so per event the hub delivers to ~10 % + ~4 % of the clients
— more deliveries per event than the floor's single room. CPU is compared per 1,000 deliveries.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from redis.asyncio import Redis

from bench import procstat
from bench.client_pool import HarnessError
from bench.client_worker import ClientSpec, FrameReader
from bench.deliveries import Published, Reference
from bench.floor_target import EVENT_BYTES, free_port, wait_for_port
from bench.hall import Hall, hall_channels
from bench.hub_procs import HubProcesses, start_hub_processes
from bench.sampling import ServerProcesses
from channels.history import History, OutgoingEvent, event_body, event_frame
from config.catalog import load_catalog
from config.seed import DEMO_PASSWORD
from hub.models import utcnow


@dataclass(frozen=True)
class HubClient:
    username: str
    password: str
    channels: tuple[str, ...]  # subscribed in order; each must be allowed for this user


def demo_users() -> dict[str, list[str]]:
    """Demo usernames by the level room they may join (``p0``, ``p1.<code>``, ``p2.<code>``)."""
    rooms: dict[str, list[str]] = {}
    for person in load_catalog().demo_staff:
        if person.role == "p0":
            rooms.setdefault("p0", []).append(person.username)
        elif person.role in ("p1", "p2"):
            rooms.setdefault(f"{person.role}.{person.unit_code}", []).append(person.username)
    return rooms


def hub_clients(hall: Hall, n: int) -> list[HubClient]:
    """n connections shaped like the hall, each as a demo user allowed on its level room, with
    that user's personal room as the second channel (connections share users round-robin)."""
    users = demo_users()
    turn: dict[str, int] = {}
    clients = []
    for room in hall.level_rooms(n):
        candidates = users.get(room)
        if not candidates:
            raise HarnessError(f"no demo user may join {room!r}; restrict the hall's codes")
        index = turn.get(room, 0)
        turn[room] = index + 1
        username = candidates[index % len(candidates)]
        clients.append(HubClient(username, DEMO_PASSWORD, (room, f"user.{username}")))
    return clients


def choose_service(services: Sequence[dict[str, Any]], rng: random.Random) -> str:
    """A service of a uniformly chosen Eselon I unit (the units that offer services get equal
    traffic, whatever the number of services each offers)."""
    by_unit: dict[str, list[str]] = {}
    for service in services:
        by_unit.setdefault(str(service["eselon1"]), []).append(str(service["code"]))
    unit = rng.choice(sorted(by_unit))
    return rng.choice(by_unit[unit])


def task_channels(task: dict[str, Any]) -> tuple[str, ...]:
    """Where a ``task.created`` goes among the rooms bench clients join: ``p0`` and the Eselon I
    desk (``hears`` also publishes to ``task.<id>``, which no bench client joins)."""
    return ("p0", f"p1.{task['eselon1']}")


def read_hub_frame(text: str) -> tuple[str, float | None] | None:
    """The side-table key of a frame (the task code) and the event's own time (``at``: when the
    registering command started, before its commit), or None to ignore the frame.

    ``HubTarget(reference="frame")`` (``--hub-reference event``) measures from ``at``: commit,
    relay and fan-out, without the HTTP answer's own path back to the counter.
    """
    frame = json.loads(text)
    if frame.get("op") != "event" or frame.get("type") != "task.created":
        return None
    at = datetime.fromisoformat(frame["at"].replace("Z", "+00:00")).timestamp()
    return str(frame["data"]["task"]["code"]), at


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
    # "api": register tasks with POST /api/v1/tasks (the product end to end). "relay": append
    # ~300-byte events straight through the relay's Redis script, one hall-weighted room per
    # event, as the peers published to its peers: the fan-out hub alone, next to the floor.
    publisher: str = "api"
    # --hubs N: N fan-out hub processes; clients are spread over them round-robin, connecting
    # to each directly (no load balancer: the CPU per process is the figure). "server" CPU is
    # their sum; per-hub CPU is in the notes.
    hubs: int = 1
    # --redis-cluster: history and live fan-out on a local 3+3 Redis Cluster
    # (tests/support/redis_cluster.py); the private standalone Redis keeps the queue.
    redis_cluster: bool = False
    server_args: tuple[str, ...] = ()  # extra options of the fan-out hub (bench/hub_server.py)

    def __post_init__(self) -> None:
        if self.publisher not in ("api", "relay"):
            raise HarnessError(f"publisher must be 'api' or 'relay', got {self.publisher!r}")
        if self.publisher == "relay":
            self.reference = "frame"
        self._run = uuid.uuid4().hex[:6]
        self._history: History | None = None
        self._rng = random.Random(self.seed)
        self._procs: HubProcesses | None = None
        self._api_cpu_start = 0.0
        self.publisher_password = self.publisher_password or DEMO_PASSWORD
        self._http: httpx.AsyncClient | None = None
        self._tokens: dict[str, str] = {}
        self._services: list[dict[str, Any]] = []
        self._cluster: Any = None
        self._hub_urls: list[str] = [self.base_url]
        self._hub_cpu_start: list[float] = []

    def frame_reader(self) -> FrameReader:
        return read_hub_frame

    async def start(self) -> ServerProcesses:
        port = urlsplit(self.base_url).port or 80
        cluster_url = None
        if self.redis_cluster:
            from tests.support.redis_cluster import RedisCluster

            self._cluster = RedisCluster()
            await asyncio.to_thread(self._cluster.start)
            cluster_url = self._cluster.url
        extra = [free_port() for _ in range(self.hubs - 1)]
        host = urlsplit(self.base_url).hostname or "127.0.0.1"
        self._hub_urls = [self.base_url, *(f"http://{host}:{p}" for p in extra)]
        self._procs = procs = start_hub_processes(port, self.publisher_username,
                                                  self.publisher_password, extra, cluster_url,
                                                  self.server_args)
        for hub_port, proc in zip([port, *extra], procs.fanouts, strict=True):
            await wait_for_port(hub_port, proc, timeout=60.0)
        await wait_for_port(urlsplit(procs.api_url).port or 80, procs.api, timeout=60.0)
        self._http = httpx.AsyncClient(base_url=procs.api_url, timeout=30.0)
        token = await self.token(self.publisher_username, self.publisher_password)
        headers = {"Authorization": f"Bearer {token}"}
        units = (await self._http.get("/api/v1/units", headers=headers)).raise_for_status().json()
        staffed = demo_users()
        if self.publisher == "relay":
            # The floor's own hall (7 + 33 rooms, personal rooms u00000…), joined as the admin,
            # who may follow any channel: the same rooms and deliveries as the floor's run.
            self.hall = Hall()
            return self._server_processes(procs)
        self.hall = Hall(
            p1_codes=tuple(u["code"] for u in units if u["level"] == "eselon1"),
            # Eselon II units without a demo P2 account have no screens to fill.
            p2_codes=tuple(u["code"] for u in units
                           if u["level"] == "eselon2" and f"p2.{u['code']}" in staffed),
        )
        services = await self._http.get("/api/v1/services", headers=headers)
        self._services = services.raise_for_status().json()
        self._api_cpu_start = procstat.cpu_seconds(procs.api.pid)
        return self._server_processes(procs)

    def _server_processes(self, procs: HubProcesses) -> ServerProcesses:
        self._hub_cpu_start = [procstat.cpu_seconds(p.pid) for p in procs.fanouts]
        # Redis CPU: the standalone one; with a cluster its nodes are not sampled.
        return ServerProcesses(server=tuple(p.pid for p in procs.fanouts),
                               redis=None if self.redis_cluster else procs.redis.pid)

    def hub_base(self, index: int) -> str:
        """The fan-out hub client ``index`` connects to (round-robin over ``--hubs``)."""
        return self._hub_urls[index % len(self._hub_urls)].replace("http", "ws", 1)

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
        if self.publisher == "relay":
            token = quote(await self.token("admin", DEMO_PASSWORD))
            usernames = [f"u{i:05d}" for i in range(n)]
            return [ClientSpec(f"{self.hub_base(i)}/ws?token={token}", channels)
                    for i, channels in enumerate(hall_channels(self.hall, usernames))]
        specs = []
        for i, client in enumerate(hub_clients(self.hall, n)):
            token = await self.token(client.username, client.password)
            specs.append(ClientSpec(f"{self.hub_base(i)}/ws?token={quote(token)}",
                                    client.channels))
        return specs

    async def publish(self, seq: int) -> Published:
        if self.publisher == "relay":
            return await self._append(seq)
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

    async def _append(self, seq: int) -> Published:
        """One event through the relay's own script (``History.append``), padded like the
        floor's frames; ``at`` is the reference."""
        if self._procs is None:
            raise HarnessError("publish() called before start()")
        if self._history is None:
            if self._cluster is not None:
                # The hub's own cluster client (issue 15's hub/redis_clients.py).
                from datetime import timedelta

                from hub.redis_clients import cluster_client

                client: Any = cluster_client(self._cluster.url, timedelta(seconds=5))
            else:
                client = Redis.from_url(self._procs.redis_url)
            self._history = History(client, 10_000, 26 * 3600)
        room = self.hall.pick_room(self._rng)
        code = f"{self._run}-{seq}"
        payload = {"task": {"code": code, "status": "queued", "unit": room.partition(".")[2]},
                   "actor": None, "note": ""}
        frame = event_frame(room, "1732700000000-0", event_body(code, "task.created",
                                                                utcnow(), json.dumps(payload)))
        payload["note"] = "x" * max(0, EVENT_BYTES - len(frame))
        at = utcnow()
        await self._history.append([OutgoingEvent(code, room, "task.created", at,
                                                  json.dumps(payload))])
        return Published(code, (room,), at.timestamp())

    async def stop(self) -> dict[str, Any]:
        if self._history is not None:
            await self._history.redis.aclose()
            self._history = None
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        notes: dict[str, Any] = {}
        procs, self._procs = self._procs, None
        if procs is not None:
            with contextlib.suppress(OSError, ValueError):
                notes["api_cpu_s"] = procstat.cpu_seconds(procs.api.pid) - self._api_cpu_start
                # Whole run (connect, warm-up, window): how evenly the hubs shared the work.
                notes["hub_cpu_s"] = [procstat.cpu_seconds(p.pid) - c for p, c in
                                      zip(procs.fanouts, self._hub_cpu_start, strict=False)]
            await asyncio.to_thread(procs.stop_servers)
            with contextlib.suppress(OSError, ValueError):
                notes["gc"] = json.loads(procs.gc_path.read_text())
            procs.cleanup()
        if self._cluster is not None:
            await asyncio.to_thread(self._cluster.cleanup)
            self._cluster = None
        return notes
