"""The seeded database, made once per test session and copied into each test's fresh one.

Creating the schema and seeding the demo organisation (one Argon2 hash, ~60 staff, the units and
services) cost every test that asked for ``seeded_db`` about 0.3 s of CPU and, on PostgreSQL
and a busy machine, seconds of wall time; 600 tests ask for it. A copy of the same rows costs a
few milliseconds on SQLite (its backup API) and one ``CREATE DATABASE ... TEMPLATE`` on
PostgreSQL. Each test still gets a database of its own: only the way the rows get there
changed. A database that is not fresh and empty is left to the caller (``lay`` says False).
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

from sqlalchemy.engine import make_url

from config.catalog import load_catalog
from config.seed import seed
from config.settings import normalise_database_url
from hub.db import Database
from tests.support.servers import (
    POSTGRES_ADMIN_URL,
    create_postgres_database,
    drop_postgres_database,
)


async def seeded(database_url: str) -> None:
    """What a fresh database gets: the schema, the organisation and the demo staff."""
    db = Database(normalise_database_url(database_url))
    try:
        await db.create_schema()
        await seed(db, load_catalog(), demo=True)
    finally:
        await db.dispose()


class SeededTemplates:
    """One seeded template per engine, made on first use; ``close`` drops them."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._sqlite: Path | None = None
        self._postgres: str | None = None  # the template database's name

    async def lay(self, database_url: str) -> bool:
        """Fill the fresh, empty database at ``database_url`` with the seeded rows; False (and
        nothing done) when it is not fresh and empty."""
        url = make_url(normalise_database_url(database_url))
        if url.get_backend_name() == "sqlite":
            return await self._lay_sqlite(Path(url.database or ""))
        return await self._lay_postgres(url.database or "")

    async def _lay_sqlite(self, path: Path) -> bool:
        if not path.name or path.exists():
            return False
        if self._sqlite is None:
            template = self.directory / f"seeded-{uuid.uuid4().hex[:8]}.db"
            await seeded(f"sqlite:///{template}")
            self._sqlite = template
        path.parent.mkdir(parents=True, exist_ok=True)
        source, target = sqlite3.connect(self._sqlite), sqlite3.connect(path)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
        return True

    async def _lay_postgres(self, name: str) -> bool:
        import psycopg

        base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
        with psycopg.connect(f"{base}/{name}", autocommit=True) as conn:
            tables = conn.execute("SELECT count(*) FROM information_schema.tables "
                                  "WHERE table_schema = 'public'").fetchone()
        if tables is None or tables[0] != 0:
            return False
        if self._postgres is None:
            template, url = create_postgres_database()
            await seeded(url)
            self._postgres = template
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            # Nothing is connected to a fresh database yet: a plain DROP fails loudly if not.
            conn.execute(f'DROP DATABASE "{name}"')
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self._postgres}"')
        return True

    def close(self) -> None:
        if self._postgres is not None:
            drop_postgres_database(self._postgres)
            self._postgres = None
