"""Channel history and sharded live fan-out on a real Redis Cluster (3 primaries + 3 replicas),
shared by these tests: none of them kills a node or moves a slot (test_cluster_faults.py does).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from channels import names
from channels.history import History
from hub.redis_clients import cluster_client
from tests.channels.cluster_support import channel_on, cluster_realtime, event, primaries
from tests.channels.test_realtime import RecordingSink
from tests.support.redis_cluster import RedisCluster


async def test_history_appends_and_recovers_on_every_primary(redis_cluster: RedisCluster
                                                            ) -> None:
    """One batch spanning channels on all three primaries is appended (one pipeline per node),
    a retry of it is skipped (the seen-marks), and each channel's snapshot replays it."""
    client = cluster_client(redis_cluster.url, timedelta(seconds=2), decode_responses=True)
    history = History(client, 1000, 3600)
    try:
        channels = [channel_on(redis_cluster, node) for node in primaries(redis_cluster)]
        batch = [event(ch, n) for n in range(1, 4) for ch in channels]
        first = await history.append(batch)
        assert all(r is not None and not isinstance(r, Exception) for r in first)
        assert await history.append(batch) == [None] * len(batch)  # the relay's retry
        for ch in channels:
            start = await history.snapshot(ch)
            assert start.head != "0-0"
            replay = await history.snapshot(ch, "0-0", start.epoch)
            assert replay.recovered
            assert [f.split('"id":', 1)[1][:34] for _, f in replay.entries] == [
                f'"{e.event_id}"' for e in batch if e.channel == ch]
    finally:
        await client.aclose()


async def test_publish_goes_out_as_a_sharded_message_from_the_owning_node(
        redis_cluster: RedisCluster) -> None:
    """The relay script SPUBLISHes: a plain SSUBSCRIBE on the channel's primary hears the frame,
    a plain SUBSCRIBE (cluster-wide pub/sub) hears nothing."""
    node = primaries(redis_cluster)[1]
    channel = channel_on(redis_cluster, node)
    client = cluster_client(redis_cluster.url, timedelta(seconds=2), decode_responses=True)
    listener = Redis(port=node.port, decode_responses=True)
    sharded, plain = listener.pubsub(), listener.pubsub()
    try:
        await sharded.execute_command("SSUBSCRIBE", names.live_key(channel))
        await plain.subscribe(names.live_key(channel))
        for pubsub in (sharded, plain):
            await pubsub.get_message(timeout=2)  # the confirmations
        [appended] = await History(client, 1000, 3600).append([event(channel, 1)])
        message = await sharded.parse_response(block=True, timeout=2)
        assert message[0] == "smessage" and message[1] == names.live_key(channel)
        assert appended is not None and not isinstance(appended, Exception)
        assert message[2].startswith(f"{appended.epoch}|{appended.offset}|")
        assert await plain.get_message(timeout=0.3) is None
    finally:
        await sharded.aclose()
        await plain.aclose()
        await listener.aclose()
        await client.aclose()


async def test_sharded_subscriber_delivers_every_channel_once_in_order(
        redis_cluster: RedisCluster, redis_url: str) -> None:
    """Channels on all three primaries, 50 sockets joining one of them at the same instant:
    every socket gets its channel's events once, in order; health is ok per node."""
    async with cluster_realtime(redis_cluster, redis_url) as (realtime, history):
        channels = [channel_on(redis_cluster, node) for node in primaries(redis_cluster)]
        crowd = [RecordingSink() for _ in range(50)]
        await asyncio.gather(*(realtime.subscribe(s, channels[0], None, None) for s in crowd))
        others = [RecordingSink() for _ in channels[1:]]
        for sink, ch in zip(others, channels[1:], strict=True):
            await realtime.subscribe(sink, ch, None, None)
        for n in range(1, 21):
            await history.append([event(ch, n) for ch in channels])
        for sink in [*crowd, *others]:
            got = [e["data"]["task"]["id"] for e in await sink.wait_for(20)]
            assert got == list(range(1, 21))
        await asyncio.sleep(0.2)
        assert all(len(s.events()) == 20 for s in [*crowd, *others])
        assert realtime.health() == "ok"
        assert len(realtime.subscriber.links) == 3  # type: ignore[union-attr]


async def test_subscribe_with_since_replays_then_goes_live(redis_cluster: RedisCluster,
                                                           redis_url: str) -> None:
    """A screen coming back with its offset gets what it missed from the cluster's stream,
    then the live events, without a gap or a duplicate."""
    async with cluster_realtime(redis_cluster, redis_url) as (realtime, history):
        channel = channel_on(redis_cluster, primaries(redis_cluster)[2])
        first = RecordingSink()
        await realtime.subscribe(first, channel, None, None)
        start = first.frames[0]
        await history.append([event(channel, n) for n in range(1, 11)])
        late = RecordingSink()
        await realtime.subscribe(late, channel, start["offset"], start["epoch"])
        await history.append([event(channel, 11)])
        got = [e["data"]["task"]["id"] for e in await late.wait_for(11)]
        assert got == list(range(1, 12))
        assert late.frames[0]["recovered"] is True


async def test_dropped_node_connection_is_filled_from_the_stream(redis_cluster: RedisCluster,
                                                                  redis_url: str) -> None:
    """The sharded connection to one primary is killed (CLIENT KILL): events appended meanwhile
    reach the socket once, in order, before newer ones; the other nodes' channels go on."""
    async with cluster_realtime(redis_cluster, redis_url) as (realtime, history):
        nodes = primaries(redis_cluster)
        hit, calm = channel_on(redis_cluster, nodes[0]), channel_on(redis_cluster, nodes[1])
        sinks = {hit: RecordingSink(), calm: RecordingSink()}
        for ch, sink in sinks.items():
            await realtime.subscribe(sink, ch, None, None)
        await history.append([event(hit, 1), event(calm, 1)])
        await sinks[hit].wait_for(1)
        before = realtime.subscriber.reconnects
        killer = Redis(port=nodes[0].port)
        await killer.client_kill_filter(_type="pubsub")
        await killer.aclose()
        for n in (2, 3, 4):
            await history.append([event(hit, n), event(calm, n)])
        async with asyncio.timeout(10):
            while realtime.subscriber.reconnects <= before or realtime.health() != "ok":
                await asyncio.sleep(0.01)
        await history.append([event(hit, 5), event(calm, 5)])
        for sink in sinks.values():
            got = [e["data"]["task"]["id"] for e in await sink.wait_for(5)]
            assert got == [1, 2, 3, 4, 5]
            assert [f["op"] for f in sink.frames].count("subscribed") == 1


async def test_kick_on_the_queue_redis_reaches_the_process(redis_cluster: RedisCluster,
                                                            redis_url: str) -> None:
    """With history on the cluster, a kick is plain pub/sub on the queue Redis (where sessions
    live and every kicker has a client): the process hears it."""
    from hub.auth.sessions import kick

    async with cluster_realtime(redis_cluster, redis_url) as (realtime, _history):
        kicks = realtime.kicks
        assert kicks is not None and kicks.redis_url == redis_url
        async with asyncio.timeout(5):  # connected and subscribed to the kick channel
            while kicks.reconnects == 0 or realtime.health() != "ok":
                await asyncio.sleep(0.01)
        queue = Redis.from_url(redis_url, decode_responses=True)
        await kick(queue, "p0-1", "s1")
        await queue.aclose()
        async with asyncio.timeout(5):
            while not realtime.kicked:  # type: ignore[attr-defined]
                await asyncio.sleep(0.01)
        assert '"username": "p0-1"' in realtime.kicked[0]  # type: ignore[attr-defined]


async def test_always_channels_and_an_unreachable_cluster(redis_cluster: RedisCluster) -> None:
    """A channel given as ``always`` is subscribed from start() on, where its slot lives; with
    no node reachable, acquire gives up with SubscriberUnavailable and health names the node."""
    from channels.refcounted_subscriber import SubscriberUnavailable
    from channels.sharded_subscriber import ShardedSubscriber
    from tests.support.servers import free_port

    key = names.live_key(channel_on(redis_cluster, primaries(redis_cluster)[2]))
    heard: list[tuple[str, str]] = []

    async def nothing(_keys: object) -> None:
        return None

    seeds = [("127.0.0.1", n.port) for n in primaries(redis_cluster)]
    subscriber = ShardedSubscriber(seeds, lambda k, d: heard.append((k, d)), nothing,
                                   always=(key,), heartbeat=0.5)
    subscriber.start()
    client = cluster_client(redis_cluster.url, timedelta(seconds=2), decode_responses=True)
    try:
        async with asyncio.timeout(5):
            while not subscriber.subscribed(key):
                await asyncio.sleep(0.01)
        await client.execute_command("SPUBLISH", key, "hello")
        async with asyncio.timeout(5):
            while not heard:
                await asyncio.sleep(0.01)
        assert heard == [(key, "hello")]
    finally:
        await subscriber.stop()
        await client.aclose()
    dead = ("127.0.0.1", free_port())
    nowhere = ShardedSubscriber([dead], lambda k, d: None, nothing, subscribe_timeout=1.0)
    nowhere.start()
    try:
        attempt = asyncio.create_task(nowhere.acquire(key))
        await asyncio.sleep(0.5)
        assert f"redis cluster node 127.0.0.1:{dead[1]} reconnecting" in nowhere.health()
        with pytest.raises(SubscriberUnavailable):
            await attempt
        assert not nowhere.subscribed(key)
    finally:
        await nowhere.stop()


async def test_a_slow_gap_fill_holds_a_bounded_number_of_messages(
        redis_cluster: RedisCluster) -> None:
    """While a gap fill hangs (history unreachable), live messages are held up to a limit; past
    it they are dropped and the fill runs once more afterwards (its later snapshot covers them),
    then only what arrived after the drop is delivered from the hold."""
    from channels.sharded_subscriber import ShardedSubscriber

    node = primaries(redis_cluster)[1]
    key = names.live_key(channel_on(redis_cluster, node))
    heard: list[str] = []
    fills: list[list[str]] = []
    release = asyncio.Event()

    async def slow_fill(keys: object) -> None:
        fills.append(list(keys))  # type: ignore[call-overload]
        if len(fills) == 1:
            await release.wait()

    seeds = [("127.0.0.1", node.port)]
    subscriber = ShardedSubscriber(seeds, lambda _k, d: heard.append(d), slow_fill,
                                   heartbeat=0.5, hold_limit=5)
    subscriber.start()
    client = cluster_client(redis_cluster.url, timedelta(seconds=2), decode_responses=True)
    killer = Redis(port=node.port)
    try:
        await subscriber.acquire(key)
        await killer.client_kill_filter(_type="pubsub")
        async with asyncio.timeout(10):
            while not fills:  # reconnected, confirmed, and the fill is hanging
                await asyncio.sleep(0.01)
        for n in range(1, 13):
            await client.execute_command("SPUBLISH", key, str(n))
        await asyncio.sleep(0.3)
        assert heard == []  # held, not delivered, while the fill hangs
        release.set()
        async with asyncio.timeout(5):
            while len(heard) < 2:
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        assert fills == [[key], [key]]
        assert heard == ["11", "12"]
    finally:
        await subscriber.stop()
        await client.aclose()
        await killer.aclose()


async def test_first_user_leaving_while_the_slot_map_is_read_leaves_the_others_subscribed(
        redis_cluster: RedisCluster) -> None:
    """The first channel of a fresh process waits for the slot map; its first user goes away
    meanwhile (socket closed, task cancelled) while a second waits: the channel is still
    placed and confirmed, and the second user returns (it used to wait out the timeout)."""
    from channels.sharded_subscriber import ShardedSubscriber

    async def nothing(_keys: object) -> None:
        return None

    key = names.live_key(channel_on(redis_cluster, primaries(redis_cluster)[0]))
    seeds = [("127.0.0.1", n.port) for n in primaries(redis_cluster)]
    subscriber = ShardedSubscriber(seeds, lambda _k, _d: None, nothing, subscribe_timeout=3.0)
    subscriber.start()
    try:
        async with subscriber._map_lock:  # the map read is under way
            first = asyncio.create_task(subscriber.acquire(key))
            second = asyncio.create_task(subscriber.acquire(key))
            await asyncio.sleep(0.05)
            first.cancel()
            with pytest.raises(asyncio.CancelledError):
                await first
        await asyncio.wait_for(second, 2.5)
        assert subscriber.subscribed(key)
    finally:
        await subscriber.stop()
