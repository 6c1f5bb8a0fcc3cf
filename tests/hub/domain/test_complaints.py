"""Complaint rules: numbers, routing to a unit, and the answer deadline on the business calendar."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hub.domain.calendar import BusinessCalendar
from hub.domain.complaints import NUMBER, Route, due_at, is_complaint_number, new_number, route

WIB = ZoneInfo("Asia/Jakarta")
OFFICE = BusinessCalendar.indonesian(WIB)
ALWAYS = BusinessCalendar.indonesian(WIB, always=True)


def test_numbers_carry_the_jakarta_date_and_a_random_suffix() -> None:
    """Two complaints of one day get different, well-formed numbers dated in WIB."""
    late_evening_utc = datetime(2026, 12, 4, 18, 30, tzinfo=ZoneInfo("UTC"))  # 5 Dec in WIB
    first, second = new_number(late_evening_utc, OFFICE), new_number(late_evening_utc, OFFICE)
    assert first.startswith("ADU-20261205-") and NUMBER.match(first) and first != second
    assert is_complaint_number(first.lower()) and not is_complaint_number("PTSA-20261205-0001")


def test_a_complaint_goes_to_the_requests_eselon2_else_eselon1_else_the_front_office() -> None:
    """Routing follows the request named, falling back to the front office's triage."""
    assert route("barenbang", "pusdatin") == Route("pusdatin", "barenbang", "pusdatin")
    assert route("barenbang", None) == Route("barenbang", "barenbang", None)
    assert route() == Route("ptsa", None, None)


def test_five_working_days_skip_the_weekend_and_end_at_closing_time() -> None:
    """Filed on Friday 4 Dec 2026 at 10.00 WIB, the answer is due at closing (16.00) of the fifth
    working day after, Friday 11 Dec, as an SOP commitment counts; filed on Saturday, the count
    starts on Monday and ends Monday 14 Dec at closing."""
    filed = datetime(2026, 12, 4, 10, 0, tzinfo=WIB)
    assert due_at(filed, OFFICE, 5) == datetime(2026, 12, 11, 16, 0, tzinfo=WIB)
    weekend = datetime(2026, 12, 5, 9, 0, tzinfo=WIB)
    assert due_at(weekend, OFFICE, 5) == datetime(2026, 12, 14, 16, 0, tzinfo=WIB)


def test_a_configured_duration_overrides_the_working_days() -> None:
    """A drill's 3 s of business time counts every second on the 'always' calendar."""
    filed = datetime(2026, 12, 5, 10, 0, tzinfo=WIB)
    assert due_at(filed, ALWAYS, 5, timedelta(seconds=3)) == filed + timedelta(seconds=3)
