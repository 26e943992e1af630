"""One calendar of local periods, cut in the configured zone.

The ISO week (Monday to Sunday) is the atom. A month, quarter, semester or year is the
weeks whose Thursday falls in it, as ISO 8601 assigns a week to its year: no period cuts a
week in two, so a month is four or five whole weeks, and a year 52 or 53. A period is
named by its *label*, the first calendar day of the month, quarter, semester or year
(``2026-10-01`` for 2026-Q4); its *days* run from the Monday of its first week to the
Sunday of its last, which may lie in the neighbouring month (2026-Q4 is 2026-09-28 to
2027-01-03). Days are themselves; weeks are labelled by their Monday.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

PERIOD_KINDS = ("day", "week", "month", "quarter", "semester", "year")
# Kinds stored as indicator rows; longer ones are summed from the stored months on read.
STORED_KINDS = ("day", "week", "month")
# Kinds made of whole months (so of whole weeks).
MONTH_MULTIPLES = {"month": 1, "quarter": 3, "semester": 6, "year": 12}


@dataclass(frozen=True)
class LocalPeriods:
    """The local day, week start (Monday), month label and hour of one instant."""

    day: date
    week: date
    month: date
    hour: int


def local_periods(instant: datetime, tz: ZoneInfo) -> LocalPeriods:
    """Cut an aware instant into local periods: 23:30 WIB on a Sunday is still that week,
    and a Monday 29 December is in January's month when its week's Thursday is."""
    if instant.tzinfo is None:
        raise ValueError("local_periods needs a timezone-aware instant")
    local = instant.astimezone(tz)
    day = local.date()
    return LocalPeriods(day, week_start(day), period_start("month", day), local.hour)


def week_start(day: date) -> date:
    """The Monday of the ISO week containing ``day``."""
    return day - timedelta(days=day.weekday())


def week_thursday(day: date) -> date:
    """The Thursday of the ISO week containing ``day``: the day that places the week."""
    return week_start(day) + timedelta(days=3)


def _label_of(kind: str, placed: date) -> date:
    months = MONTH_MULTIPLES[kind]
    return date(placed.year, (placed.month - 1) // months * months + 1, 1)


def period_start(kind: str, day: date) -> date:
    """The label of the period of ``kind`` that contains ``day``: the day itself, the
    Monday of its week, or the first calendar day of the month, quarter, semester or year
    in which its week's Thursday falls."""
    if kind == "day":
        return day
    if kind == "week":
        return week_start(day)
    if kind in MONTH_MULTIPLES:
        return _label_of(kind, week_thursday(day))
    raise ValueError(f"unknown period kind {kind!r}")


def _check_label(kind: str, label: date) -> None:
    if kind == "week" and label.weekday() != 0:
        raise ValueError(f"a week is labelled by its Monday, not {label}")
    if kind in MONTH_MULTIPLES and label != _label_of(kind, label):
        raise ValueError(f"{label} is not the label of a {kind}")


def first_day(kind: str, label: date) -> date:
    """The first day of the period labelled ``label``."""
    _check_label(kind, label)
    if kind in ("day", "week"):
        return label
    if kind in MONTH_MULTIPLES:
        # The Monday of the week holding the label's first Thursday.
        first_thursday = label + timedelta(days=(3 - label.weekday()) % 7)
        return first_thursday - timedelta(days=3)
    raise ValueError(f"unknown period kind {kind!r}")


def next_period(kind: str, label: date) -> date:
    """The label of the period after the one labelled ``label``."""
    _check_label(kind, label)
    if kind == "day":
        return label + timedelta(days=1)
    if kind == "week":
        return label + timedelta(days=7)
    if kind in MONTH_MULTIPLES:
        index = label.year * 12 + label.month - 1 + MONTH_MULTIPLES[kind]
        return date(index // 12, index % 12 + 1, 1)
    raise ValueError(f"unknown period kind {kind!r}")


def previous_period(kind: str, label: date) -> date:
    """The label of the period before the one labelled ``label``."""
    _check_label(kind, label)
    if kind == "day":
        return label - timedelta(days=1)
    if kind == "week":
        return label - timedelta(days=7)
    if kind in MONTH_MULTIPLES:
        index = label.year * 12 + label.month - 1 - MONTH_MULTIPLES[kind]
        return date(index // 12, index % 12 + 1, 1)
    raise ValueError(f"unknown period kind {kind!r}")


def period_end(kind: str, label: date) -> date:
    """The first day after the period labelled ``label`` (exclusive end of its days)."""
    return first_day(kind, next_period(kind, label))


def last_day(kind: str, label: date) -> date:
    """The last day (a Sunday, for anything longer than a day) of the period."""
    return period_end(kind, label) - timedelta(days=1)


def months_of(kind: str, label: date) -> list[date]:
    """The month labels a month, quarter, semester or year is made of."""
    _check_label(kind, label)
    months, current = [], label
    for _ in range(MONTH_MULTIPLES[kind]):
        months.append(current)
        current = next_period("month", current)
    return months


def weeks_of(kind: str, label: date) -> list[date]:
    """The Mondays of the whole weeks of the period (one for a week, none for a day)."""
    if kind == "day":
        return []
    start, end = first_day(kind, label), period_end(kind, label)
    return [start + timedelta(days=7 * i) for i in range((end - start).days // 7)]


_NAME = re.compile(r"^([0-9]{4})(?:-(?:([0-9]{2})|Q([1-4])|S([12])|W([0-9]{2})))?$")


def parse_period(text: str) -> tuple[str, date]:
    """``2026`` (year), ``2026-S2``, ``2026-Q4``, ``2026-11`` (month) or ``2026-W48``
    (ISO week) to (kind, label). Raises ValueError with a plain reason."""
    found = _NAME.match(text.strip()) if isinstance(text, str) else None
    if not found:
        raise ValueError("expected a year (2026), semester (2026-S2), quarter (2026-Q4), "
                         "month (2026-11) or ISO week (2026-W48)")
    year = int(found.group(1))
    if not 2000 <= year <= 2100:
        raise ValueError("the year must be between 2000 and 2100")
    month, quarter, semester, week = found.group(2, 3, 4, 5)
    if month is not None:
        if not 1 <= int(month) <= 12:
            raise ValueError("the month must be between 01 and 12")
        return "month", date(year, int(month), 1)
    if quarter is not None:
        return "quarter", date(year, (int(quarter) - 1) * 3 + 1, 1)
    if semester is not None:
        return "semester", date(year, (int(semester) - 1) * 6 + 1, 1)
    if week is not None:
        try:
            return "week", date.fromisocalendar(year, int(week), 1)
        except ValueError:
            raise ValueError(f"{year} has no ISO week {week}") from None
    return "year", date(year, 1, 1)


def period_name(kind: str, label: date) -> str:
    """The inverse of ``parse_period`` (days are ISO dates)."""
    _check_label(kind, label)
    if kind == "day":
        return label.isoformat()
    if kind == "week":
        year, week, _ = label.isocalendar()
        return f"{year}-W{week:02d}"
    if kind == "month":
        return f"{label.year}-{label.month:02d}"
    if kind == "quarter":
        return f"{label.year}-Q{(label.month - 1) // 3 + 1}"
    if kind == "semester":
        return f"{label.year}-S{(label.month - 1) // 6 + 1}"
    return str(label.year)
