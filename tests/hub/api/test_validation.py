"""Bad input is refused with a 4xx and a message, never a 500, and a refused command writes
nothing: no task, no history event, no outbox row, no clock, no version bump."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col

from hub.models import Staff
from tests.conftest import ApiClient
from tests.support.api import signed_api
from tests.support.dbstate import row_counts, task_row

P0, P1, P2 = "p0-1", "p1-barenbang-1", "p2-pusdatin-1"
GOOD_APPLICANT = {"name": "Siti Rahma", "organisation": "CV Sejahtera", "phone": "0813 2222 3333",
                  "email": "siti@example.id"}


@pytest.fixture
async def api(app: Any) -> AsyncIterator[ApiClient]:
    """Demo users with signed tokens (signing in itself is tested in test_api_auth.py)."""
    async with signed_api(app) as client:
        yield client


def refused(r: httpx.Response, status: int, code: str | None = None,
            case: str = "") -> dict[str, Any]:
    """The response is the documented error shape with this status (and code)."""
    assert r.status_code == status, f"{case}: {r.status_code} {r.text}"
    assert r.headers["content-type"].startswith("application/json"), case
    error = r.json()["error"]
    assert isinstance(error["code"], str) and isinstance(error["message"], str), case
    assert error["message"], case
    if code is not None:
        assert error["code"] == code, f"{case}: {error}"
    return error  # type: ignore[no-any-return]


class Unchanged:
    """Asserts the database's command tables did not change across a block."""

    def __init__(self, app: Any) -> None:
        self.db = app.state.ctx.db

    async def __aenter__(self) -> None:
        self.before = await row_counts(self.db)

    async def __aexit__(self, *exc: object) -> None:
        if exc[0] is None:
            assert await row_counts(self.db) == self.before


@pytest.fixture
async def claimed(api: ApiClient) -> AsyncIterator[dict[str, Any]]:
    """A data-informasi request claimed by p1-barenbang-1 (version 2)."""
    task = await api.register()
    r = await api.as_(P1, "POST", f"/api/v1/tasks/{task['id']}/claim", json={})
    assert r.status_code == 200
    yield r.json()


def _register_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"service": "data-informasi", "applicant": dict(GOOD_APPLICANT),
                            "description": "Data TKA 2025"}
    body.update(changes)
    return body


REGISTRATION_REFUSALS = [
    ("unknown service", _register_body(service="no-such-service"), 422, "invalid"),
    ("service not text", _register_body(service=42), 422, "invalid"),
    ("missing service", {"applicant": GOOD_APPLICANT}, 422, "invalid"),
    ("missing applicant", _register_body(applicant=None), 422, "invalid"),
    ("applicant not an object", _register_body(applicant="Siti"), 422, "invalid"),
    ("applicant without name", _register_body(applicant={"phone": "0813 2222 3333"}), 422,
     "invalid"),
    ("bad phone", _register_body(applicant={**GOOD_APPLICANT, "phone": "call me"}), 422,
     "invalid"),
    ("bad email", _register_body(applicant={**GOOD_APPLICANT, "email": "siti@"}), 422,
     "invalid"),
    ("no way to reach the applicant",
     _register_body(applicant={"name": "Siti", "phone": "", "email": ""}), 422, "invalid"),
    ("control characters", _register_body(applicant={**GOOD_APPLICANT, "name": "Si\x00ti"}),
     422, "invalid"),
    ("oversized description", _register_body(description="x" * 4001), 422, "invalid"),
    ("description not text", _register_body(description=["a"]), 422, "invalid"),
    ("oversized name", _register_body(applicant={**GOOD_APPLICANT, "name": "n" * 121}), 422,
     "invalid"),
]


async def test_bad_registration_is_refused_and_writes_nothing(api: ApiClient, app: Any) -> None:
    """Each malformed registration is a 4xx naming the problem, with no row written."""
    async with Unchanged(app):
        for case, body, status, code in REGISTRATION_REFUSALS:
            r = await api.as_(P0, "POST", "/api/v1/tasks", json=body)
            refused(r, status, code, case)
    # Nothing half-written: not even a registration number was used up.
    assert (await api.register())["code"].endswith("-0001")


async def test_largest_allowed_description_is_accepted(api: ApiClient) -> None:
    """4000 characters is the limit, not one less."""
    r = await api.as_(P0, "POST", "/api/v1/tasks", json=_register_body(description="d" * 4000))
    assert r.status_code == 201, r.text


async def test_only_front_office_registers(api: ApiClient, app: Any) -> None:
    """A P1, P2 or supervisor registering gets 403 and nothing is written."""
    async with Unchanged(app):
        for user in (P1, P2, "spv-barenbang"):
            r = await api.as_(user, "POST", "/api/v1/tasks", json=_register_body())
            refused(r, 403, "forbidden", user)


BODY_REFUSALS = [
    (b'{"service": ', 400, "bad_json"),
    (b"\xff\xfe not utf-8", 400, "bad_json"),
    (b'["data-informasi"]', 400, "bad_json"),
    (b'"just a string"', 400, "bad_json"),
    (b"null", 400, "bad_json"),
    (json.dumps(_register_body(description="x" * 70_000)).encode(), 413, "too_large"),
]


async def test_malformed_or_oversized_body(api: ApiClient, app: Any) -> None:
    """Broken JSON or a non-object is 400; a body over 64 KiB is 413 (registering or acting)."""
    task = await api.register()
    async with Unchanged(app):
        for content, status, code in BODY_REFUSALS:
            for user, path in [(P0, "/api/v1/tasks"), (P1, f"/api/v1/tasks/{task['id']}/claim")]:
                r = await api.as_(user, "POST", path, content=content)
                refused(r, status, code, f"{path} {content[:20]!r}")


async def test_oversized_body_without_length_header_is_cut_off(api: ApiClient, app: Any) -> None:
    """A streamed (chunked) body is counted as it arrives and refused once it passes 64 KiB."""

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b" " * 1024

    token = await api.token(P0)
    async with Unchanged(app):
        r = await api.http.post("/api/v1/tasks", content=chunks(),
                                headers={"Authorization": f"Bearer {token}"})
        refused(r, 413, "too_large")


DISPOSE_REFUSALS = [
    ("Eselon II of another Eselon I", {"unit": "ptkln"}),
    ("the task's own Eselon I", {"unit": "barenbang"}),
    ("another Eselon I", {"unit": "binapenta"}),
    ("the front office", {"unit": "ptsa"}),
    ("unknown unit", {"unit": "no-such-unit"}),
    ("no unit", {}),
    ("blank unit", {"unit": "  "}),
    ("unit not text", {"unit": ["pusdatin"]}),
]


async def test_dispose_only_to_an_eselon2_under_the_tasks_eselon1(
        api: ApiClient, app: Any, claimed: dict[str, Any]) -> None:
    """Disposition targets outside the task's Eselon I are 422 on the unit field."""
    async with Unchanged(app):
        for case, body in DISPOSE_REFUSALS:
            r = await api.as_(P1, "POST", f"/api/v1/tasks/{claimed['id']}/dispose", json=body)
            assert refused(r, 422, "invalid", case)["field"] == "unit", case
    assert (await task_row(app.state.ctx.db, claimed["id"])).version == claimed["version"]


TEXT_REFUSALS = [
    ("return", {"reason": "   "}), ("return", {}), ("hold", {"reason": ""}), ("hold", {}),
    ("hold", {"reason": "r" * 1001}), ("hold", {"reason": 7}),
    ("messages", {"body": ""}), ("messages", {"body": "m" * 4001}), ("messages", {}),
    ("complete", {"result": ""}),
]


async def test_reasons_and_texts_must_be_given_and_bounded(
        api: ApiClient, app: Any, claimed: dict[str, Any]) -> None:
    """Empty, missing, non-text or oversized reasons and messages are 422 and change nothing."""
    async with Unchanged(app):
        for action, body in TEXT_REFUSALS:
            r = await api.as_(P1, "POST", f"/api/v1/tasks/{claimed['id']}/{action}", json=body)
            refused(r, 422, "invalid", f"{action} {str(body)[:40]}")


async def test_wrong_role_stale_version_and_unknown_task(api: ApiClient, app: Any,
                                                         claimed: dict[str, Any]) -> None:
    """P0 claiming is 403; an old version is 409 stale_version; unknown ids are 404."""
    tid = claimed["id"]
    other = await api.register()
    async with Unchanged(app):
        refused(await api.as_(P0, "POST", f"/api/v1/tasks/{other['id']}/claim", json={}), 403)
        r = await api.as_(P1, "POST", f"/api/v1/tasks/{tid}/hold",
                          json={"reason": "menunggu", "version": 1})
        assert refused(r, 409, "stale_version")["version"] == 2
        for bad in ("abc", 0, -1, True, 1.5):
            r = await api.as_(P1, "POST", f"/api/v1/tasks/{tid}/hold",
                              json={"reason": "menunggu", "version": bad})
            refused(r, 422, "invalid")
        refused(await api.as_(P1, "POST", "/api/v1/tasks/987654/claim", json={}), 404)
        refused(await api.as_(P1, "GET", "/api/v1/tasks/987654"), 404, "not_found")
        for path in ("abc", "1e3", "-1", "9" * 30):
            refused(await api.as_(P1, "GET", f"/api/v1/tasks/{path}"), 404, "not_found")
            refused(await api.as_(P1, "POST", f"/api/v1/tasks/{path}/claim", json={}), 404)


async def test_unauthenticated_and_bad_tokens_are_401_with_challenge(api: ApiClient,
                                                                    app: Any) -> None:
    """No token, a forged token or a malformed header: 401 with WWW-Authenticate: Bearer."""
    task = await api.register()
    cases: list[dict[str, str]] = [
        {}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Bearer "},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer " + (await api.token(P1))[:-3] + "AAA"},
    ]
    async with Unchanged(app):
        for headers in cases:
            for method, path in [("GET", "/api/v1/tasks"), ("GET", f"/api/v1/tasks/{task['id']}"),
                                 ("POST", f"/api/v1/tasks/{task['id']}/claim"),
                                 ("POST", "/api/v1/tasks"), ("GET", "/api/v1/me"),
                                 ("GET", "/api/v1/units"), ("GET", "/api/v1/services")]:
                if not headers and path == "/api/v1/services":
                    continue  # public: the published service standards (test_public_services.py)
                r = await api.http.request(method, path, headers=headers, json={})
                refused(r, 401)
                assert r.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("change", [{"active": False}, {"session_epoch": 1}],
                         ids=["deactivated", "epoch-bumped"])
async def test_token_stops_working_when_account_is_revoked(
        api: ApiClient, app: Any, change: dict[str, Any]) -> None:
    """Deactivating an account or bumping its session epoch kills its existing tokens."""
    task = await api.register()
    assert (await api.as_(P1, "GET", "/api/v1/me")).status_code == 200
    async with app.state.ctx.db.write() as session:
        await session.exec(update(Staff).where(col(Staff.username) == P1).values(**change))
    async with Unchanged(app):
        refused(await api.as_(P1, "GET", "/api/v1/me"), 401, "revoked")
        refused(await api.as_(P1, "POST", f"/api/v1/tasks/{task['id']}/claim", json={}), 401)
