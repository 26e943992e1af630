"""A unit's citizens' comments over any summary period: filtered, paged, and as CSV.

Readers who may not see officer detail (``auth.sees_officer_detail``) get the comments'
words and weeks only: no score, counter, service or time, which tell who was on duty, and
no filter or order by them (the filter itself would tell the same).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from itertools import chain
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.export import csv_text
from app.models import Counter, Response, Service
from app.scoring import ELEMENT_CODES, round_half_up
from app.summary_period import SummaryPeriod

PAGE_SIZE = 50
WORDS_MAX_LENGTH = 100
WORDS_MAX = 8
# The highest score a score filter may ask for: "at most 4" would filter nothing.
AT_MOST_CHOICES = (1, 2, 3)
ORDERS = ("newest", "lowest")
SCORES: tuple[InstrumentedAttribute[int], ...] = (
    Response.u1, Response.u2, Response.u3, Response.u4, Response.u5, Response.u6, Response.u7,
    Response.u8, Response.u9)
COLUMNS_ALL = ("week", "local_time", "counter", "service", "mean_score", *ELEMENT_CODES,
               "comment")
COLUMNS_UNIT = ("week", "comment")


class NeedsOfficerDetail(ValueError):
    """A filter or order by counter, service or score, asked by a reader who may not see
    them (the views refuse it first, with a message in the reader's language)."""


@dataclass(frozen=True)
class CommentFilters:
    """What the reader asks for. ``element`` is a code (U1-U9) or None for the response's
    mean of the nine scores; with ``at_most`` (1-3) only responses where it is at most that
    remain. ``words`` must all appear in the comment (case-insensitive, taken literally).
    ``order`` is ``newest`` first or ``lowest`` mean score first (for readers without
    officer detail, the newest week first and the comments of a week by their words)."""

    period: SummaryPeriod
    counter_id: int | None = None
    service_id: int | None = None
    element: str | None = None
    at_most: int | None = None
    words: tuple[str, ...] = ()
    order: str = "newest"

    @property
    def needs_officer_detail(self) -> bool:
        """Whether a filter or the order reads counters, services or scores."""
        return (self.counter_id is not None or self.service_id is not None
                or self.at_most is not None or self.order != "newest")

    def described(self) -> dict[str, str]:
        """The criteria given, as JSON-ready text (what an export records)."""
        values = {"period": self.period.name,
                  "counter_id": None if self.counter_id is None else str(self.counter_id),
                  "service_id": None if self.service_id is None else str(self.service_id),
                  "score": None if self.at_most is None
                  else f"{self.element or 'mean'}<={self.at_most}",
                  "words": " ".join(self.words) or None,
                  "order": self.order if self.order != "newest" else None}
        return {key: value for key, value in values.items() if value}


def split_words(text: str) -> tuple[str, ...]:
    """The distinct words of a search, in the order given (whitespace separates them)."""
    return tuple(dict.fromkeys(text.split()))


@dataclass(frozen=True)
class Choice:
    """A counter or service of the unit a filter may choose (inactive ones too: their
    comments stay)."""

    id: int
    code: str
    name: str
    active: bool


def filter_choices(session: Session, unit_id: int) -> tuple[list[Choice], list[Choice]]:
    """The unit's counters and services, active ones first, then by code."""
    counters = [Choice(*row) for row in session.execute(
        select(Counter.id, Counter.code, Counter.name, Counter.active)
        .where(Counter.unit_id == unit_id)
        .order_by(Counter.active.desc(), Counter.code))]
    services = [Choice(*row) for row in session.execute(
        select(Service.id, Service.code, Service.name, Service.active)
        .where(Service.unit_id == unit_id)
        .order_by(Service.active.desc(), Service.code))]
    return counters, services


@dataclass(frozen=True)
class CommentRow:
    """One comment. ``week`` is its local week's Monday; the rest is None for readers who
    may not see officer detail."""

    text: str
    week: date
    mean_score: Decimal | None = None
    scores: tuple[int, ...] | None = None
    counter: str | None = None
    service: str | None = None
    local_time: datetime | None = None


@dataclass(frozen=True)
class CommentPage:
    """One page of comments and how many match in all."""

    rows: list[CommentRow]
    page: int
    total: int
    page_size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _total() -> ColumnElement[int]:
    """A response's nine scores summed."""
    total: ColumnElement[int] = SCORES[0] + SCORES[1]
    for score in SCORES[2:]:
        total = total + score
    return total


def _score_condition(filters: CommentFilters) -> ColumnElement[bool] | None:
    if filters.at_most is None:
        return None
    if filters.element is None:  # the mean of the nine scores, without division
        return _total() <= filters.at_most * len(SCORES)
    return SCORES[ELEMENT_CODES.index(filters.element)] <= filters.at_most


def _filtered(unit_id: int, filters: CommentFilters, *, officer_detail: bool
              ) -> Select[*tuple[Any, ...]]:
    """The matching comments' columns, ordered. Narrowed first by the unit and its local
    weeks (ix_responses_unit_week), then by local days when the period is not whole weeks."""
    if filters.needs_officer_detail and not officer_detail:
        raise NeedsOfficerDetail("filters by counter, service or score need officer detail")
    period = filters.period
    weeks = period.weeks()
    query = (select(Response.comment, Response.local_week, Response.created_at,
                    Counter.name, Service.name, *SCORES)
             .join(Counter, Counter.id == Response.counter_id)
             .outerjoin(Service, Service.id == Response.service_id)
             .where(Response.unit_id == unit_id, Response.local_week >= weeks[0],
                    Response.local_week <= weeks[-1], Response.comment.is_not(None),
                    Response.unflagged()))
    if period.first != weeks[0] or period.last != weeks[-1] + timedelta(days=6):
        query = query.where(Response.local_day >= period.first,
                            Response.local_day <= period.last)
    if filters.counter_id is not None:
        query = query.where(Response.counter_id == filters.counter_id)
    if filters.service_id is not None:
        query = query.where(Response.service_id == filters.service_id)
    score = _score_condition(filters)
    if score is not None:
        query = query.where(score)
    for word in filters.words:
        query = query.where(Response.comment.icontains(word, autoescape=True))
    if not officer_detail:
        # Newest week first, then by the words: an order by time within a week would tell
        # the day, and with it who was on duty.
        return query.order_by(Response.local_week.desc(), Response.comment, Response.id)
    if filters.order == "lowest":
        return query.order_by(_total(), Response.created_at.desc(), Response.id.desc())
    return query.order_by(Response.created_at.desc(), Response.id.desc())


def _row(values: Sequence[Any], tz: ZoneInfo, officer_detail: bool) -> CommentRow:
    text, week, created_at, counter, service, *scores = values
    week = week if isinstance(week, date) else date.fromisoformat(week)
    if not officer_detail:
        return CommentRow(text or "", week)
    return CommentRow(text or "", week,
                      round_half_up(Fraction(sum(scores), len(scores)), 2), tuple(scores),
                      counter, service, created_at.astimezone(tz))


def search_comments(session: Session, unit_id: int, filters: CommentFilters, page: int, *,
                    tz: ZoneInfo, officer_detail: bool, page_size: int = PAGE_SIZE
                    ) -> CommentPage:
    """Page ``page`` (from 1) of a unit's unflagged comments matching ``filters``: with
    ``officer_detail``, their scores, counter, service and local time; else words and week
    only (NeedsOfficerDetail when a filter would tell more)."""
    query = _filtered(unit_id, filters, officer_detail=officer_detail)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = session.execute(query.offset((page - 1) * page_size).limit(page_size))
    return CommentPage([_row(tuple(r), tz, officer_detail) for r in rows], page, total or 0,
                       page_size)


def iter_comments(session: Session, unit_id: int, filters: CommentFilters, *, tz: ZoneInfo,
                  officer_detail: bool) -> Iterator[CommentRow]:
    """Every matching comment (as ``search_comments``), streamed from the database."""
    query = _filtered(unit_id, filters, officer_detail=officer_detail)
    for row in session.execute(query.execution_options(yield_per=500)):
        yield _row(tuple(row), tz, officer_detail)


def csv_lines(rows: Iterable[CommentRow], *, officer_detail: bool) -> Iterator[str]:
    """The comments as CSV text, a header then one line each (COLUMNS_ALL with officer
    detail, else COLUMNS_UNIT); cells a spreadsheet would read as a formula (= + - @) are
    prefixed with a quote."""
    yield from csv_text(chain([COLUMNS_ALL if officer_detail else COLUMNS_UNIT],
                              (_csv_cells(row, officer_detail) for row in rows)))


def _csv_cells(row: CommentRow, officer_detail: bool) -> tuple[object, ...]:
    if not officer_detail:
        return (row.week.isoformat(), row.text)
    return (row.week.isoformat(),
            row.local_time.isoformat(timespec="minutes") if row.local_time else None,
            row.counter, row.service, row.mean_score, *(row.scores or ()), row.text)
