"""Real hub processes with history and live fan-out on a Redis Cluster (REDIS_URL=
redis+cluster://...) and sessions, kicks and arq on a standalone Redis (PTSA_QUEUE_URL)."""

from __future__ import annotations

from pathlib import Path

from redis.asyncio import Redis

from hub.auth.sessions import kick
from tests.support.hubfixtures import Tokens, seeded_env, tokens
from tests.support.hubproc import HubCluster
from tests.support.redis_cluster import RedisCluster
from tests.support.wsclient import WsClient, register_task

__all__ = ["tokens"]  # fixtures used by name


async def test_two_hubs_on_a_cluster_deliver_across_processes_and_kick(
        sqlite_url: str, redis_url: str, redis_cluster: RedisCluster, tmp_path: Path,
        tokens: Tokens) -> None:
    """A task registered through hub A reaches screens on hub B (P0 and P1 channels, on the
    cluster); a reconnect with since replays from the cluster's stream; a kick published on the
    queue Redis by another process closes B's socket of that user with 4001."""
    env = await seeded_env(sqlite_url, redis_cluster.url, tmp_path)
    hubs = HubCluster({**env, "PTSA_QUEUE_URL": redis_url}, tmp_path)
    try:
        a, b = await hubs.start(2)
        status, health = await b.health()
        assert status == 200 and health["checks"]["redis_cluster"] == "ok"  # type: ignore[index]
        p1 = await WsClient.open(b.ws_url, await tokens(a.url, "p1-barenbang-1"))
        p0 = await WsClient.open(b.ws_url, await tokens(a.url, "p0-1"))
        start = await p1.subscribe("p1.barenbang")
        await p0.subscribe("p0")
        task = await register_task(a.url, await tokens(a.url, "p0-1"))
        [event] = await p1.events(1)
        assert event["data"]["task"]["code"] == task["code"]
        [seen] = await p0.events(1)
        assert seen["data"]["task"]["code"] == task["code"]
        late = await WsClient.open(a.ws_url, await tokens(a.url, "p1-barenbang-2"))
        answer = await late.subscribe("p1.barenbang", start["offset"], start["epoch"])
        assert answer["recovered"] is True and answer["missed"] == 1
        assert [e["id"] for e in await late.events(1)] == [event["id"]]
        queue = Redis.from_url(redis_url, decode_responses=True)
        try:
            await kick(queue, "p1-barenbang-1")
        finally:
            await queue.aclose()
        assert (await p1.closed_with(3))[0] == 4001
        await p0.send({"op": "ping"})
        assert await p0.recv() == {"op": "pong"}
        for client in (p0, late):
            await client.close()
    finally:
        hubs.close()
