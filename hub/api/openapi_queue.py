"""The hall queue's part of the OpenAPI document (``/queue...``), merged by hub/api/openapi.py.
Contract and examples: docs/API.md, "Hall queue"."""

from __future__ import annotations

from typing import Any


def _err(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}}


def _ok(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


TICKET: dict[str, Any] = {"type": "object", "properties": {
    "id": {"type": "integer"}, "number": {"type": "string", "examples": ["A-012"]},
    "group": {"type": "string"}, "status": {"enum": ["waiting", "called", "no_show", "served"]},
    "taken_at": {"type": "string"}, "called_at": {"type": ["string", "null"]},
    "last_called_at": {"type": ["string", "null"]}, "counter": {"type": ["string", "null"]},
    "calls": {"type": "integer"}, "returns": {"type": "integer"},
    "served_at": {"type": ["string", "null"]}, "task_id": {"type": ["integer", "null"]}}}
DEVICE_OR_STAFF: list[dict[str, list[str]]] = [{"device": []}, {"bearer": []}]
STAFF: list[dict[str, list[str]]] = [{"bearer": []}]
_COMMON = {"401": _err("Not signed in, or an unknown/revoked device token (device_unknown, "
                       "device_revoked)"),
           "403": _err("Not allowed for this role or device kind")}


def _ticket_action(summary: str, body: dict[str, Any] | None = None,
                   conflict: str = "Not possible in the ticket's state (ticket_state)"
                   ) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary, "security": STAFF,
        "parameters": [{"name": "ticket_id", "in": "path", "required": True,
                        "schema": {"type": "integer"}}],
        "responses": {"200": _ok(TICKET), **_COMMON, "404": _err("No such ticket"),
                      "409": _err(conflict), "422": _err("Invalid input")}}
    if body:
        operation["requestBody"] = {"content": {"application/json": {"schema": {
            "type": "object", "properties": body, "required": list(body)}}}}
    return {"post": operation}


QUEUE_PATHS: dict[str, Any] = {
    "/queue": {"get": {
        "summary": "The hall: groups with waiting counts, the last call per counter, the "
                   "latest calls, the running text, overdue waits and today's waiting KPI",
        "security": DEVICE_OR_STAFF,
        "responses": {"200": _ok({"type": "object", "properties": {
            "day": {"type": "string"}, "groups": {"type": "array"},
            "counters": {"type": "array"}, "last_calls": {"type": "array"},
            "running_text": {"type": "string"}, "wait_target_minutes": {"type": "number"},
            "overdue": {"type": "integer"}, "kpi": {"type": "object"}}}), **_COMMON}}},
    "/queue/tickets": {"post": {
        "summary": "Take a ticket (a kiosk device, a P0 or an admin); numbering per group "
                   "restarts each working day",
        "security": DEVICE_OR_STAFF,
        "requestBody": {"content": {"application/json": {"schema": {
            "type": "object", "required": ["group"],
            "properties": {"group": {"type": "string", "examples": ["A"]}}}}}},
        "responses": {"201": _ok({"allOf": [TICKET, {"type": "object", "properties": {
            "group_name": {"type": "string"}, "ahead": {"type": "integer"},
            "estimated_wait_minutes": {"type": "integer"}, "day": {"type": "string"}}}]},
            "Created"), **_COMMON,
            "409": _err("The hall is closed (closed, with next_open)"),
            "422": _err("Unknown group")}}},
    "/queue/call": {"post": {
        "summary": "Call the next waiting ticket of the groups this counter serves",
        "security": STAFF,
        "requestBody": {"content": {"application/json": {"schema": {
            "type": "object", "required": ["counter"],
            "properties": {"counter": {"type": "string", "examples": ["loket-3"]}}}}}},
        "responses": {"200": _ok({"allOf": [TICKET, {"type": "object", "properties": {
            "announcement": {"type": "string"}}}]}), **_COMMON,
            "409": _err("Nobody is waiting (queue_empty)"), "422": _err("Unknown counter")}}},
    "/queue/tickets/{ticket_id}/recall": _ticket_action("Call the same ticket again"),
    "/queue/tickets/{ticket_id}/skip": _ticket_action("The called applicant did not come "
                                                      "(no_show)"),
    "/queue/tickets/{ticket_id}/return": _ticket_action(
        "A no-show came back: waiting again, at the back of the line (once)"),
    "/queue/tickets/{ticket_id}/transfer": _ticket_action(
        "Move a waiting or called ticket to another group", {"group": {"type": "string"}}),
    "/queue/text": {"post": {
        "summary": "Set the hall display's running text (admin)", "security": STAFF,
        "requestBody": {"content": {"application/json": {"schema": {
            "type": "object", "required": ["text"],
            "properties": {"text": {"type": "string", "maxLength": 300}}}}}},
        "responses": {"200": _ok({"type": "object"}), **_COMMON,
                      "422": _err("Not a string of at most 300 characters")}}},
}
