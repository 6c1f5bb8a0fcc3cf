"""Typed settings read from environment variables and checked at start-up.

Every variable is optional in development, where a missing ``PTSA_SECRET_KEY`` is replaced by a
random key generated once per install and kept in ``var/secret_key`` (owner-only): the built-in
key is never used to sign anything, so nobody can mint a token from the published source.
Production (``PTSA_ENV=production``) requires a secret with real entropy and ``PTSA_BASE_URL``,
so a forgotten variable is a start-up error and not a forged session or a dead link.
Durations accept ``s``, ``m`` and ``h`` suffixes (``15m``, ``90s``) so a test can run a whole SLA
breach in seconds.
"""

from __future__ import annotations

import math
import os
import re
import secrets
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.errors import ConfigError

# Published in the source, so refused everywhere; kept as a name for the tests that prove it.
DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"
SECRET_FILE = "secret_key"
MIN_SECRET_LENGTH = 32
MIN_SECRET_DISTINCT = 10  # different characters
MIN_SECRET_BITS = 128.0  # length × per-character Shannon entropy of the text
PROJECT_ROOT = Path(__file__).resolve().parent.parent
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*\Z")
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


def _zero_or_duration(name: str, text: str) -> timedelta:
    """A duration that may also be ``0`` (off)."""
    if text.strip() in ("", "0", "0s"):
        return timedelta(0)
    return parse_duration(name, text)


def _seconds_or_more(name: str, text: str) -> timedelta:
    """A duration of at least a second (it becomes a Redis TTL in whole seconds)."""
    value = parse_duration(name, text)
    if value < timedelta(seconds=1):
        raise ConfigError(f"{name} must be at least 1s; got {text!r}")
    return value


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


def secret_weakness(secret: str) -> str | None:
    """Why ``secret`` is too weak for production, or None. Catches the forms people type:
    short strings, one character repeated, a short pattern repeated, few distinct characters;
    a random value from ``secrets.token_urlsafe(48)`` passes with a wide margin."""
    if secret == DEV_SECRET_KEY:
        return "it is the built-in development key"
    if len(secret) < MIN_SECRET_LENGTH:
        return f"it has {len(secret)} characters, fewer than {MIN_SECRET_LENGTH}"
    for period in range(1, len(secret) // 2 + 1):
        if all(secret[i] == secret[i % period] for i in range(len(secret))):
            return f"it repeats a pattern of {period} character(s)"
    counts = Counter(secret)
    if len(counts) < MIN_SECRET_DISTINCT:
        return f"it uses only {len(counts)} different characters"
    bits = -len(secret) * sum(n / len(secret) * math.log2(n / len(secret))
                              for n in counts.values())
    if bits < MIN_SECRET_BITS:
        return f"it carries about {bits:.0f} bits of entropy, fewer than {MIN_SECRET_BITS:.0f}"
    return None


def install_secret(var_dir: Path) -> str:
    """The per-install development key in ``var_dir/secret_key``, created on first use.

    Several processes may start at once (``ptsa run``, tests): the key is written to a private
    temporary file and linked into place, so exactly one key wins and all of them read it.

    Raises:
        ConfigError: ``var_dir`` cannot hold the file.
    """
    path = var_dir / SECRET_FILE
    try:
        if not path.exists():
            var_dir.mkdir(parents=True, exist_ok=True)
            tmp = var_dir / f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(48) + "\n")
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another process won the race; use its key
            finally:
                tmp.unlink()
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)  # a key others can read signs their sessions too
        key = path.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"PTSA_SECRET_KEY is unset and no key can be kept in PTSA_VAR_DIR "
                          f"({var_dir}): {exc.strerror or exc}; set PTSA_SECRET_KEY or make "
                          "the directory writable") from None
    if secret_weakness(key) is not None:
        raise ConfigError(f"{path} does not hold a usable key; delete it to get a new one "
                          "(everyone signs in again)")
    return key


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


CLUSTER_SCHEME = "redis+cluster://"


def parse_cluster_url(url: str) -> tuple[tuple[str, int], ...]:
    """``redis+cluster://[[user]:password@]HOST:PORT[,HOST:PORT...]`` → the seed nodes.

    Any reachable node will do as a seed: the client discovers the others from it.

    Raises:
        ConfigError: not of that form (no node, a node without a port, a port out of range).
    """
    rest = url[len(CLUSTER_SCHEME):] if url.startswith(CLUSTER_SCHEME) else None
    if rest is None:
        raise ConfigError(f"a Redis Cluster URL starts with {CLUSTER_SCHEME}; got {url[:40]!r}")
    rest = rest.rsplit("@", 1)[-1].split("/", 1)[0].split("?", 1)[0]
    nodes: list[tuple[str, int]] = []
    for part in rest.split(","):
        host, _, port = part.strip().rpartition(":")
        host = host.strip("[]")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(
                f"REDIS_URL names a Redis Cluster but {part.strip()!r} is not HOST:PORT; write "
                f"{CLUSTER_SCHEME}10.0.0.1:7000,10.0.0.2:7000 (any reachable nodes)")
        nodes.append((host, int(port)))
    return tuple(nodes)


def cluster_password(url: str) -> str | None:
    """The password of a ``redis+cluster://[user]:password@...`` URL, if any."""
    rest = url[len(CLUSTER_SCHEME):]
    if "@" not in rest:
        return None
    userinfo = rest.rsplit("@", 1)[0]
    return userinfo.partition(":")[2] or None


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    secret_key: str = DEV_SECRET_KEY
    database_url: str = ""
    redis_url: str | None = None
    # PTSA_QUEUE_URL as given (None when unset); ``queue_url`` resolves the default.
    explicit_queue_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    allowed_origins: tuple[str, ...] = ()
    timezone: str = "Asia/Jakarta"
    smtp_url: str | None = None
    mail_from: str = "PTSA Kemnaker <ptsa@kemnaker.go.id>"
    sms_url: str | None = None
    # How the SMS request is shaped: JSON-ish "field=template" pairs, see workers/notify/sms.py.
    sms_method: str = "POST"
    sms_fields: str = "number={phone}&message={text}"
    # None: the [sla] section of config/organisation.toml decides (see hub.tasks.clocks).
    sla_p1_pickup: timedelta | None = None
    sla_p2_pickup: timedelta | None = None
    sla_p1_handling: timedelta | None = None
    sla_warn_at: float = 0.8
    sla_sweep_interval: timedelta = timedelta(seconds=10)
    # How long a notification claimed by a worker that stopped renewing it (a crash) waits before
    # another worker may send it; a live worker renews its lease every third of it
    # (see docs/OPERATIONS.md, "Notifications").
    notify_lease: timedelta = timedelta(seconds=5)
    # The longest one SMTP/SMS attempt may take before it counts as failed (and is retried).
    notify_send_timeout: timedelta = timedelta(seconds=30)
    # Socket connect/read timeout of every Redis client (not the pub/sub listener's idle read),
    # and how long a command's HTTP answer may wait on its after-commit Redis work.
    redis_timeout: timedelta = timedelta(seconds=2)
    redis_hook_timeout: timedelta = timedelta(milliseconds=250)
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
    # Open sockets one account may hold on one hub process; the next is closed with 4009.
    ws_max_sockets_per_account: int = 50
    # Open sockets one hub process holds at most; the next is closed with 1013 (try again later)
    # and /healthz turns 503 so the balancer sends new ones elsewhere. At ~12 KiB an idle socket
    # (docs/BENCHMARKS.md), 20,000 is ~240 MiB; 10,000 boards on one process are measured.
    ws_max_connections: int = 20_000
    # How often each web process re-checks its sockets' sign-ins and subscriptions.
    ws_recheck_interval: timedelta = timedelta(seconds=30)
    # The outbox relay in this process: "on" (publish after commit + sweep), "sweep" (only the
    # sweep, e.g. when a separate process publishes), "off" (tests of a crashed relay).
    relay: str = "on"
    # The event loop of the web and worker processes (PTSA_LOOP): "auto" is uvloop where it
    # can be imported, else asyncio's own; "asyncio" forces asyncio's (see hub/cli/loop.py).
    event_loop: str = "auto"
    # The lockout (hub/auth/throttle.py): this many failures of one username at one address
    # within the window lock that pair until the window ends; an address is refused for
    # usernames it never signed in as after four times as many.
    login_max_attempts: int = 5
    login_window: timedelta = timedelta(minutes=15)
    # Before the lockout: from this many failures of one username at one address on, the next
    # attempt waits 1 s, then 2, 4 … up to login_delay_max (0: no delays), refused unchecked
    # until then (hub/auth/throttle.py).
    login_delay_after: int = 2
    login_delay_max: timedelta = timedelta(seconds=60)
    # The hall queue's waiting target (ticket → call): longer waits count as overdue.
    queue_wait_target: timedelta = timedelta(minutes=30)
    # How long a completed request's SKM survey link stays valid (PTSA_SURVEY_DAYS).
    survey_days: int = 30
    # PostgreSQL connections each process keeps (and as many again in a burst): every hub
    # process and every worker process holds up to twice this (docs/OPERATIONS.md, "Past one
    # machine"). SQLite ignores it.
    db_pool_size: int = 10
    # A complaint's answer is due in these working days (PTSA_COMPLAINT_DAYS), or in this much
    # business time when set (PTSA_COMPLAINT_RESPONSE, for drills and tests).
    complaint_days: int = 5
    complaint_response: timedelta | None = None
    # Behind a load balancer: after SIGTERM, answer /healthz 503 "draining" this long (so the
    # balancer stops sending new connections) before closing sockets with 1012. 0: stop at once.
    drain: timedelta = timedelta(0)

    @property
    def redis_cluster(self) -> bool:
        """REDIS_URL names a Redis Cluster: history and live fan-out live there."""
        return bool(self.redis_url and self.redis_url.startswith(CLUSTER_SCHEME))

    @property
    def cluster_nodes(self) -> tuple[tuple[str, int], ...]:
        return parse_cluster_url(self.redis_url or "") if self.redis_cluster else ()

    @property
    def queue_url(self) -> str | None:
        """The standalone Redis of arq, sessions, throttles and kicks: PTSA_QUEUE_URL, else
        REDIS_URL when that is a standalone Redis (one Redis for everything)."""
        if self.explicit_queue_url:
            return self.explicit_queue_url
        return None if self.redis_cluster else self.redis_url

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
    secret = get("PTSA_SECRET_KEY", "")
    weakness = secret_weakness(secret) if secret or mode == "production" else None
    if weakness is not None and (mode == "production" or secret == DEV_SECRET_KEY):
        raise ConfigError(
            f"PTSA_SECRET_KEY must be a random value of at least {MIN_SECRET_LENGTH} characters "
            f"in production; {weakness} (for example: python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))')")
    if not secret:
        secret = install_secret(var_dir)
    base_url = get("PTSA_BASE_URL", "").strip().rstrip("/")
    if mode == "production" and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", base_url):
        raise ConfigError("PTSA_BASE_URL must be the hub's public address in production, e.g. "
                          "https://ptsa.kemnaker.go.id (links in e-mails and SMS use it); got "
                          f"{base_url!r}")
    timezone = get("PTSA_TIMEZONE", "Asia/Jakarta")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"PTSA_TIMEZONE must be an IANA time zone such as Asia/Jakarta; "
                          f"got {timezone!r}") from None
    event_loop = get("PTSA_LOOP", "auto").strip().lower()
    if event_loop not in ("auto", "uvloop", "asyncio"):
        raise ConfigError(f"PTSA_LOOP must be 'auto', 'uvloop' or 'asyncio'; got {event_loop!r}")
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
    redis_url, queue_url = get("REDIS_URL") or None, get("PTSA_QUEUE_URL") or None
    if redis_url and redis_url.startswith(CLUSTER_SCHEME):
        parse_cluster_url(redis_url)
        if not queue_url:
            raise ConfigError("PTSA_QUEUE_URL must name a standalone Redis for arq: arq does not "
                              "support Redis Cluster (REDIS_URL names a cluster); e.g. "
                              "PTSA_QUEUE_URL=redis://10.0.0.5:6379/0")
    elif redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"REDIS_URL must start with redis://, rediss://, unix:// or "
                          f"{CLUSTER_SCHEME}; got {redis_url.split(':', 1)[0]!r}")
    if queue_url and not queue_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError("PTSA_QUEUE_URL must name a standalone Redis (redis://, rediss:// or "
                          f"unix://): arq does not support Redis Cluster; got "
                          f"{queue_url.split(':', 1)[0]!r}")
    settings = Settings(
        env=mode,
        secret_key=secret,
        database_url=normalise_database_url(database_url),
        redis_url=redis_url,
        explicit_queue_url=queue_url,
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
        sla_p1_handling=_optional_duration("PTSA_SLA_P1_HANDLING",
                                           get("PTSA_SLA_P1_HANDLING")),
        sla_warn_at=_parse_float("PTSA_SLA_WARN_AT", get("PTSA_SLA_WARN_AT", "0.8"), 0.0, 1.0),
        sla_sweep_interval=parse_duration("PTSA_SLA_SWEEP", get("PTSA_SLA_SWEEP", "10s")),
        notify_lease=parse_duration("PTSA_NOTIFY_LEASE", get("PTSA_NOTIFY_LEASE", "5s")),
        notify_send_timeout=parse_duration("PTSA_NOTIFY_SEND_TIMEOUT",
                                           get("PTSA_NOTIFY_SEND_TIMEOUT", "30s")),
        redis_timeout=parse_duration("PTSA_REDIS_TIMEOUT", get("PTSA_REDIS_TIMEOUT", "2s")),
        redis_hook_timeout=parse_duration("PTSA_REDIS_HOOK_TIMEOUT",
                                          get("PTSA_REDIS_HOOK_TIMEOUT", "0.25s")),
        calendar=calendar,
        office_hours=get("PTSA_OFFICE_HOURS", "mon-fri 08:00-16:00"),
        base_url=base_url,
        var_dir=var_dir,
        session_max_age=parse_duration("PTSA_SESSION_MAX_AGE", get("PTSA_SESSION_MAX_AGE", "10h")),
        history_max_len=_parse_int("PTSA_HISTORY_MAX_LEN",
                                   get("PTSA_HISTORY_MAX_LEN", "10000"), 100),
        history_max_age=parse_duration("PTSA_HISTORY_MAX_AGE", get("PTSA_HISTORY_MAX_AGE", "26h")),
        ws_queue_size=_parse_int("PTSA_WS_QUEUE_SIZE", get("PTSA_WS_QUEUE_SIZE", "256"), 2),
        ws_max_subscriptions=_parse_int("PTSA_WS_MAX_SUBSCRIPTIONS",
                                        get("PTSA_WS_MAX_SUBSCRIPTIONS", "64"), 1),
        ws_max_sockets_per_account=_parse_int("PTSA_WS_MAX_SOCKETS_PER_ACCOUNT",
                                              get("PTSA_WS_MAX_SOCKETS_PER_ACCOUNT", "50"), 1),
        ws_max_connections=_parse_int("PTSA_WS_MAX_CONNECTIONS",
                                      get("PTSA_WS_MAX_CONNECTIONS", "20000"), 1),
        ws_recheck_interval=parse_duration("PTSA_WS_RECHECK", get("PTSA_WS_RECHECK", "30s")),
        relay=_parse_relay(get("PTSA_RELAY", "on")),
        login_max_attempts=_parse_int("PTSA_LOGIN_MAX_ATTEMPTS",
                                      get("PTSA_LOGIN_MAX_ATTEMPTS", "5"), 1),
        login_window=_seconds_or_more("PTSA_LOGIN_WINDOW", get("PTSA_LOGIN_WINDOW", "15m")),
        login_delay_after=_parse_int("PTSA_LOGIN_DELAY_AFTER",
                                     get("PTSA_LOGIN_DELAY_AFTER", "2"), 1),
        login_delay_max=_zero_or_duration("PTSA_LOGIN_DELAY_MAX",
                                          get("PTSA_LOGIN_DELAY_MAX", "60s")),
        event_loop=event_loop,
        queue_wait_target=parse_duration("PTSA_QUEUE_WAIT_TARGET",
                                         get("PTSA_QUEUE_WAIT_TARGET", "30m")),
        survey_days=_parse_int("PTSA_SURVEY_DAYS", get("PTSA_SURVEY_DAYS", "30"), 1),
        db_pool_size=_parse_int("PTSA_DB_POOL_SIZE", get("PTSA_DB_POOL_SIZE", "10"), 1),
        complaint_days=_parse_int("PTSA_COMPLAINT_DAYS", get("PTSA_COMPLAINT_DAYS", "5"), 1),
        complaint_response=_optional_duration("PTSA_COMPLAINT_RESPONSE",
                                              get("PTSA_COMPLAINT_RESPONSE")),
        drain=_zero_or_duration("PTSA_DRAIN", get("PTSA_DRAIN", "0")),
    )
    # Validate the office-hours text now rather than at the first SLA computation.
    from hub.domain.calendar import parse_office_hours

    parse_office_hours(settings.office_hours)
    return settings
