"""The built-in development key signs nothing: a hub started without PTSA_SECRET_KEY refuses
tokens and session cookies forged with it (real hub process)."""

from __future__ import annotations

import httpx
import pytest
from redis.asyncio import Redis
from sqlmodel import select
from websockets.exceptions import InvalidStatus

from config.settings import DEV_SECRET_KEY, normalise_database_url
from hub.auth.sessions import COOKIE_NAME, SessionStore
from hub.auth.tokens import TokenSigner
from hub.db import Database
from hub.models import Staff
from tests.support.hubfixtures import cluster, hub_env
from tests.support.hubproc import HubCluster
from tests.support.wsclient import WsClient

__all__ = ["cluster", "hub_env"]  # fixtures used by name


async def test_the_published_development_key_mints_nothing(cluster: HubCluster) -> None:
    """An admin token and a session cookie signed with the built-in key are refused (401 on the
    API and the WebSocket, the sign-in page on /) by a development hub with no secret set."""
    [hub] = await cluster.start(1)
    db = Database(normalise_database_url(hub.env["DATABASE_URL"]))
    async with db.read() as session:
        admin = (await session.exec(select(Staff).where(Staff.username == "admin"))).one()
    await db.dispose()
    forged = TokenSigner(DEV_SECRET_KEY, 3600).issue(admin.id or 0, admin.session_epoch)
    redis = Redis.from_url(hub.env["REDIS_URL"], decode_responses=True)
    _, cookie = await SessionStore(redis, DEV_SECRET_KEY, 3600).create(admin.id or 0,
                                                                       admin.session_epoch)
    await redis.aclose()
    async with httpx.AsyncClient(base_url=hub.url, timeout=30.0) as client:
        me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"})
        assert me.status_code == 401
        assert me.json()["error"]["code"] == "bad_token"
        page = await client.get("/admin", headers={"Cookie": f"{COOKIE_NAME}={cookie}"})
        assert page.status_code in (302, 303)
        assert page.headers["location"].startswith("/masuk")
    with pytest.raises(InvalidStatus) as caught:
        await WsClient.open(hub.ws_url, forged)
    assert caught.value.response.status_code == 401
