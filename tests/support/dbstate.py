"""Reading the database from tests: row counts that prove a refused command wrote nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import select

from hub.db import Database
from hub.models import Outbox, SlaClock, Staff, Task, TaskEvent, TaskMessage

COUNTED: dict[str, Any] = {"tasks": Task, "task_events": TaskEvent, "outbox": Outbox,
                           "task_messages": TaskMessage, "sla_clocks": SlaClock, "staff": Staff}


async def row_counts(db: Database) -> dict[str, int]:
    """How many rows each table that a command writes to holds."""
    counts: dict[str, int] = {}
    async with db.read() as session:
        for name, model in COUNTED.items():
            counts[name] = int((await session.exec(select(func.count()).select_from(model))).one())
    return counts


async def task_row(db: Database, task_id: int) -> Task:
    async with db.read() as session:
        task = await session.get(Task, task_id)
    assert task is not None
    return task
