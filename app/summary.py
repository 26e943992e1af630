"""Weekly summaries of a unit and of an officer, read from stored indicators."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Protocol
from zoneinfo import ZoneInfo

from babel.dates import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from app.aggregation import WAIT_COLUMNS
from app.auth import scores_shown_from
from app.cases import OverdueCase, overdue_cases
from app.dialogues import DialogueStatus, overdue_dialogues
from app.i18n import current_locale
from app.models import Counter, Indicator, Officer, Response, Unit
from app.period_totals import MeasuredWait
from app.periods import first_day, last_day
from app.periods import week_start as monday_of
from app.refs import UnitRef
from app.scoring import (
    ELEMENT_CODES,
    Category,
    GroupTotals,
    category,
    ikm_from_totals,
    krejcie_morgan,
    mean_interval_95,
    nearest_rank,
    prior_weight,
    round_half_up,
    shared_ranks,
    shrunk_mean,
    total_to_ikm,
)
from app.served import month_served
from app.surveys import reference_survey

TREND_WEEKS = 12
COMMENT_LIMIT = 50
DEFAULT_TZ = ZoneInfo("Asia/Jakarta")
ELEMENTS_PER_RESPONSE = len(ELEMENT_CODES)


# Weeks, and formatting shared by the pages and the plain-text digest ----------------------


# Dates are written by Babel in the current language (the request's, the application's
# default outside a request, Indonesian outside an application): "17 November 2026",
# "Senin, 17 November 2026"; in English "17 November 2026", "Monday, 17 November 2026".


def format_day(day: date, *, weekday: bool = False, year: bool = True) -> str:
    """A date: "17 November 2026", optionally with its weekday or without its year."""
    pattern = ("EEEE, " if weekday else "") + ("d MMMM y" if year else "d MMMM")
    return format_date(day, pattern, locale=current_locale())


def format_span(start: date, end: date) -> str:
    """Days from ``start`` to ``end``: "17–23 November 2026", "28 September – 25 Oktober
    2026" or "29 Desember 2025 – 4 Januari 2026"."""
    if (start.year, start.month) == (end.year, end.month):
        first = format_date(start, "d", locale=current_locale())
        return f"{first}–{format_day(end)}"
    return f"{format_day(start, year=start.year != end.year)} – {format_day(end)}"


def format_week(start: date) -> str:
    """The span of an ISO week: "17–23 November 2026" or "29 Desember 2025 – 4 Januari 2026"."""
    return format_span(start, start + timedelta(days=6))


def format_month(month: date) -> str:
    """A month, its year and its exact days (the weeks whose Thursday falls in it):
    "November 2026 (2–29 November 2026)"."""
    name = format_date(month, "MMMM y", locale=current_locale())
    return f"{name} ({format_span(first_day('month', month), last_day('month', month))})"


def weekday_name(weekday: int) -> str:
    """A weekday's name, 0 = Monday ("Senin", "Monday")."""
    return format_date(date(2024, 1, 1) + timedelta(days=weekday), "EEEE",
                       locale=current_locale())


# Results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendPoint:
    """One week of a trend: its Monday, its IKM (None without data or when hidden) and n."""

    week_start: date
    ikm: Decimal | None
    n: int


@dataclass(frozen=True)
class ElementScore:
    """One element's NRR (1-4) and whether it is (one of) the weakest."""

    code: str
    name: str
    exact: Fraction | None  # rounded once, to what is shown (never 4 decimals, then 2)
    weakest: bool

    @property
    def nrr(self) -> Decimal | None:
        """The NRR to 4 decimals, as the regulation's tables show it."""
        return round_half_up(self.exact, 4) if self.exact is not None else None


@dataclass(frozen=True)
class BandShare:
    """A self-reported waiting-time band: how many chose it and their share of those who did."""

    code: str
    label: str
    count: int
    share: float | None


@dataclass(frozen=True)
class GridCell:
    """Responses in one local weekday (0 = Monday) × hour, with the median measured wait."""

    weekday: int
    hour: int
    count: int
    measured_n: int
    median: int | None


@dataclass(frozen=True)
class CounterRow:
    """A counter's week: n, IKM and category, its weakest elements and measured waits."""

    counter_id: int
    code: str
    name: str
    n: int
    ikm: Decimal | None
    category: Category | None
    weakest: tuple[str, ...]
    measured: MeasuredWait
    hidden: bool = False  # scores withheld: fewer responses than the officer minimum


@dataclass(frozen=True)
class OfficerRow:
    """An officer's week. Below the minimum n, ``shown`` is False and every score is None.

    ``ikm`` is the raw mean on the IKM scale, ``interval`` its 95 % interval, ``shrunk`` the
    empirical-Bayes estimate used for ``rank`` (1 = highest).
    """

    officer_id: int
    name: str
    n: int
    shown: bool
    ikm: Decimal | None
    interval: tuple[Decimal, Decimal] | None
    shrunk: Decimal | None
    rank: int | None


@dataclass(frozen=True)
class Shrinkage:
    """How officer estimates were shrunk: toward ``prior_ikm`` with weight ``k`` responses."""

    prior_ikm: Decimal | None
    k: float
    estimated: bool  # False: the week's data could not estimate k; officer_min_n was used


@dataclass(frozen=True)
class Comment:
    """A citizen's comment with the mean of that response's scores (1-4), lowest first.

    ``counter_name`` and ``local_time`` are None for readers who may not see one officer's
    feedback: the counter and the day tell who was on duty."""

    text: str
    mean_score: Decimal | None
    counter_name: str | None
    local_time: datetime | None


@dataclass(frozen=True)
class SampleAdequacy:
    """Responses in the month against the Krejcie-Morgan size for the people served."""

    month: date
    n: int
    served: int | None
    required: int | None
    met: bool | None  # None: the number served is not known (or zero)


@dataclass(frozen=True)
class WeeklySummary:
    """Everything the unit head's weekly page and the Monday digest show."""

    unit: UnitRef
    week_start: date
    n: int
    flagged: int
    ikm: Decimal | None
    category: Category | None
    previous_ikm: Decimal | None
    delta: Decimal | None
    trend: tuple[TrendPoint, ...]
    elements: tuple[ElementScore, ...]
    wait_bands: tuple[BandShare, ...]
    wait_answered: int
    reported_median_band: str | None
    measured: MeasuredWait
    grid: tuple[GridCell, ...]
    counters: tuple[CounterRow, ...]
    officers: tuple[OfficerRow, ...]
    shrinkage: Shrinkage
    officer_min_n: int
    comments: tuple[Comment, ...]
    comment_count: int
    adequacy: SampleAdequacy
    unit_hidden: bool = False  # scores withheld: too few responses for this reader
    # Officers whose last performance dialogue is older than a quarter (or who never had
    # one), for readers who see officer detail when asked for (``dialogues_as_of``).
    dialogues_due: tuple[DialogueStatus, ...] = ()
    # Complaint cases past their current deadline when asked for (``cases_as_of``): the
    # reference, stage and days overdue only (no contact, no comment).
    cases_overdue: tuple[OverdueCase, ...] = ()

    @property
    def week_end(self) -> date:
        """The Sunday of the week."""
        return self.week_start + timedelta(days=6)

    @property
    def weakest(self) -> tuple[ElementScore, ...]:
        """The weakest element(s): lowest NRR, ties all."""
        return tuple(e for e in self.elements if e.weakest)


@dataclass(frozen=True)
class OfficerRef:
    """The officer an own-feedback page is about (back office: the NIP may be shown)."""

    id: int
    nip: str
    name: str
    position: str
    unit: UnitRef


@dataclass(frozen=True)
class OfficerSummary:
    """An officer's week under the fairness rules: nothing scored below the minimum n."""

    officer: OfficerRef
    week_start: date
    row: OfficerRow
    unit_ikm: Decimal | None
    shrinkage: Shrinkage
    officer_min_n: int
    trend: tuple[TrendPoint, ...]
    elements: tuple[ElementScore, ...]
    comments: tuple[Comment, ...]

    @property
    def week_end(self) -> date:
        """The Sunday of the week."""
        return self.week_start + timedelta(days=6)


# Merging stored rows (one per survey version) -----------------------------------------------


@dataclass(frozen=True)
class _Totals:
    """Summed indicator rows of one scope and period, over survey versions."""

    n: int = 0
    sums: tuple[int, ...] = (0,) * ELEMENTS_PER_RESPONSE
    sum_total_sq: int = 0
    bands: tuple[int, ...] = (0,) * len(WAIT_COLUMNS)
    measured_n: int = 0
    within_60: int = 0
    flagged: int = 0
    comments: int = 0
    # Percentiles cannot be merged across versions: kept only when one row has measured data.
    percentiles: tuple[int | None, int | None] | None = None
    measured_rows: int = 0

    @property
    def total(self) -> int:
        return sum(self.sums)

    @property
    def ikm(self) -> Decimal | None:
        return ikm_from_totals(list(self.sums), self.n) if self.n else None

    def nrr(self) -> dict[str, Fraction | None]:
        return {code: (Fraction(s, self.n) if self.n else None)
                for code, s in zip(ELEMENT_CODES, self.sums, strict=True)}

    def measured(self) -> MeasuredWait:
        median, p90 = (self.percentiles if self.measured_rows == 1 and self.percentiles
                       else (None, None))
        return MeasuredWait(self.measured_n, median, p90,
                            self.within_60 / self.measured_n if self.measured_n else None)


def _add(totals: _Totals, row: Indicator) -> _Totals:
    has_measured = row.measured_n > 0
    return _Totals(
        n=totals.n + row.n,
        sums=tuple(a + getattr(row, f"sum_u{i}")
                   for i, a in enumerate(totals.sums, start=1)),
        sum_total_sq=totals.sum_total_sq + row.sum_total_sq,
        bands=tuple(a + getattr(row, column)
                    for a, column in zip(totals.bands, WAIT_COLUMNS.values(), strict=True)),
        measured_n=totals.measured_n + row.measured_n,
        within_60=totals.within_60 + row.measured_within_60,
        flagged=totals.flagged + row.flagged,
        comments=totals.comments + row.comments,
        percentiles=((row.measured_median, row.measured_p90) if has_measured
                     else totals.percentiles),
        measured_rows=totals.measured_rows + (1 if has_measured else 0),
    )


def _merge(rows: Iterable[Indicator]) -> dict[tuple[str, int, date], _Totals]:
    merged: dict[tuple[str, int, date], _Totals] = defaultdict(_Totals)
    for row in rows:
        key = (row.scope, row.scope_id, row.period_start)
        merged[key] = _add(merged[key], row)
    return merged


def _elements(totals: _Totals, *, hidden: bool = False) -> tuple[ElementScore, ...]:
    names = reference_survey().element_names(current_locale())
    nrr = totals.nrr()
    present = [v for v in nrr.values() if v is not None]
    lowest = min(present) if present and not hidden else None
    return tuple(
        ElementScore(code, names.get(code, code),
                     None if value is None or hidden else value,
                     lowest is not None and value == lowest)
        for code, value in nrr.items()
    )


def _weakest_codes(totals: _Totals) -> tuple[str, ...]:
    return tuple(e.code for e in _elements(totals) if e.weakest)


def _category(ikm: Decimal | None) -> Category | None:
    return category(ikm) if ikm is not None else None


# Officers: intervals and empirical-Bayes shrinkage -------------------------------------------


@dataclass(frozen=True)
class OfficerTable:
    rows: tuple[OfficerRow, ...]
    shrinkage: Shrinkage


class ScoreTotals(Protocol):
    """A group's responses: n, the sum of their score totals and of its squares, the IKM."""

    @property
    def n(self) -> int: ...
    @property
    def total(self) -> int: ...
    @property
    def sum_total_sq(self) -> int: ...
    @property
    def ikm(self) -> Decimal | None: ...


def officer_table(officers: Mapping[int, ScoreTotals], names: dict[int, str],
                  unit: ScoreTotals, officer_min_n: int) -> OfficerTable:
    """Raw means with intervals, shrunk estimates and ranks; nothing shown below the min n."""
    k, estimated = prior_weight(
        (GroupTotals(o.n, o.total, o.sum_total_sq) for o in officers.values()),
        float(officer_min_n))
    prior = Fraction(unit.total, unit.n) if unit.n else None
    if prior is None and officers:
        count = sum(o.n for o in officers.values())
        prior = Fraction(sum(o.total for o in officers.values()), count) if count else None
    estimates: dict[int, Decimal] = {}
    rows: dict[int, OfficerRow] = {}
    for officer_id, totals in officers.items():
        shown = totals.n >= officer_min_n and totals.n > 0
        interval = None
        if shown:
            bounds = mean_interval_95(totals.total, totals.sum_total_sq, totals.n)
            if bounds is not None:
                interval = (total_to_ikm(bounds[0]), total_to_ikm(bounds[1]))
            if prior is not None:
                estimates[officer_id] = total_to_ikm(
                    shrunk_mean(totals.total, totals.n, float(prior), k))
        name = names.get(officer_id) or _("Officer #%(id)d", id=officer_id)
        rows[officer_id] = OfficerRow(
            officer_id, name, totals.n, shown,
            totals.ikm if shown else None, interval, estimates.get(officer_id), None)
    ranked = sorted(estimates, key=lambda oid: (-estimates[oid], -rows[oid].n, rows[oid].name))
    ranks = shared_ranks(ranked, estimates.__getitem__)
    ordered = [rows[oid] for oid in ranked] + sorted(
        (r for oid, r in rows.items() if oid not in ranks), key=lambda r: r.name)
    final = tuple(
        OfficerRow(r.officer_id, r.name, r.n, r.shown, r.ikm, r.interval, r.shrunk,
                   ranks.get(r.officer_id))
        for r in ordered
    )
    prior_ikm = total_to_ikm(prior) if prior is not None else None
    return OfficerTable(final, Shrinkage(prior_ikm, k, estimated))


# Queries on responses, restricted to one unit and week (ix_responses_unit_week) ----------------


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _wait_grid(session: Session, unit_id: int, week: date
               ) -> tuple[tuple[GridCell, ...], list[tuple[int, int]]]:
    """The weekday × hour grid from a histogram (day, hour, minute) of the unit's week.

    Also returns the week's whole measured histogram, for merging percentiles exactly.
    """
    query = (
        select(Response.local_day, Response.local_hour, Response.measured_wait_min,
               func.count())
        .where(Response.unit_id == unit_id, Response.local_week == week,
               Response.unflagged())
        .group_by(Response.local_day, Response.local_hour, Response.measured_wait_min)
    )
    counts: dict[tuple[int, int], int] = defaultdict(int)
    minutes: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    whole: dict[int, int] = defaultdict(int)
    for day, hour, minute, count in session.execute(query):
        key = (_as_date(day).weekday(), int(hour))
        counts[key] += int(count)
        if minute is not None:
            minutes[key].append((int(minute), int(count)))
            whole[int(minute)] += int(count)
    cells = tuple(
        GridCell(weekday, hour, counts[(weekday, hour)],
                 sum(c for _, c in minutes[(weekday, hour)]),
                 nearest_rank(minutes[(weekday, hour)], 1, 2))
        for weekday, hour in sorted(counts)
    )
    return cells, sorted(whole.items())


def comments_between(session: Session, tz: ZoneInfo, *, unit_id: int, first: date,
                     last: date, limit: int = COMMENT_LIMIT, with_scores: bool = True,
                     with_place: bool = True) -> tuple[Comment, ...]:
    """The comments of a unit's local days ``first`` to ``last``, at most ``limit``, ordered
    and stripped as ``_comments`` does."""
    return _comments(session, tz, unit_id=unit_id, week=monday_of(first),
                     last_week=monday_of(last), days=(first, last), limit=limit,
                     with_scores=with_scores, with_place=with_place,
                     by_words=not with_place)


def _comments(session: Session, tz: ZoneInfo, *, unit_id: int, week: date,
              officer_id: int | None = None, with_scores: bool = True,
              with_place: bool = True, last_week: date | None = None,
              days: tuple[date, date] | None = None,
              limit: int = COMMENT_LIMIT, by_words: bool = False) -> tuple[Comment, ...]:
    """The week's comments (to ``last_week``, within ``days``), at most ``limit``: lowest
    total score first, or, when the scores are withheld, in time order (an order by score
    would tell them). Without ``with_place``, no counter and no time: the week only.
    ``by_words``: the newest week first and a week's comments by their words, as the
    comments page orders them for the same readers (time order could point to the day)."""
    total = Response.u1 + Response.u2 + Response.u3 + Response.u4 + Response.u5 \
        + Response.u6 + Response.u7 + Response.u8 + Response.u9
    query = (
        select(Response.comment, total, Counter.name, Response.created_at)
        .join(Counter, Counter.id == Response.counter_id)
        .where(Response.unit_id == unit_id, Response.local_week >= week,
               Response.local_week <= (last_week or week),
               Response.comment.is_not(None),
               Response.unflagged())
        .order_by(*([total] if with_scores else []),
                  *([Response.local_week.desc(), Response.comment] if by_words else []),
                  Response.created_at, Response.id)
        .limit(limit)
    )
    if days is not None:
        query = query.where(Response.local_day >= days[0], Response.local_day <= days[1])
    if officer_id is not None:
        query = query.where(Response.officer_id == officer_id)
    return tuple(
        Comment(text or "",
                round_half_up(Fraction(int(score), ELEMENTS_PER_RESPONSE), 2)
                if with_scores else None,
                counter_name if with_place else None,
                created_at.astimezone(tz) if with_place else None)
        for text, score, counter_name, created_at in session.execute(query)
    )


# Weekly summary --------------------------------------------------------------------------


def last_complete_week(now: datetime, tz: ZoneInfo) -> date:
    """The Monday of the last full week before the local week containing ``now``."""
    return monday_of(now.astimezone(tz).date()) - timedelta(weeks=1)


def adequacy_month(week: date) -> date:
    """The month a week counts toward for sample adequacy: the month of its Thursday (ISO)."""
    return (monday_of(week) + timedelta(days=3)).replace(day=1)


def month_responses(session: Session, unit_id: int, month: date) -> int:
    """The complete, unflagged responses of a unit's month, as last aggregated."""
    rows = session.scalars(select(Indicator.n).where(
        Indicator.scope == "unit", Indicator.scope_id == unit_id,
        Indicator.period_kind == "month", Indicator.period_start == month))
    return sum(rows)


def _adequacy(session: Session, unit_id: int, month: date) -> SampleAdequacy:
    n = month_responses(session, unit_id, month)
    served = month_served(session, unit_id, month)
    if served is None or served < 1:
        return SampleAdequacy(month, n, served, None, None)
    required = krejcie_morgan(served)
    return SampleAdequacy(month, n, served, required, n >= required)


def _trend(merged: dict[tuple[str, int, date], _Totals], scope: str, scope_id: int,
           week: date, *, min_n: int = 0) -> tuple[TrendPoint, ...]:
    points = []
    for back in range(TREND_WEEKS - 1, -1, -1):
        start = week - timedelta(weeks=back)
        totals = merged.get((scope, scope_id, start), _Totals())
        points.append(TrendPoint(start, totals.ikm if totals.n >= max(min_n, 1) else None,
                                 totals.n))
    return tuple(points)


def _bands(totals: _Totals) -> tuple[tuple[BandShare, ...], int, str | None]:
    answered = sum(totals.bands)
    labels = reference_survey().wait_labels(current_locale())
    shares = tuple(
        BandShare(code, labels.get(code, code), count,
                  count / answered if answered else None)
        for code, count in zip(WAIT_COLUMNS, totals.bands, strict=True)
    )
    median_band = None
    running = 0
    for band in shares:
        running += band.count
        if answered and running * 2 >= answered:
            median_band = band.label
            break
    return shares, answered, median_band


def _unit_ref(session: Session, unit_id: int) -> UnitRef:
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise LookupError(f"no unit with id {unit_id}")
    return UnitRef(unit.id, unit.code, unit.name)


def _week_rows(session: Session, unit_id: int, week: date) -> list[Indicator]:
    """The unit's weekly rows for the trend, and its counter and officer rows of the week."""
    first = week - timedelta(weeks=TREND_WEEKS - 1)
    return list(session.scalars(select(Indicator).where(
        Indicator.unit_id == unit_id, Indicator.period_kind == "week",
        Indicator.period_start >= first, Indicator.period_start <= week,
        or_(and_(Indicator.scope == "unit", Indicator.scope_id == unit_id),
            and_(Indicator.scope.in_(("counter", "officer")), Indicator.period_start == week)),
    )))


def _officer_names(session: Session, ids: Iterable[int]) -> dict[int, str]:
    wanted = list(ids)
    if not wanted:
        return {}
    return dict(session.execute(
        select(Officer.id, Officer.name).where(Officer.id.in_(wanted))).all())


def weekly_summary(session: Session, unit_id: int, week_start: date, *,
                   officer_min_n: int, tz: ZoneInfo = DEFAULT_TZ,
                   officer_detail: bool = True,
                   dialogues_as_of: date | None = None,
                   cases_as_of: date | None = None) -> WeeklySummary:
    """The weekly summary of a unit for the ISO week containing ``week_start_day``.

    Reads the stored indicators (unit, counter and officer rows of the week, the unit's
    weekly rows for the 12-week trend and its month row); only the weekday × hour grid and
    the comments query responses, by (unit_id, local_week). ``tz`` gives comment times.

    Without ``officer_detail`` (readers who may not see one officer's scores, see
    ``auth.sees_officer_detail``) nothing finer than the unit is scored: no officer table,
    counters with their responses and waits but no IKM, category or weakest elements, and
    comments without their scores, in time order. The unit itself is scored from
    ``officer_min_n`` responses only (``unit_hidden``): a unit, or a week, served by one
    officer scores that officer.

    With ``dialogues_as_of`` (a local day) and ``officer_detail``, the unit's officers due
    a performance dialogue on that day are listed (``dialogues_due``); with
    ``cases_as_of``, the unit's complaint cases past their deadline on that day
    (``cases_overdue``).
    """
    week = monday_of(week_start)
    unit = _unit_ref(session, unit_id)
    merged = _merge(_week_rows(session, unit_id, week))
    this = merged.get(("unit", unit_id, week), _Totals())
    min_n = scores_shown_from("unit", officer_min_n, officer_detail=officer_detail)
    hidden = 0 < this.n < min_n
    trend = _trend(merged, "unit", unit_id, week, min_n=min_n)
    previous = trend[-2].ikm if len(trend) > 1 else None
    ikm = None if hidden else this.ikm
    grid, histogram = _wait_grid(session, unit_id, week)
    measured = this.measured()
    if measured.n and measured.median is None and histogram:
        # Several survey versions in one week: merge the percentiles from the histogram.
        measured = MeasuredWait(measured.n, nearest_rank(histogram, 1, 2),
                                nearest_rank(histogram, 9, 10), measured.within_60)
    bands, answered, median_band = _bands(this)
    officers = {sid: t for (scope, sid, start), t in merged.items()
                if scope == "officer" and start == week}
    table = officer_table(officers, _officer_names(session, officers), this,
                           scores_shown_from("officer", officer_min_n))
    counters = _counter_rows(session, unit_id, week, merged,
                             min_n=scores_shown_from("counter", officer_min_n))
    if not officer_detail:
        counters = tuple(replace(row, ikm=None, category=None, weakest=()) for row in counters)
    return WeeklySummary(
        unit=unit, week_start=week, n=this.n, flagged=this.flagged, ikm=ikm,
        category=_category(ikm), previous_ikm=previous,
        delta=ikm - previous if ikm is not None and previous is not None else None,
        trend=trend, elements=_elements(this, hidden=hidden), wait_bands=bands,
        wait_answered=answered, unit_hidden=hidden,
        reported_median_band=median_band, measured=measured, grid=grid,
        counters=counters,
        officers=table.rows if officer_detail else (), shrinkage=table.shrinkage,
        officer_min_n=officer_min_n,
        comments=_comments(session, tz, unit_id=unit_id, week=week, with_scores=officer_detail,
                           with_place=officer_detail),
        comment_count=this.comments,
        adequacy=_adequacy(session, unit_id, adequacy_month(week)),
        dialogues_due=tuple(overdue_dialogues(session, [unit_id], dialogues_as_of))
        if officer_detail and dialogues_as_of is not None else (),
        cases_overdue=tuple(overdue_cases(session, [unit_id], cases_as_of))
        if cases_as_of is not None else (),
    )


def _counter_rows(session: Session, unit_id: int, week: date,
                  merged: dict[tuple[str, int, date], _Totals], *, min_n: int
                  ) -> tuple[CounterRow, ...]:
    """Every counter with responses this week, and the unit's active counters without;
    scored only from ``min_n`` responses (a counter's score is its officer's)."""
    with_data = {sid for (scope, sid, start) in merged if scope == "counter" and start == week}
    counters = session.execute(
        select(Counter.id, Counter.code, Counter.name)
        .where(Counter.unit_id == unit_id,
               or_(Counter.active.is_(True), Counter.id.in_(list(with_data) or [-1])))
        .order_by(Counter.code)).all()
    rows = []
    for counter_id, code, name in counters:
        totals = merged.get(("counter", counter_id, week), _Totals())
        hidden = 0 < totals.n < min_n
        ikm = None if hidden else totals.ikm
        rows.append(CounterRow(counter_id, code, name, totals.n, ikm, _category(ikm),
                               _weakest_codes(totals) if totals.n and not hidden else (),
                               totals.measured(), hidden))
    return tuple(rows)


def officer_summary(session: Session, officer_id: int, week_start: date, *,
                    officer_min_n: int, tz: ZoneInfo = DEFAULT_TZ) -> OfficerSummary:
    """An officer's own week: their 12-week trend, elements and the comments of responses
    given while they were on duty, scored only at or above ``officer_min_n`` responses."""
    week = monday_of(week_start)
    officer = session.get(Officer, officer_id)
    if officer is None:
        raise LookupError(f"no officer with id {officer_id}")
    unit = _unit_ref(session, officer.unit_id)
    first = week - timedelta(weeks=TREND_WEEKS - 1)
    own = _merge(session.scalars(select(Indicator).where(
        Indicator.scope == "officer", Indicator.scope_id == officer_id,
        Indicator.period_kind == "week",
        Indicator.period_start >= first, Indicator.period_start <= week)))
    peers = _merge(session.scalars(select(Indicator).where(
        Indicator.unit_id == officer.unit_id, Indicator.period_kind == "week",
        Indicator.period_start == week,
        or_(Indicator.scope == "officer",
            and_(Indicator.scope == "unit", Indicator.scope_id == officer.unit_id)))))
    unit_totals = peers.get(("unit", officer.unit_id, week), _Totals())
    officers = {sid: t for (scope, sid, _), t in peers.items() if scope == "officer"}
    officers.setdefault(officer_id, own.get(("officer", officer_id, week), _Totals()))
    table = officer_table(officers, {officer_id: officer.name}, unit_totals,
                           scores_shown_from("officer", officer_min_n))
    row = next(r for r in table.rows if r.officer_id == officer_id)
    this = own.get(("officer", officer_id, week), _Totals())
    return OfficerSummary(
        officer=OfficerRef(officer.id, officer.nip, officer.name, officer.position, unit),
        week_start=week, row=row, unit_ikm=unit_totals.ikm, shrinkage=table.shrinkage,
        officer_min_n=officer_min_n,
        trend=_trend(own, "officer", officer_id, week,
                     min_n=scores_shown_from("officer", officer_min_n)),
        elements=_elements(this, hidden=not row.shown),
        comments=_comments(session, tz, unit_id=officer.unit_id, week=week,
                           officer_id=officer_id, with_scores=row.shown),
    )


# The dashboards' note, also the Monday digest's closing line ----------------------------------
# The digest (app/templates/email/digest.txt) carries the same msgid: one catalogue entry, one
# translation (tests/test_digests_i18n.py checks that the two agree).

NOT_A_GRADE = _l("Citizen feedback is material for a performance dialogue with the unit head, "
                 "not an appraisal or rating of staff performance.")
