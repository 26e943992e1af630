"""Stored indicators summed over any summary period, in SQL: the figures behind the unit
head's summary, the comments page and the units side by side.

A week or month is its stored rows; a quarter, semester or year the sum of its stored
months (whole ISO weeks); a custom range the sum of its stored day rows. Sums, counts and
answer counts add up exactly across survey versions; the IKM, intervals and shares are
computed from the sums; measured-wait percentiles come from the day histograms.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import BigInteger, ColumnElement, and_, cast, func, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

from app.aggregation import ANSWERS, COUNT_COLUMNS, METRICS, SUM_COLUMNS, WAIT_COLUMNS
from app.models import Indicator, WaitMinutes
from app.periods import months_of
from app.scoring import (
    ELEMENT_CODES,
    GroupTotals,
    MeanDifference,
    ikm_from_totals,
    mean_interval_95,
    nearest_rank,
    total_to_ikm,
    welch_interval,
)
from app.summary_period import RANGE, SummaryPeriod

# One response's nine scores, summed, to the IKM scale (25-100): × 25 / 9.
IKM_PER_TOTAL = 25 / 9


@dataclass(frozen=True)
class MeasuredWait:
    """Measured waits (arrival poster to survey): n, median, 90th percentile, share ≤ 60."""

    n: int
    median: int | None
    p90: int | None
    within_60: float | None


@dataclass(frozen=True)
class Totals:
    """One scope's indicators summed over a period."""

    n: int = 0
    sums: tuple[int, ...] = (0,) * 9
    sum_total_sq: int = 0
    bands: tuple[int, ...] = (0,) * len(WAIT_COLUMNS)
    measured_n: int = 0
    within_60: int = 0
    flagged: int = 0
    comments: int = 0
    counts: tuple[int, ...] = (0,) * len(COUNT_COLUMNS)
    paid_free: int = 0
    # Measured-wait percentiles, filled in from the histograms when asked for.
    median: int | None = None
    p90: int | None = None

    @property
    def total(self) -> int:
        return sum(self.sums)

    @property
    def ikm(self) -> Decimal | None:
        return ikm_from_totals(list(self.sums), self.n) if self.n else None

    @property
    def group(self) -> GroupTotals:
        """The responses' score totals (each response's nine scores summed)."""
        return GroupTotals(self.n, self.total, self.sum_total_sq)

    def interval(self) -> tuple[Decimal, Decimal] | None:
        """The IKM's 95 % interval (normal approximation); None below 2 responses."""
        bounds = mean_interval_95(self.total, self.sum_total_sq, self.n) if self.n else None
        if bounds is None:
            return None
        return total_to_ikm(bounds[0]), total_to_ikm(bounds[1])

    def nrr(self, index: int) -> Fraction | None:
        """Element ``index``'s (0-8) mean score, exact."""
        return Fraction(self.sums[index], self.n) if self.n else None

    def answers(self, index: int) -> tuple[int, ...]:
        """How many gave each answer (1-4) to element ``index`` (0-8)."""
        start = index * len(ANSWERS)
        return self.counts[start:start + len(ANSWERS)]

    def element_group(self, index: int) -> GroupTotals:
        """Element ``index``'s scores as n, sum and sum of squares (from the answer counts)."""
        answers = self.answers(index)
        counted = sum(answers)
        return GroupTotals(counted, sum(a * c for a, c in zip(ANSWERS, answers, strict=True)),
                           sum(a * a * c for a, c in zip(ANSWERS, answers, strict=True)))

    def measured(self) -> MeasuredWait:
        return MeasuredWait(self.measured_n, self.median, self.p90,
                            self.within_60 / self.measured_n if self.measured_n else None)

    def plus(self, other: Totals) -> Totals:
        """Both periods together (percentiles are not added: read them again)."""
        return Totals(
            self.n + other.n, _add(self.sums, other.sums),
            self.sum_total_sq + other.sum_total_sq, _add(self.bands, other.bands),
            self.measured_n + other.measured_n, self.within_60 + other.within_60,
            self.flagged + other.flagged, self.comments + other.comments,
            _add(self.counts, other.counts), self.paid_free + other.paid_free)


def _add(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(x + y for x, y in zip(a, b, strict=True))


def _totals(row: RowMapping) -> Totals:
    value = {name: int(row[name] or 0) for name in METRICS}
    return Totals(
        n=value["n"], sums=tuple(value[c] for c in SUM_COLUMNS),
        sum_total_sq=value["sum_total_sq"],
        bands=tuple(value[c] for c in WAIT_COLUMNS.values()),
        measured_n=value["measured_n"], within_60=value["measured_within_60"],
        flagged=value["flagged"], comments=value["comments"],
        counts=tuple(value[c] for c in COUNT_COLUMNS), paid_free=value["paid_free"])


def _rows_of(period: SummaryPeriod) -> ColumnElement[bool]:
    """The stored indicator rows that make up ``period``."""
    if period.kind == RANGE:
        return and_(Indicator.period_kind == "day", Indicator.period_start >= period.first,
                    Indicator.period_start <= period.last)
    if period.kind in ("week", "month"):
        return and_(Indicator.period_kind == period.kind, Indicator.period_start == period.label)
    assert period.label is not None  # noqa: S101 (every kind but a range has a label)
    # A range of month labels rather than a list: SQLite's planner takes the unit index
    # for a range but walks the whole scope for an IN list.
    months = months_of(period.kind, period.label)
    return and_(Indicator.period_kind == "month", Indicator.period_start >= months[0],
                Indicator.period_start <= months[-1])


def period_totals(session: Session, period: SummaryPeriod, scope: str, *,
                  unit_ids: Collection[int] | None = None,
                  scope_ids: Collection[int] | None = None,
                  percentiles: bool = False) -> dict[int, Totals]:
    """Each scope id's totals over ``period`` (only ids with stored rows), of some units or
    scope ids; with ``percentiles``, the measured wait's median and p90 too."""
    query = (select(Indicator.scope_id,
                    *(cast(func.sum(getattr(Indicator, name)), BigInteger).label(name)
                      for name in METRICS))
             .where(Indicator.scope == scope, _rows_of(period))
             .group_by(Indicator.scope_id))
    if unit_ids is not None:
        query = query.where(Indicator.unit_id.in_(sorted(unit_ids)))
    if scope_ids is not None:
        query = query.where(Indicator.scope_id.in_(sorted(scope_ids)))
    found = {int(row.scope_id): _totals(row._mapping) for row in session.execute(query)}
    if percentiles and found:
        waits = measured_percentiles(session, scope, found, period.first, period.last)
        found = {sid: _with_percentiles(t, waits.get(sid)) for sid, t in found.items()}
    return found


def _with_percentiles(totals: Totals, found: tuple[int | None, int | None] | None) -> Totals:
    if found is None:
        return totals
    return replace(totals, median=found[0], p90=found[1])


def measured_percentiles(session: Session, scope: str, scope_ids: Collection[int],
                         first: date, last: date
                         ) -> dict[int, tuple[int | None, int | None]]:
    """Median and p90 (nearest rank) of the measured waits of each scope id between two
    local days, from the day histograms summed per minute in SQL."""
    histograms: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for scope_id, minute, responses in session.execute(
            select(WaitMinutes.scope_id, WaitMinutes.minute, func.sum(WaitMinutes.responses))
            .where(WaitMinutes.scope == scope, WaitMinutes.scope_id.in_(sorted(scope_ids)),
                   WaitMinutes.day >= first, WaitMinutes.day <= last)
            .group_by(WaitMinutes.scope_id, WaitMinutes.minute)
            .order_by(WaitMinutes.scope_id, WaitMinutes.minute)):
        histograms[int(scope_id)].append((int(minute), int(responses)))
    return {sid: (nearest_rank(h, 1, 2), nearest_rank(h, 9, 10))
            for sid, h in histograms.items()}


def series(session: Session, scope: str, scope_id: int, kind: str, first: date, last: date
           ) -> dict[date, Totals]:
    """A scope's totals per stored period (``week`` or ``month``) labelled in [first, last]."""
    query = (select(Indicator.period_start,
                    *(cast(func.sum(getattr(Indicator, name)), BigInteger).label(name)
                      for name in METRICS))
             .where(Indicator.scope == scope, Indicator.scope_id == scope_id,
                    Indicator.period_kind == kind, Indicator.period_start >= first,
                    Indicator.period_start <= last)
             .group_by(Indicator.period_start))
    return {_day(row.period_start): _totals(row._mapping) for row in session.execute(query)}


def _day(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


# Comparing two periods -------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """An index's change between two periods on the IKM scale, with its 95 % interval
    (Welch). ``word`` is "up" or "down" only when the interval excludes no change, else
    "stable"; None when either period has fewer than 2 responses."""

    difference: Decimal
    low: Decimal
    high: Decimal
    word: str = field(default="stable")


def index_change(before: Totals, after: Totals) -> Change | None:
    """The IKM's change from ``before`` to ``after`` (their response totals)."""
    return _change(welch_interval(before.group, after.group), IKM_PER_TOTAL)


def element_change(before: Totals, after: Totals, index: int) -> Change | None:
    """Element ``index``'s NRR change (1-4 scale), from the answer counts."""
    return _change(welch_interval(before.element_group(index), after.element_group(index)), 1)


def _change(found: MeanDifference | None, factor: float) -> Change | None:
    if found is None or not all(math.isfinite(v) for v in (found.low, found.high)):
        return None
    scaled = found.scaled(factor)
    word = "stable"
    if found.significant:
        word = "up" if scaled.low > 0 else "down"
    return Change(_decimal(scaled.difference), _decimal(scaled.low), _decimal(scaled.high), word)


def _decimal(value: float) -> Decimal:
    return Decimal(str(round(value, 2)))


ELEMENT_INDEXES = dict(zip(ELEMENT_CODES, range(len(ELEMENT_CODES)), strict=True))
