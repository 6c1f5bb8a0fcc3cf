"""The ``/ws`` protocol's frames, close codes and error codes (docs/PROTOCOL.md). No I/O.

Client → server: ``subscribe`` (channel, since, epoch), ``unsubscribe`` (channel), ``ping``.
Server → client: ``subscribed``, ``unsubscribed``, ``event`` (built by ``channels.history``, once
per channel, never per socket), ``error``, ``pong``.

``parse`` turns one inbound text frame into an operation or raises ``ProtocolError`` carrying the
error code to answer with; the connection stays usable after any ``ProtocolError``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from channels import names
from channels.history import is_epoch, is_offset

# Close codes. 1000-1015 are RFC 6455's; 4000-4999 are ours.
CLOSE_NORMAL = 1000
CLOSE_TOO_BIG = 1009  # an inbound message above PTSA_WS_MAX_MESSAGE_BYTES
CLOSE_INTERNAL = 1011
CLOSE_RESTART = 1012  # the hub process is shutting down: reconnect (with since)
CLOSE_TRY_AGAIN_LATER = 1013  # the process holds PTSA_WS_MAX_CONNECTIONS sockets: reconnect later
CLOSE_SESSION_ENDED = 4001  # signed out, deactivated or sessions revoked: sign in again
CLOSE_TOO_MANY_SOCKETS = 4009  # the account has PTSA_WS_MAX_SOCKETS_PER_ACCOUNT open already
CLOSE_SLOW_CONSUMER = 4008  # the client did not keep up: reconnect with since
CLOSE_RATE_LIMITED = 4029  # far too many frames: reconnect later

# Error codes of {"op":"error"} frames.
BAD_JSON = "bad_json"
BAD_FRAME = "bad_frame"
UNKNOWN_OP = "unknown_op"
BAD_CHANNEL = "bad_channel"
BAD_OFFSET = "bad_offset"
FORBIDDEN = "forbidden"
ALREADY_SUBSCRIBED = "already_subscribed"
NOT_SUBSCRIBED = "not_subscribed"
TOO_MANY_SUBSCRIPTIONS = "too_many_subscriptions"
RATE_LIMITED = "rate_limited"
UNAVAILABLE = "unavailable"
INTERNAL = "internal"

# Reason codes of an {"op":"unsubscribed"} frame the server sends on its own.
UNSUB_TASK_MOVED = "task_moved"  # the task moved to where this user may not see it
UNSUB_FORBIDDEN = "forbidden"  # the periodic re-check: the channel is no longer this user's

PONG = '{"op":"pong"}'


class ProtocolError(Exception):
    """A frame the server refuses; answered with an error frame."""

    def __init__(self, code: str, message: str, channel: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.channel = channel

    def frame(self) -> str:
        return error_frame(self.code, self.message, self.channel)


@dataclass(frozen=True)
class Subscribe:
    channel: str
    since: str | None
    epoch: str | None


@dataclass(frozen=True)
class Unsubscribe:
    channel: str


@dataclass(frozen=True)
class Ping:
    pass


Operation = Subscribe | Unsubscribe | Ping


def parse(text: str) -> Operation:
    """One client frame → an operation.

    Raises:
        ProtocolError: not JSON, not an object, an unknown op, or a malformed field.
    """
    try:
        frame = json.loads(text)
    except (ValueError, RecursionError):
        raise ProtocolError(BAD_JSON, "the frame is not valid JSON") from None
    if not isinstance(frame, dict):
        raise ProtocolError(BAD_FRAME, f"a frame must be a JSON object; got "
                                       f"{type(frame).__name__}")
    op = frame.get("op")
    if op == "ping":
        return Ping()
    if op == "subscribe":
        channel = _channel(frame)
        since, epoch = frame.get("since"), frame.get("epoch")
        if since is not None and not is_offset(since):
            raise ProtocolError(BAD_OFFSET, "since must be null or an offset such as "
                                            "\"1732700000000-0\" from an earlier frame", channel)
        if epoch is not None and not is_epoch(epoch):
            raise ProtocolError(BAD_OFFSET, "epoch must be null or the epoch string from an "
                                            "earlier subscribed frame", channel)
        return Subscribe(channel, since, epoch)
    if op == "unsubscribe":
        return Unsubscribe(_channel(frame))
    if not isinstance(op, str):
        raise ProtocolError(BAD_FRAME, 'a frame needs "op": "subscribe", "unsubscribe" or '
                                       '"ping"')
    raise ProtocolError(UNKNOWN_OP, f"unknown op {op[:40]!r}; expected subscribe, unsubscribe "
                                    f"or ping")


def _channel(frame: dict[str, Any]) -> str:
    channel = frame.get("channel")
    if names.parse_channel(channel) is None:
        echo = channel if isinstance(channel, str) and len(channel) <= 80 else None
        raise ProtocolError(BAD_CHANNEL, "not a channel name: expected p0, p1.<unit>, "
                                         "p2.<unit>, sup.<unit>, task.<id> or user.<username>",
                            echo)
    return str(channel)


def subscribed_frame(channel: str, offset: str, epoch: str, recovered: bool, missed: int) -> str:
    return json.dumps({"op": "subscribed", "channel": channel, "offset": offset, "epoch": epoch,
                       "recovered": recovered, "missed": missed}, separators=(",", ":"))


def unsubscribed_frame(channel: str, code: str | None = None) -> str:
    """The answer to an unsubscribe, or (with a reason ``code``) the server's own decision."""
    frame = {"op": "unsubscribed", "channel": channel}
    if code is not None:
        frame["code"] = code
    return json.dumps(frame, separators=(",", ":"))


def error_frame(code: str, message: str, channel: str | None = None) -> str:
    frame: dict[str, Any] = {"op": "error", "code": code, "message": message}
    if channel is not None:
        frame["channel"] = channel
    return json.dumps(frame, separators=(",", ":"))
