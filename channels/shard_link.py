"""One Redis Cluster primary's SSUBSCRIBE connection for the sharded subscriber
(``channels/sharded_subscriber.py``, which owns the slot map and decides which channels a link
carries).

A link connects (bounded: a hung node accepts TCP and then answers nothing), SSUBSCRIBEs every
channel it carries, reads pushes, PINGs when idle and gives up after three silent heartbeats;
then it asks its owner to refresh the slot map, which may hand its channels to other links, and
tries again with back-off until it carries nothing (then it retires). A channel confirmed again
after an interruption or a move is gap-filled (``on_reconnect``) before the messages held
meanwhile are delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from redis.asyncio.connection import Connection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import MovedError, ResponseError

from channels.slot_map import Address

if TYPE_CHECKING:
    from channels.sharded_subscriber import ShardedSubscriber

log = logging.getLogger(__name__)

# Short: a failover takes seconds and screens wait for it. At 2 s the link came back 1.2–1.7 s
# after the replica was promoted (bench.cluster_clients); a retry costs one CLUSTER SLOTS and one
# connect, twice a second per hub process while a node is down: nothing.
MAX_BACKOFF_S = 0.5
_CONNECT_TIMEOUT_S = 2.0


def connection(address: Address, password: str | None) -> Connection:
    """A plain connection: no socket timeout (idle reads are normal here), no retries."""
    return Connection(host=address[0], port=address[1], password=password,
                      decode_responses=True, socket_timeout=None, socket_connect_timeout=2,
                      socket_keepalive=True, health_check_interval=0,
                      retry=Retry(NoBackoff(), 0))


class ShardLink:
    """One primary's SSUBSCRIBE connection and the channels it carries (see the module doc and
    ``channels/sharded_subscriber.py``'s)."""

    def __init__(self, owner: ShardedSubscriber, address: Address) -> None:
        self.owner = owner
        self.address = address
        self.name = f"{address[0]}:{address[1]}"
        self.channels: dict[str, bool] = {}  # channel → fill the gap once confirmed here
        self.filling: dict[str, list[str]] = {}  # channel → messages held during its gap fill
        self.inflight: deque[tuple[str, str]] = deque()  # commands sent, replies to come
        self.queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self.conn: Connection | None = None
        self.down_since: float | None = time.monotonic()
        self.last_error = "connecting"
        self._tasks: set[asyncio.Task[Any]] = set()
        self._main: asyncio.Task[None] | None = None
        self._to_fill: set[str] = set()
        self._filler: asyncio.Task[Any] | None = None

    @property
    def is_up(self) -> bool:
        return self.conn is not None and self.conn.is_connected and self.down_since is None

    def start(self) -> None:
        self._main = asyncio.get_running_loop().create_task(self._run(),
                                                            name=f"sharded-{self.name}")

    def spawn(self, work: Awaitable[Any]) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def close(self) -> None:
        tasks = [t for t in (self._main, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._disconnect()

    def add(self, channel: str, *, refill: bool) -> None:
        self.channels[channel] = refill
        if self.is_up:
            self.queue.put_nowait(("SSUBSCRIBE", channel))
        # else: the (re)connect subscribes whatever the link carries then

    def remove(self, channel: str, *, sent: bool = False) -> None:
        if self.channels.pop(channel, None) is None:
            return
        self.filling.pop(channel, None)
        if not sent and self.is_up:
            self.queue.put_nowait(("SUNSUBSCRIBE", channel))

    # --- the connection's life -------------------------------------------------------------
    async def _run(self) -> None:
        backoff = 0.1
        first = True
        while True:
            try:
                if not first:
                    await self.owner.refresh_map(force=True)
                first = False
                if not self.channels:
                    return self._retire()
                await self._connect()
                backoff = 0.1
                await self._read_forever()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.down_since is None:
                    self.owner.follows["lost"] += 1
                    self.down_since = time.monotonic()
                    log.warning("Redis Cluster node %s: sharded pub/sub lost (%s); following "
                                "the slot map", self.name, exc)
                self.last_error = f"{type(exc).__name__}: {exc}"[:200]
                await self._disconnect()
                await asyncio.sleep(backoff * random.uniform(0.5, 1.0))
                backoff = min(backoff * 2, MAX_BACKOFF_S)

    def _retire(self) -> None:
        if self.owner.links.get(self.address) is self:
            del self.owner.links[self.address]

    async def _connect(self) -> None:
        conn = connection(self.address, self.owner.password)
        try:
            # Bounded: a hung node accepts the TCP connection (the kernel does) and then never
            # answers the handshake, and this connection has no read timeout of its own.
            async with asyncio.timeout(_CONNECT_TIMEOUT_S):
                await conn.connect()
        except BaseException:
            with contextlib.suppress(Exception):
                await conn.disconnect(nowait=True)
            raise
        self.conn = conn
        self.inflight.clear()
        while not self.queue.empty():
            self.queue.get_nowait()
        # Nothing awaits between here and the sends: a channel added meanwhile is either in
        # this list or queued for the sender, which starts after.
        self.down_since = None
        for channel in list(self.channels):
            self.queue.put_nowait(("SSUBSCRIBE", channel))
        self.spawn(self._send_loop(conn))
        self.owner.reconnects += 1

    async def _send_loop(self, conn: Connection) -> None:
        while self.conn is conn:
            verb, channel = await self.queue.get()
            if self.conn is not conn or not conn.is_connected:
                return
            self.inflight.append((verb, channel))
            try:
                await conn.send_command(verb, channel, check_health=False)
            except Exception:  # a broken connection is the reader's business
                return

    async def _read_forever(self) -> None:
        conn = self.conn
        assert conn is not None
        last_heard = last_ping = time.monotonic()
        while True:
            if self.conn is not conn or not conn.is_connected:
                raise ConnectionError("the connection was closed")
            try:
                reply = await conn.read_response(timeout=self.owner.heartbeat)
            except ResponseError as exc:
                last_heard = time.monotonic()
                self._refused(exc)
                continue
            now = time.monotonic()
            if reply is not None:
                last_heard = now
                self._handle(reply)
                continue
            if now - last_heard > 3 * self.owner.heartbeat:
                raise ConnectionError(f"no answer for {now - last_heard:.0f} s")
            if now - last_ping >= self.owner.heartbeat:
                last_ping = now
                self.queue.put_nowait(("PING", "ptsa-heartbeat"))

    async def _disconnect(self) -> None:
        conn, self.conn = self.conn, None
        for task in list(self._tasks):
            task.cancel()
        for channel in self.channels:
            self.channels[channel] = True  # subscribed again later: fill the gap then
            self.owner._confirmed.discard(channel)
        self.filling.clear()  # the next gap fill starts from what was delivered, not held
        self._to_fill.clear()
        self._filler = None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.disconnect(nowait=True)

    # --- replies ---------------------------------------------------------------------------
    def _refused(self, exc: ResponseError) -> None:
        """An error answer: to the oldest command waiting (Redis answers in order)."""
        text = str(exc)
        verb, channel = self.inflight.popleft() if self.inflight else ("", "")
        if verb == "SSUBSCRIBE" and channel in self.channels:
            self.remove(channel, sent=True)
            if isinstance(exc, MovedError) or text.startswith("MOVED"):
                self.owner._moved(channel, text)
            else:
                log.warning("SSUBSCRIBE %s on %s refused: %s", channel, self.name, text)
                self.owner.retry_later(channel)

    def _handle(self, reply: Any) -> None:
        if not isinstance(reply, list) or not reply:
            if reply == "ptsa-heartbeat":  # PING's answer outside subscribed mode
                self._answered("PING", "ptsa-heartbeat")
            return
        kind = reply[0]
        if kind == "smessage":
            channel, data = reply[1], reply[2]
            held = self.filling.get(channel)
            if held is not None:
                if len(held) >= self.owner.hold_limit:
                    # The gap fill is slow (history unreachable): rather than hold without
                    # bound, drop what is held and fill once more afterwards — that later
                    # snapshot is read after these messages arrived, so it covers them.
                    held.clear()
                    self._to_fill.add(channel)
                held.append(data)
            elif channel in self.channels:
                self.owner._deliver(channel, data)
            return
        if kind == "ssubscribe":
            self._answered("SSUBSCRIBE", reply[1])
            self._subscribed(reply[1])
        elif kind == "sunsubscribe":
            if not self._answered("SUNSUBSCRIBE", reply[1]) and reply[1] in self.channels:
                self.owner._server_unsubscribed(self, reply[1])
        elif kind == "pong":
            self._answered("PING", "ptsa-heartbeat")

    def _answered(self, verb: str, channel: str) -> bool:
        """Strike the command this push answers; False if none was waiting (the server's own
        ``sunsubscribe``)."""
        try:
            self.inflight.remove((verb, channel))
        except ValueError:
            return False
        return True

    def _subscribed(self, channel: str) -> None:
        if channel not in self.channels or ("SSUBSCRIBE", channel) in self.inflight:
            return  # released meanwhile, or a later SSUBSCRIBE of it is what counts
        if self.channels[channel]:
            self.channels[channel] = False
            self.filling[channel] = []
            self._to_fill.add(channel)
            if self._filler is None:
                self._filler = self.spawn(self._fill())
        self.owner._confirm(channel)

    async def _fill(self) -> None:
        """Gap fill of the channels confirmed again, then the messages held meanwhile; one
        filler per link, taking the confirmations of a burst together."""
        try:
            while self._to_fill:
                await asyncio.sleep(0)  # let the rest of a burst of confirmations arrive
                batch, self._to_fill = self._to_fill, set()
                backoff = 0.1
                while True:
                    try:
                        await self.owner.on_reconnect([c for c in batch if c in self.filling])
                        break
                    except Exception as exc:  # history unreachable for a moment: hold, retry
                        log.warning("gap fill on %s failed (%s); retrying", self.name, exc)
                        await asyncio.sleep(backoff)
                        backoff = min(backoff * 2, MAX_BACKOFF_S)
                for channel in batch:
                    if channel in self._to_fill:
                        continue  # held messages were dropped: the next pass fills again
                    for data in self.filling.pop(channel, None) or ():
                        self.owner._deliver(channel, data)
        finally:
            self._filler = None
