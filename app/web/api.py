"""JSON API v1 for kiosks and integrations (credential-authenticated, no CSRF)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy.orm import Session

from app.answers import Answers, FieldError, parse_answers
from app.api_schemas import (
    ErrorMessage,
    FieldErrors,
    ParsedSubmission,
    ResponseFlags,
    ResponseStored,
    parse_submission,
)
from app.api_tokens import PERSONAL_PREFIX, integration_for_token
from app.db import start_writing, utcnow
from app.extensions import db_session, settings, surveys
from app.feedback import (
    MAX_CLOCK_SKEW,
    MAX_LATE_SYNC,
    Outcome,
    Submission,
    TokenLookup,
    lookup_counter_code,
    lookup_token,
    store_response,
)
from app.i18n import fill
from app.models import ApiToken, Unit
from app.openapi import openapi_document
from app.org import unit_by_code
from app.surveys import Survey, by_reference
from app.web.auth import note_token_use
from app.web.common import bearer_token, limiter, shortest_first
from app.web.public import current_survey

bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_BODY_BYTES = 16 * 1024

# Structural messages of the API itself, by the keys app.api_schemas reports (the answers'
# messages come from app.answers); each is translated when the view turns it into text.
API_MESSAGES = {
    "id": _l("must be a UUID"),
    "token": _l("must be the counter's QR token"),
    "unit": _l("must be a unit code"),
    "counter": _l("must be a counter code"),
    "no_counter": _l("required: the counter's QR token, or unit and counter codes"),
    "two_counters": _l("name the counter once: its QR token, or unit and counter codes"),
    "needs_counter": _l("required with 'unit': the counter's code in that unit"),
    "needs_unit": _l("required with 'counter': the code of the counter's unit"),
    "unknown_unit": _l("unknown unit code"),
    "unknown_counter": _l("no counter with this code in this unit"),
    "no_credential": _l("send Authorization: Bearer <token> with an integration token or a "
                        "kiosk's credential (citizens answer through the form behind the "
                        "counter's QR poster)"),
    "invalid_credential": _l("the integration token is unknown, revoked or expired"),
    "personal_token": _l("a personal token reads indicators only; submitting responses "
                         "needs an integration token"),
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


def _refuse_credential(status: int, key: str, *, sent: bool = False) -> ResponseReturnValue:
    """A 401 (with the challenge of RFC 6750) or 403 for the request's credential."""
    response = jsonify(ErrorMessage(error=_msg(key)).model_dump())
    if status == 401:
        challenge = 'Bearer realm="suara-warga"'
        response.headers["WWW-Authenticate"] = challenge + (
            ', error="invalid_token"' if sent else "")
    return response, status


def _integration(now: datetime) -> ApiToken | ResponseReturnValue:
    """The integration token the request authenticates with, its use noted; else the
    refusal: 401 without a credential or with an unknown, revoked or expired one, 403 for
    a personal token (it reads, it does not submit)."""
    sent = bearer_token(request.headers.get("Authorization", ""))
    if sent is None:
        return _refuse_credential(401, "no_credential")
    if sent.startswith(PERSONAL_PREFIX):
        return _refuse_credential(403, "personal_token")
    token = integration_for_token(db_session(), sent, now=now)
    if token is None:
        return _refuse_credential(401, "invalid_credential", sent=True)
    note_token_use(token, now)
    return token


def _check_naming(parsed: ParsedSubmission, errors: dict[str, str]) -> None:
    """Exactly one way of naming the counter: the poster's token, or unit and counter."""
    if any(name in errors for name in ("token", "unit", "counter")):
        return
    by_codes = parsed.unit is not None or parsed.counter is not None
    if parsed.token is not None and by_codes:
        errors["token"] = _msg("two_counters")
    elif parsed.token is None and not by_codes:
        errors["token"] = _msg("no_counter")
    elif by_codes and parsed.unit is None:
        errors["unit"] = _msg("needs_unit")
    elif by_codes and parsed.counter is None:
        errors["counter"] = _msg("needs_counter")


def _find_counter(session: Session, integration: ApiToken, parsed: ParsedSubmission,
                  survey: Survey, service: object, at: datetime
                  ) -> TokenLookup | ResponseReturnValue:
    """The counter the body names, looked up for a response at ``at``; else the refusal:
    403 outside a unit-bound token's unit, 404 an unknown poster token, 410 a counter no
    longer in use, 422 unknown codes."""
    tz = settings().tz
    bound = None if integration.unit_id is None else session.get(Unit, integration.unit_id)
    if parsed.token is not None:
        lookup = lookup_token(session, parsed.token, survey, service, at, tz)
    else:
        assert parsed.unit is not None and parsed.counter is not None  # noqa: S101
        unit = unit_by_code(session, parsed.unit)
        if bound is not None and (unit is None or unit.id != bound.id):
            return _other_unit(bound)
        if unit is None:
            return invalid_response({"unit": _msg("unknown_unit")})
        lookup = lookup_counter_code(session, unit.id, parsed.counter, survey, service, at, tz)
        if lookup.counter is None and not lookup.inactive:
            return invalid_response({"counter": _msg("unknown_counter")})
    if lookup.inactive:
        return error_response(410, _msg("inactive_counter"))
    if lookup.counter is None:
        return error_response(404, _msg("unknown_token"))
    if bound is not None and lookup.counter.unit_id != bound.id:
        return _other_unit(bound)
    return lookup


def _other_unit(unit: Unit) -> ResponseReturnValue:
    return error_response(403, _("this integration token may submit only to the counters "
                                 "of unit %(unit)s", unit=unit.code))


@bp.post("/responses")
@limiter.limit(lambda: shortest_first(settings().rate_limit_submit))
def create_response() -> ResponseReturnValue:
    """Store one response; a retried id is answered, never stored twice. With a kiosk's
    credential, one kiosk answer or a batch of them (app.web.api_kiosk); else with an
    integration token, one response at a counter named by its poster token or its codes."""
    if api_kiosk.kiosk_credential() is not None:
        return api_kiosk.kiosk_responses()
    now = utcnow()
    integration = _integration(now)
    if not isinstance(integration, ApiToken):
        return integration
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

    parsed_body, problems = parse_submission(body, now)
    errors = {name: _msg(key) for name, key in problems.items()}
    _check_naming(parsed_body, errors)
    if any(name in errors for name in ("token", "unit", "counter")):
        return invalid_response(errors)

    client_id, channel = parsed_body.client_id, parsed_body.channel
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
    lookup = _find_counter(session, integration, parsed_body, survey, body.get("service"),
                           created_at)
    if not isinstance(lookup, TokenLookup):
        return lookup
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
