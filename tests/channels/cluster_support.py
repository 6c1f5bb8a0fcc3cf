"""Helpers for the Redis Cluster tests of channels: channels placed on chosen primaries, a
Realtime wired to a cluster, the sink that records what a socket would be sent."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from channels import names
from channels.history import History, OutgoingEvent
from channels.realtime import Realtime
from hub.models import utcnow
from hub.redis_clients import cluster_client
from tests.support.redis_cluster import Node, RedisCluster


def channel_on(cluster: RedisCluster, node: Node, prefix: str = "c") -> str:
    """A new channel name whose live key (and so all its keys) the primary ``node`` owns."""
    for _ in range(10_000):
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        if cluster.primary_for_slot(cluster.slot_of(names.live_key(name))).port == node.port:
            return name
    raise RuntimeError(f"no channel name found for {node.address}")


def primaries(cluster: RedisCluster) -> list[Node]:
    return [cluster.node(port) for port in sorted(cluster.shards())]


def event(channel: str, n: int) -> OutgoingEvent:
    return OutgoingEvent(uuid.uuid4().hex, channel, "task.created", utcnow(),
                         json.dumps({"task": {"id": n}}))


@asynccontextmanager
async def cluster_realtime(cluster: RedisCluster, queue_url: str, *, heartbeat: float = 1.0
                           ) -> AsyncIterator[tuple[Realtime, History]]:
    client = cluster_client(cluster.url, timedelta(seconds=2), decode_responses=True)
    history = History(client, 1000, 3600)
    kicks: list[str] = []
    realtime = Realtime(cluster.url, history, lambda frame: frame, kicks.append,
                        heartbeat=heartbeat, queue_url=queue_url)
    realtime.kicked = kicks  # type: ignore[attr-defined]
    realtime.start()
    try:
        yield realtime, history
    finally:
        await realtime.stop()
        await client.aclose()
