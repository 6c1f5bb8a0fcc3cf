"""The ``ptsa`` command: run, web, worker, init-db, seed, user add, user set, users, check."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys
from collections.abc import Sequence

from config.settings import Settings, load_settings
from hub.domain.tasks import Role
from hub.errors import ConfigError, PtsaError


def _settings() -> Settings:
    return load_settings()


def _usable_cluster(settings: Settings) -> None:
    """A REDIS_URL naming a Redis Cluster that cannot serve (unreachable, not in cluster mode,
    older than Redis 7, cluster_state not ok) stops here with a plain message (exit 2)."""
    from hub.redis_clients import require_cluster

    asyncio.run(require_cluster(settings))


def cmd_run(args: argparse.Namespace) -> int:
    from hub.cli.runner import run_all

    settings = _settings()
    if args.port:
        settings = settings.with_overrides(port=args.port)
    _usable_cluster(settings)  # REDIS_URL + PTSA_QUEUE_URL set: no embedded Redis is started
    return run_all(settings, demo=not args.no_demo)


def cmd_web(args: argparse.Namespace) -> int:
    from hub.cli.runner import web_command

    settings = _settings()
    if not settings.redis_url:
        raise ConfigError("`ptsa web` needs REDIS_URL (use `ptsa run` for an embedded Redis)")
    _usable_cluster(settings)
    cmd = web_command(settings, workers=args.workers)
    os.execv(cmd[0], cmd)


def cmd_worker(args: argparse.Namespace) -> int:
    from workers.main import run_worker

    settings = _settings()
    _usable_cluster(settings)
    return run_worker(settings)


def cmd_init_db(args: argparse.Namespace) -> int:
    from config.catalog import load_catalog
    from config.seed import seed_catalog
    from hub.db import Database
    from hub.tasks.search import reindex

    async def go() -> str:
        db = Database(_settings().database_url)
        try:
            await db.create_schema()
            units, services = await seed_catalog(db, load_catalog())
            async with db.write() as session:  # requests registered before search existed
                indexed = await reindex(session)
        finally:
            await db.dispose()
        return (f"schema ready; {units} units and {services} services added; "
                f"{indexed} requests added to the search index")

    print(asyncio.run(go()))
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from hub.cli.runner import prepare

    settings = _settings()
    print(asyncio.run(prepare(settings, demo=args.demo)))
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    from hub.auth.accounts import add_user

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
    staff = asyncio.run(add_user(_settings(), username=args.username, role=args.role,
                                 unit=args.unit, full_name=args.name or args.username,
                                 email=args.email, phone=args.phone, password=password))
    print(f"added {staff.username} ({staff.role}, {staff.unit_code})")
    return 0


def cmd_user_set(args: argparse.Namespace) -> int:
    from hub.auth.accounts import set_user

    fields = {k: getattr(args, k) for k in ("email", "phone", "unit", "role")}
    fields["full_name"] = args.name
    edit = asyncio.run(set_user(_settings(), args.username, **fields))
    staff = edit.staff
    print(f"updated {staff.username} ({staff.role}, {staff.unit_code})")
    if edit.moved:
        print(f"moved: {edit.released} request(s) they held went back to their unit's queue; "
              "their sessions were ended")
    return 0


def cmd_users(args: argparse.Namespace) -> int:
    from hub.auth.accounts import list_users

    for row in asyncio.run(list_users(_settings())):
        print(row)
    return 0


def cmd_device(args: argparse.Namespace) -> int:
    """``ptsa device add NAME --kind kiosk|display`` prints the token once; ``revoke ID``."""
    from hub.db import Database
    from hub.queue.devices import add_device, revoke_device

    async def go() -> str:
        db = Database(_settings().database_url)
        try:
            await db.create_schema()
            if args.device_command == "add":
                device, token = await add_device(db, args.name, args.kind)
                page = "/antrean" if device.kind == "kiosk" else "/layar"
                return (f"added {device.kind} {device.name} (id {device.id}); its token, shown "
                        f"only now:\n{token}\nopen {page}?token={token} on the device once")
            device = await revoke_device(db, args.id)
            return f"revoked {device.kind} {device.name} (id {device.id})"
        finally:
            await db.dispose()

    print(asyncio.run(go()))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from hub.cli.checks import run_checks

    return asyncio.run(run_checks(_settings()))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ptsa", description="PTSA Hub: real-time task hub of "
                                     "the Kemnaker one-stop service hall")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="everything on one machine: Redis (embedded if REDIS_URL is "
                         "unset), database, demo data, web and worker")
    run.add_argument("--no-demo", action="store_true", help="do not create demo staff")
    run.add_argument("--port", type=int, help="override PTSA_PORT")
    run.set_defaults(func=cmd_run)
    web = sub.add_parser("web", help="the web/WebSocket process (production)")
    web.add_argument("--workers", type=int, default=1)
    web.set_defaults(func=cmd_web)
    sub.add_parser("worker", help="the arq worker: SLA clocks, notifications, relay").set_defaults(
        func=cmd_worker)
    sub.add_parser("init-db", help="create tables and load the organisation").set_defaults(
        func=cmd_init_db)
    seed = sub.add_parser("seed", help="load the organisation (and with --demo, demo staff)")
    seed.add_argument("--demo", action="store_true")
    seed.set_defaults(func=cmd_seed)
    user = sub.add_parser("user", help="manage staff accounts")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser("add", help="add a staff account")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--unit", required=True, help="unit code from config/organisation.toml")
    add.add_argument("--name")
    add.add_argument("--email")
    add.add_argument("--phone")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of standard input")
    add.set_defaults(func=cmd_user_add)
    edit = user_sub.add_parser("set", help="change a staff account's name, contacts, unit or "
                                           "role (a new unit or role releases the requests "
                                           "they hold and ends their sessions)")
    edit.add_argument("username")
    edit.add_argument("--name")
    edit.add_argument("--email", help="'' clears it")
    edit.add_argument("--phone", help="'' clears it")
    edit.add_argument("--unit", help="unit code from config/organisation.toml")
    edit.add_argument("--role", choices=[r.value for r in Role])
    edit.set_defaults(func=cmd_user_set)
    sub.add_parser("users", help="list staff accounts").set_defaults(func=cmd_users)
    sub.add_parser("check", help="check configuration and connectivity").set_defaults(
        func=cmd_check)
    device = sub.add_parser("device", help="kiosk and hall-display devices (token sign-in)")
    device_sub = device.add_subparsers(dest="device_command", required=True)
    device_add = device_sub.add_parser("add", help="add a device and print its token once")
    device_add.add_argument("name")
    device_add.add_argument("--kind", choices=["kiosk", "display"], required=True)
    device_revoke = device_sub.add_parser("revoke", help="revoke a device's token")
    device_revoke.add_argument("id", type=int)
    device.set_defaults(func=cmd_device)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=os.environ.get("PTSA_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except PtsaError as exc:
        print(f"ptsa {args.command}: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
