"""Storing citizen feedback: the response row, its counter and officer, idempotency, flags."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from functools import cache
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, String, bindparam, select
from sqlalchemy.orm import Session

from app.answers import Answers
from app.case_contact import Contact
from app.cases import case_of_response, may_open_case, open_case
from app.db import UTCDateTime, dialect_insert, dialect_name, insert_for
from app.duty import NOBODY, Attribution, attribute, officers_on_duty
from app.models import (
    Counter,
    CounterToken,
    Response,
    Service,
    SurveyVersion,
    Unit,
)
from app.models.feedback import MAX_MEASURED_WAIT_MIN
from app.org import CODE_PATTERN, TOKEN_PATTERN
from app.periods import local_periods
from app.privacy import daily_salt, existing_salt, salted_hash
from app.refs import UnitRef
from app.surveys import Survey

DEFAULT_SURVEY_ID = "skm-2017"
REPEAT_WINDOW = timedelta(minutes=10)
MAX_LATE_SYNC = timedelta(days=7)
MAX_CLOCK_SKEW = timedelta(minutes=5)
PROFILE_COLUMNS = ("sex", "age_band", "education", "occupation")


def payload_hash(counter_id: int, answers: Answers, created_at: datetime | None, *,
                 as_written: bool = False) -> str:
    """sha256 of what was submitted, to tell a safe retry from a conflicting reuse of an id.

    It hashes the instant, not how it was written: 09.12+07:00 and 02.12Z are one retry.
    ``as_written``: the hash of rows stored before 2026-11-30, which kept the offset as
    written; a retry of such a row still matches it (kiosks retry for up to 7 days, so this
    can go once a week has passed after the upgrade).
    """
    if created_at is not None:
        submitted: str | None = (created_at if as_written
                                 else created_at.astimezone(UTC)).isoformat()
    else:
        submitted = None
    body = {"counter": counter_id, "answers": answers.canonical(), "submitted_at": submitted}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def survey_version_id(session: Session, survey: Survey) -> int:
    """The id of the survey version row, recording the version on first use (within the
    caller's transaction, also when that is a plain connection's). Concurrent first uses
    agree: the second insert does nothing and reads the first one's row (it was a unique
    violation, a 500, on PostgreSQL when a deployment skipped ``surveys sync``)."""
    wanted = select(SurveyVersion.id).where(
        SurveyVersion.survey_id == survey.survey_id, SurveyVersion.version == survey.version)
    found = session.scalar(wanted)
    if found is not None:
        return found
    session.execute(
        dialect_insert(session, SurveyVersion)
        .values(survey_id=survey.survey_id, version=survey.version,
                content_hash=survey.content_hash, registered_at=datetime.now(UTC))
        .on_conflict_do_nothing(index_elements=["survey_id", "version"])
    )
    stored = session.scalar(wanted)
    assert stored is not None  # noqa: S101 (just inserted or inserted concurrently)
    return stored


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
    # Known to come from a citizen who already answered (a form sent again with changes).
    repeat: bool = False
    # A kiosk's answer: the kiosk, when its session started, and its flags (app.kiosks).
    kiosk_id: int | None = None
    started_at: datetime | None = None
    fast: bool = False
    burst: bool = False
    # The phone form's "Ini pengaduan" (or the API's "complaint": true), and the contact the
    # citizen gave with consent: kept only when the response opens a case (app.cases).
    complaint: bool = False
    contact: Contact | None = None

    @property
    def flagged(self) -> bool:
        """Left out of the index (and opening no case) from what the edge knows."""
        return self.repeat or self.honeypot_filled or self.fast or self.burst


@dataclass(frozen=True)
class Prepared:
    """What a response needs from the database before it is written (read-only lookups)."""

    survey: Survey
    survey_version_id: int | None
    counter_id: int
    unit_id: int
    service_id: int | None
    officer_id: int | None
    attribution: str  # where officer_id comes from (app.duty.Attribution.source)


@dataclass(frozen=True)
class Stored:
    """The stored response a submission ended up as."""

    id: int
    client_id: uuid.UUID
    flag_repeat: bool
    flag_bot: bool
    case_reference: str | None = None  # the complaint case it opened, if any


@dataclass(frozen=True)
class CounterRef:
    """Just the ids of a counter: what storing a response needs (cheaper than the entity)."""

    id: int
    unit_id: int


# The submission's statements, written against the tables: lookups with bound parameters.
_counters = Counter.__table__
_tokens = CounterToken.__table__
_services = Service.__table__
_units = Unit.__table__
_versions = SurveyVersion.__table__
_responses = Response.__table__


def _lookups(unit_id: ColumnElement[int]) -> list[Any]:
    """What a response at a counter needs, as scalar subqueries: the id of the service coded
    ``:service`` in the unit and the survey version row (the officer is attributed apart, by
    ``app.duty.attribute``)."""
    return [
        select(_services.c.id).where(
            _services.c.unit_id == unit_id,
            _services.c.code == bindparam("service", type_=String()),
        ).scalar_subquery(),
        select(_versions.c.id).where(
            _versions.c.survey_id == bindparam("survey_id", type_=String()),
            _versions.c.version == bindparam("version"),
        ).scalar_subquery(),
    ]


# By the scanned token (the web's submissions) and by a known counter (demo, jobs, tests).
_SUBMISSION_LOOKUP = (
    select(_counters.c.id, _counters.c.unit_id, _counters.c.active, _tokens.c.retired_at,
           _units.c.active, *_lookups(_counters.c.unit_id))
    .join(_tokens, _tokens.c.counter_id == _counters.c.id)
    .join(_units, _units.c.id == _counters.c.unit_id)
    .where(_tokens.c.token == bindparam("token", type_=String()))
)
_COUNTER_LOOKUP = select(*_lookups(bindparam("unit_id")))
# By a counter's code within a unit (kiosks name counters by code: posters get new tokens).
_CODE_LOOKUP = (
    select(_counters.c.id, _counters.c.unit_id, _counters.c.active, _units.c.active,
           *_lookups(_counters.c.unit_id))
    .join(_units, _units.c.id == _counters.c.unit_id)
    .where(_counters.c.unit_id == bindparam("unit_id"),
           _counters.c.code == bindparam("code", type_=String()))
)

# The counters this device answered at within the window (a handful at most). The counter is
# compared in Python: with it in the WHERE clause PostgreSQL estimates "the last 10 minutes"
# as nearly empty (past its statistics) and walks the counter's recent responses instead of
# this device's, thousands of rows at a busy counter.
# A device's hash changes with the day's salt: just after local midnight the window also
# holds hashes made with the day before's ("device_before"; else the same as "device").
_REPEAT = select(_responses.c.counter_id).where(
    _responses.c.device_hash.in_([bindparam("device", type_=String()),
                                  bindparam("device_before", type_=String())]),
    _responses.c.created_at > bindparam("since", type_=UTCDateTime()),
    _responses.c.created_at <= bindparam("until", type_=UTCDateTime()),
).distinct()


@dataclass(frozen=True)
class TokenLookup:
    """A scanned token and what a response at its counter needs, read in one statement.

    ``counter`` is None for an unknown token, for a retired one (then ``retired`` is True)
    and for a counter no longer in use, itself or its unit deactivated (then ``inactive`` is
    True, whether or not the token was also retired). The service is looked up by the
    submitted code within the counter's unit (None when there is no such service); the
    officer is the one ``app.duty.attribute`` names for the instant asked for.
    """

    counter: CounterRef | None
    retired: bool = False
    inactive: bool = False
    service_id: int | None = None
    attribution: Attribution = NOBODY
    survey_version_id: int | None = None

    @property
    def officer_id(self) -> int | None:
        """The officer the response counts for (None: the counter only)."""
        return self.attribution.officer_id

    def service_codes(self, code: object) -> set[str]:
        """The service codes a submission naming ``code`` may use: that one if it exists."""
        return {code} if isinstance(code, str) and self.service_id is not None else set()

    def prepared(self, survey: Survey, answers: Answers) -> Prepared:
        """What ``store_response`` needs, for answers validated against this lookup."""
        assert self.counter is not None  # noqa: S101 (callers answer 404/410 before)
        return Prepared(survey, self.survey_version_id, self.counter.id, self.counter.unit_id,
                        self.service_id if answers.service_code is not None else None,
                        self.attribution.officer_id, self.attribution.source)


def lookup_token(
    session: Session, token: str, survey: Survey, service_code: object, at: datetime,
    tz: ZoneInfo, *, picked_officer_id: int | None = None,
) -> TokenLookup:
    """Resolve a counter token for a submission: the counter, the service named
    ``service_code`` in its unit and the survey version in one query, then the officer the
    response counts for, attributed at ``at`` (when the survey was opened) with the
    citizen's pick, if any (``app.duty.attribute``).

    The token is read afresh every time, so a revoked token is refused at once.
    """
    if not TOKEN_PATTERN.fullmatch(token):
        return TokenLookup(None)  # not a token we issue (also keeps NUL bytes off the wire)
    row = session.execute(_SUBMISSION_LOOKUP, {
        "token": token,
        # Only what could be a code reaches the database (NUL bytes upset PostgreSQL).
        "service": service_code if isinstance(service_code, str)
        and CODE_PATTERN.fullmatch(service_code) else None,
        "survey_id": survey.survey_id, "version": survey.version,
    }).first()
    if row is None:
        return TokenLookup(None)
    counter_id, unit_id, active, retired_at, unit_active, service_id, version_id = row
    if not (active and unit_active):
        return TokenLookup(None, inactive=True)
    if retired_at is not None:
        return TokenLookup(None, retired=True)
    return TokenLookup(CounterRef(counter_id, unit_id), False, False, service_id,
                       attribute(session, counter_id, at, tz,
                                 picked_officer_id=picked_officer_id), version_id)


def lookup_counter_code(
    session: Session, unit_id: int, code: str, survey: Survey, service_code: object,
    at: datetime, tz: ZoneInfo,
) -> TokenLookup:
    """As ``lookup_token``, for the counter coded ``code`` in the unit ``unit_id`` (a
    kiosk's answers): counter is None for no such counter, with ``inactive`` for one (or a
    unit) no longer in use."""
    if not CODE_PATTERN.fullmatch(code):
        return TokenLookup(None)
    row = session.execute(_CODE_LOOKUP, {
        "unit_id": unit_id, "code": code,
        "service": service_code if isinstance(service_code, str)
        and CODE_PATTERN.fullmatch(service_code) else None,
        "survey_id": survey.survey_id, "version": survey.version,
    }).first()
    if row is None:
        return TokenLookup(None)
    counter_id, counter_unit_id, active, unit_active, service_id, version_id = row
    if not (active and unit_active):
        return TokenLookup(None, inactive=True)
    return TokenLookup(CounterRef(counter_id, counter_unit_id), False, False, service_id,
                       attribute(session, counter_id, at, tz), version_id)


def prepare_response(
    session: Session, survey: Survey, counter: Counter | CounterRef, answers: Answers,
    created_at: datetime, tz: ZoneInfo, *, picked_officer_id: int | None = None,
) -> Prepared:
    """Look up the service and the survey version, and attribute the response to an
    officer at ``created_at`` (``app.duty.attribute``); reads only.

    Kept apart from ``store_response`` so that on SQLite the write lock is held only for the
    insert itself, not for the lookups.
    """
    # One round trip: the two lookups as scalar subqueries of a single statement.
    row = session.execute(_COUNTER_LOOKUP, {
        "unit_id": counter.unit_id, "service": answers.service_code,
        "survey_id": survey.survey_id, "version": survey.version,
    }).one()
    service_id = row[0] if answers.service_code is not None else None
    attributed = attribute(session, counter.id, created_at, tz,
                           picked_officer_id=picked_officer_id)
    return Prepared(survey, row[1], counter.id, counter.unit_id, service_id,
                    attributed.officer_id, attributed.source)


def store_response(
    session: Session, prepared: Prepared, answers: Answers, submission: Submission,
    tz: ZoneInfo, *, open_cases: bool = True,
) -> tuple[Outcome, Stored]:
    """Write one response in the caller's (short) transaction; a repeated id is not doubled.

    The same id with the same content is a safe retry (DUPLICATE, the stored row); with other
    content, or through another channel, it is a CONFLICT. Flags: ``repeat`` for a second
    response of one device at one counter within 10 minutes, ``bot`` for a filled honeypot;
    flagged responses are kept.

    A new response with a reason (bots and a kiosk's fast or burst answers aside: a repeat
    does) opens its complaint case in the same
    transaction (``app.cases.open_case``; not with ``open_cases`` false: the demo's past).
    """
    digest = payload_hash(prepared.counter_id, answers, submission.declared_submitted_at)
    day = submission.received_at.astimezone(tz).date()
    salt = daily_salt(session, day)
    device_hash = salted_hash(salt, submission.device) if submission.device else None
    repeat = submission.repeat or device_hash is not None and _answered_here_just_now(
        session, prepared.counter_id, submission, device_hash, day, tz)
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
        "attribution": prepared.attribution,
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
        "flag_fast": submission.fast,
        "flag_burst": submission.burst,
        "kiosk_id": submission.kiosk_id,
        "started_at": submission.started_at,
        "ip_hash": salted_hash(salt, submission.ip) if submission.ip else None,
        "device_hash": device_hash,
        **{element.code.lower(): score
           for element, score in zip(prepared.survey.elements, answers.scores, strict=True)},
        **{column: answers.profile.get(column) for column in PROFILE_COLUMNS},
    }
    # ON CONFLICT DO NOTHING: of two requests with one id, exactly one inserts; the other
    # (a retry, or its concurrent twin) finds the stored row and compares the content.
    inserted = session.scalar(_insert_response(dialect_name(session)), values)
    if inserted is not None:
        reference = None
        # A repeat still opens its own case: its flag is about the index, not complaints.
        if open_cases and not (submission.honeypot_filled or submission.fast
                               or submission.burst) and may_open_case(
                answers.scores, answers.comment, prepared.service_id,
                declared=submission.complaint):
            row = session.get(Response, inserted)
            assert row is not None  # noqa: S101 (just inserted)
            case = open_case(session, row, declared=submission.complaint,
                             contact=submission.contact, now=submission.received_at, tz=tz)
            reference = case.reference if case is not None else None
        return Outcome.CREATED, Stored(inserted, submission.client_id, repeat,
                                       submission.honeypot_filled, reference)
    existing = session.execute(_BY_CLIENT_ID, {"client_id": submission.client_id}).one()
    same = existing.channel == submission.channel and (
        existing.payload_hash == digest or existing.payload_hash == payload_hash(
            prepared.counter_id, answers, submission.declared_submitted_at, as_written=True))
    outcome = Outcome.DUPLICATE if same else Outcome.CONFLICT
    case = case_of_response(session, existing.id) if same else None
    return outcome, Stored(existing.id, existing.client_id, existing.flag_repeat,
                           existing.flag_bot, case.reference if case is not None else None)


def _answered_here_just_now(
    session: Session, counter_id: int, submission: Submission, device_hash: str,
    day: date, tz: ZoneInfo,
) -> bool:
    """Whether this device answered at this counter within REPEAT_WINDOW before this one."""
    since = submission.created_at - REPEAT_WINDOW
    device_before = device_hash
    day_before = (submission.received_at - REPEAT_WINDOW).astimezone(tz).date()
    if day_before != day:  # the window reaches back past local midnight
        salt_before = existing_salt(session, day_before)
        if salt_before is not None:  # read only: no salt is made for a day that is over
            device_before = salted_hash(salt_before, submission.device or "")
    return counter_id in session.scalars(_REPEAT, {
        "device": device_hash, "device_before": device_before, "since": since,
        "until": submission.created_at}).all()


_BY_CLIENT_ID = select(
    _responses.c.id, _responses.c.client_id, _responses.c.payload_hash, _responses.c.channel,
    _responses.c.flag_repeat, _responses.c.flag_bot,
).where(_responses.c.client_id == bindparam("client_id"))


@cache
def _insert_response(dialect: str) -> Any:
    """The response INSERT for a dialect, built once: its values are passed as parameters
    when it runs, so SQLAlchemy finds it in its compiled cache instead of keying 34 literal
    values again on every submission. A repeated id inserts nothing."""
    return (insert_for(dialect, _responses).on_conflict_do_nothing(index_elements=["client_id"])
            .returning(_responses.c.id))


def record_response(
    session: Session,
    survey: Survey,
    counter: Counter,
    answers: Answers,
    submission: Submission,
    tz: ZoneInfo,
    *,
    picked_officer_id: int | None = None,
    open_cases: bool = True,
) -> tuple[Outcome, Response]:
    """Prepare and store a response in one transaction (demo history, jobs and tests).

    The response is attributed at ``created_at`` by ``app.duty.attribute`` (checked in,
    the pick among several, the roster, else nobody); see ``store_response`` for
    idempotency, flags and the complaint case it may open.
    """
    prepared = prepare_response(session, survey, counter, answers, submission.created_at, tz,
                                picked_officer_id=picked_officer_id)
    outcome, stored = store_response(session, prepared, answers, submission, tz,
                                     open_cases=open_cases)
    row = session.get(Response, stored.id)
    assert row is not None  # noqa: S101 (just stored or found)
    return outcome, row


class OfficerName(NamedTuple):
    """An officer as the survey page shows them: a name (never a NIP), and the id a
    citizen's pick sends back."""

    id: int
    name: str


@dataclass(frozen=True)
class CounterPage:
    """What the survey page shows of a counter: names only (never an officer's NIP)."""

    id: int
    name: str
    unit: UnitRef
    default_service_code: str | None
    on_duty: tuple[OfficerName, ...]  # checked in at the instant asked for, earliest first

    @property
    def officer_name(self) -> str | None:
        """The name of the one officer on duty (None for nobody, or several)."""
        return self.on_duty[0].name if len(self.on_duty) == 1 else None

    @property
    def unit_id(self) -> int:
        """The id of the counter's unit."""
        return self.unit.id


@dataclass(frozen=True)
class ResolvedToken:
    """A scanned token: its counter, or why there is none."""

    counter: CounterPage | None
    retired: bool
    inactive: bool = False  # the counter or its unit is no longer in use


_default_services = Service.__table__.alias("default_service")
_PAGE_LOOKUP = (
    select(
        _counters.c.id, _counters.c.unit_id, _counters.c.active, _tokens.c.retired_at,
        _counters.c.name, _units.c.code, _units.c.name, _units.c.active,
        _default_services.c.code,
    )
    .join(_tokens, _tokens.c.counter_id == _counters.c.id)
    .join(_units, _units.c.id == _counters.c.unit_id)
    .outerjoin(_default_services, _default_services.c.id == _counters.c.default_service_id)
    .where(_tokens.c.token == bindparam("token", type_=String()))
)


def resolve_token(session: Session, token: str, at: datetime) -> ResolvedToken:
    """Find the counter of a public token, then the officers checked in there at ``at``;
    retired tokens are 'retired', counters no longer in use (or of a unit no longer in use)
    'inactive'. Read afresh on every call."""
    if not TOKEN_PATTERN.fullmatch(token):
        return ResolvedToken(None, False)  # also keeps NUL bytes off the wire
    row = session.execute(_PAGE_LOOKUP, {"token": token}).first()
    if row is None:
        return ResolvedToken(None, False)
    (counter_id, unit_id, active, retired_at, name, unit_code, unit_name, unit_active,
     service_code) = row
    if not (active and unit_active):
        return ResolvedToken(None, False, inactive=True)
    if retired_at is not None:
        return ResolvedToken(None, True)
    on_duty = tuple(OfficerName(officer.id, officer.name)
                    for officer in officers_on_duty(session, counter_id, at))
    return ResolvedToken(CounterPage(counter_id, name, UnitRef(unit_id, unit_code, unit_name),
                                     service_code, on_duty), False)
