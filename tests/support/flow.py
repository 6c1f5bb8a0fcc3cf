"""A steady flow of work through the load balancer, screens that follow the protocol's recovery,
and the comparison of what every screen saw with what the database says each channel carries.

- ``Flow``: registers requests at a fixed rate (rotating P0 desks and services); of every three,
  the P1 desk claims and disposes one to its Eselon II unit (where, every other time, the unit's
  supervisor reassigns it to a P2 desk) and the Eselon I supervisor reassigns another to a P1
  desk, so p0, p1, p2 and sup channels all carry events.
- ``Screen``: one WebSocket following one channel as a real account allowed to; on any close it
  reconnects (through the balancer, to whichever hub) and subscribes with ``since``/``epoch``
  (docs/PROTOCOL.md, "Offsets, epochs, recovery"). It does NOT de-duplicate: every event frame
  it receives is kept, so a duplicate on the wire shows.
- ``compare``: per screen, the outbox rows of its channel (the database's record of what the
  channel must carry) against what it received: lost, shown twice, unexpected.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

import httpx
from sqlmodel import select
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from hub.db import Database
from hub.models import Outbox, TaskEvent

TokenSource = Callable[[str], Awaitable[str]]  # username -> bearer token

# (service, eselon I, eselon II) of four units with staffed P1 and P2 desks (organisation.toml).
ROUTES = (("data-informasi", "barenbang", "pusdatin"),
          ("rekom-perpanjangan-sipptki", "binapenta", "ptkln"),
          ("pendaftaran-pkb", "phijsk", "persyaratan-kerja"),
          ("izin-pemagangan-ln", "binalavotas", "pemagangan"))
P0_DESKS = tuple(f"p0-{n}" for n in range(1, 10))


def screen_plan(count: int) -> list[tuple[str, str]]:
    """``count`` (username, channel) pairs over p0, p1, p2 and sup channels, each followed by an
    account of the role that may follow it (the hall's screens: several per desk and unit)."""
    kinds: list[list[tuple[str, str]]] = [
        [(user, "p0") for user in P0_DESKS],
        *[[(f"p1-{e1}-{n}", f"p1.{e1}") for n in (1, 2)] for _, e1, _ in ROUTES],
        *[[(f"p2-{e2}-{n}", f"p2.{e2}") for n in (1, 2)] for _, _, e2 in ROUTES],
        *[[(f"spv-{e1}", f"sup.{e1}")] for _, e1, _ in ROUTES],
        *[[(f"spv-{e2}", f"sup.{e2}")] for _, _, e2 in ROUTES],
    ]
    cycles = [itertools.cycle(k) for k in kinds]
    return [next(cycles[n % len(cycles)]) for n in range(count)]


@dataclass
class Received:
    id: str
    offset: str
    at: float  # time.monotonic() when it arrived


@dataclass
class Screen:
    ws_url: str
    token: str
    channel: str
    events: list[Received] = field(default_factory=list)
    epoch: str | None = None
    offset: str | None = None
    subscribed_at: list[float] = field(default_factory=list)  # every `subscribed` answer
    closed_at: list[tuple[float, int | None]] = field(default_factory=list)
    unrecovered: int = 0  # recovered:false after the first subscribe: a gap the screen must reload
    errors: list[str] = field(default_factory=list)

    async def run(self) -> None:
        """Until cancelled: connect, subscribe (with since/epoch after the first time), read."""
        while True:
            try:
                await self._session()
            except ConnectionClosed as exc:
                self.closed_at.append((time.monotonic(), exc.rcvd.code if exc.rcvd else None))
            except (OSError, InvalidStatus, TimeoutError) as exc:
                self.closed_at.append((time.monotonic(), None))
                self.errors.append(repr(exc)[:200])
            # Back-off with jitter, short: the tests measure how fast screens come back.
            await asyncio.sleep(random.uniform(0.05, 0.3))

    async def _session(self) -> None:
        url = f"{self.ws_url}?token={quote(self.token)}"
        async with connect(url, compression=None, open_timeout=5, close_timeout=1,
                           proxy=None) as ws:
            await ws.send(json.dumps({"op": "subscribe", "channel": self.channel,
                                      "since": self.offset, "epoch": self.epoch}))
            async for raw in ws:
                frame = json.loads(raw)
                op = frame.get("op")
                if op == "event":
                    self.events.append(Received(frame["id"], frame["offset"], time.monotonic()))
                    self.offset = frame["offset"]
                elif op == "subscribed":
                    self.subscribed_at.append(time.monotonic())
                    if self.epoch is not None and not frame["recovered"]:
                        self.unrecovered += 1
                    self.epoch = frame["epoch"]
                    if not (frame["recovered"] and frame["missed"] > 0):
                        # With missed events the replay follows and sets the offset; taking the
                        # frame's newest offset now would skip them if the socket dropped first.
                        self.offset = frame["offset"]
                elif op == "error":
                    self.errors.append(str(frame))


class Screens:
    """The screens of one test, each a task; ``stop`` cancels them."""

    def __init__(self, screens: Sequence[Screen]) -> None:
        self.screens = list(screens)
        self.tasks: list[asyncio.Task[None]] = []

    @classmethod
    async def open(cls, token: TokenSource, ws_url: str, count: int) -> Screens:
        plan = screen_plan(count)
        tokens = {u: await token(u) for u in sorted({u for u, _ in plan})}
        screens = cls([Screen(ws_url, tokens[u], ch) for u, ch in plan])
        screens.tasks = [asyncio.create_task(s.run()) for s in screens.screens]
        return screens

    async def wait_subscribed(self, timeout: float = 30.0) -> None:
        async with asyncio.timeout(timeout):
            while not all(s.subscribed_at for s in self.screens):
                await asyncio.sleep(0.05)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


@dataclass
class FlowResult:
    registered: int = 0
    disposed: int = 0
    reassigned: int = 0
    failed: list[str] = field(default_factory=list)


class Flow:
    """Registrations at ``rate`` per second through ``base_url``; every third one claimed and
    disposed by the unit's P1 desk."""

    def __init__(self, base_url: str, token: TokenSource, rate: float = 10.0) -> None:
        self.base_url = base_url
        self.token = token
        self.rate = rate
        self.result = FlowResult()
        self._desk_work: set[asyncio.Task[None]] = set()

    async def run(self, seconds: float) -> FlowResult:
        users = [*P0_DESKS, *(f"p1-{e1}-1" for _, e1, _ in ROUTES),
                 *(f"spv-{unit}" for route in ROUTES for unit in route[1:])]
        tokens = {u: await self.token(u) for u in users}
        limits = httpx.Limits(max_connections=40)
        # A generous timeout: this flow is about loss, not speed (bench/ measures speed), and on
        # a shared 2-core machine a registration has been seen taking 7 s. HAProxy's own
        # `timeout server` (30 s) still bounds a hung hub.
        async with httpx.AsyncClient(base_url=self.base_url, timeout=45.0, limits=limits) as http:
            start = time.monotonic()
            pending: set[asyncio.Task[None]] = set()
            for n in itertools.count():
                due = start + n / self.rate
                if due - start >= seconds:
                    break
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                task = asyncio.create_task(self._one(http, tokens, n))
                pending.add(task)
                task.add_done_callback(pending.discard)
            await asyncio.gather(*pending)
            await asyncio.gather(*self._desk_work)
        return self.result

    async def _one(self, http: httpx.AsyncClient, tokens: dict[str, str], n: int) -> None:
        service, e1, e2 = ROUTES[n % len(ROUTES)]
        p0 = P0_DESKS[n % len(P0_DESKS)]
        body = {"service": service, "description": f"Permintaan data {n}",
                "applicant": {"name": "Andi Wijaya", "organisation": "PT Maju Jaya",
                              "phone": "0812-1111-2222", "email": "andi@example.co.id"}}
        task = await self._post(http, tokens[p0], "/api/v1/tasks", body)
        if task is None:
            return
        self.result.registered += 1
        work = None
        if n % 3 == 0:
            work = self._dispose(http, tokens, int(task["id"]), e1, e2, reassign=n % 6 == 0)
        elif n % 3 == 1:
            work = self._reassign(http, tokens[f"spv-{e1}"], int(task["id"]), f"p1-{e1}-2")
        if work is not None:
            job = asyncio.create_task(work)
            self._desk_work.add(job)

    async def _dispose(self, http: httpx.AsyncClient, tokens: dict[str, str], task_id: int,
                       e1: str, e2: str, reassign: bool) -> None:
        await asyncio.sleep(0.5)
        base = f"/api/v1/tasks/{task_id}"
        token = tokens[f"p1-{e1}-1"]
        if await self._post(http, token, f"{base}/claim", {"version": 1}) is None:
            return
        if await self._post(http, token, f"{base}/dispose", {"unit": e2, "version": 2}):
            self.result.disposed += 1
            if reassign:
                await self._reassign(http, tokens[f"spv-{e2}"], task_id, f"p2-{e2}-1")

    async def _reassign(self, http: httpx.AsyncClient, token: str, task_id: int,
                        to: str) -> None:
        await asyncio.sleep(0.5)
        body = {"to": to, "reason": "beban kerja dibagi rata"}
        if await self._post(http, token, f"/api/v1/tasks/{task_id}/reassign", body):
            self.result.reassigned += 1

    async def _post(self, http: httpx.AsyncClient, token: str, path: str,
                    body: dict[str, object]) -> dict[str, object] | None:
        """The answer, or None (recorded) when the request failed: a hub killed under it."""
        try:
            answer = await http.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as exc:
            self.result.failed.append(f"{path}: {exc!r}"[:200])
            return None
        if answer.status_code not in (200, 201):
            self.result.failed.append(f"{path}: {answer.status_code} {answer.text[:150]}")
            return None
        return answer.json()  # type: ignore[no-any-return]


async def channel_events(db: Database) -> dict[str, set[str]]:
    """The database's account: the event ids each channel must carry (outbox rows)."""
    async with db.read() as session:
        rows = (await session.exec(select(Outbox.channel, Outbox.event_id))).all()
    found: dict[str, set[str]] = {}
    for channel, event_id in rows:
        found.setdefault(channel, set()).add(event_id)
    return found


async def unpublished(db: Database) -> int:
    async with db.read() as session:
        rows = (await session.exec(select(Outbox.id).where(
            Outbox.published_at == None))).all()  # noqa: E711 (SQL IS NULL)
    return len(rows)


async def task_event_ids(db: Database) -> set[str]:
    async with db.read() as session:
        return set((await session.exec(select(TaskEvent.event_id))).all())


@dataclass
class Comparison:
    expected: int = 0
    received: int = 0
    lost: dict[int, int] = field(default_factory=dict)  # screen index -> events lost
    shown_twice: dict[int, int] = field(default_factory=dict)
    unexpected: dict[int, int] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not (self.lost or self.shown_twice or self.unexpected)

    def __str__(self) -> str:
        return (f"{self.received} events received of {self.expected} expected; lost on "
                f"{len(self.lost)} screens ({sum(self.lost.values())}), shown twice on "
                f"{len(self.shown_twice)} ({sum(self.shown_twice.values())}), unexpected on "
                f"{len(self.unexpected)} ({sum(self.unexpected.values())})")


def compare(screens: Sequence[Screen], expected: dict[str, set[str]]) -> Comparison:
    result = Comparison()
    for n, screen in enumerate(screens):
        want = expected.get(screen.channel, set())
        got = Counter(e.id for e in screen.events)
        result.expected += len(want)
        result.received += sum(got.values())
        if lost := len(want - got.keys()):
            result.lost[n] = lost
        if twice := sum(c - 1 for c in got.values() if c > 1):
            result.shown_twice[n] = twice
        if extra := len(got.keys() - want):
            result.unexpected[n] = extra
    return result


async def settle(db: Database, screens: Sequence[Screen], timeout: float = 30.0,
                 before: dict[str, set[str]] | None = None) -> Comparison:
    """Wait until every outbox row is published and every screen has its channel's events (or
    ``timeout``), then compare. ``before``: ``channel_events`` taken before the screens opened,
    when the database already carries events of an earlier test (a shared site); those are not
    expected, and one of them arriving would count as unexpected."""
    deadline = time.monotonic() + timeout
    while True:
        expected = await channel_events(db)
        if before:
            expected = {ch: ids - before.get(ch, set()) for ch, ids in expected.items()}
        result = compare(screens, expected)
        if (result.clean and not await unpublished(db)) or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.2)
