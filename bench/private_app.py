"""The real app in the bench's own process, on a private redis-server and a fresh database with
the demo organisation: the set-up of ``bench.register_cost``, ``bench.register_profile`` and
``bench.relay_commands``.

    with private_services(args.postgres, "ptsa-register-") as (database_url, redis_url, var_dir):
        result = asyncio.run(measure(database_url, redis_url, var_dir, ...))

    app = await seeded_app(env)                     # inside measure()
    async with app.router.lifespan_context(app):
        async with signed_in(app, "p0-1") as (client, headers):
            await client.post("/api/v1/tasks", json=BODY, headers=headers)
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx

from config.catalog import load_catalog
from config.seed import DEMO_PASSWORD, seed
from config.settings import load_settings
from hub.db import Database
from tests.support.servers import RedisServer, create_postgres_database, drop_postgres_database


@contextmanager
def private_services(postgres: bool, prefix: str) -> Iterator[tuple[str, str, Path]]:
    """(database URL, Redis URL, PTSA_VAR_DIR): a fresh PostgreSQL database (``postgres``) or a
    SQLite file in a temporary directory, and a redis-server of its own; all removed after."""
    os.environ.setdefault("PTSA_ENV", "development")
    redis = RedisServer()
    redis.start()
    pg_name = None
    try:
        with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
            if postgres:
                pg_name, url = create_postgres_database()
            else:
                url = f"sqlite:///{tmp}/ptsa.db"
            yield url, redis.url, Path(tmp) / "var"
    finally:
        redis.cleanup()
        if pg_name:
            drop_postgres_database(pg_name)


async def seeded_app(env: dict[str, str]) -> Any:
    """``create_app`` on the database of ``env``, given the schema and the demo organisation."""
    from hub.app import create_app  # after private_services set PTSA_ENV

    settings = load_settings(env)
    db = Database(settings.database_url)
    await db.create_schema()
    await seed(db, load_catalog(), demo=True)
    await db.dispose()
    return create_app(settings)


@asynccontextmanager
async def signed_in(app: Any, username: str
                    ) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    """A client of ``app`` through httpx's ASGI transport (no socket, no uvicorn) and the
    headers carrying ``username``'s bearer token (the app's lifespan must be running)."""
    transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        answer = await client.post("/api/v1/auth/token",
                                   json={"username": username, "password": DEMO_PASSWORD})
        answer.raise_for_status()
        yield client, {"Authorization": f"Bearer {answer.json()['access_token']}"}
