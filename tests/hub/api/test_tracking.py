"""``GET /api/v1/track/{code}``: the applicant's public view of their request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlmodel import select

from hub.models import Staff
from tests.conftest import ApiClient
from tests.support.api import signed_api

P1, P2 = "p1-barenbang-1", "p2-pusdatin-1"
SECRETS = {
    "phone": "0811-9876-5432",
    "email": "rahasia.pemohon@example.id",
    "description": "Deskripsi internal: NPWP 01.234.567",
    "message": "Catatan internal antar meja: cek ulang",
    "applicant": "Bambang Sutrisno",
    "hold": "Menunggu surat kuasa bermaterai",
}


@pytest.fixture
async def api(app: Any) -> AsyncIterator[ApiClient]:
    """Demo users with signed tokens (signing in itself is tested in test_api_auth.py)."""
    async with signed_api(app) as client:
        yield client


async def _track(api: ApiClient, code: str) -> tuple[dict[str, Any], str]:
    r = await api.http.get(f"/api/v1/track/{code}")
    assert r.status_code == 200, r.text
    return r.json(), r.text


async def _act(api: ApiClient, user: str, tid: int, action: str, **body: Any) -> None:
    r = await api.as_(user, "POST", f"/api/v1/tasks/{tid}/{action}", json=body)
    assert r.status_code in (200, 201), r.text


async def test_tracking_shows_stage_service_and_dates_without_login(api: ApiClient,
                                                                    app: Any) -> None:
    """Anyone with the registration number sees the stage move along, with no sign-in."""
    task = await api.register(name=SECRETS["applicant"], phone=SECRETS["phone"],
                              email=SECRETS["email"])
    tid, code = task["id"], task["code"]
    seen = []
    data, _ = await _track(api, code)
    seen.append(data["stage"])
    assert data["code"] == code
    assert data["service"]["code"] == "data-informasi" and data["service"]["name"]
    assert data["service"]["sop_days"] == 3
    assert data["registered_at"] == task["created_at"] and data["due_at"] == task["due_at"]
    assert data["completed_at"] is None
    for user, action, body in [(P1, "claim", {}), (P1, "dispose", {"unit": "pusdatin"}),
                               (P2, "claim", {}), (P2, "hold", {"reason": SECRETS["hold"]}),
                               (P2, "resume", {}), (P2, "messages", {"body": SECRETS["message"]}),
                               (P2, "complete", {"result": "Data dikirim"})]:
        await _act(api, user, tid, action, **body)
        seen.append((await _track(api, code))[0]["stage"])
    assert seen == ["received", "verification", "forwarded", "processing", "waiting_applicant",
                    "processing", "processing", "completed"]
    data, _ = await _track(api, code.lower())  # typed by hand, in lower case
    assert data["completed_at"] and data["code"] == code


async def test_tracking_reveals_no_staff_messages_or_contact_details(api: ApiClient,
                                                                     app: Any) -> None:
    """The raw JSON holds no staff name or username, message, description or applicant
    contact details."""
    task = await api.register(name=SECRETS["applicant"], phone=SECRETS["phone"],
                              email=SECRETS["email"])
    tid = task["id"]
    r = await api.as_("p0-1", "POST", "/api/v1/tasks", json={
        "service": "data-informasi", "description": SECRETS["description"],
        "applicant": {"name": "X", "phone": SECRETS["phone"]}})
    described = r.json()
    await _act(api, P1, tid, "claim")
    await _act(api, P1, tid, "messages", body=SECRETS["message"])
    await _act(api, P1, tid, "hold", reason=SECRETS["hold"])
    async with app.state.ctx.db.read() as session:
        staff = (await session.exec(select(Staff).where(Staff.username.in_(  # type: ignore
            ["p0-1", P1])))).all()
    forbidden = [s.full_name for s in staff] + [s.username for s in staff] + [
        SECRETS["phone"], SECRETS["email"], SECRETS["message"], SECRETS["description"],
        SECRETS["applicant"], "assignee", "history", "messages"]
    for code in (task["code"], described["code"]):
        _, text = await _track(api, code)
        leaked = [f for f in forbidden if f.lower() in text.lower()]
        assert not leaked, text


async def test_unknown_or_malformed_codes_are_404(api: ApiClient) -> None:
    """A code that does not exist (or could not) is 404 in the JSON error shape."""
    await api.register()
    for code in ("PTSA-19990101-0001", "nonsense", "x" * 200, "PTSA-%27%20OR%201=1"):
        r = await api.http.get(f"/api/v1/track/{code}")
        assert r.status_code == 404, (code, r.text)
        assert r.json()["error"]["code"] == "not_found"


async def test_tracking_lookups_are_rate_limited_per_address(api: Any) -> None:
    """After 30 lookups in a minute one address gets 429 with Retry-After, so nobody can walk the
    sequential registration numbers."""
    answers = [await api.http.get(f"/api/v1/track/PTSA-20260101-{n:04d}") for n in range(31)]
    assert {a.status_code for a in answers[:30]} == {404}
    assert answers[30].status_code == 429
    assert answers[30].json()["error"]["code"] == "rate_limited"
    assert int(answers[30].headers["Retry-After"]) >= 1
