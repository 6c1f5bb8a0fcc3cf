"""Supervisor actions and routing rules through the pages (forms with CSRF, Indonesian
answers), on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import select

from hub.models import Staff
from tests.conftest import ApiClient
from tests.hub.cli.test_staffing_checks import UNSTAFFED
from tests.web.conftest import Browser


async def _claimed(api: ApiClient) -> dict[str, Any]:
    task = await api.register()
    r = await api.as_("p1-barenbang-1", "POST", f"/api/v1/tasks/{task['id']}/claim")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_supervisor_releases_through_the_form_and_sees_the_notice(
        browser: Browser, api: ApiClient) -> None:
    """The release form answers 303 to the task page, which says so and shows the reason."""
    task = await _claimed(api)
    spv = await browser("spv-barenbang")
    answer = await spv.post_form(f"/permohonan/{task['id']}/release",
                                 {"reason": "Petugas izin sakit"},
                                 token_from=f"/permohonan/{task['id']}")
    assert answer.status_code == 303
    page = (await spv.http.get(answer.headers["location"])).text
    assert "Permohonan dikembalikan ke antrean unit." in page
    assert "Dilepas ke antrean unit" in page and "Petugas izin sakit" in page


async def test_a_desk_posting_a_supervisor_form_is_refused(browser: Browser,
                                                           api: ApiClient) -> None:
    """A P1 desk posting the release form gets 403 in Indonesian; the task stays claimed."""
    task = await _claimed(api)
    desk = await browser("p1-barenbang-2")
    page = (await desk.http.get(f"/permohonan/{task['id']}")).text
    assert "Tindakan penyelia" not in page
    answer = await desk.post_form(f"/permohonan/{task['id']}/release", {"reason": "x"},
                                  token_from=f"/permohonan/{task['id']}")
    assert answer.status_code == 403
    assert "Anda tidak berwenang melakukan ini untuk permohonan ini." in answer.text
    detail = (await api.as_("p0-1", "GET", f"/api/v1/tasks/{task['id']}")).json()
    assert detail["status"] == "claimed"


async def test_supervisor_form_without_reason_or_csrf_is_refused(browser: Browser,
                                                                 api: ApiClient) -> None:
    """An empty reason is shown beside the release form's reason field; no token is a 403."""
    task = await _claimed(api)
    spv = await browser("spv-barenbang")
    answer = await spv.post_form(f"/permohonan/{task['id']}/release", {"reason": ""},
                                 token_from=f"/permohonan/{task['id']}")
    assert answer.status_code == 422
    beside = re.search(r'id="sup-release-reason"[^>]*><p class="field-error">([^<]*)<',
                       answer.text)
    assert beside is not None and beside[1] == "Wajib diisi."
    assert answer.text.count('class="field-error"') == 1  # only the form that was sent
    bare = await spv.http.post(f"/permohonan/{task['id']}/release", data={"reason": "x"})
    assert bare.status_code == 403
    detail = (await api.as_("p0-1", "GET", f"/api/v1/tasks/{task['id']}")).json()
    assert detail["status"] == "claimed" and detail["version"] == task["version"]


async def test_disposition_to_an_unstaffed_unit_is_refused_in_indonesian(
        browser: Browser, api: ApiClient) -> None:
    """The list marks Puslitbang as having no desk; posting it anyway names it in the error."""
    task = await _claimed(api)
    desk = await browser("p1-barenbang-1")
    page = (await desk.http.get(f"/permohonan/{task['id']}")).text
    assert 'value="puslitbang"  disabled' in page or 'value="puslitbang" disabled' in page
    answer = await desk.post_form(f"/permohonan/{task['id']}/dispose", {"unit": "puslitbang"},
                                  token_from=f"/permohonan/{task['id']}")
    assert answer.status_code == 422
    assert "Unit puslitbang belum punya petugas aktif" in answer.text


async def test_admin_deactivating_a_desk_is_told_how_many_requests_went_back(
        browser: Browser, api: ApiClient, app: Any) -> None:
    """Two claimed requests: the admin's notice says 2 went back to the unit's queue."""
    for _ in range(2):
        await _claimed(api)
    async with app.state.ctx.db.read() as session:
        staff = (await session.exec(select(Staff).where(
            Staff.username == "p1-barenbang-1"))).one()
    admin = await browser("admin")
    answer = await admin.post_form(f"/admin/petugas/{staff.id}/nonaktifkan", {},
                                   token_from="/admin/petugas")
    assert answer.status_code == 303
    page = (await admin.http.get(answer.headers["location"])).text
    assert "2 permohonan yang dipegang petugas ini dikembalikan ke antrean unitnya" in page
    listed = (await api.as_("p0-1", "GET", "/api/v1/tasks?status=queued&level=p1")).json()
    assert len(listed["items"]) == 2


async def test_admin_unit_page_lists_units_without_an_active_desk(browser: Browser) -> None:
    """The warning names the unstaffed units and marks their rows; staffed ones are not."""
    admin = await browser("admin")
    page = (await admin.http.get("/admin/unit")).text
    warning = page.split('id="unstaffed">', 1)[1].split("</p>", 1)[0]
    assert warning.startswith("Unit tanpa petugas aktif")
    assert sorted(warning.split(": ", 1)[1].split(", ")) == UNSTAFFED
    assert "pusdatin" not in warning
    assert page.count("belum ada petugas aktif</span>") == len(UNSTAFFED)


async def test_admin_edits_contacts_and_a_move_releases_requests_and_signs_out(
        browser: Browser, api: ApiClient, app: Any) -> None:
    """The edit form stores a new e-mail at once; a new unit releases the claimed request
    (the notice says 1) and the moved person's page session ends."""
    await _claimed(api)
    victim = await browser("p1-barenbang-1")
    assert (await victim.http.get("/papan")).status_code == 200
    async with app.state.ctx.db.read() as session:
        staff = (await session.exec(select(Staff).where(
            Staff.username == "p1-barenbang-1"))).one()
    admin = await browser("admin")
    edit = f"/admin/petugas/{staff.id}/ubah"
    form = (await admin.http.get(edit)).text
    assert f'value="{staff.email}"' in form and f'value="{staff.full_name}"' in form
    fields = {"full_name": staff.full_name, "email": "maria.l@kemnaker.go.id",
              "phone": staff.phone or "", "unit": "barenbang", "role": "p1"}
    answer = await admin.post_form(edit, fields, token_from=edit)
    assert (answer.status_code, answer.headers["location"]) == (303, "/admin/petugas?ok=1")
    assert (await victim.http.get("/papan")).status_code == 200  # contacts only: still in
    bad = await admin.post_form(edit, {**fields, "email": "bukan-email"}, token_from=edit)
    assert bad.status_code == 422 and 'id="err-email"' in bad.text
    moved = await admin.post_form(edit, {**fields, "unit": "binapenta"}, token_from=edit)
    assert moved.status_code == 303
    notice = (await admin.http.get(moved.headers["location"])).text
    assert "1 permohonan yang dipegang petugas ini dikembalikan ke antrean unitnya" in notice
    assert (await victim.http.get("/papan")).status_code == 303  # signed out
    async with app.state.ctx.db.read() as session:
        after = await session.get(Staff, staff.id)
    assert after is not None
    assert (after.email, after.unit_code) == ("maria.l@kemnaker.go.id", "binapenta")


async def test_admin_sets_p1_handling_minutes_and_the_next_claim_uses_them(
        browser: Browser, api: ApiClient) -> None:
    """45 minutes on the SLA page: shown back, and the next P1 claim's handling clock is due
    45 minutes after it (PTSA_CALENDAR=always); 0 is refused beside its field."""
    admin = await browser("admin")
    page = (await admin.http.get("/admin/sla")).text
    assert 'name="p1_handling_minutes"' in page and 'value="60"' in page  # the default
    fields = {"p1_minutes": "15", "p2_minutes": "30", "p1_handling_minutes": "45"}
    answer = await admin.post_form("/admin/sla", fields, token_from="/admin/sla")
    assert answer.status_code == 303
    assert 'id="p1h" required inputmode="decimal" value="45"' in (
        await admin.http.get("/admin/sla")).text
    task = await _claimed(api)
    [clock] = [c for c in task["clocks"] if c["kind"] == "p1_handling"]
    started = datetime.fromisoformat(clock["started_at"].replace("Z", "+00:00"))
    due = datetime.fromisoformat(clock["due_at"].replace("Z", "+00:00"))
    assert due - started == timedelta(minutes=45)
    bad = await admin.post_form("/admin/sla", {**fields, "p1_handling_minutes": "0"},
                                token_from="/admin/sla")
    assert bad.status_code == 422 and 'id="err-p1_handling_minutes"' in bad.text


async def test_kpi_page_has_a_per_eselon1_view_with_p1_handling(browser: Browser,
                                                                 api: ApiClient) -> None:
    """Per Eselon I: the Barenbang row with its P1 handling column, the note on totals; per
    Eselon II: a 'Belum didisposisikan' row for the request still at P1."""
    await _claimed(api)
    spv = await browser("spv-barenbang")
    page = (await spv.http.get("/kinerja?by=eselon1")).text
    assert '<option value="eselon1" selected>Unit Eselon I</option>' in page
    assert "Penanganan P1 (menit)" in page and 'id="kpi-levels"' in page
    assert 'data-key="barenbang"' in page and 'data-key="*"' in page
    per_unit = (await spv.http.get("/kinerja?by=unit")).text
    row = per_unit.split('data-key="-"', 1)[1].split("</tr>", 1)[0]
    assert "Belum didisposisikan" in row


async def test_admin_sets_a_kpi_target_shown_against_the_figure(browser: Browser,
                                                                api: ApiClient) -> None:
    """A 90 % P1 pickup target for Barenbang is listed, returned by the API and shown beside
    the per-Eselon I figure (below it: marked); bad input is refused beside its field."""
    task = await api.register()
    admin = await browser("admin")
    answer = await admin.post_form("/admin/target", {"unit": "barenbang", "metric": "pickup_p1",
                                                     "target": "90"}, token_from="/admin/target")
    assert answer.status_code == 303
    listed = (await admin.http.get("/admin/target")).text
    assert "barenbang" in listed.split('id="targets"', 1)[1] and "90.0 %" in listed
    bad = await admin.post_form("/admin/target", {"unit": "barenbang", "metric": "pickup_p1",
                                                  "target": "150"}, token_from="/admin/target")
    assert bad.status_code == 422 and 'id="err-target"' in bad.text
    wrong = await admin.post_form("/admin/target", {"unit": "ptsa", "metric": "pickup_p1",
                                                    "target": "80"}, token_from="/admin/target")
    assert wrong.status_code == 422 and 'id="err-unit"' in wrong.text
    report = (await api.as_("admin", "GET", "/api/v1/kpi?by=eselon1")).json()
    [barenbang] = report["groups"]
    assert barenbang["targets"] == {"pickup_p1": 0.9}
    # The request waits unclaimed: nothing decided yet, so no share to compare.
    assert barenbang["pickup_p1"]["share_within"] is None and task["id"]
    page = (await admin.http.get("/kinerja?by=eselon1")).text
    row = page.split('data-key="barenbang"', 1)[1].split("</tr>", 1)[0]
    assert '<small class="target">sasaran 90%</small>' in row


async def test_a_second_release_through_the_form_names_who_changed_it_last(
        browser: Browser, api: ApiClient) -> None:
    """Two supervisors' pages both show 'Lepaskan'; the second post is a 409 in Indonesian
    naming the first supervisor."""
    task = await _claimed(api)
    spv, admin = await browser("spv-barenbang"), await browser("admin")
    path = f"/permohonan/{task['id']}"
    first = await spv.post_form(f"{path}/release", {"reason": "pertama"}, token_from=path)
    assert first.status_code == 303
    second = await admin.post_form(f"{path}/release", {"reason": "kedua"}, token_from=path)
    assert second.status_code == 409
    assert "terakhir diubah oleh Rani Oktaviani (spv-barenbang)" in second.text


async def test_supervisor_who_took_over_gets_the_desk_actions_on_the_task_page(
        browser: Browser, api: ApiClient) -> None:
    """After a takeover the Barenbang supervisor's task page offers the disposition, the
    primary action of a claimed request at P1, and it works through the form."""
    task = await api.register()
    spv = await browser("spv-barenbang")
    path = f"/permohonan/{task['id']}"
    taken = await spv.post_form(f"{path}/takeover", {"reason": "Antrean menumpuk"},
                                token_from=path)
    assert taken.status_code == 303
    page = (await spv.http.get(path)).text
    assert 'data-action="dispose"' in page and 'data-action="takeover"' not in page
    disposed = await spv.post_form(f"{path}/dispose", {"unit": "pusdatin"}, token_from=path)
    assert disposed.status_code == 303
    detail = (await api.as_("p0-1", "GET", f"/api/v1/tasks/{task['id']}")).json()
    assert (detail["level"], detail["unit"]) == ("p2", "pusdatin")
