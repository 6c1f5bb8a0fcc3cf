"""``PTSA_WS_MAX_CONNECTIONS``: a hub process at its cap closes new sockets with 1013 (try again
later) and answers /healthz 503 until one closes (real sockets, uvicorn in this process)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from channels import protocol as proto
from config.settings import Settings
from hub.ws.wire import PROTOCOL_CLASS
from tests.conftest import fresh_database, make_settings
from tests.support.inprocess import uvicorn_serving
from tests.support.wsclient import WsClient, fetch_token

CAP = 2


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """SQLite only: the cap is the process's own count, no database in it."""
    yield from fresh_database("sqlite", tmp_path)


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, redis_url, tmp_path, PTSA_WS_MAX_CONNECTIONS=str(CAP))


@pytest.fixture
async def base_url(app: Any) -> AsyncIterator[str]:
    """The app (lifespan already started by its fixture) served by uvicorn on a free port, with
    the WebSocket implementation ``ptsa web`` runs."""
    async with uvicorn_serving(app, ws=PROTOCOL_CLASS, ws_per_message_deflate=False) as (_, port):
        yield f"http://127.0.0.1:{port}"


async def health(base_url: str) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as http:
        answer = await http.get("/healthz")
        return answer.status_code, answer.json()


async def until_open(app: Any, count: int) -> None:
    """Until the hub counts ``count`` sockets (a close reaches it a moment after the client's)."""
    async with asyncio.timeout(5):
        while app.state.ctx.ws.admitted != count:
            await asyncio.sleep(0.02)


async def test_at_the_cap_a_new_socket_is_told_to_try_again_later(app: Any,
                                                                 base_url: str) -> None:
    """Cap 2: the third socket is accepted and closed with 1013, /healthz says "full" (503) and
    /healthz/live stays 200; the two open sockets keep working; once one closes, /healthz is
    200 again and a new socket is served."""
    ws_url = base_url.replace("http", "ws", 1) + "/ws"
    token = await fetch_token(base_url, "p1-barenbang-1")
    status, body = await health(base_url)
    assert status == 200 and body["checks"]["websockets"] == "ok", body
    assert body["websockets"] == {"open": 0, "max": CAP, "refused_full": 0}

    first, second = [await WsClient.open(ws_url, token) for _ in range(CAP)]
    third = await WsClient.open(ws_url, token)
    code, reason = await third.closed_with(5)
    assert code == proto.CLOSE_TRY_AGAIN_LATER == 1013 and "try again later" in reason
    status, body = await health(base_url)
    assert status == 503 and body["status"] == "degraded", body
    assert body["checks"]["websockets"] == f"full: {CAP} of {CAP} open"
    assert body["websockets"] == {"open": CAP, "max": CAP, "refused_full": 1}
    assert all(v == "ok" for k, v in body["checks"].items() if k != "websockets"), body
    async with httpx.AsyncClient(base_url=base_url) as http:
        assert (await http.get("/healthz/live")).status_code == 200
    for client in (first, second):
        assert (await client.subscribe("p1.barenbang"))["op"] == "subscribed"

    await first.close()
    await until_open(app, CAP - 1)
    status, body = await health(base_url)
    assert status == 200 and body["checks"]["websockets"] == "ok", body
    again = await WsClient.open(ws_url, token)
    assert (await again.subscribe("p1.barenbang"))["op"] == "subscribed"
    for client in (second, again):
        await client.close()


async def test_sockets_still_in_the_handshake_count_and_refusals_free_their_place(
        app: Any, base_url: str) -> None:
    """A handshake refused (bad token, 401) does not keep a place; a burst of sockets opened at
    once never gets more than the cap in."""
    ws_url = base_url.replace("http", "ws", 1) + "/ws"
    token = await fetch_token(base_url, "p1-barenbang-1")
    for _ in range(CAP + 1):
        with pytest.raises(Exception, match="401"):
            await WsClient.open(ws_url, "not-a-token")
    await until_open(app, 0)
    clients = await asyncio.gather(*(WsClient.open(ws_url, token) for _ in range(CAP + 3)))
    results = await asyncio.gather(*(c.subscribe("p1.barenbang") for c in clients),
                                   return_exceptions=True)
    served = [c for c, r in zip(clients, results, strict=True)
              if isinstance(r, dict) and r.get("op") == "subscribed"]
    assert len(served) == CAP
    for client in clients:
        if client not in served:
            assert (await client.closed_with(5))[0] == 1013
    for client in served:
        await client.close()
    await until_open(app, 0)


async def test_a_full_hub_reports_full_until_five_percent_of_the_cap_is_free(
        settings: Settings, seeded_db: Any) -> None:
    """Cap 40: at 40 open /healthz is 503; one or even two closing do not make it healthy
    (a balancer would send it the next screen at once and take it out again) although a socket
    that does reach it is served up to the cap; at 38 open (40 less 5 %) it is 200 again."""
    from hub.app import create_app

    cap = 40
    app = create_app(settings.with_overrides(ws_max_connections=cap))
    async with app.router.lifespan_context(app), \
            uvicorn_serving(app, ws=PROTOCOL_CLASS, ws_per_message_deflate=False) as (_, port):
        base_url = f"http://127.0.0.1:{port}"
        ws_url = f"ws://127.0.0.1:{port}/ws"
        token = await fetch_token(base_url, "p1-barenbang-1")
        clients = [await WsClient.open(ws_url, token) for _ in range(cap)]
        await until_open(app, cap)
        assert (await health(base_url))[0] == 503
        await clients.pop().close()
        await until_open(app, cap - 1)
        status, body = await health(base_url)
        assert status == 503, body
        assert body["checks"]["websockets"] == f"full: 39 of {cap} open; healthy again at 38"
        late = await WsClient.open(ws_url, token)  # reached it anyway: served, not refused
        assert (await late.subscribe("p1.barenbang"))["op"] == "subscribed"
        clients.append(late)
        for _ in range(2):
            await clients.pop().close()
        await until_open(app, cap - 2)
        status, body = await health(base_url)
        assert status == 200 and body["checks"]["websockets"] == "ok", body
        for client in clients:
            await client.close()
