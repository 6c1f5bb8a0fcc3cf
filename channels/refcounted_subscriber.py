"""What the process's two Redis subscribers share: channels counted per local user, and users
waiting for the server's confirmation.

The first local user of a channel has it subscribed and waits until Redis confirms (so nothing
published afterwards can be missed); later users of a confirmed channel return at once, those
arriving while it is still pending wait for the same confirmation; the last one out has it
unsubscribed. How a SUBSCRIBE or UNSUBSCRIBE reaches Redis is the subclass's: one ordered command
queue on a standalone Redis (``channels/subscriber.py``), the link of the owning primary on a
Redis Cluster (``channels/sharded_subscriber.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from hub.errors import PtsaError

OnMessage = Callable[[str, str], None]  # (Redis channel, data): called synchronously, in order


class SubscriberUnavailable(PtsaError):
    code = "unavailable"
    status = 503


class RefCountedSubscriber:
    """The reference counts and waiters; subclasses send the commands and call ``_confirm``
    when Redis confirms a subscription.

    Args:
        on_message: gets every message of every subscribed channel.
        always: channels subscribed for the life of the process (the kick channel).
        heartbeat: seconds between PINGs on an idle connection; three missed means dead.
        subscribe_timeout: how long ``acquire`` waits for the confirmation.
    """

    def __init__(self, on_message: OnMessage, *, always: Sequence[str] = (),
                 heartbeat: float = 5.0, subscribe_timeout: float = 5.0) -> None:
        self.on_message = on_message
        self.always = tuple(always)
        self.heartbeat = heartbeat
        self.subscribe_timeout = subscribe_timeout
        self._refs: dict[str, int] = {}
        self._confirmed: set[str] = set()
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}

    # --- what subclasses do ----------------------------------------------------------------
    # Neither awaits: ``release`` is synchronous, and a SUBSCRIBE begun inside ``acquire``
    # would die half-sent with a cancelled first user while others wait for its confirmation.
    # Work that must await (the sharded one's first slot map) goes to a task of the subclass,
    # which checks on completion that the channel is still in use.
    def _subscribe(self, channel: str) -> None:
        """Have ``channel`` subscribed (its first user arrived); the confirmation comes later,
        through ``_confirm``."""
        raise NotImplementedError

    def _unsubscribe(self, channel: str) -> None:
        """Have ``channel`` unsubscribed (its last user left)."""
        raise NotImplementedError

    # --- public ----------------------------------------------------------------------------
    def subscribed(self, channel: str) -> bool:
        return channel in self._confirmed

    async def acquire(self, channel: str) -> None:
        """Count one more local user of ``channel``; return once Redis confirmed the subscription.

        Raises:
            SubscriberUnavailable: Redis did not confirm within ``subscribe_timeout`` seconds
                (the count is given back).
        """
        # The count is raised before any await, so two users arriving at a new channel in the
        # same instant share one SUBSCRIBE and one confirmation, and a release racing the
        # pending SUBSCRIBE sees a user still there. The encode/broadcaster 0.3.1 bug of the
        # peers was this: it checked, awaited, then replaced the subscriber set, and lost
        # subscribers that joined meanwhile.
        refs = self._refs.get(channel, 0)
        self._refs[channel] = refs + 1
        if channel in self._confirmed:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(channel, []).append(fut)
        if refs == 0:
            self._subscribe(channel)
        try:
            # Shielded: one waiter's timeout or cancellation must not cancel the future; the
            # waiter is taken off the list below instead.
            await asyncio.wait_for(asyncio.shield(fut), self.subscribe_timeout)
        except BaseException as exc:
            waiters = self._waiters.get(channel, [])
            if fut in waiters:
                waiters.remove(fut)
            self.release(channel)
            if isinstance(exc, TimeoutError):
                raise SubscriberUnavailable("the live channel service is not reachable right "
                                            "now; try again in a few seconds") from None
            raise

    def release(self, channel: str) -> None:
        """One local user less; the last one out unsubscribes."""
        refs = self._refs.get(channel, 0) - 1
        if refs > 0:
            self._refs[channel] = refs
            return
        self._refs.pop(channel, None)
        self._confirmed.discard(channel)
        self._unsubscribe(channel)

    # --- what subclasses report ------------------------------------------------------------
    def _confirm(self, channel: str) -> None:
        """Redis confirmed ``channel``: wake everyone waiting for it."""
        if channel not in self._refs:
            return  # released while the SUBSCRIBE was in flight; the UNSUBSCRIBE follows
        self._confirmed.add(channel)
        for fut in self._waiters.pop(channel, []):
            if not fut.done():
                fut.set_result(None)

    def _stop_waiting(self) -> None:
        """On stop: nothing is confirmed any more, and whoever waits is cancelled."""
        self._confirmed.clear()
        for waiters in self._waiters.values():
            for fut in waiters:
                if not fut.done():
                    fut.cancel()
        self._waiters.clear()
