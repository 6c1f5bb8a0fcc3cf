"""The reference counts and waiters both subscribers share (``channels/refcounted_subscriber.py``).

The base does no I/O: a subclass says how a SUBSCRIBE/UNSUBSCRIBE is sent and reports Redis's
confirmation through ``_confirm``. Here the subclass writes down what it is asked to send and the
test answers for Redis, so every interleaving is exact. The same rules against real servers:
tests/channels/test_realtime.py (standalone) and test_cluster_channels.py (cluster).
"""

from __future__ import annotations

import asyncio

import pytest

from channels.refcounted_subscriber import RefCountedSubscriber, SubscriberUnavailable


class Recording(RefCountedSubscriber):
    """Writes down the commands instead of sending them."""

    def __init__(self, subscribe_timeout: float = 5.0) -> None:
        super().__init__(lambda _channel, _data: None, subscribe_timeout=subscribe_timeout)
        self.sent: list[tuple[str, str]] = []

    def _subscribe(self, channel: str) -> None:
        self.sent.append(("subscribe", channel))

    def _unsubscribe(self, channel: str) -> None:
        self.sent.append(("unsubscribe", channel))


async def settle() -> None:
    """Let every ready task run up to its wait for the confirmation."""
    for _ in range(5):
        await asyncio.sleep(0)


async def give_up(user: asyncio.Task[None]) -> None:
    """The user's acquire is cancelled (its socket closed)."""
    user.cancel()
    with pytest.raises(asyncio.CancelledError):
        await user


async def test_users_arriving_together_share_one_subscribe_and_its_confirmation() -> None:
    """50 users of a new channel in the same instant: one SUBSCRIBE, all return on its one
    confirmation; only the last one out unsubscribes."""
    book = Recording()
    users = [asyncio.create_task(book.acquire("c")) for _ in range(50)]
    await settle()
    assert book.sent == [("subscribe", "c")]
    assert not any(u.done() for u in users)
    book._confirm("c")
    await asyncio.gather(*users)
    assert book.subscribed("c")
    await book.acquire("c")  # confirmed already: returns without sending anything
    for _ in range(50):
        book.release("c")
    assert book.sent == [("subscribe", "c")]
    book.release("c")
    assert book.sent == [("subscribe", "c"), ("unsubscribe", "c")]
    assert not book.subscribed("c")


async def test_a_release_racing_the_pending_subscribe_keeps_the_channel_for_who_waits() -> None:
    """The first user gives up (its socket closed) while the SUBSCRIBE it caused is pending and
    a second user waits for the same confirmation: nothing is unsubscribed, the second user
    returns on the confirmation. (Counting after the await would send two SUBSCRIBEs, and the
    first user's release would unsubscribe the channel under the second.)"""
    book = Recording()
    first = asyncio.create_task(book.acquire("c"))
    second = asyncio.create_task(book.acquire("c"))
    await settle()
    await give_up(first)
    assert book.sent == [("subscribe", "c")]
    book._confirm("c")
    await asyncio.wait_for(second, 1)
    assert book.subscribed("c")


async def test_a_confirmation_arriving_after_the_last_user_left_is_ignored() -> None:
    """The only user leaves before Redis confirms: the UNSUBSCRIBE is sent, and the late
    confirmation does not mark the channel subscribed."""
    book = Recording()
    only = asyncio.create_task(book.acquire("c"))
    await settle()
    await give_up(only)
    assert book.sent == [("subscribe", "c"), ("unsubscribe", "c")]
    book._confirm("c")
    assert not book.subscribed("c") and not book._waiters.get("c")


async def test_no_confirmation_in_time_gives_the_count_back() -> None:
    """Redis does not confirm within ``subscribe_timeout``: SubscriberUnavailable, and the
    count is given back (UNSUBSCRIBE sent; the next user subscribes anew)."""
    book = Recording(subscribe_timeout=0.05)
    with pytest.raises(SubscriberUnavailable) as caught:
        await book.acquire("c")
    assert "try again in a few seconds" in caught.value.message
    assert book.sent == [("subscribe", "c"), ("unsubscribe", "c")]
    assert "c" not in book._refs
    retry = asyncio.create_task(book.acquire("c"))
    await settle()
    assert book.sent[-1] == ("subscribe", "c")
    book._confirm("c")
    await asyncio.wait_for(retry, 1)


async def test_stop_cancels_whoever_waits() -> None:
    book = Recording()
    waiting = asyncio.create_task(book.acquire("c"))
    await settle()
    book._stop_waiting()
    with pytest.raises(asyncio.CancelledError):
        await waiting
