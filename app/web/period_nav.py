"""The period a staff summary page shows, read from its query, and the ways to another one:
the previous and next period, the same days as another kind, a custom range."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.summary import format_month, format_span, format_week
from app.summary_period import (
    FIRST_YEAR,
    SUMMARY_KINDS,
    PeriodError,
    SummaryPeriod,
    period_from_args,
)

KIND_LABELS = {"week": _l("Week"), "month": _l("Month"), "quarter": _l("Quarter"),
               "semester": _l("Semester"), "year": _l("Year")}
ROMAN = ("I", "II", "III", "IV")  # quarters and semesters, as the SKM report names them


class BadPeriod(Exception):
    """The query names no period the page can show (the reason in the reader's language)."""


class FuturePeriod(Exception):
    """The query names a period that has not begun: ``query`` shows the one in progress."""

    def __init__(self, message: str, query: dict[str, str]) -> None:
        super().__init__(message)
        self.query = query


def period_title(period: SummaryPeriod) -> str:
    """The period in words with its exact days: "16–22 November 2026", "November 2026
    (2–29 November 2026)", "Quarter IV 2026 (28 September 2026 – 3 January 2027)"."""
    if period.label is None or period.kind == "week":
        return format_span(period.first, period.last)
    if period.kind == "month":
        return format_month(period.label)
    year = period.label.year
    if period.kind == "quarter":
        name = _("Quarter %(number)s %(year)d", number=ROMAN[(period.label.month - 1) // 3],
                 year=year)
    elif period.kind == "semester":
        name = _("Semester %(number)s %(year)d", number=ROMAN[(period.label.month - 1) // 6],
                 year=year)
    else:
        name = _("Year %(year)d", year=year)
    return f"{name} ({format_span(period.first, period.last)})"


def requested_period(args: Mapping[str, str], *, today: date, default: SummaryPeriod,
                     allow_range: bool) -> SummaryPeriod:
    """The period a page's query asks for (see ``summary_period.period_from_args``).

    BadPeriod for one that cannot be read or a range that begins after ``today``;
    FuturePeriod for a week, month, … that has not begun, with the query of the one in
    progress (the older ``week=`` links keep their form)."""
    try:
        period = period_from_args(dict(args), default=default, allow_range=allow_range)
    except PeriodError as error:
        raise BadPeriod(str(error)) from None
    if period.first <= today:
        return period
    if period.is_range:
        raise BadPeriod(_("The range begins after today; choose days that have begun."))
    current = SummaryPeriod.of(period.kind, today)
    if period.kind == "week":
        message = _("The week of %(week)s has not come yet; this is the week in progress "
                    "instead.", week=format_week(period.first))
    else:
        message = _("%(period)s has not come yet; this is the one in progress instead.",
                    period=period_title(period))
    legacy = "week" in args and not any(args.get(k) for k in ("period", "from", "to"))
    raise FuturePeriod(message, {"week": current.first.isoformat()} if legacy
                       else current.query_args())


@dataclass(frozen=True)
class KindLink:
    """A link to the period of another kind around the same days."""

    kind: str
    label: str
    period: SummaryPeriod
    current: bool


@dataclass(frozen=True)
class PeriodNav:
    """What a page (``endpoint`` with ``params``) offers around ``period``: its title, the
    period before and after (None where it would leave the calendar or has not begun), the
    same days as another kind, and whether the period is still running."""

    endpoint: str
    params: Mapping[str, str]
    period: SummaryPeriod
    title: str
    previous: SummaryPeriod | None
    next: SummaryPeriod | None
    kinds: tuple[KindLink, ...]
    in_progress: bool

    def href(self, period: SummaryPeriod | None = None) -> str:
        """The page's address for ``period`` (without one: the page itself, for a form)."""
        args: dict[str, Any] = {**self.params, **(period.query_args() if period else {})}
        return url_for(self.endpoint, **args)


def period_nav(endpoint: str, period: SummaryPeriod, today: date, **params: str
               ) -> PeriodNav:
    """The navigation of the page ``endpoint`` (with ``params``) around ``period``, as seen
    on ``today`` (local day)."""
    before, after = period.previous(), period.next()
    # Another kind shows the period holding the last day shown so far.
    anchor = min(period.last, today)
    kinds = tuple(KindLink(kind, str(KIND_LABELS[kind]), SummaryPeriod.of(kind, anchor),
                           kind == period.kind) for kind in SUMMARY_KINDS)
    return PeriodNav(endpoint, params, period, period_title(period),
                     before if before.first.year >= FIRST_YEAR else None,
                     after if after.first <= today else None,
                     kinds, period.last >= today)
