"""Indicators per unit, counter, service and officer for every local day, ISO week and month.

Everything is computed in SQL with GROUP BY on both engines; no response is loaded into
Python. Waiting-time percentiles come from a histogram of whole minutes, cumulated with a
window function (nearest-rank: the smallest minute at which the share reaches 50 % / 90 %).

A run has two transactions. ``compute_indicators`` reads a consistent snapshot without any
write lock (so citizens keep submitting on SQLite); ``apply_indicators`` then replaces the
touched buckets and moves the watermark in one short write transaction, so a run that stops
half-way leaves the old rows, never a mix.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, delete, func, insert, or_, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.models import AggregationState, Indicator, Response
from app.scoring import category, ikm_from_totals

STATE_NAME = "indicators"
# Responses are visible to the aggregation only once no transaction that could still commit
# an earlier ``received_at`` is open; two minutes is far beyond any request's lifetime.
SETTLE = timedelta(minutes=2)

SCOPE_COLUMNS: dict[str, InstrumentedAttribute[Any]] = {
    "unit": Response.unit_id,
    "counter": Response.counter_id,
    "service": Response.service_id,
    "officer": Response.officer_id,
}
PERIOD_COLUMNS: dict[str, InstrumentedAttribute[Any]] = {
    "day": Response.local_day,
    "week": Response.local_week,
    "month": Response.local_month,
}
WAIT_COLUMNS = {"lt5": "wait_lt5", "5-15": "wait_5_15", "15-30": "wait_15_30",
                "30-60": "wait_30_60", "60-120": "wait_60_120", "gt120": "wait_gt120"}
SCORES = [getattr(Response, f"u{i}") for i in range(1, 10)]
WITHIN_MINUTES = 60

Bucket = tuple[int, date]  # (scope id, period start)


@dataclass
class Computation:
    """Indicator rows computed from one snapshot, and which buckets they replace."""

    full: bool
    since: datetime | None
    until: datetime
    rows: list[dict[str, Any]] = field(default_factory=list)
    # (scope, period kind) -> buckets recomputed; empty for a full rebuild (all replaced).
    touched: dict[tuple[str, str], set[Bucket]] = field(default_factory=dict)

    @property
    def bucket_count(self) -> int:
        """How many buckets this run recomputed."""
        if self.full:
            return len(self.rows)
        return sum(len(b) for b in self.touched.values())


class StaleWatermark(Exception):
    """Another run moved the watermark since this one read it; its result is discarded."""


def _unflagged() -> ColumnElement[bool]:
    return and_(Response.flag_repeat.is_(False), Response.flag_bot.is_(False))


def _sum_if(condition: ColumnElement[bool], value: Any = 1) -> Any:
    return func.coalesce(func.sum(case((condition, value), else_=0)), 0)


def _aggregate_query(scope: str, kind: str, buckets: set[Bucket] | None) -> Any:
    scope_col, period_col = SCOPE_COLUMNS[scope], PERIOD_COLUMNS[kind]
    ok = _unflagged()
    total = sum(SCORES[1:], SCORES[0])
    columns = [
        scope_col.label("scope_id"),
        period_col.label("period_start"),
        Response.survey_version_id.label("survey_version_id"),
        func.min(Response.unit_id).label("unit_id"),
        _sum_if(ok).label("n"),
        *(_sum_if(ok, score).label(f"sum_u{i}") for i, score in enumerate(SCORES, start=1)),
        _sum_if(ok, total * total).label("sum_total_sq"),
        *(_sum_if(and_(ok, Response.wait_band == code)).label(column)
          for code, column in WAIT_COLUMNS.items()),
        _sum_if(and_(ok, Response.measured_wait_min.is_not(None))).label("measured_n"),
        _sum_if(and_(ok, Response.measured_wait_min <= WITHIN_MINUTES)).label(
            "measured_within_60"),
        _sum_if(or_(Response.flag_repeat.is_(True), Response.flag_bot.is_(True))).label(
            "flagged"),
        _sum_if(and_(ok, Response.comment.is_not(None))).label("comments"),
    ]
    query = select(*columns).where(scope_col.is_not(None))
    if buckets is not None:
        query = query.where(tuple_(scope_col, period_col).in_(sorted(buckets)))
    return query.group_by(scope_col, period_col, Response.survey_version_id)


def _percentile_query(scope: str, kind: str, buckets: set[Bucket] | None) -> Any:
    scope_col, period_col = SCOPE_COLUMNS[scope], PERIOD_COLUMNS[kind]
    minute = Response.measured_wait_min
    histogram = select(
        scope_col.label("sid"), period_col.label("ps"),
        Response.survey_version_id.label("sv"), minute.label("m"), func.count().label("c"),
    ).where(scope_col.is_not(None), minute.is_not(None), _unflagged())
    if buckets is not None:
        histogram = histogram.where(tuple_(scope_col, period_col).in_(sorted(buckets)))
    h = histogram.group_by(scope_col, period_col, Response.survey_version_id, minute).subquery()
    partition = [h.c.sid, h.c.ps, h.c.sv]
    cumulated = select(
        h.c.sid, h.c.ps, h.c.sv, h.c.m,
        func.sum(h.c.c).over(partition_by=partition, order_by=h.c.m).label("cum"),
        func.sum(h.c.c).over(partition_by=partition).label("tot"),
    ).subquery()
    return select(
        cumulated.c.sid, cumulated.c.ps, cumulated.c.sv,
        func.min(case((cumulated.c.cum * 2 >= cumulated.c.tot, cumulated.c.m))).label("median"),
        func.min(case((cumulated.c.cum * 10 >= cumulated.c.tot * 9, cumulated.c.m))).label("p90"),
    ).group_by(cumulated.c.sid, cumulated.c.ps, cumulated.c.sv)


def _rows_for(session: Session, scope: str, kind: str, buckets: set[Bucket] | None,
              computed_at: datetime) -> list[dict[str, Any]]:
    percentiles = {
        (r.sid, _as_date(r.ps), r.sv): (r.median, r.p90)
        for r in session.execute(_percentile_query(scope, kind, buckets))
    }
    rows = []
    for r in session.execute(_aggregate_query(scope, kind, buckets)).mappings():
        row = dict(r)
        row["period_start"] = _as_date(row["period_start"])
        # PostgreSQL sums integers as numeric: back to int for exact, engine-neutral rows.
        row = {k: (v if k == "period_start" or v is None else int(v)) for k, v in row.items()}
        totals = [row[f"sum_u{i}"] for i in range(1, 10)]
        if row["n"] > 0:
            index = ikm_from_totals(totals, row["n"])
            row["ikm_hundredths"] = int(index * 100)
            row["category"] = category(index).letter
        else:
            row["ikm_hundredths"] = None
            row["category"] = None
        median, p90 = percentiles.get(
            (row["scope_id"], row["period_start"], row["survey_version_id"]), (None, None))
        row.update(scope=scope, period_kind=kind, measured_median=median, measured_p90=p90,
                   computed_at=computed_at)
        rows.append(row)
    return rows


def _as_date(value: date | str) -> date:
    # SQLite returns DATE values computed through a window/subquery as text.
    return value if isinstance(value, date) else date.fromisoformat(value)


def touched_buckets(session: Session, since: datetime, until: datetime
                    ) -> dict[tuple[str, str], set[Bucket]]:
    """The buckets of every scope and period kind that responses received in
    (since, until] fall in, whenever they were answered (late kiosk syncs included)."""
    keys = session.execute(
        select(*SCOPE_COLUMNS.values(), *PERIOD_COLUMNS.values())
        .where(Response.received_at > since, Response.received_at <= until)
        .distinct()
    ).all()
    touched: dict[tuple[str, str], set[Bucket]] = {
        (scope, kind): set() for scope in SCOPE_COLUMNS for kind in PERIOD_COLUMNS}
    for key in keys:
        ids = dict(zip(SCOPE_COLUMNS, key[:4], strict=True))
        periods = dict(zip(PERIOD_COLUMNS, key[4:], strict=True))
        for scope, scope_id in ids.items():
            if scope_id is None:
                continue
            for kind, start in periods.items():
                touched[(scope, kind)].add((scope_id, _as_date(start)))
    return touched


def read_watermark(session: Session) -> datetime | None:
    """Responses received up to this instant are already in the indicators."""
    return session.scalar(
        select(AggregationState.watermark).where(AggregationState.name == STATE_NAME))


def compute_indicators(session: Session, *, now: datetime, full: bool = False) -> Computation:
    """Compute the indicator rows an incremental (or full) run would write; reads only.

    The new watermark is ``now - SETTLE``; only buckets touched by responses received after
    the stored watermark are recomputed (all of them on the first run or with ``full``).
    """
    until = now - SETTLE
    since = None if full else read_watermark(session)
    computation = Computation(full=since is None, since=since, until=until)
    if computation.full:
        for scope in SCOPE_COLUMNS:
            for kind in PERIOD_COLUMNS:
                computation.rows.extend(_rows_for(session, scope, kind, None, now))
        return computation
    assert since is not None  # noqa: S101 (narrowing: not full)
    computation.touched = touched_buckets(session, since, until)
    for (scope, kind), buckets in computation.touched.items():
        if buckets:
            computation.rows.extend(_rows_for(session, scope, kind, buckets, now))
    return computation


def apply_indicators(session: Session, computation: Computation, *, now: datetime) -> int:
    """Replace the recomputed buckets and move the watermark, in the caller's transaction.

    Raises StaleWatermark when another run moved the watermark since ``computation`` was
    read: its rows may be older than what is stored, so they are not written.
    """
    state = session.get(AggregationState, STATE_NAME, with_for_update=True)
    stored = state.watermark if state else None
    if not computation.full and stored != computation.since:
        raise StaleWatermark(f"watermark moved from {computation.since} to {stored}")
    if state is not None and stored is not None and stored > computation.until:
        raise StaleWatermark(f"watermark {stored} is ahead of this run ({computation.until})")
    if computation.full:
        session.execute(delete(Indicator))
    else:
        for (scope, kind), buckets in computation.touched.items():
            for chunk in _chunks(sorted(buckets), 500):
                session.execute(delete(Indicator).where(
                    Indicator.scope == scope, Indicator.period_kind == kind,
                    tuple_(Indicator.scope_id, Indicator.period_start).in_(chunk)))
    for chunk in _chunks(computation.rows, 5000):
        session.execute(insert(Indicator), chunk)
    if state is None:
        session.add(AggregationState(name=STATE_NAME, watermark=computation.until,
                                     last_run_at=now,
                                     last_full_at=now if computation.full else None))
    else:
        state.watermark = computation.until
        state.last_run_at = now
        if computation.full:
            state.last_full_at = now
    session.flush()
    return len(computation.rows)


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
