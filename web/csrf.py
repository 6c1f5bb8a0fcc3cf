"""CSRF protection for every form.

Signed-in pages carry the session's own token (``SessionData.csrf``, made when the session was
created) in a hidden ``csrf_token`` field. The sign-in form has no session yet, so it uses a
double-submit token: a random value in the ``ptsa_login_csrf`` cookie that the form must repeat.
Every POST to a page is refused with 403 unless the token matches, compared in constant time.
The session cookie is also ``SameSite=Lax``, so a cross-site POST arrives without a session; the
token is the second, independent lock.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request

from hub.errors import Forbidden

FIELD = "csrf_token"
HEADER = "x-csrf-token"
LOGIN_COOKIE = "ptsa_login_csrf"


class CsrfRefused(Forbidden):
    code = "csrf"


def new_login_token() -> str:
    return secrets.token_urlsafe(24)


def _matches(expected: str | None, given: object) -> bool:
    if not expected or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


async def submitted_token(request: Request) -> object:
    """The token the client sent: the form field, or the ``X-CSRF-Token`` header (fetch calls)."""
    if HEADER in request.headers:
        return request.headers[HEADER]
    form = await request.form()
    return form.get(FIELD)


async def check(request: Request) -> None:
    """Raises CsrfRefused unless the request carries the right token for its session."""
    session = request.scope.get("session")
    given = await submitted_token(request)
    if session is not None:
        expected = session.csrf
    else:
        expected = request.cookies.get(LOGIN_COOKIE)
    if not _matches(expected, given):
        raise CsrfRefused("the form's security token is missing or out of date; reload the page "
                          "and submit again")
