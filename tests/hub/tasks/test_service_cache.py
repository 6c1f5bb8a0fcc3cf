"""The registration's service cache (``hub.tasks.service_cache``): an admin's edit or addition
takes effect at the next registration in every process, on SQLite and PostgreSQL; a refused
registration does not spoil it; and it does save the read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from config.settings import Settings
from tests.support.api import SignedTokenClient, signed_api
from web import admin_ops

SERVICE = "data-informasi"


@pytest.fixture
async def api(app: Any) -> AsyncIterator[SignedTokenClient]:
    async with signed_api(app) as client:
        yield client


@pytest.fixture
async def other_process(settings: Settings, app: Any) -> AsyncIterator[Any]:
    """A second web process on the same database and Redis, with its own caches."""
    from hub.app import create_app

    second = create_app(settings)
    async with second.router.lifespan_context(second):
        yield second


async def _register(api: SignedTokenClient, service: str = SERVICE,
                    **extra: Any) -> httpx.Response:
    body = {"service": service, "description": "Permintaan data",
            "applicant": {"name": "Andi Wijaya", "phone": "0812-1111-2222"}, **extra}
    return await api.as_("p0-1", "POST", "/api/v1/tasks", json=body)


async def _edit(app: Any, *, sop_days: int = 3, active: bool = True) -> None:
    await admin_ops.update_service(app.state.ctx, SERVICE, name="Permintaan Data dan Informasi",
                                   sop_days=str(sop_days), active=active)


async def test_an_edit_in_one_process_reaches_registrations_in_another(
        app: Any, other_process: Any, api: SignedTokenClient) -> None:
    """The cache of the registering process is warm; the admin edits in another one: the very
    next registration sees the new SOP days, the deactivation, the reactivation."""
    async with signed_api(other_process) as desk:
        first = await _register(desk)
        assert first.status_code == 201, first.text
        days = first.json()["sop_days"]
        await _edit(app, sop_days=days + 2)
        changed = await _register(desk)
        assert changed.status_code == 201, changed.text
        assert changed.json()["sop_days"] == days + 2
        await _edit(app, sop_days=days + 2, active=False)
        refused = await _register(desk)
        assert refused.status_code == 422, refused.text
        assert "unknown service" in refused.json()["error"]["message"]
        await _edit(app, sop_days=days, active=True)
        back = await _register(desk)
        assert back.status_code == 201, back.text
        assert back.json()["sop_days"] == days


async def test_a_service_added_by_the_admin_is_found_at_once(
        app: Any, api: SignedTokenClient) -> None:
    """Unknown codes are not remembered: refused before, registered right after the addition."""
    assert (await _register(api, "layanan-baru")).status_code == 422
    await admin_ops.add_service(app.state.ctx, code="layanan-baru", name="Layanan Baru",
                                eselon2="pusdatin", sop_days="4")
    added = await _register(api, "layanan-baru")
    assert added.status_code == 201, added.text
    assert added.json()["sop_days"] == 4


async def test_a_refused_registration_leaves_the_cached_service_usable(
        api: SignedTokenClient) -> None:
    """A registration refused inside its transaction (a document not on the checklist) rolls
    back after the service was cached; the next one still reads it whole."""
    bad = await _register(api, documents=["not on the checklist"])
    assert bad.status_code == 422, bad.text
    good = await _register(api)
    assert good.status_code == 201, good.text
    assert good.json()["service_name"]


async def test_the_second_registration_does_not_read_the_service_again(
        app: Any, api: SignedTokenClient) -> None:
    assert (await _register(api)).status_code == 201
    reads: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "FROM services" in statement:
            reads.append(statement)

    engine = app.state.ctx.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert (await _register(api)).status_code == 201
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert reads == []
