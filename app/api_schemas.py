"""The JSON API's request and response bodies, declared once as pydantic models.

The OpenAPI document (app.openapi) is generated from these models, and the views validate
and serialise through them. Message text stays with the views: validation here reports a
message *key* per field (see app.web.api.API_MESSAGES), never text.

The survey decides the rest of an answer's validity (which service codes a counter offers,
which profile options exist, how long a comment may be): app.feedback.parse_answers checks
that, with the catalogue's messages, for the form and the API alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
)
from pydantic_core import PydanticCustomError

from app.answers import clean_text
from app.feedback import MAX_CLOCK_SKEW, MAX_LATE_SYNC

# The survey file (surveys/skm-2017.toml) says the same for the form; a test checks that
# the two agree (U1…U9 below, the wait bands, the comment's length).
COMMENT_MAX_LENGTH = 1000

# Message keys of the submission's own fields (the text is in app.web.api.API_MESSAGES).
ENVELOPE_FIELDS = ("id", "token", "unit", "counter", "answers", "submitted_at", "channel",
                   "survey", "complaint")


def _blank_to_none(value: object) -> object:
    """An optional answer left blank ("" or spaces) is the same as null, as on the form."""
    return None if isinstance(value, str) and not value.strip() else value


def _cleaned(value: object) -> object:
    """A comment is measured as it is stored: without control characters (clean_text)."""
    return clean_text(value) if isinstance(value, str) else value


def _iso_instant(value: object) -> object:
    """Only text in ISO 8601 with an offset is an instant (no numbers, no naive times)."""
    if isinstance(value, datetime):
        return value
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise PydanticCustomError("iso_instant", "must be an ISO 8601 time with an offset")
    return parsed


def _within_sync_window(value: datetime | None, info: ValidationInfo) -> datetime | None:
    """At most 7 days old and 5 minutes ahead of ``now`` (given in the validation context)."""
    now = info.context.get("now") if isinstance(info.context, dict) else None
    if value is None or now is None:
        return value
    if value < now - MAX_LATE_SYNC:
        raise PydanticCustomError("too_old", "is more than 7 days old")
    if value > now + MAX_CLOCK_SKEW:
        raise PydanticCustomError("future", "is more than 5 minutes in the future")
    return value


# Field types, named so that one field can be validated on its own (see parse_submission).
Score = Annotated[int, Strict(), Field(ge=1, le=4)]
ClientId = Annotated[UUID, Field(description="Chosen by the client; resending it is a safe "
                                             "retry.")]
Token = Annotated[str, Strict(), Field(
    min_length=1, description="The counter's public QR token (or name the counter by "
                              "`unit` and `counter`).")]
CODE_REGEX = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"
UnitCode = Annotated[str, Strict(), Field(
    pattern=CODE_REGEX, description="The unit's code, with `counter` instead of `token`.")]
CounterCode = Annotated[str, Strict(), Field(
    pattern=CODE_REGEX, description="The counter's code within `unit`, instead of `token`.")]
Instant = Annotated[datetime, BeforeValidator(_iso_instant)]
SubmittedAt = Annotated[
    Instant | None, AfterValidator(_within_sync_window),
    Field(description="ISO 8601 with an offset; at most 7 days old and 5 minutes in the "
                      "future (offline kiosks)."),
]
Channel = Annotated[Literal["api", "kiosk"] | None,
                    Field(description="null or absent: api")]
WaitBand = Literal["lt5", "5-15", "15-30", "30-60", "60-120", "gt120"]
SURVEY_REF_PATTERN = r"^[a-z0-9][a-z0-9-]{0,31}/[0-9]{1,4}$"
Complaint = Annotated[bool, Strict(), Field(
    description="true: the citizen says this is a complaint (\"Ini pengaduan\"): a "
                "complaint case is opened and its reference returned as `case`. Low scores "
                "with a comment and a fee reported for a free service open one anyway.")]
SurveyRef = Annotated[str | None, Strict(), Field(
    pattern=SURVEY_REF_PATTERN, description="The questionnaire version the client showed, "
                                            "e.g. skm-2017/1 (absent: the current one).")]


class SubmittedAnswers(BaseModel):
    """The nine SKM scores, each an integer from 1 to 4."""

    model_config = ConfigDict(extra="forbid")

    U1: Score
    U2: Score
    U3: Score
    U4: Score
    U5: Score
    U6: Score
    U7: Score
    U8: Score
    U9: Score


class ResponseSubmission(BaseModel):
    """The body of POST /responses with an integration token. The counter is named either
    by its poster's ``token`` or by ``unit`` and ``counter`` codes (exactly one of the
    two). The response counts for the officer checked in at that counter at
    ``submitted_at`` (else the time received); with several on duty there, for the counter
    only (the API takes no pick); with nobody, for the officer the roster plans there."""

    model_config = ConfigDict(extra="forbid")

    id: ClientId
    token: Token | None = None
    unit: UnitCode | None = None
    counter: CounterCode | None = None
    answers: SubmittedAnswers
    wait_band: Annotated[WaitBand | None, BeforeValidator(_blank_to_none)] = None
    service: Annotated[str | None, BeforeValidator(_blank_to_none),
                       Field(description="A service code of the unit.")] = None
    comment: Annotated[Annotated[str, Field(max_length=COMMENT_MAX_LENGTH)] | None,
                       BeforeValidator(_blank_to_none), BeforeValidator(_cleaned),
                       Field(description="Counted without control characters, which are "
                                         "dropped.")] = None
    profile: Annotated[dict[str, str | None] | None,
                       Field(description="sex, age_band, education, occupation (codes); "
                                         "null or blank: not answered.")] = None
    submitted_at: SubmittedAt = None
    channel: Channel = "api"
    survey: SurveyRef = None
    complaint: Complaint = False


class ResponseFlags(BaseModel):
    """Why a stored response is left out of the index (it is kept): a repeat of one device
    at one counter, a filled honeypot, a kiosk session too fast or right after another."""

    repeat: bool
    bot: bool
    fast: bool = False
    burst: bool = False


class ResponseStored(BaseModel):
    """The body of a 201 (stored) or 200 (the same id and content again)."""

    id: UUID
    duplicate: bool
    flags: ResponseFlags
    case: str | None = Field(default=None, description=(
        "The reference (XXXX-XXXX) of the complaint case the response opened, for the "
        "citizen to follow at /pengaduan/<reference>; absent when it opened none."))


class FieldErrors(BaseModel):
    """A 422: one message per invalid field."""

    errors: dict[str, str] = Field(description=(
        "Message per invalid field (answers.U3, wait_band, profile.sex, …), in the language of "
        "?lang=id|en, else Indonesian when Accept-Language prefers id, else English (the same "
        "for the error of a 400, 401, 403, 404, 409, 413, 415, 429)."))


class ErrorMessage(BaseModel):
    """Any other refusal: one message."""

    error: str


# GET /indicators -------------------------------------------------------------------------------

NullableCount = int | None


class Measured(BaseModel):
    n: int
    median: NullableCount
    p90: NullableCount
    within_60: float | None


class Sample(BaseModel):
    served: NullableCount
    required: NullableCount
    adequate: bool | None


class ResponseRate(BaseModel):
    served: NullableCount
    responses: NullableCount
    rate: float | None


class IndicatorRow(BaseModel):
    """One stored indicator, as `flask --app app indicators --json` prints it."""

    model_config = ConfigDict(extra="forbid")

    scope: Literal["unit", "counter", "service", "officer"]
    unit: str = Field(description="Unit code.")
    counter: str | None = Field(None, description="Counter code (scope=counter only).")
    service: str | None = Field(None, description="Service code (scope=service only).")
    officer: str | None = Field(None, description="The officer's NIP (scope=officer only; back "
                                                  "office, never citizen-facing).")
    period: Literal["day", "week", "month", "quarter", "semester", "year"]
    period_start: date = Field(description=(
        "The period's label: the day, the Monday of the ISO week, or the first calendar day "
        "of the month, quarter, semester or year. A month, quarter, semester or year is the "
        "ISO weeks whose Thursday falls in it (local time, Asia/Jakarta), so its days run "
        "from first_day to last_day, Monday to Sunday."))
    first_day: date = Field(description="The period's first local day.")
    last_day: date = Field(description="The period's last local day.")
    survey: str = Field(description="survey id/version, e.g. skm-2017/1")
    n: int = Field(description="Responses counted (flagged ones excluded).")
    ikm: float | None
    category: Literal["A", "B", "C", "D"] | None
    category_label: str | None
    nrr: dict[str, float | None] = Field(description="NRR per element U1–U9 (4 decimals).")
    wait_bands: dict[str, int]
    measured: Measured
    flagged: int
    sample: Sample | None = Field(None, description=(
        "scope=unit, a month or longer only: the people the unit served in the period's days "
        "(the sum of its counts per counter and day), the Krejcie-Morgan sample size for "
        "them, and whether the period's "
        "responses, all survey versions together, reach it (false: \"sampel belum "
        "memenuhi\"); each of the three is null without a served count."))
    response_rate: ResponseRate | None = Field(None, description=(
        "scope=counter or officer, a month or longer only: the people served (an officer: at the "
        "counters and days of their duties, split evenly between officers on duty at once), "
        "the responses on the days with a count, and responses ÷ people served; all null "
        "without a count or with fewer responses than the officer minimum."))
    comments: int


class IndicatorPage(BaseModel):
    """The body of GET /indicators."""

    model_config = ConfigDict(extra="forbid")

    scope: Literal["unit", "counter", "service", "officer"]
    period: Literal["day", "week", "month", "quarter", "semester", "year"]
    first: date | None = Field(alias="from")
    last: date | None = Field(alias="to")
    unit: str | None
    withheld: int = Field(description="Rows under OFFICER_MIN_N responses left out: "
                                      "per-officer rows, and for viewers unit rows.")
    rows: list[IndicatorRow]


def indicator_page(page: dict[str, Any]) -> dict[str, Any]:
    """The page as JSON-ready data, checked against IndicatorPage (keys a row does not
    have, such as ``counter`` of a unit row, stay absent rather than null)."""
    return IndicatorPage.model_validate(page).model_dump(mode="json", by_alias=True,
                                                         exclude_unset=True)


# Parsing a submission --------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedSubmission:
    """What the envelope of a POST /responses body says, as far as it is valid.

    ``answers`` is the raw answers object ({} when it is not one): the survey checks it.
    """

    token: str | None
    client_id: UUID | None
    channel: str
    submitted_at: datetime | None
    answers: dict[str, Any] = field(default_factory=dict)
    survey: str | None = None
    complaint: bool = False
    unit: str | None = None
    counter: str | None = None


_FIELD_TYPES: dict[str, TypeAdapter[Any]] = {
    "id": TypeAdapter(ClientId), "token": TypeAdapter(Token | None),
    "unit": TypeAdapter(UnitCode | None), "counter": TypeAdapter(CounterCode | None),
    "submitted_at": TypeAdapter(SubmittedAt), "channel": TypeAdapter(Channel),
    "survey": TypeAdapter(SurveyRef), "complaint": TypeAdapter(Complaint | None),
}


def _problems(error: ValidationError) -> dict[str, str]:
    """Message keys by field name for the envelope's errors.

    The answers' own values (scores, wait_band, service, comment, profile) are left to
    parse_answers, whose messages name the survey's elements and options.
    """
    problems: dict[str, str] = {}
    for detail in error.errors():
        loc = detail["loc"]
        name = str(loc[0])
        if detail["type"] == "extra_forbidden":
            if len(loc) == 1:
                problems[name] = "unknown"
            elif name == "answers" and len(loc) == 2:
                problems[f"answers.{str(loc[1])[:16]}"] = "answer_key"
        elif name == "answers" and len(loc) == 1:
            problems[name] = "answers"
        elif name == "submitted_at" and detail["type"] in ("too_old", "future"):
            problems[name] = detail["type"]
        elif name in ENVELOPE_FIELDS and name != "answers":
            problems[name] = name
    return problems


def parse_submission(body: dict[str, Any], now: datetime
                     ) -> tuple[ParsedSubmission, dict[str, str]]:
    """Validate a submission's body against ResponseSubmission.

    Returns the valid parts of its envelope and a message key (of API_MESSAGES) per invalid
    field: ``unknown`` for a field that is not in the model, ``answer_key`` for an unknown
    element, ``too_old``/``future`` for a time outside the sync window, else the field's
    own name.
    """
    context = {"now": now}
    try:
        ResponseSubmission.model_validate(body, context=context)
        problems: dict[str, str] = {}
    except ValidationError as error:
        problems = _problems(error)
    # The envelope's valid fields, each validated (again) on its own.
    valid = {name: adapter.validate_python(body.get(name), context=context)
             for name, adapter in _FIELD_TYPES.items() if name not in problems}
    answers = body.get("answers")
    return ParsedSubmission(
        token=valid.get("token"), client_id=valid.get("id"),
        channel=valid.get("channel") or "api", submitted_at=valid.get("submitted_at"),
        answers=answers if isinstance(answers, dict) else {},
        survey=valid.get("survey"), complaint=valid.get("complaint") is True,
        unit=valid.get("unit"), counter=valid.get("counter"),
    ), problems


# Kiosks (docs/kiosk.md) ------------------------------------------------------------------------

BATCH_MAX = 100
KIOSK_FIELDS = ("id", "counter", "survey", "answers", "started_at", "submitted_at", "channel")

KioskCounter = Annotated[str, Strict(), Field(pattern=CODE_REGEX,
                                              description="The counter's code (never a "
                                                          "poster token).")]
KioskInstant = Annotated[Instant | None, Field(description=(
    "ISO 8601 with an offset, on the tablet's clock: the server adds the clock offset it "
    "learnt from the heartbeats; at most 30 days old and 5 minutes ahead after that."))]


class KioskAnswer(BaseModel):
    """One answer of a kiosk session, as POST /responses takes it with a kiosk's
    credential (the channel is kiosk; the counter is named by its code)."""

    model_config = ConfigDict(extra="forbid")

    id: ClientId
    counter: KioskCounter
    survey: SurveyRef = None
    answers: SubmittedAnswers
    wait_band: Annotated[WaitBand | None, BeforeValidator(_blank_to_none)] = None
    service: Annotated[str | None, BeforeValidator(_blank_to_none),
                       Field(description="A service code of the unit.")] = None
    comment: Annotated[Annotated[str, Field(max_length=COMMENT_MAX_LENGTH)] | None,
                       BeforeValidator(_blank_to_none), BeforeValidator(_cleaned)] = None
    profile: dict[str, str | None] | None = None
    started_at: KioskInstant = Field(None, description="When the session started (the tap on "
                                                       "Start); the fast and burst flags "
                                                       "need it.")
    submitted_at: KioskInstant = None
    channel: Literal["kiosk"] | None = None


class KioskBatch(BaseModel):
    """Up to 100 kiosk answers in one request (each is answered on its own)."""

    model_config = ConfigDict(extra="forbid")

    # Items are checked one by one: a bad one is its own 422, not the batch's.
    responses: Annotated[list[Any], Field(min_length=1, max_length=BATCH_MAX)]


class BatchResult(BaseModel):
    """What became of one answer of a batch: 201 stored, 200 a duplicate, 409 the id was
    used for other content, 422 invalid (``errors``), 403 the kiosk is revoked (``error``)."""

    id: str | None
    status: Literal[200, 201, 403, 409, 422]
    duplicate: bool | None = None
    flags: ResponseFlags | None = None
    errors: dict[str, str] | None = None
    error: str | None = None


class BatchResults(BaseModel):
    """The body of a 200 to a batch: one result per answer, in the order sent."""

    results: list[BatchResult]


class Heartbeat(BaseModel):
    """What a kiosk reports every minute."""

    model_config = ConfigDict(extra="forbid")

    device_time: Instant
    app_version: Annotated[str | None, Field(max_length=32,
                                             pattern=r"^[A-Za-z0-9._-]*$")] = None
    queue_length: Annotated[int | None, Strict(), Field(ge=0, le=10**6)] = None
    oldest_unsent_at: Instant | None = None
    quarantined: Annotated[int | None, Strict(), Field(ge=0, le=10**6)] = None
    battery: Annotated[int | None, Strict(), Field(ge=0, le=100)] = None
    charging: Annotated[bool | None, Strict()] = None
    pending_ids: Annotated[list[UUID], Field(max_length=1000)] = []


class PairRequest(BaseModel):
    """The body of POST /kiosk/pair."""

    model_config = ConfigDict(extra="forbid")

    code: Annotated[str, Strict(), Field(pattern=r"^[0-9]{6}$")]


class CallRequest(BaseModel):
    """The body of POST /kiosk/calls."""

    model_config = ConfigDict(extra="forbid")

    counter: Annotated[str | None, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")] = None


def kiosk_problems(error: ValidationError) -> dict[str, str]:
    """Field names (dotted) of a kiosk body's validation errors, with pydantic's type."""
    problems: dict[str, str] = {}
    for detail in error.errors():
        loc = detail["loc"]
        name = ".".join(str(part) for part in loc[:2])[:40] if loc else "body"
        problems.setdefault(name, detail["type"])
    return problems
