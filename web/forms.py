"""Form helpers: reading fields, and showing an ``InvalidInput`` beside its field in the user's
language.

The domain's messages are English sentences written for API clients. Forms show the same checks
in the screen's language: each known message shape maps to a catalogue string; an unknown one is
shown as it is, which is still better than a generic "invalid".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from hub.errors import InvalidInput, PtsaError
from web.i18n import gettext as _

_Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]

_RULES: list[_Rule] = [
    # Supervisor actions and routing (hub/domain/supervision.py, hub/supervise.py).
    (re.compile(r"\(last change: (.+) by (.+) at [^)]*\)$"),
     lambda m: _("Not possible in the request's current state; it was last changed by "
                 "%(who)s. Reload to see it.") % {"who": m[2]}),
    (re.compile(r"unit '([^']+)' has no active P2 desk"),
     lambda m: _("Unit %(unit)s has no active desk, so nobody could claim the request there; "
                 "choose another unit.") % {"unit": m[1]}),
    (re.compile(r"is not an active P\d desk|name the desk"),
     lambda m: _("Choose an active desk of the unit holding the request.")),
    (re.compile(r"already assigned to them"),
     lambda m: _("The request is already with that desk.")),
    (re.compile(r"outside your supervision|only a supervisor"),
     lambda m: _("You may not do this for this request.")),
    (re.compile(r"must not be empty"), lambda m: _("This field is required.")),
    (re.compile(r"is too long: (\d+) characters, at most (\d+)"),
     lambda m: _("Too long: %(n)s characters, at most %(max)s.") % {"n": m[1], "max": m[2]}),
    (re.compile(r"contains control characters"),
     lambda m: _("Contains characters that are not allowed.")),
    (re.compile(r"must be a phone number"),
     lambda m: _("Not a phone number; write it like 0812-3456-7890.")),
    (re.compile(r"must be an email address"), lambda m: _("Not an email address.")),
    (re.compile(r"give the applicant's phone or email"),
     lambda m: _("Give the applicant's phone or email, so they can be told the outcome.")),
    (re.compile(r"unknown service"), lambda m: _("Choose a service from the list.")),
    (re.compile(r"choose the Eselon II unit"), lambda m: _("Choose the Eselon II unit.")),
    (re.compile(r"is not an Eselon II unit under"),
     lambda m: _("That unit is not an Eselon II unit of this desk.")),
    (re.compile(r"username must be lower-case"),
     lambda m: _("Lower-case letters and digits, optionally joined by -, _ or .")),
    (re.compile(r"the password must have at least (\d+)"),
     lambda m: _("At least %(n)s characters.") % {"n": m[1]}),
    (re.compile(r"a (\w+) works at a (\w+) unit"),
     lambda m: _("This role works at a unit of another level.")),
    (re.compile(r"must be a whole number"), lambda m: _("Enter a whole number in range.")),
    (re.compile(r"must be a date (like|between)"), lambda m: _("Enter a date like 2026-11-27.")),
    (re.compile(r"must have at least two letters or digits"),
     lambda m: _("Type at least two letters or digits of a number, name, organisation or "
                 "phone.")),
    (re.compile(r"is before from"), lambda m: _("The start date must not be after the end.")),
    (re.compile(r"unknown status"), lambda m: _("Choose a status from the list.")),
    (re.compile(r"must not be after"), lambda m: _("The start date must not be after the end.")),
    (re.compile(r"already claimed by (.+)$"),
     lambda m: _("Already claimed by %(who)s.") % {"who": m[1]}),
    (re.compile(r"already claimed"), lambda m: _("Someone else already claimed it.")),
    (re.compile(r"changed (since you loaded it|while you were acting)"),
     lambda m: _("The request changed since you opened it; reload and try again.")),
    (re.compile(r"is completed"), lambda m: _("The request is already completed.")),
    (re.compile(r"cannot .* a task that is|returned to the front office|only a task at|"
                r"completed at its Eselon II desk"),
     lambda m: _("Not possible in the request's current state.")),
    (re.compile(r"may not|only .* may|belongs to another unit"),
     lambda m: _("You may not do this for this request.")),
]


def localise(exc: PtsaError) -> str:
    for pattern, message in _RULES:
        match = pattern.search(exc.message)
        if match:
            return message(match)
    return exc.message


class FormErrors(dict[str, str]):
    """Field name → message; ``general`` for a message that belongs to no field."""

    def first(self) -> InvalidInput:
        """One of the errors as an exception (the form shows them all)."""
        field, message = next(iter(self.items()))
        return InvalidInput(message, field=field)

    def add(self, exc: PtsaError, fallback_field: str = "general") -> None:
        field = exc.details.get("field") if isinstance(exc, InvalidInput) else None
        self[str(field or fallback_field)] = localise(exc)


def text_field(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""
