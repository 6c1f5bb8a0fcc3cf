"""The SQL visibility filter (``hub.domain.visibility.visible_tasks``) selects exactly the tasks
the pure rule (``hub.domain.tasks.can_view``) allows, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, delete
from sqlmodel import Session, select

from config.settings import normalise_database_url
from hub.db import Database
from hub.domain.tasks import FRONT_OFFICE, Actor, Level, Role, Status, TaskState, can_view
from hub.domain.visibility import visible_tasks
from hub.models import Service, Staff, Task, Unit

ESELON1 = ("barenbang", "binapenta")
ESELON2 = ("pusdatin", "puslitbang", "dirpptk")
UNITS = (FRONT_OFFICE, *ESELON1, *ESELON2)
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Viewer:
    """Who asks, as ``visible_tasks`` reads it (a role may be a device's: kiosk, display)."""
    role: str
    unit: str
    scope: frozenset[str]


@dataclass(frozen=True)
class Row:
    status: Status
    level: Level
    unit: str
    eselon1: str
    eselon2: str | None


rows = st.builds(Row, st.sampled_from(Status), st.sampled_from(Level), st.sampled_from(UNITS),
                 st.sampled_from(ESELON1), st.none() | st.sampled_from(ESELON2))
viewers = st.builds(Viewer, st.sampled_from([*Role, "kiosk", "display"]),
                    st.sampled_from(UNITS), st.frozensets(st.sampled_from(UNITS)))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The app's schema with the units, one service and one member of staff the rows refer to."""
    asyncio.run(_create_schema(normalise_database_url(database_url)))
    async_url = normalise_database_url(database_url)
    # The same drivers without asyncio: psycopg 3 speaks both; pysqlite reads the same file.
    sync = create_engine(async_url.replace("sqlite+aiosqlite", "sqlite"))
    with Session(sync) as session:
        session.add_all(Unit(code=code, name=code, level="eselon1") for code in UNITS)
        session.commit()
        session.add(Service(code="svc", name="svc", eselon1=ESELON1[0], eselon2=ESELON2[0],
                            sop_days=5))
        session.add(Staff(id=1, username="p0", full_name="P0", role="p0",
                          unit_code=FRONT_OFFICE, password_hash="!", created_at=NOW))
        session.commit()
    yield sync
    sync.dispose()


async def _create_schema(url: str) -> None:
    db = Database(url)
    await db.create_schema()
    await db.engine.dispose()


@hyp_settings(max_examples=60, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tasks=st.lists(rows, max_size=12), asking=st.lists(viewers, min_size=1, max_size=6))
def test_the_sql_filter_selects_exactly_the_tasks_can_view_allows(
        engine: Engine, tasks: list[Row], asking: list[Viewer]) -> None:
    """For generated staff and tasks, the tasks the SQL filter returns are those can_view allows."""
    with Session(engine) as session:
        session.exec(delete(Task))  # type: ignore[call-overload]
        for n, row in enumerate(tasks):
            session.add(Task(id=n + 1, code=f"T{n}", service_code="svc", status=row.status,
                             level=row.level, unit_code=row.unit, eselon1=row.eselon1,
                             eselon2=row.eselon2, applicant_name="a", description="d",
                             created_by=1, created_at=NOW, updated_at=NOW))
        session.commit()
        for viewer in asking:
            found = set(session.exec(select(Task.id).where(visible_tasks(viewer))).all())
            expected = {n + 1 for n, row in enumerate(tasks) if _allowed(row, viewer)}
            assert found == expected, viewer


def _allowed(row: Row, viewer: Viewer) -> bool:
    if viewer.role not in set(Role):
        return False  # a device is no actor of the state machine: it sees no task
    actor = Actor(1, Role(viewer.role), viewer.unit, viewer.scope)
    return can_view(TaskState(row.status, row.level, row.unit, row.eselon1, row.eselon2, None),
                    actor)
