"""Who may open /ws and subscribe to what, and the per-connection limits (real hub processes)."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import pytest
from redis.asyncio import Redis
from sqlmodel import select
from websockets.exceptions import InvalidStatus

from config.settings import load_settings, normalise_database_url
from hub.auth.sessions import COOKIE_NAME, SessionStore, kick
from hub.db import Database
from hub.models import Staff
from tests.support.hubfixtures import Tokens, cluster, hub_env, tokens
from tests.support.hubproc import HubCluster, HubProcess
from tests.support.wsclient import WsClient, register_task

__all__ = ["cluster", "hub_env", "tokens"]  # fixtures used by name


async def refused_status(url: str, **kw: object) -> int:
    with pytest.raises(InvalidStatus) as caught:
        await WsClient.open(url, **kw)  # type: ignore[arg-type]
    return caught.value.response.status_code


async def browser_cookie(hub: HubProcess, username: str) -> str:
    """A signed-in browser session for ``username``, as its cookie header value."""
    db = Database(normalise_database_url(hub.env["DATABASE_URL"]))
    async with db.read() as session:
        staff = (await session.exec(select(Staff).where(Staff.username == username))).one()
    await db.dispose()
    redis = Redis.from_url(hub.env["REDIS_URL"], decode_responses=True)
    secret = load_settings(hub.env).secret_key  # the hub's own per-install key
    _, cookie = await SessionStore(redis, secret, 3600).create(staff.id or 0,
                                                                       staff.session_epoch)
    await redis.aclose()
    return f"{COOKIE_NAME}={cookie}"


async def test_forbidden_and_malformed_channels_are_refused_and_leak_nothing(
        cluster: HubCluster, tokens: Tokens) -> None:
    """A P1 of barenbang is refused other units, other levels, malformed names, wildcards and
    invisible tasks, each with an error frame, keeps a usable socket, and hears nothing else."""
    [hub] = await cluster.start(1)
    p0 = await tokens(hub.url, "p0-1")
    own = await register_task(hub.url, p0, "data-informasi")  # barenbang
    other = await register_task(hub.url, p0, "pendaftaran-pkb")  # phijsk
    client = await WsClient.open(hub.ws_url, await tokens(hub.url, "p1-barenbang-1"))
    refused = {
        "p1.setjen": "forbidden", "p0": "forbidden", "p2.pusdatin": "forbidden",
        "sup.barenbang": "forbidden", "user.p0-1": "forbidden",
        f"task.{other['id']}": "forbidden", "task.999999": "forbidden",
        "p1.*": "bad_channel", "p1..barenbang": "bad_channel", "..": "bad_channel",
        "p1.barenbang/..": "bad_channel", "p1.Barenbang": "bad_channel",
        "task.abc": "bad_channel", "*": "bad_channel", "p1.barenbang ": "bad_channel",
    }
    for channel, code in refused.items():
        answer = await client.subscribe(channel)
        assert (answer["op"], answer["code"], answer.get("channel")) == ("error", code, channel)
    for channel in ("p1.barenbang", "user.p1-barenbang-1", f"task.{own['id']}"):
        assert (await client.subscribe(channel))["op"] == "subscribed"
    await client.send({"op": "ping"})
    assert await client.recv() == {"op": "pong"}
    await register_task(hub.url, p0, "pendaftaran-pkb")
    leaked = [f for f in await client.drain(1.0) if f["op"] == "event"]
    assert leaked == []
    await client.close()


async def test_handshake_needs_valid_credentials_and_our_origin(cluster: HubCluster,
                                                                tokens: Tokens) -> None:
    """No credentials or a bad token → 401; a foreign Origin → 403 even with a good token."""
    [hub] = await cluster.start(1)
    token = await tokens(hub.url, "p0-1")
    assert await refused_status(hub.ws_url) == 401
    assert await refused_status(hub.ws_url, token="not-a-token") == 401
    assert await refused_status(hub.ws_url, token=token, origin="http://evil.example") == 403
    client = await WsClient.open(hub.ws_url, token, origin=hub.url)
    assert (await client.subscribe("p0"))["op"] == "subscribed"
    await client.close()


async def test_session_cookie_works_only_from_our_origin(cluster: HubCluster) -> None:
    """A browser session opens /ws from the hub's own origin; a cross-site page gets 403."""
    [hub] = await cluster.start(1)
    cookie = {"Cookie": await browser_cookie(hub, "p2-pusdatin-1")}
    client = await WsClient.open(hub.ws_url, origin=hub.url, additional_headers=cookie)
    assert (await client.subscribe("p2.pusdatin"))["op"] == "subscribed"
    await client.close()
    assert await refused_status(hub.ws_url, origin="http://intranet.evil.example",
                                additional_headers=cookie) == 403
    assert await refused_status(hub.ws_url, additional_headers=cookie) == 403


async def test_oversized_frame_closes_with_1009(cluster: HubCluster, tokens: Tokens) -> None:
    """A 65,537-byte message closes the connection with 1009; 65,536 bytes is accepted."""
    [hub] = await cluster.start(1)
    token = await tokens(hub.url, "p0-1")
    client = await WsClient.open(hub.ws_url, token)
    await client.send("x" * 65_536)
    assert (await client.recv())["code"] == "bad_json"
    await client.send("x" * 65_537)
    assert (await client.closed_with())[0] == 1009


async def test_protocol_errors_keep_the_socket_usable(cluster: HubCluster,
                                                      tokens: Tokens) -> None:
    """Malformed JSON, unknown ops, binary frames, double subscribes and stray unsubscribes are
    answered with error frames; the connection goes on working."""
    [hub] = await cluster.start(1)
    client = await WsClient.open(hub.ws_url, await tokens(hub.url, "p0-1"))
    await client.send("{not json")
    assert (await client.recv())["code"] == "bad_json"
    await client.send({"op": "publish", "channel": "p0"})
    assert (await client.recv())["code"] == "unknown_op"
    await client.ws.send(b"\x00\x01")
    assert (await client.recv())["code"] == "bad_frame"
    await client.subscribe("p0")
    assert (await client.subscribe("p0"))["code"] == "already_subscribed"
    await client.send({"op": "unsubscribe", "channel": "user.p0-1"})
    assert (await client.recv())["code"] == "not_subscribed"
    await client.send({"op": "subscribe", "channel": "p0", "since": "soon"})
    assert (await client.recv())["code"] == "bad_offset"
    await client.send({"op": "ping"})
    assert await client.recv() == {"op": "pong"}
    await client.close()


async def test_subscription_and_rate_limits(cluster: HubCluster, tokens: Tokens) -> None:
    """Beyond the subscription limit a subscribe is refused; a flood of frames is refused with
    rate_limited and, if it goes on, closed with 4029."""
    [hub] = await cluster.start(1, PTSA_WS_MAX_SUBSCRIPTIONS="2")
    p0 = await tokens(hub.url, "p0-1")
    client = await WsClient.open(hub.ws_url, p0)
    await client.subscribe("p0")
    await client.subscribe("user.p0-1")
    assert (await client.subscribe("task.1"))["code"] == "too_many_subscriptions"
    await client.close()
    flooder = await WsClient.open(hub.ws_url, p0)
    for _ in range(30):
        await flooder.send({"op": "ping"})
    frames = await flooder.drain(0.5)
    assert {"op": "pong"} in frames
    assert any(f.get("code") == "rate_limited" for f in frames)
    for _ in range(100):
        await flooder.send({"op": "ping"})
    assert (await flooder.closed_with())[0] == 4029


async def test_kick_closes_one_session_or_all_within_seconds(cluster: HubCluster,
                                                             tokens: Tokens) -> None:
    """Signing out one browser closes that session's sockets; signing out everywhere (or
    deactivation) closes the user's other sockets too, on every hub process, with 4001."""
    a, b = await cluster.start(2)
    cookie_1 = await browser_cookie(a, "p1-barenbang-1")
    cookie_2 = await browser_cookie(a, "p1-barenbang-1")
    first = await WsClient.open(a.ws_url, origin=a.url, additional_headers={"Cookie": cookie_1})
    second = await WsClient.open(b.ws_url, origin=b.url, additional_headers={"Cookie": cookie_2})
    kiosk = await WsClient.open(b.ws_url, await tokens(a.url, "p1-barenbang-1"))
    bystander = await WsClient.open(a.ws_url, await tokens(a.url, "p1-barenbang-2"))
    for client in (first, second, kiosk, bystander):
        await client.subscribe("p1.barenbang")
    redis = Redis.from_url(a.env["REDIS_URL"], decode_responses=True)
    try:
        store = SessionStore(redis, load_settings(a.env).secret_key, 3600)
        session_1 = await store.load(cookie_1.split("=", 1)[1])
        assert session_1 is not None
        await kick(redis, "p1-barenbang-1", session_1.sid)
        assert (await first.closed_with(3))[0] == 4001
        await second.send({"op": "ping"})
        assert await second.recv() == {"op": "pong"}
        await kick(redis, "p1-barenbang-1")
        closed = await asyncio.gather(second.closed_with(3), kiosk.closed_with(3))
        assert [c[0] for c in closed] == [4001, 4001]
        await bystander.send({"op": "ping"})
        assert await bystander.recv() == {"op": "pong"}
        await bystander.close()
    finally:
        await redis.aclose()


async def test_deactivated_user_is_closed_and_cannot_reconnect(cluster: HubCluster,
                                                               tokens: Tokens) -> None:
    """Deactivating an account (epoch bump and kick) closes its socket; its token is refused."""
    [hub] = await cluster.start(1)
    token = await tokens(hub.url, "p2-ptkln-1")
    client = await WsClient.open(hub.ws_url, token)
    await client.subscribe("p2.ptkln")
    db = Database(normalise_database_url(hub.env["DATABASE_URL"]))
    async with db.write() as session:
        staff = (await session.exec(select(Staff).where(Staff.username == "p2-ptkln-1"))).one()
        staff.active = False
        staff.session_epoch += 1
        session.add(staff)
    await db.dispose()
    redis = Redis.from_url(hub.env["REDIS_URL"], decode_responses=True)
    await kick(redis, "p2-ptkln-1")
    await redis.aclose()
    assert (await client.closed_with(3))[0] == 4001
    assert await refused_status(hub.ws_url, token=token) == 401


async def test_server_pings_drop_a_dead_peer(cluster: HubCluster, tokens: Tokens) -> None:
    """A peer that stops answering protocol pings is disconnected by the server."""
    [hub] = await cluster.start(1)
    token = await tokens(hub.url, "p0-1")
    dead = HubProcess(hub.env, hub.log_path.with_name("dead-peer.log"),
                      extra_args=("--ws-ping-interval", "0.5", "--ws-ping-timeout", "0.5"))
    cluster.hubs.append(dead)
    dead.start()
    await dead.wait_ready()
    reader, writer = await asyncio.open_connection("127.0.0.1", dead.port)
    writer.write((f"GET /ws?token={quote(token)} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 101")
    # Never answer the pings: the server must give up on us and close the TCP connection.
    received = b""
    async with asyncio.timeout(10):
        while chunk := await reader.read(4096):
            received += chunk
    assert b"keepalive ping timeout" in received  # uvicorn's 1011 close, then EOF
    writer.close()
