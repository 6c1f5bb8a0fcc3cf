"""The hall's pages over HTTP: device sign-in by token and cookie, clear refusals, the admin's
devices page (token shown once, revoke), the slip, and "Daftarkan" linking ticket and request."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import select

from hub.models import Device, QueueTicket, Task
from hub.queue import hall_queue
from hub.queue.devices import COOKIE_NAME, add_device, revoke_device
from tests.web.conftest import Browser


async def test_a_kiosk_token_is_taken_once_and_kept_in_a_cookie(app: Any,
                                                                 browser: Browser) -> None:
    """/antrean?token= sets an HttpOnly cookie and redirects to the clean address, which then
    shows the group buttons without the token."""
    _, token = await add_device(app.state.ctx.db, "kiosk-lobi", "kiosk")
    kiosk = await browser()
    first = await kiosk.http.get(f"/antrean?token={token}")
    assert first.status_code == 303 and first.headers["location"] == "/antrean"
    assert "httponly" in first.headers["set-cookie"].lower()
    page = await kiosk.http.get("/antrean")
    assert page.status_code == 200
    assert re.findall(r'data-group="([A-Z])"', page.text) == ["A", "B", "C"]
    assert token not in page.text


async def test_unknown_revoked_and_wrong_kind_tokens_get_a_clear_indonesian_page(
        app: Any, browser: Browser) -> None:
    """No token → 401 "belum terdaftar"; a revoked kiosk → 401 "dicabut"; a kiosk token on the
    display → 403; the stale cookie of a revoked kiosk is cleared."""
    db = app.state.ctx.db
    client = await browser()
    nothing = await client.http.get("/layar")
    assert nothing.status_code == 401 and "Perangkat belum terdaftar" in nothing.text
    made_up = await client.http.get("/antrean?token=ptsa-dev-tebakan")
    assert made_up.status_code == 401 and "tidak dikenal" in made_up.text
    device, token = await add_device(db, "kiosk-lama", "kiosk")
    assert (await client.http.get(f"/antrean?token={token}")).status_code == 303
    wrong_kind = await client.http.get(f"/layar?token={token}")
    assert wrong_kind.status_code == 403 and "jenis perangkat lain" in wrong_kind.text
    await revoke_device(db, device.id or 0)
    revoked = await client.http.get("/antrean")
    assert revoked.status_code == 401 and "dicabut" in revoked.text
    assert f'{COOKIE_NAME}=""' in revoked.headers.get("set-cookie", "")


async def test_the_admin_creates_a_device_sees_its_token_once_and_revokes_it(
        app: Any, browser: Browser) -> None:
    """The token appears on the answer to the form only; the list shows the device; revoking
    marks it and its token stops working."""
    admin = await browser("admin")
    made = await admin.post_form("/admin/perangkat", {"name": "layar-aula", "kind": "display"},
                                 token_from="/admin/perangkat")
    assert made.status_code == 200
    token = re.search(r"/layar\?token=(ptsa-dev-[\w-]+)", made.text)
    assert token is not None
    listing = await admin.http.get("/admin/perangkat")
    assert 'data-device="layar-aula"' in listing.text and token.group(1) not in listing.text
    async with app.state.ctx.db.read() as session:
        device = (await session.exec(select(Device))).one()
    gone = await admin.post_form(f"/admin/perangkat/{device.id}/cabut", {},
                                 token_from="/admin/perangkat")
    assert gone.status_code == 303
    display = await browser()
    assert (await display.http.get(f"/layar?token={token.group(1)}")).status_code == 401
    bad = await admin.post_form("/admin/perangkat", {"name": "Bad Name!", "kind": "kiosk"},
                                token_from="/admin/perangkat")
    assert bad.status_code == 422
    p0 = await browser("p0-1")
    assert (await p0.http.get("/admin/perangkat")).status_code == 403


async def test_a_kiosk_page_takes_a_ticket_only_with_its_csrf_header(
        app: Any, browser: Browser) -> None:
    """The kiosk's cookie alone cannot take a ticket (a cross-site form could send it); with the
    page's X-CSRF-Token it can, and the slip shows number, group and a QR code."""
    _, token = await add_device(app.state.ctx.db, "kiosk-lobi", "kiosk")
    kiosk = await browser()
    await kiosk.http.get(f"/antrean?token={token}")
    page = await kiosk.http.get("/antrean")
    csrf = re.search(r'"csrf": "([0-9a-f]+)"', page.text)
    assert csrf is not None
    forged = await kiosk.http.post("/api/v1/queue/tickets", json={"group": "B"})
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "csrf"
    taken = await kiosk.http.post("/api/v1/queue/tickets", json={"group": "B"},
                                  headers={"X-CSRF-Token": csrf.group(1)})
    assert taken.status_code == 201 and taken.json()["number"] == "B-001"
    slip = await kiosk.http.get(f"/antrean/tiket/{taken.json()['id']}")
    assert slip.status_code == 200
    assert "B-001" in slip.text and "Perizinan &amp; Rekomendasi" in slip.text
    assert "<svg" in slip.text and f"/antrean/cek/{taken.json()['day']}/B-001" in slip.text
    stranger = await browser()
    assert (await stranger.http.get(f"/antrean/tiket/{taken.json()['id']}")).status_code == 401


async def test_daftarkan_registers_the_request_linked_to_the_called_ticket(
        app: Any, browser: Browser) -> None:
    """/loket?antrean=<id> pre-fills the group's first service; the registration links ticket and
    request (served, task id, service time); a ticket not being served is refused with 422 and
    nothing is registered."""
    hall = hall_queue(app.state.ctx)
    waiting = await hall.take("C")
    ticket = await hall.take("A")
    await hall.call("loket-1", 1)  # C-001 came first
    called = await hall.call("loket-2", 1)
    assert called["number"] == "A-001" and waiting["number"] == "C-001"
    p0 = await browser("p0-1")
    form = await p0.http.get(f"/loket?antrean={ticket['id']}")
    assert 'value="data-informasi" data-sop' in form.text.replace(" selected", "") and \
        re.search(r'value="data-informasi"[^>]*selected', form.text)
    fields = {"service": "data-informasi", "applicant.name": "Sri Wahyuni",
              "applicant.phone": "0812-3333-4444", "description": "Data tenaga kerja"}
    refused = await p0.post_form("/loket", {**fields, "queue_ticket": "999999"},
                                 token_from="/loket")
    assert refused.status_code == 422
    done = await p0.post_form("/loket", {**fields, "queue_ticket": str(ticket["id"])},
                              token_from="/loket")
    assert done.status_code == 303
    task_id = int(done.headers["location"].rsplit("/", 1)[1])
    async with app.state.ctx.db.read() as session:
        stored = await session.get(QueueTicket, ticket["id"])
        tasks = (await session.exec(select(Task))).all()
    assert stored is not None and stored.status == "served" and stored.task_id == task_id
    assert stored.served_at is not None and stored.called_at is not None
    assert len(tasks) == 1
    twice = await p0.post_form("/loket", {**fields, "queue_ticket": str(ticket["id"])},
                               token_from="/loket")
    assert twice.status_code == 422  # already served: no second request
    async with app.state.ctx.db.read() as session:
        assert len((await session.exec(select(Task))).all()) == 1


async def test_consent_ticked_at_intake_is_recorded_and_the_receipt_says_what_will_be_sent(
        app: Any, browser: Browser) -> None:
    """Ticked: a consent row and a receipt naming the SMS number and e-mail address; not ticked:
    no row, and the receipt says nothing will be sent."""
    from hub.models import ApplicantConsent

    p0 = await browser("p0-1")
    fields = {"service": "rtk", "applicant.name": "Budi Santoso",
              "applicant.phone": "0812-5555-6666", "applicant.email": "budi@example.co.id",
              "description": "RTK mikro"}
    ticked = await p0.post_form("/loket", {**fields, "notify_consent": "1"}, token_from="/loket")
    unticked = await p0.post_form("/loket", fields, token_from="/loket")
    assert ticked.status_code == unticked.status_code == 303
    with_consent = await p0.http.get(ticked.headers["location"])
    assert "SMS ke 0812-5555-6666" in with_consent.text
    assert "E-mail ke budi@example.co.id" in with_consent.text
    without = await p0.http.get(unticked.headers["location"])
    assert "Tidak ada SMS atau e-mail yang dikirim" in without.text
    async with app.state.ctx.db.read() as session:
        consents = (await session.exec(select(ApplicantConsent))).all()
    assert [c.task_id for c in consents] == [int(ticked.headers["location"].rsplit("/", 1)[1])]
