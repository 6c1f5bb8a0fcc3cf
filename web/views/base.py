"""What every page handler shares: language choice, sign-in and role checks, CSRF on POST, and
errors answered as pages (or JSON for the pages' own fetch calls)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from functools import wraps
from urllib.parse import quote

from sqlalchemy import update
from sqlmodel import col
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.auth.principal import Principal
from hub.errors import Forbidden, NotFound, PtsaError
from hub.models import Staff
from hub.validation import parse_id
from web import csrf, i18n
from web.render import app_ctx, redirect, render

log = logging.getLogger(__name__)
Handler = Callable[[Request], Awaitable[Response]]
LANG_COOKIE_AGE = 365 * 24 * 3600


def wants_json(request: Request) -> bool:
    """The pages' own JS posts forms with ``Accept: application/json`` and reads the answer."""
    return "application/json" in request.headers.get("accept", "")


def choose_language(request: Request) -> tuple[str, str | None]:
    """(language for this request, language to keep in the visitor's cookie).

    ``?lang=`` changes what this page shows. It is remembered (in a cookie) only for a visitor
    without an account; a staff member's choice is changed only by ``POST /bahasa`` with the
    form's CSRF token, so no link or image on any site can write to their account."""
    asked = i18n.normalise_language(request.query_params.get("lang"))
    principal: Principal | None = request.scope.get("principal")
    if asked:
        return asked, (asked if principal is None else None)
    if principal is not None:
        stored = i18n.normalise_language(principal.staff.language)
        if stored:
            return stored, None
    cookie = i18n.normalise_language(request.cookies.get(i18n.LANG_COOKIE))
    return cookie or i18n.DEFAULT_LANGUAGE, None


async def store_language(request: Request, language: str) -> None:
    """Keep a signed-in staff member's language on their account."""
    principal: Principal | None = request.scope.get("principal")
    if principal is None or principal.staff.language == language:
        return
    async with app_ctx(request).db.write() as session:
        await session.exec(update(Staff).where(col(Staff.id) == principal.id)  # type: ignore[call-overload]
                           .values(language=language))


def error_page(request: Request, exc: PtsaError) -> Response:
    if wants_json(request):
        return JSONResponse(exc.to_dict(), status_code=exc.status)
    titles = {403: i18n._("Not allowed"), 404: i18n._("Not found"),
              409: i18n._("The request changed"), 429: i18n._("Too many attempts")}
    message = i18n._("The page could not be shown.")
    if isinstance(exc, csrf.CsrfRefused):
        message = i18n._("The form's security token is missing or out of date. Reload the page "
                         "and submit again.")
    elif isinstance(exc, Forbidden):
        message = i18n._("Your role or unit may not open this page.")
    elif isinstance(exc, NotFound):
        message = i18n._("There is nothing at this address.")
    return render(request, "error.html", status=exc.status,
                  title=titles.get(exc.status, i18n._("Something went wrong")),
                  message=message, detail=exc.message)


def page(*, roles: Iterable[str] | None = None, public: bool = False) -> Callable[[Handler],
                                                                                  Handler]:
    """Wrap a page handler.

    Args:
        roles: staff roles allowed (None: any signed-in staff member).
        public: no sign-in needed (the sign-in page, Lacak Permohonan).
    """
    allowed = frozenset(roles) if roles is not None else None

    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        async def endpoint(request: Request) -> Response:
            language, store = choose_language(request)
            i18n.set_language(language)
            principal: Principal | None = request.scope.get("principal")
            if not public and principal is None:
                if wants_json(request):
                    return JSONResponse({"error": {"code": "unauthenticated",
                                                   "message": "sign in again"}}, status_code=401)
                target = request.url.path
                if request.url.query:
                    target += "?" + request.url.query
                return redirect(f"/masuk?next={quote(target, safe='')}")
            try:
                if allowed is not None and (principal is None or principal.role not in allowed):
                    raise Forbidden("this page is for another role")
                if request.method == "POST":
                    await csrf.check(request)
                response = await handler(request)
            except PtsaError as exc:
                response = error_page(request, exc)
            if store:
                response.set_cookie(i18n.LANG_COOKIE, store, max_age=LANG_COOKIE_AGE,
                                    httponly=True, samesite="lax")
            return response

        return endpoint

    return decorate


def path_int(request: Request, name: str = "task_id") -> int:
    """A numeric path parameter, or NotFound (never a 500 for ``/permohonan/abc``)."""
    return parse_id(str(request.path_params[name]), "number")
