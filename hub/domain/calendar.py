"""The business calendar: office hours, Indonesian holidays and cuti bersama, admin overrides.

Pure: no I/O and no clock reads. Holidays come from the ``holidays`` package (public holidays plus
the ``government`` category, which holds cuti bersama), loaded one year at a time on first use.

Definitions the SLA engine and the KPI reports rely on:

* **Business time** is time inside office hours on a working day. Office intervals are half-open,
  ``[opening, closing)``: at 16:00 sharp an office open 08:00-16:00 is closed.
* A **working day** has office hours for its weekday, is not a holiday or cuti bersama, and is not
  an admin holiday -- or it is an admin working day, which keeps its weekday's hours or, when its
  weekday has none (a Saturday service day), takes the standard day's (Monday's) hours.
* ``add_business_time(t, d)`` is the *earliest* instant by which ``d`` business time has passed
  since ``t``; counting starts at the next opening when ``t`` is outside hours, so 15 minutes from
  Friday 15:55 is Monday 08:10, and 5 minutes from Friday 15:55 is Friday 16:00.
* **N working days** (SOP commitments): the day the request is received is day 0 -- a request
  arriving outside office hours is received at the next opening -- and the deadline is the closing
  time of the Nth working day after day 0. ``add_working_days`` implements it.
* With ``always=True`` every minute counts: business time is elapsed time, and N working days are
  N x 24 hours.

Every method accepts aware datetimes in any zone, computes in the calendar's zone, and returns
aware datetimes in that zone. Arithmetic runs in UTC, so a zone with DST would still be exact.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Literal
from zoneinfo import ZoneInfo

import holidays as holidays_package

from hub.errors import ConfigError

DEFAULT_OFFICE_HOURS = "mon-fri 08:00-16:00"
ZERO = timedelta(0)
MINUTES_PER_DAY = 24 * 60
# A walk looking for open time gives up after this many closed days in a row: no real calendar has
# them, and a hand-made one (every day an admin holiday) must fail loudly rather than loop.
MAX_CLOSED_DAYS = 3 * 366

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Indonesian abbreviations too (Senin..Minggu); no three-letter prefix is shared between the two.
_DAY_NUMBERS = {name: i for i, name in enumerate(WEEKDAYS)} | {
    name: i for i, name in enumerate(("sen", "sel", "rab", "kam", "jum", "sab", "min"))
}
_TIME = re.compile(r"(\d{1,2}):(\d{2})")

HolidaySource = Callable[[int], Mapping[date, str]]


@dataclass(frozen=True, order=True)
class Interval:
    """Office hours within one day, in minutes after midnight; ``end`` may be 1440 (24:00)."""

    start: int
    end: int

    def __str__(self) -> str:
        return f"{_hhmm(self.start)}-{_hhmm(self.end)}"


FULL_DAY = (Interval(0, MINUTES_PER_DAY),)


@dataclass(frozen=True)
class OfficeHours:
    """Opening intervals for each weekday, Monday first; a day without intervals is closed."""

    week: tuple[tuple[Interval, ...], ...]

    def __post_init__(self) -> None:
        if len(self.week) != 7 or not any(self.week):
            raise ValueError(f"OfficeHours needs 7 weekdays with at least one interval; got "
                             f"{self.week!r}")

    def on(self, weekday: int) -> tuple[Interval, ...]:
        return self.week[weekday]

    @property
    def standard_day(self) -> tuple[Interval, ...]:
        """Monday's hours, or the first weekday that has hours: used on admin working days."""
        return next(day for day in self.week if day)

    @property
    def standard_day_length(self) -> timedelta:
        return timedelta(minutes=sum(i.end - i.start for i in self.standard_day))

    def __str__(self) -> str:
        return "; ".join(
            f"{WEEKDAYS[n]} {' '.join(map(str, day))}" for n, day in enumerate(self.week) if day
        )


@dataclass(frozen=True)
class DayOverride:
    """An admin's change to one day: an extra holiday, or an extra working day."""

    day: date
    kind: Literal["holiday", "working"]
    name: str

    def __post_init__(self) -> None:
        if self.kind not in ("holiday", "working"):
            raise ValueError(f"DayOverride kind must be 'holiday' or 'working'; got {self.kind!r}")


def parse_office_hours(text: str) -> OfficeHours:
    """Parse ``PTSA_OFFICE_HOURS``: ``mon-thu 07:30-16:00; fri 07:30-11:30 13:00-16:30``.

    Clauses are separated by ``;`` or ``,``; each names a day or a day range (English or Indonesian
    three-letter names) and one or more ``HH:MM-HH:MM`` intervals. ``24:00`` may close a day.

    Raises:
        ConfigError: the text does not follow that format.
    """
    week: list[tuple[Interval, ...] | None] = [None] * 7
    clauses = [c.strip() for c in re.split(r"[;,]", text.lower())]
    for clause in filter(None, clauses):
        days_text, *interval_texts = re.sub(r"\s*-\s*", "-", clause).split()
        days = _parse_days(days_text, text)
        if not interval_texts:
            raise _bad(text, f"expected opening hours such as '08:00-16:00' after {days_text!r}")
        intervals = sorted(_parse_interval(t, text) for t in interval_texts)
        for before, after in zip(intervals, intervals[1:], strict=False):
            if after.start < before.end:
                raise _bad(text, f"intervals {before} and {after} overlap")
        for day in days:
            if week[day] is not None:
                raise _bad(text, f"{WEEKDAYS[day]!r} is given twice")
            week[day] = tuple(intervals)
    if not any(week):
        raise _bad(text, "expected at least one clause")
    return OfficeHours(tuple(day or () for day in week))


def _parse_days(days_text: str, text: str) -> list[int]:
    first, _, last = days_text.partition("-")
    if first not in _DAY_NUMBERS or (last and last not in _DAY_NUMBERS):
        raise _bad(text, f"expected a day or day range such as 'mon' or 'mon-fri', "
                         f"got {days_text!r}")
    start, end = _DAY_NUMBERS[first], _DAY_NUMBERS[last or first]
    if end < start:
        raise _bad(text, f"day range {days_text!r} runs backwards; write it Monday first")
    return list(range(start, end + 1))


def _parse_interval(interval_text: str, text: str) -> Interval:
    opens, _, closes = interval_text.partition("-")
    start, end = _parse_time(opens, text), _parse_time(closes, text)
    if start >= end:
        raise _bad(text, f"interval {interval_text!r} must close after it opens")
    return Interval(start, end)


def _parse_time(value: str, text: str) -> int:
    match = _TIME.fullmatch(value)
    minutes = int(match[1]) * 60 + int(match[2]) if match else -1
    if not match or int(match[2]) > 59 or not 0 <= minutes <= MINUTES_PER_DAY:
        raise _bad(text, f"expected a time such as '08:00' or '16:30', got {value!r}")
    return minutes


def _bad(text: str, problem: str) -> ConfigError:
    return ConfigError(
        "PTSA_OFFICE_HOURS must list days and opening hours, such as 'mon-fri 08:00-16:00' or "
        f"'mon-thu 07:30-16:00; fri 07:30-16:30'; {problem} in {text!r}"
    )


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@lru_cache(maxsize=32)
def indonesian_holidays(year: int) -> Mapping[date, str]:
    """National holidays and cuti bersama of one year, named in Indonesian."""
    found = holidays_package.country_holidays(
        "ID", categories=("public", "government"), language="id", years=year
    )
    return MappingProxyType({day: name for day, name in found.items() if day.year == year})


class BusinessCalendar:
    """Working days and office hours in one time zone; immutable (build a new one to change it)."""

    __slots__ = ("_tz", "_hours", "_holidays", "_overrides", "_always")

    def __init__(
        self,
        tz: ZoneInfo,
        hours: OfficeHours,
        *,
        holidays: HolidaySource = indonesian_holidays,
        overrides: Iterable[DayOverride] = (),
        always: bool = False,
    ) -> None:
        self._tz = tz
        self._hours = hours
        self._holidays = holidays
        # Later overrides of the same day win, as the last admin edit should.
        self._overrides = MappingProxyType({o.day: o for o in overrides})
        self._always = always

    @classmethod
    def indonesian(
        cls,
        tz: ZoneInfo,
        office_hours: str | OfficeHours = DEFAULT_OFFICE_HOURS,
        overrides: Iterable[DayOverride] = (),
        always: bool = False,
    ) -> BusinessCalendar:
        """Indonesian public holidays and cuti bersama, plus the admins' overrides.

        Raises:
            ConfigError: ``office_hours`` is text that ``parse_office_hours`` rejects.
        """
        if isinstance(office_hours, str):
            office_hours = parse_office_hours(office_hours)
        return cls(tz, office_hours, overrides=overrides, always=always)

    def with_overrides(self, overrides: Iterable[DayOverride]) -> BusinessCalendar:
        """The same calendar with a new set of admin overrides (replacing the old set)."""
        return BusinessCalendar(self._tz, self._hours, holidays=self._holidays,
                                overrides=overrides, always=self._always)

    @property
    def tz(self) -> ZoneInfo:
        return self._tz

    @property
    def hours(self) -> OfficeHours:
        return self._hours

    @property
    def always(self) -> bool:
        return self._always

    @property
    def overrides(self) -> Mapping[date, DayOverride]:
        return self._overrides

    @property
    def working_day_length(self) -> timedelta:
        """The length of a standard working day: the unit of ``working_days_between``."""
        return timedelta(days=1) if self._always else self._hours.standard_day_length

    # -- days ---------------------------------------------------------------------------------

    def is_working_day(self, d: date) -> bool:
        return bool(self._intervals(d))

    def holiday_name(self, d: date) -> str | None:
        """Why ``d`` is closed, if a holiday or admin holiday closes it (weekends have no name).

        Names are reported even for an ``always`` calendar, for display.
        """
        override = self._overrides.get(d)
        if override is not None:
            return override.name if override.kind == "holiday" else None
        return self._holidays(d.year).get(d)

    def _intervals(self, d: date) -> tuple[Interval, ...]:
        if self._always:
            return FULL_DAY
        override = self._overrides.get(d)
        if override is not None:
            if override.kind == "holiday":
                return ()
            return self._hours.on(d.weekday()) or self._hours.standard_day
        if d in self._holidays(d.year):
            return ()
        return self._hours.on(d.weekday())

    def _spans(self, d: date) -> Iterator[tuple[datetime, datetime]]:
        """The open spans of local day ``d`` as UTC instants."""
        for interval in self._intervals(d):
            yield self._instant(d, interval.start), self._instant(d, interval.end)

    def _instant(self, d: date, minutes: int) -> datetime:
        extra_days, minutes = divmod(minutes, MINUTES_PER_DAY)
        local = datetime.combine(d + timedelta(days=extra_days),
                                 time(minutes // 60, minutes % 60), tzinfo=self._tz)
        return local.astimezone(UTC)

    def _spans_from(self, t: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open spans from the local day of UTC instant ``t`` onwards, without end."""
        d = t.astimezone(self._tz).date()
        closed = 0
        while True:
            spans = list(self._spans(d))
            if spans:
                closed = 0
                yield from spans
            else:
                closed += 1
                if closed > MAX_CLOSED_DAYS:
                    raise ConfigError(f"the business calendar has no working day in the "
                                      f"{MAX_CLOSED_DAYS} days before {d}; check its overrides")
            d += timedelta(days=1)

    # -- instants -----------------------------------------------------------------------------

    def is_open(self, t: datetime) -> bool:
        u = _utc(t)
        return any(o <= u < c for o, c in self._spans(u.astimezone(self._tz).date()))

    def next_open(self, t: datetime) -> datetime:
        """``t`` itself when the office is open then, otherwise the next opening."""
        u = _utc(t)
        if self._always:
            return u.astimezone(self._tz)
        for o, c in self._spans_from(u):
            if c > u:
                return max(o, u).astimezone(self._tz)
        raise AssertionError("unreachable: _spans_from never ends")  # pragma: no cover

    def add_business_time(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant by which ``duration`` of business time has passed since ``start``.

        Raises:
            ValueError: ``duration`` is negative or ``start`` is naive.
        """
        u = _utc(start)
        if duration < ZERO:
            raise ValueError(f"expected a duration of zero or more, got {duration!r}")
        if self._always:
            return (u + duration).astimezone(self._tz)
        left = duration
        for o, c in self._spans_from(u):
            if c <= u:
                continue
            begin = max(o, u)
            if left <= c - begin:
                return (begin + left).astimezone(self._tz)
            left -= c - begin
        raise AssertionError("unreachable: _spans_from never ends")  # pragma: no cover

    def business_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Business time from ``a`` to ``b``; zero when ``b`` is not after ``a``."""
        ua, ub = _utc(a), _utc(b)
        if ub <= ua:
            return ZERO
        if self._always:
            return ub - ua
        total = ZERO
        d, last = ua.astimezone(self._tz).date(), ub.astimezone(self._tz).date()
        while d <= last:
            for o, c in self._spans(d):
                total += max(ZERO, min(c, ub) - max(o, ua))
            d += timedelta(days=1)
        return total

    def open_spans(self, a: datetime, b: datetime) -> list[tuple[datetime, datetime]]:
        """The open spans between ``a`` and ``b`` (UTC, clipped to them): what a client sums to
        count business time itself, by the same rule as ``business_time_between``."""
        ua, ub = _utc(a), _utc(b)
        if ub <= ua:
            return []
        if self._always:
            return [(ua, ub)]
        spans = []
        d, last = ua.astimezone(self._tz).date(), ub.astimezone(self._tz).date()
        while d <= last:
            spans += [(max(o, ua), min(c, ub)) for o, c in self._spans(d) if c > ua and o < ub]
            d += timedelta(days=1)
        return spans

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The deadline of an SOP commitment of at most ``days`` working days.

        The day the request is received is day 0; a request arriving outside office hours is
        received at the next opening. The deadline is the closing time of the ``days``-th working
        day after day 0 (``days=0``: closing time of day 0). So 3 working days from Friday 10:00
        end Wednesday at closing, and from Friday 17:00 they end Thursday at closing.
        With ``always=True`` it is ``start + days x 24h``.

        Raises:
            ValueError: ``days`` is negative or ``start`` is naive.
        """
        u = _utc(start)
        if days < 0:
            raise ValueError(f"expected zero or more working days, got {days}")
        if self._always:
            return (u + timedelta(days=days)).astimezone(self._tz)
        d = self.next_open(u).date()
        for _ in range(days):
            d += timedelta(days=1)
            closed = 0
            while not self.is_working_day(d):
                closed += 1
                if closed > MAX_CLOSED_DAYS:
                    raise ConfigError(f"the business calendar has no working day in the "
                                      f"{MAX_CLOSED_DAYS} days before {d}; check its overrides")
                d += timedelta(days=1)
        return self._instant(d, self._intervals(d)[-1].end).astimezone(self._tz)

    def working_days_between(self, a: datetime, b: datetime) -> float:
        """Business time from ``a`` to ``b`` in standard working days (for KPIs), e.g. 2.5."""
        return self.business_time_between(a, b) / self.working_day_length


def _utc(t: datetime) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got naive {t.isoformat()}")
    return t.astimezone(UTC)
