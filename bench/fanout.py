"""Fan-out benchmark entry point: latency, loss and cost of delivering events to N WebSockets.

    python -m bench.fanout --target floor --clients 2000 --duration 60
    python -m bench.fanout --target floor --idle 10000
    python -m bench.fanout --target hub ...
    python -m bench.fanout --target hub --hubs 3 --redis-cluster --clients 3000 ...

Prints a table and writes JSON to bench/results/<name>-<timestamp>.json. Method: docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import signal
import sys

from bench import procstat
from bench.client_pool import HarnessError
from bench.floor_target import FloorTarget
from bench.hub_target import HubTarget
from bench.load import FanoutOptions, Target, run_fanout, run_idle
from bench.report import print_fanout, print_idle, write_json

_IDLE_CLIENTS_PER_PROCESS = 2500


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.fanout", description="Fan-out latency, loss and cost benchmark."
    )
    parser.add_argument(
        "--target", choices=("floor", "hub", "ideal"), default="floor",
        help="ideal: the floor's clients and events served with one transport.write per "
        "delivery and the hub's protocol (bench/floor.py --ideal), the lower bound")
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=20.0, help="events per second")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds before the window")
    parser.add_argument("--duration", type=float, default=60.0, help="steady window, seconds")
    parser.add_argument("--idle", type=int, metavar="N", help="only open N idle connections")
    parser.add_argument("--hold", type=float, default=5.0, help="idle mode: seconds held open")
    parser.add_argument("--processes", type=int, help="client processes (default 2; idle: N/2500)")
    parser.add_argument(
        "--client",
        choices=("lean", "websockets"),
        default="lean",
        help="lean: websockets' sans-I/O protocol, a callback per frame (default); "
        "websockets: its asyncio client, a task per connection",
    )
    parser.add_argument("--batch", type=int, default=200, help="connections opened at a time")
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--port", type=int, default=0, help="floor port (0: any free port)")
    parser.add_argument("--hub-url", default="http://127.0.0.1:8000")
    parser.add_argument("--hub-user", default="bench-counter", help="registers the tasks")
    parser.add_argument(
        "--hub-reference",
        choices=("response", "event"),
        default="response",
        help="hub latency from the POST's HTTP response (default) or from the event's own time",
    )
    parser.add_argument(
        "--hub-publisher",
        choices=("api", "relay"),
        default="api",
        help="hub events from POST /api/v1/tasks (default) or straight through the relay's "
        "Redis script with floor-sized frames, one room per event (the fan-out alone)",
    )
    parser.add_argument(
        "--hubs", type=int, default=1,
        help="hub target: fan-out hub processes; clients spread over them round-robin, each "
        "connecting directly (no load balancer); server CPU is their sum",
    )
    parser.add_argument(
        "--redis-cluster", action="store_true",
        help="hub target: history and live fan-out on a local 3+3 Redis Cluster "
        "(tests/support/redis_cluster.py, Debian's redis-server 7); queue on standalone Redis",
    )
    parser.add_argument(
        "--server-loop",
        choices=("auto", "asyncio"),
        default="auto",
        help="the server's event loop: auto (uvloop when installed, the default of `ptsa web` "
        "and of the peer comparison's floor) or asyncio's own",
    )
    parser.add_argument(
        "--hub-gc-threshold",
        type=int,
        metavar="N",
        help="hub: young-generation GC threshold instead of hub.ws.gc_governor's",
    )
    parser.add_argument(
        "--slice",
        type=float,
        metavar="SECONDS",
        help="soak: also report latency, loss and RSS for each slice of the window",
    )
    parser.add_argument("--name", help="results file name (default: target and size)")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="first wait up to this long for the machine to be < 10 %% busy",
    )
    args = parser.parse_args(argv)
    if args.slice is not None and args.slice <= 0:
        parser.error(f"--slice must be positive, got {args.slice}")
    for flag in ("clients", "rate", "duration", "batch", "hubs"):
        if getattr(args, flag) <= 0:
            parser.error(f"--{flag} must be positive, got {getattr(args, flag)}")
    if args.target != "hub" and (args.hubs != 1 or args.redis_cluster):
        parser.error("--hubs and --redis-cluster need --target hub")
    if args.idle is not None and args.idle <= 0:
        parser.error(f"--idle must be positive, got {args.idle}")
    return args


def make_target(args: argparse.Namespace) -> Target:
    if args.target in ("floor", "ideal"):
        return FloorTarget(redis_url=args.redis_url, port=args.port, loop=args.server_loop,
                           ideal=args.target == "ideal", name=args.target)
    server_args = ["--loop", args.server_loop]
    if args.hub_gc_threshold:
        server_args += ["--gc-threshold", str(args.hub_gc_threshold)]
    return HubTarget(
        base_url=args.hub_url,
        redis_url=args.redis_url,
        publisher_username=args.hub_user,
        publisher_password=os.environ.get("PTSA_BENCH_PASSWORD", ""),
        reference="frame" if args.hub_reference == "event" else "side-table",
        publisher=args.hub_publisher,
        hubs=args.hubs,
        redis_cluster=args.redis_cluster,
        server_args=tuple(server_args),
    )


async def run(args: argparse.Namespace) -> None:
    # SIGTERM cancels the run like Ctrl-C does, so the finally blocks stop every process.
    main_task = asyncio.current_task()
    if main_task is not None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    if args.quiet_wait > 0:
        busy = await procstat.wait_until_quiet(args.quiet_wait)
        print(f"machine {busy:.0f} % busy at start", file=sys.stderr)
    target = make_target(args)
    if args.idle:
        processes = args.processes or max(2, math.ceil(args.idle / _IDLE_CLIENTS_PER_PROCESS))
        report = await run_idle(
            target, args.idle, processes, args.batch, args.hold, client=args.client
        )
        print_idle(report)
        name = args.name or f"{args.target}-idle{args.idle}"
    else:
        opts = FanoutOptions(
            clients=args.clients,
            rate=args.rate,
            warmup=args.warmup,
            duration=args.duration,
            processes=args.processes or 2,
            batch=args.batch,
            client=args.client,
            slice_s=args.slice,
        )
        report = await run_fanout(target, opts)
        print_fanout(report)
        name = args.name or f"{args.target}-n{args.clients}"
    print(f"written {write_json(report, name)}")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        # Ctrl-C cancels the run; every target and client pool cleans up in its finally block.
        asyncio.run(run(args))
    except (KeyboardInterrupt, asyncio.CancelledError):
        sys.exit("interrupted: server and client processes stopped")
    except HarnessError as exc:
        sys.exit(f"benchmark failed: {exc}")


if __name__ == "__main__":
    main()
