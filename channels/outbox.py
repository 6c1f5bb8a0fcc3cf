"""Writing events to the outbox, inside the transaction that makes the change.

An outbox row per (event, channel) is the promise that the event will reach that channel's
stream; the relay (``channels/relay.py``) keeps it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from hub.models import Outbox


def add_outbox_rows(session: AsyncSession, event_id: str, event_type: str, at: datetime,
                    payload: dict[str, Any], channels: Iterable[str]) -> None:
    encoded = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    for channel in channels:
        session.add(Outbox(event_id=event_id, channel=channel, type=event_type, at=at,
                           payload=encoded))
