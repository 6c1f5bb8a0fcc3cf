"""The real hub under uvicorn, as ``ptsa web`` runs it, plus the benchmark's GC probe.

    python -m bench.hub_server --port 8000 [--gc-probe PATH]

Same application (``hub.app.create_app``) and same uvicorn settings as
``hub.cli.runner.web_command`` (``websockets-sansio`` with prepared fan-out frames,
permessage-deflate off, 64 KiB messages, no access log); the only addition is the probe that
time-stamps garbage-collection pauses, written at shutdown, and (``PTSA_BENCH_TRACEMALLOC=PATH``)
a tracemalloc diff of what the open connections hold (``bench/trace_alloc.py``). """

from __future__ import annotations

import argparse
import os

import uvicorn

from bench import gc_probe, trace_alloc
from config.settings import load_settings
from hub.app import create_app
from hub.ws.wire import PROTOCOL_CLASS


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hub_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--gc-probe", metavar="PATH", help="write GC pauses as JSON here at exit")
    args = parser.parse_args(argv)
    settings = load_settings().with_overrides(host=args.host, port=args.port)
    app = create_app(settings)
    trace_path = os.environ.get(trace_alloc.ENV)
    if trace_path:
        def live() -> int | None:
            ws = getattr(getattr(app.state, "ctx", None), "ws", None)
            return None if ws is None else len(ws.registry)

        trace_alloc.install(trace_path, live)
    if args.gc_probe:
        probe = gc_probe.install(args.gc_probe)
    uvicorn.run(app, host=args.host, port=args.port, ws=PROTOCOL_CLASS,
                ws_per_message_deflate=False, ws_max_size=settings.ws_max_message_bytes,
                access_log=False, timeout_graceful_shutdown=5, log_level="warning")
    if args.gc_probe:  # after the server and all its parts stopped
        gc_probe.write_summary(probe, args.gc_probe)


if __name__ == "__main__":
    main()
