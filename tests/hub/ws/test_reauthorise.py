"""Live subscriptions follow what their user may see: a task that moves away from a desk stops
reaching that desk's sockets on every hub process, the periodic re-check applies the subscribe
rule to every subscription, and a token socket ends when its token does (real hub processes)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.hubfixtures import Tokens, seeded_env, tokens
from tests.support.hubproc import HubCluster
from tests.support.wsclient import WsClient, register_task

__all__ = ["tokens"]  # fixture used by name


@pytest.fixture
async def hubs(database_url: str, redis_url: str, tmp_path: Path) -> AsyncIterator[HubCluster]:
    """Hub processes on a seeded database of each engine."""
    cluster = HubCluster(await seeded_env(database_url, redis_url, tmp_path), tmp_path)
    try:
        yield cluster
    finally:
        cluster.close()


async def act(base: str, token: str, task_id: int, action: str, **body: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, timeout=30.0) as client:
        answer = await client.post(f"/api/v1/tasks/{task_id}/{action}", json=body,
                                   headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code in (200, 201), answer.text
    return answer.json()  # type: ignore[no-any-return]


def event_types(frames: list[dict[str, Any]]) -> list[str]:
    return [f["type"] for f in frames if f.get("op") == "event"]


async def test_a_task_rerouted_away_unsubscribes_the_old_desk_on_every_process(
        hubs: HubCluster, tokens: Tokens) -> None:
    """P2 of pusdatin returns a task and P1 re-routes it to pusrenaker: pusdatin's sockets on
    both processes get ``unsubscribed`` (task_moved) and none of the later events."""
    one, two = await hubs.start(2)
    p0 = await tokens(one.url, "p0-1")
    p1 = await tokens(one.url, "p1-barenbang-1")
    task = await register_task(one.url, p0, "data-informasi")
    channel = f"task.{task['id']}"
    await act(one.url, p1, task["id"], "claim")
    await act(one.url, p1, task["id"], "dispose", unit="pusdatin")
    old_desk = [await WsClient.open(two.ws_url, await tokens(two.url, "p2-pusdatin-1")),
                await WsClient.open(one.ws_url, await tokens(one.url, "p2-pusdatin-2"))]
    watcher = await WsClient.open(one.ws_url, p1)
    for client in [*old_desk, watcher]:
        assert (await client.subscribe(channel))["op"] == "subscribed"

    await act(one.url, await tokens(one.url, "p2-pusdatin-1"), task["id"], "return",
              reason="Bukan wewenang Pusdatin")
    await act(one.url, p1, task["id"], "claim")
    for client in old_desk:  # still theirs to see: it is back at P1 but came from them
        assert event_types(await client.events(2, channel=channel)) == ["task.returned",
                                                                        "task.claimed"]
    await act(one.url, p1, task["id"], "dispose", unit="pusrenaker")
    new_desk = await tokens(one.url, "p2-pusrenaker-1")
    await act(one.url, new_desk, task["id"], "claim")
    await act(one.url, new_desk, task["id"], "messages", body="Nomor KTP pemohon 3174...")

    seen = await watcher.events(5, channel=channel)
    assert event_types(seen) == ["task.returned", "task.claimed", "task.disposed",
                                 "task.claimed", "task.message"]
    for client in old_desk:
        frames = await client.drain(1.0)
        assert {"op": "unsubscribed", "channel": channel, "code": "task_moved"} in frames
        assert event_types(frames) == [], frames
        assert "3174" not in str(frames)
        # The HTTP side agrees, and subscribing again is refused.
        assert (await client.subscribe(channel))["code"] == "forbidden"
    for client in [*old_desk, watcher]:
        await client.close()


async def test_a_token_socket_is_closed_when_its_token_expires(hubs: HubCluster,
                                                               tokens: Tokens) -> None:
    """A WebSocket opened with a bearer token is closed with 4001 once the token's age passes
    PTSA_SESSION_MAX_AGE, though nothing else about the account changed."""
    [hub] = await hubs.start(1, PTSA_SESSION_MAX_AGE="3s")
    client = await WsClient.open(hub.ws_url, await tokens(hub.url, "p1-barenbang-1"))
    assert (await client.subscribe("p1.barenbang"))["op"] == "subscribed"
    started = asyncio.get_running_loop().time()
    code, _reason = await client.closed_with(timeout=10.0)
    assert code == 4001
    assert asyncio.get_running_loop().time() - started < 5.0


async def test_the_periodic_recheck_drops_a_subscription_whose_move_event_never_came(
        hubs: HubCluster, tokens: Tokens) -> None:
    """With the relay off no event announces a re-route, yet within one PTSA_WS_RECHECK round the
    old desk's subscription is dropped with ``unsubscribed`` (forbidden) and its socket lives on."""
    [hub] = await hubs.start(1, PTSA_RELAY="off", PTSA_WS_RECHECK="1s")
    p1 = await tokens(hub.url, "p1-barenbang-1")
    task = await register_task(hub.url, await tokens(hub.url, "p0-1"), "data-informasi")
    channel = f"task.{task['id']}"
    await act(hub.url, p1, task["id"], "claim")
    await act(hub.url, p1, task["id"], "dispose", unit="pusdatin")
    old = await WsClient.open(hub.ws_url, await tokens(hub.url, "p2-pusdatin-1"))
    assert (await old.subscribe(channel))["op"] == "subscribed"
    assert (await old.subscribe("p2.pusdatin"))["op"] == "subscribed"
    await act(hub.url, await tokens(hub.url, "p2-pusdatin-1"), task["id"], "return",
              reason="Bukan wewenang Pusdatin")
    await act(hub.url, p1, task["id"], "claim")
    await act(hub.url, p1, task["id"], "dispose", unit="pusrenaker")
    frame = await old.recv_until(lambda f: f.get("op") == "unsubscribed", timeout=5.0)
    assert frame == {"op": "unsubscribed", "channel": channel, "code": "forbidden"}
    await old.send({"op": "ping"})
    assert await old.recv_until(lambda f: f.get("op") == "pong") == {"op": "pong"}
    assert (await old.subscribe(channel))["code"] == "forbidden"
    await old.close()


async def test_an_account_over_its_socket_cap_gets_a_clear_close_code(hubs: HubCluster,
                                                                      tokens: Tokens) -> None:
    """With PTSA_WS_MAX_SOCKETS_PER_ACCOUNT=2 the third socket of one account is closed with
    4009 while its first two and another account's sockets work; closing one frees a place."""
    [hub] = await hubs.start(1, PTSA_WS_MAX_SOCKETS_PER_ACCOUNT="2")
    token = await tokens(hub.url, "p1-barenbang-1")
    first, second = [await WsClient.open(hub.ws_url, token) for _ in range(2)]
    third = await WsClient.open(hub.ws_url, token)
    code, reason = await third.closed_with(5)
    assert code == 4009 and "2" in reason
    other = await WsClient.open(hub.ws_url, await tokens(hub.url, "p1-barenbang-2"))
    for client in (first, second, other):
        assert (await client.subscribe("p1.barenbang"))["op"] == "subscribed"
    await first.close()
    await asyncio.sleep(0.3)
    again = await WsClient.open(hub.ws_url, token)
    assert (await again.subscribe("p1.barenbang"))["op"] == "subscribed"
    for client in (second, other, again):
        await client.close()


async def test_a_supervisor_reroute_unsubscribes_the_desk_it_leaves(
        hubs: HubCluster, tokens: Tokens) -> None:
    """A supervisor re-routes a task from pusdatin to pusrenaker: pusdatin's socket gets
    ``unsubscribed`` (task_moved) before the event and none of what follows."""
    (one,) = await hubs.start(1)
    p0 = await tokens(one.url, "p0-1")
    p1 = await tokens(one.url, "p1-barenbang-1")
    task = await register_task(one.url, p0, "data-informasi")
    channel = f"task.{task['id']}"
    await act(one.url, p1, task["id"], "claim")
    await act(one.url, p1, task["id"], "dispose", unit="pusdatin")
    old_desk = await WsClient.open(one.ws_url, await tokens(one.url, "p2-pusdatin-1"))
    assert (await old_desk.subscribe(channel))["op"] == "subscribed"

    await act(one.url, await tokens(one.url, "spv-barenbang"), task["id"], "reroute",
              unit="pusrenaker", reason="Salah unit")
    new_desk = await tokens(one.url, "p2-pusrenaker-1")
    await act(one.url, new_desk, task["id"], "claim")
    await act(one.url, new_desk, task["id"], "messages", body="Nomor KTP pemohon 3174...")

    frames = await old_desk.drain(1.0)
    assert {"op": "unsubscribed", "channel": channel, "code": "task_moved"} in frames
    assert event_types(frames) == [], frames
    assert "3174" not in str(frames)
    await old_desk.close()
