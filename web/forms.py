"""Form helpers: reading fields, and showing an ``InvalidInput`` beside its field in the user's
language.

The domain's messages are English sentences written for API clients. Forms show the same checks
in the screen's language by the error's stable ``reason`` (hub.errors.Reason) and its ``params``
— never by reading the English text. An error without a translation here is shown as it is,
which is still better than a generic "invalid".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hub.errors import InvalidInput, PtsaError, Reason
from web.i18n import gettext as _

_Message = Callable[[Mapping[str, Any]], str]

_MESSAGES: dict[str, _Message] = {
    # Supervisor actions and routing (hub/domain/supervision.py, hub/tasks/supervise.py).
    Reason.LAST_CHANGE: lambda p: _("Not possible in the request's current state; it was last "
                                    "changed by %(who)s. Reload to see it.") % {"who": p["who"]},
    Reason.UNSTAFFED: lambda p: _("Unit %(unit)s has no active desk, so nobody could claim the "
                                  "request there; choose another unit.") % {"unit": p["unit"]},
    Reason.DESK_REQUIRED: lambda p: _("Choose an active desk of the unit holding the request."),
    Reason.ALREADY_ASSIGNED: lambda p: _("The request is already with that desk."),
    Reason.REQUIRED: lambda p: _("This field is required."),
    Reason.TOO_LONG: lambda p: _("Too long: %(n)s characters, at most %(max)s.") % {
        "n": p["n"], "max": p["max"]},
    Reason.CONTROL_CHARS: lambda p: _("Contains characters that are not allowed."),
    Reason.NOT_PHONE: lambda p: _("Not a phone number; write it like 0812-3456-7890."),
    Reason.NOT_EMAIL: lambda p: _("Not an email address."),
    Reason.CONTACT_MISSING: lambda p: _("Give the applicant's phone or email, so they can be "
                                        "told the outcome."),
    Reason.UNKNOWN_SERVICE: lambda p: _("Choose a service from the list."),
    Reason.ESELON2_REQUIRED: lambda p: _("Choose the Eselon II unit."),
    Reason.NOT_ESELON2_UNDER: lambda p: _("That unit is not an Eselon II unit of this desk."),
    Reason.USERNAME_FORMAT: lambda p: _("Lower-case letters and digits, optionally joined by -, "
                                        "_ or ."),
    Reason.PASSWORD_SHORT: lambda p: _("At least %(n)s characters.") % {"n": p["n"]},
    Reason.ROLE_LEVEL: lambda p: _("This role works at a unit of another level."),
    Reason.NOT_WHOLE_NUMBER: lambda p: _("Enter a whole number in range."),
    Reason.NOT_DATE: lambda p: _("Enter a date like 2026-11-27."),
    Reason.QUERY_TOO_SHORT: lambda p: _("Type at least two letters or digits of a number, name, "
                                        "organisation or phone."),
    Reason.DATE_ORDER: lambda p: _("The start date must not be after the end."),
    Reason.UNKNOWN_STATUS: lambda p: _("Choose a status from the list."),
    Reason.ALREADY_CLAIMED: lambda p: (_("Already claimed by %(who)s.") % {"who": p["who"]}
                                       if p.get("who") else _("Someone else already claimed it.")),
    Reason.STALE: lambda p: _("The request changed since you opened it; reload and try again."),
    Reason.TASK_COMPLETED: lambda p: _("The request is already completed."),
    Reason.WRONG_STATE: lambda p: _("Not possible in the request's current state."),
    Reason.NOT_ALLOWED: lambda p: _("You may not do this for this request."),
}


def message_for(reason: str, **params: Any) -> str | None:
    """The screen's sentence for ``reason``; None when there is none."""
    message = _MESSAGES.get(reason)
    return message(params) if message else None


def localise(exc: PtsaError) -> str:
    return message_for(exc.reason, **exc.params) or exc.message


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
