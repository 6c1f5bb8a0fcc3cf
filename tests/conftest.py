"""Shared fixtures: real Redis, real databases (SQLite and PostgreSQL), and a running app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from config.catalog import load_catalog
from config.seed import DEMO_PASSWORD, seed
from config.settings import Settings, load_settings
from hub.db import Database
from tests.support.dbtemplate import SeededTemplates
from tests.support.redis_cluster import RedisCluster
from tests.support.servers import RedisServer, create_postgres_database, drop_postgres_database

ENGINES = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisCluster]:
    """A real Redis Cluster (3 primaries + 3 replicas) shared by the tests that do not break
    it; they use channel names of their own (nothing flushes it). A test that kills a node or
    moves a slot starts its own ``RedisCluster()``."""
    with RedisCluster() as cluster:
        yield cluster


@pytest.fixture
async def redis_url(redis_server: RedisServer) -> AsyncIterator[str]:
    client = Redis.from_url(redis_server.url)
    await client.flushall()
    await client.aclose()
    yield redis_server.url


def fresh_database(engine: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on ``engine`` ("sqlite" or "postgresql"), dropped afterwards;
    PostgreSQL missing is an error, not a skip. For fixtures to ``yield from``."""
    if engine == "sqlite":
        yield f"sqlite:///{tmp_path / 'ptsa.db'}"
        return
    name, url = create_postgres_database()
    try:
        yield url
    finally:
        drop_postgres_database(name)


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on each engine."""
    yield from fresh_database(request.param, tmp_path)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ptsa.db'}"


def make_settings(database_url: str, redis_url: str, tmp_path: Path, **env: str) -> Settings:
    values = {"DATABASE_URL": database_url, "REDIS_URL": redis_url,
              "PTSA_VAR_DIR": str(tmp_path / "var"), "PTSA_CALENDAR": "always"}
    values.update(env)
    return load_settings(values)


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, redis_url, tmp_path)


@pytest.fixture(scope="session")
def seeded_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeededTemplates]:
    templates = SeededTemplates(tmp_path_factory.mktemp("seeded"))
    yield templates
    templates.close()


@pytest.fixture
async def seeded_db(settings: Settings, seeded_templates: SeededTemplates
                    ) -> AsyncIterator[Database]:
    """The test's fresh database with the demo organisation: a copy of the session's seeded
    template (tests/support/dbtemplate.py), or seeded here if the database was not empty."""
    laid = await seeded_templates.lay(settings.database_url)
    db = Database(settings.database_url)
    if not laid:
        await db.create_schema()
        await seed(db, load_catalog(), demo=True)
    yield db
    await db.dispose()


class ApiClient:
    """An httpx client on the app that signs in as demo staff and remembers their tokens."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.http = client
        self._tokens: dict[str, str] = {}

    async def token(self, username: str) -> str:
        if username not in self._tokens:
            r = await self.http.post("/api/v1/auth/token",
                                     json={"username": username, "password": DEMO_PASSWORD})
            assert r.status_code == 200, r.text
            self._tokens[username] = r.json()["access_token"]
        return self._tokens[username]

    async def as_(self, username: str, method: str, url: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {await self.token(username)}"}
        return await self.http.request(method, url, headers=headers, **kw)

    async def register(self, username: str = "p0-1", service: str = "data-informasi",
                       **applicant: str) -> dict[str, Any]:
        body = {"service": service, "description": "Permintaan data penempatan 2025",
                "applicant": {"name": "Andi Wijaya", "organisation": "PT Maju Jaya",
                              "phone": "0812-1111-2222", "email": "andi@example.co.id",
                              **applicant}}
        r = await self.as_(username, "POST", "/api/v1/tasks", json=body)
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]


@pytest.fixture
async def app(settings: Settings, seeded_db: Database) -> AsyncIterator[Any]:
    from hub.app import create_app

    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def api(app: Any) -> AsyncIterator[ApiClient]:
    from tests.support.api_statuses import record

    transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                 event_hooks={"response": [record]}) as client:
        yield ApiClient(client)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After any run that went through the API clients: every status they saw must be in the
    OpenAPI document for its operation (tests/support/api_statuses.py)."""
    from tests.support.api_statuses import SEEN, undocumented

    missing = undocumented(SEEN)
    if missing:
        print("\nStatuses the API returned that hub/api/openapi.py does not document:\n  "
              + "\n  ".join(missing))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
