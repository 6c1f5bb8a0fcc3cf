"""Writing events to the outbox, inside the transaction that makes the change.

An outbox row per (event, channel) is the promise that the event will reach that channel's
stream; the relay (``channels/relay.py``) keeps it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.models import Outbox


def outbox_rows(event_id: str, event_type: str, at: datetime, payload: dict[str, Any],
                channels: Iterable[str]) -> list[dict[str, Any]]:
    """The rows of one event, one per channel, its payload encoded once for all of them."""
    encoded = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return [{"event_id": event_id, "channel": channel, "type": event_type, "at": at,
             "payload": encoded, "published_at": None, "attempts": 0} for channel in channels]


async def add_outbox_rows(session: AsyncSession, event_id: str, event_type: str, at: datetime,
                          payload: dict[str, Any], channels: Iterable[str]) -> None:
    # One executemany, not ORM objects: nothing reads these rows back in this transaction,
    # and the ORM would insert them one statement at a time to learn their ids.
    connection = await session.connection()
    await connection.execute(_INSERT, outbox_rows(event_id, event_type, at, payload, channels))


_INSERT = insert(Outbox.__table__)  # type: ignore[attr-defined]  # built once
