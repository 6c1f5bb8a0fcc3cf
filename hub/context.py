"""The running application's parts, built from settings and started by the lifespan.

Nothing here connects at import time or in ``__init__``: ``start()`` connects, ``stop()`` closes,
so tests build an app with their own settings and every resource has one owner.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from config.catalog import load_catalog
from config.settings import Settings
from hub.auth.principal import Principal, load_principal
from hub.auth.sessions import SessionStore
from hub.auth.throttle import LoginThrottle
from hub.auth.tokens import TokenSigner
from hub.db import Database
from hub.drain import Drain
from hub.errors import ConfigError, NotAuthenticated
from hub.redis_clients import history_client, queue_client
from hub.tasks.clocks import ClockPolicy, PolicyProvider
from hub.tasks.commands import TaskCommands

if TYPE_CHECKING:
    from channels.realtime import Realtime
    from channels.relay import Relay
    from hub.queue.service import HallQueue
    from hub.ws.endpoint import WebSocketHub

log = logging.getLogger(__name__)


class Reporting(Protocol):
    """A running part that says how it is doing on /healthz ("ok" or what is wrong)."""

    def health(self) -> str: ...


class AppContext:
    def __init__(self, settings: Settings) -> None:
        if not settings.redis_url:
            raise ConfigError("REDIS_URL is not set. `ptsa run` starts an embedded Redis for you; "
                              "`ptsa web` and `ptsa worker` need REDIS_URL=redis://host:6379/0")
        self.settings = settings
        self.db = Database(settings.database_url, pool_size=settings.db_pool_size)
        # Sessions, throttles, rate limits, kicks: the standalone (queue) Redis. Channel history
        # and live fan-out: ``history_redis``, the same Redis unless REDIS_URL is a cluster.
        self.redis: Redis = queue_client(settings)
        self.history_redis: Redis | RedisCluster = \
            self.redis if not settings.redis_cluster else history_client(settings)
        self.policies = PolicyProvider(settings, load_catalog().sla)
        self.tokens = TokenSigner(settings.secret_key,
                                  int(settings.session_max_age.total_seconds()))
        self.sessions = SessionStore(self.redis, settings.secret_key,
                                     int(settings.session_max_age.total_seconds()))
        self.throttle = LoginThrottle(self.redis, settings.login_max_attempts,
                                      int(settings.login_window.total_seconds()),
                                      settings.login_delay_after,
                                      settings.login_delay_max.total_seconds())
        self.commands = TaskCommands(self.db, self.policies)
        self.commands.hook_timeout = settings.redis_hook_timeout.total_seconds()
        # The web process's running parts, built and started by its wiring (hub/app.py
        # ``start_parts``); None where a process runs without them (CLI commands, tests of one
        # part). ``hall`` is made on first use (hub.queue.hall_queue).
        self.ws: WebSocketHub | None = None
        self.realtime: Realtime | None = None
        self.relay: Relay | None = None
        self.scheduler: Reporting | None = None  # workers.sla.schedule.SlaScheduler
        self.hall: HallQueue | None = None
        self.drain = Drain(settings.drain.total_seconds())

    async def policy(self) -> ClockPolicy:
        async with self.db.read() as session:
            return await self.policies.get(session)

    async def principal_from_token(self, token: str) -> Principal:
        claims = self.tokens.verify(token)
        async with self.db.read() as session:
            principal = await load_principal(session, claims.staff_id, claims.epoch)
        if principal is None:
            raise NotAuthenticated("the account is inactive or its sessions were revoked; "
                                   "sign in again", code="revoked")
        return principal

    async def close(self) -> None:
        if self.history_redis is not self.redis:
            await self.history_redis.aclose()
        await self.redis.aclose()
        await self.db.dispose()
