"""Every Redis client the hub creates (except the pub/sub listener, ``channels/subscriber.py``),
with connect and read timeouts.

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

from channels import names


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
