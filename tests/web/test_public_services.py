"""The published service standards: ``/layanan`` and ``GET /api/v1/services`` without a
sign-in, public fields only, on both engines; and in a real browser."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import update
from sqlmodel import col

from hub.models import Service
from tests.conftest import ApiClient
from tests.support.pages import page_client

PUBLIC_FIELDS = {"code", "name", "name_en", "sop_days", "fee", "requirements", "unit", "eselon1"}


async def _checklist(seeded_db: Any) -> None:
    async with seeded_db.write() as session:
        await session.exec(update(Service).where(col(Service.code) == "rtk")
                           .values(documents="Surat permohonan\nProfil perusahaan"))


async def test_services_answer_without_sign_in_with_public_fields_only(
        api: ApiClient, seeded_db: Any) -> None:
    """Without credentials every active service comes with its standard and nothing else; a
    signed-in caller gets the same plus the internal fields; a bad token is still 401."""
    await _checklist(seeded_db)
    r = await api.http.get("/api/v1/services")
    assert r.status_code == 200, r.text
    rtk = next(s for s in r.json() if s["code"] == "rtk")
    assert set(rtk) == PUBLIC_FIELDS
    assert rtk["requirements"] == ["Surat permohonan", "Profil perusahaan"]
    assert (rtk["sop_days"], rtk["fee"], rtk["unit"]["code"]) == (3, 0, "pusrenaker")
    assert rtk["unit"]["name"] and rtk["eselon1"]["code"] == "barenbang"
    staff = await api.as_("p0-1", "GET", "/api/v1/services")
    assert {"sop_source", "eselon2"} <= set(staff.json()[0])
    bad = await api.http.get("/api/v1/services", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "bad_token"


async def test_the_layanan_page_lists_each_service_standard_without_sign_in(
        app: Any, seeded_db: Any) -> None:
    """/layanan answers 200 to anyone with each service's requirements, working days, free
    cost and responsible unit, escaped."""
    await _checklist(seeded_db)
    async with page_client(app) as http:
        page = await http.get("/layanan")
    assert page.status_code == 200
    html = page.text
    assert 'id="layanan-rtk"' in html and "Surat permohonan" in html
    assert "paling lama 3 hari kerja" in html and "Gratis" in html
    assert "Pusat Perencanaan Ketenagakerjaan" in html
    assert isinstance(page, httpx.Response)
