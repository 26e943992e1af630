"""Units side by side over a summary period: each unit's IKM with its 95 % interval and n,
ordered by name, and the regency's (all units together) for administrators.

The change from the period before is left to each unit's summary, where it is named up or
down only beyond its Welch interval; this page compares units, not periods."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Unit
from app.period_totals import Totals, period_totals
from app.refs import UnitRef
from app.scoring import Category, category
from app.summary_period import SummaryPeriod
from app.suppression import viewer_periods


@dataclass(frozen=True)
class IndexInterval:
    """An IKM over the period with its 95 % interval (IKM scale) and n. ``ikm`` is None
    without responses or when the reader may not see so few; ``low`` and ``high`` are None
    then and below 2 responses."""

    n: int
    ikm: Decimal | None = None
    low: Decimal | None = None
    high: Decimal | None = None

    @property
    def category(self) -> Category | None:
        return category(self.ikm) if self.ikm is not None else None

    def wholly_below(self, other: IndexInterval) -> bool:
        """Whether this interval lies wholly below ``other``'s: its upper bound is lower
        than the other's lower bound (overlapping intervals may differ by chance)."""
        return (self.high is not None and other.low is not None
                and self.high < other.low)


@dataclass(frozen=True)
class UnitLine:
    """One unit's line: its index, whether its score is withheld (responses, but fewer than
    the reader may see), and whether its interval lies wholly below the regency's."""

    unit: UnitRef
    index: IndexInterval
    withheld: bool
    below_regency: bool


@dataclass(frozen=True)
class UnitComparison:
    """The units a reader may see over ``period``, ordered by name (not ranked), with the
    regency's index when asked for. ``min_n``: the fewest responses a unit needs to be
    scored for this reader."""

    period: SummaryPeriod
    lines: tuple[UnitLine, ...]
    regency: IndexInterval | None
    min_n: int


def _index(totals: Totals | None, min_n: int) -> IndexInterval:
    if totals is None or totals.n == 0:
        return IndexInterval(0)
    if totals.n < min_n:
        return IndexInterval(totals.n)
    bounds = totals.interval()
    return IndexInterval(totals.n, totals.ikm, *(bounds or (None, None)))


def _regency(found: dict[int, Totals]) -> IndexInterval:
    summed = Totals()
    for totals in found.values():
        summed = summed.plus(totals)
    return _index(summed, 0)


def compare_units(session: Session, unit_ids: Collection[int] | None, period: SummaryPeriod,
                  *, min_n: int = 0, with_regency: bool = False,
                  no_subtraction: bool = False) -> UnitComparison:
    """Each unit of ``unit_ids`` (None: every unit) over ``period``: its IKM, 95 % interval
    and n; units with fewer than ``min_n`` responses are not scored (for readers who may not
    see one officer's figures, see ``auth.unit_scores_from``).

    ``with_regency`` (administrators, who see every unit) adds the regency's index, from
    every unit's totals summed, and marks each unit whose interval lies wholly below it.
    ``no_subtraction`` (readers without officer detail) also withholds a period that the
    rule of ``app.suppression`` withholds, so that no difference of figures they see
    describes fewer than ``min_n`` responses.
    """
    query = select(Unit.id, Unit.code, Unit.name)
    if unit_ids is not None:
        query = query.where(Unit.id.in_(sorted(unit_ids)))
    units = sorted((UnitRef(int(i), code, name) for i, code, name in session.execute(query)),
                   key=lambda u: (u.name.casefold(), u.code))
    if not units:
        return UnitComparison(period, (), None, min_n)
    # The regency is every unit's responses, seen or not by this reader.
    scope = None if with_regency else [u.id for u in units]
    found = period_totals(session, period, "unit", unit_ids=scope)
    regency = _regency(found) if with_regency else None
    visible = (viewer_periods(session, [u.id for u in units], period.first, period.last,
                              min_n=min_n)
               if no_subtraction and period.label is not None else None)
    lines = []
    for unit in units:
        index = _index(found.get(unit.id), min_n)
        if visible is not None and period.label is not None and index.ikm is not None \
                and not visible.shown(unit.id, period.kind, period.label):
            index = IndexInterval(index.n)
        lines.append(UnitLine(
            unit, index, withheld=index.n > 0 and index.ikm is None,
            below_regency=regency is not None and index.wholly_below(regency)))
    return UnitComparison(period, tuple(lines), regency, min_n)
