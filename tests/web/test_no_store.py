"""Pages and API answers with personal data say ``Cache-Control: no-store``; static files do
not (they are the same for everyone)."""

from __future__ import annotations

from typing import Any

from tests.support.api import signed_api
from tests.support.pages import PageClient, page_client


async def test_pages_and_api_answers_are_never_cached(app: Any) -> None:
    """The task page, the receipt, the board, the sign-in page, an error page and the API's
    task and list answers all carry no-store; a stylesheet does not."""
    async with signed_api(app) as api:
        task = await api.register()
        for path in (f"/api/v1/tasks/{task['id']}", "/api/v1/tasks", "/api/v1/tasks/0"):
            answer = await api.as_("p0-1", "GET", path)
            assert answer.headers["cache-control"] == "no-store", path
    async with page_client(app) as http:
        assert (await http.get("/masuk")).headers["cache-control"] == "no-store"
        await PageClient(http).login("p0-1")
        for path in (f"/permohonan/{task['id']}", f"/tanda-terima/{task['id']}", "/papan",
                     "/permohonan/999999"):
            answer = await http.get(path)
            assert answer.status_code in (200, 404), path
            assert answer.headers["cache-control"] == "no-store", path
            if answer.status_code == 200:
                assert "Andi Wijaya" in answer.text or path == "/papan"
        css = await http.get("/static/css/app.css")
        assert css.status_code == 200 and css.headers.get("cache-control") != "no-store"
