"""The worker process's parts: what ``ptsa worker`` builds at start-up, and nothing of the web's.

``WorkerContext.start`` is the one place the worker is wired: the outbox relay, the transports
and the notifier, the SLA engine and its sweep, the applicant messages and the complaint
deadlines, in that order (each later part uses earlier ones); ``stop`` closes them in reverse.
arq hands job functions its own ``ctx`` dict; the only key of ours in it is ``"parts"``.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from channels.history import History
from channels.relay import Relay
from config.settings import Settings
from hub.background import Loops
from hub.db import Database
from hub.errors import ConfigError
from hub.redis_clients import history_client, queue_client, require_cluster

log = logging.getLogger(__name__)

# How often the worker's relay sweeps the outbox. Its own SLA events do not wait for a sweep: the
# engine hands them to the relay as they commit (Relay.publish_soon).
RELAY_INTERVAL_S = 0.25
# The sweep takes only rows older than this: what a crashed web process left behind. Clearly
# longer than a web process's mark interval (0.25 s, channels/relay.py) plus its UPDATE, so the
# sweep does not re-publish rows a web process has published and is about to mark.
RELAY_MIN_AGE_S = 1.5


class WorkerContext:
    """Settings, the database and Redis, and the running parts (None until ``start``)."""

    def __init__(self, settings: Settings, arq_redis: Any) -> None:
        if not settings.redis_url:
            raise ConfigError("the worker needs REDIS_URL (use `ptsa run` for an embedded Redis)")
        self.settings = settings
        self.db = Database(settings.database_url, pool_size=settings.db_pool_size)
        # As in the web (hub/context.py): the queue Redis, and history on the cluster if any.
        self.redis: Redis = queue_client(settings)
        self.history_redis: Redis | RedisCluster = \
            self.redis if not settings.redis_cluster else history_client(settings)
        self.arq_redis = arq_redis  # arq's pool: leases and job scheduling
        from workers.notify.applicant import ApplicantMessages
        from workers.notify.sender import Notifier
        from workers.notify.transports import Transports
        from workers.sla.complaints import ComplaintDeadlines
        from workers.sla.engine import SlaEngine
        from workers.sla.sweep import SlaSweep

        self.relay: Relay | None = None
        self.transports: Transports | None = None
        self.notifier: Notifier | None = None
        self.sla: SlaEngine | None = None
        self.sla_sweep: SlaSweep | None = None
        self.applicant: ApplicantMessages | None = None
        self.complaint_deadlines: ComplaintDeadlines | None = None
        self._loops = Loops()

    async def start(self) -> None:
        from workers.batching import SerialWrites
        from workers.jobs import tune_gc
        from workers.notify.applicant import ApplicantMessages
        from workers.notify.sender import Notifier
        from workers.notify.transports import Transports
        from workers.sla.complaints import ComplaintDeadlines
        from workers.sla.engine import SlaEngine
        from workers.sla.sweep import SlaSweep

        settings = self.settings
        await require_cluster(settings)  # a bad cluster refuses start-up with a plain message
        # The worker's events (sla.warning, sla.breached) come in bursts; rather than one publish
        # per event, the relay sweeps often and publishes each sweep's rows together.
        history = History(self.history_redis, settings.history_max_len,
                          int(settings.history_max_age.total_seconds()))
        self.relay = Relay(cast(Database, SerialWrites(self.db)), history, fast_path=False,
                           interval=RELAY_INTERVAL_S, min_age=RELAY_MIN_AGE_S)
        self.relay.start(sweep=True)
        self.transports = transports = Transports(settings)
        self.notifier = notifier = Notifier(self.db, transports, self.arq_redis,
                                            settings.notify_lease,
                                            send_timeout=settings.notify_send_timeout)
        self.sla = SlaEngine(self, notifier, transports, self.relay)
        released = await notifier.release_held()
        if released:
            log.warning("released %d held notifications now that their channel is configured",
                        len(released))
            notifier.dispatch(released)
        tune_gc()
        self.sla_sweep = SlaSweep(self.db, self.sla, notifier, self.arq_redis,
                                  settings.sla_sweep_interval)
        self._loops.spawn(self.sla_sweep.run_forever(self._loops), "sla-sweep")
        self.applicant = ApplicantMessages(self.db, notifier, transports, settings)
        self._loops.spawn(self.applicant.run_forever(self._loops), "applicant-messages")
        self.complaint_deadlines = ComplaintDeadlines(self, notifier)
        self._loops.spawn(self.complaint_deadlines.run_forever(self._loops),
                         "complaint-deadlines")

    async def stop(self) -> None:
        # The sweep, applicant messages and complaint deadlines end at their next pause; a pass
        # in progress finishes first (hub/background.py).
        await self._loops.stop()
        if self.sla is not None:
            await self.sla.close()
        if self.notifier is not None:
            await self.notifier.close()
        if self.transports is not None:
            await self.transports.close()
        if self.relay is not None:
            await self.relay.stop()
        if self.history_redis is not self.redis:
            await self.history_redis.aclose()
        await self.redis.aclose()
        await self.db.dispose()
