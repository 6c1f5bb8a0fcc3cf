"""``ptsa check``: what is configured and what answers, in plain words."""

from __future__ import annotations

import os
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

from config.catalog import DEFAULT_PATH, load_catalog
from config.settings import SECRET_FILE, Settings
from hub.db import Database
from hub.errors import ConfigError


def redact(url: str) -> str:
    """The URL without its password, fit to print (redis://:secret@host → redis://:***@host)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def redact_cluster(url: str) -> str:
    """A ``redis+cluster://`` URL without its password."""
    scheme, _, rest = url.partition("://")
    if "@" not in rest:
        return url
    userinfo, _, nodes = rest.rpartition("@")
    user = userinfo.partition(":")[0]
    return f"{scheme}://{user}:***@{nodes}"


def _minutes(duration: timedelta) -> str:
    return f"{duration.total_seconds() / 60:g} min"


async def _warn_unstaffed(db: Database) -> None:
    """A warning, not a failure: a new unit may wait for its desks, but nothing can be routed
    there meanwhile (dispositions to it are refused)."""
    from hub.tasks.supervise import units_without_desk

    try:
        async with db.read() as session:
            empty = await units_without_desk(session)
    except Exception:  # no schema yet (before the first `ptsa run`): nothing to say
        return
    for unit in empty:
        desk = "P1" if unit.level == "eselon1" else "P2"
        print(f"  warn  unit {unit.code} has no active {desk} desk: nothing can be routed there")


async def run_checks(settings: Settings) -> int:
    from hub.db import Database
    from hub.redis_clients import check_cluster, redis_client

    problems = 0

    def say(ok: bool, text: str) -> None:
        nonlocal problems
        problems += 0 if ok else 1
        print(("  ok    " if ok else "  FAIL  ") + text)

    print(f"PTSA Hub configuration ({settings.env})")
    say(True, f"time zone {settings.timezone}, calendar '{settings.calendar}', office hours "
              f"'{settings.office_hours}'")
    try:
        sla = load_catalog().sla
        say(True, f"catalogue {DEFAULT_PATH.name} reads and checks")
    except ConfigError as exc:
        say(False, str(exc))
        sla = None
    if sla is not None:
        p1 = (settings.sla_p1_pickup, "PTSA_SLA_P1_PICKUP") if settings.sla_p1_pickup else \
            (sla.p1_pickup, DEFAULT_PATH.name)
        p2 = (settings.sla_p2_pickup, "PTSA_SLA_P2_PICKUP") if settings.sla_p2_pickup else \
            (sla.p2_pickup, DEFAULT_PATH.name)
        p1h = (settings.sla_p1_handling, "PTSA_SLA_P1_HANDLING") if settings.sla_p1_handling \
            else (sla.p1_handling, DEFAULT_PATH.name)
        say(True, f"SLA: P1 pickup {_minutes(p1[0])} (from {p1[1]}), P2 pickup "
                  f"{_minutes(p2[0])} (from {p2[1]}), P1 handling {_minutes(p1h[0])} "
                  f"(from {p1h[1]}), "
                  f"warning at {settings.sla_warn_at:.0%}; an admin's change in /admin/sla "
                  f"overrides both")
    db = Database(settings.database_url)
    try:
        await db.ping()
        say(True, f"database {db.dialect} answers")
        await _warn_unstaffed(db)
    except Exception as exc:
        say(False, f"database {db.dialect} does not answer: {exc}")
    finally:
        await db.dispose()
    if settings.redis_cluster and settings.redis_url:
        faults, notes = await check_cluster(settings.redis_url, settings.redis_timeout)
        for text in faults:
            say(False, f"Redis Cluster: {text}")
        for text in notes:
            print(f"  warn  Redis Cluster: {text}")
        if not faults:
            say(True, f"Redis Cluster at {redact_cluster(settings.redis_url)} answers, "
                      f"cluster_state ok, Redis 7+ (history and live channels)")
    if settings.queue_url:
        redis = redis_client(settings.queue_url, settings.redis_timeout)
        where = redact(settings.queue_url)
        role = " (queue: arq, sessions, throttles)" if settings.redis_cluster else ""
        try:
            await redis.ping()
            say(True, f"Redis at {where} answers{role}")
        except Exception as exc:
            say(False, f"Redis at {where}{role} does not answer: {exc}")
        finally:
            await redis.aclose()
    elif not settings.redis_url:
        say(True, "REDIS_URL unset: `ptsa run` starts an embedded Redis (web/worker need it set)")
    say(True, "email: " + (f"SMTP {settings.smtp_url.split('@')[-1]}" if settings.smtp_url else
                           "PTSA_SMTP_URL unset, warnings are kept in the admin outbox"))
    say(True, "SMS: " + (f"gateway {settings.sms_url}" if settings.sms_url else
                         "PTSA_SMS_URL unset, SMS are kept in the admin outbox"))
    if settings.env != "production" and not os.environ.get("PTSA_SECRET_KEY"):
        print(f"  note  development mode: the secret key is this install's own, kept in "
              f"{settings.var_dir / SECRET_FILE}")
    print("all good" if not problems else f"{problems} problem(s)")
    return 0 if not problems else 1
