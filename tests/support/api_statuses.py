"""Which (method, API route, status) answers the tests have seen, for the check that the OpenAPI
document lists every status the API really returns (tests/hub/api/test_openapi_statuses.py, and the
session-end check in tests/conftest.py)."""

from __future__ import annotations

import httpx
from starlette.routing import Match, Route

from hub.api import api_routes
from hub.api.openapi import DOCUMENT

PREFIX = "/api/v1"
SEEN: set[tuple[str, str, int]] = set()
_ROUTES = [r for r in api_routes() if isinstance(r, Route) and "{path:path}" not in r.path]


def template_of(method: str, path: str) -> str | None:
    """The route template (``/tasks/{task_id}``) a request path under /api/v1 matched."""
    if not path.startswith(PREFIX + "/"):
        return None
    scope = {"type": "http", "path": path[len(PREFIX):], "method": method}
    for route in _ROUTES:
        if route.matches(scope)[0] == Match.FULL:
            return route.path
    return None


async def record(response: httpx.Response) -> None:
    """An httpx response hook: remember what a routed API request answered."""
    request = response.request
    template = template_of(request.method, request.url.path)
    if template is not None:
        SEEN.add((request.method.lower(), template, response.status_code))


def undocumented(seen: set[tuple[str, str, int]]) -> list[str]:
    """Seen answers whose status the OpenAPI document does not list for that operation."""
    missing = []
    for method, template, status in sorted(seen):
        operation = DOCUMENT["paths"].get(template, {}).get(method)
        if operation is None or str(status) not in operation.get("responses", {}):
            missing.append(f"{method.upper()} {template} → {status}")
    return missing
