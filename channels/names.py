"""Every channel name and every Redis key of PTSA Hub is built here, and only here.

Channels (PROTOCOL.md): ``p0`` · ``p1.<eselon1>`` · ``p2.<eselon2>`` · ``sup.<unit>`` ·
``task.<id>`` · ``user.<username>`` · ``hall`` (the queue: tickets, calls, the display's text).
Unit codes and usernames are lower-case slugs, so a name never
contains ``*``, ``..`` or spaces; ``parse_channel`` refuses anything that is not exactly one of
these shapes, which is the first line of defence against wildcard or traversal tricks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NewType

Channel = NewType("Channel", str)

# Matched with ``fullmatch``: ``$`` would also accept a trailing newline (``task.5\n``).
SLUG = re.compile(r"[a-z0-9]+(?:[-_.][a-z0-9]+)*")
_UNIT_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_TASK_ID = re.compile(r"[1-9][0-9]{0,9}")
MAX_TASK_ID = 2**31 - 1  # the tasks.id column
MAX_CHANNEL_LENGTH = 80

# Redis keys. Prefix everything so the hub can share a Redis with other applications.
PREFIX = "ptsa"


@dataclass(frozen=True)
class ParsedChannel:
    kind: str  # p0 | p1 | p2 | sup | task | user | hall
    key: str  # unit code, task id or username; "" for p0


def p0() -> Channel:
    return Channel("p0")


def p1(eselon1: str) -> Channel:
    return Channel(f"p1.{eselon1}")


def p2(eselon2: str) -> Channel:
    return Channel(f"p2.{eselon2}")


def sup(unit: str) -> Channel:
    return Channel(f"sup.{unit}")


def task(task_id: int) -> Channel:
    return Channel(f"task.{task_id}")


def user(username: str) -> Channel:
    return Channel(f"user.{username}")


def hall() -> Channel:
    """The hall queue: every ticket taken and every call, for counters and the hall display."""
    return Channel("hall")


def parse_channel(name: object) -> ParsedChannel | None:
    """Split a channel name into kind and key, or None when it is not a well-formed name."""
    if not isinstance(name, str) or not name or len(name) > MAX_CHANNEL_LENGTH:
        return None
    if name in ("p0", "hall"):
        return ParsedChannel(name, "")
    kind, sep, key = name.partition(".")
    if not sep:
        return None
    if kind in ("p1", "p2", "sup") and _UNIT_SLUG.fullmatch(key):
        return ParsedChannel(kind, key)
    if kind == "task" and _TASK_ID.fullmatch(key) and int(key) <= MAX_TASK_ID:
        return ParsedChannel(kind, key)
    if kind == "user" and SLUG.fullmatch(key):
        return ParsedChannel(kind, key)
    return None


# --- Redis keys ---------------------------------------------------------------------------------
# A channel's keys carry the channel as a hash tag, {<channel>}, so that all of them (and its
# pub/sub channel) live in one Redis Cluster slot: the relay's Lua script touches them together.
# ptsa:stream:{<channel>} Redis Stream: the channel's history; entry ids are channel offsets.
#                         Trimmed by count and age (PTSA_HISTORY_MAX_LEN / _MAX_AGE).
# ptsa:epoch:{<channel>}  the stream's epoch; a new value means the history was lost (e.g. Redis
#                         restarted without persistence), so old offsets mean nothing.
# ptsa:floor:{<channel>}  the newest offset trimmed away; a client whose `since` is older than it
#                         cannot be recovered. Stream, epoch and floor expire together when the
#                         channel is idle for the history age + 4 days (channels/history.py).
# ptsa:seen:{<ch>}:<event> "this event is already in this channel's stream" (set with the append,
#                         TTL = history age): makes the relay's retries idempotent.
# ptsa:live:{<channel>}   pub/sub channel for the live fan-out.
# ptsa:login:<user>@<addr> failed sign-ins of one account from one address; TTL = the window.
# ptsa:login:ip:<addr>    failed sign-ins from one address, any account; TTL = the window.
# ptsa:login-ok:<user>    addresses the account signed in from; TTL 30 days (hub/auth/throttle).
# ptsa:login-wait:<user>@<addr> "this pair waits before its next attempt": set after a failure
#                         past PTSA_LOGIN_DELAY_AFTER, TTL = the (growing) delay itself.
# ptsa:session:<sid>      a browser session (JSON); TTL = PTSA_SESSION_MAX_AGE.
# ptsa:kick               pub/sub channel telling hub processes to close a user's sockets.


def stream_key(channel: str) -> str:
    return f"{PREFIX}:stream:{{{channel}}}"


def epoch_key(channel: str) -> str:
    return f"{PREFIX}:epoch:{{{channel}}}"


def floor_key(channel: str) -> str:
    return f"{PREFIX}:floor:{{{channel}}}"


def seen_key(event_id: str, channel: str) -> str:
    return f"{PREFIX}:seen:{{{channel}}}:{event_id}"


def live_key(channel: str) -> str:
    return f"{PREFIX}:live:{{{channel}}}"


def login_attempts_key(username: str) -> str:
    return f"{PREFIX}:login:{username.lower()}"


def login_pair_key(username: str, client: str) -> str:
    """``ptsa:login:<username>@<address>``: failed sign-ins of one account from one address."""
    return f"{PREFIX}:login:{username.lower()}@{client}"


def login_wait_key(username: str, client: str) -> str:
    """``ptsa:login-wait:<username>@<address>``: present while this pair must wait before its
    next sign-in attempt; its TTL (Redis's clock, shared by every hub process) is the wait."""
    return f"{PREFIX}:login-wait:{username.lower()}@{client}"


def login_known_key(username: str) -> str:
    """``ptsa:login-ok:<username>``: addresses the account signed in from (a set, 30 days)."""
    return f"{PREFIX}:login-ok:{username.lower()}"


def rate_key(scope: str, client: str) -> str:
    """``ptsa:rate:<scope>:<address>``: a fixed-window request counter; TTL = the window."""
    return f"{PREFIX}:rate:{scope}:{client}"


def session_key(session_id: str) -> str:
    return f"{PREFIX}:session:{session_id}"


KICK_KEY = f"{PREFIX}:kick"
ARQ_QUEUE = f"{PREFIX}:arq:queue"
