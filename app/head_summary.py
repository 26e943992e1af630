"""The unit head's summary of any period: five answers first (how are we doing, how long
did people wait and where, what pulled the index down, who is invited to a dialogue, what
is due), then the breakdowns behind them.

Figures come from the stored indicators summed over the period (``app.period_totals``);
only the waits by counter × weekday × hour and the respondent profile read responses, by
(unit_id, local_week). "Up" and "down" are said only when a change lies beyond its 95 %
interval.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.actions import actions_due
from app.aggregation import WAIT_COLUMNS
from app.cases import OverdueCase, overdue_cases
from app.dialogues import DialogueStatus, overdue_dialogues
from app.i18n import current_locale
from app.models import Counter, ImprovementAction, Officer, Response, Service
from app.period_totals import (
    Change,
    MeasuredWait,
    Totals,
    element_change,
    index_change,
    period_totals,
    series,
)
from app.periods import first_day, months_of, period_start, previous_period
from app.refs import UnitRef
from app.scoring import (
    ELEMENT_CODES,
    Category,
    GroupTotals,
    category,
    krejcie_morgan,
    nearest_rank,
    round_half_up,
    t_quantile,
)
from app.served import month_served
from app.summary import OfficerRow, Shrinkage, officer_table
from app.summary_period import SummaryPeriod
from app.suppression import viewer_periods
from app.surveys import reference_survey

# How many periods the trend shows, by kind.
TREND_LENGTH = {"week": 12, "month": 12, "quarter": 8, "semester": 6, "year": 5}
HOTSPOTS = 2
# A run of hours is a hotspot from this many citizens who waited past the standard.
HOTSPOT_MIN_LATE = 2
# The standard time of a service that has none: the national indicator's 60 minutes.
WITHIN_MINUTES = 60
# The two-sided level of each of the nine element intervals of a 95 % family (Bonferroni).
ELEMENT_LEVEL = 1 - 0.05 / len(ELEMENT_CODES)


@dataclass(frozen=True)
class ElementRow:
    """An element's NRR (1-4), n, each answer's share, and its change."""

    code: str
    name: str
    n: int
    nrr: Fraction | None
    shares: tuple[float | None, ...]
    change: Change | None
    weakest: bool

    @property
    def nrr_4(self) -> Decimal | None:
        return round_half_up(self.nrr, 4) if self.nrr is not None else None


@dataclass(frozen=True)
class PlaceRow:
    """A counter's or service's period: scored only from the minimum n (``hidden``)."""

    id: int
    code: str
    name: str
    n: int
    ikm: Decimal | None
    category: Category | None
    interval: tuple[Decimal, Decimal] | None
    change: Change | None
    hidden: bool
    paid_free: int
    measured: MeasuredWait
    weakest: tuple[str, ...]
    standard_minutes: int | None = None
    fee: int | None = None


@dataclass(frozen=True)
class WaitCell:
    """Responses in one weekday (0 = Monday) × hour of the unit: how many, how many
    measured, and their median measured wait."""

    weekday: int
    hour: int
    count: int
    measured_n: int
    median: int | None


@dataclass(frozen=True)
class Hotspot:
    """Consecutive hours of one weekday at one counter (None: the whole unit, for readers
    who may not see a counter) where most citizens waited past their service's standard
    time: measured past it, or, unmeasured, reporting a waiting-time band wholly above it.
    ``standard`` is the standard most of them had."""

    counter: str | None
    weekday: int
    first_hour: int
    end_hour: int
    n: int
    late: int
    measured_n: int
    median: int | None
    standard: int


@dataclass(frozen=True)
class Puller:
    """What pulled the index down: an element, counter or service, its value (NRR for an
    element, IKM otherwise), n, and its change when that is a significant drop."""

    kind: str  # "element", "counter" or "service"
    code: str
    name: str
    value: Decimal
    n: int
    drop: Change | None


@dataclass(frozen=True)
class Invitation:
    """An officer invited to a performance dialogue: their shrunk estimate (IKM scale) or
    one element's sits clearly below the unit's. ``element`` is the element furthest below
    the unit's, with the officer's and the unit's NRR."""

    officer_id: int
    name: str
    n: int
    shrunk: Decimal | None
    unit_ikm: Decimal | None
    element: str | None
    element_name: str | None
    officer_nrr: Decimal | None
    unit_nrr: Decimal | None


@dataclass(frozen=True)
class ProfileRow:
    """One answer to a profile question: n and, from enough responses, the IKM."""

    item: str
    item_label: str
    code: str
    label: str
    n: int
    ikm: Decimal | None


@dataclass(frozen=True)
class TrendPoint:
    label: date
    first: date
    last: date
    ikm: Decimal | None
    n: int


@dataclass(frozen=True)
class Adequacy:
    """Responses in the period's month against the Krejcie–Morgan size (weeks, months)."""

    month: date
    n: int
    served: int | None
    required: int | None

    @property
    def met(self) -> bool | None:
        return None if self.required is None else self.n >= self.required


@dataclass(frozen=True)
class OfficerElements:
    """An officer's NRR per element (from the minimum n only)."""

    officer_id: int
    name: str
    n: int
    nrr: tuple[Decimal | None, ...]


@dataclass(frozen=True)
class HeadSummary:
    """Everything the unit head's summary page shows for one period."""

    unit: UnitRef
    period: SummaryPeriod
    previous: SummaryPeriod
    officer_detail: bool
    officer_min_n: int
    n: int
    flagged: int
    comments: int
    hidden: bool  # the unit's scores withheld from this reader (too few responses)
    ikm: Decimal | None
    category: Category | None
    interval: tuple[Decimal, Decimal] | None
    previous_ikm: Decimal | None
    previous_n: int
    change: Change | None
    trend: tuple[TrendPoint, ...]
    elements: tuple[ElementRow, ...]
    measured: MeasuredWait
    bands: tuple[tuple[str, str, int], ...]  # (code, label, count) of self-reported waits
    grid: tuple[WaitCell, ...]
    hotspots: tuple[Hotspot, ...]
    pulled: tuple[Puller, ...]
    counters: tuple[PlaceRow, ...]
    services: tuple[PlaceRow, ...]
    officers: tuple[OfficerRow, ...]
    officer_elements: tuple[OfficerElements, ...]
    shrinkage: Shrinkage | None
    invitations: tuple[Invitation, ...]
    profile: tuple[ProfileRow, ...]
    paid_free: int
    cases_overdue: tuple[OverdueCase, ...]
    actions_due: tuple[ImprovementAction, ...]
    dialogues_due: tuple[DialogueStatus, ...]
    adequacy: Adequacy | None

    @property
    def weakest(self) -> tuple[ElementRow, ...]:
        return tuple(e for e in self.elements if e.weakest)

    @property
    def due_count(self) -> int:
        return len(self.cases_overdue) + len(self.actions_due) + len(self.dialogues_due)

    @property
    def band_answered(self) -> int:
        return sum(count for _code, _label, count in self.bands)


def _category(ikm: Decimal | None) -> Category | None:
    return category(ikm) if ikm is not None else None


def _elements(this: Totals, before: Totals, *, hidden: bool) -> tuple[ElementRow, ...]:
    names = reference_survey().element_names(current_locale())
    rows = []
    values = [this.nrr(i) for i in range(len(ELEMENT_CODES))] if not hidden else []
    lowest = min((v for v in values if v is not None), default=None)
    for i, code in enumerate(ELEMENT_CODES):
        answers = this.answers(i)
        counted = sum(answers)
        nrr = None if hidden else this.nrr(i)
        rows.append(ElementRow(
            code, names.get(code, code), this.n, nrr,
            tuple((a / counted if counted and not hidden else None) for a in answers),
            None if hidden or not before.n else element_change(before, this, i),
            nrr is not None and nrr == lowest))
    return tuple(rows)


def _place_rows(found: dict[int, Totals], before: dict[int, Totals],
                places: list[tuple[int, str, str, int | None, int | None]], *, min_n: int,
                scored: bool) -> tuple[PlaceRow, ...]:
    rows = []
    for place_id, code, name, standard, fee in places:
        this = found.get(place_id, Totals())
        hidden = not scored or this.n < min_n
        previous = before.get(place_id, Totals())
        change = (index_change(previous, this)
                  if not hidden and previous.n >= min_n and previous.n else None)
        weakest: tuple[str, ...] = ()
        if not hidden and this.n:
            values = [this.nrr(i) for i in range(len(ELEMENT_CODES))]
            low = min(v for v in values if v is not None)
            weakest = tuple(c for c, v in zip(ELEMENT_CODES, values, strict=True) if v == low)
        rows.append(PlaceRow(
            place_id, code, name, this.n, None if hidden else this.ikm,
            None if hidden else _category(this.ikm), None if hidden else this.interval(),
            change, hidden and this.n > 0, this.paid_free if scored else 0,
            this.measured() if scored or this.n >= min_n else MeasuredWait(0, None, None, None),
            weakest, standard, fee))
    return tuple(rows)


def _pulled(elements: tuple[ElementRow, ...], counters: tuple[PlaceRow, ...],
            services: tuple[PlaceRow, ...]) -> tuple[Puller, ...]:
    """The element, counter and service with the largest significant drop, or else the
    lowest score; each with its n."""
    found = []
    scored_elements = [(e, e.nrr) for e in elements if e.nrr is not None]
    dropped = [(e, nrr) for e, nrr in scored_elements
               if e.change is not None and e.change.word == "down"]
    if dropped:
        e, nrr = min(dropped, key=lambda r: (r[0].change.difference if r[0].change
                                             else Decimal(0), r[0].code))
        found.append(Puller("element", e.code, e.name, round_half_up(nrr, 2), e.n, e.change))
    elif scored_elements:
        e, nrr = min(scored_elements, key=lambda r: (r[1], r[0].code))
        found.append(Puller("element", e.code, e.name, round_half_up(nrr, 2), e.n, None))
    for kind, rows in (("counter", counters), ("service", services)):
        scored = [r for r in rows if r.ikm is not None]
        if len(scored) < 2:  # one place scored alone is the unit itself
            continue
        falling = [r for r in scored if r.change is not None and r.change.word == "down"]
        if falling:
            r = min(falling, key=lambda p: (p.change.difference if p.change else Decimal(0),
                                            p.code))
            found.append(Puller(kind, r.code, r.name, r.ikm or Decimal(0), r.n, r.change))
        else:
            r = min(scored, key=lambda p: (p.ikm or Decimal(0), p.code))
            found.append(Puller(kind, r.code, r.name, r.ikm or Decimal(0), r.n, None))
    return tuple(found)


def _element_clearly_below(group: GroupTotals, unit_nrr: Fraction) -> bool:
    """Whether an element's mean and its interval at 95 % for the nine elements together
    (Bonferroni: each two-sided at 1 - 0.05/9, Student t with n - 1 degrees of freedom)
    lie wholly below ``unit_nrr``, so that nine looks at one officer do not find a
    difference by chance."""
    if group.n < 2:
        return False
    variance = (Fraction(group.sum_squares) - Fraction(group.total ** 2, group.n)) / (group.n - 1)
    error = math.sqrt(float(variance) / group.n)
    mean = group.total / group.n
    return mean + t_quantile(ELEMENT_LEVEL, group.n - 1) * error < unit_nrr


def _invitations(officers: dict[int, Totals], rows: tuple[OfficerRow, ...], unit: Totals,
                 shrinkage: Shrinkage) -> tuple[Invitation, ...]:
    """Officers whose shrunk estimate sits clearly below the unit's (the shrunk estimate
    plus the half-width of their 95 % interval still below the unit's IKM), or one of whose
    elements does (the element's mean and its interval for the nine elements together,
    Student t, wholly below the unit's NRR)."""
    if not unit.n:
        return ()
    names = reference_survey().element_names(current_locale())
    unit_ikm = unit.ikm
    found = []
    for row in rows:
        if not row.shown or row.shrunk is None:
            continue
        mine = officers[row.officer_id]
        # The shrunk estimate, with the raw mean's half-width, wholly below the unit's.
        overall = (unit_ikm is not None and row.interval is not None and row.ikm is not None
                   and row.shrunk + (row.interval[1] - row.ikm) < unit_ikm)
        gap: tuple[Fraction, int] | None = None
        clear_element = None
        for i in range(len(ELEMENT_CODES)):
            group = mine.element_group(i)
            unit_nrr = unit.nrr(i)
            if group.n < 2 or unit_nrr is None:
                continue
            own = Fraction(group.total, group.n)
            difference = own - unit_nrr
            if gap is None or difference < gap[0]:
                gap = (difference, i)
            # The raw element mean with its interval for the nine-element family: the
            # shrinkage weight is estimated from officers' whole scores, which hardly
            # differ when one element alone does, and would hide that element.
            if _element_clearly_below(group, unit_nrr) and (
                    clear_element is None or difference < clear_element[0]):
                clear_element = (difference, i)
        if not overall and clear_element is None:
            continue
        chosen = clear_element or gap
        index = chosen[1] if chosen else None
        code = ELEMENT_CODES[index] if index is not None else None
        own_nrr = mine.nrr(index) if index is not None else None
        unit_nrr = unit.nrr(index) if index is not None else None
        found.append(Invitation(
            row.officer_id, row.name, row.n, row.shrunk, unit_ikm, code,
            names.get(code, code) if code else None,
            round_half_up(own_nrr, 2) if own_nrr is not None else None,
            round_half_up(unit_nrr, 2) if unit_nrr is not None else None))
    return tuple(sorted(found, key=lambda inv: inv.name))


def _response_scope(unit_id: int, period: SummaryPeriod) -> list[object]:
    """The unit's unflagged responses of the period (by the (unit_id, local_week) index)."""
    weeks = period.weeks()
    return [Response.unit_id == unit_id, Response.local_week >= weeks[0],
            Response.local_week <= weeks[-1], Response.local_day >= period.first,
            Response.local_day <= period.last, Response.unflagged()]


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _wait_cells(session: Session, unit_id: int, period: SummaryPeriod, *,
                by_counter: bool, min_n: int = 0
                ) -> tuple[tuple[WaitCell, ...], tuple[Hotspot, ...]]:
    """The unit's weekday × hour grid of measured waits, and where and when the waits were
    longest against each service's standard time: by counter (or, for readers who may not
    see a counter, by the unit) × weekday × hours. Cells and hotspots of fewer than
    ``min_n`` responses are left out (readers without officer detail)."""
    standards = dict(session.execute(
        select(Service.id, Service.standard_minutes).where(Service.unit_id == unit_id)).all())
    names = dict(session.execute(
        select(Counter.id, Counter.name).where(Counter.unit_id == unit_id)).all())
    floors = {band.code: band.min_minutes for band in reference_survey().wait_bands}
    query = (select(Response.counter_id, Response.local_day, Response.local_hour,
                    Response.service_id, Response.measured_wait_min, Response.wait_band,
                    func.count())
             .where(*_response_scope(unit_id, period))  # type: ignore[arg-type]
             .group_by(Response.counter_id, Response.local_day, Response.local_hour,
                       Response.service_id, Response.measured_wait_min, Response.wait_band))
    grid: dict[tuple[int, int], list[tuple[int | None, int]]] = defaultdict(list)
    # (place, weekday, hour) -> [responses, late, {standard: count}, [(minute, count)]]
    places: dict[tuple[int, int, int], _PlaceHour] = defaultdict(_PlaceHour)
    for counter_id, day, hour, service_id, minute, band, count in session.execute(query):
        weekday, count = _as_date(day).weekday(), int(count)
        grid[(weekday, int(hour))].append((minute, count))
        cell = places[(int(counter_id) if by_counter else 0, weekday, int(hour))]
        standard = (standards.get(service_id) if service_id is not None else None) or WITHIN_MINUTES
        cell.n += count
        cell.standards[standard] = cell.standards.get(standard, 0) + count
        if minute is not None:
            cell.minutes.append((int(minute), count))
            cell.late += count if minute > standard else 0
        elif band is not None and floors.get(band, 0) >= standard:
            cell.late += count
    cells = tuple(
        WaitCell(weekday, hour, sum(c for _m, c in found),
                 sum(c for m, c in found if m is not None),
                 nearest_rank([(m, c) for m, c in found if m is not None], 1, 2))
        for (weekday, hour), found in sorted(grid.items())
        if sum(c for _m, c in found) >= min_n)
    spots = _hotspots(places, names if by_counter else None)
    return cells, tuple(spot for spot in spots if spot.n >= min_n)


@dataclass
class _PlaceHour:
    n: int = 0
    late: int = 0
    standards: dict[int, int] = field(default_factory=dict)
    minutes: list[tuple[int, int]] = field(default_factory=list)

    @property
    def mostly_late(self) -> bool:
        return self.late > 0 and self.late * 2 > self.n


def _hotspots(places: dict[tuple[int, int, int], _PlaceHour], names: dict[int, str] | None
              ) -> tuple[Hotspot, ...]:
    """Runs of hours where most waited past the standard (hours without responses do not
    break a run), merged per counter and weekday; those with at least HOTSPOT_MIN_LATE
    late, most late first."""
    spots = []
    for place, weekday in sorted({(p, w) for p, w, _h in places}):
        # Hours with responses, in order: a run goes on over hours nobody answered in, and
        # stops at an hour where most did not wait past the standard.
        hours = sorted(h for p, w, h in places if (p, w) == (place, weekday))
        runs: list[list[int]] = []
        joining = False
        for hour in hours:
            if not places[(place, weekday, hour)].mostly_late:
                joining = False
            elif joining:
                runs[-1].append(hour)
            else:
                runs.append([hour])
                joining = True
        for run in runs:
            merged = _PlaceHour()
            for hour in run:
                cell = places[(place, weekday, hour)]
                merged.n += cell.n
                merged.late += cell.late
                merged.minutes += cell.minutes
                for standard, count in cell.standards.items():
                    merged.standards[standard] = merged.standards.get(standard, 0) + count
            if merged.late < HOTSPOT_MIN_LATE:
                continue
            usual = max(merged.standards, key=lambda s: (merged.standards[s], -s))
            spots.append(Hotspot(
                names.get(place) if names is not None else None, weekday, run[0],
                run[-1] + 1, merged.n, merged.late, sum(c for _m, c in merged.minutes),
                nearest_rank(merged.minutes, 1, 2), usual))
    spots.sort(key=lambda s: (-s.late, -s.late / s.n, s.weekday, s.first_hour))
    return tuple(spots[:HOTSPOTS])


def _profile(session: Session, unit_id: int, period: SummaryPeriod, *, min_n: int,
             scored: bool = True) -> tuple[ProfileRow, ...]:
    """Responses and the IKM per answer to each profile question (one grouped scan), each
    answer scored from ``min_n`` responses, and none of a question's answers when the
    period's responses minus those scored would leave fewer than ``min_n``. Without
    ``scored`` (readers without officer detail: the no-subtraction rule of
    ``app.suppression`` would have to follow every answer through the weeks) n only."""
    total = sum((getattr(Response, f"u{i}") for i in range(2, 10)), Response.u1)
    query = (select(Response.sex, Response.age_band, Response.education, Response.occupation,
                    func.count(), func.sum(total))
             .where(*_response_scope(unit_id, period))  # type: ignore[arg-type]
             .group_by(Response.sex, Response.age_band, Response.education,
                       Response.occupation))
    items = ("sex", "age_band", "education", "occupation")
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    unit_n = 0
    for row in session.execute(query):
        unit_n += int(row[4])
        for code, value in zip(items, row[:4], strict=True):
            if value is not None:
                sums[(code, value)][0] += int(row[4])
                sums[(code, value)][1] += int(row[5] or 0)
    locale = current_locale()
    rows = []
    for item in reference_survey().profile:
        if item.code not in items:
            continue
        found = [(option, *sums.get((item.code, option.code), (0, 0)))
                 for option in item.options]
        scored_codes = {option.code for option, n, _score in found
                        if scored and n >= max(min_n, 1)}
        # The unit's figure minus the scored answers is the figure of those who did not
        # answer (or gave a withheld answer): below the minimum, no answer is scored.
        rest = unit_n - sum(n for option, n, _score in found if option.code in scored_codes)
        if 0 < rest < min_n:
            scored_codes = set()
        for option, n, score in found:
            ikm = (round_half_up(Fraction(score * 25, n * 9), 2)
                   if option.code in scored_codes else None)
            rows.append(ProfileRow(item.code, item.label.get(locale), option.code,
                                   option.label.get(locale), n, ikm))
    return tuple(rows)


def _trend(session: Session, unit_id: int, period: SummaryPeriod, *, min_n: int
           ) -> tuple[TrendPoint, ...]:
    kind = period.kind if period.label is not None else "week"
    count = TREND_LENGTH[kind]
    anchor = period.label if period.label is not None else period_start("week", period.last)
    labels = [anchor]
    for _ in range(count - 1):
        labels.insert(0, previous_period(kind, labels[0]))
    if kind in ("week", "month"):
        found = series(session, "unit", unit_id, kind, labels[0], labels[-1])
    else:
        months = series(session, "unit", unit_id, "month", months_of(kind, labels[0])[0],
                        months_of(kind, labels[-1])[-1])
        found = {}
        for label in labels:
            summed = Totals()
            for month in months_of(kind, label):
                summed = summed.plus(months.get(month, Totals()))
            found[label] = summed
    points = []
    for label in labels:
        totals = found.get(label, Totals())
        shown = totals.n >= max(min_n, 1)
        this = SummaryPeriod.of(kind, first_day(kind, label))
        points.append(TrendPoint(label, this.first, this.last,
                                 totals.ikm if shown else None, totals.n))
    return tuple(points)


def _adequacy(session: Session, unit_id: int, period: SummaryPeriod, unit: Totals
              ) -> Adequacy | None:
    if period.kind not in ("week", "month") or period.label is None:
        return None
    month = period_start("month", period.first)
    n = unit.n if period.kind == "month" else sum(
        t.n for t in period_totals(session, SummaryPeriod.of("month", period.first), "unit",
                                   scope_ids=[unit_id]).values())
    served = month_served(session, unit_id, month)
    required = krejcie_morgan(served) if served else None
    return Adequacy(month, n, served, required)


def head_summary(session: Session, unit: UnitRef, period: SummaryPeriod, *,
                 officer_min_n: int, officer_detail: bool, today: date,
                 show_due: bool) -> HeadSummary:
    """The summary of ``unit`` over ``period`` for a reader who sees officer detail
    (unit heads, administrators) or not (viewers: no counter, service or officer score, the
    unit scored from ``officer_min_n`` responses only). ``today`` (local) dates what is
    due; ``show_due`` lists overdue cases, actions and dialogues."""
    previous = period.previous()
    unit_min = 0 if officer_detail else officer_min_n
    this = period_totals(session, period, "unit", scope_ids=[unit.id],
                         percentiles=True).get(unit.id, Totals())
    before = period_totals(session, previous, "unit", scope_ids=[unit.id]).get(unit.id, Totals())
    hidden = this.n < max(unit_min, 1)
    before_hidden = before.n < max(unit_min, 1)
    change = index_change(before, this) if not hidden and not before_hidden else None
    counters_db = session.execute(
        select(Counter.id, Counter.code, Counter.name, Counter.active)
        .where(Counter.unit_id == unit.id).order_by(Counter.code)).all()
    services_db = session.execute(
        select(Service.id, Service.code, Service.name, Service.standard_minutes, Service.fee,
               Service.active)
        .where(Service.unit_id == unit.id).order_by(Service.code)).all()
    counter_totals = period_totals(session, period, "counter", unit_ids=[unit.id],
                                   percentiles=True)
    service_totals = period_totals(session, period, "service", unit_ids=[unit.id],
                                   percentiles=True)
    counters = _place_rows(
        counter_totals, period_totals(session, previous, "counter", unit_ids=[unit.id]),
        [(c.id, c.code, c.name, None, None) for c in counters_db
         if c.active or c.id in counter_totals], min_n=officer_min_n, scored=officer_detail)
    services = _place_rows(
        service_totals, period_totals(session, previous, "service", unit_ids=[unit.id]),
        [(s.id, s.code, s.name, s.standard_minutes, s.fee) for s in services_db
         if s.active or s.id in service_totals],
        min_n=officer_min_n, scored=officer_detail)
    elements = _elements(this, before, hidden=hidden)
    officers: dict[int, Totals] = {}
    rows: tuple[OfficerRow, ...] = ()
    shrinkage: Shrinkage | None = None
    officer_elements: tuple[OfficerElements, ...] = ()
    invitations: tuple[Invitation, ...] = ()
    if officer_detail:
        officers = period_totals(session, period, "officer", unit_ids=[unit.id])
        names = dict(session.execute(select(Officer.id, Officer.name)
                                     .where(Officer.id.in_(sorted(officers) or [-1]))).all())
        table = officer_table(officers, names, this, officer_min_n)
        rows, shrinkage = table.rows, table.shrinkage
        officer_elements = tuple(
            OfficerElements(r.officer_id, r.name, r.n, tuple(
                round_half_up(officers[r.officer_id].nrr(i), 2)  # type: ignore[arg-type]
                if r.shown and officers[r.officer_id].n else None
                for i in range(len(ELEMENT_CODES))))
            for r in rows)
        invitations = _invitations(officers, rows, this, shrinkage)
    grid, hotspots = _wait_cells(session, unit.id, period, by_counter=officer_detail,
                                 min_n=0 if officer_detail else officer_min_n)
    labels = reference_survey().wait_labels(current_locale())
    bands = tuple((code, labels.get(code, code), count)
                  for code, count in zip(WAIT_COLUMNS, this.bands, strict=True))
    summary = HeadSummary(
        unit=unit, period=period, previous=previous, officer_detail=officer_detail,
        officer_min_n=officer_min_n, n=this.n, flagged=this.flagged, comments=this.comments,
        hidden=hidden and this.n > 0, ikm=None if hidden else this.ikm,
        category=None if hidden else _category(this.ikm),
        interval=None if hidden else this.interval(),
        previous_ikm=None if before_hidden else before.ikm, previous_n=before.n,
        change=change,
        trend=_trend(session, unit.id, period, min_n=unit_min),
        elements=elements, measured=this.measured(), bands=bands, grid=grid,
        hotspots=hotspots, pulled=_pulled(elements, counters, services),
        counters=counters, services=services, officers=rows,
        officer_elements=officer_elements, shrinkage=shrinkage, invitations=invitations,
        profile=_profile(session, unit.id, period, min_n=officer_min_n,
                         scored=officer_detail),
        paid_free=this.paid_free,
        cases_overdue=tuple(overdue_cases(session, [unit.id], today)) if show_due else (),
        actions_due=tuple(actions_due(session, unit.id, today, within_days=0))
        if show_due else (),
        dialogues_due=tuple(overdue_dialogues(session, [unit.id], today))
        if show_due and officer_detail else (),
        adequacy=_adequacy(session, unit.id, period, this),
    )
    return summary if officer_detail else _withhold_for_viewers(session, summary)


# Viewers: no difference of the figures they see singles out a few responses ------------------


def _withhold_for_viewers(session: Session, summary: HeadSummary) -> HeadSummary:
    """The summary with the unit's scores blanked, as withheld, for the period, the
    previous period (so no change either) and the trend points that the suppression rule
    (``app.suppression``) withholds from viewers."""
    unit_id, period, previous = summary.unit.id, summary.period, summary.previous
    if summary.hidden:
        summary = _without_counts(summary)
    if period.label is None or previous.label is None:
        return summary  # custom ranges are for heads and administrators only
    first = min([previous.first, *(point.first for point in summary.trend)])
    visible = viewer_periods(session, [unit_id], first, period.last,
                             min_n=summary.officer_min_n)
    hide = not visible.shown(unit_id, period.kind, period.label)
    hide_before = not visible.shown(unit_id, previous.kind, previous.label)
    trend = tuple(point if point.ikm is None or visible.shown(unit_id, period.kind, point.label)
                  else replace(point, ikm=None) for point in summary.trend)
    if not hide and not hide_before:
        return replace(summary, trend=trend)
    elements = tuple(replace(e, change=None) if not hide else
                     replace(e, nrr=None, shares=(None,) * len(e.shares), change=None,
                             weakest=False)
                     for e in summary.elements)
    blanked = replace(summary, trend=trend, elements=elements, change=None,
                      previous_ikm=None if hide_before else summary.previous_ikm,
                      pulled=_pulled(elements, summary.counters, summary.services))
    if not hide:
        return blanked
    return _without_counts(replace(blanked, hidden=summary.n > 0, ikm=None, category=None,
                                   interval=None))


def _without_counts(summary: HeadSummary) -> HeadSummary:
    """A withheld period for a reader without officer detail: its waits, fee signal and
    profile describe the same few responses as its score, so they go too (n stays)."""
    return replace(summary, measured=MeasuredWait(0, None, None, None),
                   bands=tuple((code, label, 0) for code, label, _count in summary.bands),
                   grid=(), hotspots=(), paid_free=0,
                   profile=tuple(replace(row, ikm=None) for row in summary.profile))


def default_period(today: date) -> SummaryPeriod:
    """The last complete local week."""
    return SummaryPeriod.of("week", today - timedelta(days=today.weekday() + 7))

