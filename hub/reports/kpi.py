"""Unit and service KPIs, computed from task and SLA clock facts. Pure: no I/O, no clock reads.

Definitions (the KPI page and ``GET /api/v1/kpi`` say the same):

* **Pickup** (``p1_pickup``, ``p2_pickup`` clocks): a *finished* pickup is a clock in state
  ``met``; its time is the business time from start to claim, in minutes; it is *within SLA*
  when the claim came at or before ``due_at``. A clock still running at ``now`` past its
  ``due_at`` is *overdue*: certainly a miss, so it counts in the share's denominator but has no
  time yet. Cancelled clocks (the task was returned before anyone claimed it) are left out.
* **P1 handling** (``p1_handling``): like a pickup, from the P1 claim to the disposition (or
  the return), time on hold excluded, against the P1 handling SLA.
* **Completion** (the ``resolution`` clock, the SOP commitment): finished when the task is
  completed; its time is business time from registration to completion minus time on hold, in
  standard working days (``BusinessCalendar.working_days_between``); *within SOP* when completed
  at or before ``due_at`` (the committed date, moved later by holds). Running or paused clocks past
  ``due_at`` are overdue.
* **Share within** = within / (finished + overdue); ``None`` when nothing is decided yet.
* **Median** is the usual median (mean of the two middle values for an even count); the
  **90th percentile** is the nearest-rank one: the ⌈0.9·n⌉-th smallest value.
* **Groups**: ``by="eselon1"`` groups everything by the task's Eselon I unit; ``by="unit"`` by
  Eselon II unit (a P2 pickup belongs to the unit whose queue it waited in; requests not yet
  disposed form the row ``"-"``) and leaves the P1 figures out — they are the Eselon I desk's
  work and are credited to the Eselon I unit (issue 11); ``by="service"`` by service. In every
  view the totals' counts (registered, completed, open, finished, within, overdue) are the sums
  of the rows' counts; medians and P90 are over all requests, not sums.
* **Weekly trend**: completions and P2 pickups bucketed by the Monday-based week (in the
  calendar's zone) in which they finished; the last ``weeks`` weeks up to ``now``, empty weeks
  included so a chart shows the gap.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from hub.domain import clocks as clockmath
from hub.domain.calendar import BusinessCalendar
from hub.domain.tasks import ClockKind, ClockState

GroupBy = Literal["unit", "eselon1", "service"]
P1_KINDS = ("p1_pickup", "p1_handling")  # the Eselon I desk's work: credited to the Eselon I
NOT_DISPOSED = "-"  # the per-Eselon II row of requests not (yet) at any Eselon II unit


@dataclass(frozen=True)
class ClockFact:
    kind: str  # p1_pickup | p2_pickup | resolution
    unit: str  # the unit whose queue or SOP the clock measured
    state: str  # running | paused | met | cancelled
    started_at: datetime
    due_at: datetime
    stopped_at: datetime | None = None
    paused_at: datetime | None = None
    paused_seconds: float = 0.0


@dataclass(frozen=True)
class TaskFact:
    id: int
    service: str
    eselon1: str
    eselon2: str | None
    status: str
    created_at: datetime
    completed_at: datetime | None = None
    clocks: tuple[ClockFact, ...] = ()


@dataclass
class DurationStats:
    """One KPI: how many finished, how many in time, and how long they took."""

    finished: int = 0
    within: int = 0
    overdue: int = 0  # still open but already past due
    values: list[float] = field(default_factory=list)

    @property
    def decided(self) -> int:
        return self.finished + self.overdue

    @property
    def share_within(self) -> float | None:
        return round(self.within / self.decided, 4) if self.decided else None

    @property
    def median(self) -> float | None:
        return statistics.median(self.values) if self.values else None

    @property
    def p90(self) -> float | None:
        return percentile(self.values, 90)

    def as_dict(self, unit: str, digits: int) -> dict[str, Any]:
        return {"finished": self.finished, "within": self.within, "overdue": self.overdue,
                "late": self.decided - self.within, "share_within": self.share_within,
                f"median_{unit}": _round(self.median, digits),
                f"p90_{unit}": _round(self.p90, digits)}


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile: the ⌈pct/100·n⌉-th smallest value; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _plan(clock: ClockFact) -> clockmath.ClockPlan:
    return clockmath.ClockPlan(kind=ClockKind(clock.kind), started_at=clock.started_at,
                               warn_at=clock.due_at, due_at=clock.due_at,
                               paused_at=clock.paused_at,
                               paused=timedelta(seconds=clock.paused_seconds))


def _measure(stats: DurationStats, clock: ClockFact, now: datetime, calendar: BusinessCalendar,
             per: timedelta) -> float | None:
    """Add one clock to ``stats``; returns its duration in ``per`` units when finished."""
    if clock.state == ClockState.CANCELLED:
        return None
    if clock.state == ClockState.MET and clock.stopped_at is not None:
        value = clockmath.elapsed(_plan(clock), clock.stopped_at, calendar) / per
        stats.finished += 1
        stats.values.append(value)
        if clock.stopped_at <= clock.due_at:
            stats.within += 1
        return value
    if clockmath.clock_status(_plan(clock), now) == "breached":
        stats.overdue += 1
    return None


@dataclass
class GroupReport:
    key: str
    registered: int = 0
    completed: int = 0
    open: int = 0
    pickup_p1: DurationStats = field(default_factory=DurationStats)
    pickup_p2: DurationStats = field(default_factory=DurationStats)
    handling_p1: DurationStats = field(default_factory=DurationStats)
    completion: DurationStats = field(default_factory=DurationStats)
    weeks: dict[date, tuple[DurationStats, DurationStats]] = field(default_factory=dict)

    def week(self, monday: date) -> tuple[DurationStats, DurationStats]:
        """(completions, P2 pickups) finished in the week starting ``monday``."""
        if monday not in self.weeks:
            self.weeks[monday] = (DurationStats(), DurationStats())
        return self.weeks[monday]


def _monday(moment: datetime, calendar: BusinessCalendar) -> date:
    local = moment.astimezone(calendar.tz).date()
    return local - timedelta(days=local.weekday())


def _group_keys(task: TaskFact, clock: ClockFact | None, by: GroupBy) -> str | None:
    if by == "service":
        return task.service
    if by == "eselon1":
        return task.eselon1
    if clock is not None and clock.kind == "p2_pickup":
        return clock.unit
    return task.eselon2 or NOT_DISPOSED


def compute(tasks: Iterable[TaskFact], *, by: GroupBy, calendar: BusinessCalendar,
            now: datetime, weeks: int = 8) -> dict[str, Any]:
    """KPIs of ``tasks`` grouped ``by`` unit or service, plus the totals over all of them.

    Returns ``{"by", "groups": [group...], "totals": group}`` where a group is ``{"key",
    "registered", "completed", "open", "pickup_p1", "pickup_p2", "completion", "trend"}``.
    """
    groups: dict[str, GroupReport] = {}
    totals = GroupReport("*")
    minute = timedelta(minutes=1)
    day = calendar.working_day_length
    this_monday = _monday(now, calendar)
    first_monday = this_monday - timedelta(weeks=max(weeks, 1) - 1)

    def group(key: str | None) -> list[GroupReport]:
        if key is None:
            return [totals]
        if key not in groups:
            groups[key] = GroupReport(key)
        return [groups[key], totals]

    for task in tasks:
        for report in group(_group_keys(task, None, by)):
            report.registered += 1
            if task.status == "completed":
                report.completed += 1
            else:
                report.open += 1
        for clock in task.clocks:
            if by == "unit" and clock.kind in P1_KINDS:
                continue  # credited to the Eselon I unit: see by="eselon1"
            for report in group(_group_keys(task, clock, by)):
                if clock.kind == "resolution":
                    value = _measure(report.completion, clock, now, calendar, day)
                    trend_index = 0
                else:
                    stats = {"p1_pickup": report.pickup_p1, "p1_handling": report.handling_p1,
                             }.get(clock.kind, report.pickup_p2)
                    value = _measure(stats, clock, now, calendar, minute)
                    trend_index = 1 if clock.kind == "p2_pickup" else -1
                if value is None or trend_index < 0 or clock.stopped_at is None:
                    continue
                monday = _monday(clock.stopped_at, calendar)
                if first_monday <= monday <= this_monday:
                    bucket = report.week(monday)[trend_index]
                    bucket.finished += 1
                    bucket.values.append(value)
                    bucket.within += clock.stopped_at <= clock.due_at

    mondays = [first_monday + timedelta(weeks=i) for i in range(max(weeks, 1))]
    return {"by": by,
            "groups": [_group_dict(groups[k], mondays) for k in sorted(groups)],
            "totals": _group_dict(totals, mondays)}


def _group_dict(report: GroupReport, mondays: list[date]) -> dict[str, Any]:
    trend = []
    for monday in mondays:
        completions, pickups = report.weeks.get(monday, (DurationStats(), DurationStats()))
        iso = monday.isocalendar()
        trend.append({
            "week": f"{iso.year}-W{iso.week:02d}", "start": monday.isoformat(),
            "completions": completions.finished,
            "completion_share_within": completions.share_within,
            "completion_median_days": _round(completions.median, 2),
            "pickups": pickups.finished, "pickup_share_within": pickups.share_within,
            "pickup_median_minutes": _round(pickups.median, 1),
        })
    return {"key": report.key, "registered": report.registered, "completed": report.completed,
            "open": report.open,
            "pickup_p1": report.pickup_p1.as_dict("minutes", 1),
            "pickup_p2": report.pickup_p2.as_dict("minutes", 1),
            "handling_p1": report.handling_p1.as_dict("minutes", 1),
            "completion": report.completion.as_dict("days", 2),
            "trend": trend}


CSV_COLUMNS = (
    "key", "name", "sop_days", "registered", "completed", "open",
    "pickup_p1.finished", "pickup_p1.within", "pickup_p1.overdue", "pickup_p1.share_within",
    "pickup_p1.median_minutes", "pickup_p1.p90_minutes",
    "handling_p1.finished", "handling_p1.within", "handling_p1.overdue",
    "handling_p1.share_within", "handling_p1.median_minutes", "handling_p1.p90_minutes",
    "pickup_p2.finished", "pickup_p2.within", "pickup_p2.overdue", "pickup_p2.share_within",
    "pickup_p2.median_minutes", "pickup_p2.p90_minutes",
    "completion.finished", "completion.within", "completion.overdue",
    "completion.share_within", "completion.median_days", "completion.p90_days",
    # the admin's targets (shares 0..1) as the KPI page shows them: per unit, blank otherwise
    "targets.pickup_p1", "targets.handling_p1", "targets.pickup_p2", "targets.completion",
)


def csv_rows(report: dict[str, Any]) -> list[list[Any]]:
    """The report as CSV rows (header first; one row per group, then the totals)."""
    rows: list[list[Any]] = [list(CSV_COLUMNS)]
    for group in [*report["groups"], report["totals"]]:
        row: list[Any] = []
        for column in CSV_COLUMNS:
            value: Any = group
            for part in column.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            row.append("" if value is None else value)
        rows.append(row)
    return rows
