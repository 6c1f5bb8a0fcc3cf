"""The staff screens' routes (Indonesian paths, as the staff read them) and the static files.

    /                     → the signed-in role's board (or /masuk)
    /masuk, /keluar       sign in, sign out
    /loket                P0 intake (the counter) with today's requests; POST registers
    /tanda-terima/{id}    printable receipt
    /papan                P0: today's requests · P1/P2: the unit's queue and my tasks
    /cari                 search and filtered lists (the top bar's search box)
    /pesan                the requests with messages I have not read (the top bar's badge)
    /permohonan/{id}      task page; POST /permohonan/{id}/{action} (claim, dispose, ...)
    /penyelia             supervisor: queues in scope, overdue, breach banner
    /penyelia/notifikasi  notification log
    /kinerja              KPIs (charts; CSV via /api/v1/kpi?format=csv)
    /admin/...            staff, units, services, SLA, calendar
    /lacak                public "Lacak Permohonan"
    /layanan              public service standards (requirements, working days, cost, unit)
    /antrean, /layar      the hall's kiosk and display (device token); /loket/antrean calling
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from web import i18n
from web.render import STATIC_DIR
from web.views import (
    admin,
    admin_staff_edit,
    admin_targets,
    auth,
    boards,
    complaints,
    hall,
    kpi_page,
    public,
    search_page,
    skm_page,
    standards,
    supervisor,
    survey,
    tasks,
)


def page_routes() -> list[BaseRoute]:
    i18n.load_all()
    get, post = ["GET"], ["POST"]
    return [
        Route("/", auth.home, methods=get),
        Route("/masuk", auth.login_form, methods=get),
        Route("/masuk", auth.login, methods=post),
        Route("/keluar", auth.logout, methods=post),
        Route("/bahasa", auth.set_language, methods=post),
        Route("/loket", boards.intake_form, methods=get),
        Route("/loket", boards.intake_submit, methods=post),
        Route("/tanda-terima/{task_id}", boards.receipt, methods=get),
        Route("/papan", boards.board, methods=get),
        Route("/cari", search_page.search, methods=get),
        Route("/pesan", search_page.unread_page, methods=get),
        Route("/permohonan/{task_id}", tasks.task_page, methods=get),
        Route("/permohonan/{task_id}/{action}", tasks.task_action, methods=post),
        Route("/penyelia", supervisor.supervisor, methods=get),
        Route("/penyelia/notifikasi", supervisor.notifications, methods=get),
        Route("/kinerja", kpi_page.kpi_page, methods=get),
        Route("/kinerja/skm", skm_page.skm_summary, methods=get),
        Route("/admin", admin.staff_page, methods=get),
        Route("/admin/petugas", admin.staff_page, methods=get),
        Route("/admin/petugas", admin.staff_add, methods=post),
        Route("/admin/petugas/{staff_id}/sandi", admin.staff_password, methods=post),
        Route("/admin/petugas/{staff_id}/ubah", admin_staff_edit.staff_edit_page, methods=get),
        Route("/admin/petugas/{staff_id}/ubah", admin_staff_edit.staff_edit, methods=post),
        Route("/admin/petugas/{staff_id}/{change:str}", admin.staff_state, methods=post),
        Route("/admin/unit", admin.units_page, methods=get),
        Route("/admin/unit", admin.unit_add, methods=post),
        Route("/admin/unit/{code}", admin.unit_update, methods=post),
        Route("/admin/layanan", admin.services_page, methods=get),
        Route("/admin/layanan", admin.service_add, methods=post),
        Route("/admin/layanan/{code}", admin.service_update, methods=post),
        Route("/admin/target", admin_targets.targets_page, methods=get),
        Route("/admin/target", admin_targets.target_save, methods=post),
        Route("/admin/sla", admin.sla_page, methods=get),
        Route("/admin/sla", admin.sla_save, methods=post),
        Route("/admin/kalender", admin.calendar_page, methods=get),
        Route("/admin/kalender", admin.calendar_set, methods=post),
        Route("/admin/kalender/{day}/hapus", admin.calendar_remove, methods=post),
        Route("/lacak", public.track, methods=get),
        Route("/layanan", standards.services, methods=get),
        Route("/antrean", hall.kiosk, methods=get),
        Route("/antrean/tiket/{ticket_id}", hall.slip, methods=get),
        Route("/antrean/cek/{day}/{number}", hall.ticket_status, methods=get),
        Route("/layar", hall.display, methods=get),
        Route("/loket/antrean", hall.counter, methods=get),
        Route("/admin/perangkat", hall.devices_page, methods=get),
        Route("/admin/perangkat", hall.device_add, methods=post),
        Route("/admin/perangkat/{device_id}/cabut", hall.device_revoke, methods=post),
        Route("/admin/perangkat/teks", hall.running_text, methods=post),
        Route("/pengaduan", complaints.complaint_form, methods=get),
        Route("/pengaduan", complaints.complaint_submit, methods=post),
        Route("/survei/{token}", survey.survey_form, methods=get),
        Route("/survei/{token}", survey.survey_submit, methods=post),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ]
