from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.settings import load_settings
from hub.domain.calendar import (
    BusinessCalendar,
    DayOverride,
    Interval,
    OfficeHours,
    indonesian_holidays,
    parse_office_hours,
)
from hub.errors import ConfigError

WIB = ZoneInfo("Asia/Jakarta")
OFFICE = BusinessCalendar.indonesian(WIB)
ALWAYS = BusinessCalendar.indonesian(WIB, always=True)
# Longer hours on Friday, a lunch break, and an admin Saturday service day: the awkward cases.
SPLIT = BusinessCalendar.indonesian(
    WIB,
    "mon-thu 07:30-12:00 13:00-16:00; fri 07:30-11:30 13:30-16:30",
    overrides=[DayOverride(date(2026, 1, 10), "working", "Layanan Sabtu"),
               DayOverride(date(2026, 1, 12), "holiday", "Libur tambahan")],
)
MINUTE = timedelta(minutes=1)
TICK = timedelta(microseconds=1)


def wib(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0,
        microsecond: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=WIB)


# -- the package data the tests below rely on ----------------------------------------------------


def test_package_lists_the_2026_idul_fitri_and_nyepi_block() -> None:
    """The holidays package names Nyepi, Idul Fitri and their cuti bersama of March 2026."""
    found = indonesian_holidays(2026)
    assert found[date(2026, 3, 18)] == "Cuti Bersama Hari Suci Nyepi"
    assert found[date(2026, 3, 19)] == "Hari Suci Nyepi"
    assert found[date(2026, 3, 20)] == "Cuti Bersama Hari Raya Idul Fitri"
    assert found[date(2026, 3, 21)] == "Hari Raya Idul Fitri"
    assert found[date(2026, 3, 23)] == "Cuti Bersama Hari Raya Idul Fitri"
    assert found[date(2026, 3, 24)] == "Cuti Bersama Hari Raya Idul Fitri"
    assert date(2026, 3, 25) not in found


# -- days ----------------------------------------------------------------------------------------


def test_weekdays_are_working_days_and_weekends_are_not() -> None:
    """An ordinary Friday works and the Saturday after it does not."""
    assert OFFICE.is_working_day(date(2026, 1, 9))
    assert not OFFICE.is_working_day(date(2026, 1, 10))
    assert OFFICE.holiday_name(date(2026, 1, 10)) is None


def test_cuti_bersama_is_not_a_working_day() -> None:
    """Christmas Eve 2026 is cuti bersama, a Thursday the office is closed."""
    assert not OFFICE.is_working_day(date(2026, 12, 24))
    assert OFFICE.holiday_name(date(2026, 12, 24)) == "Cuti Bersama Hari Raya Natal"


def test_national_holiday_is_named_in_indonesian() -> None:
    """Independence Day 2026 (a Monday) is closed and named in Indonesian."""
    assert not OFFICE.is_working_day(date(2026, 8, 17))
    assert OFFICE.holiday_name(date(2026, 8, 17)) == "Hari Kemerdekaan Republik Indonesia"


def test_admin_holiday_closes_a_working_day() -> None:
    """An admin holiday closes a normal Monday and carries the admin's name."""
    assert not SPLIT.is_working_day(date(2026, 1, 12))
    assert SPLIT.holiday_name(date(2026, 1, 12)) == "Libur tambahan"


def test_admin_working_day_opens_a_holiday_with_its_weekday_hours() -> None:
    """An admin working day on a cuti bersama Thursday opens with Thursday's hours."""
    calendar = OFFICE.with_overrides([DayOverride(date(2026, 12, 24), "working", "Buka")])
    assert calendar.is_working_day(date(2026, 12, 24))
    assert calendar.holiday_name(date(2026, 12, 24)) is None
    assert calendar.next_open(wib(2026, 12, 24, 6)) == wib(2026, 12, 24, 8)


def test_later_override_of_the_same_day_wins() -> None:
    """When two overrides name one day, the last one applies."""
    calendar = OFFICE.with_overrides([DayOverride(date(2026, 1, 9), "holiday", "Tutup"),
                                      DayOverride(date(2026, 1, 9), "working", "Buka lagi")])
    assert calendar.is_working_day(date(2026, 1, 9))


def test_override_kind_is_checked() -> None:
    """A DayOverride of an unknown kind is refused."""
    with pytest.raises(ValueError, match="'holiday' or 'working'"):
        DayOverride(date(2026, 1, 9), "libur", "x")  # type: ignore[arg-type]


# -- add_business_time ---------------------------------------------------------------------------


def test_pickup_late_on_friday_is_due_monday_morning() -> None:
    """15 business minutes from Friday 9 Jan 2026 15:55 end Monday 12 Jan 08:10."""
    assert OFFICE.add_business_time(wib(2026, 1, 9, 15, 55), 15 * MINUTE) == wib(2026, 1, 12, 8, 10)


def test_pickup_late_on_friday_skips_a_holiday_monday() -> None:
    """From Friday 14 Aug 2026 15:55 the Monday is Independence Day, so it is due Tuesday 08:10."""
    due = OFFICE.add_business_time(wib(2026, 8, 14, 15, 55), 15 * MINUTE)
    assert due == wib(2026, 8, 18, 8, 10)


def test_pickup_on_the_eve_of_nyepi_and_idul_fitri_waits_out_the_whole_block() -> None:
    """From Tuesday 17 Mar 2026 15:55, Nyepi, Idul Fitri and cuti bersama push it to 25 Mar."""
    due = OFFICE.add_business_time(wib(2026, 3, 17, 15, 55), 15 * MINUTE)
    assert due == wib(2026, 3, 25, 8, 10)


def test_deadline_ending_at_closing_time_stays_on_the_same_day() -> None:
    """Five minutes from 15:55 is 16:00 that day, not the next opening."""
    assert OFFICE.add_business_time(wib(2026, 1, 9, 15, 55), 5 * MINUTE) == wib(2026, 1, 9, 16)


def test_counting_outside_hours_starts_at_the_next_opening() -> None:
    """A task arriving Saturday is due 15 minutes after Monday's opening."""
    assert OFFICE.add_business_time(wib(2026, 1, 10, 11), 15 * MINUTE) == wib(2026, 1, 12, 8, 15)


def test_zero_duration_outside_hours_is_the_next_opening() -> None:
    """Adding nothing at closing time gives the next opening."""
    assert OFFICE.add_business_time(wib(2026, 1, 9, 16), timedelta(0)) == wib(2026, 1, 12, 8)


def test_year_end_rolls_over_new_year_holiday() -> None:
    """From 31 Dec 2025 15:55, 1 Jan 2026 is a holiday, so it is due Friday 2 Jan 08:10."""
    assert not OFFICE.is_working_day(date(2026, 1, 1))
    due = OFFICE.add_business_time(wib(2025, 12, 31, 15, 55), 15 * MINUTE)
    assert due == wib(2026, 1, 2, 8, 10)


def test_year_end_rolls_into_the_next_years_holidays() -> None:
    """From Thursday 31 Dec 2026 15:55, New Year falls on Friday, so it is due Monday 4 Jan 2027."""
    due = OFFICE.add_business_time(wib(2026, 12, 31, 15, 55), 15 * MINUTE)
    assert due == wib(2027, 1, 4, 8, 10)


def test_lunch_break_does_not_count() -> None:
    """With a 12:00-13:00 break, 15 minutes from 11:55 end at 13:10."""
    assert SPLIT.add_business_time(wib(2026, 1, 8, 11, 55), 15 * MINUTE) == wib(2026, 1, 8, 13, 10)


def test_admin_saturday_uses_mondays_hours() -> None:
    """From Friday 16:25 (closing 16:30), an admin Saturday opening 07:30 makes it due 07:40."""
    due = SPLIT.add_business_time(wib(2026, 1, 9, 16, 25), 15 * MINUTE)
    assert due == wib(2026, 1, 10, 7, 40)


def test_any_time_zone_in_calendar_zone_out() -> None:
    """A UTC start gives the same instant back, expressed in Jakarta time."""
    due = OFFICE.add_business_time(datetime(2026, 1, 9, 8, 55, tzinfo=UTC), 15 * MINUTE)
    assert due == wib(2026, 1, 12, 8, 10)
    assert due.tzinfo is WIB


def test_naive_datetime_is_refused() -> None:
    """A naive datetime raises instead of being guessed."""
    with pytest.raises(ValueError, match="timezone-aware"):
        OFFICE.add_business_time(datetime(2026, 1, 9, 10), MINUTE)


def test_negative_duration_is_refused() -> None:
    """A negative duration raises."""
    with pytest.raises(ValueError, match="zero or more"):
        OFFICE.add_business_time(wib(2026, 1, 9, 10), -MINUTE)


def test_calendar_without_any_working_day_fails_loudly() -> None:
    """A calendar whose every day is closed raises rather than looping forever."""
    calendar = BusinessCalendar(WIB, parse_office_hours("mon 08:00-16:00"), holidays=lambda y: {},
                                overrides=[DayOverride(date(2026, 1, 5) + timedelta(weeks=n),
                                                       "holiday", "x") for n in range(200)])
    with pytest.raises(ConfigError, match="no working day"):
        calendar.add_business_time(wib(2026, 1, 5), MINUTE)


# -- business_time_between, next_open ------------------------------------------------------------


def test_business_time_between_skips_the_weekend() -> None:
    """Friday 15:00 to Monday 09:00 is two business hours."""
    assert OFFICE.business_time_between(wib(2026, 1, 9, 15), wib(2026, 1, 12, 9)) == 2 * 60 * MINUTE


def test_business_time_between_is_zero_backwards() -> None:
    """When b is not after a the business time is zero."""
    assert OFFICE.business_time_between(wib(2026, 1, 12, 9), wib(2026, 1, 9, 15)) == timedelta(0)


def test_next_open_inside_hours_is_now() -> None:
    """During office hours the office is open now."""
    assert OFFICE.next_open(wib(2026, 1, 9, 10, 30)) == wib(2026, 1, 9, 10, 30)
    assert OFFICE.is_open(wib(2026, 1, 9, 10, 30))


def test_next_open_at_closing_time_is_the_next_working_morning() -> None:
    """At 16:00 sharp on Friday the office is closed until Monday 08:00."""
    assert not OFFICE.is_open(wib(2026, 1, 9, 16))
    assert OFFICE.next_open(wib(2026, 1, 9, 16)) == wib(2026, 1, 12, 8)


# -- working days --------------------------------------------------------------------------------


def test_three_working_days_across_a_weekend() -> None:
    """Registered Thursday 8 Jan 2026, 3 working days end Tuesday 13 Jan at closing."""
    assert OFFICE.add_working_days(wib(2026, 1, 8, 10), 3) == wib(2026, 1, 13, 16)


def test_three_working_days_across_a_holiday() -> None:
    """Registered Tuesday 12 May 2026, Ascension and its cuti bersama push 3 days to 19 May."""
    assert OFFICE.add_working_days(wib(2026, 5, 12, 10), 3) == wib(2026, 5, 19, 16)


def test_registration_after_hours_counts_from_the_next_working_day() -> None:
    """Registered Friday 17:00, day 0 is Monday, so 3 working days end Thursday at closing."""
    assert OFFICE.add_working_days(wib(2026, 1, 9, 17), 3) == wib(2026, 1, 15, 16)


def test_zero_working_days_is_closing_time_of_the_day_received() -> None:
    """A same-day commitment ends at that day's closing time."""
    assert OFFICE.add_working_days(wib(2026, 1, 9, 9), 0) == wib(2026, 1, 9, 16)


def test_working_days_end_at_the_last_interval_of_the_day() -> None:
    """With a split Friday, the deadline is the Friday's final closing time, 16:30."""
    assert SPLIT.add_working_days(wib(2026, 1, 7, 9), 2) == wib(2026, 1, 9, 16, 30)


def test_working_days_between_counts_standard_days() -> None:
    """Monday 08:00 to Wednesday 12:00 is two and a half working days."""
    assert OFFICE.working_days_between(wib(2026, 1, 12, 8), wib(2026, 1, 14, 12)) == 2.5


def test_negative_working_days_are_refused() -> None:
    """A negative SOP commitment raises."""
    with pytest.raises(ValueError, match="zero or more"):
        OFFICE.add_working_days(wib(2026, 1, 9, 9), -1)


# -- always --------------------------------------------------------------------------------------


def test_always_counts_every_minute() -> None:
    """A 24/7 calendar adds plain elapsed time, even at night on a holiday."""
    start = wib(2026, 8, 16, 23, 55)
    assert ALWAYS.add_business_time(start, 15 * MINUTE) == wib(2026, 8, 17, 0, 10)
    assert ALWAYS.business_time_between(start, wib(2026, 8, 17, 0, 10)) == 15 * MINUTE
    assert ALWAYS.is_working_day(date(2026, 8, 17))
    assert ALWAYS.next_open(start) == start


def test_always_working_days_are_whole_days() -> None:
    """On a 24/7 calendar, 3 working days are 72 hours and 36 hours are 1.5 working days."""
    start = wib(2026, 1, 9, 15, 55)
    assert ALWAYS.add_working_days(start, 3) == start + timedelta(hours=72)
    assert ALWAYS.working_days_between(start, start + timedelta(hours=36)) == 1.5


def test_always_handles_second_long_slas() -> None:
    """Sub-second precision survives, for tests with second-long SLAs."""
    start = wib(2026, 1, 10, 3, 0, 0)
    assert ALWAYS.add_business_time(start, timedelta(seconds=1.5)) == wib(2026, 1, 10, 3, 0, 1,
                                                                           500_000)


# -- parse_office_hours --------------------------------------------------------------------------


def test_default_office_hours_parse() -> None:
    """The default text opens Monday to Friday 08:00-16:00, a standard day of 8 hours."""
    hours = parse_office_hours("mon-fri 08:00-16:00")
    assert hours.on(0) == hours.on(4) == (Interval(480, 960),)
    assert hours.on(5) == hours.on(6) == ()
    assert hours.standard_day_length == timedelta(hours=8)


def test_several_clauses_and_intervals_parse() -> None:
    """Clauses split by ';' or ',' and several intervals per day are understood."""
    hours = parse_office_hours("Mon-Thu 07:30-12:00 13:00-16:00, fri 07:30 - 16:30;")
    assert hours.on(3) == (Interval(450, 720), Interval(780, 960))
    assert hours.on(4) == (Interval(450, 990),)
    assert str(hours).endswith("fri 07:30-16:30")


def test_indonesian_day_names_and_midnight_parse() -> None:
    """Indonesian abbreviations (sen..min) and a closing time of 24:00 are accepted."""
    hours = parse_office_hours("sen-min 00:00-24:00")
    assert all(hours.on(n) == (Interval(0, 1440),) for n in range(7))


def test_standard_day_falls_back_when_monday_is_closed() -> None:
    """Without Monday hours, the first weekday with hours is the standard day."""
    assert parse_office_hours("tue-sat 09:00-15:00").standard_day == (Interval(540, 900),)


def test_office_hours_need_a_working_weekday() -> None:
    """OfficeHours built by hand without any interval is refused."""
    with pytest.raises(ValueError, match="at least one interval"):
        OfficeHours(((),) * 7)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "at least one clause"),
        ("monday-friday 08:00-16:00", "got 'monday-friday'"),
        ("mon-fri", "expected opening hours"),
        ("mon-fri 8-16", "got '8'"),
        ("mon-fri 08:60-16:00", "got '08:60'"),
        ("mon-fri 08:00-24:30", "got '24:30'"),
        ("mon-fri 16:00-08:00", "must close after it opens"),
        ("mon-fri 08:00-12:30 12:00-16:00", "overlap"),
        ("fri-mon 08:00-16:00", "runs backwards"),
        ("mon-fri 08:00-16:00; fri 08:00-11:00", "'fri' is given twice"),
    ],
)
def test_bad_office_hours_raise_a_helpful_config_error(text: str, problem: str) -> None:
    """A malformed PTSA_OFFICE_HOURS names the variable, the expected form and the text given."""
    with pytest.raises(ConfigError) as caught:
        parse_office_hours(text)
    message = str(caught.value)
    assert message.startswith("PTSA_OFFICE_HOURS must")
    assert "'mon-fri 08:00-16:00'" in message
    assert problem in message
    assert repr(text) in message


def test_settings_reject_bad_office_hours_at_start_up() -> None:
    """load_settings fails on a bad PTSA_OFFICE_HOURS before anything runs."""
    with pytest.raises(ConfigError, match="PTSA_OFFICE_HOURS"):
        load_settings({"PTSA_OFFICE_HOURS": "weekdays 8am-4pm"})


# -- properties ----------------------------------------------------------------------------------

CALENDARS = pytest.mark.parametrize("calendar", [OFFICE, SPLIT], ids=["office", "split"])
instants = st.datetimes(min_value=datetime(2025, 11, 1), max_value=datetime(2027, 2, 28),
                        timezones=st.just(WIB))
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=120))
quick = settings(max_examples=150, deadline=None)


@CALENDARS
@quick
@given(start=instants, duration=durations)
def test_business_time_between_inverts_add_business_time(
    calendar: BusinessCalendar, start: datetime, duration: timedelta
) -> None:
    """The business time from t to t + d is exactly d, wherever t falls."""
    due = calendar.add_business_time(start, duration)
    assert calendar.business_time_between(start, due) == duration
    assert calendar.business_time_between(calendar.next_open(start), due) == duration


@CALENDARS
@quick
@given(start=instants, shorter=durations, longer=durations)
def test_add_business_time_is_monotonic(
    calendar: BusinessCalendar, start: datetime, shorter: timedelta, longer: timedelta
) -> None:
    """A longer duration never gives an earlier deadline."""
    shorter, longer = sorted((shorter, longer))
    assert calendar.add_business_time(start, shorter) <= calendar.add_business_time(start, longer)


@CALENDARS
@quick
@given(start=instants, duration=durations)
def test_deadline_is_inside_or_at_the_edge_of_office_hours(
    calendar: BusinessCalendar, start: datetime, duration: timedelta
) -> None:
    """A deadline falls while the office is open, or right at a closing time, on a working day."""
    due = calendar.add_business_time(start, duration)
    assert calendar.is_open(due) or calendar.is_open(due - TICK)
    assert calendar.is_working_day(due.date())
    assert due.tzinfo is WIB


@CALENDARS
@quick
@given(a=instants, b=instants, c=instants)
def test_business_time_adds_up_over_consecutive_spans(
    calendar: BusinessCalendar, a: datetime, b: datetime, c: datetime
) -> None:
    """Business time a→c equals a→b plus b→c for a ≤ b ≤ c."""
    a, b, c = sorted((a, b, c))
    between = calendar.business_time_between
    assert between(a, c) == between(a, b) + between(b, c)


@CALENDARS
@quick
@given(start=instants, days=st.integers(min_value=0, max_value=15))
def test_add_working_days_lands_at_closing_time_of_a_working_day(
    calendar: BusinessCalendar, start: datetime, days: int
) -> None:
    """N working days end at a closing time of a working day, after the start, N days on."""
    due = calendar.add_working_days(start, days)
    assert calendar.is_working_day(due.date())
    assert calendar.is_open(due - TICK) and not calendar.is_open(due)
    assert due > start
    assert calendar.add_working_days(start, days + 1) > due
    # Day 0 plus N working days: the working days touched number N + 1.
    first = calendar.next_open(start).date()
    touched = [first + timedelta(days=n) for n in range((due.date() - first).days + 1)]
    assert sum(map(calendar.is_working_day, touched)) == days + 1


@quick
@given(start=instants, duration=durations)
def test_always_calendar_is_plain_elapsed_time(start: datetime, duration: timedelta) -> None:
    """On a 24/7 calendar business time equals elapsed time."""
    due = ALWAYS.add_business_time(start, duration)
    assert due == start + duration
    assert ALWAYS.business_time_between(start, due) == duration


@pytest.mark.parametrize("calendar", [OFFICE, SPLIT, ALWAYS], ids=["office", "split", "always"])
@quick
@given(start=instants, length=durations, inside=st.floats(min_value=0, max_value=1))
def test_open_spans_sum_to_business_time_for_any_part_of_them(
    calendar: BusinessCalendar, start: datetime, length: timedelta, inside: float
) -> None:
    """The spans a screen sums (open_spans) give business_time_between for the whole window and
    for any later start inside it — the one rule behind "sisa 2 hari kerja 3 jam"."""
    end = start + length
    spans = calendar.open_spans(start, end)
    assert all(start <= o < c <= end for o, c in spans)
    now = start + length * inside

    def summed(a: datetime) -> timedelta:
        return sum((max(timedelta(0), min(c, end) - max(o, a)) for o, c in spans), timedelta(0))

    assert summed(start) == calendar.business_time_between(start, end)
    assert summed(now) == calendar.business_time_between(now, end)
