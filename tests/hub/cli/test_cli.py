"""The installed ``ptsa`` command, run as a real subprocess: init-db, user add, users, check."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from config.settings import normalise_database_url
from hub.auth.passwords import verify_password
from hub.db import Database
from hub.models import Staff
from tests.support.servers import free_port

PTSA = str(Path(sys.executable).parent / "ptsa")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The caller's environment without any PTSA/database/Redis setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PTSA_") and k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(PTSA_VAR_DIR=str(tmp_path / "var"), PTSA_LOG_LEVEL="WARNING", **extra)
    return env


def ptsa(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([PTSA, *args], env=env, input=stdin, capture_output=True, text=True,
                          timeout=60)


async def ptsa_async(env: dict[str, str], *args: str, stdin: str = "") -> tuple[int, str, str]:
    """Like ``ptsa`` but awaitable, so independent invocations run side by side."""
    proc = await asyncio.create_subprocess_exec(
        PTSA, *args, env=env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def _staff(url: str, username: str) -> Staff | None:
    db = Database(normalise_database_url(url))
    try:
        async with db.read() as session:
            return (await session.exec(select(Staff).where(Staff.username == username))).first()
    finally:
        await db.dispose()


async def test_user_add_creates_an_argon2id_account(database_url: str, tmp_path: Path) -> None:
    """`ptsa init-db` then `ptsa user add … --password-stdin` stores the account with an
    Argon2id hash of the password read from standard input; `ptsa users` lists it."""
    env = _env(tmp_path, DATABASE_URL=database_url)
    done = ptsa(env, "init-db")
    assert done.returncode == 0, done.stderr
    assert "schema ready" in done.stdout
    done = ptsa(env, "user", "add", "budi.santoso", "--role", "p1", "--unit", "barenbang",
                "--name", "Budi Santoso", "--email", "budi@kemnaker.go.id", "--password-stdin",
                stdin="kata-sandi-panjang\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "added budi.santoso (p1, barenbang)"
    staff = await _staff(database_url, "budi.santoso")
    assert staff is not None
    assert (staff.full_name, staff.role, staff.unit_code, staff.email, staff.active) == (
        "Budi Santoso", "p1", "barenbang", "budi@kemnaker.go.id", True)
    assert staff.password_hash.startswith("$argon2id$")
    assert verify_password(staff.password_hash, "kata-sandi-panjang")
    assert not verify_password(staff.password_hash, "kata-sandi-panjang\n")
    listing = ptsa(env, "users")
    assert listing.returncode == 0 and "budi.santoso" in listing.stdout


async def test_user_add_refuses_bad_input_with_exit_code_2(tmp_path: Path) -> None:
    """Unknown role or unit, a role at the wrong kind of unit, a short password, a bad or
    taken username: exit code 2, a one-line reason on stderr, no traceback, nothing added."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = _env(tmp_path, DATABASE_URL=url)
    assert ptsa(env, "init-db").returncode == 0
    first = ptsa(env, "user", "add", "siti", "--role", "p0", "--unit", "ptsa",
                 "--password-stdin", stdin="kata-sandi-panjang\n")
    assert first.returncode == 0, first.stderr
    cases = {
        "invalid choice: 'boss'": ["andi", "--role", "boss", "--unit", "ptsa"],
        "unknown unit": ["andi", "--role", "p1", "--unit", "no-such-unit"],
        "a p2 works at a eselon2 unit": ["andi", "--role", "p2", "--unit", "barenbang"],
        "a p0 works at a front unit": ["andi", "--role", "p0", "--unit", "pusdatin"],
        "at least 8 characters": ["andi", "--role", "p0", "--unit", "ptsa", "--short"],
        "username must be lower-case": ["Andi Wijaya", "--role", "p0", "--unit", "ptsa"],
        "'siti' is taken": ["siti", "--role", "p0", "--unit", "ptsa"],
        "the following arguments are required: --unit": ["andi", "--role", "p0"],
        "email must be an email address": ["andi", "--role", "p0", "--unit", "ptsa",
                                           "--email", "andi at kemnaker"],
        "phone must be a phone number": ["andi", "--role", "p0", "--unit", "ptsa",
                                         "--phone", "call the office"],
    }
    runs = []
    for args in cases.values():
        password = "short\n" if "--short" in args else "kata-sandi-panjang\n"
        args = [a for a in args if a != "--short"]
        runs.append(ptsa_async(env, "user", "add", *args, "--password-stdin", stdin=password))
    for expected, (code, out, err) in zip(cases, await asyncio.gather(*runs), strict=True):
        assert code == 2, (expected, out, err)
        assert expected in err, (expected, err)
        assert "Traceback" not in err
    assert await _staff(url, "andi") is None


async def test_check_reports_what_answers(redis_url: str, tmp_path: Path) -> None:
    """`ptsa check` says ok for a reachable database and Redis (exit 0) and names what does
    not answer (exit 1)."""
    url = f"sqlite:///{tmp_path / 'check.db'}"
    port = free_port()
    dead = f"redis://:hunter2@127.0.0.1:{port}/0"  # with a password, which must not be printed
    (good, out, err), (bad, bad_out, bad_err) = await asyncio.gather(
        ptsa_async(_env(tmp_path, DATABASE_URL=url, REDIS_URL=redis_url), "check"),
        ptsa_async(_env(tmp_path, DATABASE_URL=url, REDIS_URL=dead), "check"))
    assert good == 0, out + err
    assert "database sqlite answers" in out and "all good" in out
    assert "P1 pickup 15 min (from organisation.toml)" in out
    assert bad == 1, bad_out + bad_err
    assert f"Redis at redis://:***@127.0.0.1:{port}/0 does not answer" in bad_out
    assert "1 problem(s)" in bad_out and "hunter2" not in bad_out + bad_err


@pytest.mark.parametrize(("env", "expected"), [
    ({"PTSA_SLA_P1_PICKUP": "soon"}, "PTSA_SLA_P1_PICKUP"),
    ({"PTSA_ENV": "production"}, "PTSA_SECRET_KEY"),
    ({"PTSA_ENV": "production", "PTSA_SECRET_KEY": "k" * 32}, "PTSA_SECRET_KEY"),
    ({"PTSA_ENV": "production", "PTSA_ALLOWED_ORIGINS": "https://ptsa.example",
      "PTSA_SECRET_KEY": "Zq8-vK2pLm4nRt7wXy1cBd5fGh9jS0aE"}, "PTSA_BASE_URL"),
    ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
])
def test_configuration_errors_are_plain_words_and_exit_2(tmp_path: Path, env: dict[str, str],
                                                         expected: str) -> None:
    """A bad variable stops the command with exit code 2 and a sentence naming it."""
    done = ptsa(_env(tmp_path, **env), "check")
    assert done.returncode == 2, done.stdout + done.stderr
    assert expected in done.stderr and "Traceback" not in done.stderr


def test_demo_accounts_are_refused_in_production(tmp_path: Path) -> None:
    """`ptsa seed --demo` will not create shared-password accounts in production."""
    env = _production_env(tmp_path, f"sqlite:///{tmp_path / 'prod.db'}")
    done = ptsa(env, "seed", "--demo")
    assert done.returncode == 2
    assert "refusing to create demo accounts" in done.stderr
    assert not (tmp_path / "prod.db").exists()


def test_web_without_redis_url_explains_itself(tmp_path: Path) -> None:
    """`ptsa web` without REDIS_URL says to set it or use `ptsa run` (exit 2)."""
    done = ptsa(_env(tmp_path), "web")
    assert done.returncode == 2
    assert "REDIS_URL" in done.stderr and "ptsa run" in done.stderr



def _production_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    return _env(tmp_path, PTSA_ENV="production", PTSA_SECRET_KEY="Zq8-vK2pLm4nRt7wXy1cBd5fGh9jS0aE",
                PTSA_ALLOWED_ORIGINS="https://ptsa.example", PTSA_BASE_URL="https://ptsa.example",
                DATABASE_URL=database_url, PTSA_PORT=str(free_port()))


async def test_run_in_production_refuses_the_demo_accounts(database_url: str,
                                                           tmp_path: Path) -> None:
    """`ptsa run` in production stops with exit code 2 before creating any demo account."""
    done = ptsa(_production_env(tmp_path, database_url), "run")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "demo accounts" in done.stderr and "--no-demo" in done.stderr
    assert "Traceback" not in done.stderr
    if database_url.startswith("sqlite"):
        assert not Path(database_url.split("///", 1)[1]).exists()
    else:
        db = Database(normalise_database_url(database_url))
        try:
            await db.create_schema()
        finally:
            await db.dispose()
        assert await _staff(database_url, "admin") is None


async def test_demo_data_is_refused_in_production_whoever_asks(tmp_path: Path) -> None:
    """`prepare(demo=True)`, which every entry point uses, refuses production settings."""
    from config.settings import load_settings
    from hub.cli.runner import prepare
    from hub.errors import ConfigError

    settings = load_settings(_production_env(tmp_path, f"sqlite:///{tmp_path / 'p.db'}"))
    with pytest.raises(ConfigError, match="demo accounts"):
        await prepare(settings, demo=True)
    assert not (tmp_path / "p.db").exists()
