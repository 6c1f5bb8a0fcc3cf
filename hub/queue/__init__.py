"""The hall queue (antrean): tickets, calls at the counters, the hall display's state."""

from __future__ import annotations

from typing import TYPE_CHECKING

from config.queue import load_queue_config
from hub.queue.service import HallQueue

if TYPE_CHECKING:
    from hub.context import AppContext


def hall_queue(ctx: AppContext) -> HallQueue:
    """The application's ``HallQueue`` (made on first use; publishes through the relay when
    this process runs one)."""
    hall = ctx.hall
    if hall is None:
        hall = HallQueue(ctx.db, ctx.policies, load_queue_config(),
                         ctx.settings.queue_wait_target)
        ctx.hall = hall
    relay = ctx.relay
    if hall.publish is None and relay is not None and relay.fast_path:
        hall.publish = relay.publish_event
    return hall
