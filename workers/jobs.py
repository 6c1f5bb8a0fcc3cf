"""Everything the arq worker runs, registered by ``workers.main.build_worker_options``.

Jobs: ``sla_fire`` (a clock's warning or deadline, ``workers/sla/engine.py``) and ``notify_send``
(the back-off retry of one notification, ``workers/notify/outbox.py``). The loops started with the
worker (the SLA sweep, the outbox relay, …) are built in ``workers/context.py``. """

from __future__ import annotations

import gc
import logging
from typing import Any

from arq.worker import func

from config.settings import Settings
from workers.notify.outbox import NOTIFY_JOB
from workers.sla.engine import sla_fire
from workers.sla.schedule import SLA_JOB

log = logging.getLogger(__name__)

# arq polls its queue this often; it bounds how late a job can start (arq's default is 0.5 s).
POLL_DELAY_S = 0.1
async def notify_send(ctx: dict[str, Any], notification_id: int) -> str:
    notifier = ctx["parts"].notifier
    return await notifier.deliver(notification_id)


def tune_gc() -> None:
    """Fewer, later collections: a breach burst allocates many short-lived objects, and the
    default thresholds collect every 700 allocations; freezing the start-up heap keeps the
    long-lived modules out of every full collection (the peers: Python tails are GC pauses)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def register(options: dict[str, Any], settings: Settings) -> None:
    # keep_result=0: a finished job's id may be enqueued again, which the sweep relies on; the
    # jobs' effects are recorded in the database, not in arq results.
    options["functions"] += [
        func(sla_fire, name=SLA_JOB, keep_result=0, max_tries=3),
        func(notify_send, name=NOTIFY_JOB, keep_result=0, max_tries=3),
    ]
    options["poll_delay"] = POLL_DELAY_S
