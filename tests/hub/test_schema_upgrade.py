"""``create_schema`` upgrades a database made by an older release: columns added to schema.sql
since are added to the existing tables, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlmodel import select

from config.catalog import load_catalog
from config.seed import seed
from config.settings import normalise_database_url
from hub.db import Database, _add_column, schema_columns, schema_statements
from hub.errors import ConfigError
from hub.models import Unit

NEW_COLUMNS = {"acknowledged_at", "acknowledged_by"}  # sla_clocks, added after the first release


@pytest.fixture
async def old_db(database_url: str) -> AsyncIterator[Database]:
    """A filled database whose sla_clocks table predates the acknowledgement columns."""
    db = Database(normalise_database_url(database_url))
    statements = schema_statements(db.dialect)
    tables = [s for s in statements if s.upper().startswith("CREATE TABLE")]
    old_clocks = ", ".join(definition for table, name, definition in schema_columns(tables)
                           if table == "sla_clocks" and name not in NEW_COLUMNS)
    async with db.engine.begin() as conn:
        for statement in statements:
            if statement.startswith("CREATE TABLE IF NOT EXISTS sla_clocks"):
                statement = f"CREATE TABLE IF NOT EXISTS sla_clocks ({old_clocks})"
            await conn.exec_driver_sql(statement)
    await seed(db, load_catalog(), demo=False)
    yield db
    await db.dispose()


def _columns(sync_conn: sa.Connection) -> dict[str, bool]:
    return {c["name"]: c["nullable"] for c in sa.inspect(sync_conn).get_columns("sla_clocks")}


async def test_create_schema_adds_the_missing_columns_and_keeps_the_data(old_db: Database) -> None:
    """The acknowledgement columns appear (nullable); the rows already there stay; a second
    run changes nothing."""
    async with old_db.engine.connect() as conn:
        assert NEW_COLUMNS.isdisjoint(await conn.run_sync(_columns))
    async with old_db.read() as session:
        units = len((await session.exec(select(Unit))).all())
    await old_db.create_schema()
    await old_db.create_schema()
    async with old_db.engine.connect() as conn:
        columns = await conn.run_sync(_columns)
    assert {name: columns[name] for name in NEW_COLUMNS} == dict.fromkeys(NEW_COLUMNS, True)
    async with old_db.read() as session:
        assert len((await session.exec(select(Unit))).all()) == units > 0


def test_a_column_that_cannot_be_added_to_a_filled_table_is_refused_by_name() -> None:
    """NOT NULL without a default (or UNIQUE) cannot be added by ALTER TABLE: a plain refusal."""
    assert _add_column("sla_clocks", "note", "note TEXT", "sqlite") == (
        "ALTER TABLE sla_clocks ADD COLUMN note TEXT")
    assert _add_column("sla_clocks", "n", "n INTEGER NOT NULL DEFAULT 0", "postgresql") == (
        "ALTER TABLE sla_clocks ADD COLUMN IF NOT EXISTS n INTEGER NOT NULL DEFAULT 0")
    for definition in ("code VARCHAR(10) NOT NULL", "code VARCHAR(10) UNIQUE"):
        with pytest.raises(ConfigError, match="sla_clocks has no column code"):
            _add_column("sla_clocks", "code", definition, "sqlite")
