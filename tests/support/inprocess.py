"""An ASGI app served by a real uvicorn inside the test's own event loop, on a free port.

For tests that need real sockets but also the app's objects at hand (the protocol instances,
the hub's registry), where a separate hub process (``hubproc.py``) would hide them.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import uvicorn

START_TIMEOUT_S = 10.0


@contextlib.asynccontextmanager
async def uvicorn_serving(app: Any, **config: Any) -> AsyncIterator[tuple[uvicorn.Server, int]]:
    """Serve ``app`` (``config``: ``uvicorn.Config``'s keywords; lifespan off and warnings-only
    logging unless given) until the block ends; yields the server and its port.

    The listening socket is bound here, before uvicorn starts, so no other test can take the
    port between choosing it and listening on it.
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    # uvicorn listens on the socket given; host and port are set so that ``server.config`` says
    # where (the keep-alive and tests read it).
    config.update(host="127.0.0.1", port=listener.getsockname()[1])
    config.setdefault("lifespan", "off")
    config.setdefault("log_level", "warning")
    server = uvicorn.Server(uvicorn.Config(app, **config))
    task = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        async with asyncio.timeout(START_TIMEOUT_S):
            while not server.started:
                if task.done():  # it failed to start: say why, not "timed out"
                    task.result()
                    raise RuntimeError("uvicorn stopped before it started")
                await asyncio.sleep(0.01)
        yield server, listener.getsockname()[1]
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        listener.close()
