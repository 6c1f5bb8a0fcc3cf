"""Input checks shared by the JSON API and the HTML forms. Each failure is an ``InvalidInput``
naming the field, what was expected and what arrived, so a form can show it beside the field.

Every parser here is total: whatever text or JSON arrives, the answer is a value or a
``PtsaError`` (a 4xx), never an exception that becomes a 500. Numbers are ASCII digits only
(``str.isdigit`` accepts ``²``, which ``int`` refuses) with bounds that fit the database's
32-bit integers; dates lie between ``MIN_DATE`` and ``MAX_DATE`` (``date.max`` plus a day, or
``date.min`` minus a week, would overflow later arithmetic); JSON is refused beyond
``MAX_JSON_DEPTH`` levels before the decoder can recurse; text may not hold control characters
or lone surrogates (which no database encoding, Redis key or page can carry).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any
from urllib.parse import unquote_plus

from hub.errors import InvalidInput, NotFound, Reason

_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{6,20}\Z")
_EMAIL = re.compile(r"^[^@\s<>\"']{1,64}@[A-Za-z0-9.-]{1,185}\.[A-Za-z]{2,}\Z")
# Control characters other than tab/newline have no business in a name or a message; a lone
# surrogate is not a character at all (it cannot be encoded as UTF-8).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_URL_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff\ufffd]")
_DIGITS = re.compile(r"[0-9]{1,10}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MAX_DB_INT = 2**31 - 1  # INTEGER columns on PostgreSQL
MIN_DATE = date(2000, 1, 1)
MAX_DATE = date(2099, 12, 31)
MAX_JSON_DEPTH = 32


def url_is_clean(path: str, query: bytes) -> bool:
    """Whether a request's decoded path and query hold no control character (``%00``, ``%0A``…)
    and no invalid UTF-8: no address of ours has them, and a NUL reaching PostgreSQL is a
    driver error, not an answer."""
    if _URL_CONTROL.search(path):
        return False
    try:
        decoded = unquote_plus(query.decode("latin-1"), errors="strict")
    except UnicodeDecodeError:
        return False
    return not _URL_CONTROL.search(decoded)


def parse_id(raw: object, what: str) -> int:
    """A row id from a path segment: ASCII digits, 1 … 2³¹-1. Anything else names no row, so
    the answer is 404 (as for an id that does not exist), never a 500.

    Raises:
        NotFound: ``raw`` is not such a number.
    """
    if isinstance(raw, str) and _DIGITS.fullmatch(raw) and 1 <= int(raw) <= MAX_DB_INT:
        return int(raw)
    shown = raw[:40] if isinstance(raw, str) else raw
    raise NotFound(f"{what} {shown!r} does not exist")


def parse_int(field: str, raw: object, *, low: int, high: int,
              default: int | None = None) -> int:
    """A whole number from a query or form field: ASCII digits within ``low`` … ``high``;
    ``default`` when the field is absent or empty (if a default is given)."""
    if default is not None and (raw is None or raw == ""):
        return default
    if isinstance(raw, str):
        text = raw.strip()
        if _DIGITS.fullmatch(text) and low <= int(text) <= high:
            return int(text)
    shown = raw[:40] if isinstance(raw, str) else raw
    raise InvalidInput(f"{field} must be a whole number from {low} to {high}; got {shown!r}",
                       field=field, reason=Reason.NOT_WHOLE_NUMBER)


def parse_date(field: str, raw: object) -> date | None:
    """``YYYY-MM-DD`` between ``MIN_DATE`` and ``MAX_DATE``; None when absent or empty."""
    if raw is None or raw == "":
        return None
    value = None
    if isinstance(raw, str) and _DATE.fullmatch(raw):
        try:
            value = date.fromisoformat(raw)
        except ValueError:
            value = None
    if value is None:
        shown = raw[:40] if isinstance(raw, str) else raw
        raise InvalidInput(f"{field} must be a date like 2026-11-27; got {shown!r}", field=field,
                           reason=Reason.NOT_DATE)
    if not MIN_DATE <= value <= MAX_DATE:
        raise InvalidInput(f"{field} must be a date between {MIN_DATE} and {MAX_DATE}; "
                           f"got {raw!r}", field=field, reason=Reason.NOT_DATE)
    return value


def parse_datetime(field: str, raw: object, tz: tzinfo) -> datetime | None:
    """An ISO 8601 date-time (``Z`` allowed; ``tz`` when it names no zone) within the date
    range; None when absent or empty."""
    if raw is None or raw == "":
        return None
    value = None
    if isinstance(raw, str) and raw.isascii() and 10 <= len(raw) <= 40:
        try:
            value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            value = None
    if value is None:
        shown = raw[:40] if isinstance(raw, str) else raw
        raise InvalidInput(f"{field} must be an ISO date-time such as 2026-11-27T08:00:00+07:00; "
                           f"got {shown!r}", field=field)
    # The range is checked on the date as written, before any zone arithmetic, which would
    # overflow at year 1 or 9999.
    if not MIN_DATE <= value.date() <= MAX_DATE:
        raise InvalidInput(f"{field} must lie between {MIN_DATE} and {MAX_DATE}; got {raw!r}",
                           field=field)
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def json_depth_exceeds(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``text`` nests arrays/objects deeper than ``limit`` (brackets inside strings do
    not count). Linear, no recursion: run before ``json.loads``, which recurses per level."""
    depth = 0
    # Strings (with their escapes) cannot contain an unescaped quote, so dropping them first
    # leaves only structural brackets.
    for match in re.finditer(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]', text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > limit:
                return True
        elif token in "]}":
            depth -= 1
    return False


def loads_json(raw: bytes | str) -> Any:
    """Decode JSON text of any origin.

    Raises:
        InvalidInput (400, ``bad_json``): not UTF-8, not JSON, or nested too deeply.
    """
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise InvalidInput("the body is not UTF-8 text", code="bad_json").with_status(400) \
            from None
    if json_depth_exceeds(text):
        raise InvalidInput(f"the JSON nests deeper than {MAX_JSON_DEPTH} levels",
                           code="bad_json").with_status(400)
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc}",
                           code="bad_json").with_status(400) from None


def require_text(field: str, value: Any, *, max_length: int, required: bool = True) -> str:
    """A trimmed string of at most ``max_length`` characters (empty allowed if not required)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text; got {type(value).__name__}", field=field)
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{field} must not be empty", field=field,
                           reason=Reason.REQUIRED)
    if len(value) > max_length:
        raise InvalidInput(f"{field} is too long: {len(value)} characters, at most {max_length}",
                           field=field, reason=Reason.TOO_LONG,
                           params={"n": len(value), "max": max_length})
    if _CONTROL.search(value):
        raise InvalidInput(f"{field} contains control characters or unpaired surrogates",
                           field=field, reason=Reason.CONTROL_CHARS)
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
                               f"got {phone!r}", field="applicant.phone",
                               reason=Reason.NOT_PHONE)
        if email and not _EMAIL.match(email):
            raise InvalidInput(f"applicant.email must be an email address; got {email!r}",
                               field="applicant.email", reason=Reason.NOT_EMAIL)
        if not phone and not email:
            raise InvalidInput("give the applicant's phone or email, so they can be told the "
                               "outcome", field="applicant.phone",
                               reason=Reason.CONTACT_MISSING)
        return cls(name, org, phone, email)


def optional_email(field: str, value: Any) -> str:
    """An email address, or "" when none is given."""
    email = require_text(field, value, max_length=200, required=False)
    if email and not _EMAIL.match(email):
        raise InvalidInput(f"{field} must be an email address; got {email!r}", field=field,
                           reason=Reason.NOT_EMAIL)
    return email


def optional_phone(field: str, value: Any) -> str:
    """A phone number such as 0812-3456-7890 or +62 812 3456 7890, or "" when none is given."""
    phone = require_text(field, value, max_length=30, required=False)
    if phone and not _PHONE.match(phone):
        raise InvalidInput(f"{field} must be a phone number like 0812-3456-7890; got {phone!r}",
                           field=field, reason=Reason.NOT_PHONE)
    return phone


def require_int(field: str, value: Any, *, minimum: int = 1, maximum: int = MAX_DB_INT) -> int:
    """A JSON integer within ``minimum`` … ``maximum`` (a bool is not a number here)."""
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        shown = value if not isinstance(value, int) or abs(value) < 10**20 else "a huge number"
        raise InvalidInput(f"{field} must be a whole number from {minimum} to {maximum}; "
                           f"got {shown!r}", field=field, reason=Reason.NOT_WHOLE_NUMBER)
    return value
