"""uvicorn's per-connection queue and ``writable`` flag, without their empty deques
(``hub.ws.light_sync``): they must behave like ``asyncio.Queue`` and ``asyncio.Event``."""

from __future__ import annotations

import asyncio

import pytest

from hub.ws.light_sync import LightEvent, LightQueue
from hub.ws.outbound import Outbound


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_queue_is_first_in_first_out_and_holds_no_list_when_empty() -> None:
    queue = LightQueue()
    assert queue.empty() and queue.qsize() == 0
    with pytest.raises(asyncio.QueueEmpty):
        queue.get_nowait()
    for item in ("a", "b", "c"):
        queue.put_nowait(item)
    assert queue.qsize() == 3 and not queue.empty()
    assert [await queue.get(), queue.get_nowait(), await queue.get()] == ["a", "b", "c"]
    assert queue.empty() and queue._items is None and queue._getters is None


async def test_get_waits_for_a_put() -> None:
    queue = LightQueue()
    getter = asyncio.create_task(queue.get())
    await settle()
    assert not getter.done()
    queue.put_nowait({"type": "websocket.connect"})
    assert await asyncio.wait_for(getter, 1) == {"type": "websocket.connect"}
    assert queue._getters is None


async def test_several_getters_are_served_in_order() -> None:
    queue = LightQueue()
    first = asyncio.create_task(queue.get())
    await settle()
    second = asyncio.create_task(queue.get())
    await settle()
    queue.put_nowait(1)
    queue.put_nowait(2)
    assert await asyncio.wait_for(asyncio.gather(first, second), 1) == [1, 2]


async def test_a_cancelled_getter_passes_its_item_on() -> None:
    """Woken and cancelled before it ran: the item goes to the next getter, not lost."""
    queue = LightQueue()
    first = asyncio.create_task(queue.get())
    await settle()
    second = asyncio.create_task(queue.get())
    await settle()
    queue.put_nowait("only")  # wakes `first`…
    first.cancel()  # …which is cancelled before it could take it
    assert await asyncio.wait_for(second, 1) == "only"
    with pytest.raises(asyncio.CancelledError):
        await first
    assert queue.empty() and queue._getters is None


async def test_event_wait_returns_at_once_when_set_and_waits_when_cleared() -> None:
    event = LightEvent()
    assert not event.is_set()
    event.set()
    assert event.is_set() and await event.wait() is True
    event.clear()
    waiters = [asyncio.create_task(event.wait()) for _ in range(3)]
    await settle()
    assert not any(w.done() for w in waiters)
    event.set()
    assert await asyncio.wait_for(asyncio.gather(*waiters), 1) == [True, True, True]
    assert event._waiters is None


async def test_a_cancelled_wait_leaves_no_waiter_behind() -> None:
    event = LightEvent()
    waiter = asyncio.create_task(event.wait())
    await settle()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert event._waiters is None
    event.set()  # nothing left to wake


async def test_outbound_drains_a_backlog_behind_a_light_event() -> None:
    """Outbound drives a suspended send outside any task: what the send waits on must be a
    plain loop future, as with asyncio.Event."""
    writable = LightEvent()
    sent: list[str] = []

    async def send(message: dict[str, str]) -> None:
        await writable.wait()
        sent.append(message["text"])

    out = Outbound(send, 8, lambda: None)
    out.push({"type": "websocket.send", "text": "1"})  # waits: the socket is backed up
    out.push({"type": "websocket.send", "text": "2"})
    await settle()
    assert sent == [] and out.queued == 1
    writable.set()
    await asyncio.wait_for(out.wait_idle(), 1)
    assert sent == ["1", "2"]
