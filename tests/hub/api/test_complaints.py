"""Complaints (pengaduan) over the API: filing, routing, scope, reply, tracking, bad input."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import select

from hub.models import Complaint, Notification
from tests.conftest import ApiClient
from tests.support.api import signed_api

TEXT = "Petugas loket tidak memberi tahu kekurangan dokumen sejak awal."


@pytest.fixture
async def api(app: Any) -> AsyncIterator[ApiClient]:
    async with signed_api(app) as client:
        yield client


async def _count(app: Any, model: Any = Complaint) -> int:
    async with app.state.ctx.db.read() as session:
        return int((await session.exec(select(func.count()).select_from(model))).one())


async def _pusdatin_request(api: ApiClient) -> str:
    task = await api.register()
    for action, body in [("claim", {}), ("dispose", {"unit": "pusdatin"})]:
        r = await api.as_("p1-barenbang-1", "POST", f"/api/v1/tasks/{task['id']}/{action}",
                          json=body)
        assert r.status_code == 200, r.text
    return str(task["code"])


async def _open_numbers(api: ApiClient, user: str) -> list[str]:
    r = await api.as_(user, "GET", "/api/v1/complaints")
    assert r.status_code == 200, r.text
    return [c["number"] for c in r.json()["items"]]


async def test_a_complaint_about_a_request_goes_to_its_unit_and_gets_one_reply(
        api: ApiClient, app: Any) -> None:
    """Filed with a registration number, the complaint is Pusdatin's; its desk and supervisor
    see it, another unit does not; one reply is recorded, shown on tracking, queued to the
    complainant's e-mail and phone, and a second reply is 409."""
    code = await _pusdatin_request(api)
    r = await api.http.post("/api/v1/complaints", json={
        "text": TEXT, "registration": code.lower(), "name": "Dewi", "email": "dewi@example.id",
        "phone": "0812-5555-1234"})
    assert r.status_code == 201, r.text
    number = r.json()["number"]
    assert number.startswith("ADU-") and r.json()["due_at"]
    assert number in await _open_numbers(api, "p2-pusdatin-1")
    assert number in await _open_numbers(api, "spv-pusdatin")
    assert number in await _open_numbers(api, "spv-ptsa")  # the front office sees the hall
    assert number not in await _open_numbers(api, "p2-pusrenaker-1")
    tracked = (await api.http.get(f"/api/v1/track/{number}")).json()
    assert (tracked["kind"], tracked["status"], tracked["reply"]) == ("complaint", "open", None)
    assert "Dewi" not in str(tracked) and "dewi@example.id" not in str(tracked)
    other = await api.as_("spv-pusrenaker", "POST", f"/api/v1/complaints/{number}/reply",
                          json={"reply": "Bukan unit kami"})
    assert other.status_code == 403
    answered = await api.as_("spv-pusdatin", "POST", f"/api/v1/complaints/{number}/reply",
                             json={"reply": "Mohon maaf; petugas sudah kami ingatkan."})
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "answered"
    tracked = (await api.http.get(f"/api/v1/track/{number}")).json()
    assert tracked["status"] == "answered"
    assert tracked["reply"] == "Mohon maaf; petugas sudah kami ingatkan."
    again = await api.as_("p2-pusdatin-1", "POST", f"/api/v1/complaints/{number}/reply",
                          json={"reply": "Lagi"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "answered"
    async with app.state.ctx.db.read() as session:
        sent = (await session.exec(select(Notification))).all()
    assert sorted((n.channel, n.recipient, n.kind) for n in sent) == [
        ("email", "dewi@example.id", "reply"), ("sms", "0812-5555-1234", "reply")]
    assert all(number in n.body for n in sent)
    assert number not in await _open_numbers(api, "p2-pusdatin-1")


async def test_a_complaint_without_a_request_goes_to_the_front_office(api: ApiClient) -> None:
    """Without a registration number the front office supervisor triages it."""
    r = await api.http.post("/api/v1/complaints", json={"text": TEXT})
    assert r.status_code == 201
    number = r.json()["number"]
    assert number in await _open_numbers(api, "spv-ptsa")
    assert number not in await _open_numbers(api, "spv-pusdatin")


@pytest.mark.parametrize(("body", "field"), [
    ({"text": ""}, "text"), ({"text": "x" * 4001}, "text"),
    ({"text": TEXT, "registration": "PTSA-20200101-9999"}, "registration"),
    ({"text": TEXT, "email": "not-an-address"}, "email"),
    ({"text": TEXT, "phone": "call me"}, "phone"),
])
async def test_bad_complaints_are_422_and_store_nothing(api: ApiClient, app: Any,
                                                       body: dict[str, Any], field: str) -> None:
    """Empty or oversized text, an unknown registration number or a malformed contact is 422
    naming the field; nothing is stored."""
    r = await api.http.post("/api/v1/complaints", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field
    assert await _count(app) == 0


async def test_an_oversized_body_is_413(api: ApiClient, app: Any) -> None:
    """A body over 64 KiB is refused before it is read whole."""
    r = await api.http.post("/api/v1/complaints", json={"text": "x" * 70_000})
    assert r.status_code == 413
    assert await _count(app) == 0


async def test_a_flood_from_one_address_is_throttled(api: ApiClient, app: Any) -> None:
    """Five complaints per ten minutes per address; the sixth is 429 with Retry-After."""
    for _ in range(5):
        assert (await api.http.post("/api/v1/complaints", json={"text": TEXT})).status_code == 201
    r = await api.http.post("/api/v1/complaints", json={"text": TEXT})
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
    assert int(r.headers["Retry-After"]) > 0
    assert await _count(app) == 5


async def test_an_unknown_complaint_number_is_404(api: ApiClient) -> None:
    """Tracking a complaint number nobody filed answers 404."""
    r = await api.http.get("/api/v1/track/ADU-20261205-ZZZZZZ")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


async def test_the_front_office_supervisor_forwards_a_complaint_to_a_unit(api: ApiClient) -> None:
    """The front office supervisor gives an unrouted complaint to Pusdatin, whose desk then sees
    it; a unit supervisor may not forward, a non-Eselon unit is 422, an answered one is 409."""
    number = (await api.http.post("/api/v1/complaints", json={"text": TEXT})).json()["number"]
    assert number not in await _open_numbers(api, "p2-pusdatin-1")
    denied = await api.as_("spv-pusdatin", "POST", f"/api/v1/complaints/{number}/forward",
                           json={"unit": "pusdatin"})
    assert denied.status_code == 403
    wrong = await api.as_("spv-ptsa", "POST", f"/api/v1/complaints/{number}/forward",
                          json={"unit": "ptsa"})
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "unit"
    moved = await api.as_("spv-ptsa", "POST", f"/api/v1/complaints/{number}/forward",
                          json={"unit": "pusdatin"})
    assert moved.status_code == 200, moved.text
    assert (moved.json()["unit"], moved.json()["eselon1"]) == ("pusdatin", "barenbang")
    assert number in await _open_numbers(api, "p2-pusdatin-1")
    await api.as_("p2-pusdatin-1", "POST", f"/api/v1/complaints/{number}/reply",
                  json={"reply": "Selesai"})
    late = await api.as_("spv-ptsa", "POST", f"/api/v1/complaints/{number}/forward",
                         json={"unit": "pusrenaker"})
    assert late.status_code == 409
