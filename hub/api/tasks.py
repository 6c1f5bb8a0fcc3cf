"""Task endpoints: register, list, read, and the actions (claim, dispose, return, hold, resume,
resubmit, message, complete), plus the public ``GET /track/{code}``."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import JSONResponse

from hub.api.common import authenticate, ctx, json_response, read_json
from hub.auth.login import client_address
from hub.domain.complaints import is_complaint_number
from hub.domain.tasks import OPEN_CLOCKS, Action, Level, Role, check_may_register
from hub.domain.visibility import visible_tasks
from hub.errors import InvalidInput, NotFound
from hub.feedback.complaints import by_number as complaint_by_number
from hub.feedback.complaints import public_status as complaint_status
from hub.feedback.survey import survey_url
from hub.models import Service, SlaClock, Staff, Task, utcnow
from hub.tasks.commands import ensure_can_view, load_task, task_by_code
from hub.tasks.search import Filters
from hub.tasks.serializers import new_task_detail, running_pickup_dues, task_detail, task_summary
from hub.tasks.track import limit_track_lookups, public_status
from hub.validation import (
    Applicant,
    parse_datetime,
    parse_id,
    parse_int,
    require_int,
    require_text,
)

MAX_PAGE = 500


def _task_id(request: Request) -> int:
    return parse_id(request.path_params["task_id"], "task")


async def create_task(request: Request) -> JSONResponse:
    principal = await authenticate(request)
    check_may_register(Role(principal.role))  # a wrong role hears 403 before any input check
    body = await read_json(request)
    service = require_text("service", body.get("service"), max_length=40)
    applicant = Applicant.parse(body.get("applicant"))
    documents = body.get("documents") or []
    if not isinstance(documents, list):
        raise InvalidInput("documents must be a list of the service's document names",
                           field="documents")
    result = await ctx(request).commands.register(principal.staff, service, applicant,
                                                  body.get("description", ""), documents)
    assert result.event is not None
    data = new_task_detail(result.task, result.payload["task"], result.event, principal.staff,
                           result.clocks)
    return json_response(data, status=201)


async def get_task(request: Request) -> JSONResponse:
    principal = await authenticate(request)
    async with ctx(request).db.read() as session:
        task = await load_task(session, _task_id(request))
        ensure_can_view(task, principal.staff, principal.scope)
        return json_response(await task_detail(session, task))


async def list_tasks(request: Request) -> JSONResponse:
    """Filters: q (search, ``hub.tasks.search``), service, unit, status, from, to (days), level,
    assignee (username), overdue (true), since (ISO date-time), limit (≤ 500), offset.
    Newest first."""
    principal = await authenticate(request)
    q = request.query_params
    query = select(Task).where(visible_tasks(principal))
    if level := q.get("level"):
        if level not in {lv.value for lv in Level}:
            raise InvalidInput(f"level must be p0, p1 or p2; got {level!r}", field="level")
        query = query.where(Task.level == level)
    query = Filters.parse(q).apply(query, ctx(request).settings.tz)
    if assignee := q.get("assignee"):
        query = query.join(Staff, col(Staff.id) == col(Task.assignee_id)).where(
            Staff.username == assignee)
    if q.get("overdue") in ("1", "true", "yes"):
        overdue = select(SlaClock.task_id).where(
            col(SlaClock.state).in_(OPEN_CLOCKS),
            col(SlaClock.due_at) < utcnow())
        query = query.where(col(Task.id).in_(overdue))
    if moment := parse_datetime("since", q.get("since"), ctx(request).settings.tz):
        query = query.where(col(Task.created_at) >= moment)
    limit = parse_int("limit", q.get("limit"), low=1, high=MAX_PAGE, default=100)
    offset = parse_int("offset", q.get("offset"), low=0, high=10**9, default=0)
    query = query.order_by(col(Task.id).desc()).limit(limit).offset(offset)
    async with ctx(request).db.read() as session:
        tasks = (await session.exec(query)).all()
        pickup = await running_pickup_dues(session, [t.id or 0 for t in tasks])
        items = [await task_summary(session, t, pickup.get(t.id or 0)) for t in tasks]
    return json_response({"items": items, "limit": limit, "offset": offset})


def _action_endpoint(action: Action) -> Any:
    async def endpoint(request: Request) -> JSONResponse:
        principal = await authenticate(request)
        task_id = _task_id(request)
        body = await read_json(request)
        version = body.get("version")
        if version is not None:
            version = require_int("version", version)
        unit = body.get("unit")
        if action == Action.DISPOSE:
            unit = require_text("unit", unit, max_length=40)
        result = await ctx(request).commands.act(
            principal.staff, task_id, action, version=version, unit=unit,
            reason=body.get("reason"), result_text=body.get("result"), body=body.get("body"),
            scope=principal.scope)
        async with ctx(request).db.read() as session:
            task = await load_task(session, result.task.id or 0)
            data = await task_detail(session, task)
        data["event"] = {"id": result.event_id, "type": result.event_type}
        return json_response(data, status=201 if action == Action.MESSAGE else 200)

    endpoint.__name__ = f"task_{action.value}"
    return endpoint


ACTION_ENDPOINTS = {
    "claim": Action.CLAIM, "dispose": Action.DISPOSE, "return": Action.RETURN,
    "hold": Action.HOLD, "resume": Action.RESUME, "resubmit": Action.RESUBMIT,
    "messages": Action.MESSAGE, "complete": Action.COMPLETE,
}


async def track(request: Request) -> JSONResponse:
    """Public: what the applicant may know — status, service, dates. No staff names, no
    messages, no applicant contact details."""
    await limit_track_lookups(ctx(request), client_address(request))
    code = request.path_params["code"]
    if len(code) > 30:
        raise NotFound("no request has that registration number")
    if is_complaint_number(code):  # a complaint number (ADU-…): its status and reply
        async with ctx(request).db.read() as session:
            complaint = await complaint_by_number(session, code)
        if complaint is None:
            raise NotFound("no complaint has that number", code="not_found")
        return json_response(complaint_status(complaint))
    async with ctx(request).db.read() as session:
        task = await task_by_code(session, code)
        if task is None:
            raise NotFound("no request has that registration number", code="not_found")
        service = await session.get(Service, task.service_code)
    status = public_status(task, service)
    url = await survey_url(ctx(request).db, ctx(request).settings, task)
    if url:  # completed, not yet answered, not expired (hub/feedback/survey.py)
        status["survey_url"] = url
    return json_response(status)
