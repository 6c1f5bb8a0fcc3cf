"""The supervisor's screen: every open task in scope with overdue work highlighted, a live breach
banner, and the notification log (what was sent to whom, when, and whether it arrived)."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import Response

from hub.auth.principal import Principal
from hub.domain.tasks import FRONT_OFFICE, OPEN_CLOCKS, Role
from hub.domain.visibility import visible_tasks
from hub.models import SlaClock, Task
from hub.reports.notification_log import list_notifications
from hub.tasks.serializers import iso
from web import queries
from web.render import app_ctx, render
from web.views.base import page
from web.views.complaints import forward_units, open_panel
from web.views.live import board_config
from web.views.tasks import card_buttons

LOG_LIMIT = 200


def scope_units(principal: Principal) -> list[str] | None:
    """Units whose notifications the principal sees; None means all (front office, admin)."""
    if principal.role == Role.ADMIN or FRONT_OFFICE in principal.scope:
        return None
    return sorted(principal.scope)


async def open_breaches(request: Request, principal: Principal) -> list[dict[str, Any]]:
    """Breached clocks of tasks still open in scope that nobody has acknowledged yet: the
    banners a supervisor must see on load."""
    async with app_ctx(request).db.read() as session:
        rows = await session.exec(
            select(SlaClock, Task).join(Task, col(Task.id) == col(SlaClock.task_id))
            .where(visible_tasks(principal), col(SlaClock.breached_at).is_not(None),
                   col(SlaClock.acknowledged_at).is_(None),
                   col(SlaClock.state).in_(OPEN_CLOCKS))
            .order_by(col(SlaClock.breached_at).desc()).limit(50))
        return [{"clock_id": clock.id, "task_id": task.id, "code": task.code, "kind": clock.kind,
                 "unit": clock.unit_code, "breached_at": iso(clock.breached_at),
                 "key": f"{clock.id}:{clock.kind}"}
                for clock, task in rows.all()]


@page(roles=(Role.SUPERVISOR, Role.ADMIN))
async def supervisor(request: Request) -> Response:
    principal: Principal = request.scope["principal"]
    async with app_ctx(request).db.read() as session:
        cards = await queries.open_cards(session, principal)
        units = await queries.units_by_code(session)
    config = board_config(request, principal, "supervisor", cards, units)
    config["breaches"] = await open_breaches(request, principal)
    # The acknowledge button posts to /api/v1/sla/{id}/ack, which wants the token as a header.
    browser = request.scope.get("session")
    config["csrf"] = browser.csrf if browser else ""
    return render(request, "supervisor.html", config=config, cards=cards, units=units,
                  complaints=await open_panel(request, principal),
                  forward_units=forward_units(principal, units),
                  breaches=config["breaches"],
                  actions_for=lambda card: card_buttons(card, principal))


async def notification_rows(request: Request, principal: Principal) -> list[dict[str, Any]]:
    """The notification log of the principal's units (all for the front office and admins)."""
    return await list_notifications(app_ctx(request).db, unit_codes=scope_units(principal),
                                    limit=LOG_LIMIT)


def _field(row: Any, name: str) -> Any:
    return row.get(name) if isinstance(row, dict) else getattr(row, name, None)


@page(roles=(Role.SUPERVISOR, Role.ADMIN))
async def notifications(request: Request) -> Response:
    principal: Principal = request.scope["principal"]
    rows = await notification_rows(request, principal)
    async with app_ctx(request).db.read() as session:
        ids = {i for i in (_field(r, "task_id") for r in rows) if isinstance(i, int)}
        codes = {}
        if ids:
            found = await session.exec(select(Task.id, Task.code).where(col(Task.id).in_(ids)))
            codes = dict(found.all())
    items = [{name: _field(r, name) for name in (
        "id", "task_id", "kind", "channel", "recipient", "subject", "status", "attempts",
        "last_error", "created_at", "sent_at")} for r in rows]
    for item, row in zip(items, rows, strict=True):
        task = _field(row, "task")
        if isinstance(task, dict):  # list_notifications' shape: {"task": {"id", "code"}}
            item["task_id"], item["task_code"] = task.get("id"), task.get("code")
        else:
            item["task_code"] = codes.get(item["task_id"])
    return render(request, "notifications.html", items=items)
