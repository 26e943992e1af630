"""Which of a unit's period figures a viewer may see, so that no difference of them describes
fewer than OFFICER_MIN_N responses (docs/suppression.md)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth import shown_rows
from app.models import Indicator, Unit
from app.periods import (
    MONTH_MULTIPLES,
    first_day,
    months_of,
    next_period,
    period_end,
    period_start,
    weeks_of,
)

# A period's responses per survey version: the API gives one row per version, so each
# version's figures must be safe on their own (their sum, the summary's, then is too).
Parts = Mapping[int, int]
Key = tuple[str, date]  # (kind, label)
# Each kind and the kind it is made of, longest last; a week is the atom.
CHILD_KIND = {"month": "week", "quarter": "month", "semester": "quarter", "year": "semester"}
LONGER_KINDS = ("quarter", "semester", "year")
VIEWER_KINDS = ("week", "month", *LONGER_KINDS)


def children(kind: str, label: date) -> list[Key]:
    """The periods one level down that make up a month or longer period, in order."""
    child = CHILD_KIND[kind]
    if child == "week":
        return [("week", week) for week in weeks_of("month", label)]
    labels = [label]
    while len(labels) < MONTH_MULTIPLES[kind] // MONTH_MULTIPLES[child]:
        labels.append(next_period(child, labels[-1]))
    return [(child, found) for found in labels]


def _total(parts: Iterable[Parts]) -> dict[int, int]:
    summed: dict[int, int] = {}
    for part in parts:
        for version, n in part.items():
            summed[version] = summed.get(version, 0) + n
    return summed


def _publishable(parts: Parts, min_n: int) -> bool:
    """Some responses, and every version's part none or at least the minimum."""
    return sum(parts.values()) > 0 and all(n == 0 or n >= min_n for n in parts.values())


def _leaks(remainder: Parts, min_n: int) -> bool:
    """A difference that singles out fewer than ``min_n`` responses (negative: stale rows)."""
    return any(n != 0 and n < min_n for n in remainder.values())


class _UnitRule:
    """The rule applied to one unit's weeks and months over whole years."""

    def __init__(self, weeks: Mapping[date, Parts], months: Mapping[date, Parts],
                 min_n: int) -> None:
        self.weeks, self.months, self.min_n = weeks, months, min_n
        self.visible: set[Key] = set()
        self._parts: dict[Key, Parts] = {}

    def parts(self, key: Key) -> Parts:
        kind, label = key
        if kind == "week":
            return self.weeks.get(label, {})
        if kind == "month":
            return self.months.get(label, {})
        if key not in self._parts:  # longer periods are the sum of their months
            self._parts[key] = _total(self.months.get(m, {}) for m in months_of(kind, label))
        return self._parts[key]

    def maximal(self, key: Key) -> list[Key]:
        """The visible periods inside ``key`` that lie inside no other visible one."""
        found: list[Key] = []
        for child in children(*key):
            if child in self.visible:
                found.append(child)
            elif child[0] != "week":
                found.extend(self.maximal(child))
        return found

    def remainder(self, key: Key) -> dict[int, int]:
        """What ``key`` minus its maximal visible sub-periods leaves, per version."""
        covered = _total(self.parts(sub) for sub in self.maximal(key))
        own = self.parts(key)
        return {v: own.get(v, 0) - covered.get(v, 0) for v in set(own) | set(covered)}

    def decide(self, years: Iterable[date]) -> set[Key]:
        years = sorted(years)
        months = [m for year in years for m in months_of("year", year)]
        for month in months:
            self.visible.update(("week", w) for w in weeks_of("month", month)
                                if _publishable(self.weeks.get(w, {}), self.min_n))
        for month in months:
            self._month(("month", month))
        for kind in LONGER_KINDS:
            for year in years:
                for key in [("year", year)] if kind == "year" else _labels(kind, year):
                    if (_publishable(self.parts(key), self.min_n)
                            and not _leaks(self.remainder(key), self.min_n)):
                        self.visible.add(key)
        return self.visible

    def _month(self, key: Key) -> None:
        """Show a publishable month, withholding its smallest visible weeks (secondary
        suppression) until the month minus its visible weeks is safe. A week lies in one
        month only, so this opens no hole elsewhere; longer periods are decided after."""
        if not _publishable(self.parts(key), self.min_n):
            return
        self.visible.add(key)
        while _leaks(self.remainder(key), self.min_n):
            shown = [w for w in children(*key) if w in self.visible]
            smallest = min(shown, key=lambda w: (sum(self.parts(w).values()), w[1]))
            self.visible.discard(smallest)


def _labels(kind: str, year: date) -> list[Key]:
    return [(kind, label) for label in dict.fromkeys(
        period_start(kind, first_day("month", month)) for month in months_of("year", year))]


def visible_of_unit(weeks: Mapping[date, Parts], months: Mapping[date, Parts],
                    years: Iterable[date], *, min_n: int) -> set[Key]:
    """The (kind, label) periods of the ``years`` (year labels) whose unit figures a viewer
    may see, given the unit's responses per version in each week and month (periods with
    none are absent). Pure: no database."""
    return _UnitRule(weeks, months, min_n).decide(years)


@dataclass(frozen=True)
class VisiblePeriods:
    """The decision for some units over whole years (see ``viewer_periods``)."""

    unit_ids: frozenset[int]
    first_year: date
    last_year: date
    visible: frozenset[tuple[int, str, date]]

    def shown(self, unit_id: int, kind: str, label: date) -> bool:
        """Whether a viewer may see ``unit_id``'s figures of the period: False for a period
        with no responses, and for one the rule withholds."""
        if kind not in VIEWER_KINDS:
            raise ValueError(f"viewers see no {kind} figures")
        if unit_id not in self.unit_ids or not (
                self.first_year <= period_start("year", first_day(kind, label))
                <= self.last_year):
            raise ValueError(f"{kind} {label} of unit {unit_id} was not decided")
        return (unit_id, kind, label) in self.visible


def viewer_periods(session: Session, unit_ids: Collection[int], first: date, last: date, *,
                   min_n: int) -> VisiblePeriods:
    """Decide which week, month, quarter, semester and year figures of ``unit_ids`` a
    viewer may see, for the whole years around the days ``first`` to ``last``: every period
    enclosing one of them is decided with it. One query of the stored week and month rows."""
    first_year = period_start("year", min(first, last))
    last_year = period_start("year", max(first, last))
    years = [first_year]
    while years[-1] < last_year:
        years.append(next_period("year", years[-1]))
    weeks: dict[int, dict[date, dict[int, int]]] = {unit: {} for unit in unit_ids}
    months: dict[int, dict[date, dict[int, int]]] = {unit: {} for unit in unit_ids}
    if unit_ids:
        query = (select(Indicator.scope_id, Indicator.period_kind, Indicator.period_start,
                        Indicator.survey_version_id, Indicator.n)
                 .where(Indicator.scope == "unit", Indicator.scope_id.in_(sorted(unit_ids)),
                        Indicator.period_kind.in_(("week", "month")),
                        Indicator.period_start >= first_day("year", first_year),
                        Indicator.period_start < period_end("year", last_year)))
        for unit_id, kind, start, version, n in session.execute(query):
            label = start if isinstance(start, date) else date.fromisoformat(start)
            found = (weeks if kind == "week" else months)[int(unit_id)]
            found.setdefault(label, {})[int(version)] = int(n)
    visible = frozenset(
        (unit_id, kind, label) for unit_id in unit_ids
        for kind, label in visible_of_unit(weeks[unit_id], months[unit_id], years,
                                           min_n=min_n))
    return VisiblePeriods(frozenset(unit_ids), first_year, last_year, visible)


def readable_rows(session: Session, rows: list[dict[str, Any]], scope: str,
                  officer_min_n: int, *, officer_detail: bool
                  ) -> tuple[list[dict[str, Any]], int]:
    """Indicator rows (``indicators.indicator_rows``) a reader may see, and how many were
    withheld: ``auth.shown_rows``, then, for unit rows and readers without officer detail,
    the rows of the periods ``viewer_periods`` withholds."""
    shown, withheld = shown_rows(rows, scope, officer_min_n, officer_detail=officer_detail)
    if officer_detail or scope != "unit" or not shown:
        return shown, withheld
    codes = {row["unit"] for row in shown}
    ids = dict(session.execute(select(Unit.code, Unit.id).where(Unit.code.in_(sorted(codes))))
               .all())
    visible = viewer_periods(session, set(ids.values()),
                             min(date.fromisoformat(row["first_day"]) for row in shown),
                             max(date.fromisoformat(row["last_day"]) for row in shown),
                             min_n=officer_min_n)
    kept = [row for row in shown if visible.shown(
        ids[row["unit"]], row["period"], date.fromisoformat(row["period_start"]))]
    return kept, withheld + len(shown) - len(kept)
