"""One client process of the load harness: many WebSocket connections, cheap bookkeeping.

Each process connects its share of connections in batches, subscribes each to its channels, waits
for every ``subscribed`` (or ``error``) answer, tells the parent it is ready, then only records
receipts until the parent says stop. Per delivery it does one ``time.time()``, the frame reader
(one ``json.loads``), a set lookup for duplicates and a list append: the harness must not be
what limits the measurement.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

# Takes a text frame; returns (delivery key, send time embedded in the frame or None) for an
# event frame, None for anything else (acks, pongs, errors). Must be a module-level function so
# it can be handed to a spawned process.
FrameReader = Callable[[str], "tuple[str, float | None] | None"]

_KEPT_ERRORS = 5


@dataclass(frozen=True)
class ClientSpec:
    url: str
    channels: tuple[str, ...]


@dataclass
class WorkerResult:
    worker: int
    connected: list[int] = field(default_factory=list)  # global indices of the specs that joined
    failed: int = 0
    errors: list[str] = field(default_factory=list)  # the first few connect errors, for people
    refused: int = 0  # subscribes answered with an error frame
    frames: int = 0  # event frames, duplicates included
    duplicates: int = 0  # same key twice on one connection
    closed_early: int = 0  # connections the server closed before the stop
    receipts: dict[str, list[float]] = field(default_factory=dict)  # key → receipt times
    embedded: dict[str, float] = field(default_factory=dict)  # key → send time from the frame
    gc_counts: list[int] = field(default_factory=list)


class _Recorder:
    def __init__(self, result: WorkerResult, read: FrameReader) -> None:
        self.result = result
        self.read = read

    def on_frame(self, seen: set[str], text: str | bytes, now: float) -> dict[str, Any] | None:
        """Record an event frame; return any other frame parsed, for the caller to look at."""
        if isinstance(text, bytes):
            return None
        got = self.read(text)
        if got is None:
            frame = json.loads(text)
            return frame if isinstance(frame, dict) else None
        key, sent = got
        result = self.result
        result.frames += 1
        if key in seen:
            result.duplicates += 1
            return None
        seen.add(key)
        times = result.receipts.get(key)
        if times is None:
            result.receipts[key] = [now]
            if sent is not None:
                result.embedded[key] = sent
        else:
            times.append(now)
        return None


async def _open(
    spec: ClientSpec, recorder: _Recorder, timeout: float
) -> tuple[ClientConnection, set[str]]:
    seen: set[str] = set()
    ws: ClientConnection | None = None
    try:
        async with asyncio.timeout(timeout):
            # No compression (PEERS.md measured the floor without it) and no client pings:
            # browsers do not ping, so the server's keep-alive is the only ping traffic.
            ws = await connect(spec.url, compression=None, ping_interval=None, close_timeout=1)
            for channel in spec.channels:
                await ws.send(json.dumps({"op": "subscribe", "channel": channel}))
            pending = len(spec.channels)
            while pending:
                frame = recorder.on_frame(seen, await ws.recv(), time.time())
                if frame is None:
                    continue
                if frame.get("op") == "subscribed":
                    pending -= 1
                elif frame.get("op") == "error":
                    recorder.result.refused += 1
                    pending -= 1
    except BaseException:
        if ws is not None:
            ws.transport.abort()
        raise
    return ws, seen


async def _listen(ws: ClientConnection, seen: set[str], recorder: _Recorder) -> None:
    on_frame = recorder.on_frame
    clock = time.time
    with contextlib.suppress(ConnectionClosed):
        async for text in ws:
            on_frame(seen, text, clock())
    # Reached only when the server closed us: our own stop cancels this task instead.
    recorder.result.closed_early += 1


async def _run(
    worker: int,
    specs: Sequence[tuple[int, ClientSpec]],
    read: FrameReader,
    batch: int,
    timeout: float,
    deadline: float,
    pipe: Connection,
) -> WorkerResult:
    result = WorkerResult(worker)
    recorder = _Recorder(result, read)
    sockets: list[ClientConnection] = []
    listeners: list[asyncio.Task[None]] = []
    for start in range(0, len(specs), batch):
        chunk = specs[start : start + batch]
        opened = await asyncio.gather(
            *(_open(spec, recorder, timeout) for _, spec in chunk), return_exceptions=True
        )
        for (index, _), outcome in zip(chunk, opened, strict=True):
            if isinstance(outcome, BaseException):
                result.failed += 1
                if len(result.errors) < _KEPT_ERRORS:
                    result.errors.append(f"{type(outcome).__name__}: {outcome}"[:200])
                continue
            ws, seen = outcome
            result.connected.append(index)
            sockets.append(ws)
            listeners.append(asyncio.create_task(_listen(ws, seen, recorder)))

    # Everything allocated so far lives until the end: keep it out of the collector's way so
    # client-side GC pauses do not show up as server latency.
    gc.collect()
    gc.freeze()
    pipe.send(("ready", len(result.connected), result.failed))
    remaining = deadline - time.monotonic()
    if remaining > 0:
        await asyncio.to_thread(pipe.poll, remaining)
    for task in listeners:
        task.cancel()
    await asyncio.gather(*listeners, return_exceptions=True)
    for ws in sockets:
        ws.transport.abort()  # no closing handshakes: thousands of them would only add noise
    result.gc_counts = [stat["collections"] for stat in gc.get_stats()]
    return result


def raise_fd_limit() -> int:
    """Raise this process's open-file limit to the hard limit; returns the new limit."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def worker_main(
    worker: int,
    specs: Sequence[tuple[int, ClientSpec]],
    read: FrameReader,
    batch: int,
    timeout: float,
    lifetime: float,
    pipe: Connection,
) -> None:
    """Process entry point: connect ``specs``, report ready, record until told to stop.

    The process ends by itself after ``lifetime`` seconds even if the parent never says stop.
    """
    raise_fd_limit()
    deadline = time.monotonic() + lifetime
    result = asyncio.run(_run(worker, specs, read, batch, timeout, deadline, pipe))
    with contextlib.suppress(BrokenPipeError, OSError):
        pipe.send(("result", result))
    pipe.close()
