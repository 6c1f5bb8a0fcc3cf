"""What a live page tells its JavaScript: who is looking, which channels to subscribe to, where to
reload the cards from over HTTP when the stream cannot fill a gap, and the translated strings."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from channels.permissions import default_channels
from hub.auth.principal import Principal
from hub.domain.actions import action_table
from hub.models import Unit
from hub.tasks.serializers import iso
from web import i18n
from web.i18n import N_
from web.queries import start_of_today
from web.render import app_ctx

JS_STRINGS = {
    "status.queued": N_("Queued"),
    "status.claimed": N_("In progress"),
    "status.on_hold": N_("On hold"),
    "status.returned": N_("Returned"),
    "status.completed": N_("Completed"),
    "level.p0": N_("Front office"),
    "level.p1": N_("Eselon I desk"),
    "level.p2": N_("Eselon II desk"),
    # Countdowns (util.js): "Batas ambil P1: sisa 12 menit 5 detik",
    # "Janji selesai: sisa 2 hari kerja 3 jam".
    "cd.label": N_("%(label)s: %(text)s"),
    "cd.left": N_("%(time)s left"),
    "cd.late": N_("%(time)s overdue"),
    "dur.dh": N_("%(d)s d %(h)s h"),
    "dur.hm": N_("%(h)s h %(m)s min"),
    "dur.ms": N_("%(m)s min %(s)s s"),
    "wdur.dh": N_("%(d)s working days %(h)s h"),
    "wdur.hm": N_("%(h)s h %(m)s min of working time"),
    "wdur.m": N_("%(m)s min of working time"),
    "deadline.p1_pickup": N_("P1 pickup deadline"),
    "deadline.p2_pickup": N_("P2 pickup deadline"),
    "deadline.resolution": N_("Promised completion"),
    "paused": N_("Paused"),
    "no_deadline": N_("no pickup deadline"),
    "conn.online": N_("Live"),
    "conn.connecting": N_("Connecting…"),
    "conn.offline": N_("Offline"),
    "conn.reloading": N_("Refreshing…"),
    "claimed_by": N_("Claimed by %(name)s"),
    "claimed_by_other": N_("Already claimed by %(name)s"),
    "action_failed": N_("The action failed: %(message)s"),
    "new_task": N_("New request %(code)s"),
    "new_task_body": N_("%(service)s — %(name)s"),
    "breach": N_("SLA breached"),
    "breach_text": N_("%(code)s: %(kind)s deadline passed at %(unit)s"),
    "warning_text": N_("%(code)s: %(kind)s deadline close at %(unit)s"),
    "acked_text": N_("%(code)s: breach acknowledged by %(name)s at %(time)s"),
    "kind.p1_pickup": N_("P1 pickup"),
    "kind.p2_pickup": N_("P2 pickup"),
    "kind.p1_handling": N_("P1 handling"),
    "kind.resolution": N_("SOP"),
    "notify.on": N_("Desktop notifications on"),
    "notify.denied": N_("Notifications blocked"),
    "empty": N_("Nothing here."),
    "sop_days": N_("%(n)s working days"),
    "signed_out": N_("Your session ended; sign in again."),
}


def js_strings() -> dict[str, str]:
    return i18n.js_strings(JS_STRINGS)


def _tasks_url(**params: str) -> str:
    return "/api/v1/tasks?" + urlencode({**params, "limit": "500"})


def reload_urls(principal: Principal, kind: str, today: str) -> list[str]:
    if kind == "desk":
        return [_tasks_url(level=principal.role, unit=principal.unit,
                           status="queued,claimed,on_hold")]
    if kind == "supervisor":
        return [_tasks_url(status="queued,claimed,on_hold,returned")]
    return [_tasks_url(since=today), _tasks_url(status="returned")]


def board_config(request: Request, principal: Principal, kind: str,
                 cards: list[dict[str, Any]], units: dict[str, Unit]) -> dict[str, Any]:
    ctx = app_ctx(request)
    today = iso(start_of_today(ctx.settings.tz)) or ""
    return {
        "kind": kind,
        "me": {"username": principal.username, "role": principal.role, "unit": principal.unit},
        "actions": action_table(principal.role),
        "channels": default_channels(principal),
        "reload": reload_urls(principal, kind, today),
        "today": today,
        "cards": cards,
        "units": {code: (u.short_name or u.name) for code, u in units.items()},
        "lang": i18n.current_language(),
        "timezone": ctx.settings.timezone,
        "strings": js_strings(),
    }
