"""Background loops stop between rounds (hub/background.py): a round in progress finishes, a
pause ends at once, and only a round that hangs past the grace period is cancelled."""

from __future__ import annotations

import asyncio
import time

from hub.background import Loops, finish_or_cancel


async def test_stop_ends_a_pause_at_once() -> None:
    loops = Loops()
    rounds: list[int] = []

    async def loop() -> None:
        while True:
            rounds.append(len(rounds))
            if await loops.pause(3600):
                return

    loops.spawn(loop(), "test-pause")
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await loops.stop()
    assert time.monotonic() - started < 0.5
    assert rounds == [0]


async def test_a_round_in_progress_finishes_before_stop_returns() -> None:
    loops = Loops(grace=5)
    finished: list[str] = []
    entered = asyncio.Event()

    async def loop() -> None:
        while True:
            entered.set()
            await asyncio.sleep(0.3)  # a database call, say
            finished.append("round")
            if await loops.pause(3600):
                return

    loops.spawn(loop(), "test-round")
    await entered.wait()
    await loops.stop()
    assert finished == ["round"]  # not cancelled half-way, and no second round


async def test_a_round_that_hangs_is_cancelled_after_the_grace_period() -> None:
    loops = Loops(grace=0.2)
    cancelled = asyncio.Event()
    entered = asyncio.Event()

    async def loop() -> None:
        entered.set()
        try:
            await asyncio.sleep(3600)  # a database that does not answer
        except asyncio.CancelledError:
            cancelled.set()
            raise

    loops.spawn(loop(), "test-hang")
    await entered.wait()
    started = time.monotonic()
    await loops.stop()
    assert cancelled.is_set()
    assert 0.15 < time.monotonic() - started < 2


async def test_finish_or_cancel_does_not_raise_what_the_tasks_raised() -> None:
    async def fails() -> None:
        raise RuntimeError("logged by the loop itself")

    task = asyncio.create_task(fails())
    await finish_or_cancel([task], grace=1)
    assert task.done() and isinstance(task.exception(), RuntimeError)


async def test_loops_can_be_started_again_after_a_stop() -> None:
    loops = Loops()
    rounds: list[int] = []

    async def loop() -> None:
        while True:
            rounds.append(1)
            if await loops.pause(0.01):
                return

    loops.spawn(loop(), "first")
    await loops.stop()
    loops.spawn(loop(), "second")
    await asyncio.sleep(0.1)
    assert not loops.stopping
    await loops.stop()
    assert len(rounds) >= 3
