"""The event loop of every long-running process: uvloop where it installs, asyncio's otherwise.

uvloop (libuv, written in Cython) runs the same asyncio programs with its transports, timers and
callbacks in C: issue 17 measured ~25 % less CPU per fan-out delivery with it in one sitting
(within noise in the next, docs/BENCHMARKS.md). It is declared for every platform but Windows,
where it does not build; where it cannot be imported (Windows, an exotic interpreter, a
stripped-down install) the processes run on asyncio's own loop, unchanged in behaviour.

``PTSA_LOOP=asyncio`` (``Settings.event_loop``) forces asyncio's loop: to compare, or to rule
uvloop out of a bug hunt.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

UVLOOP = "uvloop"
ASYNCIO = "asyncio"


def uvloop_available() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def loop_name(wanted: str = "auto") -> str:
    """``uvloop`` or ``asyncio``: what ``wanted`` (``Settings.event_loop``) gives here. ``auto``
    and ``uvloop`` fall back to asyncio when uvloop cannot be imported."""
    if wanted == ASYNCIO:
        return ASYNCIO
    return UVLOOP if uvloop_available() else ASYNCIO


def loop_factory(wanted: str = "auto") -> Callable[[], asyncio.AbstractEventLoop]:
    """A function making new event loops of the chosen kind (for ``asyncio.Runner``)."""
    if loop_name(wanted) == UVLOOP:
        import uvloop

        return uvloop.new_event_loop
    return asyncio.new_event_loop


def install(wanted: str = "auto") -> str:
    """Make the chosen loop the current thread's event loop (for code that asks
    ``asyncio.get_event_loop()``, like arq's worker); returns its name."""
    name = loop_name(wanted)
    asyncio.set_event_loop(loop_factory(name)())
    return name
