"""Editing staff from the command line (`ptsa user set`) against a running hub: contacts change
in place; a new unit or role releases what the person held and ends their tokens and sockets."""

from __future__ import annotations

import httpx

from tests.hub.cli.test_cli import ptsa_async
from tests.support.hubfixtures import Tokens, cluster, hub_env, tokens
from tests.support.hubproc import HubCluster
from tests.support.wsclient import WsClient, register_task

__all__ = ["cluster", "hub_env", "tokens"]  # fixtures used by name


async def test_user_set_changes_contacts_without_ending_sessions(cluster: HubCluster,
                                                                 tokens: Tokens) -> None:
    """E-mail, phone and name change; the person's token still works (no move, no release)."""
    [hub] = await cluster.start(1)
    token = await tokens(hub.url, "spv-barenbang")
    code, out, err = await ptsa_async(hub.env, "user", "set", "spv-barenbang", "--email",
                                      "rani.o@kemnaker.go.id", "--phone", "0812-7777-1234",
                                      "--name", "Rani Oktaviani, S.E.")
    assert code == 0, out + err
    assert "updated spv-barenbang (supervisor, barenbang)" in out and "moved" not in out
    async with httpx.AsyncClient(base_url=hub.url) as http:
        me = await http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    body = me.json()
    assert (body["name"], body["email"], body["phone"]) == (
        "Rani Oktaviani, S.E.", "rani.o@kemnaker.go.id", "0812-7777-1234"), body
    code, out, err = await ptsa_async(hub.env, "user", "set", "spv-barenbang", "--email", "x@")
    assert code == 2 and "email" in err and "Traceback" not in err


async def test_user_set_to_another_unit_releases_requests_and_closes_the_socket(
        cluster: HubCluster, tokens: Tokens) -> None:
    """Moving a P1 desk to another Eselon I: the claimed request returns to the old unit's queue
    (task.released on its channel), the person's open socket is closed, their token refused."""
    [hub] = await cluster.start(1)
    p1, p0, other = (await tokens(hub.url, "p1-barenbang-1"), await tokens(hub.url, "p0-1"),
                     await tokens(hub.url, "p1-barenbang-2"))
    task = await register_task(hub.url, p0)
    async with httpx.AsyncClient(base_url=hub.url) as http:
        r = await http.post(f"/api/v1/tasks/{task['id']}/claim",
                            headers={"Authorization": f"Bearer {p1}"})
        assert r.status_code == 200, r.text
        socket = await WsClient.open(hub.ws_url, p1)
        watcher = await WsClient.open(hub.ws_url, other)
        assert (await watcher.subscribe("p1.barenbang"))["op"] == "subscribed"
        code, out, err = await ptsa_async(hub.env, "user", "set", "p1-barenbang-1", "--unit",
                                          "binapenta")
        assert code == 0, out + err
        assert "moved: 1 request(s)" in out
        close_code, _reason = await socket.closed_with(timeout=10)
        assert close_code is not None
        released = await watcher.recv_until(
            lambda f: f.get("op") == "event" and f.get("type") == "task.released", timeout=15)
        assert released["data"]["task"]["status"] == "queued"
        assert released["data"]["released"] == "p1-barenbang-1"
        refused = await http.get("/api/v1/me", headers={"Authorization": f"Bearer {p1}"})
        assert refused.status_code == 401
        r = await http.post(f"/api/v1/tasks/{task['id']}/claim",
                            headers={"Authorization": f"Bearer {other}"})
        assert r.status_code == 200, r.text
        await watcher.close()
