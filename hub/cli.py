"""The ``ptsa`` command: run, web, worker, init-db, seed, user add, users, check."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys
from collections.abc import Sequence

from config.settings import Settings, load_settings
from hub.errors import ConfigError, PtsaError


def _settings() -> Settings:
    return load_settings()


def cmd_run(args: argparse.Namespace) -> int:
    from hub.runner import run_all

    settings = _settings()
    if args.port:
        settings = settings.with_overrides(port=args.port)
    return run_all(settings, demo=not args.no_demo)


def cmd_web(args: argparse.Namespace) -> int:
    from hub.runner import web_command

    settings = _settings()
    if not settings.redis_url:
        raise ConfigError("`ptsa web` needs REDIS_URL (use `ptsa run` for an embedded Redis)")
    cmd = web_command(settings, workers=args.workers)
    os.execv(cmd[0], cmd)


def cmd_worker(args: argparse.Namespace) -> int:
    from workers.main import run_worker

    return run_worker(_settings())


def cmd_init_db(args: argparse.Namespace) -> int:
    from config.catalog import load_catalog
    from config.seed import seed_catalog
    from hub.db import Database

    async def go() -> str:
        db = Database(_settings().database_url)
        try:
            await db.create_schema()
            units, services = await seed_catalog(db, load_catalog())
        finally:
            await db.dispose()
        return f"schema ready; {units} units and {services} services added"

    print(asyncio.run(go()))
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from hub.runner import prepare

    settings = _settings()
    print(asyncio.run(prepare(settings, demo=args.demo)))
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    from hub.admin_users import add_user

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
    staff = asyncio.run(add_user(_settings(), username=args.username, role=args.role,
                                 unit=args.unit, full_name=args.name or args.username,
                                 email=args.email, phone=args.phone, password=password))
    print(f"added {staff.username} ({staff.role}, {staff.unit_code})")
    return 0


def cmd_users(args: argparse.Namespace) -> int:
    from hub.admin_users import list_users

    for row in asyncio.run(list_users(_settings())):
        print(row)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from hub.checks import run_checks

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
    add.add_argument("--role", required=True, choices=["p0", "p1", "p2", "supervisor", "admin"])
    add.add_argument("--unit", required=True, help="unit code from config/organisation.toml")
    add.add_argument("--name")
    add.add_argument("--email")
    add.add_argument("--phone")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of standard input")
    add.set_defaults(func=cmd_user_add)
    sub.add_parser("users", help="list staff accounts").set_defaults(func=cmd_users)
    sub.add_parser("check", help="check configuration and connectivity").set_defaults(
        func=cmd_check)
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
