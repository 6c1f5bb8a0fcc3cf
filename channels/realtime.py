"""Live channels of one hub process: subscribe with recovery, fan-out, gap fill after Redis trouble.

Every local channel in use has a set of ``Subscription``s (one per WebSocket on that channel), the
channel's epoch and the last offset this process forwarded. A live message from Redis is parsed
once, wrapped once (``make_message``) and pushed to each subscription's sink: nothing is encoded
per socket.

Subscribing with ``since``/``epoch`` joins the live stream without a gap or a duplicate: the
subscription is added (buffering) and Redis confirms the pub/sub subscription *before* the stream
is read, so every event is either in the snapshot or arrives live; the buffered live events at or
below the snapshot's head are then dropped. The same rule (drop what is not newer than the last
forwarded offset) makes the gap fill after a reconnect exact.

An event that moves a task (``channels.permissions.moves_task``) holds its channel: the
``reauthorise`` hook re-checks who of the channel's subscribers may still see the task and drops
the others, and only then is the event (and whatever arrived meanwhile) forwarded. Every process
that has subscribers on the channel receives the same event, so each decides for its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection
from typing import Any, Protocol

from channels import names
from channels.history import History, Offset, Snapshot, parse_offset
from channels.protocol import subscribed_frame
from channels.sharded_subscriber import ShardedSubscriber
from channels.subscriber import Subscriber
from config.settings import CLUSTER_SCHEME, cluster_password, parse_cluster_url

log = logging.getLogger(__name__)


class Sink(Protocol):
    """Where one connection's frames go (``hub.ws.outbound.Outbound``)."""

    def push(self, message: Any) -> None: ...

    async def push_paced(self, message: Any) -> None: ...

    def overflow(self) -> None: ...


class Subscription:
    """One connection on one channel.

    ``pending`` buffers live messages while it subscribes. ``floor`` is the head of its
    snapshot until a live event passes it: a live message of an event at or below it (still in
    flight when the snapshot was read) is already covered by the replay or the reload.
    """

    __slots__ = ("channel", "sink", "pending", "floor", "owner")

    def __init__(self, channel: str, sink: Sink, owner: Any = None) -> None:
        self.channel = channel
        self.sink = sink
        self.owner = owner  # the connection, for the reauthorise hook
        self.pending: list[tuple[Offset | None, Any]] | None = []
        self.floor: Offset | None = None


class LocalChannel:
    __slots__ = ("name", "key", "members", "epoch", "last", "last_offset", "held")

    def __init__(self, name: str) -> None:
        self.name = name
        self.key = names.live_key(name)
        self.members: set[Subscription] = set()
        self.epoch: str | None = None
        self.last: Offset | None = None  # the newest offset forwarded (or known) here
        self.last_offset = ""
        self.held: list[tuple[str, Offset, str]] | None = None  # live messages during a reset


# Re-checks a channel's subscriptions and unsubscribes those that may no longer see it.
Reauthorise = Callable[[str, list[Subscription]], Awaitable[None]]
# Hands one message to the sinks due to get it, in order (hub.ws.outbound.fan_out).
FanOut = Callable[[list[Any], Any], None]


def push_each(sinks: list[Any], message: Any) -> None:
    for sink in sinks:
        sink.push(message)

MovesTask = Callable[[str, str], bool]


class Realtime:
    """The process's live channels (``ctx.realtime``).

    Args:
        make_message: turns an encoded frame into what sinks push (the ASGI send message), once
            per frame.
        on_kick: gets the data of each message on ``names.KICK_KEY``.
        queue_url: on a Redis Cluster (``redis_url`` is ``redis+cluster://...``) the live
            channels are sharded (``ShardedSubscriber``) and the kick channel is plain pub/sub on
            this standalone Redis, where every process that kicks already has a client
            (sessions live there); on one Redis, one ``Subscriber`` carries both.
        pending_limit: live messages a subscribing connection may buffer before it counts as a
            slow consumer.
        reauthorise, moves: the re-check before an event for which ``moves(channel, frame)``.
        fan_out: hands one message to the sinks due to get it (default: ``push`` on each); the
            hub's writes prepared frames with one call per socket.
    """

    def __init__(self, redis_url: str, history: History, make_message: Callable[[str], Any],
                 on_kick: Callable[[str], None], *, pending_limit: int = 256,
                 heartbeat: float = 5.0, reauthorise: Reauthorise | None = None,
                 moves: MovesTask | None = None, queue_url: str | None = None,
                 fan_out: FanOut = push_each) -> None:
        self.fan_out = fan_out
        self.reauthorise = reauthorise
        self.moves = moves
        self.history = history
        self.make_message = make_message
        self.on_kick = on_kick
        self.pending_limit = pending_limit
        self._channels: dict[str, LocalChannel] = {}
        self._by_key: dict[str, LocalChannel] = {}
        self._resets: set[asyncio.Task[None]] = set()
        self.subscriber: Subscriber | ShardedSubscriber
        self.kicks: Subscriber | None = None
        if redis_url.startswith(CLUSTER_SCHEME):
            if not queue_url:
                raise ValueError("a Redis Cluster needs the queue Redis for kicks (queue_url)")
            self.subscriber = ShardedSubscriber(
                parse_cluster_url(redis_url), self._on_message, self._fill_gaps,
                password=cluster_password(redis_url), heartbeat=heartbeat)
            self.kicks = Subscriber(queue_url, self._on_message, _nothing_missed,
                                    always=(names.KICK_KEY,), heartbeat=heartbeat)
        else:
            self.subscriber = Subscriber(redis_url, self._on_message, self._fill_gaps,
                                         always=(names.KICK_KEY,), heartbeat=heartbeat)

    def start(self) -> None:
        self.subscriber.start()
        if self.kicks is not None:
            self.kicks.start()

    async def stop(self) -> None:
        for task in list(self._resets):
            task.cancel()
        await asyncio.gather(*self._resets, return_exceptions=True)
        await self.subscriber.stop()
        if self.kicks is not None:
            await self.kicks.stop()

    def health(self) -> str:
        problems = [h for h in (self.subscriber.health(),
                                self.kicks.health() if self.kicks else "ok") if h != "ok"]
        return "; ".join(problems) or "ok"

    def channel_count(self) -> int:
        return len(self._channels)

    # --- subscribing -----------------------------------------------------------------------
    async def subscribe(self, sink: Sink, channel: str, since: str | None,
                        epoch: str | None, owner: Any = None) -> Subscription:
        """Join ``channel``: answer ``subscribed``, replay what was missed, then go live.

        Raises:
            SubscriberUnavailable, redis errors: Redis is unreachable (nothing is left behind).
        """
        sub = Subscription(channel, sink, owner)
        local = self._channels.get(channel)
        if local is None:
            local = self._channels[channel] = self._by_key[names.live_key(channel)] = \
                LocalChannel(channel)
        local.members.add(sub)  # before any await: a concurrent first subscribe must see it
        try:
            await self.subscriber.acquire(local.key)
        except BaseException:
            self._leave(local, sub)
            raise
        try:
            snap = await self.history.snapshot(channel, since, epoch)
        except BaseException:
            self._leave(local, sub)
            self.subscriber.release(local.key)
            raise
        head = parse_offset(snap.head)
        if local.epoch is None:
            local.epoch = snap.epoch
        same_epoch = snap.epoch == local.epoch
        if local.last is None and same_epoch:
            # Where a gap fill would start. Never moved forward for a channel already live:
            # events up to the head may still be on their way to its other members.
            local.last, local.last_offset = head, snap.head
        sink.push(self.make_message(subscribed_frame(
            channel, snap.head, snap.epoch, snap.recovered, len(snap.entries))))
        try:
            for _offset, frame in snap.entries:
                await sink.push_paced(self.make_message(frame))
        except BaseException:  # cancelled mid-replay (shutdown): leave no member behind
            self.unsubscribe(sub)
            raise
        pending, sub.pending = sub.pending or [], None
        sub.floor = head if same_epoch else None
        for pos, message in pending:
            if pos is None or not same_epoch or pos > head:
                sink.push(message)
        if not same_epoch:
            self._start_reset(local)  # the history was replaced while we looked
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Leave; idempotent. The last one out makes the process unsubscribe from Redis."""
        local = self._channels.get(sub.channel)
        if local is not None and sub in local.members:
            self._leave(local, sub)
            self.subscriber.release(local.key)

    def _leave(self, local: LocalChannel, sub: Subscription) -> None:
        local.members.discard(sub)
        sub.pending = None
        if not local.members and self._channels.get(local.name) is local:
            del self._channels[local.name]
            del self._by_key[local.key]

    # --- live ------------------------------------------------------------------------------
    def _on_message(self, key: str, data: str) -> None:
        local = self._by_key.get(key)
        if local is None:
            if key == names.KICK_KEY:
                self.on_kick(data)
            return
        epoch, offset, frame = data.split("|", 2)
        pos = parse_offset(offset)
        if local.held is not None:
            local.held.append((epoch, pos, frame))
            return
        if epoch != local.epoch:
            if local.epoch is not None:
                local.held = [(epoch, pos, frame)]
                self._start_reset(local)
                return
            local.epoch = epoch
        if local.last is not None and pos <= local.last:
            return  # already forwarded (by a gap fill or a replay)
        if self._moves(local, frame):
            local.held = [(epoch, pos, frame)]
            self._track(asyncio.create_task(self._drain(local), name=f"reauth-{local.name}"))
            return
        local.last, local.last_offset = pos, offset
        self._deliver(local, pos, self.make_message(frame))

    def _moves(self, local: LocalChannel, frame: str) -> bool:
        return self.reauthorise is not None and self.moves is not None and bool(
            local.members) and self.moves(local.name, frame)

    async def _reauthorise(self, local: LocalChannel) -> None:
        assert self.reauthorise is not None
        try:
            await self.reauthorise(local.name, list(local.members))
        except Exception:  # the hook fails closed itself; a bug in it must not stall the channel
            log.exception("re-checking the subscribers of %s failed", local.name)

    async def _drain(self, local: LocalChannel, *, resetting: bool = False) -> None:
        """Forward the held live messages in order, re-checking the subscribers before each one
        that moves a task; new live messages keep queueing behind until the last is out."""
        while local.held:
            epoch, pos, frame = local.held[0]
            if epoch != local.epoch and not resetting:
                # A new history arrived while held: the reset takes over what is held.
                self._track(asyncio.create_task(self._reset(local), name=f"reset-{local.name}"))
                return
            del local.held[0]
            if epoch != local.epoch or (local.last is not None and pos <= local.last):
                continue  # of a replaced history, or already forwarded
            if self._moves(local, frame):
                await self._reauthorise(local)
            local.last, local.last_offset = pos, _offset_text(pos)
            self._deliver(local, pos, self.make_message(frame))
        local.held = None

    def _track(self, task: asyncio.Task[None]) -> None:
        self._resets.add(task)
        task.add_done_callback(self._resets.discard)

    def _deliver(self, local: LocalChannel, pos: Offset | None, message: Any) -> None:
        due = []  # the sinks that get it now, handed over in one call (``fan_out``)
        for sub in local.members:
            pending = sub.pending
            if pending is None:
                floor = sub.floor
                if floor is None:
                    due.append(sub.sink)
                elif pos is None or pos > floor:
                    sub.floor = None
                    due.append(sub.sink)
            elif len(pending) < self.pending_limit:
                pending.append((pos, message))
            else:
                sub.sink.overflow()
        if due:
            self.fan_out(due, message)

    # --- resets and gap fill ---------------------------------------------------------------
    def _start_reset(self, local: LocalChannel) -> None:
        if local.held is None:
            local.held = []
        self._track(asyncio.create_task(self._reset(local), name=f"reset-{local.name}"))

    async def _reset(self, local: LocalChannel) -> None:
        """The channel's epoch changed: tell every subscriber to reload, then carry on live."""
        try:
            snap = await self.history.snapshot(local.name)
        except Exception as exc:  # Redis is gone again; the reconnect's gap fill takes over
            log.warning("could not reset channel %s: %s", local.name, exc)
            local.held = None
            return
        self._restart(local, snap)
        await self._drain(local, resetting=True)

    def _restart(self, local: LocalChannel, snap: Snapshot) -> None:
        log.info("channel %s has a new epoch %s (was %s): subscribers reload", local.name,
                 snap.epoch, local.epoch)
        local.epoch = snap.epoch
        local.last, local.last_offset = parse_offset(snap.head), snap.head
        for sub in local.members:
            sub.floor = None  # offsets of the old history
        self._deliver(local, None, self.make_message(subscribed_frame(
            local.name, snap.head, snap.epoch, False, 0)))

    async def _fill_gaps(self, keys: Collection[str] | None = None) -> None:
        """After a reconnect: forward what each channel missed, or make its subscribers reload.
        ``keys``: only these live keys (one cluster node's), else every channel."""
        chosen = list(self._channels.values()) if keys is None else \
            [self._by_key[k] for k in keys if k in self._by_key]
        for local in chosen:
            if local.epoch is None or local.last is None or not local.members:
                continue  # its first subscriber's own snapshot covers it
            snap = await self.history.snapshot(local.name, local.last_offset, local.epoch)
            if not snap.recovered:
                self._restart(local, snap)
                continue
            for offset, frame in snap.entries:
                pos = parse_offset(offset)
                if pos > local.last:
                    if self._moves(local, frame):
                        await self._reauthorise(local)
                    local.last, local.last_offset = pos, offset
                    self._deliver(local, pos, self.make_message(frame))
            if snap.entries:
                log.info("filled a gap of %d events on %s", len(snap.entries), local.name)


async def _nothing_missed() -> None:
    """A kick missed while the queue Redis was away concerns sockets the periodic sign-in
    recheck closes anyway (hub/ws/endpoint.py)."""


def _offset_text(pos: Offset) -> str:
    return f"{pos[0]}-{pos[1]}"
