"""The parent's side of the client processes: start them, wait until joined, collect, clean up.

Clients live in separate processes so that their CPU never competes with the publisher and the
parent's sampling inside one event loop, and so that their own load is visible per process.
Processes are spawned, not forked: the parent already runs an event loop and Redis connections.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from bench.client_worker import ClientKind, ClientSpec, FrameReader, WorkerResult, worker_main


class HarnessError(Exception):
    """The harness could not run the benchmark as asked (clients not ready, results lost)."""


@dataclass(frozen=True)
class Readiness:
    connected: int
    failed: int
    seconds: float


class ClientPool:
    def __init__(
        self,
        specs: Sequence[ClientSpec],
        read: FrameReader,
        processes: int = 2,
        batch: int = 200,
        connect_timeout: float = 30.0,
        lifetime: float = 600.0,
        kind: ClientKind = "lean",
    ) -> None:
        """Args:
        batch: connections opened at once across all processes (each opens batch/processes).
        lifetime: seconds after which a client process exits by itself.
        """
        self.specs = list(specs)
        self._read = read
        self._processes = max(1, min(processes, len(self.specs)))
        self._batch = max(1, batch // self._processes)
        self._timeout = connect_timeout
        self._lifetime = lifetime
        self._kind = kind
        self._procs: list[BaseProcess] = []
        self._pipes: list[Connection] = []

    @property
    def pids(self) -> list[int]:
        return [proc.pid for proc in self._procs if proc.pid is not None]

    def start(self) -> None:
        context = multiprocessing.get_context("spawn")
        indexed = list(enumerate(self.specs))
        for worker in range(self._processes):
            share = indexed[worker :: self._processes]
            parent_end, child_end = context.Pipe()
            proc = context.Process(
                target=worker_main,
                args=(
                    worker,
                    self._kind,
                    share,
                    self._read,
                    self._batch,
                    self._timeout,
                    self._lifetime,
                    child_end,
                ),
                name=f"bench-clients-{worker}",
                daemon=True,
            )
            proc.start()
            child_end.close()
            self._procs.append(proc)
            self._pipes.append(parent_end)

    async def wait_ready(self, timeout: float) -> Readiness:
        """Wait until every process has opened (or failed) all its connections."""
        started = time.monotonic()
        connected = failed = 0
        for pipe in self._pipes:
            message = await self._receive(pipe, started + timeout, "ready")
            connected += message[1]
            failed += message[2]
        return Readiness(connected, failed, time.monotonic() - started)

    async def collect(self, timeout: float = 60.0) -> list[WorkerResult]:
        """Tell every process to stop and gather what each recorded."""
        for pipe in self._pipes:
            pipe.send(("stop",))
        deadline = time.monotonic() + timeout
        results = []
        for pipe in self._pipes:
            results.append((await self._receive(pipe, deadline, "result"))[1])
        return results

    def close(self) -> None:
        """Stop every client process, politely first; safe to call twice."""
        for pipe in self._pipes:
            try:
                pipe.send(("stop",))
            except OSError:
                pass
        for proc in self._procs:
            proc.join(timeout=3)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=3)
            if proc.is_alive():
                proc.kill()
                proc.join()
        for pipe in self._pipes:
            pipe.close()
        self._procs.clear()
        self._pipes.clear()

    async def _receive(self, pipe: Connection, deadline: float, expected: str) -> tuple:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not await asyncio.to_thread(pipe.poll, remaining):
            raise HarnessError(f"client process did not send {expected!r} in time")
        try:
            message = pipe.recv()
        except EOFError as exc:
            raise HarnessError(f"client process died before sending {expected!r}") from exc
        if message[0] != expected:
            raise HarnessError(f"expected {expected!r} from a client process, got {message[0]!r}")
        return message
