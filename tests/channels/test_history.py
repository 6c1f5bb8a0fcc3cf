"""Channel history in Redis Streams: idempotent appends, trimming with a floor, recovery rules."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from channels import names
from channels.history import History, OutgoingEvent, event_frame, parse_offset
from hub.models import utcnow


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


def event(channel: str = "p0", n: int = 0) -> OutgoingEvent:
    payload = json.dumps({"task": {"id": n, "code": f"PTSA-{n:04d}"}, "actor": None})
    return OutgoingEvent(uuid.uuid4().hex, channel, "task.created", utcnow(), payload)


async def test_append_is_idempotent_per_event_and_channel(redis: Redis) -> None:
    """Appending the same (event, channel) twice adds one stream entry; the retry reports None."""
    history = History(redis, 1000, 3600)
    ev = event()
    first = await history.append([ev])
    again = await history.append([ev])
    assert first[0] is not None and again == [None]
    assert await redis.xlen(names.stream_key("p0")) == 1


async def test_snapshot_replays_exactly_what_followed_since(redis: Redis) -> None:
    """A client at offset N gets the events after N, in order, with recovered true."""
    history = History(redis, 1000, 3600)
    appended = await history.append([event("p0", n) for n in range(5)])
    offsets = [a.offset for a in appended if a is not None and not isinstance(a, Exception)]
    epoch = (await history.snapshot("p0")).epoch
    snap = await history.snapshot("p0", offsets[1], epoch)
    assert snap.recovered and snap.head == offsets[-1]
    assert [offset for offset, _ in snap.entries] == offsets[2:]
    codes = [json.loads(frame)["data"]["task"]["code"] for _, frame in snap.entries]
    assert codes == ["PTSA-0002", "PTSA-0003", "PTSA-0004"]


async def test_snapshot_without_since_is_not_a_recovery(redis: Redis) -> None:
    """Subscribing with no position answers the head and recovered false (load over HTTP)."""
    history = History(redis, 1000, 3600)
    await history.append([event()])
    snap = await history.snapshot("p0")
    assert not snap.recovered and snap.entries == [] and snap.head != "0-0"


async def test_count_trimming_moves_the_floor(redis: Redis) -> None:
    """When old entries are trimmed by count, a since older than the floor is not recoverable."""
    history = History(redis, 3, 3600)
    appended = [a for a in await history.append([event("p0", n) for n in range(6)])]
    offsets = [a.offset for a in appended if a is not None and not isinstance(a, Exception)]
    assert await redis.xlen(names.stream_key("p0")) == 3
    assert await redis.get(names.floor_key("p0")) == offsets[2]
    epoch = (await history.snapshot("p0")).epoch
    assert not (await history.snapshot("p0", offsets[1], epoch)).recovered
    at_floor = await history.snapshot("p0", offsets[2], epoch)
    assert at_floor.recovered and [o for o, _ in at_floor.entries] == offsets[3:]


async def test_age_trimming_moves_the_floor(redis: Redis) -> None:
    """Entries older than the age limit are trimmed at the next append and recorded as floor."""
    history = History(redis, 1000, 1)
    old = (await history.append([event("p0", 1)]))[0]
    assert old is not None and not isinstance(old, Exception)
    epoch = (await history.snapshot("p0")).epoch
    await asyncio.sleep(1.1)
    await history.append([event("p0", 2)])
    assert await redis.xlen(names.stream_key("p0")) == 1
    assert await redis.get(names.floor_key("p0")) == old.offset
    assert (await history.snapshot("p0", old.offset, epoch)).recovered
    assert not (await history.snapshot("p0", "0-0", epoch)).recovered


async def test_lost_history_changes_the_epoch(redis: Redis) -> None:
    """When the channel's keys vanish (Redis restarted empty), the epoch changes and a client
    with the old epoch is told to reload."""
    history = History(redis, 1000, 3600)
    first = (await history.append([event()]))[0]
    assert first is not None and not isinstance(first, Exception)
    await redis.flushall()
    await asyncio.sleep(0.002)  # epochs are microsecond clock readings
    second = (await history.append([event()]))[0]
    assert second is not None and not isinstance(second, Exception)
    assert second.epoch != first.epoch
    snap = await history.snapshot("p0", first.offset, first.epoch)
    assert not snap.recovered and snap.epoch == second.epoch


async def test_since_beyond_the_head_or_too_far_behind_is_not_recovered(redis: Redis) -> None:
    """A since newer than the head, or more missed events than a replay allows, means reload."""
    history = History(redis, 1000, 3600)
    appended = await history.append([event("p0", n) for n in range(4)])
    offsets = [a.offset for a in appended if a is not None and not isinstance(a, Exception)]
    epoch = (await history.snapshot("p0")).epoch
    ms, seq = parse_offset(offsets[-1])
    assert not (await history.snapshot("p0", f"{ms + 1}-0", epoch)).recovered
    assert not (await history.snapshot("p0", offsets[0], epoch, max_replay=2)).recovered
    assert (await history.snapshot("p0", offsets[0], epoch, max_replay=3)).recovered


async def test_live_message_carries_the_same_frame_as_the_replay(redis: Redis) -> None:
    """The published message is epoch|offset|frame, and the frame equals the replayed one."""
    history = History(redis, 1000, 3600)
    pubsub = redis.pubsub()
    await pubsub.subscribe(names.live_key("p1.barenbang"))
    assert (await pubsub.get_message(timeout=2))["type"] == "subscribe"
    appended = (await history.append([event("p1.barenbang", 9)]))[0]
    assert appended is not None and not isinstance(appended, Exception)
    message = await pubsub.get_message(timeout=2)
    await pubsub.aclose()
    epoch, offset, frame = message["data"].split("|", 2)
    assert (epoch, offset) == (appended.epoch, appended.offset)
    snap = await history.snapshot("p1.barenbang", "0-0", epoch)
    assert snap.entries == [(offset, frame)]
    parsed = json.loads(frame)
    assert parsed["op"] == "event" and parsed["channel"] == "p1.barenbang"
    assert parsed["offset"] == offset and parsed["data"]["task"]["id"] == 9
    assert frame == event_frame("p1.barenbang", offset, frame.split(f'{offset}",', 1)[1])
