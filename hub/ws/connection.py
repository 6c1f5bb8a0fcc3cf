"""One open WebSocket: its operations, its subscriptions, its limits.

Operations are handled one at a time, in the order they arrive (a subscribe finishes its replay
before the next frame is read). Every refusal is an error frame and the socket stays usable;
only abuse (far too many frames), a slow consumer or the end of the sign-in closes it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import RedisError

from channels import protocol as proto
from channels.permissions import may_subscribe
from channels.realtime import Realtime, Subscription
from channels.refcounted_subscriber import SubscriberUnavailable
from hub.auth.principal import Principal
from hub.ws.handshake import Identity
from hub.ws.outbound import Outbound, Send
from hub.ws.wire import WireWrite

log = logging.getLogger(__name__)

TaskVisible = Callable[[Principal, int], Awaitable[bool]]

RATE_PER_SECOND = 10.0  # frames a client may send per second, on average…
RATE_BURST = 20.0  # …and at once
ABUSE_AFTER = 50  # refused frames in a row before the socket is closed


def text_message(frame: str) -> dict[str, Any]:
    return {"type": "websocket.send", "text": frame}


class Connection:
    __slots__ = ("principal", "username", "staff_id", "epoch", "role", "unit", "session_id",
                 "outbound", "subs", "realtime", "task_visible", "max_subscriptions",
                 "_tokens", "_stamp", "_refused", "_expiry")

    def __init__(self, identity: Identity, send: Send, realtime: Realtime,
                 task_visible: TaskVisible, *, queue_size: int, max_subscriptions: int,
                 write: WireWrite | None = None) -> None:
        principal = identity.principal
        self.principal = principal
        self.username = principal.username
        self.staff_id = principal.id
        self.epoch = identity.epoch
        self.role = principal.role
        self.unit = principal.unit
        self.session_id = identity.session_id
        self.outbound = Outbound(send, queue_size, self._slow, write)
        self.subs: dict[str, Subscription] = {}
        self.realtime = realtime
        self.task_visible = task_visible
        self.max_subscriptions = max_subscriptions
        self._tokens = RATE_BURST
        self._stamp = time.monotonic()
        self._refused = 0
        # A token socket ends when its token does (a browser session's end is a kick instead).
        self._expiry: asyncio.TimerHandle | None = None
        if identity.expires_at is not None:
            self._expiry = asyncio.get_running_loop().call_later(
                max(0.0, identity.expires_at - time.time()), self.close,
                proto.CLOSE_SESSION_ENDED, "the token has expired; request a new one")

    # --- frames in -------------------------------------------------------------------------
    async def handle(self, text: str) -> None:
        if self.outbound.closed:
            return
        if not self._admit():
            return
        try:
            op = proto.parse(text)
            if isinstance(op, proto.Ping):
                self.send(proto.PONG)
            elif isinstance(op, proto.Subscribe):
                await self._subscribe(op)
            else:
                self._unsubscribe(op.channel)
        except proto.ProtocolError as exc:
            self.send(exc.frame())

    def refuse_binary(self) -> None:
        if self._admit():
            self.send(proto.error_frame(proto.BAD_FRAME, "frames must be JSON text, not binary"))

    def _admit(self) -> bool:
        """Token bucket: RATE_BURST at once, RATE_PER_SECOND sustained."""
        now = time.monotonic()
        self._tokens = min(RATE_BURST, self._tokens + (now - self._stamp) * RATE_PER_SECOND)
        self._stamp = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            self._refused = 0
            return True
        self._refused += 1
        if self._refused >= ABUSE_AFTER:
            self.close(proto.CLOSE_RATE_LIMITED, "too many frames; reconnect later")
        elif self._refused == 1:
            self.send(proto.error_frame(proto.RATE_LIMITED, f"more than {RATE_PER_SECOND:.0f} "
                                        "frames per second; frames are being dropped"))
        return False

    async def _subscribe(self, op: proto.Subscribe) -> None:
        channel = op.channel
        if channel in self.subs:
            raise proto.ProtocolError(proto.ALREADY_SUBSCRIBED, "already subscribed to this "
                                      "channel; unsubscribe first to subscribe again", channel)
        if len(self.subs) >= self.max_subscriptions:
            raise proto.ProtocolError(proto.TOO_MANY_SUBSCRIPTIONS, f"at most "
                                      f"{self.max_subscriptions} subscriptions per connection",
                                      channel)
        if not await may_subscribe(self.principal, channel, self.task_visible):
            raise proto.ProtocolError(proto.FORBIDDEN, "you may not subscribe to this channel",
                                      channel)
        try:
            sub = await self.realtime.subscribe(self.outbound, channel, op.since, op.epoch,
                                                owner=self)
        except (SubscriberUnavailable, RedisError, OSError) as exc:
            log.warning("subscribe to %s failed: %s", channel, exc)
            raise proto.ProtocolError(proto.UNAVAILABLE, "live updates are unavailable right "
                                      "now; try again in a few seconds", channel) from None
        if self.outbound.closed:  # kicked or too slow while subscribing
            self.realtime.unsubscribe(sub)
            return
        self.subs[channel] = sub

    def _unsubscribe(self, channel: str) -> None:
        sub = self.subs.pop(channel, None)
        if sub is None:
            raise proto.ProtocolError(proto.NOT_SUBSCRIBED, "not subscribed to this channel",
                                      channel)
        self.realtime.unsubscribe(sub)
        self.send(proto.unsubscribed_frame(channel))

    def revoke(self, channel: str, code: str) -> None:
        """The server ends one subscription (the user may no longer see the channel)."""
        sub = self.subs.pop(channel, None)
        if sub is not None:
            self.realtime.unsubscribe(sub)
            self.send(proto.unsubscribed_frame(channel, code))

    # --- frames out, closing ---------------------------------------------------------------
    def send(self, frame: str) -> None:
        self.outbound.push(text_message(frame))

    def close(self, code: int, reason: str) -> None:
        """Leave every channel now and send a close frame (idempotent)."""
        self.detach()
        self.outbound.close(code, reason)

    def detach(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        subs, self.subs = self.subs, {}
        for sub in subs.values():
            self.realtime.unsubscribe(sub)

    def _slow(self) -> None:
        log.warning("closing a slow WebSocket of %s (%d frames queued)", self.username,
                    self.outbound.limit)
        # Called from inside the fan-out loop over a channel's members: leave the channels on
        # the next turn of the event loop, not while that loop is iterating over them.
        asyncio.get_running_loop().call_soon(
            self.close, proto.CLOSE_SLOW_CONSUMER, "slow consumer: reconnect with since")
