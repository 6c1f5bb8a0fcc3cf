from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.domain.calendar import BusinessCalendar
from hub.domain.clocks import (
    ClockPlan,
    clock_status,
    elapsed,
    pause,
    remaining,
    resume,
    start_pickup,
    start_resolution,
)
from hub.domain.tasks import ClockKind

WIB = ZoneInfo("Asia/Jakarta")
OFFICE = BusinessCalendar.indonesian(WIB)
ALWAYS = BusinessCalendar.indonesian(WIB, always=True)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def wib(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0,
        microsecond: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=WIB)


# -- starting ------------------------------------------------------------------------------------


def test_p1_pickup_registered_late_friday_is_due_monday() -> None:
    """A P1 pickup clock started Friday 15:55 warns at 08:07 and falls due at 08:10 on Monday."""
    plan = start_pickup("p1_pickup", wib(2026, 1, 9, 15, 55), 15 * MINUTE, OFFICE, 0.8)
    assert plan.kind is ClockKind.P1_PICKUP
    assert plan.warn_at == wib(2026, 1, 12, 8, 7)
    assert plan.due_at == wib(2026, 1, 12, 8, 10)


def test_p2_pickup_counts_thirty_business_minutes() -> None:
    """A P2 pickup clock started at 10:00 on a working day is due at 10:30, warning at 10:24."""
    plan = start_pickup(ClockKind.P2_PICKUP, wib(2026, 1, 8, 10), 30 * MINUTE, OFFICE)
    assert (plan.warn_at, plan.due_at) == (wib(2026, 1, 8, 10, 24), wib(2026, 1, 8, 10, 30))


def test_pickup_refuses_the_resolution_kind() -> None:
    """start_pickup only starts fixed-duration clocks (the pickups and P1 handling)."""
    with pytest.raises(ValueError, match="duration clock kind"):
        start_pickup("resolution", wib(2026, 1, 8, 10), 15 * MINUTE, OFFICE)


@pytest.mark.parametrize("ratio", [-0.1, 1.5])
def test_warn_ratio_outside_zero_to_one_is_refused(ratio: float) -> None:
    """A warn ratio outside 0..1 raises."""
    with pytest.raises(ValueError, match="between 0 and 1"):
        start_pickup("p1_pickup", wib(2026, 1, 8, 10), 15 * MINUTE, OFFICE, ratio)


def test_pickup_duration_must_be_positive() -> None:
    """A pickup clock of zero length raises."""
    with pytest.raises(ValueError, match="positive"):
        start_pickup("p1_pickup", wib(2026, 1, 8, 10), timedelta(0), OFFICE)


def test_resolution_of_three_working_days_across_a_weekend() -> None:
    """A 3-day SOP from Thursday 10:00 ends Tuesday 16:00 and warns at 80% of its business time."""
    plan = start_resolution(wib(2026, 1, 8, 10), 3, OFFICE, 0.8)
    assert plan.kind is ClockKind.RESOLUTION
    assert plan.due_at == wib(2026, 1, 13, 16)
    # 6 h Thursday + 3 x 8 h = 30 h; 80 % = 24 h -> 6 h Thu, 8 h Fri, 8 h Mon, 2 h Tue.
    assert plan.warn_at == wib(2026, 1, 13, 10)


def test_always_calendar_gives_second_long_clocks() -> None:
    """On a 24/7 calendar a 2-second pickup clock is due 2 seconds later, at night too."""
    start = wib(2026, 1, 10, 2, 0, 0)
    plan = start_pickup("p1_pickup", start, timedelta(seconds=2), ALWAYS, 0.5)
    assert plan.warn_at == start + timedelta(seconds=1)
    assert plan.due_at == start + timedelta(seconds=2)


def test_zero_warn_ratio_warns_at_the_start_even_out_of_hours() -> None:
    """With a warn ratio of 0 the warning is due at the start, not at the next opening."""
    plan = start_pickup("p1_pickup", wib(2026, 1, 10, 9), 15 * MINUTE, OFFICE, 0.0)
    assert plan.warn_at == wib(2026, 1, 10, 9)
    assert plan.due_at == wib(2026, 1, 12, 8, 15)


# -- status, remaining ---------------------------------------------------------------------------


def test_status_moves_from_ok_to_warning_to_breached() -> None:
    """The status is ok before warn_at, warning from warn_at and breached from due_at."""
    plan = start_pickup("p1_pickup", wib(2026, 1, 8, 10), 15 * MINUTE, OFFICE)
    assert clock_status(plan, wib(2026, 1, 8, 10, 11)) == "ok"
    assert clock_status(plan, plan.warn_at) == "warning"
    assert clock_status(plan, plan.due_at) == "breached"


def test_remaining_counts_business_time_and_goes_negative() -> None:
    """Remaining time skips the weekend, and after the deadline it is negative business time."""
    plan = start_resolution(wib(2026, 1, 8, 10), 1, OFFICE)  # due Friday 16:00
    assert remaining(plan, wib(2026, 1, 8, 15), OFFICE) == 9 * HOUR
    assert remaining(plan, wib(2026, 1, 10, 12), OFFICE) == timedelta(0)
    assert remaining(plan, wib(2026, 1, 12, 9, 30), OFFICE) == -90 * MINUTE


# -- pause, resume -------------------------------------------------------------------------------


def test_hold_moves_the_deadline_by_the_paused_business_time() -> None:
    """A hold from Friday 14:00 to Monday 10:00 (4 business hours) moves due and warn 4 h later."""
    plan = start_resolution(wib(2026, 1, 8, 10), 3, OFFICE)  # due Tue 13 Jan 16:00
    held = pause(plan, wib(2026, 1, 9, 14))
    resumed = resume(held, wib(2026, 1, 12, 10), OFFICE)
    assert resumed.due_at == wib(2026, 1, 14, 12)
    assert resumed.warn_at == wib(2026, 1, 13, 14)
    assert resumed.paused == 4 * HOUR
    assert not resumed.is_paused


def test_paused_clock_stands_still() -> None:
    """While paused, status and remaining time are read at the moment of the pause."""
    plan = start_pickup("p2_pickup", wib(2026, 1, 8, 10), 30 * MINUTE, OFFICE)
    held = pause(plan, wib(2026, 1, 8, 10, 20))
    days_later = wib(2026, 1, 20, 15)
    assert clock_status(held, days_later) == "ok"
    assert remaining(held, days_later, OFFICE) == 10 * MINUTE
    assert elapsed(held, days_later, OFFICE) == 20 * MINUTE


def test_hold_outside_office_hours_moves_nothing() -> None:
    """A hold over a weekend costs no business time, so the deadline stays put."""
    plan = start_resolution(wib(2026, 1, 8, 10), 1, OFFICE)  # due Friday 16:00
    held = pause(plan, wib(2026, 1, 9, 16))
    assert resume(held, wib(2026, 1, 12, 8), OFFICE) == plan


def test_elapsed_excludes_every_hold() -> None:
    """Elapsed business time leaves out the time spent on hold."""
    plan = start_resolution(wib(2026, 1, 8, 8), 3, OFFICE)
    resumed = resume(pause(plan, wib(2026, 1, 8, 10)), wib(2026, 1, 8, 13), OFFICE)
    assert elapsed(resumed, wib(2026, 1, 8, 15), OFFICE) == 4 * HOUR
    assert resumed.paused == 3 * HOUR


def test_pausing_twice_is_refused() -> None:
    """A paused clock cannot be paused again."""
    held = pause(start_resolution(wib(2026, 1, 8, 10), 3, OFFICE), wib(2026, 1, 8, 11))
    with pytest.raises(ValueError, match="already paused"):
        pause(held, wib(2026, 1, 8, 12))


def test_resuming_a_running_clock_is_refused() -> None:
    """A running clock cannot be resumed."""
    with pytest.raises(ValueError, match="not paused"):
        resume(start_resolution(wib(2026, 1, 8, 10), 3, OFFICE), wib(2026, 1, 8, 11), OFFICE)


def test_resuming_before_the_pause_is_refused() -> None:
    """A resume earlier than its pause raises."""
    held = pause(start_resolution(wib(2026, 1, 8, 10), 3, OFFICE), wib(2026, 1, 8, 11))
    with pytest.raises(ValueError, match="before the pause"):
        resume(held, wib(2026, 1, 8, 10), OFFICE)


# -- properties ----------------------------------------------------------------------------------

instants = st.datetimes(min_value=datetime(2025, 11, 1), max_value=datetime(2027, 2, 28),
                        timezones=st.just(WIB))
gaps = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=12))
quick = settings(max_examples=150, deadline=None)


@quick
@given(start=instants, days=st.integers(0, 10), ratio=st.floats(0, 1), pause_after=gaps,
       hold=gaps)
def test_hold_keeps_remaining_time_and_status(
    start: datetime, days: int, ratio: float, pause_after: timedelta, hold: timedelta
) -> None:
    """After a hold, remaining business time and status are what they were when it began."""
    plan = start_resolution(start, days, OFFICE, ratio)
    paused_at = start + pause_after
    resumed_at = paused_at + hold
    resumed = resume(pause(plan, paused_at), resumed_at, OFFICE)
    assert remaining(resumed, resumed_at, OFFICE) == remaining(plan, paused_at, OFFICE)
    assert clock_status(resumed, resumed_at) == clock_status(plan, paused_at)
    assert resumed.paused == OFFICE.business_time_between(paused_at, resumed_at)
    assert elapsed(resumed, resumed_at, OFFICE) == elapsed(plan, paused_at, OFFICE)


@quick
@given(start=instants, minutes=st.integers(1, 600), ratio=st.floats(0, 1))
def test_pickup_clock_warns_before_it_falls_due(start: datetime, minutes: int,
                                               ratio: float) -> None:
    """warn_at is never after due_at, and the clock has exactly its duration to run."""
    plan: ClockPlan = start_pickup("p1_pickup", start, minutes * MINUTE, OFFICE, ratio)
    assert start <= plan.warn_at <= plan.due_at
    assert remaining(plan, start, OFFICE) == minutes * MINUTE
    assert remaining(plan, plan.due_at, OFFICE) == timedelta(0)

