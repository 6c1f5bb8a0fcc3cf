"""The shipped deploy/haproxy.cfg in front of real hub processes: WebSocket upgrade, health
checks taking a dead hub (or a full one) out and putting it back, the client's address reaching
the login throttle, the Origin check, and a reload that does not cut open screens."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from websockets.exceptions import InvalidStatus

from config.seed import DEMO_PASSWORD
from tests.support.flow import Screens, channel_events, settle
from tests.support.haproxy import SHIPPED, haproxy_executable, render
from tests.support.multihub import Site, multihub
from tests.support.wsclient import WsClient, fetch_token, register_task

pytestmark = pytest.mark.slow
# The tests on the shared site run in the module's event loop, the one the site was started in.
on_the_shared_site = pytest.mark.asyncio(loop_scope="module")


def test_shipped_file_is_valid_and_tests_change_only_marked_lines(tmp_path: Path) -> None:
    check = subprocess.run([haproxy_executable(), "-c", "-f", str(SHIPPED)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    shipped = SHIPPED.read_text().splitlines()
    rendered = render(SHIPPED.read_text(), 18080, [("a", 18001), ("b", 18002)],
                      tmp_path).splitlines()
    changed = [line for line in rendered if line not in shipped]
    assert [c.split()[0] for c in changed] == ["stats", "bind", *["server"] * 4], changed
    for wanted in ("balance leastconn", "option httpchk GET /healthz",
                   "http-check expect status 200", "option forwardfor", "timeout tunnel 1h"):
        assert any(line.strip() == wanted for line in rendered), wanted
    for refused in ("cookie", "stick", "balance source", "shutdown-sessions"):
        assert not any(line.strip().startswith(refused) for line in rendered), refused


def test_render_refuses_a_file_without_its_marks(tmp_path: Path) -> None:
    text = SHIPPED.read_text().replace("# END hubs", "").replace("# BEGIN hubs", "")
    with pytest.raises(ValueError, match="hubs"):
        render(text, 1, [], tmp_path)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    """One site for the module (starting one is most of a test's time): ``site.restore()``
    starts again whatever the last test killed or stopped (a hub, Redis, HAProxy)."""
    async with multihub(tmp_path_factory.mktemp("site"), hubs=2) as started:
        yield started


@pytest_asyncio.fixture(loop_scope="module")
async def site(shared_site: Site) -> Site:
    await shared_site.restore()
    return shared_site


async def sign_in(base_url: str, source: str, username: str, password: str,
                  headers: dict[str, str] | None = None) -> int:
    """A sign-in from ``source`` (a loopback address of this machine) through HAProxy."""
    transport = httpx.AsyncHTTPTransport(local_address=source)
    async with httpx.AsyncClient(base_url=base_url, transport=transport, timeout=10) as http:
        answer = await http.post("/api/v1/auth/token", headers=headers,
                                 json={"username": username, "password": password})
        return answer.status_code


@on_the_shared_site
async def test_client_address_reaches_the_login_throttle(site: Site) -> None:
    """Failures from one address hold back that address only: the hub sees the screen's
    address (X-Forwarded-For from HAProxy, trusted by uvicorn), not HAProxy's, and a forged
    header from the client changes nothing. (Two failures make the next attempt wait 1 s, the
    first step before the lockout: the three attempts below come well within it.)"""
    url = site.haproxy.url
    for _ in range(2):
        assert await sign_in(url, "127.0.0.2", "p0-2", "wrong password") == 401
    assert await sign_in(url, "127.0.0.2", "p0-2", DEMO_PASSWORD) == 429
    assert await sign_in(url, "127.0.0.2", "p0-2", DEMO_PASSWORD,
                         headers={"X-Forwarded-For": "10.9.9.9"}) == 429
    assert await sign_in(url, "127.0.0.3", "p0-2", DEMO_PASSWORD) == 200


@on_the_shared_site
async def test_websocket_through_haproxy_and_the_origin_check(site: Site) -> None:
    url = site.haproxy.url
    token = await fetch_token(url, "p1-barenbang-1")
    foreign = {"origin": "https://evil.example"}
    with pytest.raises(InvalidStatus) as refused:
        await WsClient.open(site.haproxy.ws_url, token, additional_headers=foreign)
    assert refused.value.response.status_code == 403
    client = await WsClient.open(site.haproxy.ws_url, token, additional_headers={"origin": url})
    await client.subscribe("p1.barenbang")
    code = (await register_task(url, await fetch_token(url, "p0-1")))["code"]
    [event] = await client.events(1)
    assert event["data"]["task"]["code"] == code
    await client.close()


@on_the_shared_site
async def test_dead_hub_is_taken_out_and_put_back(site: Site) -> None:
    """A killed hub is marked DOWN (its port refuses) and every request still succeeds on the
    other; started again it is UP and, having the fewest connections, gets the next screens."""
    p0 = await fetch_token(site.haproxy.url, "p0-1")
    site.hubs[1].kill()
    async with asyncio.timeout(10):
        while (await site.haproxy.server_states())["hub2"] != "DOWN":
            # Meanwhile requests are retried on hub1 (retries + redispatch): none fails.
            await register_task(site.haproxy.url, p0)
    for _ in range(5):
        await register_task(site.haproxy.url, p0)
    token = await fetch_token(site.haproxy.url, "p1-barenbang-1")
    early = [await WsClient.open(site.haproxy.ws_url, token) for _ in range(4)]
    site.hubs[1].start()
    await site.hubs[1].wait_ready()
    await site.haproxy.wait_ready()
    late = [await WsClient.open(site.haproxy.ws_url, token) for _ in range(4)]
    sessions = await site.haproxy.current_sessions()
    assert sessions["hub2"] >= 3, sessions  # leastconn: the empty hub fills first
    for client in early + late:
        await client.close()


@on_the_shared_site
async def test_haproxy_restart_drops_screens_that_recover_everything(site: Site) -> None:
    """HAProxy stopped and started again: every screen's socket drops, each reconnects with
    since/epoch and gets what was committed meanwhile; 0 lost, 0 shown twice."""
    before = await channel_events(site.db)  # the shared site's earlier tests' events
    screens = await Screens.open(site.token, site.haproxy.ws_url, 12)
    try:
        await screens.wait_subscribed()
        p0 = await site.token("p0-1")
        for _ in range(3):
            await register_task(site.hubs[0].url, p0)
        site.haproxy.stop()
        for _ in range(3):  # straight to a hub: HAProxy is down
            await register_task(site.hubs[1].url, p0)
        await asyncio.sleep(1.0)
        site.haproxy.start()
        await site.haproxy.wait_ready()
        for _ in range(3):
            await register_task(site.haproxy.url, p0)
        result = await settle(site.db, screens.screens, before=before)
        assert result.clean and result.expected > 0, result
        assert all(s.closed_at and len(s.subscribed_at) >= 2 for s in screens.screens)
        assert not any(s.unrecovered for s in screens.screens)
    finally:
        await screens.stop()


@on_the_shared_site
async def test_reload_keeps_open_screens(site: Site) -> None:
    """``systemctl reload haproxy`` (SIGUSR2): the old process keeps its tunnels, so a screen
    open before the reload still gets live events; new connections go to the new process."""
    url = site.haproxy.url
    client = await WsClient.open(site.haproxy.ws_url, await fetch_token(url, "p1-barenbang-1"))
    await client.subscribe("p1.barenbang")
    site.haproxy.reload()
    await asyncio.sleep(1.0)
    await site.haproxy.wait_ready()
    p0 = await fetch_token(url, "p0-1")
    code = (await register_task(url, p0))["code"]
    [event] = await client.events(1)
    assert event["data"]["task"]["code"] == code
    await client.close()


# Last on the shared site, the one that stops the queue Redis: the hubs' SLA schedules fail
# meanwhile and /healthz names that for one sweep interval after Redis is back (it used to stay
# 503 until the next command: tests/hub/test_redis_hang.py); the restore before the next test
# waits for every hub UP anyway.
@on_the_shared_site
async def test_fails_open_when_every_hub_reports_a_shared_dependency_down(site: Site) -> None:
    """Redis stopped: /healthz is 503 on every hub, HAProxy has no hub UP in `hubs` — and still
    serves through `hubs_failopen` (/healthz/live), so requests keep working (they commit to
    PostgreSQL; their live events wait in the outbox) instead of a 503 from HAProxy."""
    p0 = await fetch_token(site.haproxy.url, "p0-1")
    site.queue.stop()
    try:
        async with asyncio.timeout(15):
            while set((await site.haproxy.server_states()).values()) != {"DOWN"}:
                await asyncio.sleep(0.1)
        assert (await site.hubs[0].health())[0] == 503
        failopen = await site.haproxy.stats("hubs_failopen")
        assert {s["status"] for s in failopen.values()} == {"UP"}
        for _ in range(3):
            await register_task(site.haproxy.url, p0)
    finally:
        site.queue.start()


async def test_a_full_hub_is_taken_out_and_sockets_are_told_to_try_again(
        tmp_path: Path) -> None:
    """PTSA_WS_MAX_CONNECTIONS=2 on two hubs: four screens fill both, /healthz turns 503 on
    each and HAProxy marks both DOWN — requests still go through (fail-open) and a fifth socket
    is closed with 1013; once a screen leaves, its hub is UP again and takes a new socket."""
    async with multihub(tmp_path, hubs=2,
                        extra_env={"PTSA_WS_MAX_CONNECTIONS": "2"}) as full_site:
        url, ws_url = full_site.haproxy.url, full_site.haproxy.ws_url
        token = await full_site.token("p1-barenbang-1")
        screens = [await WsClient.open(ws_url, token) for _ in range(4)]
        for screen in screens:
            assert (await screen.subscribe("p1.barenbang"))["op"] == "subscribed"
        async with asyncio.timeout(15):
            while set((await full_site.haproxy.server_states()).values()) != {"DOWN"}:
                await asyncio.sleep(0.1)
        for hub in full_site.hubs:
            status, body = await hub.health()
            assert status == 503 and str(body["checks"]["websockets"]).startswith("full"), body
        await register_task(url, await full_site.token("p0-1"))  # through hubs_failopen
        refused = await WsClient.open(ws_url, token)
        assert (await refused.closed_with(5))[0] == 1013
        await screens.pop().close()
        async with asyncio.timeout(15):
            while "UP" not in (await full_site.haproxy.server_states()).values():
                await asyncio.sleep(0.1)
        again = await WsClient.open(ws_url, token)
        assert (await again.subscribe("p1.barenbang"))["op"] == "subscribed"
        for screen in [*screens, again]:
            await screen.close()
