"""The real hub under uvicorn, as ``ptsa web`` runs it, plus the benchmark's GC probe.

    python -m bench.hub_server --port 8000 [--gc-probe PATH] [--loop auto|uvloop|asyncio]
        [--gc-threshold N]

Same application (``hub.app.create_app``) and same uvicorn settings as
``hub.cli.runner.web_command`` (``websockets-sansio`` with prepared fan-out frames,
permessage-deflate off, 64 KiB messages, no access log, uvloop where installed); the additions
are the probe that time-stamps garbage-collection pauses, the switches the benchmark's lever
table compares (``--loop asyncio``: asyncio's own loop; ``--gc-threshold``: another young
generation threshold than ``hub.ws.gc_governor``'s), and (``PTSA_BENCH_TRACEMALLOC=PATH``) a
tracemalloc diff of what the open connections hold (``bench/trace_alloc.py``).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from types import FrameType

import uvicorn

from bench import gc_probe, trace_alloc
from config.settings import load_settings
from hub.app import create_app
from hub.cli.loop import loop_name
from hub.ws import gc_governor
from hub.ws.wire import PROTOCOL_CLASS


def _exit_after_shutdown(signum: int, frame: FrameType | None) -> None:
    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again under the handler
    # that was installed before it: with the default handler the process would die right there,
    # before the GC summary below is written (the `-` of earlier reports).
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hub_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--gc-probe", metavar="PATH", help="write GC pauses as JSON here at exit")
    parser.add_argument("--loop", choices=("auto", "uvloop", "asyncio"), default="auto",
                        help="event loop (auto: uvloop where installed, as `ptsa web`)")
    parser.add_argument("--gc-threshold", type=int, metavar="N",
                        help="young-generation GC threshold instead of the governor's")
    args = parser.parse_args(argv)
    if args.gc_threshold:
        gc_governor.THRESHOLDS = (args.gc_threshold, *gc_governor.THRESHOLDS[1:])
    settings = load_settings().with_overrides(host=args.host, port=args.port)
    app = create_app(settings)
    trace_path = os.environ.get(trace_alloc.ENV)
    if trace_path:
        def live() -> int | None:
            ws = getattr(getattr(app.state, "ctx", None), "ws", None)
            return None if ws is None else len(ws.registry)

        trace_alloc.install(trace_path, live)
    probe = gc_probe.install(args.gc_probe) if args.gc_probe else None
    signal.signal(signal.SIGTERM, _exit_after_shutdown)
    loop = loop_name(settings.event_loop if args.loop == "auto" else args.loop)
    print(f"hub_server: {loop} loop", file=sys.stderr, flush=True)
    try:
        uvicorn.run(app, host=args.host, port=args.port, ws=PROTOCOL_CLASS, loop=loop,
                    ws_per_message_deflate=False, ws_max_size=settings.ws_max_message_bytes,
                    access_log=False, timeout_graceful_shutdown=5, log_level="warning")
    finally:
        if probe is not None and args.gc_probe:  # after the server and all its parts stopped
            gc_probe.write_summary(probe, args.gc_probe)


if __name__ == "__main__":
    main()
