"""Fixtures and helpers for the SLA and notification tests (tests/workers/test_sla*, test_notify*).

Import the fixtures into a test module (``from tests.support.sla import mailbox, gateway, ...``);
``sla_env`` builds the environment both the in-process settings and a worker subprocess use:
P1 pickup in 2 s, P2 in 3 s, every minute counts, the sweep every second.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlmodel import col, select

from channels import names
from config.settings import Settings, load_settings
from hub.db import Database
from hub.models import Notification, SlaClock, TaskEvent
from tests.conftest import ApiClient
from tests.support.api import signed_api
from tests.support.mailbox import Mailbox, smtp_server
from tests.support.sms_gateway import SmsGateway, sms_gateway

SUPERVISOR_EMAIL = "spv-barenbang@kemnaker.go.id"
BASE_URL = "http://ptsa.test"


def sla_env(database_url: str, redis_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "PTSA_VAR_DIR": str(tmp_path / "var"), "PTSA_CALENDAR": "always",
           "PTSA_SLA_P1_PICKUP": "2s", "PTSA_SLA_P2_PICKUP": "3s", "PTSA_SLA_SWEEP": "1s",
           "PTSA_NOTIFY_LEASE": "4s", "PTSA_BASE_URL": BASE_URL}
    env.update(extra)
    return env


@pytest.fixture
async def mailbox() -> AsyncIterator[tuple[Mailbox, int]]:
    box = Mailbox()
    async with smtp_server(box) as port:
        yield box, port
        box.release()


@pytest.fixture
def gateway() -> Iterator[SmsGateway]:
    with sms_gateway() as server:
        yield server


@pytest.fixture
def env(database_url: str, redis_url: str, tmp_path: Path, mailbox: tuple[Mailbox, int],
        gateway: SmsGateway) -> dict[str, str]:
    return sla_env(database_url, redis_url, tmp_path,
                   PTSA_SMTP_URL=f"smtp://127.0.0.1:{mailbox[1]}?timeout=3",
                   PTSA_SMS_URL=gateway.url)


@pytest.fixture
def settings(env: dict[str, str]) -> Settings:
    return load_settings(env)


@pytest.fixture
async def api(app: Any) -> AsyncIterator[ApiClient]:
    async with signed_api(app) as client:
        yield client


def db_of(app: Any) -> Database:
    return app.state.ctx.db  # type: ignore[no-any-return]


async def clock_of(db: Database, task_id: int, kind: str) -> SlaClock:
    async with db.read() as session:
        rows = await session.exec(select(SlaClock).where(
            SlaClock.task_id == task_id, SlaClock.kind == kind).order_by(col(SlaClock.id)))
        return rows.all()[-1]


async def notifications(db: Database, task_id: int | None = None) -> list[Notification]:
    async with db.read() as session:
        query = select(Notification).order_by(col(Notification.id))
        if task_id is not None:
            query = query.where(Notification.task_id == task_id)
        return list((await session.exec(query)).all())


async def events(db: Database, task_id: int, event_type: str) -> list[TaskEvent]:
    async with db.read() as session:
        rows = await session.exec(select(TaskEvent).where(
            TaskEvent.task_id == task_id, TaskEvent.type == event_type))
        return list(rows.all())


async def stream_events(redis_url: str, channel: str) -> list[tuple[int, dict[str, Any]]]:
    """(append time in epoch ms, event) for every entry of a channel's Redis Stream."""
    client = Redis.from_url(redis_url, decode_responses=True)
    try:
        entries = await client.xrange(names.stream_key(channel))
    finally:
        await client.aclose()
    return [(int(offset.split("-")[0]), json.loads("{" + fields["e"]))
            for offset, fields in entries]
