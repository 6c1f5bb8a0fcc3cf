"""Per-channel history in Redis Streams: appending events, epochs, and recovering missed events.

Each channel has a stream (its history; the entry id is the channel *offset*), an *epoch* (a new
value means the history was lost, e.g. Redis restarted without persistence, so old offsets mean
nothing) and a *floor* (the newest offset trimmed away). Both operations are single Lua scripts,
so they are atomic with respect to each other:

- ``publish``: skip the (event, channel) if it was appended already (this makes the relay's
  retries idempotent), append, trim by count and age while remembering the floor, and PUBLISH the
  finished event frame so hub processes forward it to sockets without re-encoding it.
- ``snapshot``: the channel's epoch and head offset, and, when the client's ``since``/``epoch``
  are still covered, the entries after ``since``.

On a Redis Cluster (``redis.asyncio.cluster.RedisCluster``) every key of one channel is in one
slot (the ``{channel}`` hash tag, ``channels/names.py``), so each script runs on the node owning
the channel; the cluster pipeline sends each node its EVALSHAs, and a NOSCRIPT (a restarted or
newly promoted node) loads the script on every primary and runs the batch again.

The scripts stay within Redis 6.2 (the embedded server): no ``XINFO`` max-deleted-entry-id and no
``EXPIRE NX``; exclusive ``(`` ranges and ``XTRIM MINID`` are 6.2 features we rely on.

Offsets are stream ids, ``"<ms>-<seq>"``; they compare as the pair (ms, seq), never as strings.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError

from channels import names
from hub.domain.instants import iso

Offset = tuple[int, int]
ZERO_OFFSET = "0-0"
# Longest replay a subscribe answers with; a client further behind reloads over HTTP, which is
# cheaper than thousands of frames (history itself keeps PTSA_HISTORY_MAX_LEN per channel).
MAX_REPLAY = 2000
_OFFSET = re.compile(r"^([0-9]{1,15})-([0-9]{1,15})\Z")
_EPOCH = re.compile(r"^[0-9]{1,24}\Z")

# Lua: ms and seq of a stream id, and "a is older than b".
_LUA_OFFSETS = """
local function split(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function older(a, b)
  local ams, aseq = split(a)
  local bms, bseq = split(b)
  return ams < bms or (ams == bms and aseq < bseq)
end
local function get_epoch(key, ttl)
  local epoch = redis.call('GET', key)
  if not epoch then
    local t = redis.call('TIME')
    epoch = t[1] .. string.format('%06d', tonumber(t[2]))
    redis.call('SET', key, epoch, 'EX', ttl)
  end
  return epoch
end
"""

# KEYS: seen, epoch, stream, floor, live.
# ARGV: frame prefix, body, max len, max age ms, seen-mark ttl s, channel keys ttl s, and the
# publish verb: PUBLISH on a standalone Redis, SPUBLISH on a cluster (sharded pub/sub: the live
# key is in the script's slot, so the message goes out from the node that owns the channel).
# Returns {offset, epoch}, or false when this (event, channel) was appended before.
_PUBLISH = _LUA_OFFSETS + """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[5]) then return false end
local epoch = get_epoch(KEYS[2], ARGV[6])
local id = redis.call('XADD', KEYS[3], '*', 'e', ARGV[2])
local floor = false
local maxlen = tonumber(ARGV[3])
local excess = redis.call('XLEN', KEYS[3]) - maxlen
if excess > 0 then
  local old = redis.call('XRANGE', KEYS[3], '-', '+', 'COUNT', excess)
  floor = old[#old][1]
  redis.call('XTRIM', KEYS[3], 'MAXLEN', maxlen)
end
local ms = split(id)
local cutoff = string.format('%.0f', math.max(0, ms - tonumber(ARGV[4])))
local aged = redis.call('XREVRANGE', KEYS[3], '(' .. cutoff .. '-0', '-', 'COUNT', 1)
if #aged > 0 then
  floor = aged[1][1]
  redis.call('XTRIM', KEYS[3], 'MINID', cutoff)
end
if floor then redis.call('SET', KEYS[4], floor) end
-- An idle channel's history ages out as a whole: keys and epoch expire together.
redis.call('EXPIRE', KEYS[2], ARGV[6])
redis.call('EXPIRE', KEYS[3], ARGV[6])
redis.call('EXPIRE', KEYS[4], ARGV[6])
redis.call(ARGV[7], KEYS[5], epoch .. '|' .. id .. '|' .. ARGV[1] .. id .. '",' .. ARGV[2])
return {id, epoch}
"""

# KEYS: epoch, stream, floor.  ARGV: since ('' for none), client epoch, max replay, ttl s.
# Returns {epoch, head, recovered (0/1), entries}.
_SNAPSHOT = _LUA_OFFSETS + """
local epoch = get_epoch(KEYS[1], ARGV[4])
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
local head = '0-0'
if #last > 0 then head = last[1][1] end
if ARGV[1] == '' or ARGV[2] ~= epoch then return {epoch, head, 0, {}} end
local floor = redis.call('GET', KEYS[3]) or '0-0'
if older(ARGV[1], floor) or older(head, ARGV[1]) then return {epoch, head, 0, {}} end
local limit = tonumber(ARGV[3])
local entries = redis.call('XRANGE', KEYS[2], '(' .. ARGV[1], '+', 'COUNT', limit + 1)
if #entries > limit then return {epoch, head, 0, {}} end
return {epoch, head, 1, entries}
"""


def parse_offset(text: str) -> Offset:
    """``"1732700000000-3"`` → ``(1732700000000, 3)``; callers validate with ``is_offset``."""
    ms, _, seq = text.partition("-")
    return int(ms), int(seq)


def is_offset(value: object) -> bool:
    return isinstance(value, str) and _OFFSET.match(value) is not None


def is_epoch(value: object) -> bool:
    return isinstance(value, str) and _EPOCH.match(value) is not None


def frame_prefix(channel: str) -> str:
    """The start of an event frame up to the offset; the offset and the body complete it."""
    return '{"op":"event","channel":' + json.dumps(channel) + ',"offset":"'


def event_body(event_id: str, event_type: str, at: datetime, payload_json: str) -> str:
    """The rest of an event frame after the offset: ``"id":…,"type":…,"at":…,"data":…}``.

    ``payload_json`` is the outbox row's payload, already JSON: it is spliced in, not re-encoded.
    """
    return (f'"id":{json.dumps(event_id)},"type":{json.dumps(event_type)},'
            f'"at":{json.dumps(iso(at))},"data":{payload_json}}}')


def event_frame(channel: str, offset: str, body: str) -> str:
    return frame_prefix(channel) + offset + '",' + body


@dataclass(frozen=True)
class Snapshot:
    epoch: str
    head: str  # the newest offset in the channel ("0-0" when it has none)
    recovered: bool
    entries: list[tuple[str, str]]  # (offset, event frame) after ``since``, oldest first


@dataclass(frozen=True)
class Appended:
    offset: str
    epoch: str


@dataclass(frozen=True)
class OutgoingEvent:
    """One (event, channel) to append: what an outbox row holds."""

    event_id: str
    channel: str
    type: str
    at: datetime
    payload: str  # JSON


# An idle channel's keys (stream, epoch, floor) live this much longer than its history's age
# limit. Trimming at publish time records the floor, but expiry cannot, so expiry must also
# replace the epoch (it does: all three keys go together). The grace keeps a quiet unit's
# channel alive over a long weekend, so its screens do not all reload on Monday morning, while
# the channels of finished tasks still disappear.
KEY_GRACE_SECONDS = 4 * 24 * 3600


class History:
    """The streams of every channel, in one Redis or one Redis Cluster.

    Args:
        max_len: entries kept per channel (``PTSA_HISTORY_MAX_LEN``).
        max_age_seconds: age beyond which entries are trimmed (``PTSA_HISTORY_MAX_AGE``); also
            the lifetime of the relay's de-duplication marks.
    """

    def __init__(self, redis: Redis | RedisCluster, max_len: int, max_age_seconds: int) -> None:
        self.redis = redis
        self.cluster = isinstance(redis, RedisCluster)
        self.max_len = max_len
        self.max_age_seconds = max(1, max_age_seconds)
        self.key_ttl = self.max_age_seconds + KEY_GRACE_SECONDS
        self._publish_sha = hashlib.sha1(_PUBLISH.encode()).hexdigest()
        self._limits = (str(max_len), str(self.max_age_seconds * 1000), str(self.max_age_seconds),
                        str(self.key_ttl), "SPUBLISH" if self.cluster else "PUBLISH")
        # A Script works on a cluster too (EVALSHA routed by its keys; NOSCRIPT → SCRIPT LOAD on
        # every primary); redis-py's annotation names only Redis.
        self._snapshot = redis.register_script(_SNAPSHOT)  # type: ignore[misc]

    async def append(self, events: Sequence[OutgoingEvent]
                     ) -> list[Appended | None | Exception]:
        """Append and publish each event to its channel in one round trip.

        Returns, per event, where it was appended, None if it had been appended before, or the
        error Redis answered for that one event.

        Raises:
            redis.exceptions.ConnectionError and the like: Redis did not answer at all.
        """
        if not events:
            return []
        replies = await self._append_once(events)
        if any(isinstance(r, NoScriptError) for r in replies):
            # Redis restarted (or flushed its scripts) since we loaded ours: load, run again.
            # The script is idempotent, so the events that did go through are skipped.
            await self.redis.script_load(_PUBLISH)
            replies = await self._append_once(events)
        return [r if isinstance(r, Exception) else Appended(r[0], r[1]) if r else None
                for r in replies]

    async def _append_once(self, events: Sequence[OutgoingEvent]) -> list[Any]:
        # EVALSHA in a plain pipeline: redis-py's Script objects would add a SCRIPT EXISTS
        # round trip to every pipeline, and this runs after every command.
        bodies: dict[str, str] = {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for ev in events:
                body = bodies.get(ev.event_id)
                if body is None:
                    body = bodies[ev.event_id] = event_body(ev.event_id, ev.type, ev.at,
                                                            ev.payload)
                # execute_command: redis-py's cluster pipeline refuses pipe.evalsha(), but
                # routes a raw EVALSHA by its keys (all in the channel's slot).
                pipe.execute_command("EVALSHA", self._publish_sha, 5,
                                     names.seen_key(ev.event_id, ev.channel),
                                     names.epoch_key(ev.channel), names.stream_key(ev.channel),
                                     names.floor_key(ev.channel), names.live_key(ev.channel),
                                     frame_prefix(ev.channel), body, *self._limits)
            replies: list[Any] = await pipe.execute(raise_on_error=False)
        return replies

    async def snapshot(self, channel: str, since: str | None = None, epoch: str | None = None,
                       max_replay: int = MAX_REPLAY) -> Snapshot:
        """Where ``channel`` stands, and the events after ``since`` if history still covers them.

        ``recovered`` is False when ``since`` is None, the epoch differs, ``since`` is older than
        the floor or newer than the head, or more than ``max_replay`` events were missed.
        """
        keys = [names.epoch_key(channel), names.stream_key(channel), names.floor_key(channel)]
        args: list[str | int] = [since or "", epoch or "", max_replay, self.key_ttl]
        reply: list[Any] = await self._snapshot(keys=keys, args=args)
        new_epoch, head, recovered, raw = reply
        prefix = frame_prefix(channel)
        entries = [(offset, prefix + offset + '",' + fields[1]) for offset, fields in raw]
        return Snapshot(str(new_epoch), str(head), bool(recovered), entries)
