"""What a live page tells its JavaScript: who is looking, which channels to subscribe to, where to
reload the cards from over HTTP when the stream cannot fill a gap, and the translated strings."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from channels.permissions import default_channels
from hub.auth.principal import Principal
from hub.models import Unit
from hub.serializers import iso
from web import i18n
from web.queries import start_of_today
from web.render import app_ctx

JS_STRINGS = {
    "status.queued": "Queued", "status.claimed": "In progress", "status.on_hold": "On hold",
    "status.returned": "Returned", "status.completed": "Completed",
    "level.p0": "Front office", "level.p1": "Eselon I desk", "level.p2": "Eselon II desk",
    "left": "left", "overdue": "overdue", "no_deadline": "no pickup deadline",
    "conn.online": "Live", "conn.connecting": "Connecting…", "conn.offline": "Offline",
    "conn.reloading": "Refreshing…",
    "claimed_by": "Claimed by %(name)s", "claimed_by_other": "Already claimed by %(name)s",
    "action_failed": "The action failed: %(message)s",
    "new_task": "New request %(code)s", "new_task_body": "%(service)s — %(name)s",
    "breach": "SLA breached", "breach_text": "%(code)s: %(kind)s deadline passed at %(unit)s",
    "warning_text": "%(code)s: %(kind)s deadline close at %(unit)s",
    "kind.p1_pickup": "P1 pickup", "kind.p2_pickup": "P2 pickup", "kind.resolution": "SOP",
    "notify.on": "Desktop notifications on", "notify.denied": "Notifications blocked",
    "empty": "Nothing here.", "sop_days": "%(n)s working days",
    "signed_out": "Your session ended; sign in again.",
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
        "channels": default_channels(principal),
        "reload": reload_urls(principal, kind, today),
        "today": today,
        "cards": cards,
        "units": {code: (u.short_name or u.name) for code, u in units.items()},
        "lang": i18n.current_language(),
        "timezone": ctx.settings.timezone,
        "strings": js_strings(),
    }
