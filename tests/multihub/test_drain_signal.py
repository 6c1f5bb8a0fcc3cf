"""SIGTERM with ``PTSA_DRAIN`` (hub/drain.py): /healthz says 503 "draining" while the process
keeps serving, then sockets close with 1012 (reconnect) and the process exits."""

from __future__ import annotations

import asyncio
import signal
import time

import httpx
import pytest

from tests.support.hubfixtures import Tokens, cluster, hub_env, tokens
from tests.support.hubproc import HubCluster
from tests.support.wsclient import WsClient, register_task

__all__ = ["cluster", "hub_env", "tokens"]  # fixtures used by name

pytestmark = pytest.mark.slow


async def wait_exit(proc: object, timeout: float) -> float:
    """Seconds until the process exits (AssertionError after ``timeout``)."""
    start = time.monotonic()
    while proc.poll() is None:  # type: ignore[attr-defined]
        assert time.monotonic() - start < timeout, f"still running after {timeout} s"
        await asyncio.sleep(0.05)
    return time.monotonic() - start


async def test_sigterm_answers_draining_keeps_serving_then_closes_with_1012(
        cluster: HubCluster, tokens: Tokens) -> None:
    [hub] = await cluster.start(1, PTSA_DRAIN="2s")
    p0 = await tokens(hub.url, "p0-1")
    client = await WsClient.open(hub.ws_url, await tokens(hub.url, "p1-barenbang-1"))
    await client.subscribe("p1.barenbang")
    assert (await hub.health())[0] == 200
    async with httpx.AsyncClient(base_url=hub.url, timeout=5) as http:
        assert (await http.get("/healthz/live")).json() == {"status": "ok"}
    assert hub.proc is not None
    hub.proc.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    async with httpx.AsyncClient(base_url=hub.url, timeout=5) as http:
        async with asyncio.timeout(1.5):
            while (answer := await http.get("/healthz")).status_code == 200:
                await asyncio.sleep(0.05)
        assert (answer.status_code, answer.json()["status"]) == (503, "draining")
        assert (await http.get("/healthz/live")).status_code == 503
        # Still serving: what the balancer already sent here completes, live events still flow.
        code = (await register_task(hub.url, p0, client=http))["code"]
    [event] = await client.events(1)
    assert event["data"]["task"]["code"] == code
    closed = await client.closed_with(timeout=10)
    assert closed[0] == 1012, closed
    assert time.monotonic() - sent >= 1.8  # not before the drain ended
    await wait_exit(hub.proc, 15)


async def test_second_sigterm_stops_at_once(cluster: HubCluster, tokens: Tokens) -> None:
    """An operator who does not want to wait (or systemd's final kill) is obeyed."""
    [hub] = await cluster.start(1, PTSA_DRAIN="60s")
    client = await WsClient.open(hub.ws_url, await tokens(hub.url, "p1-barenbang-1"))
    await client.subscribe("p1.barenbang")
    assert hub.proc is not None
    hub.proc.send_signal(signal.SIGTERM)
    await asyncio.sleep(0.3)
    assert (await hub.health())[1]["status"] == "draining"
    hub.proc.send_signal(signal.SIGTERM)
    assert (await client.closed_with(timeout=10))[0] == 1012
    assert await wait_exit(hub.proc, 15) < 15


async def test_without_drain_sigterm_closes_at_once(cluster: HubCluster, tokens: Tokens) -> None:
    """The default (PTSA_DRAIN unset, one machine, `make run`): no waiting."""
    [hub] = await cluster.start(1)
    client = await WsClient.open(hub.ws_url, await tokens(hub.url, "p1-barenbang-1"))
    await client.subscribe("p1.barenbang")
    assert hub.proc is not None
    start = time.monotonic()
    hub.proc.send_signal(signal.SIGTERM)
    assert (await client.closed_with(timeout=10))[0] == 1012
    assert time.monotonic() - start < 1.5
