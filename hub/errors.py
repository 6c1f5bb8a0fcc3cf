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
"""

from __future__ import annotations

from typing import Any


class PtsaError(Exception):
    code = "error"
    status = 500

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
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
