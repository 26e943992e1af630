"""Storing a kiosk's answers: one by one or in batches, each answered on its own.

A kiosk names the counter by its code (posters get new tokens), the questionnaire version
it showed, and times on its own clock, which the server corrects by the offset it learnt
from the kiosk's heartbeats. Answers are accepted up to 30 days late. The phone form's
per-device repeat rule does not apply; a session completed too fast, or started right after
the previous one, is kept and flagged (``app.kiosks.session_flags``). An answer the service
refuses for good (409, 422) is kept in the kiosk's quarantine for the device list.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app import kiosks
from app.answers import FieldError, parse_answers
from app.api_schemas import KioskAnswer, kiosk_problems
from app.db import refused_character
from app.feedback import (
    MAX_CLOCK_SKEW,
    Outcome,
    Submission,
    TokenLookup,
    lookup_counter_code,
    store_response,
)
from app.i18n import fill
from app.models import Kiosk
from app.surveys import Survey, by_reference

# A session longer than this is not one person at a kiosk (the idle reset ends it sooner).
MAX_SESSION = timedelta(hours=2)

MESSAGES = {
    "id": _l("must be a UUID"),
    "counter": _l("required: the code of one of the kiosk's counters"),
    "unknown_counter": _l("no counter with this code at the kiosk's unit"),
    "not_bound": _l("not one of this kiosk's counters"),
    "service_not_bound": _l("not one of this kiosk's services"),
    "inactive_counter": _l("this counter is no longer in use; nothing was stored"),
    "survey": _l("unknown questionnaire version (e.g. skm-2017/1)"),
    "answers": _l("must be an object {\"U1\": 1-4, …}"),
    "answer_key": _l("unknown element"),
    "instant": _l("must be an ISO 8601 time with an offset, e.g. 2026-11-30T09:12:00+07:00"),
    "too_old": lazy_ngettext("is more than %(num)d day old", "is more than %(num)d days old",
                             kiosks.MAX_KIOSK_LATE.days),
    "future": lazy_ngettext("is more than %(num)d minute in the future",
                            "is more than %(num)d minutes in the future",
                            MAX_CLOCK_SKEW // timedelta(minutes=1)),
    "started_after": _l("must be before submitted_at, by at most 2 hours"),
    "channel": _l("must be 'kiosk' or absent"),
    "unknown": _l("unknown field"),
    "not_object": _l("must be a JSON object"),
    "conflict": _l("this id was already used for a different response"),
    "revoked": _l("this kiosk is revoked; only answers it made before and reported in a "
                  "heartbeat are still accepted"),
}

_ENVELOPE = ("id", "counter", "survey", "started_at", "submitted_at", "channel")
_INSTANTS = ("started_at", "submitted_at")
# Checked by parse_answers, with the survey's own messages.
_SURVEY_ITEMS = ("answers", "wait_band", "service", "comment", "profile")


def _error(key: str) -> FieldError:
    return FieldError(MESSAGES[key], {})


@dataclass
class ItemResult:
    """What became of one answer: ``status`` 201, 200, 403, 409 or 422."""

    client_id: uuid.UUID | None
    raw_id: str | None
    status: int
    errors: dict[str, FieldError] = field(default_factory=dict)
    error: FieldError | None = None
    repeat: bool = False
    bot: bool = False
    fast: bool = False
    burst: bool = False


def _envelope_errors(item: Mapping[str, Any]) -> dict[str, FieldError]:
    """The answer's own fields (not the survey's items) that are invalid, by name."""
    try:
        KioskAnswer.model_validate(item)
        return {}
    except ValidationError as error:
        problems = kiosk_problems(error)
    errors: dict[str, FieldError] = {}
    for name, kind in problems.items():
        top, _, rest = name.partition(".")
        if kind == "extra_forbidden" and not rest:
            errors[top[:32]] = _error("unknown")
        elif top == "answers" and kind == "extra_forbidden":
            errors[f"answers.{rest[:16]}"] = _error("answer_key")
        elif top == "answers" and not rest:
            errors["answers"] = _error("answers")
        elif top in _INSTANTS:
            errors[top] = _error("instant")
        elif top in _ENVELOPE:
            errors[top] = _error(top)
        elif top not in _SURVEY_ITEMS:
            errors.setdefault(top[:32] or "body", _error("unknown"))
    return errors


def _on_server_clock(kiosk: Kiosk, raw: object, now: datetime) -> datetime | None:
    """A time the tablet sent, on the server's clock (``now`` far in the past when it cannot
    be corrected: a refused time, never an overflow)."""
    parsed = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    if parsed is None:
        return None
    try:
        return kiosks.device_time_to_server(kiosk, parsed)
    except OverflowError:
        return now - kiosks.MAX_KIOSK_LATE - kiosks.MAX_KIOSK_LATE


def _times(kiosk: Kiosk, item: Mapping[str, Any], errors: dict[str, FieldError],
           now: datetime) -> tuple[datetime, datetime | None, datetime | None]:
    """(created_at, started_at, declared submitted_at) on the server's clock, checking the
    window; an invalid time is reported in ``errors`` and replaced by ``now``."""
    submitted = None if "submitted_at" in errors else _on_server_clock(
        kiosk, item.get("submitted_at"), now)
    started = None if "started_at" in errors else _on_server_clock(
        kiosk, item.get("started_at"), now)
    for name, value in (("submitted_at", submitted), ("started_at", started)):
        if value is None:
            continue
        if value < now - kiosks.MAX_KIOSK_LATE:
            errors[name] = _error("too_old")
        elif value > now + MAX_CLOCK_SKEW:
            errors[name] = _error("future")
    created = submitted if submitted is not None and "submitted_at" not in errors else now
    if started is not None and "started_at" not in errors and not (
            created - MAX_SESSION <= started <= created):
        errors["started_at"] = _error("started_after")
    declared = datetime.fromisoformat(item["submitted_at"]) if submitted is not None else None
    return created, started if "started_at" not in errors else None, declared


def _survey(item: Mapping[str, Any], surveys: Mapping[tuple[str, int], Survey],
            current: Survey, errors: dict[str, FieldError]) -> Survey:
    ref = item.get("survey")
    if ref is None or "survey" in errors:
        return current
    found = by_reference(surveys, str(ref))
    if found is None:
        errors["survey"] = _error("survey")
        return current
    return found


def _lookup(session: Session, kiosk: Kiosk, item: Mapping[str, Any], survey: Survey,
            created: datetime, tz: ZoneInfo, errors: dict[str, FieldError]
            ) -> TokenLookup | None:
    if "counter" in errors:
        return None
    lookup = lookup_counter_code(session, kiosk.unit_id, item["counter"], survey,
                                 item.get("service"), created, tz)
    if lookup.counter is None:
        errors["counter"] = _error("inactive_counter" if lookup.inactive else "unknown_counter")
        return None
    if kiosk.counters and lookup.counter.id not in {c.id for c in kiosk.counters}:
        errors["counter"] = _error("not_bound")
        return None
    if kiosk.services and item.get("service") and lookup.service_id not in {
            s.id for s in kiosk.services}:
        errors["service"] = _error("service_not_bound")
    return lookup


def _reported_before_revocation(session: Session, kiosk: Kiosk, item: object) -> bool:
    raw = item.get("id") if isinstance(item, dict) else None
    try:
        client_id = uuid.UUID(raw) if isinstance(raw, str) and len(raw) <= 36 else None
    except ValueError:
        client_id = None
    return client_id is not None and kiosks.reported_before_revocation(session, kiosk,
                                                                       client_id)


def store_kiosk_answer(session: Session, kiosk: Kiosk, item: object, *,
                       surveys: Mapping[tuple[str, int], Survey], current: Survey,
                       now: datetime, tz: ZoneInfo) -> ItemResult:
    """Validate and store one answer of ``kiosk`` (in the caller's write transaction).

    A revoked kiosk's answer is refused (403) before anything else, and nothing is written
    for it, unless it is one the kiosk reported in a heartbeat before the revocation.
    """
    if kiosk.revoked and not _reported_before_revocation(session, kiosk, item):
        raw = item.get("id") if isinstance(item, dict) else None
        return ItemResult(None, raw if isinstance(raw, str) else None, 403,
                          error=_error("revoked"))
    if not isinstance(item, dict):
        result = ItemResult(None, None, 422, {"body": _error("not_object")})
        kiosks.quarantine(session, kiosk, None, 422, {"body": str(MESSAGES["not_object"])},
                          item, now=now)
        return result
    raw_id = item.get("id") if isinstance(item.get("id"), str) else None
    if any(refused_character(name) for name in item):
        # A field name no database takes (a lone surrogate): the schema check stops at it
        # and says nothing of the other fields, so none of them is read.
        errors = {"body": _error("unknown")}
        _keep(session, kiosk, None, 422, errors, item, now)
        return ItemResult(None, raw_id, 422, errors)
    errors = _envelope_errors(item)
    client_id = uuid.UUID(raw_id) if raw_id is not None and "id" not in errors else None
    created, started, declared = _times(kiosk, item, errors, now)
    survey = _survey(item, surveys, current, errors)
    lookup = _lookup(session, kiosk, item, survey, created, tz, errors)
    answers_value = item.get("answers")
    answers_raw = answers_value if isinstance(answers_value, dict) else {}
    raw = {**{k: v for k, v in answers_raw.items() if k in survey.element_codes},
           **{k: item.get(k) for k in ("wait_band", "service", "comment", "profile")}}
    service_codes = lookup.service_codes(raw["service"]) if lookup else set()
    parsed, field_errors = parse_answers(survey, service_codes, raw)
    for code in survey.element_codes:
        # Scores are JSON integers, as documented; only the phone form sends text.
        if isinstance(answers_raw.get(code), str):
            field_errors.setdefault(code, FieldError(
                _l("The value of %(code)s must be a whole number from 1 to 4, not text."),
                {"code": code}))
    for name, problem in field_errors.items():
        key = f"answers.{name}" if name in survey.element_codes else name
        if name == "service" and lookup is None:
            continue  # the counter is wrong: which services it offers is not known
        errors.setdefault(key, problem)
    if errors or parsed is None or lookup is None or client_id is None:
        _keep(session, kiosk, client_id, 422, errors, item, now)
        return ItemResult(client_id, raw_id, 422, errors)
    if not kiosks.accepts(session, kiosk, client_id, created):
        return ItemResult(client_id, raw_id, 403, error=_error("revoked"))
    fast, burst = kiosks.session_flags(session, kiosk, started, created)
    submission = Submission(client_id=client_id, channel="kiosk", created_at=created,
                            received_at=now, declared_submitted_at=declared,
                            kiosk_id=kiosk.id, started_at=started, fast=fast, burst=burst)
    outcome, row = store_response(session, lookup.prepared(survey, parsed), parsed,
                                  submission, tz)
    if outcome is Outcome.CONFLICT:
        _keep(session, kiosk, client_id, 409, {"id": _error("conflict")}, item, now)
        return ItemResult(client_id, raw_id, 409, error=_error("conflict"))
    kiosks.forget_pending(session, kiosk.id, [client_id])
    status = 201 if outcome is Outcome.CREATED else 200
    return ItemResult(client_id, raw_id, status, repeat=row.flag_repeat, bot=row.flag_bot,
                      fast=fast if status == 201 else False,
                      burst=burst if status == 201 else False)


def _keep(session: Session, kiosk: Kiosk, client_id: uuid.UUID | None, status: int,
          errors: Mapping[str, FieldError], item: Any, now: datetime) -> None:
    kiosks.quarantine(session, kiosk, client_id, status,
                      {name: fill(e.message, e.params) for name, e in errors.items()},
                      item, now=now)


def store_kiosk_answers(session: Session, kiosk: Kiosk, items: Sequence[object], *,
                        surveys: Mapping[tuple[str, int], Survey], current: Survey,
                        now: datetime, tz: ZoneInfo) -> list[ItemResult]:
    """Each answer of a batch, in order (the kiosk sends its queue oldest first, so the
    burst flag sees the previous session)."""
    return [store_kiosk_answer(session, kiosk, item, surveys=surveys, current=current,
                               now=now, tz=tz) for item in items]
