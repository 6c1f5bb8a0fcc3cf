"""Every Redis client the hub creates (except the pub/sub listeners, ``channels/subscriber.py``
and ``channels/sharded_subscriber.py``), with connect and read timeouts.

Two Redis roles (one server for both unless REDIS_URL names a cluster, see config/settings.py):
``history_client`` — channel history and live fan-out (a ``RedisCluster`` on a cluster);
``queue_client``/``arq_pool`` — arq, sessions, throttles, rate limits, kicks (always standalone:
arq does not support Redis Cluster).

Without a read timeout a Redis that stops answering without closing the connection (SIGSTOP, a
long fork, a partition without RST) holds every caller until it resumes: HTTP answers, ``/healthz``
and the worker's poll loop. With one, the call fails after ``PTSA_REDIS_TIMEOUT`` and the caller's
fallback (the relay sweep, the SLA sweep, the worker's reconnect loop) takes over. None of these
clients makes blocking reads, so the timeout never fires on an idle connection; the pub/sub
listener does, and keeps its own heartbeat instead.
"""

from __future__ import annotations

from datetime import timedelta

from arq.connections import ArqRedis
from arq.constants import expires_extra_ms
from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster

from channels import names
from config.settings import Settings, cluster_password, parse_cluster_url
from hub.errors import ConfigError

HistoryRedis = Redis | RedisCluster


def redis_client(url: str, timeout: timedelta, **options: object) -> Redis:
    seconds = timeout.total_seconds()
    return Redis.from_url(url, socket_timeout=seconds, socket_connect_timeout=seconds,
                          **options)  # type: ignore[arg-type]


def arq_pool(url: str, timeout: timedelta) -> ArqRedis:
    """What ``arq.create_pool`` builds, plus the timeouts (arq has no setting for the read one).
    Nothing connects until the first command."""
    seconds = timeout.total_seconds()
    pool = ArqRedis.from_url(url, socket_timeout=seconds, socket_connect_timeout=seconds,
                             encoding="utf8")
    pool.job_serializer = None
    pool.job_deserializer = None
    pool.default_queue_name = names.ARQ_QUEUE
    pool.expires_extra_ms = expires_extra_ms
    return pool


def cluster_client(url: str, timeout: timedelta, **options: object) -> RedisCluster:
    """A ``RedisCluster`` seeded with every node of a ``redis+cluster://`` URL. Nothing connects
    until the first command (then it reads the slot map from the first seed that answers)."""
    seconds = timeout.total_seconds()
    nodes = [ClusterNode(host, port) for host, port in parse_cluster_url(url)]
    return RedisCluster(startup_nodes=nodes, password=cluster_password(url),
                        socket_timeout=seconds, socket_connect_timeout=seconds,
                        **options)  # type: ignore[arg-type]


def history_client(settings: Settings) -> HistoryRedis:
    """Where channel history lives: the cluster, or the one standalone Redis."""
    if not settings.redis_url:
        raise ConfigError("REDIS_URL is not set")
    if settings.redis_cluster:
        return cluster_client(settings.redis_url, settings.redis_timeout, decode_responses=True)
    return redis_client(settings.redis_url, settings.redis_timeout, decode_responses=True,
                        health_check_interval=30)


def queue_client(settings: Settings) -> Redis:
    """The standalone Redis of sessions, throttles, rate limits and kicks (PTSA_QUEUE_URL)."""
    if not settings.queue_url:
        raise ConfigError("PTSA_QUEUE_URL is not set (REDIS_URL names a cluster)")
    return redis_client(settings.queue_url, settings.redis_timeout, decode_responses=True,
                        health_check_interval=30)


async def cluster_ok(client: HistoryRedis) -> None:
    """Raise unless the cluster says ``cluster_state:ok`` (for /healthz)."""
    state = _cluster_state(await client.execute_command("CLUSTER INFO"))
    if state != "ok":
        raise ConnectionError(f"cluster_state:{state}")


def _cluster_state(reply: object) -> str:
    """``cluster_state`` of a CLUSTER INFO answer (redis-py parses it into a dict; raw text
    where it does not)."""
    if isinstance(reply, dict):
        return str(reply.get("cluster_state", "unknown"))
    for line in str(reply).splitlines():
        if line.startswith("cluster_state:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


async def check_cluster(url: str, timeout: timedelta) -> tuple[list[str], list[str]]:
    """What is wrong with the Redis Cluster that ``url`` names: (problems, notes).

    A problem is a seed node that answers but is not in cluster mode (``cluster_enabled:0``),
    runs a Redis older than 7 (no sharded pub/sub: SPUBLISH/SSUBSCRIBE), or sees the cluster
    not ``ok``; or no seed answering at all. A seed that does not answer while another does is a
    note: the cluster may well be failing over it.
    """
    problems: list[str] = []
    unreachable: list[str] = []
    answered = 0
    password = cluster_password(url)
    for host, port in parse_cluster_url(url):
        name = f"{host}:{port}"
        client = redis_client(f"redis://{host}:{port}/0", timeout, password=password,
                              decode_responses=True)
        try:
            info = await client.info()
            answered += 1
            version = str(info.get("redis_version", "0"))
            if not info.get("cluster_enabled"):
                problems.append(f"node {name} is not in cluster mode (cluster_enabled:0): "
                                f"REDIS_URL=redis+cluster://… must name Redis Cluster nodes; "
                                f"for one standalone Redis write redis://{name}/0")
                continue
            if int(version.split(".")[0] or 0) < 7:
                problems.append(f"node {name} runs Redis {version}: sharded pub/sub "
                                f"(SPUBLISH/SSUBSCRIBE) needs Redis 7 or newer")
            state = _cluster_state(await client.execute_command("CLUSTER INFO"))
            if state != "ok":
                problems.append(f"node {name} reports cluster_state:{state}: the cluster is "
                                f"not serving every slot (a shard without a primary?)")
        except Exception as exc:
            unreachable.append(f"node {name} does not answer: {type(exc).__name__}: {exc}")
        finally:
            await client.aclose()
    if not answered:
        return problems + unreachable, []
    return problems, unreachable


async def require_cluster(settings: Settings) -> None:
    """Start-up of web and worker: refuse a cluster they cannot work with.

    Raises:
        ConfigError: what ``check_cluster`` found, node by node.
    """
    if not settings.redis_cluster or not settings.redis_url:
        return
    problems, _notes = await check_cluster(settings.redis_url, settings.redis_timeout)
    if problems:
        raise ConfigError("REDIS_URL names a Redis Cluster that cannot be used: "
                          + "; ".join(problems))
