"""JSON API v1 for kiosks, integrations and load tests (token-authenticated, no CSRF)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext

from app.answers import Answers, FieldError, parse_answers
from app.api_schemas import (
    ErrorMessage,
    FieldErrors,
    ResponseFlags,
    ResponseStored,
    parse_submission,
)
from app.db import start_writing, utcnow
from app.extensions import db_session, settings, surveys
from app.feedback import (
    MAX_CLOCK_SKEW,
    MAX_LATE_SYNC,
    Outcome,
    Submission,
    TokenLookup,
    lookup_token,
    store_response,
)
from app.i18n import fill
from app.openapi import openapi_document
from app.surveys import Survey, by_reference
from app.web.common import limiter, shortest_first
from app.web.public import current_survey

bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_BODY_BYTES = 16 * 1024

# Structural messages of the API itself, by the keys app.api_schemas reports (the answers'
# messages come from app.answers); each is translated when the view turns it into text.
API_MESSAGES = {
    "id": _l("must be a UUID"),
    "token": _l("required: the counter's QR token"),
    "answers": _l("must be an object {\"U1\": 1-4, …}"),
    "answer_key": _l("unknown element"),
    "submitted_at": _l("must be an ISO 8601 time with an offset, e.g. "
                       "2026-11-30T09:12:00+07:00"),
    "too_old": lazy_ngettext("is more than %(num)d day old", "is more than %(num)d days old",
                             MAX_LATE_SYNC.days),
    "future": lazy_ngettext("is more than %(num)d minute in the future",
                            "is more than %(num)d minutes in the future",
                            MAX_CLOCK_SKEW // timedelta(minutes=1)),
    "channel": _l("must be 'api' or 'kiosk'"),
    "unknown": _l("unknown field"),
    "too_large": lazy_ngettext("body over %(num)d KB", "body over %(num)d KB",
                               MAX_BODY_BYTES // 1024),
    "not_json": _l("body is not JSON"),
    "media_type": _l("send the body as Content-Type: application/json"),
    "not_object": _l("body must be a JSON object"),
    "unknown_token": _l("unknown or revoked counter token"),
    "inactive_counter": _l("this counter is no longer in use; nothing was stored"),
    "conflict": _l("this id was already used for a different response"),
    "survey": _l("unknown questionnaire version (e.g. skm-2017/1)"),
    "complaint": _l("must be true or false"),
}


def _msg(key: str) -> str:
    return str(API_MESSAGES[key])


def is_json(mimetype: str) -> bool:
    """application/json or a +json type: both need a CORS preflight from a browser."""
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json"))


# An integer too long to be a score stays valid JSON (a 422 names the field): Python refuses
# to convert integers of over 4,300 digits, which would make it a 400 "not JSON".
_TOO_LONG = 10**40
_DECODER = json.JSONDecoder(parse_int=lambda digits: int(digits) if len(digits) < 40
                            else _TOO_LONG)


def parse_json(data: bytes) -> Any:
    """``json.loads`` (UTF-8, -16 or -32, as it detects), with long integers kept apart."""
    return _DECODER.decode(data.decode(json.detect_encoding(data), "surrogatepass"))


def error_response(status: int, message: str) -> ResponseReturnValue:
    return jsonify(ErrorMessage(error=message).model_dump()), status


def invalid_response(errors: dict[str, str]) -> ResponseReturnValue:
    return jsonify(FieldErrors(errors=errors).model_dump()), 422


def _parse_answers(survey: Survey, lookup: TokenLookup, answers: dict[Any, Any],
                   body: dict[str, Any], errors: dict[str, str]) -> Answers | None:
    """The body's answers validated for the looked-up counter; messages go into ``errors``.

    (An unknown element is already in ``errors``: parse_submission reports it.)
    """
    codes = survey.element_codes
    raw = {**{k: v for k, v in answers.items() if k in codes},
           **{k: body.get(k) for k in ("wait_band", "service", "comment", "profile")}}
    parsed, field_errors = parse_answers(survey, lookup.service_codes(raw["service"]), raw)
    for code in codes:
        # The API's scores are JSON integers, as documented; only the form sends text.
        if isinstance(answers.get(code), str) and code not in field_errors:
            field_errors[code] = FieldError(
                _l("The value of %(code)s must be a whole number from 1 to 4, not text."),
                {"code": code})
    for name, error in field_errors.items():
        key = f"answers.{name}" if name in codes else name
        errors[key] = fill(error.message, error.params)
    return None if field_errors else parsed


@bp.post("/responses")
@limiter.limit(lambda: shortest_first(settings().rate_limit_submit))
def create_response() -> ResponseReturnValue:
    """Store one response; a retried id is answered, never stored twice. With a kiosk's
    credential, one kiosk answer or a batch of them (app.web.api_kiosk)."""
    if api_kiosk.kiosk_credential() is not None:
        return api_kiosk.kiosk_responses()
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return error_response(413, _msg("too_large"))
    if not is_json(request.mimetype):
        # Any web page can make a visitor's browser send text/plain or a form across sites
        # without asking first; application/json needs a CORS preflight, which this API
        # never grants. So a page elsewhere cannot rate counters through its visitors.
        return error_response(415, _msg("media_type"))
    request.max_content_length = MAX_BODY_BYTES
    try:
        body: Any = parse_json(request.get_data())
    except (ValueError, UnicodeDecodeError, RecursionError):
        return error_response(400, _msg("not_json"))
    if not isinstance(body, dict):
        return error_response(400, _msg("not_object"))

    now = utcnow()
    parsed_body, problems = parse_submission(body, now)
    errors = {name: _msg(key) for name, key in problems.items()}
    if "token" in errors:
        return invalid_response(errors)

    token, client_id, channel = parsed_body.token, parsed_body.client_id, parsed_body.channel
    answers, submitted_at = parsed_body.answers, parsed_body.submitted_at

    survey = current_survey()
    if parsed_body.survey is not None:
        survey = by_reference(surveys(), parsed_body.survey) or survey
        if survey.survey_id + "/" + str(survey.version) != parsed_body.survey:
            errors["survey"] = _msg("survey")
    # An instant already refused (out of range, or not convertible to UTC at all) is not
    # looked up with; the 422 below names it.
    created_at = submitted_at if submitted_at is not None and "submitted_at" not in errors else now
    session = db_session()
    # Attributed at the response's own instant (no pick: a kiosk or an app at a counter
    # with several officers on duty counts for the counter only, see app.duty.attribute).
    lookup = lookup_token(session, str(token), survey, body.get("service"), created_at,
                          settings().tz)
    if lookup.inactive:
        return error_response(410, _msg("inactive_counter"))
    if lookup.counter is None:
        return error_response(404, _msg("unknown_token"))
    parsed = _parse_answers(survey, lookup, answers, body, errors)
    if errors or parsed is None or client_id is None:
        return invalid_response(errors)
    submission = Submission(
        client_id=client_id, channel=channel, created_at=created_at, received_at=now,
        ip=request.remote_addr, declared_submitted_at=submitted_at,
        complaint=parsed_body.complaint,
    )
    start_writing(session)
    outcome, row = store_response(session, lookup.prepared(survey, parsed), parsed,
                                  submission, settings().tz)
    session.commit()
    if outcome is Outcome.CONFLICT:
        return error_response(409, _msg("conflict"))
    status = 201 if outcome is Outcome.CREATED else 200
    stored = ResponseStored(id=row.client_id, duplicate=outcome is Outcome.DUPLICATE,
                            flags=ResponseFlags(repeat=row.flag_repeat, bot=row.flag_bot),
                            case=row.case_reference)
    return jsonify(stored.model_dump(mode="json", exclude_none=True)), status


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    """The OpenAPI 3.1 description of this API."""
    return jsonify(openapi_document(settings().public_base_url))



# The kiosk's endpoints use the helpers above.
from app.web import api_kiosk  # noqa: E402
