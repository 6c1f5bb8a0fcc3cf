"""Typed settings read from environment variables and checked at start-up.

Every variable is optional in development. Production (``PTSA_ENV=production``) refuses the
development secret key, so a forgotten variable is a start-up error and not a forged session.
Durations accept ``s``, ``m`` and ``h`` suffixes (``15m``, ``90s``) so a test can run a whole SLA
breach in seconds.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.errors import ConfigError

DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*$")
_UNIT_SECONDS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(name: str, text: str) -> timedelta:
    """Parse ``15m``/``90s``/``2h`` (a bare number is seconds).

    Raises:
        ConfigError: the text is not a positive duration.
    """
    match = _DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        raise ConfigError(
            f"{name} must be a positive duration such as 15m, 90s or 2h; got {text!r}")
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def _optional_duration(name: str, text: str | None) -> timedelta | None:
    return parse_duration(name, text) if text and text.strip() else None


def _parse_float(name: str, text: str, low: float, high: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(
            f"{name} must be a number between {low} and {high}; got {text!r}") from None
    if not low < value < high:
        raise ConfigError(f"{name} must be between {low} and {high} (exclusive); got {text!r}")
    return value


def _parse_int(name: str, text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number; got {text!r}") from None
    if value < low:
        raise ConfigError(f"{name} must be at least {low}; got {value}")
    return value


def _parse_relay(text: str) -> str:
    if text not in ("on", "sweep", "off"):
        raise ConfigError(f"PTSA_RELAY must be 'on', 'sweep' or 'off'; got {text!r}")
    return text


def normalise_database_url(url: str) -> str:
    """Map the URLs people write to the async drivers we ship.

    ``postgresql://`` and ``postgres://`` use psycopg 3; ``sqlite:///path`` uses aiosqlite.
    """
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url.split("://", 1)[1]
    if url.startswith(("postgresql+psycopg://", "sqlite+aiosqlite://")):
        return url
    raise ConfigError(
        f"DATABASE_URL must start with postgresql:// or sqlite:///; got {url.split(':', 1)[0]!r}"
    )


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    secret_key: str = DEV_SECRET_KEY
    database_url: str = ""
    redis_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    allowed_origins: tuple[str, ...] = ()
    timezone: str = "Asia/Jakarta"
    smtp_url: str | None = None
    mail_from: str = "PTSA Kemnaker <ptsa@kemnaker.go.id>"
    sms_url: str | None = None
    # How the SMS request is shaped: JSON-ish "field=template" pairs, see workers/sms.py.
    sms_method: str = "POST"
    sms_fields: str = "number={phone}&message={text}"
    # None: the [sla] section of config/organisation.toml decides (see hub.sla_clocks).
    sla_p1_pickup: timedelta | None = None
    sla_p2_pickup: timedelta | None = None
    sla_warn_at: float = 0.8
    sla_sweep_interval: timedelta = timedelta(seconds=10)
    # How long a worker may hold a notification it is sending before another worker may retry it
    # (see docs/OPERATIONS.md, "Notifications"): longer than one SMTP/SMS attempt can take.
    notify_lease: timedelta = timedelta(seconds=60)
    calendar: str = "office"
    office_hours: str = "mon-fri 08:00-16:00"
    base_url: str = ""
    var_dir: Path = field(default=PROJECT_ROOT / "var")
    session_max_age: timedelta = timedelta(hours=10)
    history_max_len: int = 10_000
    history_max_age: timedelta = timedelta(hours=26)
    ws_queue_size: int = 256
    ws_max_subscriptions: int = 64
    ws_max_message_bytes: int = 64 * 1024
    # How often each web process re-checks its sockets' sign-ins and subscriptions.
    ws_recheck_interval: timedelta = timedelta(seconds=30)
    # The outbox relay in this process: "on" (publish after commit + sweep), "sweep" (only the
    # sweep, e.g. when a separate process publishes), "off" (tests of a crashed relay).
    relay: str = "on"
    login_max_attempts: int = 5
    login_window: timedelta = timedelta(minutes=15)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def public_url(self) -> str:
        return self.base_url or f"http://{self.host}:{self.port}"

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from the environment, failing with a plain message on a bad value.

    Raises:
        ConfigError: a variable is malformed, or production runs with a default secret.
    """
    env = dict(os.environ if environ is None else environ)
    get = env.get
    mode = get("PTSA_ENV", "development")
    if mode not in ("development", "production"):
        raise ConfigError(f"PTSA_ENV must be 'development' or 'production'; got {mode!r}")
    var_dir = Path(get("PTSA_VAR_DIR", str(PROJECT_ROOT / "var")))
    secret = get("PTSA_SECRET_KEY", DEV_SECRET_KEY)
    if mode == "production" and (secret == DEV_SECRET_KEY or len(secret) < 32):
        raise ConfigError(
            "PTSA_SECRET_KEY must be set to a random value of at least 32 characters in production "
            "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    timezone = get("PTSA_TIMEZONE", "Asia/Jakarta")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"PTSA_TIMEZONE must be an IANA time zone such as Asia/Jakarta; "
                          f"got {timezone!r}") from None
    calendar = get("PTSA_CALENDAR", "office")
    if calendar not in ("office", "always"):
        raise ConfigError(f"PTSA_CALENDAR must be 'office' or 'always'; got {calendar!r}")
    host = get("PTSA_HOST", "127.0.0.1")
    port = _parse_int("PTSA_PORT", get("PTSA_PORT", "8000"), 0)
    origins = tuple(o.strip().rstrip("/") for o in get("PTSA_ALLOWED_ORIGINS", "").split(",")
                    if o.strip())
    if mode == "production" and not origins:
        raise ConfigError("PTSA_ALLOWED_ORIGINS must list the hub's public origin(s) in "
                          "production, e.g. https://ptsa.kemnaker.go.id")
    database_url = get("DATABASE_URL") or f"sqlite:///{var_dir / 'ptsa.db'}"
    sms_method = get("PTSA_SMS_METHOD", "POST").upper()
    if sms_method not in ("GET", "POST", "JSON"):
        raise ConfigError(f"PTSA_SMS_METHOD must be GET, POST or JSON; got {sms_method!r}")
    settings = Settings(
        env=mode,
        secret_key=secret,
        database_url=normalise_database_url(database_url),
        redis_url=get("REDIS_URL") or None,
        host=host,
        port=port,
        allowed_origins=origins,
        timezone=timezone,
        smtp_url=get("PTSA_SMTP_URL") or None,
        mail_from=get("PTSA_MAIL_FROM", Settings.mail_from),
        sms_url=get("PTSA_SMS_URL") or None,
        sms_method=sms_method,
        sms_fields=get("PTSA_SMS_FIELDS", Settings.sms_fields),
        sla_p1_pickup=_optional_duration("PTSA_SLA_P1_PICKUP", get("PTSA_SLA_P1_PICKUP")),
        sla_p2_pickup=_optional_duration("PTSA_SLA_P2_PICKUP", get("PTSA_SLA_P2_PICKUP")),
        sla_warn_at=_parse_float("PTSA_SLA_WARN_AT", get("PTSA_SLA_WARN_AT", "0.8"), 0.0, 1.0),
        sla_sweep_interval=parse_duration("PTSA_SLA_SWEEP", get("PTSA_SLA_SWEEP", "10s")),
        notify_lease=parse_duration("PTSA_NOTIFY_LEASE", get("PTSA_NOTIFY_LEASE", "60s")),
        calendar=calendar,
        office_hours=get("PTSA_OFFICE_HOURS", "mon-fri 08:00-16:00"),
        base_url=get("PTSA_BASE_URL", "").rstrip("/"),
        var_dir=var_dir,
        session_max_age=parse_duration("PTSA_SESSION_MAX_AGE", get("PTSA_SESSION_MAX_AGE", "10h")),
        history_max_len=_parse_int("PTSA_HISTORY_MAX_LEN",
                                   get("PTSA_HISTORY_MAX_LEN", "10000"), 100),
        history_max_age=parse_duration("PTSA_HISTORY_MAX_AGE", get("PTSA_HISTORY_MAX_AGE", "26h")),
        ws_queue_size=_parse_int("PTSA_WS_QUEUE_SIZE", get("PTSA_WS_QUEUE_SIZE", "256"), 2),
        ws_max_subscriptions=_parse_int("PTSA_WS_MAX_SUBSCRIPTIONS",
                                        get("PTSA_WS_MAX_SUBSCRIPTIONS", "64"), 1),
        ws_recheck_interval=parse_duration("PTSA_WS_RECHECK", get("PTSA_WS_RECHECK", "30s")),
        relay=_parse_relay(get("PTSA_RELAY", "on")),
    )
    # Validate the office-hours text now rather than at the first SLA computation.
    from hub.domain.calendar import parse_office_hours

    parse_office_hours(settings.office_hours)
    return settings
