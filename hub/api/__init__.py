"""The JSON API, mounted at ``/api/v1``. Contracts: DESIGN.md and ``docs/API.md``."""

from __future__ import annotations

from starlette.routing import Route

from hub.api import auth, catalog, kpi, tasks
from hub.api.openapi import openapi_endpoint


def api_routes() -> list[Route]:
    routes = [
        Route("/auth/token", auth.issue_token, methods=["POST"]),
        Route("/me", auth.me, methods=["GET"]),
        Route("/services", catalog.list_services, methods=["GET"]),
        Route("/units", catalog.list_units, methods=["GET"]),
        Route("/tasks", tasks.create_task, methods=["POST"]),
        Route("/tasks", tasks.list_tasks, methods=["GET"]),
        Route("/tasks/{task_id}", tasks.get_task, methods=["GET"]),
        Route("/track/{code}", tasks.track, methods=["GET"]),
        Route("/kpi", kpi.get_kpi, methods=["GET"]),
        Route("/openapi.json", openapi_endpoint, methods=["GET"]),
    ]
    for path, action in tasks.ACTION_ENDPOINTS.items():
        routes.append(Route(f"/tasks/{{task_id}}/{path}", tasks._action_endpoint(action),
                            methods=["POST"]))
    return routes
