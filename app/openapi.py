"""The OpenAPI 3.1 document of the public JSON API."""

from __future__ import annotations

from typing import Any

_ERRORS = {"type": "object", "properties": {"errors": {
    "type": "object", "additionalProperties": {"type": "string"},
    "description": "Message per invalid field (answers.U3, wait_band, profile.sex, …), in "
                   "Indonesian when Accept-Language prefers id, else English."}}}
_ERROR = {"type": "object", "properties": {"error": {"type": "string"}}}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


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
            "channel": {"type": "string", "enum": ["api", "kiosk"], "default": "api"},
        },
    }
    created = {"type": "object", "properties": {
        "id": {"type": "string", "format": "uuid"}, "duplicate": {"type": "boolean"},
        "flags": {"type": "object", "properties": {"repeat": {"type": "boolean"},
                                                     "bot": {"type": "boolean"}}}}}
    return {
        "openapi": "3.1.0",
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
                    "409": _json(_ERROR, "The id was already used with different content."),
                    "413": _json(_ERROR, "The body is over 16 KB."),
                    "422": _json(_ERRORS, "Invalid fields."),
                    "429": _json(_ERROR, "Too many requests from this address."),
                },
            }},
        },
    }
