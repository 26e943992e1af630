"""The OpenAPI 3.1 document of the public JSON API.

The bodies' schemas are generated from the pydantic models of app.api_schemas (the same
models the views validate and serialise with); the paths, parameters, security and status
codes are written here.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from app.api_schemas import (
    BatchResults,
    CallRequest,
    ErrorMessage,
    FieldErrors,
    Heartbeat,
    IndicatorPage,
    KioskAnswer,
    KioskBatch,
    PairRequest,
    ResponseStored,
    ResponseSubmission,
)

REF_TEMPLATE = "#/components/schemas/{model}"

# Request bodies are described as the views accept them, response bodies as they are sent.
MODELS: tuple[tuple[type[BaseModel], JsonSchemaMode], ...] = (
    (ResponseSubmission, "validation"),
    (ResponseStored, "serialization"),
    (FieldErrors, "serialization"),
    (ErrorMessage, "serialization"),
    (IndicatorPage, "serialization"),
    (KioskAnswer, "validation"),
    (KioskBatch, "validation"),
    (BatchResults, "serialization"),
    (Heartbeat, "validation"),
    (PairRequest, "validation"),
    (CallRequest, "validation"),
)


@cache
def component_schemas() -> dict[str, Any]:
    """components/schemas: every model and the models they use, by name."""
    _, definitions = models_json_schema(MODELS, ref_template=REF_TEMPLATE)
    schemas: dict[str, Any] = definitions["$defs"]
    return schemas


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF_TEMPLATE.format(model=model.__name__)}


def _json(model: type[BaseModel], description: str, **extra: Any) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": _ref(model)}}, **extra}


# Every path: the language of the messages (else Indonesian when Accept-Language prefers it,
# else English).
LANG = {"name": "lang", "in": "query", "schema": {"type": "string", "enum": ["id", "en"]},
        "description": "Language of the error messages."}

TOO_MANY = _json(ErrorMessage, "Too many requests from this address.", headers={
    "Retry-After": {"description": "Seconds to wait before the next request.",
                    "schema": {"type": "integer", "minimum": 0}}})


def _indicators_path() -> dict[str, Any]:
    """GET /indicators (staff session or personal token)."""
    day = {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
    return {"get": {
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
             "schema": {"type": "string", "enum": ["day", "week", "month", "quarter",
                                                     "semester", "year"]}},
            {"name": "from", "in": "query", "schema": day,
             "description": "First period start (local date), inclusive."},
            {"name": "to", "in": "query", "schema": day,
             "description": "Last period start (local date), inclusive; not before `from`."},
            {"name": "unit", "in": "query", "schema": {"type": "string", "maxLength": 32},
             "description": "Only this unit's rows (not its sub-units)."},
            LANG,
        ],
        "responses": {
            "200": _json(IndicatorPage, "The rows, oldest period first, then by unit code."),
            "401": _json(ErrorMessage, "Not signed in, or the token is unknown, revoked, "
                                       "expired, not a personal token, or its account "
                                       "inactive (WWW-Authenticate: Bearer)."),
            "403": _json(ErrorMessage, "The role may not read this scope, or the unit is "
                                       "outside the caller's scope (an unknown unit code gets "
                                       "the same answer)."),
            "422": _json(FieldErrors, "Invalid, unknown or repeated parameters, one message "
                                      "each; for admins and viewers also an unknown unit code."),
        },
    }}


SECURITY_SCHEMES = {
    "bearerToken": {"type": "http", "scheme": "bearer",
                    "description": "A personal token `sw_…` from `flask --app app tokens "
                                   "create --email …`: it reads what its user may read and "
                                   "cannot submit. It expires (API_TOKEN_DAYS, 90 days by "
                                   "default) and is revoked when its user's password changes "
                                   "or the account is deactivated, or in the back office."},
    "integrationToken": {"type": "http", "scheme": "bearer",
                         "description": "An integration token `swi_…` from `flask --app app "
                                        "tokens create --integration NAME [--unit CODE]`, "
                                        "to submit responses (with --unit: to that unit's "
                                        "counters only). It expires (API_TOKEN_DAYS, 90 "
                                        "days by default) and is revoked with `tokens "
                                        "revoke --integration NAME` or in the back office."},
    "kioskCredential": {"type": "http", "scheme": "bearer",
                        "description": "A kiosk's device credential `ksk_…`, received by "
                                       "pairing (POST /kiosk/pair) with a code from the back "
                                       "office; revoked there."},
    "staffSession": {"type": "apiKey", "in": "cookie", "name": "session",
                     "description": "The signed-in staff session of /masuk."},
}


def _responses_path() -> dict[str, Any]:
    """POST /responses (an integration token or a kiosk's credential, no CSRF)."""
    return {"post": {
        "summary": "Submit one survey response (idempotent by id)",
        "operationId": "createResponse",
        "description": "With an integration token: one ResponseSubmission at a counter named "
                       "by its poster token or by `unit` and `counter` codes. With a kiosk's "
                       "credential: one KioskAnswer (the channel is "
                       "kiosk, the counter named by its code, times corrected by the kiosk's "
                       "clock offset, up to 30 days late), or a KioskBatch of up to 100, "
                       "answered 200 with one result per answer (body limit 512 KB). Nothing "
                       "is taken without one of the two: citizens answer through the form "
                       "behind the counter's QR poster (/s/<token>), which is not this API.",
        "security": [{"integrationToken": []}, {"kioskCredential": []}],
        "parameters": [LANG],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "oneOf": [_ref(ResponseSubmission), _ref(KioskAnswer), _ref(KioskBatch)]}}}},
        "responses": {
            "201": _json(ResponseStored, "Stored."),
            "200": {"description": "The same id and content arrived again; not stored twice "
                                   "(duplicate: true); or, to a kiosk's batch, one result "
                                   "per answer.",
                    "content": {"application/json": {"schema": {
                        "oneOf": [_ref(ResponseStored), _ref(BatchResults)]}}}},
            "401": _json(ErrorMessage, "No credential, or an integration token that is "
                                       "unknown, revoked or expired (WWW-Authenticate: "
                                       "Bearer), or a kiosk credential that is unknown "
                                       "(pair again)."),
            "403": _json(ErrorMessage, "A personal token (it reads, it does not submit); an "
                                       "integration token bound to a unit, naming a counter "
                                       "of another unit; a revoked kiosk's answer made "
                                       "after its revocation or not reported in a heartbeat "
                                       "before it."),
            "400": _json(ErrorMessage, "The body is not a JSON object."),
            "404": _json(ErrorMessage, "Unknown or revoked counter token."),
            "410": _json(ErrorMessage, "The counter (or its unit) is no longer in use; "
                                       "nothing was stored."),
            "409": _json(ErrorMessage, "The id was already used with different content "
                                       "or through another channel."),
            "413": _json(ErrorMessage, "The body is over 16 KB (512 KB with a kiosk's "
                                       "credential)."),
            "415": _json(ErrorMessage, "The body was not sent as Content-Type: "
                                       "application/json (which no page on another site "
                                       "can make a browser send without a CORS preflight)."),
            "422": _json(FieldErrors, "Invalid fields; the counter named twice (a token and "
                                      "codes) or not at all; an unknown unit code, or no "
                                      "counter of that code in the unit."),
            "429": TOO_MANY,
        },
    }}


def _kiosk_paths() -> dict[str, Any]:
    """The kiosk's own endpoints (docs/kiosk.md)."""
    credential: list[dict[str, list[str]]] = [{"kioskCredential": []}]
    unknown = _json(ErrorMessage, "Unknown credential (WWW-Authenticate: Bearer).")
    revoked = _json(ErrorMessage, "The kiosk is revoked (`revoked: true`).")
    plain = {"description": "JSON object", "content": {"application/json": {
        "schema": {"type": "object"}}}}
    body = {"400": _json(ErrorMessage, "The body is not JSON."),
            "413": _json(ErrorMessage, "The body is too large."),
            "415": _json(ErrorMessage, "Not sent as Content-Type: application/json.")}
    return {
        "/kiosk/pair": {"post": {
            "summary": "Exchange a six-digit pairing code for a kiosk's credential",
            "operationId": "pairKiosk", "parameters": [LANG],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": _ref(PairRequest)}}},
            "responses": {"201": {**plain, "description": "The credential (shown once) and "
                                                          "the kiosk."},
                          "403": _json(ErrorMessage, "Wrong, used or expired code."),
                          "422": _json(FieldErrors, "Not six digits."),
                          "429": TOO_MANY, **body}}},
        "/kiosk/config": {"get": {
            "summary": "The kiosk's counters, questionnaire (both languages) and settings",
            "operationId": "kioskConfig", "security": credential, "parameters": [LANG],
            "responses": {"200": plain, "401": unknown, "403": revoked}}},
        "/kiosk/heartbeat": {"post": {
            "summary": "Report the kiosk's state every minute",
            "operationId": "kioskHeartbeat", "security": credential, "parameters": [LANG],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": _ref(Heartbeat)}}},
            "responses": {"200": {**plain, "description": "server_time, settings, "
                                                          "config_version."},
                          "401": unknown, "403": revoked,
                          "422": _json(FieldErrors, "Invalid fields."), **body}}},
        "/kiosk/calls": {"post": {
            "summary": "A citizen asks for an officer at the kiosk",
            "operationId": "kioskCall", "security": credential, "parameters": [LANG],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": _ref(CallRequest)}}},
            "responses": {"201": plain, "401": unknown, "403": revoked,
                          "422": _json(FieldErrors, "Invalid fields."), **body}}},
    }


# Answers any operation may give, whatever it does.
REFUSED_CHARACTER = ("The path or a query parameter holds a character no database takes (a "
                     "NUL byte); the message names the parameter.")
UNAVAILABLE = _json(ErrorMessage, "The database cannot be reached or written right now; "
                                  "nothing was stored. Send the same request again (with the "
                                  "same id: it is stored once) after Retry-After seconds.",
                    headers={"Retry-After": {"description": "Seconds to wait before retrying.",
                                             "schema": {"type": "integer", "minimum": 0}}})


def _with_common_answers(paths: dict[str, Any]) -> dict[str, Any]:
    """Every operation of ``paths`` with the 400 of a refused character and the 503 of an
    outage added to its answers (a 400 it already documents gets the reason added)."""
    for operations in paths.values():
        for operation in operations.values():
            responses = operation["responses"]
            if "400" in responses:
                first = responses["400"]["description"]
                responses["400"] = {**responses["400"],
                                    "description": f"{first} Or: {REFUSED_CHARACTER}"}
            else:
                responses["400"] = _json(ErrorMessage, REFUSED_CHARACTER)
            responses["503"] = UNAVAILABLE
    return paths


def openapi_document(base_url: str) -> dict[str, Any]:
    """The API description, with the server set to the public base URL."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Suara Warga API", "version": "1",
                 "description": "Citizen satisfaction responses (SKM, PermenPANRB 14/2017)."},
        "servers": [{"url": f"{base_url}/api/v1"}],
        "paths": _with_common_answers({"/responses": _responses_path(),
                                       "/indicators": _indicators_path(), **_kiosk_paths()}),
        "components": {"schemas": component_schemas(), "securitySchemes": SECURITY_SCHEMES},
    }
