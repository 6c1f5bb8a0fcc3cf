"""The task page (timeline, live thread, clocks) and every task action posted from a page.

Actions call ``ctx.commands.act`` exactly as the JSON API does: the state machine decides; this
module only reads the form and shows the outcome.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.auth.principal import Principal
from hub.commands import ensure_can_view, load_task
from hub.domain.tasks import Action
from hub.errors import NotFound, PtsaError
from hub.models import Service
from hub.serializers import task_detail, task_summary
from hub.validation import MAX_DB_INT, parse_int
from web import queries
from web.forms import FormErrors, localise, text_field
from web.i18n import N_
from web.i18n import gettext as _
from web.render import app_ctx, redirect, render
from web.views.auth import safe_next
from web.views.base import page, path_int, wants_json
from web.views.live import js_strings

ACTIONS = {"claim": Action.CLAIM, "dispose": Action.DISPOSE, "return": Action.RETURN,
           "hold": Action.HOLD, "resume": Action.RESUME, "complete": Action.COMPLETE,
           "resubmit": Action.RESUBMIT, "message": Action.MESSAGE}
ACTION_FIELDS = ("unit", "reason", "result", "body")


def available_actions(card: dict[str, Any], principal: Principal) -> set[str]:
    """Which buttons to show. Only a hint for the screen: the command decides, and the same rule
    lives in ``static/js/board.js`` (``availableActions``) for cards drawn live."""
    role, status, level = principal.role, card["status"], card["level"]
    assignee = (card.get("assignee") or {}).get("username")
    actions: set[str] = set()
    if role in ("p1", "p2") and level == role and card["unit"] == principal.unit:
        if status == "queued":
            actions |= {"claim", "return"}
        if assignee == principal.username:
            if status == "claimed":
                actions |= {"return", "hold", "dispose" if level == "p1" else "complete"}
            elif status == "on_hold":
                actions.add("resume")
    if role in ("p0", "admin") and status == "returned":
        actions.add("resubmit")
    if status != "completed":
        actions.add("message")
    return actions


async def _task_context(request: Request, principal: Principal) -> dict[str, Any]:
    async with app_ctx(request).db.read() as session:
        task = await load_task(session, path_int(request))
        ensure_can_view(task, principal.staff, principal.scope)
        detail = await task_detail(session, task)
        service = await session.get(Service, task.service_code)
        units = await queries.units_by_code(session)
        eselon2 = await queries.eselon2_under(session, task.eselon1)
    config = {"kind": "task", "task_id": detail["id"], "channels": [f"task.{detail['id']}"],
              "me": {"username": principal.username, "role": principal.role,
                     "unit": principal.unit},
              "fragment": f"/permohonan/{detail['id']}?partial=1", "strings": js_strings()}
    return {"task": detail, "service": service, "units": units, "eselon2": eselon2,
            "actions": available_actions(detail, principal), "config": config}


def _render_task(request: Request, context: dict[str, Any], status: int = 200,
                 errors: FormErrors | None = None, values: dict[str, str] | None = None,
                 notice: str = "") -> Response:
    template = "task_main.html" if request.query_params.get("partial") else "task.html"
    return render(request, template, status=status, errors=errors or FormErrors(),
                  values=values or {}, notice=notice, **context)


NOTICES = {
    "claim": N_("You claimed the request."),
    "dispose": N_("The request was disposed."),
    "return": N_("The request was returned."),
    "hold": N_("The request is on hold."),
    "resume": N_("The request was resumed."),
    "complete": N_("The request is completed."),
    "resubmit": N_("The request was resubmitted."),
    "message": N_("Message sent."),
}


@page()
async def task_page(request: Request) -> Response:
    principal: Principal = request.scope["principal"]
    context = await _task_context(request, principal)
    done = request.query_params.get("ok", "")
    notice = _(NOTICES[done]) if done in NOTICES else ""
    return _render_task(request, context, notice=notice)


@page()
async def task_action(request: Request) -> Response:
    principal: Principal = request.scope["principal"]
    name = request.path_params["action"]
    if name not in ACTIONS:
        raise NotFound(f"no action {name!r}")
    task_id = path_int(request)
    form = await request.form()
    values = {field: text_field(form, field) for field in ACTION_FIELDS}
    version_text = text_field(form, "version")
    # The form's own hidden field; anything else is as good as absent (no stale-version check).
    version = parse_int("version", version_text, low=0, high=MAX_DB_INT) \
        if version_text else None
    try:
        result = await app_ctx(request).commands.act(
            principal.staff, task_id, ACTIONS[name], version=version,
            unit=values["unit"] or None, reason=values["reason"],
            result_text=values["result"], body=values["body"], scope=principal.scope)
    except PtsaError as exc:
        if wants_json(request):
            body = exc.to_dict()
            body["error"]["text"] = localise(exc)
            return JSONResponse(body, status_code=exc.status)
        if isinstance(exc, NotFound):
            raise
        errors = FormErrors()
        errors.add(exc, fallback_field="general")
        context = await _task_context(request, principal)
        return _render_task(request, context, status=exc.status, errors=errors,
                            values={f"{name}.{k}": v for k, v in values.items()})
    if wants_json(request):
        async with app_ctx(request).db.read() as session:
            task = await load_task(session, task_id)
            card = await task_summary(session, task)
        return JSONResponse({"task": card, "event": {"id": result.event_id,
                                                     "type": result.event_type}})
    target = safe_next(text_field(form, "next"))
    return redirect(target or f"/permohonan/{task_id}?ok={name}")
