"""The kiosk's JSON API (docs/kiosk.md): pairing, its configuration, heartbeats, calls for
an officer, and its answers through POST /api/v1/responses with the device credential."""

from __future__ import annotations

import hashlib
import json
from typing import Any, NoReturn

from flask import Blueprint, Response, abort, jsonify, make_response, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from pydantic import ValidationError

from app import kiosks
from app.api_schemas import (
    BatchResult,
    BatchResults,
    CallRequest,
    ErrorMessage,
    FieldErrors,
    Heartbeat,
    KioskBatch,
    PairRequest,
    ResponseFlags,
    ResponseStored,
    kiosk_problems,
)
from app.db import start_writing, utcnow
from app.extensions import db_session, settings, surveys
from app.i18n import fill
from app.kiosk_answers import ItemResult, store_kiosk_answers
from app.models import Kiosk
from app.surveys import Survey, Text
from app.web.api import API_MESSAGES, error_response, invalid_response, is_json, parse_json
from app.web.common import bearer_token, limiter, shortest_first
from app.web.public import current_survey

bp = Blueprint("api_kiosk", __name__, url_prefix="/api/v1/kiosk")

# With a kiosk's credential a body may hold a batch of 100 answers with long comments.
KIOSK_BODY_BYTES = 512 * 1024
SMALL_BODY_BYTES = 16 * 1024

MESSAGES = {
    "credential": _l("unknown kiosk credential: pair the tablet again"),
    "revoked": _l("this kiosk has been revoked"),
    "pairing": _l("this pairing code is wrong, used or expired: ask for a new one in the "
                  "back office"),
    "too_large": _l("body too large"),
    "invalid": _l("invalid value"),
    "batch": _l("must be a list of 1 to 100 answers"),
}


def _msg(key: str) -> str:
    """This module's message, else the submission API's (the same refusals of a body)."""
    return str(MESSAGES[key] if key in MESSAGES else API_MESSAGES[key])


def kiosk_credential() -> str | None:
    """The kiosk credential of ``Authorization: Bearer ksk_…`` (the scheme in any case),
    or None when the request carries none."""
    value = bearer_token(request.headers.get("Authorization", ""))
    if value is None or not value.startswith(kiosks.CREDENTIAL_PREFIX):
        return None
    return value


def _refuse(answer: ResponseReturnValue) -> NoReturn:
    abort(make_response(answer))


def _read_body(limit: int) -> Any:
    """The request's JSON body; else the request is answered 413, 415 or 400."""
    if (request.content_length or 0) > limit:
        _refuse(error_response(413, _msg("too_large")))
    if not is_json(request.mimetype):
        _refuse(error_response(415, _msg("media_type")))
    request.max_content_length = limit
    try:
        return parse_json(request.get_data())
    except (ValueError, UnicodeDecodeError, RecursionError):
        _refuse(error_response(400, _msg("not_json")))


def _revoked() -> NoReturn:
    _refuse((jsonify({"error": _msg("revoked"), "revoked": True}), 403))


def _kiosk(*, allow_revoked: bool = False) -> Kiosk:
    """The kiosk of the request's credential; else the request is answered 401 (unknown
    credential) or 403 (a revoked kiosk, unless ``allow_revoked``)."""
    credential = kiosk_credential()
    kiosk = kiosks.authenticate(db_session(), credential) if credential else None
    if kiosk is None:
        response = jsonify(ErrorMessage(error=_msg("credential")).model_dump())
        response.headers["WWW-Authenticate"] = 'Bearer realm="suara-warga-kiosk"'
        _refuse((response, 401))
    if kiosk.revoked and not allow_revoked:
        _revoked()
    return kiosk


def _write_kiosk(kiosk_id: int) -> Kiosk:
    """Start the write transaction and read the kiosk again within it (it may have been
    revoked meanwhile: 403)."""
    session = db_session()
    start_writing(session)
    # Read again, not from the session's identity map (locked on PostgreSQL: one write per
    # kiosk at a time, and a revocation in between is seen).
    kiosk = session.get(Kiosk, kiosk_id, populate_existing=True, with_for_update=True)
    if kiosk is None or kiosk.revoked:
        _revoked()
    return kiosk


def _field_errors(error: ValidationError) -> dict[str, str]:
    return {name: _msg("invalid") for name in kiosk_problems(error)}


# Pairing --------------------------------------------------------------------------------------


def _failed(response: Response) -> bool:
    return response.status_code != 201


@bp.post("/pair")
@limiter.limit(lambda: shortest_first(settings().rate_limit_pair))
# Failed pairings of all addresses together: many addresses cannot share out the guessing.
@limiter.limit(lambda: shortest_first(settings().rate_limit_pair_failures),
               key_func=lambda: "kiosk-pairing", deduct_when=_failed)
def pair() -> ResponseReturnValue:
    """Exchange a six-digit pairing code for the kiosk's device credential."""
    body = _read_body(SMALL_BODY_BYTES)
    try:
        code = PairRequest.model_validate(body).code
    except ValidationError as error:
        return invalid_response(_field_errors(error))
    session = db_session()
    start_writing(session)
    paired = kiosks.pair(session, code, now=utcnow())
    if paired is None:
        session.rollback()
        return error_response(403, _msg("pairing"))
    kiosk, credential = paired
    body = {"credential": credential, "kiosk": _kiosk_body(kiosk)}
    session.commit()
    return jsonify(body), 201


def _kiosk_body(kiosk: Kiosk) -> dict[str, Any]:
    return {"id": kiosk.id, "name": kiosk.name, "placement": kiosk.placement,
            "unit": {"code": kiosk.unit.code, "name": kiosk.unit.name}}


# Configuration ---------------------------------------------------------------------------------


def _text(text: Text) -> dict[str, str]:
    return {"id": text.id, "en": text.en}


def _survey_body(survey: Survey) -> dict[str, Any]:
    return {
        "id": f"{survey.survey_id}/{survey.version}",
        "title": _text(survey.title),
        "elements": [{"code": e.code, "name": _text(e.name), "question": _text(e.question),
                      "options": [{"score": o.score, "label": _text(o.label)}
                                  for o in e.options]} for e in survey.elements],
        "wait": {"label": _text(survey.wait_label),
                 "bands": [{"code": b.code, "label": _text(b.label)}
                           for b in survey.wait_bands]},
        "comment": {"label": _text(survey.comment_label), "hint": _text(survey.comment_hint),
                    "max_length": survey.comment_max_length},
    }


def _settings_body(kiosk: Kiosk) -> dict[str, int]:
    return {"idle_seconds": kiosk.idle_seconds, "countdown_seconds": kiosk.countdown_seconds}


def kiosk_config(kiosk: Kiosk) -> dict[str, Any]:
    """What the tablet keeps to run offline, with a version that changes with its content."""
    body: dict[str, Any] = {
        "kiosk": _kiosk_body(kiosk),
        "settings": _settings_body(kiosk),
        "choices": [{"counter": c.counter_code, "name": c.counter_name,
                     "service": c.service_code, "service_name": c.service_name}
                    for c in kiosks.choices(db_session(), kiosk)],
        "survey": _survey_body(current_survey()),
    }
    body["version"] = hashlib.sha256(
        json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]
    return body


@bp.get("/config")
def config() -> ResponseReturnValue:
    """The kiosk's counters, questionnaire (both languages) and settings."""
    body = kiosk_config(_kiosk())
    body["server_time"] = utcnow().isoformat()
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


# Heartbeats and calls --------------------------------------------------------------------------


@bp.post("/heartbeat")
def heartbeat() -> ResponseReturnValue:
    """Store the tablet's state and learn its clock; answer its settings and config version."""
    kiosk = _kiosk()
    body = _read_body(SMALL_BODY_BYTES + 64 * 1024)  # 1,000 ids
    try:
        beat = Heartbeat.model_validate(body)
    except ValidationError as error:
        return invalid_response(_field_errors(error))
    now = utcnow()
    far = {name: _msg("invalid") for name, value in (
        ("device_time", beat.device_time), ("oldest_unsent_at", beat.oldest_unsent_at))
        if value is not None and abs(value - now) > kiosks.MAX_CLOCK_OFFSET}
    if far:  # a clock this wrong is not corrected but refused
        return invalid_response(far)
    version = kiosk_config(kiosk)["version"]
    kiosk = _write_kiosk(kiosk.id)
    session = db_session()
    kiosks.record_heartbeat(session, kiosk, kiosks.Heartbeat(
        device_time=beat.device_time, app_version=beat.app_version,
        queue_length=beat.queue_length, oldest_unsent_at=beat.oldest_unsent_at,
        quarantined=beat.quarantined, battery=beat.battery, charging=beat.charging,
        pending_ids=beat.pending_ids), now=now)
    answer = {"server_time": now.isoformat(), "settings": _settings_body(kiosk),
              "config_version": version}
    session.commit()
    return jsonify(answer)


@bp.post("/calls")
def call() -> ResponseReturnValue:
    """A citizen pressed "Panggil petugas": the unit's board and device list show it."""
    kiosk = _kiosk()
    body = _read_body(SMALL_BODY_BYTES)
    try:
        counter = CallRequest.model_validate(body).counter
    except ValidationError as error:
        return invalid_response(_field_errors(error))
    kiosk = _write_kiosk(kiosk.id)
    session = db_session()
    made = kiosks.call_officer(session, kiosk, counter, now=utcnow())
    answer = {"id": made.id, "created_at": made.created_at.isoformat()}
    session.commit()
    return jsonify(answer), 201


# Answers ---------------------------------------------------------------------------------------


def _result(result: ItemResult) -> BatchResult:
    flags = ResponseFlags(repeat=result.repeat, bot=result.bot, fast=result.fast,
                          burst=result.burst) if result.status in (200, 201) else None
    return BatchResult(
        id=str(result.client_id) if result.client_id else result.raw_id,
        status=result.status,  # type: ignore[arg-type]
        duplicate=result.status == 200 if result.status in (200, 201) else None,
        flags=flags,
        errors={k: fill(e.message, e.params) for k, e in result.errors.items()} or None,
        error=fill(result.error.message, result.error.params) if result.error else None,
    )


def kiosk_responses() -> ResponseReturnValue:
    """POST /responses with a kiosk's credential: one answer, or ``{"responses": [...]}``."""
    kiosk_id = _kiosk(allow_revoked=True).id  # before reading a body of this size
    body = _read_body(KIOSK_BODY_BYTES)
    batch = isinstance(body, dict) and "responses" in body
    if batch:
        try:
            items: list[Any] = KioskBatch.model_validate(body).responses
        except ValidationError:
            return invalid_response({"responses": _msg("batch")})
    elif isinstance(body, dict):
        items = [body]
    else:
        return error_response(400, _msg("not_object"))
    session = db_session()
    start_writing(session)
    kiosk = session.get(Kiosk, kiosk_id)  # revoked or not: answers made before may come
    assert kiosk is not None  # noqa: S101 (kiosks are never deleted)
    results = [_result(r) for r in store_kiosk_answers(
        session, kiosk, items, surveys=surveys(), current=current_survey(), now=utcnow(),
        tz=settings().tz)]
    session.commit()
    if batch:
        return jsonify(BatchResults(results=results).model_dump(mode="json",
                                                                exclude_none=True))
    return _single(results[0])


def _single(result: BatchResult) -> ResponseReturnValue:
    """One answer sent alone is answered as the API answers any submission."""
    if result.status in (200, 201):
        assert result.id is not None and result.flags is not None  # noqa: S101
        stored = ResponseStored(id=result.id, duplicate=result.status == 200,  # type: ignore[arg-type]
                                flags=result.flags)
        return jsonify(stored.model_dump(mode="json", exclude_none=True)), result.status
    if result.status == 422:
        return jsonify(FieldErrors(errors=result.errors or {}).model_dump()), 422
    if result.status == 403:
        return jsonify({"error": result.error, "revoked": True}), 403
    return error_response(result.status, result.error or "")
