"""The pub/sub listener is the one Redis client without a read timeout: idle for longer than
``PTSA_REDIS_TIMEOUT`` it must neither drop nor reconnect, and still deliver."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from channels import names
from config.settings import Settings
from tests.conftest import make_settings
from tests.support.worker import eventually


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, redis_url, tmp_path, PTSA_REDIS_TIMEOUT="0.5s")


async def test_an_idle_subscriber_outlives_the_redis_read_timeout(
        app: Any, settings: Settings, redis_url: str) -> None:
    """Idle for three read timeouts, the web process's listener has not dropped or reconnected,
    and the next message still arrives."""
    subscriber = app.state.ctx.realtime.subscriber
    received: list[tuple[str, str]] = []
    deliver = subscriber.on_message

    def recording(key: str, data: str) -> None:
        received.append((key, data))
        deliver(key, data)

    subscriber.on_message = recording
    key = names.live_key(names.p0())
    await eventually(lambda: subscriber.connected, what="the listener to connect")
    await subscriber.acquire(key)
    reconnects = subscriber.reconnects
    await asyncio.sleep(3 * settings.redis_timeout.total_seconds())
    assert subscriber.connected and subscriber.reconnects == reconnects
    publisher = Redis.from_url(redis_url, decode_responses=True)
    try:
        await publisher.publish(key, "{}")
    finally:
        await publisher.aclose()
    await eventually(lambda: (key, "{}") in received, timeout=3,
                     what="the message after the idle spell")
    assert subscriber.reconnects == reconnects and subscriber.health() == "ok"
