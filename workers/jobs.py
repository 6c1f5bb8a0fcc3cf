"""Everything the arq worker runs, registered by ``workers.main.build_worker_options``.

Jobs: ``sla_fire`` (a clock's warning or deadline, ``workers/sla.py``) and ``notify_send`` (the
back-off retry of one notification, ``workers/notify.py``). Loops started with the worker: the SLA
sweep (``workers/sweep.py``) and the outbox relay (``channels/relay.py``), which publishes the
``sla.*`` events the worker commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from typing import Any, cast

from arq.worker import func

from config.settings import Settings
from hub.db import Database
from workers.notifier import Notifier
from workers.notify import NOTIFY_JOB
from workers.schedule import SLA_JOB
from workers.sla import sla_fire

log = logging.getLogger(__name__)

# arq polls its queue this often; it bounds how late a job can start (arq's default is 0.5 s).
POLL_DELAY_S = 0.1
# How often the worker's relay sweeps the outbox. Its own SLA events do not wait for a sweep: the
# engine hands them to the relay as they commit (Relay.publish_soon).
RELAY_INTERVAL_S = 0.25
# The sweep takes only rows older than this: what a crashed web process left behind. Clearly
# longer than a web process's mark interval (0.25 s, channels/relay.py) plus its UPDATE, so the
# sweep does not re-publish rows a web process has published and is about to mark.
RELAY_MIN_AGE_S = 1.5


async def notify_send(ctx: dict[str, Any], notification_id: int) -> str:
    notifier: Notifier = ctx["notifier"]
    return await notifier.deliver(notification_id)


def tune_gc() -> None:
    """Fewer, later collections: a breach burst allocates many short-lived objects, and the
    default thresholds collect every 700 allocations; freezing the start-up heap keeps the
    long-lived modules out of every full collection (PEERS.md: Python tails are GC pauses)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


async def start_sla(ctx: dict[str, Any]) -> None:
    from channels.relay import Relay
    from workers.batching import SerialWrites
    from workers.delivery import Transports
    from workers.sla import SlaEngine
    from workers.sweep import SlaSweep

    app = ctx["app"]
    settings: Settings = app.settings
    # The worker's events (sla.warning, sla.breached) come in bursts; rather than one publish per
    # event, the relay sweeps often and publishes each sweep's rows together.
    relay = Relay.for_app(app, fast_path=False, db=cast(Database, SerialWrites(app.db)),
                          interval=RELAY_INTERVAL_S, min_age=RELAY_MIN_AGE_S)
    relay.start(sweep=True)
    ctx["relay"] = relay
    transports = Transports(settings)
    notifier = Notifier(app.db, transports, ctx["redis"], settings.notify_lease,
                        send_timeout=settings.notify_send_timeout)
    ctx["notifier"] = notifier
    ctx["transports"] = transports
    engine = SlaEngine(app, notifier, transports, relay)
    ctx["sla"] = engine
    released = await notifier.release_held()
    if released:
        log.warning("released %d held notifications now that their channel is configured",
                    len(released))
        notifier.dispatch(released)
    tune_gc()
    sweep = SlaSweep(app.db, engine, notifier, ctx["redis"], settings.sla_sweep_interval)
    ctx["sla_sweep"] = sweep
    ctx["sla_sweep_task"] = asyncio.create_task(sweep.run_forever(), name="sla-sweep")


async def stop_sla(ctx: dict[str, Any]) -> None:
    task: asyncio.Task[None] | None = ctx.get("sla_sweep_task")
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    engine = ctx.get("sla")
    if engine is not None:
        await engine.close()
    notifier: Notifier | None = ctx.get("notifier")
    if notifier is not None:
        await notifier.close()
    transports = ctx.get("transports")
    if transports is not None:
        await transports.close()
    relay = ctx.get("relay")
    if relay is not None:
        await relay.stop()


def register(options: dict[str, Any], settings: Settings) -> None:
    # keep_result=0: a finished job's id may be enqueued again, which the sweep relies on; the
    # jobs' effects are recorded in the database, not in arq results.
    options["functions"] += [
        func(sla_fire, name=SLA_JOB, keep_result=0, max_tries=3),
        func(notify_send, name=NOTIFY_JOB, keep_result=0, max_tries=3),
    ]
    options["poll_delay"] = POLL_DELAY_S
    options["ctx"]["starters"].append(start_sla)
    options["ctx"]["stoppers"].append(stop_sla)
