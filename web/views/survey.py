"""The public SKM questionnaire (``/survei/{token}``), phone-first.

The page posts an ordinary form (no script needed on a cheap phone), protected like the sign-in form
by a double-submit CSRF cookie; the answers go through the same ``hub.feedback.survey.submit`` as
``POST /api/v1/survey/{token}``. The element names and answer labels are the regulation's own
Indonesian wording (``hub.domain.skm``) and are shown as written in both languages. """

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from hub.domain import skm
from hub.errors import InvalidInput, PtsaError
from hub.feedback import survey
from web import csrf
from web.i18n import N_
from web.i18n import gettext as _
from web.render import app_ctx, render
from web.views.base import page

REFUSED = {
    404: N_("This survey link is not valid. Check the link or ask at the PTSA counter."),
    409: N_("This survey has already been answered. Thank you for your time."),
    410: N_("This survey link has expired."),
}
PROFILE_LABELS = {
    "age_group": N_("Age"), "sex": N_("Sex"), "education": N_("Education"),
    "occupation": N_("Occupation"),
}


def _page(request: Request, token: str, status: int = 200, **context: object) -> Response:
    cookie = request.cookies.get(csrf.LOGIN_COOKIE) or csrf.new_login_token()
    response = render(request, "survey.html", status=status, login_csrf=cookie, token=token,
                      elements=skm.ELEMENTS, choices=skm.PROFILE_CHOICES,
                      profile_labels=PROFILE_LABELS, **context)
    if request.scope.get("session") is None:
        response.set_cookie(csrf.LOGIN_COOKIE, cookie, httponly=True, samesite="strict",
                            secure=app_ctx(request).settings.is_production)
    return response


def _refused(request: Request, token: str, exc: PtsaError) -> Response:
    message = _(REFUSED.get(exc.status, REFUSED[404]))
    return _page(request, token, status=exc.status, refused=message)


@page(public=True)
async def survey_form(request: Request) -> Response:
    token = request.path_params["token"]
    try:
        await survey.check_token(app_ctx(request).db, token)
    except PtsaError as exc:  # NotFound, Conflict (answered) or 410 (expired)
        return _refused(request, token, exc)
    return _page(request, token, chosen={})


@page(public=True)
async def survey_submit(request: Request) -> Response:
    token = request.path_params["token"]
    form = await request.form()
    chosen = {k: v for k, v in form.items() if isinstance(v, str)}
    answers: list[object] = []
    for i in range(1, len(skm.ELEMENTS) + 1):
        raw = chosen.get(f"u{i}", "")
        answers.append(int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 3 else raw)
    body = {"answers": answers, "suggestion": chosen.get("suggestion", ""),
            "profile": {k: chosen.get(k, "") for k in skm.PROFILE_CHOICES}}
    try:
        await survey.submit(app_ctx(request), token, body)
    except InvalidInput as exc:
        field = str(exc.details.get("field", ""))
        if field == "answers":
            message = _("Please answer all nine questions.")
        elif field.startswith("profile"):
            message = _("Choose your profile answers from the lists.")
        else:
            message = _("The suggestion is too long (at most 2000 characters).")
        return _page(request, token, status=422, chosen=chosen, error=message)
    except PtsaError as exc:
        return _refused(request, token, exc)
    return _page(request, token, status=201, thanks=True)
