"""Registration numbers people read aloud and type: PTSA-YYYYMMDD-NNNN, the day in Jakarta."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from config.catalog import load_catalog
from config.settings import load_settings, normalise_database_url
from hub.db import Database
from hub.tasks.clocks import ClockPolicy, PolicyProvider
from hub.tasks.commands import _next_registration_code

READABLE = re.compile(r"^PTSA-\d{8}-\d{4,}$")


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(normalise_database_url(database_url))
    await database.create_schema()
    yield database
    await database.dispose()


@pytest.fixture
async def policy(db: Database, tmp_path: Path) -> ClockPolicy:
    provider = PolicyProvider(load_settings({"PTSA_VAR_DIR": str(tmp_path)}), load_catalog().sla)
    async with db.read() as session:
        return await provider.get(session)


async def _code(db: Database, policy: ClockPolicy, now: datetime) -> str:
    async with db.write() as session:
        return await _next_registration_code(session, now, policy)


async def test_numbers_count_per_jakarta_day(db: Database, policy: ClockPolicy) -> None:
    """The day is Asia/Jakarta's (UTC+7): 17:30 UTC is already tomorrow; each day restarts at
    0001 and counts up without gaps."""
    evening_utc = datetime(2026, 11, 26, 16, 59, tzinfo=UTC)  # 23:59 in Jakarta
    after_midnight = datetime(2026, 11, 26, 17, 30, tzinfo=UTC)  # 00:30 on the 27th in Jakarta
    codes = [await _code(db, policy, evening_utc), await _code(db, policy, evening_utc),
             await _code(db, policy, after_midnight), await _code(db, policy, after_midnight),
             await _code(db, policy, datetime(2026, 11, 27, 9, 0, tzinfo=UTC))]
    assert codes == ["PTSA-20261126-0001", "PTSA-20261126-0002", "PTSA-20261127-0001",
                     "PTSA-20261127-0002", "PTSA-20261127-0003"]
    assert all(READABLE.match(c) for c in codes)


async def test_a_rolled_back_registration_does_not_use_up_a_number(
        db: Database, policy: ClockPolicy) -> None:
    """The counter moves in the registration's own transaction, so a refusal leaves no gap."""
    now = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)

    class Refused(Exception):
        pass

    with pytest.raises(Refused):
        async with db.write() as session:
            assert await _next_registration_code(session, now, policy) == "PTSA-20261127-0001"
            raise Refused
    assert await _code(db, policy, now) == "PTSA-20261127-0001"


async def test_concurrent_numbers_are_unique_and_gapless(db: Database,
                                                         policy: ClockPolicy) -> None:
    """Thirty transactions at once get 0001…0030 exactly once each."""
    now = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
    codes = await asyncio.gather(*(_code(db, policy, now) for _ in range(30)))
    assert sorted(codes) == [f"PTSA-20261127-{n:04d}" for n in range(1, 31)]


async def test_past_ten_thousand_the_number_grows_a_digit(db: Database,
                                                          policy: ClockPolicy) -> None:
    """A (very) busy day does not wrap around to a number already given out."""
    async with db.write() as session:
        conn = await session.connection()
        await conn.exec_driver_sql(
            "INSERT INTO registration_counters (day, last) VALUES ('20261127', 9999)")
    now = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
    assert await _code(db, policy, now) == "PTSA-20261127-10000"
