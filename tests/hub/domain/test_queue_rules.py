"""The hall queue's pure rules: numbers, spoken Indonesian, waits and the waiting KPI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hub.domain.calendar import BusinessCalendar, parse_office_hours
from hub.domain.queue import (
    announcement,
    estimated_wait_minutes,
    may_take_ticket,
    number_words,
    overdue_count,
    queue_day,
    service_rate,
    ticket_number,
    waiting_kpi,
)

JKT = ZoneInfo("Asia/Jakarta")


@pytest.mark.parametrize(("n", "words"), [
    (0, "nol"), (1, "satu"), (10, "sepuluh"), (11, "sebelas"), (12, "dua belas"),
    (19, "sembilan belas"), (20, "dua puluh"), (21, "dua puluh satu"),
    (99, "sembilan puluh sembilan"),
    (100, "seratus"), (101, "seratus satu"), (110, "seratus sepuluh"), (115, "seratus lima belas"),
    (200, "dua ratus"), (999, "sembilan ratus sembilan puluh sembilan"), (1000, "seribu"),
    (1001, "seribu satu"), (2024, "dua ribu dua puluh empat"), (1_000_000, "satu juta"),
])
def test_numbers_are_spoken_in_indonesian(n: int, words: str) -> None:
    """Integers become Indonesian words with the se- forms for ten, eleven, hundred, thousand."""
    assert number_words(n) == words


def test_a_call_is_announced_with_the_number_in_words_and_the_counter() -> None:
    """A-012 at loket-3 is "Nomor antrean A dua belas, silakan ke loket tiga"."""
    assert announcement("A-012", "loket-3") == "Nomor antrean A dua belas, silakan ke loket tiga"
    assert announcement("C-100", "loket-11") == "Nomor antrean C seratus, silakan ke loket sebelas"


def test_ticket_numbers_have_the_letter_and_three_digits() -> None:
    """Numbers are zero-padded to three digits and grow past them."""
    assert [ticket_number("A", 1), ticket_number("B", 42), ticket_number("C", 1234)] == \
        ["A-001", "B-042", "C-1234"]


def test_the_queue_day_is_the_date_in_jakarta() -> None:
    """23:30 UTC is already the next day in Jakarta (UTC+7)."""
    calendar = BusinessCalendar.indonesian(JKT, parse_office_hours("mon-fri 08:00-16:00"), (),
                                           always=True)
    assert queue_day(datetime(2026, 11, 26, 23, 30, tzinfo=UTC), calendar) == "20261127"


def test_tickets_are_refused_after_hours_and_on_weekends_with_the_next_opening() -> None:
    """Friday 17:00 and Saturday both point at Monday 08:00 Jakarta; Friday 10:00 is open."""
    calendar = BusinessCalendar.indonesian(JKT, parse_office_hours("mon-fri 08:00-16:00"), ())
    monday_8 = datetime(2026, 11, 30, 8, 0, tzinfo=JKT)
    for closed in (datetime(2026, 11, 27, 17, 0, tzinfo=JKT),
                   datetime(2026, 11, 28, 10, 0, tzinfo=JKT)):
        opening = may_take_ticket(closed, calendar)
        assert not opening.open and opening.next_open == monday_8
    assert may_take_ticket(datetime(2026, 11, 27, 10, 0, tzinfo=JKT), calendar).open


def test_the_wait_estimate_uses_todays_rate_once_two_calls_are_known() -> None:
    """Six calls in the last 30 minutes is 0.2 per minute: 4 ahead wait 20 minutes."""
    now = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
    calls = [now - timedelta(minutes=m) for m in (30, 25, 20, 15, 10, 5)]
    rate = service_rate(calls, now)
    assert rate == pytest.approx(0.2)
    assert estimated_wait_minutes(4, rate, 5) == 20
    assert service_rate([now - timedelta(minutes=3)], now) is None
    assert estimated_wait_minutes(4, None, 5) == 20  # the configured default, 5 min each
    assert estimated_wait_minutes(0, rate, 5) == 0
    # Calls older than the one-hour window do not slow the estimate down.
    assert service_rate([now - timedelta(hours=3), *calls], now) == pytest.approx(0.2)


def test_the_waiting_kpi_averages_waits_and_counts_those_over_the_target() -> None:
    """Waits of 20, 45 and 50 minutes against 30: average 38.3, one within, two over."""
    stats = waiting_kpi([timedelta(minutes=m) for m in (20, 45, 50)], timedelta(minutes=30))
    assert (stats.served, stats.average_minutes, stats.within_target, stats.over_target) == \
        (3, 38.3, 1, 2)
    assert waiting_kpi([], timedelta(minutes=30)).average_minutes is None


def test_tickets_waiting_longer_than_the_target_are_overdue() -> None:
    """Taken 31 and 45 minutes ago are overdue against 30; 29 minutes ago is not."""
    now = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
    taken = [now - timedelta(minutes=m) for m in (29, 31, 45)]
    assert overdue_count(taken, now, timedelta(minutes=30)) == 2
