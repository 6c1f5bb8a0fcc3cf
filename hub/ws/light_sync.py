"""The two asyncio primitives every uvicorn WebSocket holds for its whole life, without their cost.

uvicorn's ``websockets-sansio`` protocol gives each connection an ``asyncio.Queue`` (incoming
messages) and an ``asyncio.Event`` (``writable``). At rest both are empty, yet the queue brings
four ``collections.deque``s (its items, getters, putters and its own ``Event``'s waiters) and the
event one more: ~600 bytes each, ~3.8 KiB a connection with the objects' dictionaries — a fifth
of what an idle socket costs the hub (docs/BENCHMARKS.md, "Issue 17: idle memory").

``LightQueue`` and ``LightEvent`` behave like the parts of ``asyncio.Queue`` and ``asyncio.Event``
that uvicorn uses (``put_nowait``/``get``/``empty``; ``set``/``clear``/``is_set``/``wait``) and
make their lists only while something is actually queued or waiting. Waiting still suspends on
a plain loop future, as the asyncio classes do (``hub.ws.outbound`` relies on that).
"""

from __future__ import annotations

import asyncio
from typing import Any


class LightQueue:
    """An unbounded FIFO with ``asyncio.Queue``'s ``put_nowait``/``get``/``get_nowait``/``empty``
    and ``qsize``, fair to several getters like it."""

    __slots__ = ("_items", "_getters")

    def __init__(self) -> None:
        self._items: list[Any] | None = None
        self._getters: list[asyncio.Future[None]] | None = None

    def qsize(self) -> int:
        return len(self._items) if self._items is not None else 0

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, item: Any) -> None:
        if self._items is None:
            self._items = [item]
        else:
            self._items.append(item)
        self._wake_next()

    def get_nowait(self) -> Any:
        items = self._items
        if not items:
            raise asyncio.QueueEmpty
        item = items.pop(0)
        if not items:
            self._items = None
        return item

    async def get(self) -> Any:
        while not self._items:
            getter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            if self._getters is None:
                self._getters = [getter]
            else:
                self._getters.append(getter)
            try:
                await getter
            except BaseException:
                getter.cancel()
                self._drop(getter)
                # An item put for this getter must not be stranded: pass the wake-up on.
                if self._items and not getter.cancelled():
                    self._wake_next()
                raise
            self._drop(getter)
        return self.get_nowait()

    def _drop(self, getter: asyncio.Future[None]) -> None:
        getters = self._getters
        if getters is not None:
            if getter in getters:
                getters.remove(getter)
            if not getters:
                self._getters = None

    def _wake_next(self) -> None:
        for getter in self._getters or ():
            if not getter.done():
                getter.set_result(None)
                return


class LightEvent:
    """``asyncio.Event``: ``set``, ``clear``, ``is_set`` and ``wait``."""

    __slots__ = ("_value", "_waiters")

    def __init__(self) -> None:
        self._value = False
        self._waiters: list[asyncio.Future[bool]] | None = None

    def is_set(self) -> bool:
        return self._value

    def set(self) -> None:
        if not self._value:
            self._value = True
            for waiter in self._waiters or ():
                if not waiter.done():
                    waiter.set_result(True)

    def clear(self) -> None:
        self._value = False

    async def wait(self) -> bool:
        if self._value:
            return True
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = [waiter]
        else:
            self._waiters.append(waiter)
        try:
            await waiter
            return True
        finally:
            waiters = self._waiters
            if waiters is not None:
                waiters.remove(waiter)
                if not waiters:
                    self._waiters = None
