"""The SKM questionnaire of a completed request: its one-time link and the anonymous answers.

The link's token is ``HMAC(secret key, task id)``, so the hub can show the same link on every
visit to the tracking page (and put it in the completion SMS/e-mail) without keeping it: only its
SHA-256 is stored, in ``survey_tokens``, created the first time the link is asked for. The row's
``task_id`` is the one-way "this request has answered" flag; the answers go to
``survey_responses`` with the unit, service and completion month only, so nothing staff can see
ties a response to the applicant (PermenPANRB 14/2017 asks for an anonymous survey).

A link lives ``PTSA_SURVEY_DAYS`` (default 30) from completion. Rotating ``PTSA_SECRET_KEY``
invalidates links not yet used (their hash no longer matches), which is the safe direction.

    survey_url(db, settings, task) -> str | None     for the tracking page and notifications
    submit(ctx, token, body) -> None                 POST /api/v1/survey/{token}
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from channels import names
from channels.outbox import add_outbox_rows
from config.settings import Settings
from hub.db import Database
from hub.domain import skm
from hub.domain.tasks import FRONT_OFFICE, Status
from hub.errors import Conflict, InvalidInput, NotFound, PtsaError
from hub.models import Service, SurveyResponse, SurveyToken, Task, utcnow
from hub.validation import require_text

if TYPE_CHECKING:
    from hub.context import AppContext

log = logging.getLogger(__name__)
EVENT_TYPE = "skm.response"
MAX_SUGGESTION = 2000


def token_for(secret_key: str, task_id: int) -> str:
    digest = hmac.new(secret_key.encode(), f"skm-survey:{task_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:40]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def expiry(task: Task, settings: Settings) -> datetime | None:
    if task.completed_at is None:
        return None
    return task.completed_at + timedelta(days=settings.survey_days)


async def survey_url(db: Database, settings: Settings, task: Task) -> str | None:
    """The survey link of a completed request, or None: not completed, answered, or expired.

    The function the completion SMS/e-mail calls to include the link."""
    expires = expiry(task, settings)
    if task.status != Status.COMPLETED or expires is None or task.id is None:
        return None
    if expires <= utcnow():
        return None
    token = token_for(settings.secret_key, task.id)
    async with db.read() as session:
        row = await session.get(SurveyToken, token_hash(token))
    if row is None:
        try:
            async with db.write() as session:
                session.add(SurveyToken(token_hash=token_hash(token), task_id=task.id,
                                        expires_at=expires, used=False))
        except IntegrityError:  # a concurrent lookup made it first: same token, same row
            pass
    elif row.used:
        return None
    return f"{settings.public_url}/survei/{token}"


@dataclass(frozen=True)
class Answers:
    values: tuple[int, ...]
    profile: dict[str, str]
    suggestion: str | None


def parse_answers(body: dict[str, Any]) -> Answers:
    """The questionnaire's answers, checked; InvalidInput (422) names what is wrong."""
    try:
        values = skm.check_answers(body.get("answers"))
    except skm.InvalidAnswers as exc:
        raise InvalidInput(str(exc), field="answers") from None
    raw_profile = body.get("profile") or {}
    if not isinstance(raw_profile, dict):
        raise InvalidInput("profile must be an object", field="profile")
    profile: dict[str, str] = {}
    for key, value in raw_profile.items():
        choices = skm.PROFILE_CHOICES.get(key)
        if choices is None:
            raise InvalidInput(f"profile.{key} is not asked; the profile has "
                               f"{', '.join(skm.PROFILE_CHOICES)}", field="profile")
        if value in (None, ""):
            continue
        if value not in choices:
            raise InvalidInput(f"profile.{key} must be one of {', '.join(choices)}; got {value!r}",
                               field=f"profile.{key}")
        profile[key] = value
    suggestion = require_text("suggestion", body.get("suggestion"), max_length=MAX_SUGGESTION,
                              required=False) or None
    return Answers(values, profile, suggestion)


def _token_state(row: SurveyToken | None, now: datetime) -> None:
    if row is None:
        raise NotFound("this survey link is not valid", code="not_found")
    if row.used:
        raise Conflict("this survey has already been answered; thank you", code="answered")
    if row.expires_at <= now:
        raise PtsaError("this survey link has expired", code="expired").with_status(410)


async def check_token(db: Database, token: str) -> SurveyToken:
    """The token's row if it may still be answered; 404 unknown, 409 answered, 410 expired."""
    if not token or len(token) > 100:
        raise NotFound("this survey link is not valid", code="not_found")
    async with db.read() as session:
        row = await session.get(SurveyToken, token_hash(token))
    _token_state(row, utcnow())
    assert row is not None
    return row


async def submit(ctx: AppContext, token: str, body: dict[str, Any]) -> None:
    """Record one questionnaire and spend the token, in one transaction; publish the event."""
    await check_token(ctx.db, token)
    answers = parse_answers(body)
    now = utcnow()
    event_id = f"skm{hashlib.sha256(f'{token}{now.isoformat()}'.encode()).hexdigest()[:24]}"
    async with ctx.db.write() as session:
        row = await session.get(SurveyToken, token_hash(token))
        _token_state(row, now)
        assert row is not None
        spent = await session.exec(  # type: ignore[call-overload]
            update(SurveyToken).where(col(SurveyToken.token_hash) == row.token_hash,
                                      col(SurveyToken.used).is_(False)).values(used=True))
        if spent.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict("this survey has already been answered; thank you", code="answered")
        task = await session.get(Task, row.task_id)
        if task is None or task.completed_at is None:  # pragma: no cover - tokens follow tasks
            raise NotFound("this survey link is not valid", code="not_found")
        service = await session.get(Service, task.service_code)
        eselon2 = task.eselon2 or (service.eselon2 if service else None)
        period = task.completed_at.astimezone(ctx.settings.tz).strftime("%Y-%m")
        u1, u2, u3, u4, u5, u6, u7, u8, u9 = answers.values
        profile = answers.profile
        response = SurveyResponse(
            eselon1=task.eselon1, eselon2=eselon2, service_code=task.service_code, period=period,
            submitted_at=now, suggestion=answers.suggestion, u1=u1, u2=u2, u3=u3, u4=u4, u5=u5,
            u6=u6, u7=u7, u8=u8, u9=u9, age_group=profile.get("age_group"),
            sex=profile.get("sex"), education=profile.get("education"),
            occupation=profile.get("occupation"))
        session.add(response)
        channels = [names.sup(u) for u in dict.fromkeys((eselon2, task.eselon1, FRONT_OFFICE))
                    if u]
        # Who answered is not in the event either: unit, service and period only.
        await add_outbox_rows(session, event_id, EVENT_TYPE, now,
                              {"type": EVENT_TYPE, "eselon1": task.eselon1, "eselon2": eselon2,
                               "service": task.service_code, "period": period}, channels)
    relay = ctx.relay
    if relay is not None:
        try:
            await relay.publish_event(event_id)
        except Exception as exc:  # the committed rows wait for the relay's sweep
            log.warning("publishing %s after commit failed (%s)", event_id, exc)
