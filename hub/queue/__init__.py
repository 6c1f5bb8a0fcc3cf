"""The hall queue (antrean): tickets, calls at the counters, the hall display's state."""

from __future__ import annotations

from typing import Any

from config.queue import load_queue_config
from hub.queue.service import HallQueue


def hall_queue(ctx: Any) -> HallQueue:
    """The application's ``HallQueue`` (made on first use; publishes through the relay when
    this process runs one)."""
    hall: HallQueue | None = ctx.extras.get("hall")
    if hall is None:
        hall = HallQueue(ctx.db, ctx.policies, load_queue_config(),
                         ctx.settings.queue_wait_target)
        ctx.extras["hall"] = hall
    relay = ctx.extras.get("relay")
    if hall.publish is None and relay is not None and relay.fast_path:
        hall.publish = relay.publish_event
    return hall
