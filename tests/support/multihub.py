"""Several hubs behind a real load balancer: PostgreSQL + Redis + 1 worker process + N hub
processes + HAProxy with the shipped ``deploy/haproxy.cfg``, all real processes.

``multihub(tmp_path)`` starts everything on free ports and stops it all afterwards::

    async with multihub(tmp_path, hubs=3) as site:
        site.haproxy.url, site.hubs[0], site.db, site.redis_url ...

Starting a site costs seconds (a database, a worker, hub processes, HAProxy), so a test module
shares one (a module-scoped fixture) and calls ``site.restore()`` before each test: whatever the
last test killed or stopped is started again and nothing of it is still in flight. The flow
tests compare only what was committed after their screens opened (``run_flow``).

A private standalone redis-server is always started: it is the only Redis, or, with ``cluster``
given, the queue Redis (PTSA_QUEUE_URL: arq, sessions, throttles, kicks) while channel history
and live fan-out go to the Redis Cluster (REDIS_URL=redis+cluster://...).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import select

from config.settings import load_settings, normalise_database_url
from hub.auth.tokens import TokenSigner
from hub.db import Database
from hub.models import Staff
from tests.support.flow import unpublished
from tests.support.haproxy import HAProxy
from tests.support.hubfixtures import seeded_env
from tests.support.hubproc import HubProcess
from tests.support.redis_cluster import RedisCluster
from tests.support.servers import RedisServer, create_postgres_database, drop_postgres_database
from tests.support.worker import WorkerProcess, eventually


@dataclass
class Site:
    """What ``multihub`` started."""

    env: dict[str, str]
    haproxy: HAProxy
    hubs: list[HubProcess]
    worker: WorkerProcess
    db: Database
    redis_url: str  # REDIS_URL: the standalone Redis or the cluster
    queue_url: str  # the standalone Redis
    log_dir: Path
    queue: RedisServer
    names: list[str] = field(default_factory=list)  # HAProxy's name of each hub, in order
    _tokens: dict[str, str] = field(default_factory=dict)

    def hub_named(self, name: str) -> HubProcess:
        return self.hubs[self.names.index(name)]

    async def token(self, username: str) -> str:
        """The bearer token ``POST /api/v1/auth/token`` would give, signed with the hubs' key
        (a real sign-in costs an Argon2 verification, ~0.2 s of a shared core, per account;
        tests/multihub/test_haproxy.py signs in through HAProxy for real)."""
        if username not in self._tokens:
            async with self.db.read() as session:
                staff = (await session.exec(select(Staff).where(
                    Staff.username == username))).one()
            settings = load_settings(self.env)
            signer = TokenSigner(settings.secret_key,
                                 int(settings.session_max_age.total_seconds()))
            self._tokens[username] = signer.issue(staff.id or 0, staff.session_epoch)
        return self._tokens[username]


    async def restore(self) -> None:
        """Bring back what a test on a shared site stopped or killed (the queue Redis, the
        worker, hubs, HAProxy), then wait until HAProxy has every hub UP and the outbox is
        empty: the next test starts on a whole site with nothing of the last one in flight."""
        if self.queue.proc is None or self.queue.proc.poll() is not None:
            self.queue.start()
        if self.worker.proc is None or self.worker.proc.poll() is not None:
            self.worker.start()
        down = [hub for hub in self.hubs if hub.proc is None or hub.proc.poll() is not None]
        for hub in down:
            hub.start()
        await asyncio.gather(*(hub.wait_ready(timeout=60) for hub in down))
        if self.haproxy.proc is None or self.haproxy.proc.poll() is not None:
            self.haproxy.start()
        await self.haproxy.wait_ready()
        await eventually(lambda: _published(self.db), timeout=30,
                         what="the outbox to be empty (every event of the last test published)")


async def _published(db: Database) -> bool:
    return not await unpublished(db)


def _terminate_all(hubs: list[HubProcess]) -> None:
    for hub in hubs:
        if hub.proc is not None and hub.proc.poll() is None:
            hub.proc.send_signal(signal.SIGTERM)


@asynccontextmanager
async def multihub(tmp_path: Path, hubs: int = 3, cluster: RedisCluster | None = None,
                   extra_env: Mapping[str, str] | None = None) -> AsyncIterator[Site]:
    async with AsyncExitStack() as stack:
        queue = RedisServer()
        queue.start()
        stack.callback(queue.cleanup)
        redis_url = cluster.url if cluster is not None else queue.url
        db_name, db_url = create_postgres_database()
        stack.callback(drop_postgres_database, db_name)
        env = await seeded_env(db_url, redis_url, tmp_path)
        if cluster is not None:
            env["PTSA_QUEUE_URL"] = queue.url
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
        stack.callback(haproxy.close)
        haproxy.start()
        await haproxy.wait_ready()
        yield Site(env, haproxy, processes, worker, db, redis_url, queue.url, tmp_path, queue,
                   names)
