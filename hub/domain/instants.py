"""How an instant is spelled on the wire (API bodies, events, pages' data attributes). No I/O,
no models: the Redis-only history and the serializers share it without pulling in the tables."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(value: datetime | None) -> str | None:
    """UTC with a ``Z``, whatever zone the value is in (calendar arithmetic works in
    Asia/Jakarta; the database gives UTC back): one instant, one spelling."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.isoformat().replace("+00:00", "Z")
