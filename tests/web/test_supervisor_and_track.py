"""The supervisor screen, the notification log and the public Lacak Permohonan page."""

from __future__ import annotations

import json
import re
from typing import Any

from hub.models import Notification, SlaClock, utcnow
from tests.conftest import ApiClient
from tests.web.conftest import Browser


def page_data(html: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', html,
                      re.S)
    assert match
    return json.loads(match.group(1))  # type: ignore[no-any-return]


async def test_supervisor_sees_open_requests_in_scope_only(browser: Browser,
                                                          api: ApiClient) -> None:
    """The Barenbang supervisor's screen lists Barenbang's open requests, not Binapenta's, and
    subscribes to the supervisor and desk channels of the scope."""
    mine = await api.register(name="Dalam Lingkup")
    await api.register(service="perpanjangan-sipptki", name="Luar Lingkup")
    supervisor = await browser("spv-barenbang")
    page = await supervisor.http.get("/penyelia")
    assert page.status_code == 200
    assert "Dalam Lingkup" in page.text and "Luar Lingkup" not in page.text
    config = page_data(page.text)
    assert [c["id"] for c in config["cards"]] == [mine["id"]]
    assert "sup.barenbang" in config["channels"] and "p1.barenbang" in config["channels"]
    assert "p2.pusdatin" in config["channels"]


async def test_a_breach_already_recorded_is_on_the_supervisor_screen(browser: Browser,
                                                                    api: ApiClient,
                                                                    app: Any) -> None:
    """A running clock already breached is handed to the banner when the screen opens."""
    task = await api.register()
    clock = await _mark_p1_pickup_breached(app, task["id"])
    supervisor = await browser("spv-barenbang")
    config = page_data((await supervisor.http.get("/penyelia")).text)
    assert config["breaches"][0]["code"] == task["code"]
    assert config["breaches"][0]["kind"] == "p1_pickup"
    assert config["breaches"][0]["clock_id"] == clock.id


async def test_an_acknowledged_breach_is_gone_from_every_supervisor_screen(
        browser: Browser, api: ApiClient, app: Any) -> None:
    """The page's acknowledge (the JSON route, with the page's CSRF token as a header) takes the
    breach off this supervisor's screen and off the admin's, also after a reload."""
    task = await api.register()
    clock = await _mark_p1_pickup_breached(app, task["id"])
    supervisor, admin = await browser("spv-barenbang"), await browser("admin")
    config = page_data((await supervisor.http.get("/penyelia")).text)
    assert [b["clock_id"] for b in config["breaches"]] == [clock.id]
    assert [b["clock_id"] for b in page_data((await admin.http.get("/penyelia")).text)[
        "breaches"]] == [clock.id]
    refused = await supervisor.http.post(f"/api/v1/sla/{clock.id}/ack")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf"
    answer = await supervisor.http.post(f"/api/v1/sla/{clock.id}/ack",
                                        headers={"X-CSRF-Token": config["csrf"]})
    assert answer.status_code == 200, answer.text
    for screen in (supervisor, admin):
        assert page_data((await screen.http.get("/penyelia")).text)["breaches"] == []
    timeline = (await supervisor.http.get(f"/permohonan/{task['id']}")).text
    assert "Keterlambatan sudah dilihat penyelia: pengambilan P1" in timeline


async def test_the_notification_log_shows_what_was_sent(browser: Browser, api: ApiClient,
                                                       app: Any) -> None:
    """Each notification row shows the request, channel, recipient and delivery status."""
    task = await api.register()
    async with app.state.ctx.db.write() as session:
        session.add(Notification(dedupe_key="t:1", task_id=task["id"], kind="breach",
                                 channel="sms", recipient="+62811000111", body="x",
                                 status="sent", attempts=1, created_at=utcnow(),
                                 sent_at=utcnow()))
    supervisor = await browser("spv-barenbang")
    page = await supervisor.http.get("/penyelia/notifikasi")
    assert page.status_code == 200
    assert task["code"] in page.text and "+62811000111" in page.text
    assert 'data-status="sent">Terkirim<' in page.text
    other = await browser("spv-binapenta")
    assert "+62811000111" not in (await other.http.get("/penyelia/notifikasi")).text


async def test_lacak_shows_status_and_expected_date_without_internals(browser: Browser,
                                                                     api: ApiClient) -> None:
    """The public page needs no sign-in and shows stage and dates, never names or contacts."""
    task = await api.register(name="Nama Rahasia", phone="0812-9999-0000")
    await api.as_("p1-barenbang-1", "POST", f"/api/v1/tasks/{task['id']}/claim", json={})
    visitor = await browser()
    page = await visitor.http.get(f"/lacak?kode={task['code'].lower()}")
    assert page.status_code == 200
    assert "Sedang diverifikasi oleh unit penanggung jawab" in page.text
    assert "Perkiraan selesai" in page.text and "WIB" in page.text
    for secret in ("Nama Rahasia", "0812-9999-0000", "p1-barenbang-1", "andi@example.co.id"):
        assert secret not in page.text


async def test_lacak_with_an_unknown_number_says_so(browser: Browser) -> None:
    """An unknown registration number answers 404 with advice."""
    visitor = await browser()
    page = await visitor.http.get("/lacak?kode=PTSA-20260101-9999")
    assert page.status_code == 404
    assert "Periksa nomor pada tanda terima Anda" in page.text


async def _mark_p1_pickup_breached(app: Any, task_id: int) -> SlaClock:
    """Record a breach of the task's P1 pickup clock as the worker would (its time only)."""
    from sqlmodel import select

    async with app.state.ctx.db.write() as session:
        clock = (await session.exec(select(SlaClock).where(
            SlaClock.task_id == task_id, SlaClock.kind == "p1_pickup"))).one()
        clock.breached_at = utcnow()
        session.add(clock)
    return clock
