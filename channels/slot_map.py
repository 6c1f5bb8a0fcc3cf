"""Which Redis Cluster primary owns which hash slot: parsed from ``CLUSTER SLOTS``, no I/O.

The sharded subscriber (``channels/sharded_subscriber.py``) routes each channel's SSUBSCRIBE to
the primary owning ``slot(live_key)``; a ``-MOVED`` answer updates one slot in place, a failover
or a resharding replaces the map.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Any

from redis.crc import key_slot

Address = tuple[str, int]  # (host, port) of a node


def slot_of(key: str) -> int:
    """The hash slot of ``key`` (honouring a ``{tag}``), as the cluster computes it."""
    return key_slot(key.encode())


class SlotMap:
    """Slot ranges → primary address. Empty until ``parse`` (or ``set_slot``) filled it."""

    def __init__(self, ranges: Sequence[tuple[int, int, Address]] = ()) -> None:
        self._ranges = sorted(ranges)
        self._starts = [r[0] for r in self._ranges]

    @classmethod
    def parse(cls, reply: Sequence[Any], asked: Address) -> SlotMap:
        """A ``CLUSTER SLOTS`` reply: ``[[start, end, [host, port, id, ...], replicas...], ...]``.

        A primary given with an empty host (or ``?``) is on the host we asked, as Redis means it.
        """
        ranges: list[tuple[int, int, Address]] = []
        for entry in reply:
            start, end, primary = int(entry[0]), int(entry[1]), entry[2]
            host = _text(primary[0])
            if host in ("", "?"):
                host = asked[0]
            ranges.append((start, end, (host, int(primary[1]))))
        return cls(ranges)

    def owner(self, slot: int) -> Address | None:
        """The primary serving ``slot``, or None while no node covers it."""
        i = bisect.bisect_right(self._starts, slot) - 1
        if i < 0:
            return None
        start, end, address = self._ranges[i]
        return address if start <= slot <= end else None

    def set_slot(self, slot: int, address: Address) -> None:
        """What a ``-MOVED slot host:port`` says: ``slot`` is served there now."""
        kept: list[tuple[int, int, Address]] = []
        for start, end, owner in self._ranges:
            if start <= slot <= end:
                if start < slot:
                    kept.append((start, slot - 1, owner))
                if slot < end:
                    kept.append((slot + 1, end, owner))
            else:
                kept.append((start, end, owner))
        kept.append((slot, slot, address))
        self._ranges = sorted(kept)
        self._starts = [r[0] for r in self._ranges]

    def nodes(self) -> list[Address]:
        return sorted({r[2] for r in self._ranges})

    def __len__(self) -> int:
        return len(self._ranges)


def parse_moved(text: str) -> tuple[int, Address] | None:
    """``MOVED 3999 127.0.0.1:6381`` (or just ``3999 127.0.0.1:6381``) → (slot, address)."""
    parts = text.split()
    if parts and parts[0] == "MOVED":
        parts = parts[1:]
    if len(parts) != 2 or not parts[0].isdigit():
        return None
    host, _, port = parts[1].rpartition(":")
    if not port.isdigit():
        return None
    return int(parts[0]), (host, int(port))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
