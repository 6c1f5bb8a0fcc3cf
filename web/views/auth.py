"""Sign in, sign out, and the landing page that sends each role to its own board."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from hub.auth.login import authenticate_password, client_address
from hub.auth.sessions import COOKIE_NAME
from hub.errors import NotAuthenticated, TooManyRequests
from web import csrf, i18n
from web.forms import FormErrors, text_field
from web.i18n import gettext as _
from web.render import app_ctx, redirect, render
from web.views.base import LANG_COOKIE_AGE, page, store_language

LANDING = {"p0": "/loket", "p1": "/papan", "p2": "/papan", "supervisor": "/penyelia",
           "admin": "/admin"}


def landing_for(role: str) -> str:
    return LANDING.get(role, "/papan")


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: no scheme, no host, no ``//evil`` or ``/\\evil``."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    return target


@page()
async def set_language(request: Request) -> Response:
    """``POST /bahasa`` (``lang``, ``next``): the staff member's language, kept on the account
    and in the browser; back to the page it was chosen on."""
    form = await request.form()
    language = i18n.normalise_language(text_field(form, "lang")) or i18n.DEFAULT_LANGUAGE
    await store_language(request, language)
    response = redirect(safe_next(text_field(form, "next")) or "/")
    response.set_cookie(i18n.LANG_COOKIE, language, max_age=LANG_COOKIE_AGE, httponly=True,
                        samesite="lax")
    return response


@page(public=True)
async def home(request: Request) -> Response:
    principal = request.scope.get("principal")
    if principal is None:
        return redirect("/masuk")
    return redirect(landing_for(principal.role))


def _login_page(request: Request, username: str = "", errors: FormErrors | None = None,
                status: int = 200) -> Response:
    token = request.cookies.get(csrf.LOGIN_COOKIE) or csrf.new_login_token()
    response = render(request, "login.html", status=status, login_csrf=token, username=username,
                      errors=errors or FormErrors(),
                      next=safe_next(request.query_params.get("next")) or "")
    if request.scope.get("session") is None:
        response.set_cookie(csrf.LOGIN_COOKIE, token, httponly=True, samesite="strict",
                            secure=app_ctx(request).settings.is_production)
    return response


@page(public=True)
async def login_form(request: Request) -> Response:
    principal = request.scope.get("principal")
    if principal is not None:
        return redirect(landing_for(principal.role))
    return _login_page(request)


@page(public=True)
async def login(request: Request) -> Response:
    form = await request.form()
    username = text_field(form, "username").strip().lower()[:60]
    password = text_field(form, "password")
    errors = FormErrors()
    if not username or not password:
        errors["general"] = _("Enter your username and password.")
        return _login_page(request, username, errors, 422)
    try:
        staff = await authenticate_password(app_ctx(request), client_address(request),
                                            username, password[:1024])
    except TooManyRequests as exc:
        wait = int(exc.details.get("retry_after", 60))
        if exc.reason == "login_delayed":  # the short wait between attempts, in seconds
            errors["general"] = _("Too many failed sign-in attempts. Try again in %(seconds)s "
                                  "second(s).") % {"seconds": wait}
        else:
            minutes = max(1, (wait + 59) // 60)
            errors["general"] = _("Too many failed sign-in attempts. Try again in %(minutes)s "
                                  "minute(s).") % {"minutes": minutes}
        response = _login_page(request, username, errors, 429)
        response.headers["Retry-After"] = str(wait)
        return response
    except NotAuthenticated:
        errors["general"] = _("Wrong username or password.")
        return _login_page(request, username, errors, 401)
    ctx = app_ctx(request)
    old = request.scope.get("session")
    principal = request.scope.get("principal")
    if old is not None and principal is not None:
        await ctx.sessions.destroy(old, principal.username)  # no session fixation
    _data, cookie = await ctx.sessions.create(staff.id or 0, staff.session_epoch, staff.language)
    target = safe_next(text_field(form, "next")) or landing_for(staff.role)
    response = redirect(target)
    response.set_cookie(COOKIE_NAME, cookie, httponly=True, samesite="lax",
                        secure=ctx.settings.is_production,
                        max_age=int(ctx.settings.session_max_age.total_seconds()))
    response.delete_cookie(csrf.LOGIN_COOKIE)
    return response


@page()
async def logout(request: Request) -> Response:
    session = request.scope.get("session")
    principal = request.scope["principal"]
    if session is not None:
        await app_ctx(request).sessions.destroy(session, principal.username)
    response = redirect("/masuk")
    response.delete_cookie(COOKIE_NAME, httponly=True, samesite="lax")
    return response
