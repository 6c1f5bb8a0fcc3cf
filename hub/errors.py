"""The one exception tree of PTSA Hub.

    PtsaError                 base; ``code`` and ``status`` map straight to the JSON error shape
    ├── ConfigError           a setting is missing or malformed (start-up)
    ├── InvalidInput          a request or form value is wrong (400/422)
    ├── NotAuthenticated      no or bad credentials (401)
    ├── Forbidden             authenticated, but not allowed (403)
    ├── NotFound              no such thing (404)
    ├── Conflict              the state changed under you: already claimed, stale version (409)
    └── TooManyRequests       throttled, e.g. repeated failed logins (429)

Messages are written for the person who will read them: what was expected and what arrived.
They are English, for API clients. A screen shows the same check in its own language by keying
on ``reason`` (a stable ``Reason``, defaulting to the code) and ``params`` — never on the text.
Neither is part of the JSON body, so the API answers exactly as before.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Reason(StrEnum):
    """Why a request was refused, finer than the code: what web/forms.py translates by."""

    REQUIRED = "required"                    # an empty field that must be filled
    TOO_LONG = "too_long"                    # params: n, max
    CONTROL_CHARS = "control_chars"
    NOT_PHONE = "not_phone"
    NOT_EMAIL = "not_email"
    CONTACT_MISSING = "contact_missing"      # neither phone nor e-mail of the applicant
    UNKNOWN_SERVICE = "unknown_service"
    NOT_WHOLE_NUMBER = "not_whole_number"
    NOT_DATE = "not_date"
    DATE_ORDER = "date_order"                # the start is after the end
    QUERY_TOO_SHORT = "query_too_short"
    UNKNOWN_STATUS = "unknown_status"
    USERNAME_FORMAT = "username_format"
    PASSWORD_SHORT = "password_short"        # params: n
    ROLE_LEVEL = "role_level"                # the role works at a unit of another level
    ESELON2_REQUIRED = "eselon2_required"
    NOT_ESELON2_UNDER = "not_eselon2_under"
    UNSTAFFED = "unstaffed"                  # params: unit
    DESK_REQUIRED = "desk_required"          # name an active desk of the task's unit
    NOT_ALLOWED = "not_allowed"              # this person may not do this to this task
    WRONG_STATE = "wrong_state"              # the task's state does not allow it
    TASK_COMPLETED = "task_completed"
    STALE = "stale"                          # the task changed since it was loaded
    ALREADY_CLAIMED = "already_claimed"      # params: who (optional)
    ALREADY_ASSIGNED = "already_assigned"
    LAST_CHANGE = "last_change"              # a refusal with the last change; params: who


class PtsaError(Exception):
    code = "error"
    status = 500

    def __init__(self, message: str, *, code: str | None = None, reason: str | None = None,
                 params: dict[str, Any] | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.reason = reason or self.code
        self.params = params or {}
        self.details = details

    def with_status(self, status: int) -> PtsaError:
        """The same error answered with another HTTP status (e.g. 400 for malformed JSON)."""
        self.status = status
        return self

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        body.update(self.details)
        return {"error": body}


class ConfigError(PtsaError):
    code = "config"


class InvalidInput(PtsaError):
    code = "invalid"
    status = 422


class NotAuthenticated(PtsaError):
    code = "unauthenticated"
    status = 401


class Forbidden(PtsaError):
    code = "forbidden"
    status = 403


class NotFound(PtsaError):
    code = "not_found"
    status = 404


class Conflict(PtsaError):
    code = "conflict"
    status = 409


class TooManyRequests(PtsaError):
    code = "too_many_requests"
    status = 429
