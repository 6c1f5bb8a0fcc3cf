"""Background loops that stop between rounds, not in the middle of a database call.

A process's periodic work (the relay's sweep, the WebSocket sign-in re-check, the worker's SLA
sweep, applicant messages and complaint deadlines) used to stop by cancellation, which lands
wherever the loop happens to wait: often inside a database call. On SQLite a cancelled call goes
on running in aiosqlite's connection thread, and when it ends that thread reports to the event
loop, which at shut-down may be closed by then: "RuntimeError: Event loop is closed", raised in
the thread (38 of 100 start-and-stop cycles of the web app on SQLite did so, and one failed CI
run). A round cut short can also leave work half done (rows appended to Redis but not marked,
so published twice; an e-mail sent but not recorded, so sent again).

So a loop here sleeps in ``Loops.pause``, which ``stop`` ends at once, and a round in progress is
let finish for up to ``STOP_GRACE_S``; only a round that hangs past that (a database that does
not answer) is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Iterable
from typing import Any

STOP_GRACE_S = 5.0


async def wait_at_most(event: asyncio.Event, seconds: float) -> bool:
    """Wait for ``event`` but no longer than ``seconds``; True if it is set."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
    return event.is_set()


async def finish_or_cancel(tasks: Iterable[asyncio.Task[Any]],
                           grace: float = STOP_GRACE_S) -> None:
    """Wait up to ``grace`` seconds for ``tasks`` to end, then cancel those still running and
    wait for them. Their exceptions are not raised here (each loop logs its own)."""
    pending = [task for task in tasks if not task.done()]
    if pending:
        _, hanging = await asyncio.wait(pending, timeout=grace)
        for task in hanging:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


class Loops:
    """The background loops of one process part, started with ``spawn`` and stopped together.

    A loop's body is ``while True: <one round>; if await loops.pause(seconds): return``.
    """

    def __init__(self, grace: float = STOP_GRACE_S) -> None:
        self.grace = grace
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def spawn(self, loop: Coroutine[Any, Any, None], name: str) -> None:
        self._stopping.clear()
        self._tasks.append(asyncio.create_task(loop, name=name))

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    async def pause(self, seconds: float) -> bool:
        """Sleep ``seconds``, or less if ``stop`` is called meanwhile; True when the loop is to
        end."""
        return await wait_at_most(self._stopping, seconds)

    async def stop(self) -> None:
        """End every loop at its next pause (rounds in progress finish, up to ``grace``)."""
        self._stopping.set()
        await finish_or_cancel(self._tasks, self.grace)
        self._tasks.clear()
