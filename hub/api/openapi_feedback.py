"""The SKM survey, IKM and complaints part of the OpenAPI document (merged into
``hub.api.openapi``)."""

from __future__ import annotations

from typing import Any

_ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ANSWER = {"type": "integer", "minimum": 1, "maximum": 4}
_FIGURES = {
    "ikm": {"type": ["number", "null"], "minimum": 25, "maximum": 100,
            "description": "the IKM on the 25-100 scale, two decimals; null without answers"},
    "mutu": {"enum": ["A", "B", "C", "D", None]},
    "label": {"type": ["string", "null"], "description": "Sangat baik, Baik, Kurang baik, "
                                                         "Tidak baik"},
    "respondents": {"type": "integer"},
    "elements": {"type": "array", "items": {"type": "number"}, "minItems": 9, "maxItems": 9,
                 "description": "NRR per element, in the regulation's order"},
    "population": {"type": "integer", "description": "requests completed in the period"},
    "min_sample": {"type": "integer", "description": "Krejcie-Morgan minimum for population"},
    "sample_ok": {"type": "boolean"},
}

FEEDBACK_PATHS: dict[str, Any] = {
    "/survey/{token}": {"post": {
        "summary": "Public: answer the SKM questionnaire of a completed request (PermenPANRB "
                   "14/2017) with its one-time link's token; anonymous",
        "parameters": [{"name": "token", "in": "path", "required": True,
                        "schema": {"type": "string"}}],
        "requestBody": {"content": {"application/json": {"schema": {
            "type": "object", "required": ["answers"], "properties": {
                "answers": {"type": "array", "items": _ANSWER, "minItems": 9, "maxItems": 9,
                            "description": "persyaratan; sistem, mekanisme dan prosedur; waktu "
                                           "penyelesaian; biaya/tarif; produk spesifikasi jenis "
                                           "pelayanan; kompetensi pelaksana; perilaku "
                                           "pelaksana; penanganan pengaduan, saran dan masukan; "
                                           "sarana dan prasarana"},
                "profile": {"type": "object", "properties": {
                    "age_group": {"enum": ["<20", "20-29", "30-39", "40-49", "50-59", "60+"]},
                    "sex": {"enum": ["L", "P"]},
                    "education": {"enum": ["SD", "SMP", "SMA", "D1-D3", "D4-S1", "S2+"]},
                    "occupation": {"enum": ["PNS", "TNI", "POLRI", "SWASTA", "WIRAUSAHA",
                                            "LAINNYA"]}}},
                "suggestion": {"type": "string", "maxLength": 2000}}}}}},
        "responses": {
            "201": _json({"type": "object", "properties": {"status": {"const": "recorded"}}},
                         "Recorded"),
            "404": _json(_ERROR, "Unknown link (not_found)"),
            "409": _json(_ERROR, "Already answered (answered)"),
            "410": _json(_ERROR, "The link expired (expired), PTSA_SURVEY_DAYS after completion"),
            "413": _json(_ERROR, "Body over 64 KiB"),
            "422": _json(_ERROR, "Answers not nine integers 1-4, unknown profile value, or "
                                 "suggestion too long; nothing stored")}}},
    "/skm": {"get": {
        "summary": "The IKM (PermenPANRB 14/2017) per Eselon II unit, rolled up to Eselon I and "
                   "the caller's whole scope, per service, with a weekly trend",
        "security": [{"bearer": []}],
        "parameters": [
            {"name": "unit", "in": "query", "schema": {"type": "string"}},
            {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
            {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}},
            {"name": "format", "in": "query", "schema": {"enum": ["json", "csv"]}}],
        "responses": {
            "200": {"description": "The report", "content": {
                "application/json": {"schema": {"type": "object", "properties": {
                    **_FIGURES, "from": {"type": "string"}, "to": {"type": "string"},
                    "unit": {"type": ["string", "null"]},
                    "scope": {"description": "\"all\" or the unit codes covered"},
                    "element_names": {"type": "array", "items": {"type": "string"}},
                    "units": {"type": "array", "items": {"type": "object", "properties": {
                        "code": {"type": "string"}, "name": {"type": "string"},
                        "level": {"type": "string"}, "parent": {"type": ["string", "null"]},
                        **_FIGURES}}},
                    "services": {"type": "array", "items": {"type": "object"}},
                    "trend": {"type": "array", "items": {"type": "object", "properties": {
                        "start": {"type": "string"}, "ikm": {"type": ["number", "null"]},
                        "respondents": {"type": "integer"}}}}}}},
                "text/csv": {"schema": {"type": "string"}}}},
            "401": _json(_ERROR, "Not signed in"),
            "403": _json(_ERROR, "The unit is outside the caller's scope"),
            "422": _json(_ERROR, "Bad date, reversed or over-400-day period, unknown unit or "
                                 "format")}}},
}

_COMPLAINT = {"type": "object", "properties": {
    "id": {"type": "integer"}, "number": {"type": "string", "example": "ADU-20261205-KRHFGL"},
    "unit": {"type": "string"}, "eselon1": {"type": ["string", "null"]},
    "eselon2": {"type": ["string", "null"]}, "registration": {"type": ["string", "null"]},
    "text": {"type": "string", "description": "the first 300 characters"},
    "status": {"enum": ["open", "answered"]}, "created_at": {"type": "string"},
    "due_at": {"type": "string"}, "breached_at": {"type": ["string", "null"]},
    "replied_at": {"type": ["string", "null"]},
    "can_reply": {"type": "boolean", "description": "the complainant left a phone or e-mail"}}}

FEEDBACK_PATHS.update({
    "/complaints": {
        "post": {
            "summary": "Public: file a complaint (pengaduan); 5 per address per 10 minutes",
            "requestBody": {"content": {"application/json": {"schema": {
                "type": "object", "required": ["text"], "properties": {
                    "text": {"type": "string", "minLength": 1, "maxLength": 4000},
                    "registration": {"type": "string", "maxLength": 30},
                    "name": {"type": "string", "maxLength": 120},
                    "phone": {"type": "string", "maxLength": 30},
                    "email": {"type": "string", "maxLength": 200}}}}}},
            "responses": {
                "201": _json({"type": "object", "properties": {
                    "number": {"type": "string"}, "due_at": {"type": "string"},
                    "status": {"const": "open"}}}, "Filed"),
                "413": _json(_ERROR, "Body over 64 KiB"),
                "422": _json(_ERROR, "Empty or oversized text, unknown registration number, "
                                     "malformed phone or e-mail; nothing stored"),
                "429": _json(_ERROR, "Too many complaints from this address (rate_limited)")}},
        "get": {
            "summary": "Open complaints within the caller's scope, earliest deadline first",
            "security": [{"bearer": []}],
            "responses": {"200": _json({"type": "object", "properties": {
                "items": {"type": "array", "items": _COMPLAINT}}}),
                "401": _json(_ERROR, "Not signed in")}}},
    "/complaints/{number}/reply": {"post": {
        "summary": "Answer a complaint once; shown on tracking and sent to the complainant",
        "security": [{"bearer": []}],
        "parameters": [{"name": "number", "in": "path", "required": True,
                        "schema": {"type": "string"}}],
        "requestBody": {"content": {"application/json": {"schema": {
            "type": "object", "required": ["reply"], "properties": {
                "reply": {"type": "string", "minLength": 1, "maxLength": 4000}}}}}},
        "responses": {"200": _json(_COMPLAINT),
                      "401": _json(_ERROR, "Not signed in"),
                      "403": _json(_ERROR, "The complaint belongs to another unit"),
                      "404": _json(_ERROR, "No such complaint"),
                      "409": _json(_ERROR, "Already answered (answered)"),
                      "422": _json(_ERROR, "Empty or oversized reply")}}},
    "/complaints/{number}/forward": {"post": {
        "summary": "Triage: the front office supervisor (or an admin) gives an open complaint "
                   "to an Eselon I or II unit; its deadline stays",
        "security": [{"bearer": []}],
        "parameters": [{"name": "number", "in": "path", "required": True,
                        "schema": {"type": "string"}}],
        "requestBody": {"content": {"application/json": {"schema": {
            "type": "object", "required": ["unit"], "properties": {"unit": {"type": "string"}}}}}},
        "responses": {"200": _json(_COMPLAINT),
                      "401": _json(_ERROR, "Not signed in"),
                      "403": _json(_ERROR, "Not the front office supervisor or an admin"),
                      "404": _json(_ERROR, "No such complaint"),
                      "409": _json(_ERROR, "Already answered (answered)"),
                      "422": _json(_ERROR, "Not an Eselon I or II unit")}}},
})
