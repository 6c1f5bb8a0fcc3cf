"""The IKM report: survey responses the caller may see, per Eselon II unit, rolled up to Eselon I
and the whole selection, and per service, with a weekly trend (``GET /api/v1/skm``, /kinerja).

Every figure is computed from the responses themselves (``hub.domain.skm.index``), never by
averaging children: the regulation's IKM of a unit is the IKM of its respondents. The population
behind ``min_sample`` is the number of requests completed in the period in the same selection;
``sample_ok`` says whether the respondents reach the regulation's minimum for it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_
from sqlmodel import col, select

from hub.auth.principal import Principal
from hub.db import Database
from hub.domain import skm
from hub.domain.tasks import FRONT_OFFICE, Role, Status
from hub.errors import Forbidden, InvalidInput, Reason
from hub.models import Service, SurveyResponse, Task, Unit
from hub.validation import parse_date

Answers = tuple[int, ...]
MAX_DAYS = 400


def parse_period(query: Any, today: date) -> tuple[date, date]:
    """``from``/``to`` (YYYY-MM-DD, inclusive); default the calendar year to date, since the
    regulation asks for a survey at least once a year."""
    def one(name: str, default: date) -> date:
        raw = query.get(name)
        if not raw:
            return default
        return parse_date(name, raw) or default
    end = one("to", today)
    start = one("from", date(end.year, 1, 1))
    if start > end:
        raise InvalidInput(f"from ({start}) must not be after to ({end})", field="from",
                           reason=Reason.DATE_ORDER)
    if (end - start).days > MAX_DAYS:
        raise InvalidInput(f"the period is at most {MAX_DAYS} days; got {(end - start).days}",
                           field="from")
    return start, end


def allowed_units(principal: Principal, children: dict[str, list[str]]) -> frozenset[str] | None:
    """The units whose figures the caller may see; None: the whole hall."""
    role = principal.role
    if role in (Role.ADMIN, Role.P0) or (role == Role.SUPERVISOR
                                         and FRONT_OFFICE in principal.scope):
        return None
    if role == Role.SUPERVISOR:
        return principal.scope
    if role == Role.P1:
        return frozenset({principal.unit, *children.get(principal.unit, [])})
    if role == Role.P2:
        return frozenset({principal.unit})
    return frozenset()


def figures(rows: Sequence[Answers], population: int) -> dict[str, Any]:
    result = skm.index(rows)
    need = skm.min_sample(population)
    return {"ikm": result.ikm, "mutu": result.mutu, "label": result.label,
            "respondents": result.respondents, "elements": list(result.elements),
            "population": population, "min_sample": need,
            "sample_ok": result.respondents >= need and result.respondents > 0}


def _week(moment: datetime, tz: ZoneInfo) -> date:
    day = moment.astimezone(tz).date()
    return day - timedelta(days=day.weekday())


async def build(db: Database, principal: Principal, tz: ZoneInfo, start: date, end: date,
                unit: str | None = None) -> dict[str, Any]:
    """The report for the caller; Forbidden when ``unit`` is outside what they may see."""
    lo = datetime.combine(start, time.min, tzinfo=tz)
    hi = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz)
    async with db.read() as session:
        units = {u.code: u for u in (await session.exec(select(Unit))).all()}
        services = {s.code: s for s in (await session.exec(select(Service))).all()}
        children: dict[str, list[str]] = defaultdict(list)
        for u in units.values():
            if u.parent:
                children[u.parent].append(u.code)
        allowed = allowed_units(principal, children)
        if unit is not None:
            if unit not in units:
                raise InvalidInput(f"unknown unit {unit!r}; see GET /api/v1/units", field="unit")
            if allowed is not None and unit not in allowed:
                raise Forbidden(f"unit {unit!r} is outside your scope")
            chosen: frozenset[str] | None = frozenset({unit})
        else:
            chosen = allowed
        responses = select(SurveyResponse).where(col(SurveyResponse.submitted_at) >= lo,
                                                 col(SurveyResponse.submitted_at) < hi)
        completed = select(Task.eselon1, Task.eselon2, Task.service_code).where(
            col(Task.status) == Status.COMPLETED.value, col(Task.completed_at) >= lo,
            col(Task.completed_at) < hi)
        if chosen is not None:
            responses = responses.where(or_(col(SurveyResponse.eselon1).in_(chosen),
                                            col(SurveyResponse.eselon2).in_(chosen)))
            completed = completed.where(or_(col(Task.eselon1).in_(chosen),
                                            col(Task.eselon2).in_(chosen)))
        rows = (await session.exec(responses.order_by(col(SurveyResponse.id)))).all()
        done = (await session.exec(completed)).all()
    by_unit: dict[str, list[Answers]] = defaultdict(list)
    by_service: dict[str, list[Answers]] = defaultdict(list)
    by_week: dict[date, list[Answers]] = defaultdict(list)
    pop_unit: dict[str, int] = defaultdict(int)
    pop_service: dict[str, int] = defaultdict(int)
    everything: list[Answers] = []
    for r in rows:
        answers = (r.u1, r.u2, r.u3, r.u4, r.u5, r.u6, r.u7, r.u8, r.u9)
        everything.append(answers)
        for code in dict.fromkeys((r.eselon2, r.eselon1)):
            if code:
                by_unit[code].append(answers)
        by_service[r.service_code].append(answers)
        by_week[_week(r.submitted_at, tz)].append(answers)
    for eselon1, eselon2, service in done:
        for code in dict.fromkeys((eselon2, eselon1)):
            if code:
                pop_unit[code] += 1
        pop_service[service] += 1
    unit_rows = []
    for code in sorted(set(by_unit) | set(pop_unit),
                       key=lambda c: (units[c].parent or c, units[c].level != "eselon1", c)
                       if c in units else (c, True, c)):
        info = units.get(code)
        # A parent outside the selection would show only the part of it the caller may see.
        if chosen is not None and code not in chosen and not (info and info.parent in chosen):
            continue
        unit_rows.append({"code": code, "name": info.name if info else code,
                          "level": info.level if info else "",
                          "parent": info.parent if info else None,
                          **figures(by_unit.get(code, []), pop_unit.get(code, 0))})
    service_rows = [{"code": code, "name": services[code].name if code in services else code,
                     **figures(by_service.get(code, []), pop_service.get(code, 0))}
                    for code in sorted(set(by_service) | set(pop_service))]
    weeks = []
    week = start - timedelta(days=start.weekday())
    while week <= end:
        result = skm.index(by_week.get(week, []))
        weeks.append({"start": week.isoformat(), "ikm": result.ikm,
                      "respondents": result.respondents})
        week += timedelta(days=7)
    return {"from": start.isoformat(), "to": end.isoformat(), "unit": unit,
            "scope": "all" if chosen is None else sorted(chosen),
            "element_names": [e.name for e in skm.ELEMENTS],
            **figures(everything, len(done)),
            "units": unit_rows, "services": service_rows, "trend": weeks}


def csv_rows(report: dict[str, Any]) -> list[list[Any]]:
    """One row per unit and service and the total: the shape units attach to their reports."""
    head = ["kind", "code", "name", "respondents", "population", "min_sample", "sample_ok",
            "ikm", "mutu", *[f"u{i}" for i in range(1, len(skm.ELEMENTS) + 1)]]
    out: list[list[Any]] = [head]

    def line(kind: str, code: str, name: str, f: dict[str, Any]) -> list[Any]:
        return [kind, code, name, f["respondents"], f["population"], f["min_sample"],
                "yes" if f["sample_ok"] else "no", "" if f["ikm"] is None else f"{f['ikm']:.2f}",
                f["mutu"] or "", *[f"{v:.2f}" for v in f["elements"]]]
    out.append(line("total", report["unit"] or "*", "Total", report))
    out.extend(line(u["level"] or "unit", u["code"], u["name"], u) for u in report["units"])
    out.extend(line("service", s["code"], s["name"], s) for s in report["services"])
    return out
