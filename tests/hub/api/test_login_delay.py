"""The progressive delay between failed sign-ins of one username at one address (before the
lockout): refused with 429 and Retry-After before the password is checked, growing 1, 2, 4 … s,
started over by a success or by the window; against the real Redis, through the app."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from channels import names
from config.seed import DEMO_PASSWORD
from config.settings import Settings
from hub.auth.throttle import login_delay
from tests.conftest import fresh_database, make_settings

TOKEN_URL = "/api/v1/auth/token"
HERE, THERE = "10.0.0.5", "10.0.0.6"
# A little past a wait: Redis expires a key within a millisecond or so of its TTL.
SLACK = 0.1


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """SQLite only: the throttle lives in Redis, and each engine would double the waits."""
    yield from fresh_database("sqlite", tmp_path)


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path) -> Settings:
    """Delays from the 2nd failure (the default); the lockout far away (10 failures) so that it
    never answers in place of the delay."""
    return make_settings(database_url, redis_url, tmp_path).with_overrides(login_max_attempts=10)


def client_at(app: Any, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def sign_in(client: httpx.AsyncClient, username: str,
                  password: str = "tebak-123") -> httpx.Response:
    return await client.post(TOKEN_URL, json={"username": username, "password": password})


def assert_delayed(answer: httpx.Response, seconds: int) -> None:
    assert answer.status_code == 429, answer.text
    error = answer.json()["error"]
    assert error["code"] == "login_throttled"
    assert int(answer.headers["retry-after"]) == error["retry_after"] == seconds
    assert f"{seconds} second" in error["message"]


def test_the_delay_doubles_from_the_nth_failure_up_to_its_cap() -> None:
    """1, 2, 4, 8 … from the ``after``-th failure, capped; a cap of 0 turns delays off."""
    assert [login_delay(n, 2, 60) for n in range(9)] == [0, 0, 1, 2, 4, 8, 16, 32, 60]
    assert [login_delay(n, 1, 5) for n in range(5)] == [0, 1, 2, 4, 5]
    assert login_delay(10_000, 2, 60) == 60  # no overflow on an absurd count
    assert login_delay(50, 2, 0) == 0


async def test_waits_grow_and_even_the_right_password_waits_unchecked(
        app: Any, redis_url: str) -> None:
    """Two failures, then each attempt waits 1 s, then 2 s (Retry-After says so exactly); the
    right password inside the wait is refused without being checked (it neither counts nor
    clears anything) and accepted once the wait is over."""
    redis = Redis.from_url(redis_url, decode_responses=True)
    async with client_at(app, HERE) as here:
        for _ in range(2):
            assert (await sign_in(here, "p0-3")).status_code == 401
        assert_delayed(await sign_in(here, "p0-3", DEMO_PASSWORD), 1)
        assert_delayed(await sign_in(here, "p0-3"), 1)
        await asyncio.sleep(1 + SLACK)
        assert (await sign_in(here, "p0-3")).status_code == 401
        assert_delayed(await sign_in(here, "p0-3", DEMO_PASSWORD), 2)
        # Refused before the password was looked at: no failure counted, no success recorded.
        assert await redis.get(names.login_pair_key("p0-3", HERE)) == "3"
        assert not await redis.sismember(names.login_known_key("p0-3"), HERE)
        await asyncio.sleep(2 + SLACK)
        assert (await sign_in(here, "p0-3", DEMO_PASSWORD)).status_code == 200
        assert await redis.exists(names.login_pair_key("p0-3", HERE),
                                  names.login_wait_key("p0-3", HERE)) == 0
        # The success started it over: two free failures again, then 1 s (not 4 s).
        for _ in range(2):
            assert (await sign_in(here, "p0-3")).status_code == 401
        assert_delayed(await sign_in(here, "p0-3"), 1)
    await redis.aclose()


async def test_only_that_username_at_that_address_waits(app: Any) -> None:
    """While p0-4 waits at one address, p0-4 fails and signs in from another, and another
    account fails and signs in from the same address."""
    async with client_at(app, HERE) as here, client_at(app, THERE) as there:
        for _ in range(2):
            assert (await sign_in(here, "p0-4")).status_code == 401
        assert_delayed(await sign_in(here, "p0-4", DEMO_PASSWORD), 1)
        assert (await sign_in(there, "p0-4")).status_code == 401
        assert (await sign_in(there, "p0-4", DEMO_PASSWORD)).status_code == 200
        assert (await sign_in(here, "p0-5")).status_code == 401
        assert (await sign_in(here, "p0-5", DEMO_PASSWORD)).status_code == 200
    # Neither touched the waiting pair's count (its wait may be over by now: Argon2 is slow).
    redis = Redis.from_url(app.state.ctx.settings.queue_url, decode_responses=True)
    assert await redis.get(names.login_pair_key("p0-4", HERE)) == "2"
    await redis.aclose()


async def test_a_burst_of_parallel_attempts_gets_one_check_per_wait(app: Any) -> None:
    """Once the wait is over, five attempts sent at once get one password check between them
    (one 401); the other four are refused unchecked, as if they had come one after another."""
    async with client_at(app, HERE) as here:
        for _ in range(2):
            assert (await sign_in(here, "p0-6")).status_code == 401
        await asyncio.sleep(1 + SLACK)
        answers = await asyncio.gather(*(sign_in(here, "p0-6") for _ in range(5)))
    assert sorted(a.status_code for a in answers) == [401, 429, 429, 429, 429]
    assert all(0 < int(a.headers["retry-after"]) <= 2 for a in answers if a.status_code == 429)


@asynccontextmanager
async def app_with(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client at HERE on an app of its own settings (the database is the seeded one)."""
    from hub.app import create_app

    application = create_app(settings)
    async with application.router.lifespan_context(application), \
            client_at(application, HERE) as here:
        yield here


async def test_the_window_starts_the_delays_over(settings: Settings, seeded_db: Any) -> None:
    """When the failures of the window expire, the pair gets its free attempts back."""
    redis = Redis.from_url(settings.queue_url or "")
    # 3 s: room for two Argon2 checks on a busy machine before the window ends.
    async with app_with(settings.with_overrides(login_window=timedelta(seconds=3))) as here:
        for _ in range(2):
            assert (await sign_in(here, "p0-7")).status_code == 401
        assert_delayed(await sign_in(here, "p0-7"), 1)
        async with asyncio.timeout(5):
            while await redis.exists(names.login_pair_key("p0-7", HERE)):
                await asyncio.sleep(0.1)
        await redis.aclose()
        assert (await sign_in(here, "p0-7")).status_code == 401
        # Had the window not ended, this was the third failure and the next attempt would wait.
        assert (await sign_in(here, "p0-7")).status_code == 401


async def test_no_delays_when_turned_off(database_url: str, redis_url: str, tmp_path: Path,
                                         seeded_db: Any) -> None:
    """PTSA_LOGIN_DELAY_MAX=0: failures go straight to the lockout, as before the delays."""
    settings = make_settings(database_url, redis_url, tmp_path, PTSA_LOGIN_DELAY_MAX="0")
    assert settings.login_delay_max == timedelta(0)
    async with app_with(settings.with_overrides(login_max_attempts=3)) as here:
        for _ in range(3):
            assert (await sign_in(here, "p0-8")).status_code == 401
        locked = await sign_in(here, "p0-8", DEMO_PASSWORD)
        assert locked.status_code == 429 and "minute" in locked.json()["error"]["message"]


async def test_the_lockout_follows_its_environment_settings(
        database_url: str, redis_url: str, tmp_path: Path, seeded_db: Any) -> None:
    """PTSA_LOGIN_MAX_ATTEMPTS=3 and PTSA_LOGIN_WINDOW=2m reach the throttle: the fourth
    attempt is refused, even with the right password, for at most the two-minute window."""
    settings = make_settings(database_url, redis_url, tmp_path, PTSA_LOGIN_DELAY_MAX="0",
                             PTSA_LOGIN_MAX_ATTEMPTS="3", PTSA_LOGIN_WINDOW="2m")
    async with app_with(settings) as here:
        for _ in range(3):
            assert (await sign_in(here, "p0-9")).status_code == 401
        locked = await sign_in(here, "p0-9", DEMO_PASSWORD)
        assert locked.status_code == 429, locked.text
        assert 60 < int(locked.headers["retry-after"]) <= 120
