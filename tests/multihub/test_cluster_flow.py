"""The flow of tests/multihub/test_flow.py with channel history and live fan-out on a real Redis
Cluster (3 primaries + 3 replicas; REDIS_URL=redis+cluster://...) and arq, sessions and kicks on
a standalone Redis (PTSA_QUEUE_URL): 0 lost, 0 shown twice, also while the primary serving the
busiest channel is SIGKILLed (its replica is promoted) and while that channel's slot moves to
another primary. The failure tests use a 20 s flow, the disruption 6 s in."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from channels import names
from tests.support.flow import screen_plan
from tests.support.flowrun import SCREENS, run_flow
from tests.support.multihub import Site, multihub
from tests.support.redis_cluster import RedisCluster

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

BUSY = "p0"  # every registration reaches it: the channel whose shard is broken


@pytest.fixture
def own_cluster() -> Iterator[RedisCluster]:
    """A cluster of this test's own: it gets a node killed or a slot moved."""
    with RedisCluster() as cluster:
        yield cluster


async def test_flow_on_the_cluster_loses_and_repeats_nothing(
        redis_cluster: RedisCluster, tmp_path: Path) -> None:
    async with multihub(tmp_path, hubs=3, cluster=redis_cluster) as site:
        status, health = await site.hubs[0].health()
        assert health["checks"]["redis_cluster"] == "ok"  # type: ignore[index]
        run = await run_flow(site, seconds=60)
    print(run.summary())
    assert all(n >= SCREENS // 5 for n in run.sessions_before.values()), run.sessions_before
    assert run.flow.registered >= 590 and not run.flow.failed, run.flow.failed[:5]
    assert run.comparison.clean, run.comparison
    assert run.comparison.expected > 3000
    assert not any(s.unrecovered or s.errors for s in run.screens)


@pytest.fixture
async def cluster_site(own_cluster: RedisCluster, tmp_path: Path) -> AsyncIterator[Site]:
    async with multihub(tmp_path, hubs=3, cluster=own_cluster) as site:
        yield site


def busy_slot(cluster: RedisCluster) -> int:
    return cluster.slot_of(names.live_key(BUSY))


def channels_on(cluster: RedisCluster, port: int, channels: set[str]) -> set[str]:
    return {c for c in channels
            if cluster.primary_for_slot(cluster.slot_of(names.live_key(c))).port == port}


async def test_primary_killed_under_flow(own_cluster: RedisCluster, cluster_site: Site) -> None:
    """SIGKILL the primary holding p0's slot: its replica is promoted, the hubs follow it
    (sharded subscriptions re-made, history asked for what was missed), screens lose nothing and
    see nothing twice. Reports how long live delivery paused on that shard's channels: the
    longest wait between two p0 events (the first event "after" the kill is often one already
    on its way, so that figure alone says little)."""
    primary = own_cluster.primary_for_slot(busy_slot(own_cluster))
    replicas = own_cluster.shards()[primary.port]
    every = {ch for _, ch in screen_plan(SCREENS)}
    affected = channels_on(own_cluster, primary.port, every)

    async def kill() -> dict[str, object]:
        own_cluster.kill(primary)
        started = time.monotonic()
        promoted = await asyncio.to_thread(own_cluster.wait_for_failover, primary, replicas)
        return {"failover_s": round(time.monotonic() - started, 2),
                "promoted": promoted.port, "channels_on_shard": sorted(affected)}

    run = await run_flow(cluster_site, seconds=20, at=6, disrupt=kill)
    pauses = run.pauses({BUSY})
    print(run.summary(), run.disruption,
          f"first {BUSY} event after the kill: median {statistics.median(pauses):.2f} s, "
          f"max {max(pauses):.2f} s; longest gap between two {BUSY} events "
          f"{run.longest_gap({BUSY}):.2f} s")
    assert BUSY in affected
    assert run.comparison.clean, run.comparison
    assert not any(s.unrecovered for s in run.screens)
    assert not run.flow.failed, run.flow.failed[:5]  # commands never wait on the cluster


async def test_busy_slot_moved_under_flow(own_cluster: RedisCluster, cluster_site: Site) -> None:
    """p0's slot (its stream, epoch, floor and de-duplication marks) migrates to another primary
    while events flow (``CLUSTER SETSLOT`` + ``MIGRATE``, what ``redis-cli --cluster reshard``
    does): the hubs follow the slot; 0 lost, 0 shown twice."""
    slot = busy_slot(own_cluster)
    source = own_cluster.primary_for_slot(slot)
    target = next(own_cluster.node(p) for p in own_cluster.shards() if p != source.port)

    async def move() -> dict[str, object]:
        started = time.monotonic()
        await asyncio.to_thread(own_cluster.move_slot, slot, target)
        assert own_cluster.primary_for_slot(slot).port == target.port
        return {"slot": slot, "moved_in_s": round(time.monotonic() - started, 2)}

    run = await run_flow(cluster_site, seconds=20, at=6, disrupt=move)
    pauses = run.pauses({BUSY})
    print(run.summary(), run.disruption,
          f"first {BUSY} event after the move began: median {statistics.median(pauses):.2f} s, "
          f"max {max(pauses):.2f} s; longest gap between two {BUSY} events "
          f"{run.longest_gap({BUSY}):.2f} s")
    assert run.comparison.clean, run.comparison
    assert not any(s.unrecovered for s in run.screens)
    assert not run.flow.failed, run.flow.failed[:5]
