"""One client process of the load harness: many WebSocket connections, cheap bookkeeping.

Each process connects its share of connections in batches, subscribes each to its channels, waits
for every ``subscribed`` (or ``error``) answer, tells the parent it is ready, then only records
receipts until the parent says stop. Per delivery it does one ``time.time()``, the frame reader
(one ``json.loads``), a set lookup for duplicates and a list append: the harness must not be
what limits the measurement.

Two clients: ``lean`` (bench/lean_client.py, websockets' sans-I/O protocol, a callback per frame)
and ``websockets`` (its asyncio client, a reader task per connection), kept for comparison.
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
from typing import Any, Literal

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from bench.lean_client import LeanConnection

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
        self.stopping = False  # set before we abort our own connections

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

    def on_closed(self) -> None:
        if not self.stopping:
            self.result.closed_early += 1


class _Acks:
    """Counts the answers to one connection's subscribes."""

    def __init__(self, recorder: _Recorder, expected: int) -> None:
        self.recorder = recorder
        self.pending = expected
        self.done = asyncio.get_running_loop().create_future()
        if not expected:
            self.done.set_result(None)

    def on_control(self, frame: dict[str, Any] | None) -> None:
        if frame is None or self.done.done():
            return
        op = frame.get("op")
        if op == "error":
            self.recorder.result.refused += 1
        if op in ("subscribed", "error"):
            self.pending -= 1
            if not self.pending:
                self.done.set_result(None)


def _subscribe_frame(channel: str) -> str:
    return json.dumps({"op": "subscribe", "channel": channel})


async def _open_lean(spec: ClientSpec, recorder: _Recorder) -> Callable[[], None]:
    """Open, subscribe and wait for the answers; returns the function that aborts it."""
    seen: set[str] = set()
    acks = _Acks(recorder, len(spec.channels))
    on_frame, clock = recorder.on_frame, time.time

    def on_text(text: str) -> None:
        control = on_frame(seen, text, clock())
        if control is not None:
            acks.on_control(control)

    connection = await LeanConnection.open(spec.url, on_text)
    try:
        for channel in spec.channels:
            connection.send_text(_subscribe_frame(channel))
        await acks.done
    except BaseException:
        connection.abort()
        raise
    # Only now: a connection that failed to join is counted as failed, not as closed early.
    connection.closed.add_done_callback(lambda _: recorder.on_closed())
    return connection.abort


async def _open_websockets(spec: ClientSpec, recorder: _Recorder) -> Callable[[], None]:
    """The same with the ``websockets`` asyncio client (a reader task per connection)."""
    seen: set[str] = set()
    acks = _Acks(recorder, len(spec.channels))
    # No compression (the peers measured the floor without it) and no client pings: browsers
    # do not ping, so the server's keep-alive is the only ping traffic.
    ws = await connect(spec.url, compression=None, ping_interval=None, close_timeout=1)

    async def listen() -> None:
        on_frame, clock = recorder.on_frame, time.time
        with contextlib.suppress(ConnectionClosed):
            async for text in ws:
                control = on_frame(seen, text, clock())
                if control is not None:
                    acks.on_control(control)
        if acks.done.done() and not acks.done.cancelled():
            recorder.on_closed()  # joined, then closed: a failure to join is counted elsewhere

    listener = asyncio.create_task(listen())
    _LISTENERS.add(listener)
    try:
        for channel in spec.channels:
            await ws.send(_subscribe_frame(channel))
        await acks.done
    except BaseException:
        ws.transport.abort()
        raise
    return ws.transport.abort


_LISTENERS: set[asyncio.Task[None]] = set()  # strong references: asyncio keeps only weak ones
_OPENERS = {"lean": _open_lean, "websockets": _open_websockets}
ClientKind = Literal["lean", "websockets"]


async def _open(
    kind: ClientKind, spec: ClientSpec, recorder: _Recorder, timeout: float
) -> Callable[[], None]:
    async with asyncio.timeout(timeout):
        return await _OPENERS[kind](spec, recorder)


async def _run(
    worker: int,
    kind: ClientKind,
    specs: Sequence[tuple[int, ClientSpec]],
    read: FrameReader,
    batch: int,
    timeout: float,
    deadline: float,
    pipe: Connection,
) -> WorkerResult:
    result = WorkerResult(worker)
    recorder = _Recorder(result, read)
    aborts: list[Callable[[], None]] = []
    for start in range(0, len(specs), batch):
        chunk = specs[start : start + batch]
        opened = await asyncio.gather(
            *(_open(kind, spec, recorder, timeout) for _, spec in chunk), return_exceptions=True
        )
        for (index, _), outcome in zip(chunk, opened, strict=True):
            if isinstance(outcome, BaseException):
                result.failed += 1
                if len(result.errors) < _KEPT_ERRORS:
                    result.errors.append(f"{type(outcome).__name__}: {outcome}"[:200])
                continue
            result.connected.append(index)
            aborts.append(outcome)

    # Everything allocated so far lives until the end: keep it out of the collector's way so
    # client-side GC pauses do not show up as server latency.
    gc.collect()
    gc.freeze()
    pipe.send(("ready", len(result.connected), result.failed))
    remaining = deadline - time.monotonic()
    if remaining > 0:
        await asyncio.to_thread(pipe.poll, remaining)
    recorder.stopping = True
    for abort in aborts:
        abort()  # no closing handshakes: thousands of them would only add noise
    await asyncio.gather(*_LISTENERS, return_exceptions=True)
    result.gc_counts = [stat["collections"] for stat in gc.get_stats()]
    return result


def raise_fd_limit() -> int:
    """Raise this process's open-file limit to the hard limit; returns the new limit."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def worker_main(
    worker: int,
    kind: ClientKind,
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
    result = asyncio.run(_run(worker, kind, specs, read, batch, timeout, deadline, pipe))
    with contextlib.suppress(BrokenPipeError, OSError):
        pipe.send(("result", result))
    pipe.close()
