"""Several hubs behind a real load balancer: PostgreSQL + Redis + 1 worker process + N hub
processes + HAProxy with the shipped ``deploy/haproxy.cfg``, all real processes.

``multihub(tmp_path)`` starts everything on free ports and stops it all afterwards::

    async with multihub(tmp_path, hubs=3) as site:
        site.haproxy.url, site.hubs[0], site.db, site.redis_url ...

The real-time Redis is a private standalone redis-server unless ``redis_url`` is given (e.g. a
Redis Cluster's URL, with ``queue_url`` naming the standalone Redis arq uses).
"""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from config.settings import normalise_database_url
from hub.db import Database
from tests.support.haproxy import HAProxy
from tests.support.hubfixtures import seeded_env
from tests.support.hubproc import HubProcess
from tests.support.servers import RedisServer, create_postgres_database, drop_postgres_database
from tests.support.worker import WorkerProcess


@dataclass
class Site:
    """What ``multihub`` started."""

    env: dict[str, str]
    haproxy: HAProxy
    hubs: list[HubProcess]
    worker: WorkerProcess
    db: Database
    redis_url: str
    log_dir: Path
    names: list[str] = field(default_factory=list)  # HAProxy's name of each hub, in order

    def hub_named(self, name: str) -> HubProcess:
        return self.hubs[self.names.index(name)]


def _terminate_all(hubs: list[HubProcess]) -> None:
    for hub in hubs:
        if hub.proc is not None and hub.proc.poll() is None:
            hub.proc.send_signal(signal.SIGTERM)


@asynccontextmanager
async def multihub(tmp_path: Path, hubs: int = 3, redis_url: str | None = None,
                   extra_env: Mapping[str, str] | None = None) -> AsyncIterator[Site]:
    async with AsyncExitStack() as stack:
        if redis_url is None:
            redis = RedisServer()
            redis.start()
            stack.callback(redis.cleanup)
            redis_url = redis.url
        db_name, db_url = create_postgres_database()
        stack.callback(drop_postgres_database, db_name)
        env = await seeded_env(db_url, redis_url, tmp_path)
        env.update({"PTSA_LOG_LEVEL": "INFO", **(extra_env or {})})
        db = Database(normalise_database_url(db_url))
        stack.push_async_callback(db.dispose)

        worker = WorkerProcess(env, tmp_path / "worker.log")
        worker.start()
        stack.callback(worker.stop)

        processes = [HubProcess(env, tmp_path / f"hub{n + 1}.log") for n in range(hubs)]
        for hub in processes:
            stack.callback(hub.stop)
            hub.start()
        # Stopping signals every hub first, so their drains (PTSA_DRAIN) run side by side.
        stack.callback(_terminate_all, processes)
        for hub in processes:
            await hub.wait_ready(timeout=60)
        names = [f"hub{n + 1}" for n in range(hubs)]
        haproxy = HAProxy(list(zip(names, (h.port for h in processes), strict=True)),
                          tmp_path / "haproxy.log")
        stack.callback(haproxy.stop)
        haproxy.start()
        await haproxy.wait_ready()
        yield Site(env, haproxy, processes, worker, db, redis_url, tmp_path, names)
