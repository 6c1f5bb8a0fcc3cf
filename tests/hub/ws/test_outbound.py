"""A connection's outbound queue: immediate sends, a bounded backlog, slow-consumer detection."""

from __future__ import annotations

import asyncio
from typing import Any

from hub.ws.outbound import Outbound


class GatedSend:
    """An ASGI send shaped like uvicorn's: it waits while the socket is not writable."""

    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.writable = asyncio.Event()
        self.writable.set()

    async def __call__(self, message: Any) -> None:
        await self.writable.wait()
        self.sent.append(message)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_writable_socket_gets_frames_at_once_without_a_task() -> None:
    """When the socket takes the frame, push has sent it before it returns."""
    send = GatedSend()
    out = Outbound(send, 4, lambda: None)
    tasks_before = len(asyncio.all_tasks())
    out.push("a")
    out.push("b")
    assert send.sent == ["a", "b"] and out.queued == 0
    assert len(asyncio.all_tasks()) == tasks_before


async def test_backed_up_socket_queues_in_order_and_drains() -> None:
    """Frames pushed while the socket is backed up are sent in order once it drains."""
    send = GatedSend()
    out = Outbound(send, 4, lambda: None)
    send.writable.clear()
    for frame in "abcd":
        out.push(frame)
    assert send.sent == [] and out.queued == 3
    send.writable.set()
    await out.wait_idle()
    assert send.sent == ["a", "b", "c", "d"] and out.queued == 0
    out.push("e")
    assert send.sent[-1] == "e"


async def test_full_backlog_marks_a_slow_consumer_once_and_closes_after_the_current_frame(
) -> None:
    """Beyond the limit the client is slow: on_slow runs once, later frames are dropped and the
    close frame follows the frame being written."""
    send = GatedSend()
    slow: list[int] = []
    out = Outbound(send, 3, lambda: slow.append(1))
    send.writable.clear()
    for frame in range(10):
        out.push(frame)
    assert slow == [1] and out.closed
    out.close(4008, "slow consumer")
    send.writable.set()
    await out.wait_idle()
    assert send.sent == [0, {"type": "websocket.close", "code": 4008, "reason": "slow consumer"}]


async def test_paced_pushes_wait_for_room() -> None:
    """A long replay waits while the backlog is half full instead of overflowing it."""
    send = GatedSend()
    out = Outbound(send, 4, lambda: None)
    send.writable.clear()
    out.push("first")
    replay = asyncio.create_task(_replay(out, 20))
    await settle()
    assert not replay.done() and out.queued <= 2
    send.writable.set()
    await asyncio.wait_for(replay, 2)
    await out.wait_idle()
    assert send.sent == ["first", *range(20)] and not out.closed


async def _replay(out: Outbound, count: int) -> None:
    for n in range(count):
        await out.push_paced(n)


async def test_vanished_client_closes_quietly() -> None:
    """A send that fails (client gone) marks the queue closed; later pushes are no-ops."""

    async def broken(message: Any) -> None:
        raise OSError("connection reset")

    out = Outbound(broken, 4, lambda: None)
    out.push("a")
    assert out.closed
    out.push("b")
