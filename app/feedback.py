"""Recording citizen feedback: validation, the response row, idempotency and abuse flags."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import dialect_insert
from app.models import Counter, CounterToken, DailySalt, Response, Service, SurveyVersion
from app.models.feedback import MAX_MEASURED_WAIT_MIN
from app.org import TOKEN_PATTERN, find_token, on_duty_query
from app.periods import local_periods
from app.surveys import Survey

DEFAULT_SURVEY_ID = "skm-2017"
REPEAT_WINDOW = timedelta(minutes=10)
MAX_LATE_SYNC = timedelta(days=7)
MAX_CLOCK_SKEW = timedelta(minutes=5)
SCORE_TEXT = re.compile(r"^[0-9]{1,3}$")  # ASCII digits only: '²'.isdigit() is True
PROFILE_COLUMNS = ("sex", "age_band", "education", "occupation")


@dataclass(frozen=True)
class FieldError:
    """A validation problem with one field: a message key of the catalogue and its params."""

    key: str
    params: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Answers:
    """A validated submission, ready to store."""

    scores: tuple[int, ...]
    wait_band: str | None = None
    service_code: str | None = None
    comment: str | None = None
    profile: Mapping[str, str] = field(default_factory=dict)

    def canonical(self) -> dict[str, object]:
        """A JSON-able form, the same for the same answers (for idempotency checks)."""
        return {
            "scores": list(self.scores),
            "wait_band": self.wait_band,
            "service": self.service_code,
            "comment": self.comment,
            "profile": dict(sorted(self.profile.items())),
        }


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _score(value: object) -> int | None:
    """An integer score from a form string or a JSON number; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and SCORE_TEXT.fullmatch(value.strip()):
        return int(value.strip())
    return None


def clean_text(value: str) -> str:
    """Normalise a free-text answer: NFC, no control characters except newline and tab."""
    value = unicodedata.normalize("NFC", value)
    kept = "".join(ch for ch in value if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    return kept.replace("\r", "").strip()


def parse_answers(
    survey: Survey, service_codes: set[str], raw: Mapping[str, object]
) -> tuple[Answers | None, dict[str, FieldError]]:
    """Validate a submission from the form or the API; return answers or errors by field.

    ``raw`` holds the element codes (U1…U9), ``wait_band``, ``service``, ``comment`` and
    ``profile`` (a mapping of profile item code to option code). Optional items may be blank.
    """
    errors: dict[str, FieldError] = {}
    scores: list[int] = []
    for number, element in enumerate(survey.elements, start=1):
        value = raw.get(element.code)
        if _blank(value):
            errors[element.code] = FieldError(
                "error_required", {"code": element.code, "number": number, "name": element.name})
            continue
        score = _score(value)
        if score is None or not 1 <= score <= 4:
            errors[element.code] = FieldError("error_score_range", {"code": element.code})
            continue
        scores.append(score)

    wait_band = raw.get("wait_band")
    if _blank(wait_band):
        wait_band = None
    elif not isinstance(wait_band, str) or survey.wait_band(wait_band) is None:
        errors["wait_band"] = FieldError("error_wait_band")

    service = raw.get("service")
    if _blank(service):
        service = None
    elif not isinstance(service, str) or service not in service_codes:
        errors["service"] = FieldError("error_service")

    comment = raw.get("comment")
    if _blank(comment):
        comment = None
    elif not isinstance(comment, str):
        errors["comment"] = FieldError("error_comment_type")
    else:
        comment = clean_text(comment)
        if len(comment) > survey.comment_max_length:
            errors["comment"] = FieldError(
                "error_comment_length", {"max": survey.comment_max_length, "n": len(comment)}
            )
        comment = comment or None

    profile: dict[str, str] = {}
    raw_profile = raw.get("profile") or {}
    if not isinstance(raw_profile, Mapping):
        errors["profile"] = FieldError("error_profile")
        raw_profile = {}
    for key, value in raw_profile.items():
        item = survey.profile_item(str(key))
        if item is None:
            errors[f"profile.{key}"[:64]] = FieldError("error_profile_key", {"key": str(key)[:32]})
        elif _blank(value):
            continue
        elif not isinstance(value, str) or value not in {o.code for o in item.options}:
            errors[f"profile.{key}"] = FieldError("error_profile")
        else:
            profile[item.code] = value

    if errors:
        return None, errors
    return Answers(
        tuple(scores),
        wait_band if isinstance(wait_band, str) else None,
        service if isinstance(service, str) else None,
        comment if isinstance(comment, str) else None,
        profile,
    ), {}


def payload_hash(counter_id: int, answers: Answers, created_at: datetime | None) -> str:
    """sha256 of what was submitted, to tell a safe retry from a conflicting reuse of an id."""
    body = {"counter": counter_id, "answers": answers.canonical(),
            "submitted_at": created_at.isoformat() if created_at else None}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def survey_version_id(session: Session, survey: Survey) -> int:
    """The id of the survey version row, recording the version on first use."""
    found = session.scalar(select(SurveyVersion.id).where(
        SurveyVersion.survey_id == survey.survey_id, SurveyVersion.version == survey.version))
    if found is not None:
        return found
    from app.survey_versions import sync_survey_versions

    (row,) = sync_survey_versions(session, [survey])
    return row.id


def daily_salt(session: Session, day: date) -> str:
    """The salt of a local day, created on first use (concurrent first uses agree)."""
    salt = session.scalar(select(DailySalt.salt).where(DailySalt.day == day))
    if salt is not None:
        return salt
    session.execute(
        dialect_insert(session, DailySalt)
        .values(day=day, salt=secrets.token_hex(32))
        .on_conflict_do_nothing(index_elements=["day"])
    )
    stored = session.scalar(select(DailySalt.salt).where(DailySalt.day == day))
    assert stored is not None  # noqa: S101 (just inserted or inserted concurrently)
    return stored


def salted_hash(salt: str, value: str) -> str:
    """A hash that can be linked to the value only while the day's salt exists."""
    return hashlib.sha256(f"{salt}:{value}".encode()).hexdigest()


def measured_wait_minutes(
    arrival_unit_id: int, arrived_at: datetime, unit_id: int, opened_at: datetime, tz: ZoneInfo
) -> int | None:
    """Minutes from arrival to opening the counter survey, or None when they don't belong.

    Discarded across units, across local days, backwards in time, and beyond 8 hours.
    """
    if arrival_unit_id != unit_id:
        return None
    if arrived_at.astimezone(tz).date() != opened_at.astimezone(tz).date():
        return None
    minutes = int((opened_at - arrived_at).total_seconds() // 60)
    if not 0 <= minutes <= MAX_MEASURED_WAIT_MIN:
        return None
    return minutes


class Outcome(Enum):
    """What became of a submission with a client-chosen id."""

    CREATED = "created"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"


@dataclass(frozen=True)
class Submission:
    """Everything about one submission besides the answers, as the edge received it."""

    client_id: uuid.UUID
    channel: str
    created_at: datetime
    received_at: datetime
    ip: str | None = None
    device: str | None = None
    measured_wait_min: int | None = None
    honeypot_filled: bool = False
    declared_submitted_at: datetime | None = None


@dataclass(frozen=True)
class Prepared:
    """What a response needs from the database before it is written (read-only lookups)."""

    survey: Survey
    survey_version_id: int | None
    counter_id: int
    unit_id: int
    service_id: int | None
    officer_id: int | None


@dataclass(frozen=True)
class Stored:
    """The stored response a submission ended up as."""

    id: int
    client_id: uuid.UUID
    flag_repeat: bool
    flag_bot: bool


@dataclass(frozen=True)
class CounterRef:
    """Just the ids of a counter: what storing a response needs (cheaper than the entity)."""

    id: int
    unit_id: int


def counter_for_token(session: Session, token: str) -> tuple[CounterRef | None, bool]:
    """The counter of a live token as ids, in one query; (None, True) when retired or the
    counter is inactive, (None, False) when unknown."""
    if not TOKEN_PATTERN.fullmatch(token):
        return None, False
    row = session.execute(
        select(Counter.id, Counter.unit_id, Counter.active, CounterToken.retired_at)
        .join(CounterToken, CounterToken.counter_id == Counter.id)
        .where(CounterToken.token == token)
    ).first()
    if row is None:
        return None, False
    if row.retired_at is not None or not row.active:
        return None, True
    return CounterRef(row.id, row.unit_id), False


def prepare_response(
    session: Session, survey: Survey, counter: Counter | CounterRef, answers: Answers,
    created_at: datetime,
) -> Prepared:
    """Look up the officer on duty, the service and the survey version (reads only).

    Kept apart from ``store_response`` so that on SQLite the write lock is held only for the
    insert itself, not for the lookups.
    """
    # One round trip: the three lookups as scalar subqueries of a single statement.
    service = select(Service.id).where(
        Service.unit_id == counter.unit_id, Service.code == answers.service_code)
    version = select(SurveyVersion.id).where(
        SurveyVersion.survey_id == survey.survey_id, SurveyVersion.version == survey.version)
    row = session.execute(select(
        service.scalar_subquery(),
        on_duty_query(counter.id, created_at).scalar_subquery(),
        version.scalar_subquery(),
    )).one()
    service_id = row[0] if answers.service_code is not None else None
    return Prepared(survey, row[2], counter.id, counter.unit_id, service_id, row[1])


def store_response(
    session: Session, prepared: Prepared, answers: Answers, submission: Submission, tz: ZoneInfo
) -> tuple[Outcome, Stored]:
    """Write one response in the caller's (short) transaction; a repeated id is not doubled.

    The same id with the same content is a safe retry (DUPLICATE, the stored row); with other
    content it is a CONFLICT. Flags: ``repeat`` for a second response of one device at one
    counter within 10 minutes, ``bot`` for a filled honeypot; flagged responses are kept.
    """
    digest = payload_hash(prepared.counter_id, answers, submission.declared_submitted_at)
    salt = daily_salt(session, submission.received_at.astimezone(tz).date())
    device_hash = salted_hash(salt, submission.device) if submission.device else None
    repeat = device_hash is not None and session.scalar(
        select(Response.id).where(
            Response.device_hash == device_hash,
            Response.counter_id == prepared.counter_id,
            Response.created_at > submission.created_at - REPEAT_WINDOW,
            Response.created_at <= submission.created_at,
        ).limit(1)
    ) is not None
    version_id = prepared.survey_version_id or survey_version_id(session, prepared.survey)
    periods = local_periods(submission.created_at, tz)
    values: dict[str, object] = {
        "client_id": submission.client_id,
        "payload_hash": digest,
        "survey_version_id": version_id,
        "unit_id": prepared.unit_id,
        "counter_id": prepared.counter_id,
        "service_id": prepared.service_id,
        "officer_id": prepared.officer_id,
        "channel": submission.channel,
        "created_at": submission.created_at,
        "received_at": submission.received_at,
        "local_day": periods.day,
        "local_week": periods.week,
        "local_month": periods.month,
        "local_hour": periods.hour,
        "wait_band": answers.wait_band,
        "measured_wait_min": submission.measured_wait_min,
        "comment": answers.comment,
        "flag_repeat": repeat,
        "flag_bot": submission.honeypot_filled,
        "ip_hash": salted_hash(salt, submission.ip) if submission.ip else None,
        "device_hash": device_hash,
        **{f"u{i}": score for i, score in enumerate(answers.scores, start=1)},
        **{column: answers.profile.get(column) for column in PROFILE_COLUMNS},
    }
    # ON CONFLICT DO NOTHING: of two requests with one id, exactly one inserts; the other
    # (a retry, or its concurrent twin) finds the stored row and compares the content.
    inserted = session.execute(_insert_response(session), values).scalar()
    if inserted is not None:
        return Outcome.CREATED, Stored(inserted, submission.client_id, repeat,
                                       submission.honeypot_filled)
    existing = _by_client_id(session, submission.client_id)
    assert existing is not None  # noqa: S101 (the conflict means it exists)
    outcome = Outcome.DUPLICATE if existing.payload_hash == digest else Outcome.CONFLICT
    return outcome, Stored(existing.id, existing.client_id, existing.flag_repeat,
                           existing.flag_bot)


_INSERT_RESPONSE: dict[str, Any] = {}


def _insert_response(session: Session) -> Any:
    """The insert statement, built once per dialect: building it per row costs more than
    the insert itself on SQLite."""
    dialect = session.get_bind().dialect.name
    if dialect not in _INSERT_RESPONSE:
        _INSERT_RESPONSE[dialect] = (
            dialect_insert(session, Response)
            .on_conflict_do_nothing(index_elements=["client_id"])
            .returning(Response.id)
        )
    return _INSERT_RESPONSE[dialect]


def record_response(
    session: Session,
    survey: Survey,
    counter: Counter,
    answers: Answers,
    submission: Submission,
    tz: ZoneInfo,
) -> tuple[Outcome, Response]:
    """Prepare and store a response in one transaction (demo history, jobs and tests).

    The officer on duty at ``created_at`` is taken from the roster; see ``store_response``
    for idempotency and flags.
    """
    prepared = prepare_response(session, survey, counter, answers, submission.created_at)
    outcome, stored = store_response(session, prepared, answers, submission, tz)
    row = session.get(Response, stored.id)
    assert row is not None  # noqa: S101 (just stored or found)
    return outcome, row


def _by_client_id(session: Session, client_id: uuid.UUID) -> Response | None:
    return session.scalars(select(Response).where(Response.client_id == client_id)).one_or_none()


@dataclass(frozen=True)
class ResolvedToken:
    """A scanned token: its counter, or why there is none."""

    counter: Counter | None
    retired: bool


def resolve_token(session: Session, token: str) -> ResolvedToken:
    """Find the counter of a public token; retired tokens and inactive counters are 'retired'."""
    found = find_token(session, token)
    if found is None:
        return ResolvedToken(None, False)
    if found.retired_at is not None or not found.counter.active:
        return ResolvedToken(None, True)
    return ResolvedToken(found.counter, False)


def unit_service_codes(session: Session, unit_id: int) -> set[str]:
    """The service codes a unit offers (what a submission may name)."""
    return set(session.scalars(select(Service.code).where(Service.unit_id == unit_id)))
