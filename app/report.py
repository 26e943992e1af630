"""The SKM report of a unit for a month, quarter, semester or year, as the regulation's
annex and the usual unit report (Template Laporan SKM) lay it out.

Every score is read through ``indicators.period_indicators`` (the unit's stored months,
summed over survey versions) and computed with ``app.scoring`` exactly as the aggregation
does, so the report equals ``flask --app app indicators --json`` to the last decimal. The
respondents' profile counts the period's unflagged responses that the indicators hold
(received up to the aggregation's watermark), so its totals equal the report's n. The
report is language-neutral data: names carry both languages (``Text``), and the PDF and
XLSX renderers (``app.report_pdf``, ``app.report_xlsx``) put the words around them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.actions import OPEN_STATES
from app.aggregation import SUM_COLUMNS, read_watermark
from app.feedback import PROFILE_COLUMNS
from app.indicators import NRR_PLACES, period_indicators
from app.models import Indicator, Officer, Response, Service, SurveyVersion, Unit, UnitRole, User
from app.models.loop import ImprovementAction
from app.periods import (
    first_day,
    last_day,
    months_of,
    next_period,
    parse_period,
    period_name,
    previous_period,
)
from app.scoring import (
    CATEGORY_D,
    CATEGORY_THRESHOLDS,
    ELEMENT_CODES,
    IKM_MAX,
    IKM_MIN,
    IKM_SCALE,
    Category,
    category_of_hundredths,
    ikm_hundredths,
    krejcie_morgan,
    round_half_up,
)
from app.served import months_served
from app.suppression import VisiblePeriods, viewer_periods
from app.surveys import Text, reference_survey
from app.workdays import overrides, working_days_between

REPORT_KINDS = ("month", "quarter", "semester", "year")
TREND_PERIODS = 4  # earlier periods of the same kind in the trend
WEIGHT = Fraction(1, len(ELEMENT_CODES))  # each element's weight, exactly 1/9
SERVICE = "service"  # the profile table of the services received


class ReportError(Exception):
    """No report can be made: a message for people (English msgid) and its params."""

    def __init__(self, message: LazyString, **params: Any) -> None:
        super().__init__(str(message) % params if params else str(message))
        self.message = message
        self.params = params

    def text(self) -> str:
        """The message in the current language, filled in."""
        return str(self.message) % self.params if self.params else str(self.message)


class BadPeriod(ReportError):
    """The period is not one a report covers (a week, a day, a malformed name)."""


class NoData(ReportError):
    """The unit has no scored responses in the period (or too few for a public version)."""


def report_period(text: str) -> tuple[str, date]:
    """``2026-11``, ``2026-Q4``, ``2026-S2`` or ``2026`` to (kind, label); BadPeriod for
    anything else, a week (``2026-W48``) included."""
    try:
        kind, label = parse_period(text)
    except ValueError:
        raise BadPeriod(_l("Write the period as a month (2026-11), a quarter (2026-Q4), a "
                           "semester (2026-S2) or a year (2026).")) from None
    if kind not in REPORT_KINDS:
        raise BadPeriod(_l("A report covers a month, a quarter, a semester or a year, not "
                           "a week such as %(period)s.", period=text.strip()))
    return kind, label


# The report's parts -------------------------------------------------------------------------


@dataclass(frozen=True)
class Count:
    """One row of a respondents' table: an answer (``code`` None: not stated), its label
    (None: not stated) and how many gave it, with their share of the table's total."""

    code: str | None
    label: Text | None
    count: int
    share: Fraction


@dataclass(frozen=True)
class ProfileTable:
    """The respondents by one profile item (sex, age band, ...) or by service received;
    ``title`` None for the service table (the renderers name it)."""

    code: str
    title: Text | None
    rows: tuple[Count, ...]
    total: int


@dataclass(frozen=True)
class ElementRow:
    """One element's total score over the period's n questionnaires and its NRR."""

    code: str
    name: Text
    total: int
    exact: Fraction  # total / n

    @property
    def nrr(self) -> Decimal:
        """The NRR to 4 decimals, half up, as ``indicators --json`` gives it."""
        return round_half_up(self.exact, NRR_PLACES)

    @property
    def weighted(self) -> Decimal:
        """NRR x 1/9, from the exact NRR, to 4 decimals."""
        return round_half_up(self.exact * WEIGHT, NRR_PLACES)


@dataclass(frozen=True)
class ConversionRow:
    """One line of the regulation's conversion table: perception value, NRR interval,
    IKM interval, service quality (mutu) and unit performance (kinerja)."""

    perception: int
    nrr_low: Decimal
    nrr_high: Decimal
    ikm_low: Decimal
    ikm_high: Decimal
    category: Category


def conversion_table() -> tuple[ConversionRow, ...]:
    """The conversion table, derived from ``scoring.CATEGORY_THRESHOLDS``: each category's
    IKM runs from its lower bound to 0.01 below the next one; its NRR interval is that
    divided by 25 (65.00 is 2.60, 64.99 is 2.5996), lowest perception first."""
    lowers = [(IKM_MIN, CATEGORY_D), *sorted(CATEGORY_THRESHOLDS)]
    rows = []
    for index, (lower, found) in enumerate(lowers):
        upper = lowers[index + 1][0] - Decimal("0.01") if index + 1 < len(lowers) else IKM_MAX
        rows.append(ConversionRow(index + 1, (lower / IKM_SCALE).normalize(),
                                  (upper / IKM_SCALE).normalize(), lower, upper, found))
    return tuple(rows)


@dataclass(frozen=True)
class ActionRow:
    """An improvement action (RTL) as the report lists it."""

    number: int
    element: str
    element_name: Text
    what: str
    where: str | None  # the counter or service it is about, if any
    who: str
    starts_on: date
    due_on: date
    state: str
    overdue: bool  # open and past its due date on the day the report was made


@dataclass(frozen=True)
class TrendRow:
    """One period of the trend: its days, n, IKM and category (None without responses)."""

    name: str
    first_day: date
    last_day: date
    n: int
    ikm: Decimal | None
    category: Category | None
    current: bool


@dataclass(frozen=True)
class Signature:
    """The head who signs: name, NIP and position of the officer linked to the unit
    head's account (``acting`` for a Plt.); all None when no head has an officer record,
    and the block is left for a hand-written name."""

    name: str | None
    nip: str | None
    position: str | None
    acting: bool = False


@dataclass(frozen=True)
class SkmReport:
    """Everything a unit's SKM report for one period shows, in the template's order."""

    unit_code: str
    unit_name: str
    unit_address: str | None
    kind: str
    label: date
    first_day: date
    last_day: date
    working_days: int
    generated_on: date
    public: bool
    regulation: str
    surveys: tuple[str, ...]  # "skm-2017/1", the versions answered in the period
    channels: tuple[tuple[str, int], ...]  # (qr|kiosk|api, responses), most first
    n: int
    flagged: int
    served: int | None  # people served in the period's days (None: not entered)
    required: int | None  # Krejcie-Morgan minimum for ``served``
    profile: tuple[ProfileTable, ...]
    elements: tuple[ElementRow, ...]
    score_sum: int  # every element's total together
    rtl: tuple[ActionRow, ...]
    previous_name: str
    previous_rtl: tuple[ActionRow, ...]
    trend: tuple[TrendRow, ...]
    signature: Signature | None  # None in the public version
    conversion: tuple[ConversionRow, ...] = field(default_factory=conversion_table)

    @property
    def name(self) -> str:
        """The period's name: 2026-Q4, 2026-11, 2026-S2, 2026."""
        return period_name(self.kind, self.label)

    @property
    def complete(self) -> bool:
        """Whether the period had ended when the report was made (else interim figures)."""
        return self.last_day < self.generated_on

    @property
    def adequate(self) -> bool | None:
        """Whether n reaches the Krejcie-Morgan minimum (None: no people served entered)."""
        return None if self.required is None else self.n >= self.required

    @property
    def ikm_unit(self) -> Fraction:
        """The index on the 1-4 scale: the sum of the weighted NRRs, exactly."""
        return Fraction(self.score_sum, self.n) * WEIGHT

    @property
    def ikm(self) -> Decimal:
        """The IKM (25-100) to 2 decimals, as the aggregation computes it."""
        return Decimal(ikm_hundredths(self.score_sum, self.n, len(self.elements))).scaleb(-2)

    @property
    def category(self) -> Category:
        """The service quality of the 2-decimal IKM."""
        return category_of_hundredths(ikm_hundredths(self.score_sum, self.n,
                                                     len(self.elements)))

    @property
    def weakest(self) -> tuple[ElementRow, ...]:
        """The element(s) with the lowest NRR (ties all)."""
        lowest = min(row.exact for row in self.elements)
        return tuple(row for row in self.elements if row.exact == lowest)

    @property
    def strongest(self) -> tuple[ElementRow, ...]:
        """The element(s) with the highest NRR (ties all)."""
        highest = max(row.exact for row in self.elements)
        return tuple(row for row in self.elements if row.exact == highest)

    @property
    def filename_stem(self) -> str:
        """``skm-DUKCAPIL-2026-Q4`` (``-publik`` added for the public version)."""
        return f"skm-{self.unit_code}-{self.name}" + ("-publik" if self.public else "")


# Building it --------------------------------------------------------------------------------


def build_report(session: Session, unit: Unit, kind: str, label: date, *, now: datetime,
                 tz: ZoneInfo, public: bool = False, min_n: int = 0) -> SkmReport:
    """The SKM report of ``unit`` for the period (``kind`` a month, quarter, semester or
    year, ``label`` its first calendar day); reads only. NoData when the unit has no scored
    response in it, or fewer than ``min_n`` (pass ``settings.officer_min_n`` for a public
    version: a small sample can point to one officer). ``public`` leaves out the
    signature block (the head's name and NIP)."""
    if kind not in REPORT_KINDS:
        raise BadPeriod(_l("A report covers a month, a quarter, a semester or a year."))
    first, last = first_day(kind, label), last_day(kind, label)
    figures = _figures(session, unit.id, kind, label)
    n = sum(ind.n for ind in figures)
    if n == 0:
        raise NoData(_l("%(unit)s has no scored responses in %(period)s (%(first)s to "
                        "%(last)s)."), unit=unit.code, period=period_name(kind, label),
                     first=first.isoformat(), last=last.isoformat())
    if n < min_n:
        raise NoData(_l("%(unit)s has %(n)d scored responses in %(period)s; a public "
                        "report needs at least %(min)d."), unit=unit.code, n=n,
                     period=period_name(kind, label), min=min_n)
    # The public version follows the no-subtraction rule (app/suppression.py): a period,
    # or an earlier one in its trend, that a viewer may not see is not shown either.
    visible = (viewer_periods(session, [unit.id], _trend_start(kind, label), last, min_n=min_n)
               if public and min_n > 0 else None)
    if visible is not None and not visible.shown(unit.id, kind, label):
        raise NoData(_l("%(unit)s's figures of %(period)s are withheld from the public "
                        "version: with the periods around it they would give back fewer "
                        "than %(min)d responses."), unit=unit.code,
                     period=period_name(kind, label), min=min_n)
    today = now.astimezone(tz).date()
    totals = [sum(getattr(ind, column) for ind in figures) for column in SUM_COLUMNS]
    names = {element.code: element.name for element in reference_survey().elements}
    served = _served(session, unit.id, kind, label)
    previous = previous_period(kind, label)
    versions = {ind.survey_version_id for ind in figures}
    watermark = read_watermark(session)
    scope = [Response.unit_id == unit.id, Response.unflagged(), Response.local_day >= first,
             Response.local_day <= last]
    if watermark is not None:  # what the indicators hold (else they would be empty)
        scope.append(Response.received_at <= watermark)
    return SkmReport(
        unit_code=unit.code, unit_name=unit.name, unit_address=unit.address, kind=kind,
        label=label, first_day=first, last_day=last,
        working_days=working_days_between(first - timedelta(days=1), last,
                                          overrides(session, first, last)),
        generated_on=today, public=public, regulation=reference_survey().regulation,
        surveys=_survey_names(session, versions),
        channels=tuple(_counts(session, Response.channel, scope)),
        n=n, flagged=sum(ind.flagged for ind in figures),
        served=served, required=krejcie_morgan(served) if served else None,
        profile=_profile(session, unit.id, scope),
        elements=tuple(ElementRow(code, names.get(code, Text(code, code)), total,
                                  Fraction(total, n))
                       for code, total in zip(ELEMENT_CODES, totals, strict=True)),
        score_sum=sum(totals),
        rtl=_actions(session, unit.id, first, last, today, tz),
        previous_name=period_name(kind, previous),
        previous_rtl=_actions(session, unit.id, first_day(kind, previous),
                              last_day(kind, previous), today, tz),
        trend=_trend(session, unit.id, kind, label, visible=visible),
        signature=None if public else unit_head(session, unit.id),
    )


def _figures(session: Session, unit_id: int, kind: str, label: date) -> list[Indicator]:
    """The unit's indicators of the period, one per survey version."""
    return period_indicators(session, "unit", kind, first=label, last=label,
                             unit_ids=[unit_id])


def _served(session: Session, unit_id: int, kind: str, label: date) -> int | None:
    """People served in the period's months, as ``indicators --json`` gives its sample:
    the sum of the months that have a count, None when none has."""
    keys = [(unit_id, month) for month in months_of(kind, label)]
    counts = months_served(session, keys)
    return sum(counts.values()) if any(counts.values()) else None


def _survey_names(session: Session, version_ids: set[int]) -> tuple[str, ...]:
    rows = session.execute(select(SurveyVersion.survey_id, SurveyVersion.version)
                           .where(SurveyVersion.id.in_(sorted(version_ids)))
                           .order_by(SurveyVersion.survey_id, SurveyVersion.version))
    return tuple(f"{survey_id}/{version}" for survey_id, version in rows)


def _counts(session: Session, column: InstrumentedAttribute[Any],
            scope: Sequence[ColumnElement[bool]]) -> list[tuple[Any, int]]:
    """(value, responses) of one column within ``scope``, most first, then by value."""
    found = [(value, int(count)) for value, count in session.execute(
        select(column, func.count()).where(*scope).group_by(column))]
    return sorted(found, key=lambda pair: (-pair[1], "" if pair[0] is None else str(pair[0])))


def _table(code: str, title: Text | None, labelled: Sequence[tuple[str, Text]],
           counted: dict[Any, int]) -> ProfileTable:
    """The rows of one table: every known answer in its order (zero included), answers no
    longer offered by their code, then "not stated"."""
    total = sum(counted.values())
    known = dict(labelled)

    def share(count: int) -> Fraction:
        return Fraction(count, total) if total else Fraction(0)

    rows = [Count(key, label, counted.get(key, 0), share(counted.get(key, 0)))
            for key, label in labelled]
    rows += [Count(str(key), Text(str(key), str(key)), count, share(count))
             for key, count in sorted(counted.items(), key=lambda pair: str(pair[0]))
             if key is not None and key not in known]
    rows.append(Count(None, None, counted.get(None, 0), share(counted.get(None, 0))))
    return ProfileTable(code, title, tuple(rows), total)


def _profile(session: Session, unit_id: int, scope: Sequence[ColumnElement[bool]]
             ) -> tuple[ProfileTable, ...]:
    """The respondents by each profile item of the questionnaire, then by service."""
    survey = reference_survey()
    tables = []
    for column in PROFILE_COLUMNS:
        item = survey.profile_item(column)
        options = [(option.code, option.label) for option in item.options] if item else []
        counted = dict(_counts(session, getattr(Response, column), scope))
        tables.append(_table(column, item.label if item else Text(column, column), options,
                             counted))
    counted = dict(_counts(session, Response.service_id, scope))
    services = list(session.execute(
        select(Service.id, Service.code, Service.name, Service.active)
        .where(Service.unit_id == unit_id).order_by(Service.name, Service.id)))
    codes = {service_id: code for service_id, code, _name, _active in services}
    offered = [(code, Text(name, name)) for service_id, code, name, active in services
               if active or service_id in counted]
    by_code = {codes.get(key) if key is not None else None: count
               for key, count in counted.items()}
    return (*tables, _table(SERVICE, None, offered, by_code))


def in_rtl(action: ImprovementAction, first: date, last: date, tz: ZoneInfo) -> bool:
    """Whether an action belongs to a period's follow-up plan: it starts on or before the
    period's last day and was not finished (done or dropped) before its first day. An
    action records no finishing date: its last change (``updated_at``) stands for it."""
    finished_before = (action.state not in OPEN_STATES
                       and action.updated_at.astimezone(tz).date() < first)
    return action.starts_on <= last and not finished_before


def _actions(session: Session, unit_id: int, first: date, last: date, today: date,
             tz: ZoneInfo) -> tuple[ActionRow, ...]:
    """The period's RTL, by start then id, numbered from 1."""
    names = {element.code: element.name for element in reference_survey().elements}
    found = session.scalars(select(ImprovementAction).where(
        ImprovementAction.unit_id == unit_id, ImprovementAction.starts_on <= last)
        .order_by(ImprovementAction.starts_on, ImprovementAction.id))
    rows: list[ActionRow] = []
    for action in found:
        if not in_rtl(action, first, last, tz):
            continue
        where = action.counter.name if action.counter else (
            action.service.name if action.service else None)
        rows.append(ActionRow(len(rows) + 1, action.element,
                              names.get(action.element, Text(action.element, action.element)),
                              action.what, where, action.who, action.starts_on, action.due_on,
                              action.state,
                              action.state in OPEN_STATES and action.due_on < today))
    return tuple(rows)


def _trend_start(kind: str, label: date) -> date:
    """The first day of the earliest period of the trend."""
    earliest = label
    for _ in range(TREND_PERIODS):
        earliest = previous_period(kind, earliest)
    return first_day(kind, earliest)


def _trend(session: Session, unit_id: int, kind: str, label: date, *,
           visible: VisiblePeriods | None = None) -> tuple[TrendRow, ...]:
    """Up to TREND_PERIODS earlier periods that have responses, then this one; with
    ``visible``, the index of a period it withholds is left out (its n stays)."""
    earliest = label
    for _ in range(TREND_PERIODS):
        earliest = previous_period(kind, earliest)
    sums: dict[date, tuple[int, int]] = {}
    for ind in period_indicators(session, "unit", kind, first=earliest, last=label,
                                 unit_ids=[unit_id]):
        n, total = sums.get(ind.period_start, (0, 0))
        sums[ind.period_start] = (n + ind.n,
                                  total + sum(getattr(ind, column) for column in SUM_COLUMNS))
    rows: list[TrendRow] = []
    current = earliest
    while current <= label:
        n, total = sums.get(current, (0, 0))
        if n or current == label:
            withheld = visible is not None and not visible.shown(unit_id, kind, current)
            hundredths = ikm_hundredths(total, n) if n and not withheld else None
            rows.append(TrendRow(
                period_name(kind, current), first_day(kind, current), last_day(kind, current),
                n, Decimal(hundredths).scaleb(-2) if hundredths is not None else None,
                category_of_hundredths(hundredths) if hundredths is not None else None,
                current == label))
        current = next_period(kind, current)
    return tuple(rows)


def unit_head(session: Session, unit_id: int) -> Signature:
    """Who signs the unit's report: the officer record of an active account that heads
    the unit (its own head first, else an acting head, Plt.), lowest account id first."""
    own = session.execute(
        select(Officer.name, Officer.nip, Officer.position)
        .join(User, User.officer_id == Officer.id)
        .where(User.role == "unit_head", User.unit_id == unit_id, User.active.is_(True))
        .order_by(User.id)).first()
    if own is not None:
        return Signature(own.name, own.nip, own.position)
    acting = session.execute(
        select(Officer.name, Officer.nip, Officer.position)
        .join(User, User.officer_id == Officer.id)
        .join(UnitRole, UnitRole.user_id == User.id)
        .where(UnitRole.unit_id == unit_id, UnitRole.role == "unit_head",
               User.role == "unit_head", User.active.is_(True))
        .order_by(User.id)).first()
    if acting is not None:
        return Signature(acting.name, acting.nip, acting.position, acting=True)
    return Signature(None, None, None)
