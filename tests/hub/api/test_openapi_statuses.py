"""The OpenAPI document lists every status the API returns: the answers seen by the API tests of
this run (tests/support/api_statuses.py records them), plus a round of refusals made here."""

from __future__ import annotations

from typing import Any

from tests.conftest import ApiClient
from tests.support.api_statuses import SEEN, undocumented


async def test_every_status_seen_is_in_the_openapi_document(api: ApiClient, app: Any) -> None:
    """Successes and refusals of every kind, here and in earlier API tests of the session, are
    all documented for their operation."""
    task = await api.register()
    base = f"/api/v1/tasks/{task['id']}"
    await api.http.get("/api/v1/tasks")  # 401
    await api.http.post("/api/v1/auth/token", content=b"{nope")  # 400
    await api.http.post("/api/v1/auth/token", json={"password": "x"})  # 422
    await api.as_("p0-1", "GET", "/api/v1/tasks/99999")  # 404
    await api.as_("p0-1", "GET", "/api/v1/tasks?limit=0")  # 422
    await api.as_("p0-1", "GET", "/api/v1/kpi")  # 403 for a desk, or 200
    await api.as_("admin", "GET", "/api/v1/kpi?to=9999-12-31")  # 422
    await api.as_("p2-pusdatin-1", "POST", f"{base}/claim", json={})  # 403
    await api.as_("p1-barenbang-1", "POST", f"{base}/claim", json={"version": 99})  # 409
    await api.as_("p1-barenbang-1", "POST", f"{base}/claim", content=b"x" * 70_000)  # 413
    await api.as_("p1-barenbang-1", "POST", f"{base}/messages", json={"body": ""})  # 422
    await api.as_("admin", "POST", "/api/v1/sla/99999/ack")  # 404
    await api.http.get("/api/v1/track/PTSA-00000000-0000")  # 404
    assert len({status for _m, _t, status in SEEN}) >= 7
    assert undocumented(SEEN) == []
