"""Delivery through real hub processes: across processes, recovery with since, crashes."""

from __future__ import annotations

import asyncio
import contextlib
import random
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis
from sqlmodel import select
from websockets.exceptions import ConnectionClosed

from channels import names
from config.settings import normalise_database_url
from hub.db import Database
from hub.models import Task
from tests.support.hubfixtures import Tokens, cluster, hub_env, seeded_env, tokens
from tests.support.hubproc import HubCluster, HubProcess
from tests.support.wsclient import Frame, WsClient, register_task

__all__ = ["cluster", "hub_env", "tokens"]  # fixtures used by name


async def test_event_committed_on_one_process_reaches_a_subscriber_on_another(
        database_url: str, redis_url: str, tmp_path: Path, tokens: Tokens) -> None:
    """A task registered through process A appears on a P1 screen connected to process B."""
    hubs = HubCluster(await seeded_env(database_url, redis_url, tmp_path), tmp_path)
    try:
        a, b = await hubs.start(2)
        client = await WsClient.open(b.ws_url, await tokens(a.url, "p1-barenbang-1"))
        subscribed = await client.subscribe("p1.barenbang")
        assert subscribed["op"] == "subscribed"
        task = await register_task(a.url, await tokens(a.url, "p0-1"))
        [event] = await client.events(1)
        assert event["type"] == "task.created" and event["channel"] == "p1.barenbang"
        assert event["data"]["task"]["id"] == task["id"]
        assert event["data"]["task"]["code"] == task["code"]
        ms, seq = (int(x) for x in event["offset"].split("-"))
        head_ms, head_seq = (int(x) for x in subscribed["offset"].split("-"))
        assert (ms, seq) > (head_ms, head_seq)
        await client.close()
    finally:
        hubs.close()


async def test_reconnect_with_since_replays_exactly_the_missed_events(
        cluster: HubCluster, tokens: Tokens) -> None:
    """Away while 50 tasks were registered, a client gets those 50 once each, in order."""
    [hub] = await cluster.start(1)
    p1, p0 = await tokens(hub.url, "p1-barenbang-1"), await tokens(hub.url, "p0-1")
    client = await WsClient.open(hub.ws_url, p1)
    position = await client.subscribe("p1.barenbang")
    await client.close()
    async with httpx.AsyncClient(timeout=30) as http:
        codes = [(await register_task(hub.url, p0, client=http))["code"] for _ in range(50)]
    client = await WsClient.open(hub.ws_url, p1)
    answer = await client.subscribe("p1.barenbang", position["offset"], position["epoch"])
    assert answer["recovered"] is True and answer["missed"] == 50
    events = await client.events(50)
    assert [e["data"]["task"]["code"] for e in events] == codes
    assert len({e["id"] for e in events}) == 50
    assert answer["offset"] == events[-1]["offset"]
    assert [f for f in await client.drain(0.5) if f["op"] == "event"] == []
    await client.close()


async def test_events_committed_without_a_relay_are_delivered_by_another_process(
        cluster: HubCluster, tokens: Tokens) -> None:
    """The relay dies between commit and publish (process A has none): B's sweep delivers."""
    [a] = await cluster.start(1, PTSA_RELAY="off")
    client = await WsClient.open(a.ws_url, await tokens(a.url, "p1-barenbang-1"))
    await client.subscribe("p1.barenbang")
    task = await register_task(a.url, await tokens(a.url, "p0-1"))
    assert [f for f in await client.drain(1.5) if f["op"] == "event"] == []
    await cluster.start(1)  # a process with a working relay
    [event] = await client.events(1, timeout=10)
    assert event["data"]["task"]["code"] == task["code"]
    await client.close()


async def test_concurrent_first_subscribes_lose_nobody(cluster: HubCluster,
                                                       tokens: Tokens) -> None:
    """Forty sockets subscribing to a channel new to the process at once all get its events."""
    [hub] = await cluster.start(1)
    token = await tokens(hub.url, "p0-1")
    clients = await asyncio.gather(*(WsClient.open(hub.ws_url, token) for _ in range(40)))
    answers = await asyncio.gather(*(c.subscribe("p0") for c in clients))
    assert all(a["op"] == "subscribed" for a in answers)
    task = await register_task(hub.url, token)
    received = await asyncio.gather(*(c.events(1) for c in clients))
    assert all(r[0]["data"]["task"]["id"] == task["id"] for r in received)
    await asyncio.gather(*(c.close() for c in clients))


async def test_last_subscriber_out_unsubscribes_the_process(cluster: HubCluster,
                                                           tokens: Tokens) -> None:
    """The process holds one Redis subscription per channel in use, and drops it when unused."""
    [hub] = await cluster.start(1)
    token = await tokens(hub.url, "p0-1")
    redis = Redis.from_url(hub.env["REDIS_URL"], decode_responses=True)
    key = names.live_key("p0")
    try:
        clients = [await WsClient.open(hub.ws_url, token) for _ in range(3)]
        for client in clients:
            await client.subscribe("p0")
        assert dict(await redis.pubsub_numsub(key))[key] == 1
        await clients[0].send({"op": "unsubscribe", "channel": "p0"})
        assert (await clients[0].recv())["op"] == "unsubscribed"
        await clients[1].close()
        assert dict(await redis.pubsub_numsub(key))[key] == 1
        await clients[2].close()
        for _ in range(50):
            if dict(await redis.pubsub_numsub(key))[key] == 0:
                break
            await asyncio.sleep(0.05)
        assert dict(await redis.pubsub_numsub(key))[key] == 0
        await clients[0].close()
    finally:
        await redis.aclose()


class Screen:
    """A P0 screen that follows p0 and reconnects with since to whichever hub is up."""

    def __init__(self, hubs: list[HubProcess], token: str) -> None:
        self.hubs = hubs
        self.token = token
        self.seen: list[str] = []  # task codes of task.created events, in arrival order
        self.ids: list[str] = []
        self.offset: str | None = None
        self.epoch: str | None = None
        self.reloads = 0

    async def follow(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            hub = random.choice([h for h in self.hubs if h.proc is not None])
            try:
                client = await WsClient.open(hub.ws_url, self.token)
            except OSError:
                await asyncio.sleep(0.1)
                continue
            try:
                answer = await client.subscribe("p0", self.offset, self.epoch)
                if self.offset is not None and not answer["recovered"]:
                    self.reloads += 1
                self.offset, self.epoch = answer["offset"], answer["epoch"]
                while not stop.is_set():
                    with contextlib.suppress(TimeoutError):
                        self._take(await client.recv(0.2))
            except (ConnectionClosed, OSError):
                continue
            finally:
                with contextlib.suppress(Exception):
                    await client.close()

    def _take(self, frame: Frame) -> None:
        if frame["op"] == "event":
            self.offset = frame["offset"]
            self.ids.append(frame["id"])
            if frame["type"] == "task.created":
                self.seen.append(frame["data"]["task"]["code"])


@pytest.mark.slow
async def test_killed_hub_loses_no_event_and_repeats_none(cluster: HubCluster,
                                                          tokens: Tokens) -> None:
    """SIGKILL one of two hubs while tasks flow through both: every screen, reconnecting to the
    survivor with since, sees every committed task exactly once."""
    a, b = await cluster.start(2)
    p0 = await tokens(a.url, "p0-1")
    screens = [Screen([a, b], p0) for _ in range(6)]
    stop = asyncio.Event()
    followers = [asyncio.create_task(s.follow(stop)) for s in screens]
    await asyncio.sleep(1.0)

    async def register(n: int) -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            for i in range(n):
                for hub in (a, b) if i % 2 == 0 else (b,):
                    if hub.proc is None:
                        continue
                    with contextlib.suppress(httpx.HTTPError):
                        await register_task(hub.url, p0, client=http)
                        break
                await asyncio.sleep(0.05)

    registrar = asyncio.create_task(register(60))
    await asyncio.sleep(1.2)
    a.kill()
    await registrar
    db = Database(normalise_database_url(cluster.env["DATABASE_URL"]))
    async with db.read() as session:
        committed = sorted((await session.exec(select(Task.code))).all())
    await db.dispose()
    for _ in range(100):  # the survivor's sweep publishes what A committed but never relayed
        if all(sorted(s.seen) == committed for s in screens):
            break
        await asyncio.sleep(0.1)
    stop.set()
    await asyncio.gather(*followers)
    assert len(committed) >= 55
    for screen in screens:
        assert screen.reloads == 0
        assert sorted(screen.seen) == committed
        assert len(screen.ids) == len(set(screen.ids))
