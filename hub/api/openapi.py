"""The OpenAPI 3.1 document for ``/api/v1``, written out by hand so it states the contract rather
than whatever the code happens to accept (tests/hub/api/test_contract.py checks every route is in
it and every path in it is routed)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from hub.api.openapi_feedback import FEEDBACK_PATHS
from hub.api.openapi_queue import QUEUE_PATHS


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERRORS = {
    "400": _json(_ref("Error"), "Malformed JSON"),
    "401": _json(_ref("Error"), "Not signed in"),
    "403": _json(_ref("Error"), "Not allowed for this role or unit"),
    "404": _json(_ref("Error"), "No such task"),
    "409": _json(_ref("Error"), "Conflict: already claimed, stale version, not allowed now"),
    "422": _json(_ref("Error"), "Invalid input"),
}


def _action(summary: str, body: dict[str, Any] | None = None, *,
            status: str = "200") -> dict[str, Any]:
    props: dict[str, Any] = {"version": {"type": "integer", "description":
                             "the version you saw; 409 stale_version if it changed"}}
    required: list[str] = []
    if body:
        props.update(body)
        required = list(body)
    return {"post": {
        "summary": summary, "security": [{"bearer": []}],
        "parameters": [{"name": "task_id", "in": "path", "required": True,
                        "schema": {"type": "integer"}}],
        "requestBody": {"content": {"application/json": {"schema": {
            "type": "object", "properties": props, "required": required}}}},
        "responses": {status: _json(_ref("TaskDetail")), **_ERRORS},
    }}


_TEXT = {"type": "string", "minLength": 1, "maxLength": 1000}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "PTSA Hub API", "version": "1.0.0", "description":
             "Tasks of the Kemnaker one-stop service hall (PTSA). Errors are "
             "{\"error\": {\"code\", \"message\"}}. Live events: WebSocket /ws, docs/PROTOCOL.md."},
    "servers": [{"url": "/api/v1"}],
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                "type": "object", "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
            "Unit": {"type": "object", "properties": {
                "code": {"type": "string"}, "name": {"type": "string"},
                "level": {"enum": ["front", "eselon1", "eselon2"]},
                "parent": {"type": ["string", "null"]}}},
            "Service": {"type": "object", "properties": {
                "code": {"type": "string"}, "name": {"type": "string"},
                "eselon1": {"type": "string"}, "eselon2": {"type": "string"},
                "sop_days": {"type": "integer"}}},
            "Applicant": {"type": "object", "required": ["name"], "properties": {
                "name": {"type": "string", "maxLength": 120},
                "organisation": {"type": "string", "maxLength": 200},
                "phone": {"type": "string", "maxLength": 30},
                "email": {"type": "string", "maxLength": 200}}},
            "Task": {"type": "object", "properties": {
                "id": {"type": "integer"}, "code": {"type": "string",
                                                    "example": "PTSA-20261127-0042"},
                "status": {"enum": ["queued", "claimed", "on_hold", "returned", "completed"]},
                "level": {"enum": ["p0", "p1", "p2"]}, "unit": {"type": "string"},
                "assignee": {"type": ["object", "null"]}, "version": {"type": "integer"},
                "service": {"type": "string"}, "due_at": {"type": ["string", "null"]},
                "pickup_due_at": {"type": ["string", "null"]}}},
            "TaskDetail": {"allOf": [_ref("Task"), {"type": "object", "properties": {
                "history": {"type": "array"}, "clocks": {"type": "array"},
                "messages": {"type": "array"}}}]},
        },
    },
    "paths": {
        "/auth/token": {"post": {
            "summary": "Exchange a username and password for a bearer token",
            "requestBody": {"content": {"application/json": {"schema": {
                "type": "object", "required": ["username", "password"],
                "properties": {"username": {"type": "string"},
                               "password": {"type": "string"}}}}}},
            "responses": {"200": _json({"type": "object", "properties": {
                "access_token": {"type": "string"}, "token_type": {"const": "bearer"}}}),
                "401": _ERRORS["401"], "429": _json(_ref("Error"), "Throttled")}}},
        "/me": {"get": {"summary": "The signed-in staff member and their channels",
                        "security": [{"bearer": []}], "responses": {"200": _json({})}}},
        "/calendar/open": {"get": {
            "summary": "The office's open spans (45 days back, 75 ahead) for working-time "
                       "countdowns", "security": [{"bearer": []}],
            "responses": {"200": _json({"type": "object", "properties": {
                "from": {"type": "string"}, "to": {"type": "string"},
                "working_day_seconds": {"type": "integer"},
                "spans": {"type": "array", "items": {"type": "array",
                                                     "items": {"type": "string"}}}}}),
                "401": _ERRORS["401"]}}},
        "/me/unread": {"get": {
            "summary": "The caller's unread messages per task", "security": [{"bearer": []}],
            "responses": {"200": _json({"type": "object", "properties": {
                "total": {"type": "integer"}, "tasks": {"type": "array", "items": {
                    "type": "object", "properties": {"id": {"type": "integer"},
                                                     "code": {"type": "string"},
                                                     "count": {"type": "integer"}}}}}}),
                "401": _ERRORS["401"]}}},
        "/services": {"get": {"summary": "The service catalogue; public without credentials "
                                         "(published standards only)",
                              "security": [{}, {"bearer": []}],
                              "responses": {"200": _json({"type": "array",
                                                          "items": _ref("Service")})}}},
        "/units": {"get": {"summary": "Front office, Eselon I and Eselon II units",
                           "security": [{"bearer": []}],
                           "responses": {"200": _json({"type": "array",
                                                       "items": _ref("Unit")})}}},
        "/tasks": {
            "post": {"summary": "Register a request (P0)", "security": [{"bearer": []}],
                     "requestBody": {"content": {"application/json": {"schema": {
                         "type": "object", "required": ["service", "applicant"],
                         "properties": {"service": {"type": "string"},
                                        "applicant": _ref("Applicant"),
                                        "documents": {"type": "array",
                                                      "items": {"type": "string"}},
                                        "description": {"type": "string",
                                                        "maxLength": 4000}}}}}},
                     "responses": {"201": _json(_ref("TaskDetail"), "Registered"), **_ERRORS}},
            "get": {"summary": "Tasks the caller may see, newest first",
                    "security": [{"bearer": []}],
                    "parameters": [{"name": n, "in": "query", "schema": {"type": "string"}}
                                   for n in ("q", "service", "from", "to", "level", "unit",
                                             "status", "assignee", "overdue", "since", "limit",
                                             "offset")],
                    "responses": {"200": _json({"type": "object", "properties": {
                        "items": {"type": "array", "items": _ref("Task")}}}), **_ERRORS}},
        },
        "/tasks/{task_id}": {"get": {
            "summary": "One task with history, clocks and messages", "security": [{"bearer": []}],
            "parameters": [{"name": "task_id", "in": "path", "required": True,
                            "schema": {"type": "integer"}}],
            "responses": {"200": _json(_ref("TaskDetail")), **_ERRORS}}},
        "/tasks/{task_id}/claim": _action("Claim a queued task at your desk"),
        "/tasks/{task_id}/dispose": _action("Route (disposisi) to an Eselon II unit (P1)",
                                            {"unit": {"type": "string"}}),
        "/tasks/{task_id}/return": _action("Return to the previous level", {"reason": _TEXT}),
        "/tasks/{task_id}/hold": _action("Hold while waiting for the applicant",
                                         {"reason": _TEXT}),
        "/tasks/{task_id}/resume": _action("Resume a held task"),
        "/tasks/{task_id}/resubmit": _action("Send a returned task to P1 again (P0)"),
        "/tasks/{task_id}/messages": _action("Post a message on the task's thread",
                                             {"body": {"type": "string", "minLength": 1,
                                                       "maxLength": 4000}}, status="201"),
        "/tasks/{task_id}/complete": _action("Complete the task (P2)",
                                             {"result": {"type": "string", "minLength": 1,
                                                         "maxLength": 4000}}),
        # Supervisor actions (a supervisor within scope, or an admin; hub/domain/supervision.py)
        "/tasks/{task_id}/reassign": _action("Reassign to an active desk of the holding unit",
                                             {"to": {"type": "string"}, "reason": _TEXT}),
        "/tasks/{task_id}/release": _action("Release a claimed task to its unit's queue",
                                            {"reason": _TEXT}),
        "/tasks/{task_id}/takeover": _action("A supervisor of the holding unit claims it",
                                             {"reason": _TEXT}),
        "/tasks/{task_id}/reroute": _action("Re-route a disposition to another Eselon II unit",
                                            {"unit": {"type": "string"}, "reason": _TEXT}),
        "/track/{code}": {"get": {
            "summary": "Public: an applicant's view of their request (no sign-in); survey_url "
                       "while its SKM questionnaire may be answered. With a complaint number "
                       "(ADU-...): {number, kind: complaint, status, submitted_at, due_at, "
                       "reply, replied_at}",
            "parameters": [{"name": "code", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "responses": {"200": _json({"type": "object"}), "404": _ERRORS["404"]}}},
        "/kpi": {"get": {
            "summary": "KPIs per Eselon I unit, Eselon II unit or service: pickups and P1 "
                       "handling within SLA, completions "
                       "within SOP, median and 90th percentile times, counts, weekly trend",
            "security": [{"bearer": []}],
            "parameters": [
                {"name": "by", "in": "query",
                 "schema": {"enum": ["unit", "eselon1", "service"]}},
                {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
                {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}},
                {"name": "weeks", "in": "query",
                 "schema": {"type": "integer", "minimum": 1, "maximum": 52}},
                {"name": "unit", "in": "query", "schema": {"type": "string"}},
                {"name": "service", "in": "query", "schema": {"type": "string"}},
                {"name": "format", "in": "query", "schema": {"enum": ["json", "csv", "excel"]}}],
            "responses": {"200": {"description": "The report", "content": {
                "application/json": {"schema": {"type": "object", "properties": {
                    "by": {"type": "string"}, "from": {"type": "string"},
                    "to": {"type": "string"}, "groups": {"type": "array"},
                    "totals": {"type": "object"},
                    "hall": {"type": "object", "description": "Only for P0, admin and the "
                             "front office's supervisor: the hall queue over from-to",
                             "properties": {k: {"type": t} for k, t in (
                                 ("called", "integer"), ("average_wait_minutes", "number"),
                                 ("within_target", "integer"), ("over_target", "integer"),
                                 ("average_service_minutes", "number"),
                                 ("wait_target_minutes", "number"), ("no_shows", "integer"))}}}}},
                "text/csv": {"schema": {"type": "string"}}}},
                "401": _ERRORS["401"], "422": _ERRORS["422"]}}},
        "/sla/{clock_id}/ack": {"post": {
            "summary": "Acknowledge an SLA breach (a supervisor of the unit, or an admin): the "
                       "banner goes from every screen of the scope (event sla.acknowledged). "
                       "Repeating it is harmless and keeps the first who and when",
            "security": [{"bearer": []}],
            "parameters": [{"name": "clock_id", "in": "path", "required": True,
                            "schema": {"type": "integer"}}],
            "responses": {"200": _json({"type": "object", "properties": {
                "clock": {"type": "object"},
                "task": {"type": "object", "properties": {"id": {"type": "integer"},
                                                          "code": {"type": "string"}}},
                "acknowledged_at": {"type": "string"},
                "acknowledged_by": {"type": ["object", "null"]},
                "recorded": {"type": "boolean", "description":
                             "false: acknowledged before; nothing changed"}}}),
                "401": _ERRORS["401"],
                "403": _json(_ref("Error"), "Not a supervisor of the breach's unit or an admin"),
                "404": _json(_ref("Error"), "No such SLA clock"),
                "409": _json(_ref("Error"), "The clock is not breached (not_breached)")}}},
        **FEEDBACK_PATHS,
        "/openapi.json": {"get": {"summary": "This document",
                                  "responses": {"200": _json({"type": "object"})}}},
    },
}


DOCUMENT["paths"].update(QUEUE_PATHS)
DOCUMENT["components"]["securitySchemes"]["device"] = {
    "type": "http", "scheme": "device",
    "description": "Authorization: Device <token> of a kiosk or hall display (ptsa device add)"}
def _add_shared_answers(document: dict[str, Any]) -> None:
    """Statuses any operation can answer, added where an operation does not describe its own:
    400 (an address with control characters; a malformed JSON body), 401 behind a bearer
    token, 413 and 422 with a request body, 429 on the rate-limited public lookup."""
    shared = {"400": _json(_ref("Error"), "Malformed: bad_url, or bad_json for a body"),
              "413": _json(_ref("Error"), "Body over 64 KiB (too_large)"),
              "429": _json(_ref("Error"), "Too many requests (Retry-After)")}
    for path, item in document["paths"].items():
        for operation in item.values():
            answers = operation.setdefault("responses", {})
            answers.setdefault("400", shared["400"])
            if operation.get("security"):
                answers.setdefault("401", _ERRORS["401"])
            if "requestBody" in operation:
                answers.setdefault("413", shared["413"])
                answers.setdefault("422", _ERRORS["422"])
            if path.startswith("/track/"):
                answers.setdefault("429", shared["429"])


_add_shared_answers(DOCUMENT)


async def openapi_endpoint(request: Request) -> JSONResponse:
    return JSONResponse(DOCUMENT)
