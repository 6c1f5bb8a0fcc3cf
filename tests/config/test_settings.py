"""Settings from environment variables: parsed, typed, and refused in plain words when wrong."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from config.settings import (
    DEV_SECRET_KEY,
    load_settings,
    normalise_database_url,
    parse_duration,
)
from hub.errors import ConfigError

GOOD_SECRET = "Hq3vN8-zR1xLk5TwY0bJ7mPd2sGf9cA4eU6"
PRODUCTION = {"PTSA_ENV": "production", "PTSA_SECRET_KEY": GOOD_SECRET,
              "PTSA_ALLOWED_ORIGINS": "https://ptsa.kemnaker.go.id",
              "PTSA_BASE_URL": "https://ptsa.kemnaker.go.id"}


@pytest.mark.parametrize(("text", "seconds"), [
    ("15m", 900), ("90s", 90), ("2h", 7200), ("1.5m", 90), ("45", 45), (" 30m ", 1800),
    ("0.5s", 0.5)])
def test_durations_parse(text: str, seconds: float) -> None:
    """15m, 90s, 2h (and a bare number of seconds) become timedeltas."""
    assert parse_duration("PTSA_SLA_P1_PICKUP", text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "0", "0m", "-5m", "15x", "m", "15 minutes", "1h30m",
                                  "abc", "1e3s"])
def test_bad_durations_name_the_variable(text: str) -> None:
    """A malformed or non-positive duration is a ConfigError naming the variable and value."""
    with pytest.raises(ConfigError) as caught:
        parse_duration("PTSA_SLA_P2_PICKUP", text)
    assert "PTSA_SLA_P2_PICKUP" in caught.value.message
    assert repr(text) in caught.value.message


def test_defaults_follow_design_md(tmp_path: Path) -> None:
    """With nothing set: development, SQLite under var/, no Redis URL, pickups from the
    catalogue (no override), warnings at 80 %, Asia/Jakarta, office calendar, port 8000."""
    s = load_settings({"PTSA_VAR_DIR": str(tmp_path)})
    assert (s.env, s.is_production) == ("development", False)
    assert s.database_url == f"sqlite+aiosqlite:///{tmp_path / 'ptsa.db'}"
    assert s.redis_url is None
    assert (s.sla_p1_pickup, s.sla_p2_pickup) == (None, None)
    assert s.sla_warn_at == 0.8
    assert (s.timezone, s.calendar, s.port, s.host) == ("Asia/Jakarta", "office", 8000,
                                                          "127.0.0.1")
    assert s.var_dir == tmp_path


def test_values_are_read_and_typed() -> None:
    """Each variable lands in its typed field."""
    s = load_settings({
        "DATABASE_URL": "postgres://u:p@db:5432/ptsa", "REDIS_URL": "redis://r:6379/1",
        "PTSA_SLA_P1_PICKUP": "90s", "PTSA_SLA_P2_PICKUP": "2h", "PTSA_SLA_WARN_AT": "0.5",
        "PTSA_PORT": "9001", "PTSA_CALENDAR": "always", "PTSA_TIMEZONE": "Asia/Makassar",
        "PTSA_ALLOWED_ORIGINS": "https://a.example/, https://b.example ,",
        "PTSA_SMS_METHOD": "get", "PTSA_SMTP_URL": "", "PTSA_BASE_URL": "https://ptsa.example/",
        "PTSA_OFFICE_HOURS": "mon-thu 07:30-16:00; fri 07:30-11:30 13:00-16:30",
    })
    assert s.database_url == "postgresql+psycopg://u:p@db:5432/ptsa"
    assert s.redis_url == "redis://r:6379/1"
    assert (s.sla_p1_pickup, s.sla_p2_pickup) == (timedelta(seconds=90), timedelta(hours=2))
    assert (s.sla_warn_at, s.port, s.calendar) == (0.5, 9001, "always")
    assert s.tz.key == "Asia/Makassar"
    assert s.allowed_origins == ("https://a.example", "https://b.example")
    assert (s.sms_method, s.smtp_url, s.public_url) == ("GET", None, "https://ptsa.example")


@pytest.mark.parametrize(("variable", "value"), [
    ("PTSA_SLA_P1_PICKUP", "soon"), ("PTSA_SLA_P2_PICKUP", "-1m"), ("PTSA_SLA_SWEEP", "0s"),
    ("PTSA_SLA_WARN_AT", "1.5"), ("PTSA_SLA_WARN_AT", "eighty"), ("PTSA_SLA_WARN_AT", "0"),
    ("PTSA_PORT", "http"), ("PTSA_ENV", "staging"), ("PTSA_TIMEZONE", "Mars/Olympus"),
    ("PTSA_CALENDAR", "sometimes"), ("PTSA_SMS_METHOD", "PUT"), ("DATABASE_URL", "mysql://x"),
    ("PTSA_HISTORY_MAX_LEN", "5"), ("PTSA_SESSION_MAX_AGE", "forever"),
])
def test_bad_values_are_refused_naming_the_variable(variable: str, value: str) -> None:
    """Each malformed variable is a ConfigError whose message names it."""
    with pytest.raises(ConfigError) as caught:
        load_settings({variable: value})
    assert variable in caught.value.message


def test_bad_office_hours_are_refused_at_start_up() -> None:
    """PTSA_OFFICE_HOURS is checked when settings load, not at the first SLA computation."""
    with pytest.raises(ConfigError) as caught:
        load_settings({"PTSA_OFFICE_HOURS": "weekdays nine to five"})
    assert "PTSA_OFFICE_HOURS" in caught.value.message


def test_production_is_accepted_when_complete() -> None:
    """A real secret and the allowed origins are enough for production."""
    s = load_settings(PRODUCTION)
    assert s.is_production and s.secret_key == GOOD_SECRET


@pytest.mark.parametrize("secret", [
    None, DEV_SECRET_KEY, "short-secret", "k" * 32, "s" * 48, "ab" * 20, "0123456789" * 4,
    "password-password-password-password", "aaaabbbbccccddddaaaabbbbccccdddd1", " " * 40])
def test_production_refuses_the_default_or_a_weak_secret(secret: str | None) -> None:
    """Production without PTSA_SECRET_KEY, with the development one, a short one, or one of
    repeated or low-variety characters, fails."""
    env = dict(PRODUCTION)
    if secret is None:
        del env["PTSA_SECRET_KEY"]
    else:
        env["PTSA_SECRET_KEY"] = secret
    with pytest.raises(ConfigError, match="PTSA_SECRET_KEY"):
        load_settings(env)


@pytest.mark.parametrize("origins", [None, "", " , "])
def test_production_requires_allowed_origins(origins: str | None) -> None:
    """Production without PTSA_ALLOWED_ORIGINS fails (the WebSocket Origin check needs it)."""
    env = dict(PRODUCTION)
    if origins is None:
        del env["PTSA_ALLOWED_ORIGINS"]
    else:
        env["PTSA_ALLOWED_ORIGINS"] = origins
    with pytest.raises(ConfigError, match="PTSA_ALLOWED_ORIGINS"):
        load_settings(env)


def test_development_without_a_secret_generates_one_per_install(tmp_path: Path) -> None:
    """Development without PTSA_SECRET_KEY makes a random key in var/secret_key (mode 0600),
    never the built-in one, and every later start (every process) reuses it."""
    first = load_settings({"PTSA_VAR_DIR": str(tmp_path / "var")}).secret_key
    path = tmp_path / "var" / "secret_key"
    assert first != DEV_SECRET_KEY and len(first) >= 43
    assert path.read_text().strip() == first
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_settings({"PTSA_VAR_DIR": str(tmp_path / "var")}).secret_key == first
    other = load_settings({"PTSA_VAR_DIR": str(tmp_path / "elsewhere")}).secret_key
    assert other not in (first, DEV_SECRET_KEY)


def test_development_tightens_a_readable_secret_file(tmp_path: Path) -> None:
    """A var/secret_key that others may read is made owner-only before it is used."""
    path = tmp_path / "secret_key"
    path.write_text("Hq3vN8-zR1xLk5TwY0bJ7mPd2sGf9cA4eU6\n")
    path.chmod(0o644)
    assert load_settings({"PTSA_VAR_DIR": str(tmp_path)}).secret_key == path.read_text().strip()
    assert path.stat().st_mode & 0o777 == 0o600


def test_development_with_an_unwritable_var_dir_says_so(tmp_path: Path) -> None:
    """No PTSA_SECRET_KEY and nowhere to keep a generated one is a ConfigError naming both."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="PTSA_SECRET_KEY.*PTSA_VAR_DIR"):
        load_settings({"PTSA_VAR_DIR": str(blocker / "var")})


@pytest.mark.parametrize("base_url", [None, "", "ptsa.kemnaker.go.id", "ftp://x"])
def test_production_requires_the_public_base_url(base_url: str | None) -> None:
    """Production without an http(s) PTSA_BASE_URL fails: notification links would be wrong."""
    env = dict(PRODUCTION)
    if base_url is None:
        del env["PTSA_BASE_URL"]
    else:
        env["PTSA_BASE_URL"] = base_url
    with pytest.raises(ConfigError, match="PTSA_BASE_URL"):
        load_settings(env)


@pytest.mark.parametrize(("given", "expected"), [
    ("postgresql://postgres@127.0.0.1:5432/ptsa", "postgresql+psycopg://postgres@127.0.0.1:5432/ptsa"),
    ("postgres://u:p@db/ptsa", "postgresql+psycopg://u:p@db/ptsa"),
    ("postgresql+psycopg://u@db/ptsa", "postgresql+psycopg://u@db/ptsa"),
    ("sqlite:///var/ptsa.db", "sqlite+aiosqlite:///var/ptsa.db"),
    ("sqlite:////abs/path/ptsa.db", "sqlite+aiosqlite:////abs/path/ptsa.db"),
    ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
])
def test_database_url_is_normalised_to_the_async_drivers(given: str, expected: str) -> None:
    """What people write (postgres://, postgresql://, sqlite:///) maps onto psycopg/aiosqlite."""
    assert normalise_database_url(given) == expected


@pytest.mark.parametrize("given", ["mysql://u@h/db", "postgresql+asyncpg://u@h/db", "ptsa.db",
                                   ""])
def test_unsupported_database_urls_are_refused(given: str) -> None:
    """Another engine or driver is a ConfigError naming DATABASE_URL, without the password."""
    with pytest.raises(ConfigError) as caught:
        normalise_database_url(given)
    assert "DATABASE_URL" in caught.value.message


def test_database_url_error_does_not_print_the_password() -> None:
    """The refusal quotes the scheme only, never credentials."""
    with pytest.raises(ConfigError) as caught:
        load_settings({"DATABASE_URL": "mysql://admin:hunter2@db/ptsa"})
    assert "hunter2" not in caught.value.message


def test_empty_variables_count_as_unset() -> None:
    """REDIS_URL= or DATABASE_URL= (empty) mean the embedded defaults, not a broken URL."""
    s = load_settings({"REDIS_URL": "", "DATABASE_URL": "", "PTSA_VAR_DIR": "/tmp/x"})
    assert s.redis_url is None
    assert s.database_url == "sqlite+aiosqlite:////tmp/x/ptsa.db"


def test_database_pool_size_and_drain_are_read_and_checked(tmp_path: Path) -> None:
    """PTSA_DB_POOL_SIZE reaches every process's PostgreSQL pool (hub and worker contexts);
    PTSA_DRAIN is off by default and a duration otherwise; nonsense is refused."""
    from hub.context import AppContext

    base = {"PTSA_VAR_DIR": str(tmp_path), "REDIS_URL": "redis://127.0.0.1:1/0",
            "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test"}
    settings = load_settings({**base, "PTSA_DB_POOL_SIZE": "3", "PTSA_DRAIN": "5s"})
    assert settings.db_pool_size == 3 and settings.drain == timedelta(seconds=5)
    assert AppContext(settings).db.engine.pool.size() == 3  # type: ignore[attr-defined]
    assert load_settings(base).drain == timedelta(0)
    with pytest.raises(ConfigError, match="PTSA_DB_POOL_SIZE"):
        load_settings({**base, "PTSA_DB_POOL_SIZE": "0"})
    with pytest.raises(ConfigError, match="PTSA_DRAIN"):
        load_settings({**base, "PTSA_DRAIN": "soon"})


def test_login_delays_and_the_websocket_cap_are_read_and_checked(tmp_path: Path) -> None:
    """Defaults: delays from the 2nd failure up to 60 s, 20,000 sockets per process (well above
    the 10,000 boards measured on one); set values are typed; 0 turns the delays off; nonsense
    and a cap below one socket are refused."""
    base = {"PTSA_VAR_DIR": str(tmp_path)}
    s = load_settings(base)
    assert (s.login_delay_after, s.login_delay_max) == (2, timedelta(seconds=60))
    assert (s.login_max_attempts, s.login_window) == (5, timedelta(minutes=15))
    assert s.ws_max_connections == 20_000
    s = load_settings({**base, "PTSA_LOGIN_DELAY_AFTER": "3", "PTSA_LOGIN_DELAY_MAX": "2m",
                       "PTSA_WS_MAX_CONNECTIONS": "15000", "PTSA_LOGIN_MAX_ATTEMPTS": "8",
                       "PTSA_LOGIN_WINDOW": "1h"})
    assert (s.login_delay_after, s.login_delay_max) == (3, timedelta(minutes=2))
    assert (s.login_max_attempts, s.login_window) == (8, timedelta(hours=1))
    assert s.ws_max_connections == 15_000
    assert load_settings({**base, "PTSA_LOGIN_DELAY_MAX": "0"}).login_delay_max == timedelta(0)
    for variable, value in [("PTSA_LOGIN_DELAY_AFTER", "0"), ("PTSA_LOGIN_DELAY_AFTER", "two"),
                            ("PTSA_LOGIN_DELAY_MAX", "-5s"), ("PTSA_WS_MAX_CONNECTIONS", "0"),
                            ("PTSA_WS_MAX_CONNECTIONS", "lots"),
                            ("PTSA_LOGIN_MAX_ATTEMPTS", "0"), ("PTSA_LOGIN_MAX_ATTEMPTS", "5x"),
                            ("PTSA_LOGIN_WINDOW", "soon"), ("PTSA_LOGIN_WINDOW", "0"),
                            ("PTSA_LOGIN_WINDOW", "0.5s")]:
        with pytest.raises(ConfigError, match=variable):
            load_settings({**base, variable: value})
