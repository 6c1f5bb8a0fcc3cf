"""Rendering pages: one Jinja2 environment (autoescape on, gettext from ``web.i18n``) and the
helpers every page uses to answer HTML with the security headers an intranet app still needs."""

from __future__ import annotations

import json
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from hub.auth.principal import Principal
from hub.context import AppContext
from web import i18n

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"

# No inline scripts anywhere: data for the JS travels in <script type="application/json">, which
# is never executed, so an injected <script> in a name has nowhere to run even if escaping failed.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
                               "form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def _json_script(value: Any) -> Markup:
    """JSON safe to place inside <script type="application/json"> (no ``</script>`` breakout)."""
    text = json.dumps(value, ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATE_DIR),
                      autoescape=select_autoescape(["html", "svg"], default=True),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters["json_script"] = _json_script
    return env


def app_ctx(request: Request) -> AppContext:
    return request.app.state.ctx  # type: ignore[no-any-return]


def principal_of(request: Request) -> Principal | None:
    return request.scope.get("principal")


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render ``template`` in the request's language with the common context: the principal,
    the session's CSRF token, date formatting and the language switch."""
    ctx = app_ctx(request)
    tz = ctx.settings.tz
    session = request.scope.get("session")
    principal = principal_of(request)
    base: dict[str, Any] = {
        "request": request, "principal": principal, "me": principal.staff if principal else None,
        "csrf_token": session.csrf if session else context.pop("login_csrf", ""),
        "lang": i18n.current_language(), "languages": i18n.LANGUAGES,
        "when": lambda value, style="short": i18n.format_when(value, tz, style),
        "day": lambda value: i18n.format_day(value, tz),
        "timezone": ctx.settings.timezone,
        # For the page's countdowns: they count against this clock, not the PC's (util.js).
        "server_now": int(time.time() * 1000),
    }
    base.update(context)
    html = environment().get_template(template).render(base)
    return HTMLResponse(html, status_code=status, headers=dict(SECURITY_HEADERS))


def redirect(url: str, status: int = 303) -> RedirectResponse:
    return RedirectResponse(url, status_code=status)
