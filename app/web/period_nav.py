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

from app.summary import format_span, format_week
from app.summary_period import (
    FIRST_YEAR,
    RANGE,
    SUMMARY_KINDS,
    PeriodError,
    SummaryPeriod,
    period_from_args,
)

# The same labels and titles as the unit's summary (``web.unit_summary`` on main): one
# wording for a period on every staff page.
KIND_LABELS = {"week": _l("Week"), "month": _l("Month"), "quarter": _l("Quarter"),
               "semester": _l("Semester"), "year": _l("Year"), RANGE: _l("Custom range")}


class BadPeriod(Exception):
    """The query names no period the page can show (the reason in the reader's language)."""


class FuturePeriod(Exception):
    """The query names a period that has not begun: ``query`` shows the one in progress."""

    def __init__(self, message: str, query: dict[str, str]) -> None:
        super().__init__(message)
        self.query = query


def period_title(period: SummaryPeriod) -> str:
    """"Minggu 2026-W48 (23–29 November 2026)", "Rentang 3 Agustus – 1 November 2026", in
    the page's language."""
    days = format_span(period.first, period.last)
    if period.kind == RANGE:
        return str(_("Custom range %(days)s", days=days))
    return str(_("%(kind)s %(name)s (%(days)s)", kind=KIND_LABELS[period.kind],
                 name=period.name, days=days))


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
