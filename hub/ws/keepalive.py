"""One keep-alive for every WebSocket of the process, instead of two timers per socket.

uvicorn's sans-I/O protocol keeps each socket alive on its own: a ``call_later`` for the next
ping, a fresh random payload framed by websockets for each ping, a second ``call_later`` for the
pong's deadline, cancelled and replaced by the next ping's timer when the pong comes. At 2,000
idle sockets and a 20 s interval that is 100 pings a second, each with two timer handles in the
loop's heap and a few Python calls around them — a fixed cost every socket pays whether events
flow or not (docs/BENCHMARKS.md, "Issue 17").

``KeepAlive`` does the same job for all sockets of one uvicorn server with one task: every
``interval`` seconds it frames ONE ping (a fresh random 4-byte payload per round, so a stale
pong never counts) and writes those bytes to each open socket that is not still waiting on an
earlier ping, in slices of ``SLICE`` sockets spread over the first quarter of the interval, so a
round at 10,000 sockets neither holds the loop nor brings 10,000 pongs back at once. One timer
per slice, ``timeout`` seconds after the slice's writes, closes the sockets of that slice that
have not answered: uvicorn's own ``keepalive_timeout`` (close code 1011, reason "keepalive ping
timeout", then the TCP connection).

Semantics kept from uvicorn (``--ws-ping-interval`` / ``--ws-ping-timeout``, 20 s / 20 s by
default; an interval of 0 or None turns keep-alive off): a socket is pinged every ``interval``
(its first ping within interval × 1.25 of opening: the round it joins in may be spreading); one
that does not answer within ``timeout`` of its ping is closed, so a dead peer is gone within
interval + timeout of its last answer (a socket only moves to earlier slices as others leave);
no new ping goes to a socket whose last one is unanswered. ``timeout`` None: no deadline.
"""

from __future__ import annotations

import asyncio
import random
import struct
from typing import Any, Protocol

from websockets.frames import Frame, Opcode

# Sockets pinged per slice of a round (~1-2 ms of writes), and the share of the interval a
# round's slices are spread over (at 2,000 sockets: 8 slices over 5 s of a 20 s interval).
SLICE = 250
SPREAD = 0.25


class Pingable(Protocol):
    """What the keep-alive needs of a connection (``hub.ws.wire.HubWebSocketProtocol``)."""

    pending_ping_payload: bytes | None
    ping_sent_at: float
    close_sent: bool
    transport: Any

    def keepalive_timeout(self) -> None: ...


def ping_frame(payload: bytes) -> bytes:
    """A server's (unmasked) ping frame, what websockets' ``send_ping`` writes."""
    return Frame(Opcode.PING, payload).serialize(mask=False)


class KeepAlive:
    """The keep-alive of one server's sockets; runs while it has any.

    Args:
        interval: seconds between ping rounds.
        timeout: seconds a socket has to answer a round's ping; None: no deadline.
    """

    def __init__(self, interval: float, timeout: float | None) -> None:
        self.interval = interval
        self.timeout = timeout
        # A dict as an insertion-ordered set: rounds walk the sockets in the order they joined.
        self.sockets: dict[Pingable, None] = {}
        self.rounds = 0
        self._task: asyncio.Task[None] | None = None

    def add(self, conn: Pingable) -> None:
        self.sockets[conn] = None
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="ws-keepalive")

    def discard(self, conn: Pingable) -> None:
        self.sockets.pop(conn, None)
        if not self.sockets and self._task is not None:
            # Nothing left to keep alive: no task lingers (a test's loop closes cleanly); the
            # next socket starts a new one.
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + self.interval
        while True:
            await asyncio.sleep(due - loop.time())
            due += self.interval  # rounds start every interval, however long one takes
            await self.ping_round(loop)

    async def ping_round(self, loop: asyncio.AbstractEventLoop) -> None:
        """Ping every socket not still waiting on an earlier ping, a slice at a time spread over
        the first ``SPREAD`` of the interval; each slice gets its own deadline."""
        self.rounds += 1
        payload = struct.pack("!I", random.getrandbits(32))
        frame = ping_frame(payload)
        batch = list(self.sockets)
        slices = range(0, len(batch), SLICE)
        # Spread, not burst: 10,000 pings at once bring 10,000 pongs back at once, ~0.1 s of
        # work in one go in front of the next event; uvicorn's per-socket timers spread them.
        gap = self.interval * SPREAD / max(len(slices), 1)
        for start in slices:
            if start:
                await asyncio.sleep(gap)
            now = loop.time()
            pinged: list[Pingable] = []
            for conn in batch[start:start + SLICE]:
                transport = conn.transport
                # uvicorn's send_keepalive_ping skips the same sockets; like it, a socket whose
                # writes are paused still gets its (small) ping queued.
                if (conn.pending_ping_payload is not None or conn.close_sent
                        or transport.is_closing()):
                    continue
                conn.pending_ping_payload = payload
                conn.ping_sent_at = now
                transport.write(frame)
                pinged.append(conn)
            if self.timeout is not None and pinged:
                loop.call_later(self.timeout, self.expire, pinged, payload)

    def expire(self, pinged: list[Pingable], payload: bytes) -> None:
        """Close the sockets of a round that have not answered its ping."""
        for conn in pinged:
            if conn.pending_ping_payload is payload:
                conn.keepalive_timeout()
