"""Complaints (pengaduan, UU 25/2009 art. 36-37; Perpres 76/2013): numbers, routing, deadline. Pure.

A complaint goes to the unit of the request it names (its Eselon II unit, else its Eselon I);
without one, to the front office, whose supervisor triages it. It must be answered within
``days`` working days of the business calendar (``PTSA_COMPLAINT_DAYS``, default 5), or a given
business duration when one is configured (drills and tests: ``PTSA_COMPLAINT_RESPONSE``).

Numbers are ``ADU-YYYYMMDD-XXXXXX``: the date for people, six random letters and digits so that,
unlike the sequential registration numbers, nobody can walk other people's complaints and
replies on the public tracking page.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from hub.domain.calendar import BusinessCalendar
from hub.domain.clocks import start_resolution
from hub.domain.tasks import FRONT_OFFICE

PREFIX = "ADU-"
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read over the phone
NUMBER = re.compile(r"^ADU-\d{8}-[A-Z2-9]{6}$")


def new_number(now: datetime, calendar: BusinessCalendar) -> str:
    day = now.astimezone(calendar.tz).strftime("%Y%m%d")
    return f"{PREFIX}{day}-{''.join(secrets.choice(_ALPHABET) for _ in range(6))}"


def is_complaint_number(code: str) -> bool:
    return code.upper().startswith(PREFIX)


@dataclass(frozen=True)
class Route:
    unit: str  # whose complaint it is: answers it, or (front office) triages it
    eselon1: str | None
    eselon2: str | None


def route(eselon1: str | None = None, eselon2: str | None = None) -> Route:
    """The unit a complaint goes to, from the units of the request it names (if any)."""
    if eselon2:
        return Route(eselon2, eselon1, eselon2)
    if eselon1:
        return Route(eselon1, eselon1, None)
    return Route(FRONT_OFFICE, None, None)


def due_at(received: datetime, calendar: BusinessCalendar, days: int,
           duration: timedelta | None = None) -> datetime:
    """When the answer is due: ``days`` working days on (as a request's SOP clock counts them),
    or ``duration`` of business time when given."""
    if duration is not None:
        return calendar.add_business_time(received, duration)
    return start_resolution(received, days, calendar).due_at
