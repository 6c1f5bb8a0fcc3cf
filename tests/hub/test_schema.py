"""schema.sql and hub/models.py describe the same database, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel, select

import hub.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from config.catalog import load_catalog
from config.seed import seed
from config.settings import normalise_database_url
from hub.db import Database, schema_statements
from hub.models import Staff, Unit

REQUIRED_TABLES = {"units", "staff", "services", "tasks", "task_events", "task_messages",
                   "sla_clocks", "outbox", "notifications"}


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(normalise_database_url(database_url))
    await database.create_schema()
    yield database
    await database.dispose()


def _kind(type_: Any) -> tuple[str, Any]:
    """A type's family and the detail that matters (length for strings, tz for timestamps)."""
    if isinstance(type_, TypeDecorator):
        type_ = type_.impl_instance
    if isinstance(type_, sa.Boolean):
        return ("bool", None)
    if isinstance(type_, sa.Integer):
        return ("int", None)
    if isinstance(type_, sa.Float | sa.Numeric):
        return ("float", None)
    if isinstance(type_, sa.DateTime):
        return ("datetime", bool(type_.timezone))
    if isinstance(type_, sa.Date):
        return ("date", None)
    if isinstance(type_, sa.Text) or (isinstance(type_, sa.String) and type_.length is None):
        return ("text", None)
    if isinstance(type_, sa.String):
        return ("varchar", type_.length)
    raise AssertionError(f"unexpected column type {type_!r}")


def _reflect(sync_conn: sa.Connection) -> dict[str, dict[str, Any]]:
    inspector = sa.inspect(sync_conn)
    tables: dict[str, dict[str, Any]] = {}
    for name in inspector.get_table_names():
        pk = set(inspector.get_pk_constraint(name)["constrained_columns"])
        uniques = {frozenset(u["column_names"]) for u in inspector.get_unique_constraints(name)}
        indexes = set()
        for index in inspector.get_indexes(name):
            if index.get("duplicates_constraint"):
                continue
            columns = frozenset(c for c in index["column_names"] if c)
            options = index.get("dialect_options", {})
            where = options.get("sqlite_where", options.get("postgresql_where"))
            if index["unique"]:
                uniques.add(columns)
            else:
                indexes.add((index["name"], columns, _predicate(where)))
        if sync_conn.dialect.name == "sqlite":
            uniques |= _sqlite_inline_uniques(sync_conn, name)
        tables[name] = {
            "columns": {c["name"]: (_kind(c["type"]), c["nullable"] or c["name"] in pk)
                        for c in inspector.get_columns(name)},
            "pk": pk,
            "uniques": uniques - {frozenset(pk)},
            "fks": {(tuple(fk["constrained_columns"]), fk["referred_table"],
                     tuple(fk["referred_columns"])) for fk in inspector.get_foreign_keys(name)},
            "indexes": indexes,
        }
    return tables


def _sqlite_inline_uniques(sync_conn: sa.Connection, table: str) -> set[frozenset[str]]:
    """UNIQUE written on a column (``username ... UNIQUE``): SQLAlchemy's SQLite reflection
    misses it, SQLite's own catalogue lists it as an index of origin 'u'."""
    found = set()
    for row in sync_conn.exec_driver_sql(f"PRAGMA index_list('{table}')").all():
        if row.origin == "u":
            info = sync_conn.exec_driver_sql(f"PRAGMA index_info('{row.name}')").all()
            found.add(frozenset(r.name for r in info))
    return found


def _predicate(where: Any) -> str | None:
    """A partial index's WHERE clause, spelled comparably (no parentheses, one case)."""
    if where is None:
        return None
    return str(where).replace("(", "").replace(")", "").strip().lower()


def _model(table: sa.Table, dialect_name: str) -> dict[str, Any]:
    pk = {c.name for c in table.primary_key.columns}
    uniques = {frozenset(c.name for c in con.columns) for con in table.constraints
               if isinstance(con, sa.UniqueConstraint)}
    uniques |= {frozenset([c.name]) for c in table.columns if c.unique}
    indexes = set()
    for index in table.indexes:
        columns = frozenset(c.name for c in index.columns)
        dialect = "sqlite" if dialect_name == "sqlite" else "postgresql"
        where = index.dialect_options[dialect]["where"]
        if index.unique:
            uniques.add(columns)
        else:
            indexes.add((index.name, columns, _predicate(where)))
    return {
        # A primary key is never NULL; SQLite merely reports INTEGER PRIMARY KEY as nullable.
        "columns": {c.name: (_kind(c.type), c.nullable or c.name in pk) for c in table.columns},
        "pk": pk,
        "uniques": uniques - {frozenset(pk)},
        "fks": {((fk.parent.name,), fk.column.table.name, (fk.column.name,))
                for fk in table.foreign_keys},
        "indexes": indexes,
    }


async def test_schema_sql_matches_the_models(db: Database) -> None:
    """Same tables, columns, types, nullability, keys, unique constraints and indexes."""
    async with db.engine.connect() as conn:
        reflected = await conn.run_sync(_reflect)
    models = {name: _model(table, db.dialect)
              for name, table in SQLModel.metadata.tables.items()}
    assert REQUIRED_TABLES <= set(models)
    assert set(reflected) == set(models)
    for name, model in models.items():
        actual = reflected[name]
        for aspect in ("columns", "pk", "uniques", "fks", "indexes"):
            assert actual[aspect] == model[aspect], f"{name}.{aspect} ({db.dialect})"


async def test_create_schema_is_idempotent_and_keeps_data(db: Database) -> None:
    """Running create_schema on an existing, filled database changes nothing."""
    await seed(db, load_catalog(), demo=False)
    async with db.read() as session:
        units = len((await session.exec(select(Unit))).all())
    await db.create_schema()
    await db.create_schema()
    async with db.read() as session:
        assert len((await session.exec(select(Unit))).all()) == units > 0
        assert (await session.exec(select(Staff))).all() == []


async def test_timestamps_come_back_as_aware_utc(db: Database) -> None:
    """A stored timestamp reads back timezone-aware UTC on both engines."""
    await seed(db, load_catalog(), demo=False)
    from hub.auth.passwords import hash_password
    from hub.models import utcnow

    now = utcnow()
    async with db.write() as session:
        session.add(Staff(username="clock-test", full_name="Clock", role="p0", unit_code="ptsa",
                          password_hash=hash_password("long-enough"), created_at=now))
    async with db.read() as session:
        staff = (await session.exec(select(Staff))).one()
    assert staff.created_at.utcoffset() is not None
    assert abs((staff.created_at - now).total_seconds()) < 0.001


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_one_schema_file_serves_both_dialects(dialect: str) -> None:
    """Only the auto-numbered key differs between the two dialects' statements."""
    statements = schema_statements(dialect)
    tables = [s for s in statements if s.upper().startswith("CREATE TABLE")]
    assert len(tables) == len(SQLModel.metadata.tables)
    assert all("IF NOT EXISTS" in s for s in statements)
    identity = sum(s.count("GENERATED BY DEFAULT AS IDENTITY") for s in statements)
    assert identity == (0 if dialect == "sqlite" else
                        sum(1 for t in SQLModel.metadata.tables.values()
                            if "id" in t.c and t.c["id"].primary_key))
