"""Pure rules of the hall queue (antrean): ticket numbers, the working day they belong to, how
many are ahead and how long the wait is likely to be, when a ticket may be taken, and the
Indonesian words the hall display speaks. No I/O: the callers pass in times and counts.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from hub.domain.calendar import BusinessCalendar
from hub.domain.slugs import SLUG

GROUP_CODE = re.compile(r"^[A-Z]$")
COUNTER_CODE = SLUG
# The rate of the last hour of calls predicts the next wait better than the whole day's.
RATE_WINDOW = timedelta(hours=1)


def ticket_number(series: str, seq: int) -> str:
    """``A-012``: the group's letter and the day's sequence, at least three digits."""
    return f"{series}-{seq:03d}"


def queue_day(now: datetime, calendar: BusinessCalendar) -> str:
    """The working day a ticket taken at ``now`` belongs to: ``YYYYMMDD`` in the calendar's zone.
    Numbering restarts with each new day, so the day is part of every ticket's identity."""
    return now.astimezone(calendar.tz).strftime("%Y%m%d")


@dataclass(frozen=True)
class Opening:
    open: bool
    next_open: datetime | None  # when tickets can be taken again (None while open)


def may_take_ticket(now: datetime, calendar: BusinessCalendar) -> Opening:
    """Tickets are handed out only while the office is open (working day, office hours)."""
    if calendar.is_open(now):
        return Opening(True, None)
    return Opening(False, calendar.next_open(now))


def service_rate(call_times: list[datetime], now: datetime,
                 window: timedelta = RATE_WINDOW) -> float | None:
    """Applicants called per minute over the last ``window`` (or since the first call of the
    day, when that is shorter); None before two calls give a measurable interval."""
    recent = sorted(t for t in call_times if now - window <= t <= now)
    if len(recent) < 2:
        return None
    span = (now - recent[0]).total_seconds() / 60
    if span <= 0:
        return None
    return len(recent) / span


def estimated_wait_minutes(ahead: int, rate_per_minute: float | None,
                           default_minutes_per_applicant: float) -> int:
    """Minutes until a ticket with ``ahead`` people before it is called: ``ahead / rate``,
    rounded up, or ``ahead × default`` before today's rate is known."""
    if ahead <= 0:
        return 0
    if rate_per_minute is None or rate_per_minute <= 0:
        return math.ceil(ahead * default_minutes_per_applicant)
    return math.ceil(ahead / rate_per_minute)


@dataclass(frozen=True)
class WaitStats:
    served: int  # tickets called at least once
    average_minutes: float | None
    within_target: int
    over_target: int


def waiting_kpi(waits: list[timedelta], target: timedelta) -> WaitStats:
    """The waiting-time KPI: ticket → first call, averaged; how many met the target."""
    if not waits:
        return WaitStats(0, None, 0, 0)
    over = sum(1 for w in waits if w > target)
    average = sum(w.total_seconds() for w in waits) / len(waits) / 60
    return WaitStats(len(waits), round(average, 1), len(waits) - over, over)


def overdue_count(taken_times: list[datetime], now: datetime, target: timedelta) -> int:
    """Tickets still waiting longer than the target."""
    return sum(1 for t in taken_times if now - t > target)


# --- Indonesian numbers, for the voice announcement ----------------------------------------
_UNITS = ["nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan",
          "sembilan", "sepuluh", "sebelas"]


def number_words(n: int) -> str:
    """An integer in Indonesian words: 12 → "dua belas", 101 → "seratus satu",
    1000 → "seribu" (the se- forms for one ten, hundred, thousand)."""
    if n < 0:
        return "minus " + number_words(-n)
    if n < 12:
        return _UNITS[n]
    if n < 20:
        return f"{_UNITS[n - 10]} belas"
    if n < 100:
        tens, rest = divmod(n, 10)
        return f"{_UNITS[tens]} puluh" + (f" {_UNITS[rest]}" if rest else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        head = "seratus" if hundreds == 1 else f"{_UNITS[hundreds]} ratus"
        return head + (f" {number_words(rest)}" if rest else "")
    if n < 1_000_000:
        thousands, rest = divmod(n, 1000)
        head = "seribu" if thousands == 1 else f"{number_words(thousands)} ribu"
        return head + (f" {number_words(rest)}" if rest else "")
    millions, rest = divmod(n, 1_000_000)
    return f"{number_words(millions)} juta" + (f" {number_words(rest)}" if rest else "")


def counter_label(counter: str) -> str:
    """``loket-3`` → ``loket tiga``: trailing digits are spoken as a number."""
    match = re.match(r"^(.*?)[-\s]*(\d+)$", counter)
    if not match:
        return counter.replace("-", " ")
    name = match.group(1).replace("-", " ").strip() or "loket"
    return f"{name} {number_words(int(match.group(2)))}"


def announcement(number: str, counter: str) -> str:
    """What the hall display says for a call: "Nomor antrean A dua belas, silakan ke loket
    tiga" (leading zeros are not spoken)."""
    series, _, digits = number.partition("-")
    spoken = number_words(int(digits)) if digits.isdigit() else digits
    return f"Nomor antrean {series} {spoken}, silakan ke {counter_label(counter)}"
