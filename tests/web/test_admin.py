"""Admin pages: staff, units, services and SOP days, SLA minutes, calendar days."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import select

from hub.models import AppSetting, CalendarDay, Service, Staff, Unit
from hub.tasks.clocks import CALENDAR_VERSION_KEY, P1_PICKUP_KEY, P2_PICKUP_KEY
from tests.web.conftest import Browser


async def setting(app: Any, key: str) -> str | None:
    async with app.state.ctx.db.read() as session:
        row = await session.get(AppSetting, key)
        return row.value if row else None


async def staff_row(app: Any, username: str) -> Staff:
    async with app.state.ctx.db.read() as session:
        return (await session.exec(select(Staff).where(Staff.username == username))).one()


async def test_admin_adds_a_staff_member_who_can_sign_in(browser: Browser) -> None:
    """A new P2 added on the staff page signs in with the initial password."""
    admin = await browser("admin")
    answer = await admin.post_form("/admin/petugas", {
        "username": "p2-pusdatin-9", "full_name": "Rina Kartika", "role": "p2",
        "unit": "pusdatin", "email": "", "phone": "", "password": "kata-sandi-awal-1"},
        token_from="/admin/petugas")
    assert answer.status_code == 303
    newcomer = await browser()
    signed = await newcomer.login("p2-pusdatin-9", "kata-sandi-awal-1")
    assert signed.status_code == 303 and signed.headers["location"] == "/papan"


async def test_adding_staff_at_the_wrong_unit_level_is_explained(browser: Browser) -> None:
    """A P2 at an Eselon I unit is refused with the message beside the unit, typing kept."""
    admin = await browser("admin")
    answer = await admin.post_form("/admin/petugas", {
        "username": "p2-x", "full_name": "Salah Unit", "role": "p2", "unit": "barenbang",
        "email": "", "phone": "", "password": "kata-sandi-awal-1"}, token_from="/admin/petugas")
    assert answer.status_code == 422
    assert 'id="err-unit"' in answer.text and 'value="Salah Unit"' in answer.text


async def test_deactivation_ends_the_staff_members_sessions(browser: Browser, app: Any) -> None:
    """Deactivating bumps the session epoch: the person's open session stops working at once."""
    victim = await browser("p0-3")
    assert (await victim.http.get("/loket")).status_code == 200
    before = await staff_row(app, "p0-3")
    admin = await browser("admin")
    answer = await admin.post_form(f"/admin/petugas/{before.id}/nonaktifkan", {},
                                   token_from="/admin/petugas")
    assert answer.status_code == 303
    after = await staff_row(app, "p0-3")
    assert not after.active and after.session_epoch == before.session_epoch + 1
    assert (await victim.http.get("/loket")).status_code == 303
    assert (await (await browser()).login("p0-3")).status_code == 401
    await admin.post_form(f"/admin/petugas/{before.id}/aktifkan", {}, token_from="/admin/petugas")
    assert (await (await browser()).login("p0-3")).status_code == 303


async def test_password_reset_revokes_sessions_and_sets_the_new_password(
        browser: Browser, app: Any) -> None:
    """After a reset the old session is gone, the old password fails and the new one works."""
    victim = await browser("p0-4")
    before = await staff_row(app, "p0-4")
    admin = await browser("admin")
    answer = await admin.post_form(f"/admin/petugas/{before.id}/sandi",
                                   {"password": "sandi-baru-sekali"}, token_from="/admin/petugas")
    assert answer.status_code == 303
    assert (await staff_row(app, "p0-4")).session_epoch == before.session_epoch + 1
    assert (await victim.http.get("/loket")).status_code == 303
    assert (await (await browser()).login("p0-4")).status_code == 401
    assert (await (await browser()).login("p0-4", "sandi-baru-sekali")).status_code == 303


async def test_a_too_short_reset_password_is_refused(browser: Browser, app: Any) -> None:
    """A reset to a short password is refused beside that staff member's row."""
    target = await staff_row(app, "p0-5")
    admin = await browser("admin")
    answer = await admin.post_form(f"/admin/petugas/{target.id}/sandi", {"password": "abc"},
                                   token_from="/admin/petugas")
    assert answer.status_code == 422
    assert f'id="err-password-{target.id}"' in answer.text


async def test_sla_minutes_are_stored_and_bump_the_calendar_version(browser: Browser,
                                                                    app: Any) -> None:
    """Saving 10 and 20 minutes stores 600 and 1200 seconds and bumps calendar_version, so
    every process rebuilds its policy; new clocks use the new minutes."""
    admin = await browser("admin")
    version = int(await setting(app, CALENDAR_VERSION_KEY) or 0)
    answer = await admin.post_form("/admin/sla", {"p1_minutes": "10", "p2_minutes": "20"},
                                   token_from="/admin/sla")
    assert answer.status_code == 303
    assert await setting(app, P1_PICKUP_KEY) == "600"
    assert await setting(app, P2_PICKUP_KEY) == "1200"
    assert int(await setting(app, CALENDAR_VERSION_KEY) or 0) == version + 1
    policy = await app.state.ctx.policy()
    assert policy.p1_pickup.total_seconds() == 600
    page = await admin.http.get("/admin/sla")
    assert 'value="10"' in page.text and 'value="20"' in page.text


async def test_bad_sla_minutes_are_refused(browser: Browser) -> None:
    """Zero minutes is refused with the field's message."""
    admin = await browser("admin")
    answer = await admin.post_form("/admin/sla", {"p1_minutes": "0", "p2_minutes": "30"},
                                   token_from="/admin/sla")
    assert answer.status_code == 422 and 'id="err-p1_minutes"' in answer.text


async def test_calendar_days_are_added_and_removed_with_a_version_bump(browser: Browser,
                                                                      app: Any) -> None:
    """A new cuti bersama is stored, changes the working calendar, and can be removed."""
    admin = await browser("admin")
    version = int(await setting(app, CALENDAR_VERSION_KEY) or 0)
    answer = await admin.post_form("/admin/kalender", {
        "day": "2026-12-23", "kind": "holiday", "name": "Cuti bersama (tambahan)"},
        token_from="/admin/kalender")
    assert answer.status_code == 303
    async with app.state.ctx.db.read() as session:
        row = await session.get(CalendarDay, date(2026, 12, 23))
    assert row is not None and row.kind == "holiday"
    policy = await app.state.ctx.policy()
    assert policy.calendar.holiday_name(date(2026, 12, 23)) == "Cuti bersama (tambahan)"
    assert int(await setting(app, CALENDAR_VERSION_KEY) or 0) == version + 1
    removed = await admin.post_form("/admin/kalender/2026-12-23/hapus", {},
                                    token_from="/admin/kalender")
    assert removed.status_code == 303
    assert int(await setting(app, CALENDAR_VERSION_KEY) or 0) == version + 2
    policy = await app.state.ctx.policy()
    assert policy.calendar.holiday_name(date(2026, 12, 23)) is None


async def test_service_sop_days_can_be_changed(browser: Browser, app: Any) -> None:
    """Changing a service's SOP days is stored and shown at the counter."""
    admin = await browser("admin")
    answer = await admin.post_form("/admin/layanan/data-informasi", {
        "name": "Layanan Data dan Informasi", "sop_days": "2", "active": "1"},
        token_from="/admin/layanan")
    assert answer.status_code == 303
    async with app.state.ctx.db.read() as session:
        service = await session.get(Service, "data-informasi")
    assert service is not None and service.sop_days == 2
    counter = await browser("p0-1")
    assert 'value="data-informasi" data-sop="2"' in (await counter.http.get("/loket")).text


async def test_units_can_be_added_under_an_eselon1_unit(browser: Browser, app: Any) -> None:
    """A new Eselon II unit needs a valid code and an Eselon I parent."""
    admin = await browser("admin")
    bad = await admin.post_form("/admin/unit", {"code": "Pusat Baru!", "name": "X",
                                                "short_name": "", "parent": "barenbang"},
                                token_from="/admin/unit")
    assert bad.status_code == 422 and 'id="err-code"' in bad.text
    good = await admin.post_form("/admin/unit", {"code": "pusat-baru", "name": "Pusat Baru",
                                                 "short_name": "", "parent": "barenbang"},
                                 token_from="/admin/unit")
    assert good.status_code == 303
    async with app.state.ctx.db.read() as session:
        unit = await session.get(Unit, "pusat-baru")
    assert unit is not None and unit.level == "eselon2" and unit.parent == "barenbang"


async def test_admin_pages_refuse_other_roles_and_forged_posts(browser: Browser) -> None:
    """Supervisors cannot use admin pages; an admin post without the token is refused."""
    supervisor = await browser("spv-barenbang")
    assert (await supervisor.http.get("/admin/sla")).status_code == 403
    admin = await browser("admin")
    forged = await admin.http.post("/admin/sla", data={"p1_minutes": "1", "p2_minutes": "1"})
    assert forged.status_code == 403
