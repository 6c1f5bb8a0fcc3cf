"""The process's live channels against a real Redis: fan-out, recovery, gap fill, epochs."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import BusyLoadingError

from channels import names
from channels.history import History, OutgoingEvent, event_body, event_frame
from channels.realtime import Realtime
from hub.models import utcnow
from tests.support.servers import RedisServer


class RecordingSink:
    """Stands in for a WebSocket's Outbound: keeps the frames it is given, in order."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self.overflowed = False

    def push(self, message: Any) -> None:
        self.frames.append(json.loads(message))

    async def push_paced(self, message: Any) -> None:
        self.push(message)

    def overflow(self) -> None:
        self.overflowed = True

    def events(self) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["op"] == "event"]

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        async with asyncio.timeout(timeout):
            while len(self.events()) < count:
                await asyncio.sleep(0.01)
        return self.events()


def event(channel: str, n: int) -> OutgoingEvent:
    return OutgoingEvent(uuid.uuid4().hex, channel, "task.created", utcnow(),
                         json.dumps({"task": {"id": n}}))


@pytest.fixture
async def parts(redis_url: str) -> AsyncIterator[tuple[Realtime, History]]:
    redis = Redis.from_url(redis_url, decode_responses=True)
    history = History(redis, 1000, 3600)
    realtime = Realtime(redis_url, history, lambda frame: frame, lambda data: None,
                        heartbeat=1.0)
    realtime.start()
    yield realtime, history
    await realtime.stop()
    await redis.aclose()


async def test_concurrent_first_subscribers_all_receive(parts: tuple[Realtime, History]) -> None:
    """200 subscribers joining a new channel in the same instant all get the next event
    (the encode/broadcaster bug lost some of them)."""
    realtime, history = parts
    sinks = [RecordingSink() for _ in range(200)]
    await asyncio.gather(*(realtime.subscribe(s, "p0", None, None) for s in sinks))
    await history.append([event("p0", 1)])
    for sink in sinks:
        assert [e["data"]["task"]["id"] for e in await sink.wait_for(1)] == [1]


async def test_subscribe_with_since_joins_live_without_gap_or_duplicate(
        parts: tuple[Realtime, History]) -> None:
    """Events published while a client replays its history arrive once, after the replay."""
    realtime, history = parts
    first = RecordingSink()
    await realtime.subscribe(first, "p1.barenbang", None, None)
    start = first.frames[0]
    await history.append([event("p1.barenbang", n) for n in range(1, 31)])

    async def publish_more() -> None:
        for n in range(31, 61):
            await history.append([event("p1.barenbang", n)])

    late = RecordingSink()
    publisher = asyncio.create_task(publish_more())
    answer = await realtime.subscribe(late, "p1.barenbang", start["offset"], start["epoch"])
    await publisher
    assert answer.pending is None
    got = [e["data"]["task"]["id"] for e in await late.wait_for(60)]
    assert got == list(range(1, 61))
    assert late.frames[0]["recovered"] is True and late.frames[0]["missed"] >= 30


async def test_event_still_in_flight_during_a_subscribe_reaches_everyone_once(
        parts: tuple[Realtime, History]) -> None:
    """An event already in the stream when a newcomer's snapshot is read, but whose live message
    arrives only afterwards, reaches the members already live, and not the newcomer twice."""
    realtime, history = parts
    early, late = RecordingSink(), RecordingSink()
    start = (await realtime.subscribe(early, "p0", None, None)).channel
    first = early.frames[0]
    await history.append([event("p0", 1)])
    await early.wait_for(1)
    # Event 2 is appended but its PUBLISH has not reached this process yet: append it to the
    # stream alone, and hand the live message over after the newcomer has subscribed.
    body = event_body(uuid.uuid4().hex, "task.created", utcnow(), json.dumps({"task": {"id": 2}}))
    offset = await history.redis.xadd(names.stream_key(start), {"e": body})
    newcomer = await realtime.subscribe(late, "p0", early.events()[0]["offset"], first["epoch"])
    assert [e["data"]["task"]["id"] for e in late.events()] == [2]  # replayed
    realtime._on_message(names.live_key("p0"),  # the late live message, as Redis sends it
                         f"{first['epoch']}|{offset}|{event_frame('p0', offset, body)}")
    await history.append([event("p0", 3)])
    assert [e["data"]["task"]["id"] for e in await early.wait_for(3)] == [1, 2, 3]
    assert [e["data"]["task"]["id"] for e in await late.wait_for(2)] == [2, 3]
    assert newcomer.floor is None  # passed once event 3 went by


async def test_unsubscribed_sink_hears_nothing_more(parts: tuple[Realtime, History]) -> None:
    """After unsubscribe, events of the channel no longer reach the sink."""
    realtime, history = parts
    staying, leaving = RecordingSink(), RecordingSink()
    await realtime.subscribe(staying, "p0", None, None)
    sub = await realtime.subscribe(leaving, "p0", None, None)
    realtime.unsubscribe(sub)
    realtime.unsubscribe(sub)  # idempotent
    await history.append([event("p0", 1)])
    await staying.wait_for(1)
    await asyncio.sleep(0.2)
    assert leaving.events() == []


async def test_history_lost_under_a_live_channel_makes_subscribers_reload(
        parts: tuple[Realtime, History]) -> None:
    """When a channel's history disappears (new epoch), subscribers get recovered:false, then
    the new events."""
    realtime, history = parts
    sink = RecordingSink()
    await realtime.subscribe(sink, "p0", None, None)
    await history.append([event("p0", 1)])
    await sink.wait_for(1)
    await history.redis.flushall()
    await asyncio.sleep(0.002)
    await history.append([event("p0", 2)])
    await history.append([event("p0", 3)])
    async with asyncio.timeout(5):
        while not any(f["op"] == "subscribed" and not f["recovered"] for f in sink.frames[1:]):
            await asyncio.sleep(0.01)
    reset = next(f for f in sink.frames[1:] if f["op"] == "subscribed")
    assert reset["epoch"] != sink.frames[0]["epoch"]
    await asyncio.sleep(0.2)
    await history.append([event("p0", 4)])
    got = [e["data"]["task"]["id"] for e in await sink.wait_for(2)]
    assert got[0] == 1 and got[-1] == 4 and got == sorted(set(got))


async def test_dropped_subscription_is_filled_from_the_stream(
        parts: tuple[Realtime, History]) -> None:
    """Events published while the process's pub/sub connection is down are forwarded, in order
    and once, as soon as it is back, before any newer event."""
    realtime, history = parts
    sink = RecordingSink()
    await realtime.subscribe(sink, "p1.binapenta", None, None)
    await history.append([event("p1.binapenta", 1)])
    await sink.wait_for(1)
    await history.redis.client_kill_filter(_type="pubsub")
    await history.append([event("p1.binapenta", n) for n in (2, 3, 4)])  # nobody listening
    async with asyncio.timeout(10):
        while realtime.subscriber.reconnects < 2 or realtime.health() != "ok":
            await asyncio.sleep(0.01)
    await history.append([event("p1.binapenta", 5)])
    got = [e["data"]["task"]["id"] for e in await sink.wait_for(5)]
    assert got == [1, 2, 3, 4, 5]
    assert [f["op"] for f in sink.frames].count("subscribed") == 1


@pytest.mark.slow
async def test_idle_subscriber_stays_connected_past_the_dead_connection_window() -> None:
    """An idle subscriber keeps its one connection (no socket timeout, heartbeats answered)
    and still delivers after a long silence. With the production heartbeat (5 s) the listener
    gives a connection up after three heartbeats without an answer, checked once a heartbeat:
    four heartbeats and a second of silence is past the point where unanswered PINGs would have
    made it reconnect, and past redis-py's default 5 s read timeout four times over (it was
    65 s; nothing in the stack has a longer idle limit to wait out)."""
    server = RedisServer()
    server.start()
    redis = Redis.from_url(server.url, decode_responses=True)
    history = History(redis, 1000, 3600)
    realtime = Realtime(server.url, history, lambda frame: frame, lambda data: None)
    realtime.start()
    try:
        sink = RecordingSink()
        await realtime.subscribe(sink, "p0", None, None)
        heartbeat = realtime.subscriber.heartbeat
        assert heartbeat == 5.0  # the production default, not a test value
        await asyncio.sleep(4 * heartbeat + 1)
        assert realtime.subscriber.reconnects == 1 and realtime.health() == "ok"
        await history.append([event("p0", 1)])
        await sink.wait_for(1)
    finally:
        await realtime.stop()
        await redis.aclose()
        server.cleanup()


async def restart_redis_and_publish(server: RedisServer, realtime: Realtime,
                                    persist_events: list[OutgoingEvent]) -> None:
    server.stop()
    for _ in range(100):
        if realtime.health() != "ok":
            break
        await asyncio.sleep(0.05)
    assert realtime.health().startswith("redis subscriber reconnecting")
    server.start()
    if persist_events:
        # Redis came back with its data; a relay publishes what was committed meanwhile
        # before the hub's subscriber is back (the back-off) — exactly the gap to fill.
        redis = Redis.from_url(server.url, decode_responses=True)
        for _ in range(100):
            try:
                await History(redis, 1000, 3600).append(persist_events)
                break
            except BusyLoadingError:  # still reading its append-only file back
                await asyncio.sleep(0.05)
        await redis.aclose()


@pytest.mark.parametrize("persist", [True, False])
async def test_redis_restart_fills_the_gap_or_asks_for_a_reload(persist: bool) -> None:
    """After Redis restarts, the subscriber reconnects by itself; with its data kept, the events
    published meanwhile are forwarded in order; with its data lost, subscribers are told to
    reload. Either way live events flow again."""
    server = RedisServer(persist=persist)
    server.start()
    redis = Redis.from_url(server.url, decode_responses=True)
    history = History(redis, 1000, 3600)
    realtime = Realtime(server.url, history, lambda frame: frame, lambda data: None,
                        heartbeat=1.0)
    realtime.start()
    try:
        sink = RecordingSink()
        await realtime.subscribe(sink, "p2.pusdatin", None, None)
        await history.append([event("p2.pusdatin", 1)])
        await sink.wait_for(1)
        gap = [event("p2.pusdatin", n) for n in (2, 3, 4)] if persist else []
        await restart_redis_and_publish(server, realtime, gap)
        async with asyncio.timeout(15):
            while realtime.health() != "ok":
                await asyncio.sleep(0.05)
        await history.append([event("p2.pusdatin", 5)])
        got = [e["data"]["task"]["id"] for e in await sink.wait_for(5 if persist else 2)]
        if persist:
            assert got == [1, 2, 3, 4, 5]
            assert [f["op"] for f in sink.frames].count("subscribed") == 1
        else:
            assert got == [1, 5]
            reset = [f for f in sink.frames if f["op"] == "subscribed"][1]
            assert reset["recovered"] is False
            assert sink.frames.index(reset) < len(sink.frames) - 1  # before event 5
    finally:
        await realtime.stop()
        await redis.aclose()
        server.cleanup()
