"""The process's sharded pub/sub on a Redis Cluster: one SSUBSCRIBE connection per primary.

Same contract as ``channels/subscriber.py`` (read its docstring): channels are reference-counted
(``channels/refcounted_subscriber.py``), ``acquire`` returns once the owning node confirmed the
SSUBSCRIBE (so nothing published afterwards is missed), and after any interruption the channel
is subscribed again and ``on_reconnect`` fills the gap from history *before* the messages that
arrived meanwhile are delivered.

redis-py 5 has no asyncio cluster pub/sub, so each primary gets a ``ShardLink``
(``channels/shard_link.py``): a plain connection (no socket timeout, no silent reconnects), a
sender (one ordered queue of SSUBSCRIBE/SUNSUBSCRIBE) and a reader. Each channel lives on the
link of the primary owning ``slot(channel)`` (``channels/slot_map.py``, from ``CLUSTER SLOTS``).
The cluster moves a channel in three ways, and each one ends in *relocation*: refresh the slot
map, hand the channel to the link of its new owner, SSUBSCRIBE there, fill the gap, deliver
what was held.

- the connection drops or stops answering the heartbeat PINGs (node killed, replica promoted):
  the link retries with back-off, refreshing the map each time, until its channels live on a
  node that answers (the promoted replica) or it owns nothing any more and ends;
- a ``-MOVED`` answer to SSUBSCRIBE: the slot is served elsewhere (the map is updated from it);
- a ``sunsubscribe`` we did not ask for: the node gave the slot away (resharding).

Replies are matched to the commands sent in order (the link's ``inflight``), which tells our own
``sunsubscribe`` from the server's and names the channel of a ``-MOVED``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any

from channels.refcounted_subscriber import OnMessage, RefCountedSubscriber
from channels.shard_link import ShardLink, connection
from channels.slot_map import Address, SlotMap, parse_moved, slot_of

log = logging.getLogger(__name__)

OnRefill = Callable[[Collection[str]], Awaitable[None]]  # gap fill of the channels named
_MAP_TIMEOUT_S = 1.0


class ShardedSubscriber(RefCountedSubscriber):
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
                 heartbeat: float = 5.0, subscribe_timeout: float = 5.0,
                 hold_limit: int = 10_000) -> None:
        super().__init__(on_message, always=always, heartbeat=heartbeat,
                         subscribe_timeout=subscribe_timeout)
        self.seeds = list(seeds)
        self.hold_limit = hold_limit  # live messages held per channel during its gap fill
        self.password = password
        self.on_reconnect = on_reconnect
        self.map = SlotMap()
        self.links: dict[Address, ShardLink] = {}
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
        self._stop_waiting()

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

    # --- placement -------------------------------------------------------------------------
    def _subscribe(self, channel: str) -> None:
        if not len(self.map):  # the first channel: read where slots live, then place it
            self.spawn(self._follow(channel, refill=False, force=False))
        elif not self._placed(channel):
            self._place(channel, refill=False)

    def _unsubscribe(self, channel: str) -> None:
        for link in self.links.values():
            link.remove(channel)

    def _place(self, channel: str, *, refill: bool) -> None:
        """Hand ``channel`` to the link of the node owning its slot (the first seed until a map
        is known: its answer, ``-MOVED`` or not, teaches us the map)."""
        owner = self.map.owner(slot_of(channel)) if len(self.map) else None
        if owner is None:  # no map yet, or the slot is uncovered: the node's answer tells
            owner = self.seeds[0]
        link = self.links.get(owner)
        if link is None:
            link = self.links[owner] = ShardLink(self, owner)
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

    def _server_unsubscribed(self, link: ShardLink, channel: str) -> None:
        """The node dropped ``channel`` (its slot moved away): find where it lives now."""
        self.follows["sunsubscribe"] += 1
        link.remove(channel, sent=True)
        self._confirmed.discard(channel)
        self.spawn(self._follow(channel))

    def retry_later(self, channel: str) -> None:
        """An SSUBSCRIBE refused otherwise than by ``-MOVED`` (CLUSTERDOWN while failing
        over): ask the map again in a moment and place the channel where it says."""
        async def retry() -> None:
            await asyncio.sleep(0.2)
            await self._follow(channel)

        self.spawn(retry())

    async def _follow(self, channel: str, *, refill: bool = True, force: bool = True) -> None:
        """Read the slot map, then place ``channel`` where it says, unless it was released
        meanwhile or is placed already."""
        await self.refresh_map(force=force)
        if channel in self._refs and not self._placed(channel):
            self._place(channel, refill=refill)

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
                conn = connection(address, self.password)
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
                        await conn.disconnect(nowait=True)
                if len(fresh):
                    self.map, self._map_at = fresh, time.monotonic()
                    self._relocate()
                    return True
            return False

    # --- what links report -----------------------------------------------------------------
    def _deliver(self, channel: str, data: str) -> None:
        try:
            self.on_message(channel, data)
        except Exception:  # one bad message must not take the reader down
            log.exception("handling a message on %s failed", channel)
