"""The period a staff summary shows: a week, month, quarter, semester or year of whole ISO
weeks (``app.periods``), or a custom range of days for unit heads and administrators."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _

from app.periods import (
    first_day,
    last_day,
    next_period,
    parse_period,
    period_name,
    period_start,
    previous_period,
)

# The kinds a summary can show, shortest first; "range" is a custom span of days.
SUMMARY_KINDS = ("week", "month", "quarter", "semester", "year")
RANGE = "range"
# A custom range is at most about two years: longer spans are read as years.
MAX_RANGE_DAYS = 800
DAY_PATTERN = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
FIRST_YEAR, LAST_YEAR = 2000, 2100


class PeriodError(ValueError):
    """A period the summary cannot show, with the reason in the reader's language."""


@dataclass(frozen=True)
class SummaryPeriod:
    """``kind`` is one of SUMMARY_KINDS or RANGE; ``label`` the period's label (None for a
    range); ``first`` and ``last`` its first and last local day (inclusive)."""

    kind: str
    label: date | None
    first: date
    last: date

    @classmethod
    def of(cls, kind: str, day: date) -> SummaryPeriod:
        """The period of ``kind`` holding ``day``."""
        label = period_start(kind, day)
        return cls(kind, label, first_day(kind, label), last_day(kind, label))

    @classmethod
    def span(cls, first: date, last: date) -> SummaryPeriod:
        """A custom range of days (checked: ordered, at most MAX_RANGE_DAYS days)."""
        if last < first:
            raise PeriodError(_("The range ends before it begins."))
        if (last - first).days + 1 > MAX_RANGE_DAYS:
            raise PeriodError(_("A range is at most %(days)d days; choose a year instead.",
                                days=MAX_RANGE_DAYS))
        return cls(RANGE, None, first, last)

    @property
    def is_range(self) -> bool:
        return self.kind == RANGE

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def name(self) -> str:
        """``2026-W48``, ``2026-11``, ``2026-Q4``, ``2026-S2``, ``2026`` or
        ``2026-11-03..2026-11-20`` for a range."""
        if self.label is None:
            return f"{self.first.isoformat()}..{self.last.isoformat()}"
        return period_name(self.kind, self.label)

    def previous(self) -> SummaryPeriod:
        """The period before, of the same kind; for a range, as many days just before it."""
        if self.label is None:
            return SummaryPeriod(RANGE, None, self.first - timedelta(days=self.days),
                                 self.first - timedelta(days=1))
        label = previous_period(self.kind, self.label)
        return SummaryPeriod(self.kind, label, first_day(self.kind, label),
                             last_day(self.kind, label))

    def next(self) -> SummaryPeriod:
        """The period after, of the same kind; for a range, as many days just after it."""
        if self.label is None:
            return SummaryPeriod(RANGE, None, self.last + timedelta(days=1),
                                 self.last + timedelta(days=self.days))
        label = next_period(self.kind, self.label)
        return SummaryPeriod(self.kind, label, first_day(self.kind, label),
                             last_day(self.kind, label))

    def weeks(self) -> list[date]:
        """The Mondays of the ISO weeks the period touches."""
        monday = self.first - timedelta(days=self.first.weekday())
        weeks = []
        while monday <= self.last:
            weeks.append(monday)
            monday += timedelta(weeks=1)
        return weeks

    def query_args(self) -> dict[str, str]:
        """The query string that shows this period again."""
        if self.label is None:
            return {"from": self.first.isoformat(), "to": self.last.isoformat()}
        return {"period": self.name}


def parse_day(text: str, what: str) -> date:
    """A ``YYYY-MM-DD`` day; PeriodError in the reader's language. ``what`` names the
    field in the message."""
    text = text.strip()
    if not DAY_PATTERN.fullmatch(text):
        raise PeriodError(_("Write %(what)s as a date YYYY-MM-DD, for example 2026-11-16.",
                            what=what))
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise PeriodError(_("The date %(day)s is not in the calendar.", day=text)) from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise PeriodError(_("The year must be between %(first)d and %(last)d.",
                            first=FIRST_YEAR, last=LAST_YEAR))
    return day


def parse_week(text: str) -> date:
    """The Monday of the week containing a ``YYYY-MM-DD`` day; ValueError (PeriodError) in
    the page's language."""
    if not DAY_PATTERN.fullmatch(text.strip()):
        raise PeriodError(_("Write the week as a date YYYY-MM-DD, for example 2026-11-16."))
    day = parse_day(text, _("the week"))
    return day - timedelta(days=day.weekday())


def parse_summary_period(text: str) -> SummaryPeriod:
    """``2026-W48``, ``2026-11``, ``2026-Q4``, ``2026-S2`` or ``2026``; PeriodError in the
    reader's language."""
    if len(text) > 16:
        raise PeriodError(_("A period has at most %(max)d characters.", max=16))
    try:
        kind, label = parse_period(text)
    except ValueError:
        raise PeriodError(_("Write the period as a week (2026-W48), month (2026-11), quarter "
                            "(2026-Q4), semester (2026-S2) or year (2026).")) from None
    return SummaryPeriod(kind, label, first_day(kind, label), last_day(kind, label))


def period_from_args(args: dict[str, str], *, default: SummaryPeriod, allow_range: bool
                     ) -> SummaryPeriod:
    """The period asked for by a page's query: ``period=2026-W48`` (any name), ``from=`` and
    ``to=`` days (a custom range, only with ``allow_range``), or ``week=`` (any day of a
    week: the older links of the digest); ``default`` without any of them."""
    if args.get("from") or args.get("to"):
        if not allow_range:
            raise PeriodError(_("Custom date ranges are for unit heads and administrators; "
                                "choose a week, month, quarter, semester or year."))
        first = parse_day(args.get("from") or "", _("the first day"))
        last = parse_day(args.get("to") or "", _("the last day"))
        return SummaryPeriod.span(first, last)
    if args.get("period"):
        return parse_summary_period(args["period"])
    if args.get("week"):
        return SummaryPeriod.of("week", parse_week(args["week"]))
    return default
