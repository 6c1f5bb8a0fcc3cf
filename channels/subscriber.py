"""The process's one Redis pub/sub connection, shared by every local WebSocket.

Channels are reference-counted (``channels/refcounted_subscriber.py``): the first local
subscriber of a channel makes the process SUBSCRIBE (and waits for Redis to confirm, so nothing
published afterwards can be missed), the last one out UNSUBSCRIBEs.

SUBSCRIBE/UNSUBSCRIBE commands go through one ordered queue, so "last one out" followed by "first
one in" reaches Redis in that order.

When the connection drops, or stops answering the heartbeat PINGs, the listener reconnects with
back-off, re-subscribes every channel in use in one command, then calls ``on_reconnect`` (which
fills the gap from the streams) *before* delivering any message that arrived meanwhile. It never
lets redis-py reconnect silently behind its back: that would re-subscribe without the gap fill,
and a screen would miss events without anyone knowing.

The connection has no socket timeout (the peers: redis-py 8 times out idle blocking reads after
5 s by default), no client-side retries, and a PING of our own every ``heartbeat`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from channels.refcounted_subscriber import OnMessage, RefCountedSubscriber

log = logging.getLogger(__name__)

OnReconnect = Callable[[], Awaitable[None]]
_MAX_BACKOFF_S = 5.0


class Subscriber(RefCountedSubscriber):
    """Args:
        redis_url: the Redis to subscribe to.
        on_message: gets every message of every subscribed channel.
        on_reconnect: awaited after a reconnect, once every channel is subscribed again and
            before the messages received meanwhile are handed to ``on_message``.
        always: channels subscribed for the life of the process (the kick channel).
        heartbeat: seconds between PINGs on an idle connection; three missed means dead.
    """

    def __init__(self, redis_url: str, on_message: OnMessage, on_reconnect: OnReconnect, *,
                 always: Sequence[str] = (), heartbeat: float = 5.0,
                 subscribe_timeout: float = 5.0) -> None:
        super().__init__(on_message, always=always, heartbeat=heartbeat,
                         subscribe_timeout=subscribe_timeout)
        self.redis_url = redis_url
        self.on_reconnect = on_reconnect
        self._expected: dict[str, int] = {}  # SUBSCRIBE confirmations still to come, per channel
        self._commands: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self._client: Redis | None = None
        self._pubsub: PubSub | None = None
        self._stale = False  # redis-py reconnected the connection by itself: treat as dropped
        self._tasks: list[asyncio.Task[None]] = []
        self._down_since: float | None = time.monotonic()
        self._last_error = "not connected yet"
        self.reconnects = 0

    # --- public ----------------------------------------------------------------------------
    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._listen(), name="subscriber-listen"),
                       asyncio.create_task(self._command_loop(), name="subscriber-commands")]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self._drop_connection()
        self._stop_waiting()

    @property
    def connected(self) -> bool:
        return self._down_since is None

    def health(self) -> str:
        if self._down_since is None:
            return "ok"
        return (f"redis subscriber reconnecting for {time.monotonic() - self._down_since:.0f} s "
                f"({self._last_error})")

    # --- commands --------------------------------------------------------------------------
    def _subscribe(self, channel: str) -> None:
        self._expected[channel] = self._expected.get(channel, 0) + 1
        self._commands.put_nowait(("subscribe", channel))

    def _unsubscribe(self, channel: str) -> None:
        self._commands.put_nowait(("unsubscribe", channel))

    async def _command_loop(self) -> None:
        while True:
            verb, channel = await self._commands.get()
            pubsub = self._pubsub
            # is_connected is checked first so that redis-py never reconnects on our behalf.
            if pubsub is None or pubsub.connection is None or not pubsub.connection.is_connected:
                continue  # the reconnect subscribes whatever is in use then
            with contextlib.suppress(Exception):  # a broken connection is the listener's business
                if verb == "subscribe":
                    await pubsub.subscribe(channel)
                else:
                    await pubsub.unsubscribe(channel)

    def _confirm(self, channel: str) -> None:
        # Released and acquired again while the first SUBSCRIBE was in flight: Redis answers
        # SUBSCRIBE, UNSUBSCRIBE, SUBSCRIBE, and only the last confirmation counts.
        left = self._expected.get(channel, 0) - 1
        if left > 0:
            self._expected[channel] = left
            return
        self._expected.pop(channel, None)
        super()._confirm(channel)

    # --- listener --------------------------------------------------------------------------
    async def _listen(self) -> None:
        backoff = 0.1
        while True:
            try:
                held = await self._connect()
                await self.on_reconnect()
                self._down_since = None
                backoff = 0.1
                for message in held:
                    self._dispatch(message)
                await self._read_forever()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._down_since is None:
                    self._down_since = time.monotonic()
                    log.warning("Redis pub/sub connection lost (%s); reconnecting", exc)
                self._last_error = f"{type(exc).__name__}: {exc}"[:200]
                await self._drop_connection()
                await asyncio.sleep(backoff * random.uniform(0.5, 1.0))
                backoff = min(backoff * 2, _MAX_BACKOFF_S)

    async def _connect(self) -> list[dict[str, Any]]:
        """Connect, subscribe everything in use, wait for the confirmations; return the messages
        that arrived meanwhile (to be delivered after the gap fill)."""
        client = Redis.from_url(self.redis_url, decode_responses=True, socket_timeout=None,
                                socket_connect_timeout=5, socket_keepalive=True,
                                health_check_interval=0, retry=Retry(NoBackoff(), 0))
        self._client = client
        pubsub = client.pubsub()
        await pubsub.subscribe(*self.always)  # opens the connection
        if pubsub.connection is None:  # pragma: no cover - subscribe() always connects
            raise ConnectionError("pub/sub connection did not open")
        pubsub.connection.register_connect_callback(self._on_silent_reconnect)
        self._stale = False
        # From here to the SUBSCRIBE below nothing awaits, so a channel acquired meanwhile is
        # either in this list or sent by the command loop on this connection.
        while not self._commands.empty():
            self._commands.get_nowait()
        channels = list(self._refs)
        self._expected = dict.fromkeys(channels, 1)
        self._confirmed.clear()
        self._pubsub = pubsub
        waiting = set(self.always) | set(channels)
        if channels:
            await pubsub.subscribe(*channels)
        held: list[dict[str, Any]] = []
        deadline = time.monotonic() + 10.0
        while waiting:
            if time.monotonic() > deadline:
                raise ConnectionError(f"Redis did not confirm {len(waiting)} subscriptions")
            message = await self._next_message(pubsub)
            if message is None:
                continue
            if message["type"] == "subscribe":
                waiting.discard(message["channel"])
                if message["channel"] not in self.always:
                    self._confirm(message["channel"])
            elif message["type"] == "message":
                held.append(message)
        self.reconnects += 1
        return held

    async def _read_forever(self) -> None:
        pubsub = self._pubsub
        assert pubsub is not None  # set by _connect
        last_heard = last_ping = time.monotonic()
        while True:
            message = await self._next_message(pubsub)
            now = time.monotonic()
            if message is not None:
                last_heard = now
                self._dispatch(message)
                continue
            if now - last_heard > 3 * self.heartbeat:
                raise ConnectionError(f"no answer from Redis for {now - last_heard:.0f} s")
            if now - last_ping >= self.heartbeat:
                last_ping = now
                await pubsub.ping("ptsa-heartbeat")

    async def _next_message(self, pubsub: PubSub) -> dict[str, Any] | None:
        connection = pubsub.connection
        if self._stale or connection is None or not connection.is_connected:
            raise ConnectionError("the pub/sub connection was closed")
        return await pubsub.get_message(timeout=self.heartbeat)  # type: ignore[no-any-return]

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "message":
            try:
                self.on_message(message["channel"], message["data"])
            except Exception:  # one bad message must not take the listener down
                log.exception("handling a message on %s failed", message["channel"])
        elif kind == "subscribe" and message["channel"] not in self.always:
            self._confirm(message["channel"])

    def _on_silent_reconnect(self, _connection: Any) -> None:
        self._stale = True

    async def _drop_connection(self) -> None:
        pubsub, client = self._pubsub, self._client
        self._pubsub = self._client = None
        self._confirmed.clear()
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
        if client is not None:
            with contextlib.suppress(Exception):
                await client.aclose()
