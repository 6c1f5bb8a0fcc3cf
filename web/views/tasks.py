"""The task page (timeline, live thread, clocks) and every task action posted from a page.

Actions call ``ctx.commands.act`` exactly as the JSON API does: the state machine decides; this
module only reads the form and shows the outcome.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from channels import names
from hub.auth.principal import Principal
from hub.domain.actions import card_actions
from hub.domain.supervision import SupervisorAction, supervisor_actions
from hub.domain.tasks import Action, desk_actions
from hub.errors import NotFound, PtsaError
from hub.models import Service
from hub.tasks.commands import CommandResult, actor_of, ensure_can_view, load_task, state_of
from hub.tasks.serializers import task_detail, task_summary
from hub.tasks.supervise import supervise
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
SUPERVISOR_ACTIONS = {a.value: a for a in SupervisorAction}
ACTION_FIELDS = ("unit", "reason", "result", "body", "to")
# The one action a state asks for next gets the primary button and comes first.
_PRIMARY = {("queued", "p1"): "claim", ("queued", "p2"): "claim", ("claimed", "p1"): "dispose",
            ("claimed", "p2"): "complete", ("on_hold", "p1"): "resume",
            ("on_hold", "p2"): "resume", ("returned", "p0"): "resubmit"}
_DESK_ORDER = ("claim", "dispose", "complete", "resume", "resubmit", "hold", "return")


def card_buttons(card: dict[str, Any], principal: Principal) -> set[str]:
    """Which buttons to show on a card, supervisor ones included: ``hub.domain.actions``
    answers (a hint: the command decides), as it does for cards drawn live by
    ``static/js/board.js``."""
    assignee = (card.get("assignee") or {}).get("username")
    return set(card_actions(principal.role, card["status"], card["level"],
                            same_unit=card["unit"] == principal.unit,
                            mine=assignee is not None and assignee == principal.username))


def available_actions(card: dict[str, Any], principal: Principal) -> set[str]:
    """The desk buttons of ``card_buttons`` (the desks' and front office's boards)."""
    return card_buttons(card, principal) - set(SUPERVISOR_ACTIONS)


async def _task_context(request: Request, principal: Principal) -> dict[str, Any]:
    async with app_ctx(request).db.read() as session:
        task = await load_task(session, path_int(request))
        ensure_can_view(task, principal.staff, principal.scope)
        detail = await task_detail(session, task)
        service = await session.get(Service, task.service_code)
        units = await queries.units_by_code(session)
        eselon2 = await queries.eselon2_under(session, task.eselon1)
        staffed = await queries.staffed_units(session, "p2")
        # The task page asks the domain about this very task and viewer (hub.domain.tasks,
        # hub.domain.supervision), as the commands will; the cards ask about their situation.
        state, actor = state_of(task), actor_of(principal.staff, principal.scope)
        supervising = [a.value for a in supervisor_actions(state, actor)]
        acts = {a.value for a in desk_actions(state, actor)}
        desks = (await queries.active_desks(session, task.unit_code, task.level)
                 if "reassign" in supervising else [])
    primary = _PRIMARY.get((detail["status"], detail["level"]), "")
    desk_order = sorted((a for a in _DESK_ORDER if a in acts),
                        key=lambda a: (a != primary, _DESK_ORDER.index(a)))
    await app_ctx(request).commands.mark_read(principal.staff, task)  # the page is being read
    config = {"kind": "task", "task_id": detail["id"],
              "channels": [f"task.{detail['id']}", names.user(principal.username)],
              "me": {"username": principal.username, "role": principal.role,
                     "unit": principal.unit},
              "fragment": f"/permohonan/{detail['id']}?partial=1", "strings": js_strings()}
    return {"task": detail, "service": service, "units": units, "eselon2": eselon2,
            "actions": acts, "desk_actions": desk_order, "primary": primary,
            "staffed": staffed, "supervising": supervising,
            "desks": [d for d in desks if d.id != task.assignee_id], "config": config}


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
    "reassign": N_("The request was reassigned."),
    "release": N_("The request went back to the unit's queue."),
    "takeover": N_("You took the request over."),
    "reroute": N_("The request was re-routed."),
}


@page()
async def task_page(request: Request) -> Response:
    principal: Principal = request.scope["principal"]
    context = await _task_context(request, principal)
    done = request.query_params.get("ok", "")
    notice = _(NOTICES[done]) if done in NOTICES else ""
    return _render_task(request, context, notice=notice)


async def _run(request: Request, principal: Principal, name: str, task_id: int,
               version: int | None, values: dict[str, str]) -> CommandResult:
    commands = app_ctx(request).commands
    if name in SUPERVISOR_ACTIONS:
        return await supervise(commands, principal.staff, task_id, SUPERVISOR_ACTIONS[name],
                               reason=values["reason"], to=values["to"] or None,
                               unit=values["unit"] or None, version=version,
                               scope=principal.scope)
    return await commands.act(principal.staff, task_id, ACTIONS[name], version=version,
                              unit=values["unit"] or None, reason=values["reason"],
                              result_text=values["result"], body=values["body"],
                              scope=principal.scope)


@page()
async def task_action(request: Request) -> Response:
    principal: Principal = request.scope["principal"]
    name = request.path_params["action"]
    if name not in ACTIONS and name not in SUPERVISOR_ACTIONS:
        raise NotFound(f"no action {name!r}")
    task_id = path_int(request)
    form = await request.form()
    values = {field: text_field(form, field) for field in ACTION_FIELDS}
    version_text = text_field(form, "version")
    # The form's own hidden field; anything else is as good as absent (no stale-version check).
    version = parse_int("version", version_text, low=0, high=MAX_DB_INT) \
        if version_text else None
    try:
        result = await _run(request, principal, name, task_id, version, values)
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
