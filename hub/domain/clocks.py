"""SLA clock arithmetic: when a clock warns and falls due, how a hold moves it, what is left. Pure.

Kinds (``hub.domain.tasks.ClockKind``):

    p1_pickup   the P1 desk must claim a task within 15 business minutes of it reaching its queue
    p2_pickup   the P2 desk must claim within 30 business minutes of the disposition
    p1_handling the P1 desk must dispose (or return) within 60 business minutes of its claim;
                paused while on hold (started with start_pickup, like the pickups)
    resolution  the service's SOP commitment: N working days from registration

A clock is a ``ClockPlan``, an immutable value that maps onto an ``sla_clocks`` row
(``paused_seconds = plan.paused.total_seconds()``)::

    start_pickup(kind, started_at, duration, calendar, warn_ratio=0.8) -> ClockPlan
    start_resolution(started_at, sop_days, calendar, warn_ratio=0.8) -> ClockPlan
    pause(plan, at) -> ClockPlan                  # records paused_at; nothing else moves
    resume(plan, at, calendar) -> ClockPlan       # due_at and warn_at move later by the business
                                                  # time of the hold; paused grows by the same
    clock_status(plan, now) -> "ok" | "warning" | "breached"
    remaining(plan, now, calendar) -> timedelta   # business time left; negative when overdue
    elapsed(plan, now, calendar) -> timedelta     # business time used, holds excluded (KPIs)

While paused, a clock is read at ``paused_at``: its status and remaining time stand still.
``warn_at`` and ``due_at`` are instants the engine can schedule jobs at; ``clock_status`` at those
instants is ``warning`` and ``breached`` (the comparisons are inclusive). A hold shifts every
instant by the same business time, so a warning or breach that had already happened before the
hold is still in the past after ``resume``: the engine must go by its ``warned_at``/``breached_at``
records, not re-fire because an instant changed.

``ValueError`` means the caller broke a precondition (negative duration, resume of a running
clock); it is a bug, not user input.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from hub.domain.calendar import ZERO, BusinessCalendar
from hub.domain.tasks import ClockKind

ClockStatus = Literal["ok", "warning", "breached"]
DEFAULT_WARN_RATIO = 0.8
PICKUP_KINDS = frozenset({ClockKind.P1_PICKUP, ClockKind.P2_PICKUP})
# Clocks of a fixed business duration (minutes), started by start_pickup.
DURATION_KINDS = PICKUP_KINDS | {ClockKind.P1_HANDLING}


@dataclass(frozen=True)
class ClockPlan:
    kind: ClockKind
    started_at: datetime
    warn_at: datetime
    due_at: datetime
    paused_at: datetime | None = None
    paused: timedelta = ZERO  # business time spent on hold so far, summed over every hold

    @property
    def is_paused(self) -> bool:
        return self.paused_at is not None

    def reading_time(self, now: datetime) -> datetime:
        """The instant the clock is read at: ``paused_at`` while on hold, else ``now``."""
        return self.paused_at if self.paused_at is not None else now


def start_pickup(
    kind: ClockKind | str,
    started_at: datetime,
    duration: timedelta,
    calendar: BusinessCalendar,
    warn_ratio: float = DEFAULT_WARN_RATIO,
) -> ClockPlan:
    """A pickup clock: due ``duration`` of business time after ``started_at``.

    Raises:
        ValueError: ``kind`` is not a pickup kind, ``duration`` is not positive, or
            ``warn_ratio`` is outside 0..1.
    """
    kind = ClockKind(kind)
    if kind not in DURATION_KINDS:
        raise ValueError("expected a duration clock kind (p1_pickup, p2_pickup, p1_handling), "
                         f"got {kind!r}")
    if duration <= ZERO:
        raise ValueError(f"expected a positive pickup duration, got {duration!r}")
    _check_ratio(warn_ratio)
    return ClockPlan(
        kind=kind,
        started_at=started_at.astimezone(calendar.tz),
        warn_at=_warn_at(started_at, duration, warn_ratio, calendar),
        due_at=calendar.add_business_time(started_at, duration),
    )


def start_resolution(
    started_at: datetime,
    sop_days: int,
    calendar: BusinessCalendar,
    warn_ratio: float = DEFAULT_WARN_RATIO,
) -> ClockPlan:
    """The SOP clock: due per ``BusinessCalendar.add_working_days``; warns at ``warn_ratio`` of the
    business time between the start and the deadline.

    Raises:
        ValueError: ``sop_days`` is negative or ``warn_ratio`` is outside 0..1.
    """
    _check_ratio(warn_ratio)
    due_at = calendar.add_working_days(started_at, sop_days)
    span = calendar.business_time_between(started_at, due_at)
    return ClockPlan(
        kind=ClockKind.RESOLUTION,
        started_at=started_at.astimezone(calendar.tz),
        warn_at=_warn_at(started_at, span, warn_ratio, calendar),
        due_at=due_at,
    )


def pause(plan: ClockPlan, at: datetime) -> ClockPlan:
    """Put the clock on hold (waiting for the applicant) from ``at``.

    Raises:
        ValueError: the clock is already paused.
    """
    if plan.paused_at is not None:
        raise ValueError(f"the {plan.kind} clock is already paused since {plan.paused_at}")
    return replace(plan, paused_at=at)


def resume(plan: ClockPlan, at: datetime, calendar: BusinessCalendar) -> ClockPlan:
    """Take the clock off hold at ``at``: ``due_at`` and ``warn_at`` move later by the business
    time between ``paused_at`` and ``at``, so the hold does not count against the SLA.

    Raises:
        ValueError: the clock is not paused, or ``at`` is before ``paused_at``.
    """
    if plan.paused_at is None:
        raise ValueError(f"the {plan.kind} clock is not paused")
    if at < plan.paused_at:
        raise ValueError(f"cannot resume at {at}, before the pause at {plan.paused_at}")
    held = calendar.business_time_between(plan.paused_at, at)
    if held == ZERO:
        # add_business_time(x, 0) would move an instant at closing time to the next opening.
        return replace(plan, paused_at=None)
    return replace(
        plan,
        warn_at=calendar.add_business_time(plan.warn_at, held),
        due_at=calendar.add_business_time(plan.due_at, held),
        paused_at=None,
        paused=plan.paused + held,
    )


def clock_status(plan: ClockPlan, now: datetime) -> ClockStatus:
    """``breached`` from ``due_at`` on, ``warning`` from ``warn_at`` on, else ``ok``."""
    at = plan.reading_time(now)
    if at >= plan.due_at:
        return "breached"
    if at >= plan.warn_at:
        return "warning"
    return "ok"


def remaining(plan: ClockPlan, now: datetime, calendar: BusinessCalendar) -> timedelta:
    """Business time left until ``due_at``; negative (business time overdue) after it."""
    at = plan.reading_time(now)
    if at <= plan.due_at:
        return calendar.business_time_between(at, plan.due_at)
    return -calendar.business_time_between(plan.due_at, at)


def elapsed(plan: ClockPlan, now: datetime, calendar: BusinessCalendar) -> timedelta:
    """Business time the clock has run since ``started_at``, holds excluded."""
    at = plan.reading_time(now)
    return calendar.business_time_between(plan.started_at, at) - plan.paused


def _warn_at(
    started_at: datetime, span: timedelta, warn_ratio: float, calendar: BusinessCalendar
) -> datetime:
    offset = span * warn_ratio
    if offset == ZERO:
        # Warn at once, not at the next opening: a clock paused before that opening would
        # otherwise read "ok" on hold and "warning" on resume, with the same time left.
        return started_at.astimezone(calendar.tz)
    return calendar.add_business_time(started_at, offset)


def _check_ratio(warn_ratio: float) -> None:
    if not 0.0 <= warn_ratio <= 1.0:
        raise ValueError(f"expected a warn ratio between 0 and 1, got {warn_ratio!r}")
