"""The OpenAPI 3.1 document of the public JSON API."""

from __future__ import annotations

from typing import Any

_ERRORS = {"type": "object", "properties": {"errors": {
    "type": "object", "additionalProperties": {"type": "string"},
    "description": "Message per invalid field (answers.U3, wait_band, profile.sex, …), "
                   "in the language of ?lang=id|en, else Indonesian when Accept-Language "
                   "prefers id, else English (the same for the error of a 400, 404, 409, 413)."}}}
_ERROR = {"type": "object", "properties": {"error": {"type": "string"}}}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _indicators_path() -> tuple[dict[str, Any], dict[str, Any]]:
    """GET /indicators and its security schemes (staff session or personal token)."""
    _nullable_number = {"type": ["number", "null"]}
    _nullable_int = {"type": ["integer", "null"]}
    indicator_row = {
        "type": "object",
        "required": ["scope", "unit", "period", "period_start", "survey", "n", "ikm", "category",
                     "category_label", "nrr", "wait_bands", "measured", "flagged", "comments"],
        "properties": {
            "scope": {"type": "string", "enum": ["unit", "counter", "service", "officer"]},
            "unit": {"type": "string", "description": "Unit code."},
            "counter": {"type": "string", "description": "Counter code (scope=counter only)."},
            "service": {"type": "string", "description": "Service code (scope=service only)."},
            "officer": {"type": "string", "description": "The officer's NIP (scope=officer only; "
                                                         "back office, never citizen-facing)."},
            "period": {"type": "string", "enum": ["day", "week", "month"]},
            "period_start": {"type": "string", "format": "date",
                             "description": "Local (Asia/Jakarta) first day; weeks start Monday."},
            "survey": {"type": "string", "description": "survey id/version, e.g. skm-2017/1"},
            "n": {"type": "integer", "description": "Responses counted (flagged ones excluded)."},
            "ikm": _nullable_number,
            "category": {"type": ["string", "null"], "enum": ["A", "B", "C", "D", None]},
            "category_label": {"type": ["string", "null"]},
            "nrr": {"type": "object", "additionalProperties": _nullable_number,
                    "description": "NRR per element U1–U9 (4 decimals)."},
            "wait_bands": {"type": "object", "additionalProperties": {"type": "integer"}},
            "measured": {"type": "object", "properties": {
                "n": {"type": "integer"}, "median": _nullable_int, "p90": _nullable_int,
                "within_60": _nullable_number}},
            "flagged": {"type": "integer"},
            "sample": {"type": "object", "description": (
                "scope=unit, period=month only: the people the unit served that month (entered "
                "on the unit page), the Krejcie-Morgan sample size for them, and whether the "
                "month's responses, all survey versions together, reach it (false: \"sampel "
                "belum memenuhi\"); each of the three is null without a served count."),
                "properties": {"served": _nullable_int, "required": _nullable_int,
                               "adequate": {"type": ["boolean", "null"]}}},
            "comments": {"type": "integer"},
        },
    }
    day = {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
    indicators_path = {"get": {
        "summary": "Stored indicators within the caller's scope",
        "operationId": "listIndicators",
        "description": "The rows of `flask --app app indicators --json` for the same scope, period "
                       "and range, limited to what the caller may see: admins everything; viewers "
                       "scope=unit of every unit (counter and service rows can be one "
                       "officer's); unit heads their unit and its "
                       "sub-units, their officers included; officers only scope=officer and only "
                       "their own rows. Per-officer rows with fewer than OFFICER_MIN_N responses "
                       "are left out and counted in `withheld`, and so are a viewer's unit "
                       "rows (a unit or a day served by one officer scores that officer).",
        "security": [{"bearerToken": []}, {"staffSession": []}],
        "parameters": [
            {"name": "scope", "in": "query", "required": True,
             "schema": {"type": "string", "enum": ["unit", "counter", "service", "officer"]}},
            {"name": "period", "in": "query", "required": True,
             "schema": {"type": "string", "enum": ["day", "week", "month"]}},
            {"name": "from", "in": "query", "schema": day,
             "description": "First period start (local date), inclusive."},
            {"name": "to", "in": "query", "schema": day,
             "description": "Last period start (local date), inclusive; not before `from`."},
            {"name": "unit", "in": "query", "schema": {"type": "string", "maxLength": 32},
             "description": "Only this unit's rows (not its sub-units)."},
        ],
        "responses": {
            "200": _json({"type": "object",
                          "required": ["scope", "period", "from", "to", "unit", "withheld", "rows"],
                          "properties": {
                              "scope": {"type": "string"}, "period": {"type": "string"},
                              "from": {"type": ["string", "null"], "format": "date"},
                              "to": {"type": ["string", "null"], "format": "date"},
                              "unit": {"type": ["string", "null"]},
                              "withheld": {"type": "integer",
                                           "description": "Rows under OFFICER_MIN_N responses "
                                                          "left out: per-officer rows, and "
                                                          "for viewers unit rows."},
                              "rows": {"type": "array", "items": indicator_row}}},
                         "The rows, oldest period first, then by unit code."),
            "401": _json(_ERROR, "Not signed in, or the token is unknown, revoked or its "
                                 "account inactive (WWW-Authenticate: Bearer)."),
            "403": _json(_ERROR, "The role may not read this scope, or the unit is outside the "
                                 "caller's scope (an unknown unit code gets the same answer)."),
            "422": _json(_ERRORS, "Invalid, unknown or repeated parameters, one message each; "
                                  "for admins and viewers also an unknown unit code."),
        },
    }}
    security_schemes = {
        "bearerToken": {"type": "http", "scheme": "bearer",
                        "description": "A personal token `sw_…` from `flask --app app tokens "
                                       "create --email …`."},
        "staffSession": {"type": "apiKey", "in": "cookie", "name": "session",
                         "description": "The signed-in staff session of /masuk."},
    }
    return indicators_path, security_schemes


def openapi_document(base_url: str) -> dict[str, Any]:
    """The API description, with the server set to the public base URL."""
    score = {"type": "integer", "minimum": 1, "maximum": 4}
    response_body = {
        "type": "object",
        "required": ["id", "token", "answers"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "format": "uuid",
                   "description": "Chosen by the client; resending it is a safe retry."},
            "token": {"type": "string", "description": "The counter's public QR token."},
            "answers": {"type": "object", "required": [f"U{i}" for i in range(1, 10)],
                        "additionalProperties": False,
                        "properties": {f"U{i}": score for i in range(1, 10)}},
            "wait_band": {"type": ["string", "null"],
                          "enum": ["lt5", "5-15", "15-30", "30-60", "60-120", "gt120", None]},
            "service": {"type": ["string", "null"], "description": "A service code of the unit."},
            "comment": {"type": ["string", "null"], "maxLength": 1000},
            "profile": {"type": ["object", "null"], "additionalProperties": {"type": "string"},
                        "description": "sex, age_band, education, occupation (codes)."},
            "submitted_at": {"type": ["string", "null"], "format": "date-time",
                             "description": "ISO 8601 with an offset; at most 7 days old and "
                                            "5 minutes in the future (offline kiosks)."},
            "channel": {"type": ["string", "null"], "enum": ["api", "kiosk", None],
                        "default": "api", "description": "null or absent: api"},
        },
    }
    created = {"type": "object", "properties": {
        "id": {"type": "string", "format": "uuid"}, "duplicate": {"type": "boolean"},
        "flags": {"type": "object", "properties": {"repeat": {"type": "boolean"},
                                                     "bot": {"type": "boolean"}}}}}
    indicators_path, security_schemes = _indicators_path()
    return {
        "openapi": "3.1.0",
        "components": {"securitySchemes": security_schemes},
        "info": {"title": "Suara Warga API", "version": "1",
                 "description": "Citizen satisfaction responses (SKM, PermenPANRB 14/2017)."},
        "servers": [{"url": f"{base_url}/api/v1"}],
        "paths": {
            "/responses": {"post": {
                "summary": "Submit one survey response (idempotent by id)",
                "operationId": "createResponse",
                "requestBody": {"required": True,
                                "content": {"application/json": {"schema": response_body}}},
                "responses": {
                    "201": _json(created, "Stored."),
                    "200": _json(created, "The same id and content arrived again; not stored "
                                          "twice (duplicate: true)."),
                    "400": _json(_ERROR, "The body is not a JSON object."),
                    "404": _json(_ERROR, "Unknown or revoked counter token."),
                    "409": _json(_ERROR, "The id was already used with different content "
                                         "or through another channel."),
                    "413": _json(_ERROR, "The body is over 16 KB."),
                    "415": _json(_ERROR, "The body was not sent as Content-Type: "
                                         "application/json (which no page on another site "
                                         "can make a browser send without a CORS preflight)."),
                    "422": _json(_ERRORS, "Invalid fields."),
                    "429": _json(_ERROR, "Too many requests from this address."),
                },
            }},
            "/indicators": indicators_path,
        },
    }
