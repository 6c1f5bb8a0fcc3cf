"""The sharded subscriber follows the cluster: a slot moved (server ``sunsubscribe``), a stale
slot map (``-MOVED``), a primary killed (its replica promoted), and how soon live delivery
resumes after a promotion. A private cluster for this module: the tests move slots and kill
nodes (the last test leaves it broken).

Events are appended the way the relay does (a failed append is retried, the seen-marks make the
retry idempotent) while the cluster changes; every socket must then hold each event once, in
order.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from channels import names
from channels.history import History
from channels.sharded_subscriber import ShardedSubscriber
from tests.channels.cluster_support import channel_on, cluster_realtime, event, primaries
from tests.channels.test_realtime import RecordingSink
from tests.support.redis_cluster import RedisCluster

# Live delivery on a dead primary's channels resumes within this many seconds of its replica's
# promotion. The link's back-off (shard_link.MAX_BACKOFF_S, 0.5 s) plus a reconnect, CLUSTER
# SLOTS and SSUBSCRIBE took 0.26–0.43 s in eight runs on the shared 2-core machine; 2 s leaves
# room for a loaded one, and a 5 s cap (a sleep of 2.5–5 s) fails it (4.33–5.00 s in three).
RESUME_BOUND_S = 2.0


@pytest.fixture(scope="module")
def private_cluster() -> Iterator[RedisCluster]:
    with RedisCluster() as cluster:
        yield cluster


class Feed:
    """Appends numbered events to channels every ``pause`` seconds, retrying each batch until
    the cluster takes it (as the relay's retries do)."""

    def __init__(self, history: History, channels: list[str], pause: float = 0.02) -> None:
        self.history, self.channels, self.pause = history, channels, pause
        self.sent = 0
        self.failed_appends = 0
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while not self._stop.is_set():
            n = self.sent + 1
            batch = [event(ch, n) for ch in self.channels]
            while True:
                try:
                    replies = await self.history.append(batch)
                    if not any(isinstance(r, Exception) for r in replies):
                        break
                except Exception:
                    pass
                self.failed_appends += 1
                await asyncio.sleep(0.05)
            self.sent = n
            await asyncio.sleep(self.pause)

    async def stop(self) -> int:
        self._stop.set()
        assert self._task is not None
        await self._task
        return self.sent


def ids(sink: RecordingSink) -> list[int]:
    return [e["data"]["task"]["id"] for e in sink.events()]


async def wait_all(sinks: list[RecordingSink], count: int, timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while any(len(s.events()) < count for s in sinks):
            await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)  # a duplicate would arrive now


async def test_slot_moved_under_flow_follows_to_the_new_owner(private_cluster: RedisCluster,
                                                              redis_url: str) -> None:
    """The channel's slot is migrated to another primary while events flow: the old owner
    sends ``sunsubscribe``, the subscriber SSUBSCRIBEs on the new owner and fills the gap."""
    cluster = private_cluster
    async with cluster_realtime(cluster, redis_url) as (realtime, history):
        source, target = primaries(cluster)[0], primaries(cluster)[1]
        channel = channel_on(cluster, source)
        sink = RecordingSink()
        await realtime.subscribe(sink, channel, None, None)
        feed = Feed(history, [channel])
        feed.start()
        await asyncio.sleep(0.5)
        await asyncio.to_thread(cluster.move_slot, cluster.slot_of(names.live_key(channel)),
                                target)
        await asyncio.sleep(1.0)
        sent = await feed.stop()
        await wait_all([sink], sent)
        assert ids(sink) == list(range(1, sent + 1))
        links = realtime.subscriber.links  # type: ignore[union-attr]
        assert [a[1] for a, link in links.items()
                if names.live_key(channel) in link.channels] == [target.port]
        assert realtime.subscriber.follows["sunsubscribe"] == 1  # type: ignore[union-attr]
        assert realtime.health() == "ok"


async def test_stale_slot_map_is_corrected_by_moved(private_cluster: RedisCluster,
                                                    redis_url: str) -> None:
    """A channel whose slot moved after the subscriber read its map: the SSUBSCRIBE to the
    old owner answers ``-MOVED``, and the subscription lands on the new owner."""
    cluster = private_cluster
    async with cluster_realtime(cluster, redis_url) as (realtime, history):
        source, target = primaries(cluster)[2], primaries(cluster)[0]
        warm, channel = channel_on(cluster, target), channel_on(cluster, source)
        await realtime.subscribe(RecordingSink(), warm, None, None)  # the map is read now
        await asyncio.to_thread(cluster.move_slot, cluster.slot_of(names.live_key(channel)),
                                target)
        sink = RecordingSink()
        await realtime.subscribe(sink, channel, None, None)
        await history.append([event(channel, n) for n in (1, 2, 3)])
        await wait_all([sink], 3)
        assert ids(sink) == [1, 2, 3]
        assert realtime.subscriber.follows["moved"] == 1  # type: ignore[union-attr]


async def test_primary_killed_under_flow_replica_takes_over_nothing_lost(
        private_cluster: RedisCluster, redis_url: str) -> None:
    """SIGKILL the primary of a channel while events flow on it and on a channel of another
    primary: the replica is promoted, the subscriber re-subscribes there, fills the gap; both
    sockets hold every event once, in order."""
    cluster = private_cluster
    async with cluster_realtime(cluster, redis_url, heartbeat=0.5) as (realtime, history):
        nodes = primaries(cluster)
        victim, other = nodes[1], nodes[2]
        hit, calm = channel_on(cluster, victim), channel_on(cluster, other)
        sinks = [RecordingSink(), RecordingSink()]
        await realtime.subscribe(sinks[0], hit, None, None)
        await realtime.subscribe(sinks[1], calm, None, None)
        replicas = cluster.shards()[victim.port]
        feed = Feed(history, [hit, calm])
        feed.start()
        await asyncio.sleep(0.5)
        killed_at = time.monotonic()
        cluster.kill(victim)
        promoted = await asyncio.to_thread(cluster.wait_for_failover, victim, replicas)
        seen = len(sinks[0].events())
        async with asyncio.timeout(15):
            while len(sinks[0].events()) <= seen:
                await asyncio.sleep(0.01)
        paused = time.monotonic() - killed_at
        await asyncio.sleep(0.5)
        sent = await feed.stop()
        await wait_all(sinks, sent)
        for sink in sinks:
            assert ids(sink) == list(range(1, sent + 1))
        assert feed.failed_appends > 0  # the kill did interrupt the appends
        links = realtime.subscriber.links  # type: ignore[union-attr]
        assert [a[1] for a, link in links.items()
                if names.live_key(hit) in link.channels] == [promoted.port]
        assert realtime.subscriber.follows["lost"] >= 1  # type: ignore[union-attr]
        assert realtime.health() == "ok"
        print(f"live delivery on the killed primary's channel paused {paused:.1f} s")


async def test_primary_that_hangs_is_left_by_the_heartbeat(private_cluster: RedisCluster,
                                                           redis_url: str) -> None:
    """SIGSTOP a primary (no RST: the connection just goes silent): the heartbeat gives up on
    it, the replica is promoted, and the socket holds every event once, in order."""
    cluster = private_cluster
    async with cluster_realtime(cluster, redis_url, heartbeat=0.5) as (realtime, history):
        victim = next(n for n in primaries(cluster) if cluster.shards()[n.port])
        replicas = cluster.shards()[victim.port]
        channel = channel_on(cluster, victim)
        sink = RecordingSink()
        await realtime.subscribe(sink, channel, None, None)
        feed = Feed(history, [channel])
        feed.start()
        await asyncio.sleep(0.3)
        cluster.pause(victim)
        try:
            promoted = await asyncio.to_thread(cluster.wait_for_failover, victim, replicas)
            await asyncio.sleep(1.0)
            sent = await feed.stop()
            await wait_all([sink], sent)
        finally:
            cluster.kill(victim)  # SIGKILL ends a stopped process too
        assert ids(sink) == list(range(1, sent + 1))
        links = realtime.subscriber.links  # type: ignore[union-attr]
        assert [a[1] for a, link in links.items()
                if names.live_key(channel) in link.channels] == [promoted.port]
        assert realtime.subscriber.follows["lost"] >= 1  # type: ignore[union-attr]


async def next_retry(subscriber: ShardedSubscriber, timeout: float = 15.0) -> None:
    """Until the dead node's link tries again: each try reads the slot map first."""
    before = subscriber._map_at
    async with asyncio.timeout(timeout):
        while subscriber._map_at == before:
            await asyncio.sleep(0.005)


async def test_delivery_resumes_soon_after_the_replica_is_promoted(
        private_cluster: RedisCluster) -> None:
    """However long a primary was down, live delivery on its channel resumes within
    RESUME_BOUND_S of its replica's promotion: the back-off between the link's tries is capped.
    The promotion is the test's (automatic failover off on the replica, then CLUSTER FAILOVER
    TAKEOVER), right after the link's sixth try (uncapped, a back-off doubling from 0.1 s would
    sleep 6.4 s next), so the bound holds a whole back-off sleep: the worst case."""
    cluster = private_cluster
    victim = next((n for n in primaries(cluster) if cluster.shards()[n.port]), None)
    assert victim is not None, f"no primary with a replica left: {cluster.shards()}"
    replica = cluster.node(cluster.shards()[victim.port][0])
    cluster.command("CONFIG", "SET", "cluster-replica-no-failover", "yes", node=replica)
    key = names.live_key(channel_on(cluster, victim))
    heard: list[float] = []

    async def nothing(_keys: object) -> None:
        return None

    seeds = [("127.0.0.1", n.port) for n in primaries(cluster)]
    subscriber = ShardedSubscriber(seeds, lambda _k, _d: heard.append(time.monotonic()),
                                   nothing, heartbeat=0.5)
    subscriber.start()
    publisher = Redis(port=replica.port)

    async def publish_until_heard() -> None:  # as the relay would, every 20 ms
        while not heard:
            with contextlib.suppress(RedisError):  # until the replica owns the slot
                await publisher.execute_command("SPUBLISH", key, "after the promotion")
            await asyncio.sleep(0.02)

    try:
        await subscriber.acquire(key)
        cluster.kill(victim)
        for _ in range(6):
            await next_retry(subscriber)
        promoted_at = time.monotonic()
        cluster.command("CLUSTER", "FAILOVER", "TAKEOVER", node=replica)
        cluster.command("CONFIG", "SET", "cluster-replica-no-failover", "no", node=replica)
        publishing = asyncio.create_task(publish_until_heard())
        promoted = await asyncio.to_thread(cluster.wait_for_failover, victim, [replica.port])
        assert promoted.port == replica.port
        async with asyncio.timeout(15):
            await publishing
        resumed = heard[0] - promoted_at
        print(f"live delivery resumed {resumed:.2f} s after the promotion")
        assert resumed < RESUME_BOUND_S, (
            f"live delivery resumed {resumed:.2f} s after the replica's promotion "
            f"(bound {RESUME_BOUND_S} s): has the shard link's back-off grown?")
    finally:
        await subscriber.stop()
        await publisher.aclose()
        cluster.command("CONFIG", "SET", "cluster-replica-no-failover", "no", node=replica)
        # As an automatic failover would leave it (the next test picks among live primaries).
        await asyncio.to_thread(cluster.wait_flagged_failed, victim)


async def test_shard_without_a_primary_fails_the_check_and_the_health(
        private_cluster: RedisCluster, redis_url: str, tmp_path: Path) -> None:
    """A shard loses its primary and every replica: the start-up check refuses the cluster,
    naming the nodes that say cluster_state:fail and those that do not answer; the subscriber's
    health names the node it cannot reach. (Last: this cluster stays broken.)"""
    from config.settings import load_settings
    from hub.errors import ConfigError
    from hub.redis_clients import check_cluster, require_cluster

    cluster = private_cluster
    async with cluster_realtime(cluster, redis_url, heartbeat=0.5) as (realtime, _history):
        primary = primaries(cluster)[0]
        channel = channel_on(cluster, primary)
        await realtime.subscribe(RecordingSink(), channel, None, None)
        for port in cluster.shards()[primary.port]:
            cluster.kill(cluster.node(port))
        cluster.kill(primary)
        survivor = cluster.alive()[0]
        async with asyncio.timeout(15):
            while "cluster_state:fail" not in cluster.command("CLUSTER", "INFO", node=survivor):
                await asyncio.sleep(0.2)
        problems, notes = await check_cluster(cluster.url, timedelta(seconds=1))
        assert f"node {survivor.address} reports cluster_state:fail" in " ".join(problems)
        assert f"node {primary.address} does not answer" in " ".join(notes)
        settings = load_settings({"REDIS_URL": cluster.url, "PTSA_QUEUE_URL": redis_url,
                                  "PTSA_VAR_DIR": str(tmp_path)})
        with pytest.raises(ConfigError) as caught:
            await require_cluster(settings)
        assert "cluster_state:fail" in caught.value.message
        async with asyncio.timeout(10):
            while primary.address not in realtime.health():
                await asyncio.sleep(0.1)
        assert "reconnecting" in realtime.health()
