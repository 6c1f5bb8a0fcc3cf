"""The hall queue's KPI over the KPI period: in ``GET /api/v1/kpi`` as ``hall`` and on /kinerja
as the panel "Antrean", for those who may see the hall only."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from hub.models import Task
from hub.queue import hall_queue
from tests.conftest import ApiClient
from tests.support.pages import PageClient, page_client

PERIOD = "from=2026-11-26&to=2026-11-27"
# Worked by hand (target 30 min). Thursday 26: A-001 09:00 → called 09:10 (wait 10) → registered
# 09:25 (service 15); A-002 09:05 → 09:45 (wait 40, over) → 09:50 (service 5). Friday 27:
# A-001 10:00 → 10:20 (wait 20), did not come (no-show); A-002 10:05 → 10:35 (wait 30, within:
# only longer is over) → 10:45 (service 10); A-003 10:10 still waiting (not called).
# Wednesday 25, outside the period: 09:00 → 11:00 (wait 120) → 11:30 (service 30).
# Period: 4 called, wait (10 + 40 + 20 + 30) / 4 = 25.0, 3 within, 1 over, service
# (15 + 5 + 10) / 3 = 10.0, 1 no-show.
EXPECTED = {"called": 4, "average_wait_minutes": 25.0, "within_target": 3, "over_target": 1,
            "average_service_minutes": 10.0, "wait_target_minutes": 30, "no_shows": 1}


async def _hall_day(app: Any, api: ApiClient) -> None:
    hall = hall_queue(app.state.ctx)
    jkt = app.state.ctx.settings.tz
    at = lambda d, h, m: datetime(2026, 11, d, h, m, tzinfo=jkt)  # noqa: E731

    async def registered(ticket_id: int, when: datetime) -> None:
        task_id = (await api.register())["id"]
        async with app.state.ctx.db.read() as session:
            task = await session.get(Task, task_id)
        assert task is not None
        await hall.served(ticket_id, task, now=when)

    outside = await hall.take("A", now=at(25, 9, 0))
    await hall.call("loket-1", 1, now=at(25, 11, 0))
    await registered(outside["id"], at(25, 11, 30))
    first = await hall.take("A", now=at(26, 9, 0))
    second = await hall.take("A", now=at(26, 9, 5))
    await hall.call("loket-1", 1, now=at(26, 9, 10))
    await registered(first["id"], at(26, 9, 25))
    await hall.call("loket-1", 1, now=at(26, 9, 45))
    await registered(second["id"], at(26, 9, 50))
    absent = await hall.take("A", now=at(27, 10, 0))
    came = await hall.take("A", now=at(27, 10, 5))
    await hall.take("A", now=at(27, 10, 10))
    await hall.call("loket-1", 1, now=at(27, 10, 20))
    await hall.skip(absent["id"], now=at(27, 10, 22))
    await hall.call("loket-1", 1, now=at(27, 10, 35))
    await registered(came["id"], at(27, 10, 45))


async def test_the_kpi_api_gives_the_hall_queue_of_the_period_to_those_who_see_the_hall(
        app: Any, api: ApiClient) -> None:
    """P0, the front office's penyelia and the admin get the hand-worked hall figures of the
    period; a desk and another unit's penyelia get no ``hall``."""
    await _hall_day(app, api)
    for who in ("p0-1", "spv-ptsa", "admin"):
        answer = await api.as_(who, "GET", f"/api/v1/kpi?{PERIOD}")
        assert answer.status_code == 200, answer.text
        assert answer.json()["hall"] == EXPECTED, who
    for who in ("p2-pusdatin-1", "spv-barenbang"):
        answer = await api.as_(who, "GET", f"/api/v1/kpi?{PERIOD}")
        assert answer.status_code == 200 and "hall" not in answer.json(), who
    day = await api.as_("admin", "GET", "/api/v1/kpi?from=2026-11-25&to=2026-11-25")
    assert day.json()["hall"] == {
        "called": 1, "average_wait_minutes": 120.0, "within_target": 0, "over_target": 1,
        "average_service_minutes": 30.0, "wait_target_minutes": 30, "no_shows": 0}


async def test_the_kpi_page_shows_the_antrean_panel_to_the_hall_and_not_to_a_desk(
        app: Any, api: ApiClient) -> None:
    """/kinerja shows the front office's penyelia the panel Antrean with the period's figures
    in Indonesian; a P2 desk's page has no such panel."""
    await _hall_day(app, api)
    async with page_client(app) as client:
        await PageClient(client).login("spv-ptsa")
        page = await client.get(f"/kinerja?{PERIOD}")
    assert page.status_code == 200
    panel = page.text[page.text.index('id="hall-kpi"'):]
    panel = panel[:panel.index("</section>")]
    assert '<h2 id="hall-kpi-title">Antrean</h2>' in panel
    cells = dict(re.findall(r'<th scope="row">([^<]*)</th><td data-kpi="\w+"[^>]*>([^<]*)</td>',
                            panel))
    assert cells == {"Tiket dipanggil": "4", "Rata-rata tunggu (menit)": "25",
                     "Dipanggil dalam 30 menit": "3", "Menunggu lebih dari 30 menit": "1",
                     "Rata-rata layanan (menit)": "10", "Tidak hadir": "1"}
    assert "Tiket diambil Kamis, 26 November 2026 – Jumat, 27 November 2026." in panel
    async with page_client(app) as client:
        await PageClient(client).login("p2-pusdatin-1")
        desk = await client.get(f"/kinerja?{PERIOD}")
    assert desk.status_code == 200 and 'id="hall-kpi"' not in desk.text
    assert "Antrean" not in desk.text
