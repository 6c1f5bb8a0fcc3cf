"""The API matches its OpenAPI document, and every error has the documented shape."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.routing import Mount, Route

from tests.conftest import ApiClient
from tests.support.api import signed_api

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
async def api(app: Any) -> AsyncIterator[ApiClient]:
    """Demo users with signed tokens (signing in itself is tested in test_api_auth.py)."""
    async with signed_api(app) as client:
        yield client


def _routed(app: Any) -> set[tuple[str, str]]:
    """(path, method) of every endpoint the app serves under /api/v1."""
    (mount,) = [r for r in app.routes if isinstance(r, Mount) and r.path == "/api/v1"]
    found = set()
    for route in mount.routes:
        assert isinstance(route, Route)
        if not route.include_in_schema:
            continue
        for method in route.methods or ():
            if method != "HEAD":
                found.add((route.path, method.lower()))
    return found


async def _document(api: ApiClient) -> dict[str, Any]:
    r = await api.http.get("/api/v1/openapi.json")  # public: clients read it before signing in
    assert r.status_code == 200
    return r.json()  # type: ignore[no-any-return]


async def test_every_route_is_documented_and_every_documented_path_is_routed(
        api: ApiClient, app: Any) -> None:
    """The set of (path, method) in openapi.json equals the set the app serves."""
    doc = await _document(api)
    assert doc["openapi"].startswith("3.")
    documented = {(path, method) for path, item in doc["paths"].items() for method in item
                  if method in HTTP_METHODS}
    routed = _routed(app)
    assert routed - documented == set(), "routed but not documented"
    assert documented - routed == set(), "documented but not routed"
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                assert operation.get("summary"), (path, method)
                assert any(code.startswith("2") for code in operation["responses"]), path
                for param in operation.get("parameters", []):
                    if param["in"] == "path":
                        assert "{" + param["name"] + "}" in path


async def test_design_md_endpoints_are_all_there(api: ApiClient) -> None:
    """The endpoints docs/API.md promises exist in the document."""
    doc = await _document(api)
    promised = [("/auth/token", "post"), ("/me", "get"), ("/services", "get"), ("/units", "get"),
                ("/tasks", "post"), ("/tasks", "get"), ("/tasks/{task_id}", "get"),
                ("/tasks/{task_id}/claim", "post"), ("/tasks/{task_id}/dispose", "post"),
                ("/tasks/{task_id}/return", "post"), ("/tasks/{task_id}/hold", "post"),
                ("/tasks/{task_id}/resume", "post"), ("/tasks/{task_id}/messages", "post"),
                ("/tasks/{task_id}/complete", "post"), ("/track/{code}", "get")]
    for path, method in promised:
        assert method in doc["paths"].get(path, {}), (path, method)


def _error_shape(r: Any) -> dict[str, Any]:
    assert r.headers["content-type"].startswith("application/json"), r.text
    body = r.json()
    assert set(body) == {"error"}
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


async def test_errors_have_the_documented_shape_and_status(api: ApiClient) -> None:
    """Each kind of error is JSON {"error": {"code", "message"}} with a status the document
    lists for that operation."""
    doc = await _document(api)
    schema = doc["components"]["schemas"]["Error"]
    assert schema["properties"]["error"]["required"] == ["code", "message"]
    task = await api.register()
    tid = task["id"]
    await api.as_("p1-barenbang-1", "POST", f"/api/v1/tasks/{tid}/claim", json={})
    cases: list[tuple[str | None, str, str, dict[str, Any], int]] = [
        ("p0-1", "POST", "/tasks", {"content": b"{"}, 400),
        (None, "GET", "/tasks", {}, 401),
        ("p2-pusdatin-1", "POST", "/tasks", {"json": {}}, 403),
        ("p1-binapenta-1", "GET", "/tasks/{task_id}", {}, 403),
        ("p1-barenbang-1", "GET", "/tasks/{task_id}", {"id": "999999"}, 404),
        ("p1-barenbang-2", "POST", "/tasks/{task_id}/claim", {"json": {}}, 409),
        ("p1-barenbang-1", "POST", "/tasks/{task_id}/hold", {"json": {"reason": ""}}, 422),
        (None, "GET", "/track/{code}", {"id": "PTSA-20000101-0001"}, 404),
        (None, "POST", "/auth/token", {"json": {"username": "x", "password": "y"}}, 401),
    ]
    for user, method, path, kw, status in cases:
        url = "/api/v1" + path.replace("{task_id}", kw.pop("id", str(tid))).replace(
            "{code}", kw.pop("id", ""))
        if user is None:
            r = await api.http.request(method, url, **kw)
        else:
            r = await api.as_(user, method, url, **kw)
        assert r.status_code == status, (method, url, r.text)
        _error_shape(r)
        documented = doc["paths"][path][method.lower()]["responses"]
        assert str(status) in documented, f"{method} {path} answers {status}, undocumented"


async def test_unknown_api_paths_and_methods_answer_in_json(api: ApiClient) -> None:
    """404 and 405 under /api/v1 use the error shape too, with Allow on 405."""
    r = await api.as_("p0-1", "GET", "/api/v1/no-such-thing")
    assert r.status_code == 404
    assert _error_shape(r)["code"] == "not_found"
    r = await api.as_("p0-1", "DELETE", "/api/v1/tasks/1")
    assert r.status_code == 405
    assert _error_shape(r)["code"] == "method_not_allowed"
    assert r.headers["allow"] == "GET, HEAD"
    r = await api.as_("p0-1", "GET", "/api/v1/tasks/1/claim")
    assert r.status_code == 405 and r.headers["allow"] == "POST"
