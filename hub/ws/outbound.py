"""One WebSocket's outgoing frames: written at once when the socket can take them, otherwise
queued in a bounded backlog; a client that lets the backlog fill is closed as a slow consumer.

Why the send is started by hand: the fan-out forwards one event to hundreds of sockets in one
go. A task (or a queue and a task wake-up) per socket per event is what makes Python hubs slow
(peers). uvicorn's ``send`` completes without suspending whenever the transport is below its
high-water mark, so ``push`` runs the send coroutine's first step synchronously — no task, no
wake-up, like the bare floor's ``await send_text``. Only when the send does suspend (the socket is
backed up) does a writer task take over the suspended send and drain the backlog after it. That
keeps one slow socket from holding up the others, and the backlog bound keeps memory bounded.

Under ``hub.ws.wire.HubWebSocketProtocol`` a fan-out message also carries its prepared frame, and
``push`` hands those bytes straight to the socket (``write``) when nothing is queued before them:
not even a coroutine per socket. ``write`` refusing (the socket is backed up or closing) sends the
ordinary ASGI message instead, so the paths above still decide what waits and what is dropped.

``fan_out`` is the fan-out's loop over one event's sockets (``channels.realtime``'s hook): per
socket it costs one Python call, the prepared writer, and the transport's ``write`` — not a
``push`` frame plus a message lookup per socket (issue 17: at 2,000 sockets those calls were a
measurable share of what the hub spent per delivery above the write itself). ``direct`` is the
writer while nothing is queued and the socket is open, else None: then ``push`` decides.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from hub.ws.wire import WIRE_KEY, WireWrite

Send = Callable[[Any], Awaitable[None]]


class Outbound:
    """Args:
        send: the connection's ASGI ``send``.
        limit: frames the backlog may hold (``PTSA_WS_QUEUE_SIZE``); beyond it ``on_slow`` runs.
        on_slow: called once when the client stops keeping up (it closes the connection).
        write: the server's prepared-frame writer (``hub.ws.wire``), when it offers one.
    """

    __slots__ = ("_send", "_write", "direct", "_backlog", "_writer", "_room", "limit", "closed",
                 "_close_sent", "_on_slow")

    def __init__(self, send: Send, limit: int, on_slow: Callable[[], None],
                 write: WireWrite | None = None) -> None:
        self._send = send
        self._write = write
        # The writer while prepared frames may go straight out (nothing queued, not closed).
        self.direct: WireWrite | None = write
        self._backlog: deque[Any] | None = None  # made on the first congestion: most sockets
        # never need one, and an empty deque costs ~600 bytes a connection
        self._writer: asyncio.Task[None] | None = None
        self._room: asyncio.Future[None] | None = None
        self.limit = max(2, limit)
        self.closed = False
        self._close_sent = False
        self._on_slow = on_slow

    @property
    def queued(self) -> int:
        return len(self._backlog) if self._backlog is not None else 0

    def push(self, message: Any) -> None:
        """Send ``message`` now, or queue it behind the ones still waiting."""
        if self.closed:
            return
        backlog = self._backlog
        if self._writer is not None and backlog is not None:
            if len(backlog) >= self.limit:
                self.overflow()
            else:
                backlog.append(message)
            return
        write = self._write
        if write is not None:
            wire = message.get(WIRE_KEY)
            if wire is not None and write(wire):
                return
        self._start(message)

    async def push_paced(self, message: Any) -> None:
        """Like ``push``, but first wait while the backlog is half full (for long replays)."""
        while self._writer is not None and self.queued >= self.limit // 2:
            if self._room is None:
                self._room = asyncio.get_running_loop().create_future()
            await asyncio.shield(self._room)
        self.push(message)

    def overflow(self) -> None:
        if not self.closed:
            self.closed = True
            self.direct = None
            if self._backlog is not None:
                self._backlog.clear()
            self._on_slow()

    def close(self, code: int, reason: str = "") -> None:
        """Send a close frame after the frame being written (queued frames are dropped)."""
        if self._close_sent:
            return
        self._close_sent = self.closed = True
        self.direct = None
        message = {"type": "websocket.close", "code": code, "reason": reason}
        if self._writer is not None and self._backlog is not None:
            self._backlog.clear()
            self._backlog.append(message)
        else:
            self._start(message)

    async def wait_idle(self) -> None:
        """Wait until everything queued has been handed to the socket."""
        while self._writer is not None:
            await asyncio.wait({self._writer})

    def _start(self, message: Any) -> None:
        coro: Coroutine[Any, Any, None] = self._send(message)  # type: ignore[assignment]
        try:
            waiting = coro.send(None)
        except StopIteration:
            return
        except Exception:  # the client is gone; the receive loop sees the disconnect
            self.closed = True
            self.direct = None
            return
        if self._backlog is None:
            self._backlog = deque()
        self.direct = None  # frames wait behind the suspended send until the writer is done
        self._writer = asyncio.get_running_loop().create_task(self._drain(coro, waiting))

    async def _drain(self, coro: Coroutine[Any, Any, None], waiting: Any) -> None:
        backlog = self._backlog
        assert backlog is not None  # made by _start before this task
        try:
            await _finish(coro, waiting)
            while backlog:
                message = backlog.popleft()
                self._make_room()
                await self._send(message)
        except asyncio.CancelledError:
            raise
        except Exception:  # the client is gone
            self.closed = True
            backlog.clear()
        finally:
            self._writer = None
            if not self.closed:
                self.direct = self._write
            self._make_room(force=True)

    def _make_room(self, force: bool = False) -> None:
        room = self._room
        if room is not None and (force or self.queued < self.limit // 2):
            self._room = None
            if not room.done():
                room.set_result(None)


def fan_out(sinks: list[Outbound], message: Any) -> None:
    """Hand one message to many sockets: its prepared frame straight to each socket that can
    take it now, ``push`` (queue, close, ordinary send) for the others. Same order and same
    backpressure as calling ``push`` on each."""
    wire = message.get(WIRE_KEY) if type(message) is dict else None
    if wire is None:
        for sink in sinks:
            sink.push(message)
        return
    for sink in sinks:
        write = sink.direct
        if write is None or not write(wire):
            sink.push(message)


async def _finish(coro: Coroutine[Any, Any, None], waiting: Any) -> None:
    """Drive a coroutine that suspended outside any task to completion in the current task."""
    try:
        while True:
            if isinstance(waiting, asyncio.Future):
                # What a Task does with a yielded future: wait for it, then resume the coroutine,
                # which reads the future's result itself.
                waiting._asyncio_future_blocking = False
                await asyncio.wait({waiting})
            else:  # a bare yield (asyncio.sleep(0))
                await asyncio.sleep(0)
            waiting = coro.send(None)
    except StopIteration:
        return
    finally:
        coro.close()
