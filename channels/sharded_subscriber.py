"""The process's sharded pub/sub on a Redis Cluster: one SSUBSCRIBE connection per primary.

Same contract as ``channels/subscriber.py`` (read its docstring): channels are reference-counted,
the count is raised before any await, ``acquire`` returns once the owning node confirmed the
SSUBSCRIBE (so nothing published afterwards is missed), and after any interruption the channel
is subscribed again and ``on_reconnect`` fills the gap from history *before* the messages that
arrived meanwhile are delivered.

redis-py 5 has no asyncio cluster pub/sub, so each primary gets a ``_Link``: a plain connection
(no socket timeout, no silent reconnects), a sender (one ordered queue of SSUBSCRIBE/SUNSUBSCRIBE)
and a reader. Each channel lives on the link of the primary owning ``slot(channel)``
(``channels/slot_map.py``, from ``CLUSTER SLOTS``). The cluster moves a channel in three ways,
and each one ends in *relocation*: refresh the slot map, hand the channel to the link of its new
owner, SSUBSCRIBE there, fill the gap, deliver what was held.

- the connection drops or stops answering the heartbeat PINGs (node killed, replica promoted):
  the link retries with back-off, refreshing the map each time, until its channels live on a
  node that answers (the promoted replica) or it owns nothing any more and ends;
- a ``-MOVED`` answer to SSUBSCRIBE: the slot is served elsewhere (the map is updated from it);
- a ``sunsubscribe`` we did not ask for: the node gave the slot away (resharding).

Replies are matched to the commands sent in order (``inflight``), which tells our own
``sunsubscribe`` from the server's and names the channel of a ``-MOVED``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any

from redis.asyncio.connection import Connection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import MovedError, ResponseError

from channels.slot_map import Address, SlotMap, parse_moved, slot_of
from channels.subscriber import OnMessage, SubscriberUnavailable

log = logging.getLogger(__name__)

OnRefill = Callable[[Collection[str]], Awaitable[None]]  # gap fill of the channels named
_MAX_BACKOFF_S = 2.0  # short: a failover takes seconds, and screens wait for it
_MAP_TIMEOUT_S = 1.0


def _connection(address: Address, password: str | None) -> Connection:
    return Connection(host=address[0], port=address[1], password=password,
                      decode_responses=True, socket_timeout=None, socket_connect_timeout=2,
                      socket_keepalive=True, health_check_interval=0,
                      retry=Retry(NoBackoff(), 0))


class ShardedSubscriber:
    """Args:
        seeds: cluster nodes to read the slot map from (any that answers will do).
        on_message: gets every message of every subscribed channel (synchronously, in order
            per channel).
        on_reconnect: awaited with the channels subscribed again after an interruption or a
            move, before their messages received meanwhile are handed to ``on_message``.
        always: channels subscribed for the life of the process.
        heartbeat: seconds between PINGs on an idle connection; three missed means dead.
    """

    def __init__(self, seeds: Sequence[Address], on_message: OnMessage, on_reconnect: OnRefill,
                 *, password: str | None = None, always: Sequence[str] = (),
                 heartbeat: float = 5.0, subscribe_timeout: float = 5.0) -> None:
        self.seeds = list(seeds)
        self.password = password
        self.on_message = on_message
        self.on_reconnect = on_reconnect
        self.always = tuple(always)
        self.heartbeat = heartbeat
        self.subscribe_timeout = subscribe_timeout
        self.map = SlotMap()
        self.links: dict[Address, _Link] = {}
        self._refs: dict[str, int] = {}
        self._confirmed: set[str] = set()
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._map_lock = asyncio.Lock()
        self._map_at = 0.0
        self._tasks: set[asyncio.Task[Any]] = set()
        self.reconnects = 0  # links (re)connected, relocations included
        # What made channels move, for /healthz-style reports and tests: "moved" (-MOVED),
        # "sunsubscribe" (the node gave the slot away), "lost" (a node connection dropped).
        self.follows: Counter[str] = Counter()

    # --- public ----------------------------------------------------------------------------
    def start(self) -> None:
        for channel in self.always:
            self._refs[channel] = self._refs.get(channel, 0) + 1
            self._place(channel, refill=False)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        links, self.links = list(self.links.values()), {}
        await asyncio.gather(*(link.close() for link in links), return_exceptions=True)
        for waiters in self._waiters.values():
            for fut in waiters:
                if not fut.done():
                    fut.cancel()
        self._waiters.clear()
        self._confirmed.clear()

    @property
    def connected(self) -> bool:
        return all(link.down_since is None for link in self.links.values())

    def health(self) -> str:
        down = [link for link in self.links.values() if link.down_since is not None]
        if not down:
            return "ok"
        now = time.monotonic()
        return "; ".join(
            f"redis cluster node {link.name} reconnecting for {now - (link.down_since or now):.0f}"
            f" s ({link.last_error}; {len(link.channels)} channels)" for link in down)

    def subscribed(self, channel: str) -> bool:
        return channel in self._confirmed

    async def acquire(self, channel: str) -> None:
        """Count one more local user of ``channel``; return once its node confirmed.

        Raises:
            SubscriberUnavailable: no confirmation within ``subscribe_timeout`` seconds (the
                count is given back).
        """
        refs = self._refs.get(channel, 0)
        self._refs[channel] = refs + 1
        if channel in self._confirmed:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(channel, []).append(fut)
        try:
            if refs == 0:
                if not len(self.map):
                    await self.refresh_map()
                if channel in self._refs and not self._placed(channel):
                    self._place(channel, refill=False)
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
        for link in self.links.values():
            link.remove(channel)

    # --- placement -------------------------------------------------------------------------
    def _place(self, channel: str, *, refill: bool) -> None:
        """Hand ``channel`` to the link of the node owning its slot (the first seed until a map
        is known: its answer, ``-MOVED`` or not, teaches us the map)."""
        owner = self.map.owner(slot_of(channel)) if len(self.map) else None
        if owner is None:  # no map yet, or the slot is uncovered: the node's answer tells
            owner = self.seeds[0]
        link = self.links.get(owner)
        if link is None:
            link = self.links[owner] = _Link(self, owner)
            link.start()
        link.add(channel, refill=refill)

    def _relocate(self) -> None:
        """Move every channel whose slot the map gives to another node than its link's."""
        for link in list(self.links.values()):
            for channel in list(link.channels):
                owner = self.map.owner(slot_of(channel))
                if owner is not None and owner != link.address:
                    link.remove(channel, sent=not link.is_up)
                    self._place(channel, refill=True)

    def _moved(self, channel: str, text: str) -> None:
        self.follows["moved"] += 1
        moved = parse_moved(text)
        if moved is not None:
            self.map.set_slot(*moved)
        if not self._placed(channel):
            self._place(channel, refill=True)
        self.spawn(self.refresh_map(force=True))  # one -MOVED seldom comes alone

    def _server_unsubscribed(self, link: _Link, channel: str) -> None:
        """The node dropped ``channel`` (its slot moved away): find where it lives now."""
        self.follows["sunsubscribe"] += 1
        link.remove(channel, sent=True)
        self._confirmed.discard(channel)

        async def follow() -> None:
            await self.refresh_map(force=True)
            if channel in self._refs and not self._placed(channel):
                self._place(channel, refill=True)

        self.spawn(follow())

    def retry_later(self, channel: str) -> None:
        """An SSUBSCRIBE refused otherwise than by ``-MOVED`` (CLUSTERDOWN while failing
        over): ask the map again in a moment and place the channel where it says."""
        async def retry() -> None:
            await asyncio.sleep(0.2)
            await self.refresh_map(force=True)
            if channel in self._refs and not self._placed(channel):
                self._place(channel, refill=True)

        self.spawn(retry())

    def spawn(self, work: Awaitable[Any]) -> None:
        """Follow-up work that outlives any one link (cancelled by ``stop``)."""
        task: asyncio.Task[Any] = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _placed(self, channel: str) -> bool:
        return any(channel in link.channels for link in self.links.values())

    async def refresh_map(self, *, force: bool = False) -> bool:
        """Read ``CLUSTER SLOTS`` from the first node that answers, then relocate channels.
        Returns False when no node answered."""
        async with self._map_lock:
            if not force and time.monotonic() - self._map_at < 0.05:
                return True
            candidates = list(dict.fromkeys(
                [a for a, x in self.links.items() if x.is_up] + self.map.nodes() + self.seeds))
            for address in candidates:
                conn = _connection(address, self.password)
                try:
                    async with asyncio.timeout(_MAP_TIMEOUT_S):
                        await conn.connect()
                        await conn.send_command("CLUSTER", "SLOTS")
                        reply = await conn.read_response()
                    fresh = SlotMap.parse(reply, address)
                except Exception:  # the next node, then the caller's back-off
                    continue
                finally:
                    with contextlib.suppress(Exception):
                        await conn.disconnect()
                if len(fresh):
                    self.map, self._map_at = fresh, time.monotonic()
                    self._relocate()
                    return True
            return False

    # --- what links report -----------------------------------------------------------------
    def _confirm(self, channel: str) -> None:
        if channel not in self._refs:
            return
        self._confirmed.add(channel)
        for fut in self._waiters.pop(channel, []):
            if not fut.done():
                fut.set_result(None)

    def _deliver(self, channel: str, data: str) -> None:
        try:
            self.on_message(channel, data)
        except Exception:  # one bad message must not take the reader down
            log.exception("handling a message on %s failed", channel)


class _Link:
    """One primary's SSUBSCRIBE connection and the channels it carries (see the module doc)."""

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
                backoff = min(backoff * 2, _MAX_BACKOFF_S)

    def _retire(self) -> None:
        if self.owner.links.get(self.address) is self:
            del self.owner.links[self.address]

    async def _connect(self) -> None:
        conn = _connection(self.address, self.owner.password)
        await conn.connect()
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
                await conn.disconnect()

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
                        backoff = min(backoff * 2, _MAX_BACKOFF_S)
                for channel in batch:
                    for data in self.filling.pop(channel, None) or ():
                        self.owner._deliver(channel, data)
        finally:
            self._filler = None
