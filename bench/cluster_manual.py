"""Sharded pub/sub on a Redis Cluster with redis-py 5 and nothing else (benchmark candidate 1).

redis-py 5 (the version arq allows) has an asyncio ``RedisCluster`` for commands but no cluster
pub/sub, so this keeps one ``redis.asyncio.Connection`` per primary that owns a subscribed
channel's slot and drives ``SSUBSCRIBE`` by hand (``send_command`` / ``read_response``).

What it follows, and tells the application through ``on_gap(channels, why)``:
- a connection that dies (node killed): its channels had a gap; the slot map is read again until
  their slots' owner answers (the promoted replica), and they are subscribed there;
- a server-sent ``sunsubscribe`` (Redis 7 sends one when a channel's slot leaves the node): the
  channel had a gap; it is subscribed where the slot now lives;
- a ``-MOVED`` answer to ``SSUBSCRIBE`` (the map was stale): map refreshed, subscribed again.

A benchmark prototype, not the product's subscriber: it exists to measure what "by hand" costs.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
from collections.abc import Callable, Iterable

from redis.asyncio import Connection
from redis.crc import key_slot
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

Address = tuple[str, int]
OnMessage = Callable[[str, bytes], None]
OnGap = Callable[[list[str], str], None]


class SlotMap:
    """Slot ranges → primary address, from ``CLUSTER SLOTS`` (raw reply, no parsing helpers)."""

    def __init__(self, reply: list[list[object]]) -> None:
        spans = sorted((int(r[0]), int(r[1]), _address(r[2])) for r in reply)  # type: ignore[call-overload]
        self._starts = [s[0] for s in spans]
        self._spans = spans

    def owner(self, channel: str) -> Address | None:
        slot = key_slot(channel.encode())
        i = bisect.bisect_right(self._starts, slot) - 1
        if i >= 0 and self._spans[i][0] <= slot <= self._spans[i][1]:
            return self._spans[i][2]
        return None


def _address(node: object) -> Address:
    host, port = node[0], node[1]  # type: ignore[index]
    return (host.decode() if isinstance(host, bytes) else str(host), int(port))


async def read_slot_map(addresses: Iterable[Address]) -> SlotMap:
    """The slot map from the first of ``addresses`` that answers (retried until one does)."""
    addresses = list(addresses)
    while True:
        for host, port in addresses:
            conn = Connection(host=host, port=port, socket_connect_timeout=0.5,
                              socket_timeout=1.0)
            try:
                await conn.connect()
                await conn.send_command("CLUSTER", "SLOTS")
                return SlotMap(await conn.read_response())
            except (OSError, RedisConnectionError, RedisTimeoutError, ResponseError):
                continue
            finally:
                with contextlib.suppress(Exception):
                    await conn.disconnect()
        await asyncio.sleep(0.1)


class ManualShardedSubscriber:
    def __init__(self, seeds: Iterable[Address], on_message: OnMessage, on_gap: OnGap) -> None:
        self.seeds = list(seeds)
        self.on_message = on_message
        self.on_gap = on_gap
        self.channels: set[str] = set()
        self._conns: dict[Address, Connection] = {}
        self._subscribed: dict[Address, set[str]] = {}
        self._tasks: dict[Address, asyncio.Task[None]] = {}
        self._map: SlotMap | None = None
        self._closing = False
        self._opening: dict[Address, asyncio.Lock] = {}

    async def subscribe(self, channels: Iterable[str]) -> None:
        new = set(channels) - self.channels
        self.channels |= new
        await self._place(new)

    async def close(self) -> None:
        self._closing = True
        for task in self._tasks.values():
            task.cancel()
        for conn in self._conns.values():
            with contextlib.suppress(Exception):
                await conn.disconnect()

    # --- placement -----------------------------------------------------------------------
    async def _refresh(self) -> SlotMap:
        self._map = await read_slot_map([*self._conns, *self.seeds])
        return self._map

    async def _place(self, channels: set[str]) -> None:
        """SSUBSCRIBE each channel on its slot's primary; retried until every one is placed."""
        pending = set(channels)
        slot_map = self._map or await self._refresh()
        while pending and not self._closing:
            by_node: dict[Address, list[str]] = {}
            for channel in pending:
                owner = slot_map.owner(channel)
                if owner is not None:
                    by_node.setdefault(owner, []).append(channel)
            for address, group in by_node.items():
                conn = await self._connection(address)
                if conn is None:
                    continue
                try:
                    # One SSUBSCRIBE per channel: several channels in one must share a slot
                    # (else -CROSSSLOT); sent as one write.
                    await conn.send_packed_command(
                        conn.pack_commands([("SSUBSCRIBE", c) for c in group]))
                except (OSError, RedisConnectionError):
                    continue
                pending -= set(group)
            if pending:
                await asyncio.sleep(0.2)  # the owner is down: wait for the failover
                slot_map = await self._refresh()

    async def _connection(self, address: Address) -> Connection | None:
        # One connection per node, even when two placements race to open it (two connections
        # subscribed to one channel would deliver each message twice).
        async with self._opening.setdefault(address, asyncio.Lock()):
            return await self._open(address)

    async def _open(self, address: Address) -> Connection | None:
        if address in self._conns:
            return self._conns[address]
        conn = Connection(host=address[0], port=address[1], socket_connect_timeout=0.5)
        try:
            await conn.connect()
        except (OSError, RedisConnectionError, RedisTimeoutError):
            return None
        self._conns[address] = conn
        self._subscribed[address] = set()
        self._tasks[address] = asyncio.create_task(self._read(address, conn))
        return conn

    # --- reading -------------------------------------------------------------------------
    async def _read(self, address: Address, conn: Connection) -> None:
        mine = self._subscribed[address]
        try:
            while True:
                try:
                    reply = await conn.read_response(timeout=None)
                except ResponseError:
                    # -MOVED to SSUBSCRIBE: the map was stale. Which channel is not said; the
                    # confirmations that do come tell which ones stuck, so re-place the rest.
                    await asyncio.sleep(0.05)
                    await self._refresh()
                    asyncio.create_task(self._place(self.channels - self._all_subscribed()))
                    continue
                kind = reply[0]
                if kind == b"smessage":
                    self.on_message(reply[1].decode(), reply[2])
                elif kind == b"ssubscribe":
                    mine.add(reply[1].decode())
                elif kind == b"sunsubscribe":
                    channel = reply[1].decode()
                    mine.discard(channel)
                    if channel in self.channels and not self._closing:
                        self.on_gap([channel], "sunsubscribe")
                        await self._refresh()
                        asyncio.create_task(self._place({channel}))
        except (OSError, RedisConnectionError, RedisTimeoutError, asyncio.IncompleteReadError):
            if self._closing:
                return
            lost = sorted(mine)
            self._conns.pop(address, None)
            self._subscribed.pop(address, None)
            self._tasks.pop(address, None)
            with contextlib.suppress(Exception):
                await conn.disconnect()
            if lost:
                self.on_gap(lost, "connection lost")
                self._map = None
                await self._place(set(lost))

    def _all_subscribed(self) -> set[str]:
        return set().union(*self._subscribed.values()) if self._subscribed else set()
