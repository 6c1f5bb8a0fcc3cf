"""The JSON API, mounted at ``/api/v1``. Contract: ``docs/API.md``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route

from hub.api import (
    auth,
    calendar,
    catalog,
    complaints,
    kpi,
    queue,
    skm,
    sla,
    survey,
    tasks,
    unread,
)
from hub.api.common import error_response
from hub.api.openapi import openapi_endpoint
from hub.api.supervision import supervisor_endpoint
from hub.domain.supervision import SupervisorAction
from hub.errors import NotFound, PtsaError


def api_routes() -> list[Route]:
    routes = [
        Route("/auth/token", auth.issue_token, methods=["POST"]),
        Route("/me", auth.me, methods=["GET"]),
        Route("/me/unread", unread.my_unread, methods=["GET"]),
        Route("/services", catalog.list_services, methods=["GET"]),
        Route("/units", catalog.list_units, methods=["GET"]),
        Route("/calendar/open", calendar.open_spans, methods=["GET"]),
        Route("/tasks", tasks.create_task, methods=["POST"]),
        Route("/tasks", tasks.list_tasks, methods=["GET"]),
        Route("/tasks/{task_id}", tasks.get_task, methods=["GET"]),
        Route("/track/{code}", tasks.track, methods=["GET"]),
        Route("/kpi", kpi.get_kpi, methods=["GET"]),
        Route("/survey/{token}", survey.submit_survey, methods=["POST"]),
        Route("/skm", skm.get_skm, methods=["GET"]),
        Route("/complaints", complaints.file_complaint, methods=["POST"]),
        Route("/complaints", complaints.list_complaints, methods=["GET"]),
        Route("/complaints/{number}/reply", complaints.reply_complaint, methods=["POST"]),
        Route("/complaints/{number}/forward", complaints.forward_complaint, methods=["POST"]),
        Route("/sla/{clock_id}/ack", sla.acknowledge, methods=["POST"]),
        Route("/queue", queue.queue_state, methods=["GET"]),
        Route("/queue/tickets", queue.take_ticket, methods=["POST"]),
        Route("/queue/call", queue.call_next, methods=["POST"]),
        Route("/queue/tickets/{ticket_id}/recall", queue.recall, methods=["POST"]),
        Route("/queue/tickets/{ticket_id}/skip", queue.skip, methods=["POST"]),
        Route("/queue/tickets/{ticket_id}/return", queue.come_back, methods=["POST"]),
        Route("/queue/tickets/{ticket_id}/transfer", queue.transfer, methods=["POST"]),
        Route("/queue/text", queue.running_text, methods=["POST"]),
        Route("/openapi.json", openapi_endpoint, methods=["GET"]),
    ]
    for path, action in tasks.ACTION_ENDPOINTS.items():
        routes.append(Route(f"/tasks/{{task_id}}/{path}", tasks._action_endpoint(action),
                            methods=["POST"]))
    for supervisor_action in SupervisorAction:
        routes.append(Route(f"/tasks/{{task_id}}/{supervisor_action.value}",
                            supervisor_endpoint(supervisor_action),
                            methods=["POST"]))
    # Last: anything else under /api/v1 answers in the JSON error shape too (Starlette's own
    # 404/405 are plain text, which API clients cannot parse).
    routes.append(Route("/{path:path}", _unrouted(list(routes)), include_in_schema=False,
                        methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]))
    return routes


def _unrouted(routes: list[Route]) -> Any:
    async def unrouted(request: Request) -> Response:
        allowed = sorted({m for r in routes if r.matches(request.scope)[0] == Match.PARTIAL
                          for m in r.methods or ()})
        if allowed:
            response = error_response(PtsaError(
                f"{request.method} is not allowed here; use {', '.join(allowed)}",
                code="method_not_allowed").with_status(405))
            response.headers["Allow"] = ", ".join(allowed)
            return response
        return error_response(NotFound(f"no API endpoint at {request.url.path}; see "
                                       "/api/v1/openapi.json"))

    return unrouted
