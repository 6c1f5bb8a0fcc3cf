"""The KPI report a caller may see: its query parameters checked, the facts loaded and computed
(``hub/reports/kpi.py``). Shared by ``GET /api/v1/kpi`` and the KPI page; no HTTP here."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_
from sqlmodel import col, select

from channels.permissions import may_see_hall
from hub.auth.principal import Principal
from hub.domain.visibility import visible_tasks
from hub.errors import InvalidInput, Reason
from hub.models import Service, SlaClock, Task, Unit, utcnow
from hub.queue import hall_queue
from hub.reports import kpi
from hub.reports.kpi_targets import load_targets
from hub.validation import parse_date, parse_int

if TYPE_CHECKING:
    from hub.context import AppContext


CHUNK = 500


def parse_params(query: Any, today: date) -> dict[str, Any]:
    """The KPI query's parameters, checked; raises InvalidInput naming the bad one."""
    by = query.get("by") or "unit"
    if by not in ("unit", "eselon1", "service"):
        raise InvalidInput(f"by must be unit, eselon1 or service; got {by!r}", field="by")
    weeks = parse_int("weeks", query.get("weeks"), low=1, high=52, default=8)
    end = parse_date("to", query.get("to")) or today
    start = parse_date("from", query.get("from")) or \
        (end - timedelta(days=end.weekday()) - timedelta(weeks=weeks - 1))
    if start > end:
        raise InvalidInput(f"from ({start}) must not be after to ({end})", field="from",
                           reason=Reason.DATE_ORDER)
    fmt = query.get("format") or "json"
    if fmt not in ("json", "csv", "excel"):
        raise InvalidInput(f"format must be json, csv or excel; got {fmt!r}", field="format")
    return {"by": by, "weeks": weeks, "from": start, "to": end, "format": fmt,
            "unit": query.get("unit") or None, "service": query.get("service") or None}


async def build_report(app: AppContext, principal: Principal,
                       params: dict[str, Any]) -> dict[str, Any]:
    """Load the facts the caller may see and compute the report (shared with the KPI page)."""
    policy = await app.policy()
    tz = policy.tz
    start = datetime.combine(params["from"], time.min, tzinfo=tz)
    end = datetime.combine(params["to"] + timedelta(days=1), time.min, tzinfo=tz)
    query = select(Task).where(visible_tasks(principal), col(Task.created_at) >= start,
                               col(Task.created_at) < end)
    if params["unit"]:
        query = query.where(or_(col(Task.eselon1) == params["unit"],
                                col(Task.eselon2) == params["unit"]))
    if params["service"]:
        query = query.where(col(Task.service_code) == params["service"])
    async with app.db.read() as session:
        tasks = (await session.exec(query.order_by(col(Task.id)))).all()
        clocks: dict[int, list[kpi.ClockFact]] = {}
        ids = [t.id or 0 for t in tasks]
        for i in range(0, len(ids), CHUNK):
            rows = await session.exec(select(SlaClock).where(
                col(SlaClock.task_id).in_(ids[i:i + CHUNK])).order_by(col(SlaClock.id)))
            for c in rows.all():
                clocks.setdefault(c.task_id, []).append(kpi.ClockFact(
                    kind=c.kind, unit=c.unit_code, state=c.state, started_at=c.started_at,
                    due_at=c.due_at, stopped_at=c.stopped_at, paused_at=c.paused_at,
                    paused_seconds=c.paused_seconds))
        units = {u.code: u for u in (await session.exec(select(Unit))).all()}
        targets = await load_targets(session)
        services = {s.code: s for s in (await session.exec(select(Service))).all()}
    facts = [kpi.TaskFact(id=t.id or 0, service=t.service_code, eselon1=t.eselon1,
                          eselon2=t.eselon2, status=t.status, created_at=t.created_at,
                          completed_at=t.completed_at, clocks=tuple(clocks.get(t.id or 0, ())))
             for t in tasks]
    report = kpi.compute(facts, by=params["by"], calendar=policy.calendar, now=utcnow(),
                         weeks=params["weeks"])
    for group in report["groups"]:
        if params["by"] in ("unit", "eselon1"):
            unit = units.get(group["key"])
            group["name"] = unit.name if unit else (
                "Not yet disposed" if group["key"] == kpi.NOT_DISPOSED else group["key"])
            group["parent"] = unit.parent if unit else None
            group["targets"] = targets.get(group["key"], {})  # metric → share set by an admin
        else:
            service = services.get(group["key"])
            group["name"] = service.name if service else group["key"]
            group["sop_days"] = service.sop_days if service else None
    report["totals"]["name"] = "Total"
    report.update({"from": params["from"].isoformat(), "to": params["to"].isoformat(),
                   "weeks": params["weeks"], "generated_at": utcnow().isoformat(),
                   "calendar": "always" if policy.calendar.always else "office"})
    if may_see_hall(principal):  # the hall queue's KPI, for those who may see the hall
        report["hall"] = await hall_queue(app).period_kpi(params["from"], params["to"])
    return report
