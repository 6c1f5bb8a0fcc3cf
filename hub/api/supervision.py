"""Supervisor actions on a task: ``POST /api/v1/tasks/{id}/reassign|release|takeover|reroute``.
Each answers the task as ``GET /api/v1/tasks/{id}`` does, plus the event it recorded."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from hub.api.common import authenticate, ctx, json_response, read_json
from hub.api.tasks import _task_id
from hub.domain.supervision import SupervisorAction
from hub.tasks.commands import load_task
from hub.tasks.serializers import task_detail
from hub.tasks.supervise import supervise
from hub.validation import require_int


def supervisor_endpoint(action: SupervisorAction) -> Any:
    async def endpoint(request: Request) -> JSONResponse:
        principal = await authenticate(request)
        task_id = _task_id(request)
        body = await read_json(request)
        version = body.get("version")
        if version is not None:
            version = require_int("version", version)
        result = await supervise(ctx(request).commands, principal.staff, task_id, action,
                                 reason=body.get("reason"), to=body.get("to"),
                                 unit=body.get("unit"), version=version, scope=principal.scope)
        async with ctx(request).db.read() as session:
            data = await task_detail(session, await load_task(session, result.task.id or 0))
        data["event"] = {"id": result.event_id, "type": result.event_type}
        return json_response(data)

    endpoint.__name__ = f"task_{action.value}"
    return endpoint
