"""Input checks shared by the JSON API and the HTML forms. Each failure is an ``InvalidInput``
naming the field, what was expected and what arrived, so a form can show it beside the field."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from hub.errors import InvalidInput

_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{6,20}$")
_EMAIL = re.compile(r"^[^@\s<>\"']{1,64}@[A-Za-z0-9.-]{1,185}\.[A-Za-z]{2,}$")
# Control characters other than tab/newline have no business in a name or a message.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def require_text(field: str, value: Any, *, max_length: int, required: bool = True) -> str:
    """A trimmed string of at most ``max_length`` characters (empty allowed if not required)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text; got {type(value).__name__}", field=field)
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{field} must not be empty", field=field)
    if len(value) > max_length:
        raise InvalidInput(f"{field} is too long: {len(value)} characters, at most {max_length}",
                           field=field)
    if _CONTROL.search(value):
        raise InvalidInput(f"{field} contains control characters", field=field)
    return value


@dataclass(frozen=True)
class Applicant:
    name: str
    organisation: str = ""
    phone: str = ""
    email: str = ""

    @classmethod
    def parse(cls, raw: Any) -> Applicant:
        if not isinstance(raw, dict):
            raise InvalidInput("applicant must be an object with name, organisation, phone, email",
                               field="applicant")
        name = require_text("applicant.name", raw.get("name"), max_length=120)
        org = require_text("applicant.organisation", raw.get("organisation"), max_length=200,
                           required=False)
        phone = require_text("applicant.phone", raw.get("phone"), max_length=30, required=False)
        email = require_text("applicant.email", raw.get("email"), max_length=200, required=False)
        if phone and not _PHONE.match(phone):
            raise InvalidInput(f"applicant.phone must be a phone number like 0812-3456-7890; "
                               f"got {phone!r}", field="applicant.phone")
        if email and not _EMAIL.match(email):
            raise InvalidInput(f"applicant.email must be an email address; got {email!r}",
                               field="applicant.email")
        if not phone and not email:
            raise InvalidInput("give the applicant's phone or email, so they can be told the "
                               "outcome", field="applicant.phone")
        return cls(name, org, phone, email)


def optional_email(field: str, value: Any) -> str:
    """An email address, or "" when none is given."""
    email = require_text(field, value, max_length=200, required=False)
    if email and not _EMAIL.match(email):
        raise InvalidInput(f"{field} must be an email address; got {email!r}", field=field)
    return email


def optional_phone(field: str, value: Any) -> str:
    """A phone number such as 0812-3456-7890 or +62 812 3456 7890, or "" when none is given."""
    phone = require_text(field, value, max_length=30, required=False)
    if phone and not _PHONE.match(phone):
        raise InvalidInput(f"{field} must be a phone number like 0812-3456-7890; got {phone!r}",
                           field=field)
    return phone


def require_int(field: str, value: Any, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidInput(f"{field} must be a whole number of at least {minimum}; got {value!r}",
                           field=field)
    return value
