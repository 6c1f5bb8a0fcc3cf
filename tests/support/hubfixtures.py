"""Fixtures for tests against real hub processes; import them into a test module by name."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.dbtemplate import seeded
from tests.support.hubproc import HubCluster
from tests.support.wsclient import fetch_token


async def seeded_env(database_url: str, redis_url: str, tmp_path: Path) -> dict[str, str]:
    """A database with the demo organisation, and the settings that point hubs at it."""
    await seeded(database_url)
    return {"DATABASE_URL": database_url, "REDIS_URL": redis_url,
            "PTSA_VAR_DIR": str(tmp_path / "var"), "PTSA_CALENDAR": "always"}


@pytest.fixture
async def hub_env(sqlite_url: str, redis_url: str, tmp_path: Path) -> dict[str, str]:
    return await seeded_env(sqlite_url, redis_url, tmp_path)


@pytest.fixture
async def cluster(hub_env: dict[str, str], tmp_path: Path) -> AsyncIterator[HubCluster]:
    hubs = HubCluster(hub_env, tmp_path)
    try:
        yield hubs
    finally:
        hubs.close()


class Tokens:
    """Bearer tokens of demo users, fetched once each from a running hub."""

    def __init__(self) -> None:
        self._cache: dict[str, str] = {}

    async def __call__(self, base_url: str, username: str) -> str:
        if username not in self._cache:
            self._cache[username] = await fetch_token(base_url, username)
        return self._cache[username]


@pytest.fixture
def tokens() -> Tokens:
    return Tokens()
