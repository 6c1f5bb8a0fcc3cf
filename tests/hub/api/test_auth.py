"""Signing in for a bearer token: success, refusal, throttling, and how passwords are stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import update
from sqlmodel import col, select

from config.seed import DEMO_PASSWORD
from config.settings import Settings
from hub.auth.passwords import needs_rehash, verify_password
from hub.models import Staff
from tests.conftest import ApiClient, make_settings

TOKEN_URL = "/api/v1/auth/token"


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path) -> Settings:
    """A lower failed-attempt limit than production's 5, so the throttling tests stay quick
    (each failed attempt costs a full Argon2id verification on purpose), and no delays between
    attempts (PTSA_LOGIN_DELAY_MAX=0): these tests fail back to back to reach the lockout, and
    the delays have their own tests (test_login_delay.py)."""
    return make_settings(database_url, redis_url, tmp_path, PTSA_LOGIN_DELAY_MAX="0") \
        .with_overrides(login_max_attempts=3)


async def test_sign_in_returns_a_bearer_token_that_works(api: ApiClient) -> None:
    """Right username and password: 200 with a bearer token that /me accepts."""
    r = await api.http.post(TOKEN_URL, json={"username": "P1-Barenbang-1",
                                             "password": DEMO_PASSWORD})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer" and body["access_token"]
    me = await api.http.get("/api/v1/me",
                            headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    data = me.json()
    assert (data["username"], data["role"], data["unit"]) == ("p1-barenbang-1", "p1", "barenbang")
    assert "p1.barenbang" in data["channels"]
    assert "password_hash" not in me.text


async def test_wrong_password_unknown_user_and_inactive_account_look_the_same(
        api: ApiClient, app: Any) -> None:
    """Each refusal is 401 bad_credentials with one message, so usernames cannot be probed."""
    async with app.state.ctx.db.write() as session:
        await session.exec(update(Staff).where(col(Staff.username) == "p0-2").values(active=False))
    answers = []
    for username, password in [("p0-1", "wrong-password"), ("nobody-here", DEMO_PASSWORD),
                               ("p0-2", DEMO_PASSWORD), ("p0-1", "")]:
        r = await api.http.post(TOKEN_URL, json={"username": username, "password": password})
        assert r.status_code == 401, r.text
        assert r.headers["www-authenticate"] == "Bearer"
        answers.append(r.json())
    assert all(a == answers[0] for a in answers)
    assert answers[0]["error"]["code"] == "bad_credentials"


async def test_malformed_sign_in_requests(api: ApiClient) -> None:
    """A missing username is 422; malformed JSON is 400; neither is a 500."""
    r = await api.http.post(TOKEN_URL, json={"password": "x"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid"
    r = await api.http.post(TOKEN_URL, content=b"{nope")
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_json"
    r = await api.http.post(TOKEN_URL, json={"username": "p0-1", "password": ["x"]})
    assert r.status_code == 401


async def test_repeated_failures_are_throttled_with_retry_after(api: ApiClient,
                                                                app: Any) -> None:
    """After N failed attempts the username is locked: 429 with Retry-After, even for the
    right password, while other users still sign in."""
    limit = app.state.ctx.settings.login_max_attempts
    for _ in range(limit):
        r = await api.http.post(TOKEN_URL, json={"username": "p0-3", "password": "guess-123"})
        assert r.status_code == 401
    r = await api.http.post(TOKEN_URL, json={"username": "p0-3", "password": DEMO_PASSWORD})
    assert r.status_code == 429, r.text
    assert r.json()["error"]["code"] == "login_throttled"
    retry_after = int(r.headers["retry-after"])
    assert 0 < retry_after <= app.state.ctx.settings.login_window.total_seconds()
    r = await api.http.post(TOKEN_URL, json={"username": "p0-4", "password": DEMO_PASSWORD})
    assert r.status_code == 200


async def test_one_address_guessing_many_usernames_is_throttled(api: ApiClient,
                                                                app: Any) -> None:
    """Spraying one password over many usernames from one address also ends in 429."""
    per_address = app.state.ctx.settings.login_max_attempts * 4
    for n in range(per_address):
        r = await api.http.post(TOKEN_URL, json={"username": f"ghost-{n}", "password": "x"})
        assert r.status_code == 401
    r = await api.http.post(TOKEN_URL, json={"username": "p0-5", "password": DEMO_PASSWORD})
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 0


async def test_a_success_clears_the_username_counter(api: ApiClient, app: Any) -> None:
    """A few mistakes followed by the right password do not count towards a later lockout."""
    limit = app.state.ctx.settings.login_max_attempts
    for _round in range(2):
        for _ in range(limit - 1):
            r = await api.http.post(TOKEN_URL, json={"username": "p0-6", "password": "typo"})
            assert r.status_code == 401
        r = await api.http.post(TOKEN_URL, json={"username": "p0-6", "password": DEMO_PASSWORD})
        assert r.status_code == 200


async def test_passwords_are_stored_as_argon2id(app: Any) -> None:
    """Every stored hash is Argon2id ($argon2id$...) and verifies the demo password."""
    async with app.state.ctx.db.read() as session:
        hashes = (await session.exec(select(Staff.password_hash))).all()
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert DEMO_PASSWORD not in "".join(hashes)
    assert verify_password(hashes[0], DEMO_PASSWORD)
    assert not verify_password(hashes[0], DEMO_PASSWORD + "x")


def client_at(app: Any, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_an_attacker_elsewhere_cannot_lock_the_rightful_user_out(app: Any) -> None:
    """Wrong passwords for ``spv-barenbang`` from one address lock only that address for that
    account: the supervisor signs in from the desk they used before and from a new address,
    while the attacker's address keeps getting 429."""
    limit = app.state.ctx.settings.login_max_attempts
    right = {"username": "spv-barenbang", "password": DEMO_PASSWORD}
    async with client_at(app, "10.0.0.5") as desk, client_at(app, "172.16.9.9") as attacker, \
            client_at(app, "10.0.0.77") as laptop:
        assert (await desk.post(TOKEN_URL, json=right)).status_code == 200
        for _ in range(limit * 4):
            r = await attacker.post(TOKEN_URL, json={"username": "spv-barenbang",
                                                     "password": "tebak-123"})
            assert r.status_code in (401, 429)
        r = await attacker.post(TOKEN_URL, json=right)
        assert r.status_code == 429 and r.json()["error"]["code"] == "login_throttled"
        assert (await desk.post(TOKEN_URL, json=right)).status_code == 200
        assert (await laptop.post(TOKEN_URL, json=right)).status_code == 200


async def test_a_hash_made_with_weaker_parameters_is_upgraded_at_sign_in(api: ApiClient,
                                                                         app: Any) -> None:
    """After a successful sign-in, a hash made with weaker Argon2 parameters is replaced by one
    with today's parameters that still verifies the password."""
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(DEMO_PASSWORD)
    async with app.state.ctx.db.write() as session:
        await session.exec(update(Staff).where(col(Staff.username) == "p0-5")  # type: ignore[call-overload]
                           .values(password_hash=weak))
    assert needs_rehash(weak)
    r = await api.http.post(TOKEN_URL, json={"username": "p0-5", "password": DEMO_PASSWORD})
    assert r.status_code == 200, r.text
    async with app.state.ctx.db.read() as session:
        stored = (await session.exec(select(Staff.password_hash)
                                     .where(Staff.username == "p0-5"))).one()
    assert stored != weak and not needs_rehash(stored)
    assert verify_password(stored, DEMO_PASSWORD)
    again = await api.http.post(TOKEN_URL, json={"username": "p0-5", "password": DEMO_PASSWORD})
    assert again.status_code == 200
