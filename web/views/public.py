"""Public "Lacak Permohonan": an applicant types the registration number and sees the stage and
the expected date — nothing internal (no staff, no messages, no contact details)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from hub.auth.login import client_address
from hub.domain.complaints import is_complaint_number
from hub.feedback.complaints import by_number as complaint_by_number
from hub.feedback.complaints import public_status as complaint_status
from hub.feedback.survey import survey_url
from hub.models import Service
from hub.tasks.commands import task_by_code
from hub.tasks.track import limit_track_lookups, public_status
from web.i18n import N_
from web.qr import qr_svg
from web.render import app_ctx, render
from web.views.base import page

STAGES = {
    "received": N_("Received; waiting for the responsible unit"),
    "verification": N_("Being verified by the responsible unit"),
    "forwarded": N_("Forwarded to the processing unit"),
    "processing": N_("Being processed"),
    "waiting_applicant": N_("Waiting for you: documents incomplete"),
    "returned": N_("Returned to the front office; please contact the PTSA counter"),
    "completed": N_("Completed"),
}


@page(public=True)
async def track(request: Request) -> Response:
    code = (request.query_params.get("kode") or "").strip()[:30]
    status = None
    missing = False
    if code and is_complaint_number(code):  # a complaint's number: its status and reply
        await limit_track_lookups(app_ctx(request), client_address(request))
        async with app_ctx(request).db.read() as session:
            found = await complaint_by_number(session, code)
        complaint = complaint_status(found) if found else None
        return render(request, "track.html", status=200 if found else 404, code=code,
                      result=None, missing=found is None, stages=STAGES, complaint=complaint)
    if code:
        await limit_track_lookups(app_ctx(request), client_address(request))
        async with app_ctx(request).db.read() as session:
            task = await task_by_code(session, code)
            service = await session.get(Service, task.service_code) if task else None
        if task is None:
            missing = True
        else:
            status = public_status(task, service)
            ctx = app_ctx(request)
            status["survey_url"] = await survey_url(ctx.db, ctx.settings, task)
    survey_qr = qr_svg(status["survey_url"], "QR") if status and status["survey_url"] else None
    return render(request, "track.html", status=404 if missing else 200, code=code,
                  result=status, missing=missing, stages=STAGES, survey_qr=survey_qr)
