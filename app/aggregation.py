"""Indicators per unit, counter, service and officer for every local day, ISO week and month.

Every aggregate is computed in SQL with GROUP BY on both engines; no response is loaded
into Python. Waiting-time percentiles come from a histogram of whole minutes (nearest rank:
the smallest minute at which the share reaches 50 % / 90 %). The day histograms are stored
(``wait_histogram``) beside the indicators. A full rebuild cumulates them with a window
function in the database; an incremental run recomputes only the touched days (rows and
histograms) from their responses, sums weeks and months from the stored day rows in SQL,
and picks their percentiles from the stored day histograms (a few thousand aggregate rows,
the same nearest rank in Python), never reading a month of responses.

A run has two transactions. ``compute_indicators`` reads a consistent snapshot without any
write lock (so citizens keep submitting on SQLite); ``apply_indicators`` then replaces the
touched buckets and moves the watermark in one short write transaction, so a run that stops
half-way leaves the old rows, never a mix.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    MetaData,
    String,
    Table,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    not_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.db import UTCDateTime
from app.models import (
    AggregationState,
    Indicator,
    Response,
    Service,
    StaleBucket,
    WaitMinutes,
)
from app.periods import first_day, period_end, period_start
from app.scoring import CATEGORY_THRESHOLDS_HUNDREDTHS, category_of_hundredths, ikm_hundredths

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
SUM_COLUMNS = tuple(f"sum_u{i}" for i in range(1, 10))
ANSWERS = (1, 2, 3, 4)
# count_u<i>_<answer>: how many responses gave ``answer`` to element U<i>.
COUNT_COLUMNS = tuple(f"count_u{i}_{answer}" for i in range(1, 10) for answer in ANSWERS)
# U4 (cost) answered 4 is the free one ("Gratis").
FREE_ANSWER = 4
WITHIN_MINUTES = 60

Bucket = tuple[int, date]  # (scope id, period start)
HISTOGRAM: Table = WaitMinutes.metadata.tables[WaitMinutes.__tablename__]
INDICATORS: Table = Indicator.metadata.tables[Indicator.__tablename__]


@dataclass
class Computation:
    """Indicator rows computed from one snapshot, and which buckets they replace."""

    full: bool
    since: datetime | None
    until: datetime
    rows: list[dict[str, Any]] = field(default_factory=list)
    # A staged full rebuild keeps its rows in a temporary table of the connection instead.
    staged: int | None = None
    # (scope, period kind) -> buckets recomputed; empty for a full rebuild (all replaced).
    touched: dict[tuple[str, str], set[Bucket]] = field(default_factory=dict)
    # Day histograms of measured waits: every (scope id, day) of ids x days of a scope is
    # replaced by these rows (all of them for a full rebuild).
    histogram_rows: list[dict[str, Any]] = field(default_factory=list)
    histogram_replaced: dict[str, tuple[frozenset[int], frozenset[date]]] = field(
        default_factory=dict)

    @property
    def bucket_count(self) -> int:
        """How many buckets this run recomputed."""
        if self.full:
            return self.staged if self.staged is not None else len(self.rows)
        return sum(len(b) for b in self.touched.values())


class StaleWatermark(Exception):
    """Another run moved the watermark since this one read it; its result is discarded."""


def _unflagged() -> ColumnElement[bool]:
    return Response.unflagged()


def _sum_if(condition: ColumnElement[bool], value: Any = 1) -> Any:
    return func.coalesce(func.sum(case((condition, value), else_=0)), 0)


METRICS = ("n", *(f"sum_u{i}" for i in range(1, 10)), "sum_total_sq", *WAIT_COLUMNS.values(),
           "measured_n", "measured_within_60", "flagged", "comments", *COUNT_COLUMNS,
           "paid_free")


def _paid_for_free() -> ColumnElement[bool]:
    """A response to a free service (fee 0) whose U4 answer is not the free one: the
    citizen says they paid for a service that costs nothing (an illegal fee)."""
    free = select(Service.id).where(Service.fee == 0).scalar_subquery()
    return and_(Response.service_id.in_(free), Response.u4 != FREE_ANSWER)


@dataclass(frozen=True)
class Region:
    """Which responses an incremental run reads: those of some scope ids on some local days.

    Weeks and months are never read from responses by an incremental run (they are summed
    from stored day rows and day histograms), so its cost follows the touched days' traffic,
    not the length of the history.
    """

    ids: frozenset[int]
    days: frozenset[date]


def _response_filter(scope_col: Any, until: datetime, region: Region | None) -> list[Any]:
    # coalesce() hides the received_at and scope indexes from SQLite's planner: walking an
    # index over nearly the whole table is many times slower than scanning it in order,
    # and an incremental run must be narrowed by the local day index instead.
    conditions = [func.coalesce(Response.received_at, Response.received_at) <= until,
                  func.coalesce(scope_col, -1) != -1]
    if region is not None:
        conditions += [Response.local_day.in_(sorted(region.days)),
                       func.coalesce(scope_col, -1).in_(sorted(region.ids))]
    return conditions


LEVELS = ("day", "week", "month")


def _aggregate_statement(scope: str, until: datetime, region: Region | None,
                         kinds: tuple[str, ...] = LEVELS) -> Any:
    """One scan of the responses per scope: day rows in a CTE, rolled up to weeks and months
    (week and month depend on the day, so grouping by them does not split a day).

    The day rows are two groupings, summed by the roll-up: the unflagged responses (every
    figure) and the flagged ones (their count only, zeros elsewhere). Filtering the flags in
    WHERE keeps them out of each of the fifty-odd conditional sums, a fifth of a full
    rebuild's time on SQLite."""
    scope_col = SCOPE_COLUMNS[scope]
    keys = (scope_col.label("scope_id"), Response.local_day.label("day"),
            Response.local_week.label("week"), Response.local_month.label("month"),
            Response.survey_version_id.label("survey_version_id"),
            func.min(Response.unit_id).label("unit_id"))
    group = (scope_col, Response.local_day, Response.local_week, Response.local_month,
             Response.survey_version_id)
    total = sum(SCORES[1:], SCORES[0])
    figures = {
        "n": func.count(),
        **{f"sum_u{i}": func.sum(score) for i, score in enumerate(SCORES, start=1)},
        "sum_total_sq": func.sum(total * total),
        **{column: _sum_if(Response.wait_band == code) for code, column in WAIT_COLUMNS.items()},
        "measured_n": func.count(Response.measured_wait_min),
        "measured_within_60": _sum_if(Response.measured_wait_min <= WITHIN_MINUTES),
        "flagged": literal(0),
        "comments": func.count(Response.comment),
        **{f"count_u{i}_{answer}": _sum_if(score == answer)
           for i, score in enumerate(SCORES, start=1) for answer in ANSWERS},
        "paid_free": _sum_if(_paid_for_free()),
    }
    assert tuple(figures) == METRICS  # noqa: S101 (the union's columns line up)
    counted = select(*keys, *(value.label(name) for name, value in figures.items())).where(
        *_response_filter(scope_col, until, region), _unflagged()).group_by(*group)
    flagged = select(*keys, *((func.count() if name == "flagged" else literal(0)).label(name)
                              for name in METRICS)).where(
        *_response_filter(scope_col, until, region), not_(_unflagged())).group_by(*group)
    day = union_all(counted, flagged).cte("day_rows")

    def level(kind: str, period: Any) -> Any:
        return select(
            literal(kind, String).label("period_kind"), day.c.scope_id,
            period.label("period_start"), day.c.survey_version_id,
            func.min(day.c.unit_id).label("unit_id"),
            *(cast(func.sum(day.c[name]), BigInteger).label(name) for name in METRICS),
        ).group_by(day.c.scope_id, period, day.c.survey_version_id)

    return union_all(*(level(kind, day.c[kind]) for kind in kinds))


def _response_histogram(scope: str, until: datetime, region: Region | None) -> Any:
    """The whole-minute histogram of measured waits per scope id, local day and survey
    version, read from the responses; its columns are those of ``wait_histogram``."""
    scope_col = SCOPE_COLUMNS[scope]
    minute = Response.measured_wait_min
    return select(
        literal(scope, String).label("scope"), scope_col.label("scope_id"),
        Response.local_day.label("day"), Response.survey_version_id.label("survey_version_id"),
        minute.label("minute"), Response.local_week.label("week"),
        Response.local_month.label("month"), func.count().label("responses"),
    ).where(*_response_filter(scope_col, until, region), minute.is_not(None),
            _unflagged()).group_by(
        scope_col, Response.local_day, Response.local_week, Response.local_month,
        Response.survey_version_id, minute,
    )


def _percentile_statement(source: Any, kinds: tuple[str, ...] = LEVELS) -> Any:
    """Measured-wait median and p90 (nearest rank) per day, week and month of a day
    histogram (shaped like ``wait_histogram``): summed per period and cumulated with a
    window function."""
    histogram = source.cte("histogram")

    def level(kind: str, period: Any) -> Any:
        h = select(
            histogram.c.scope_id.label("sid"), period.label("ps"),
            histogram.c.survey_version_id.label("sv"), histogram.c.minute.label("m"),
            func.sum(histogram.c.responses).label("c"),
        ).group_by(histogram.c.scope_id, period, histogram.c.survey_version_id,
                   histogram.c.minute).subquery()
        partition = [h.c.sid, h.c.ps, h.c.sv]
        cumulated = select(
            h.c.sid, h.c.ps, h.c.sv, h.c.m,
            func.sum(h.c.c).over(partition_by=partition, order_by=h.c.m).label("cum"),
            func.sum(h.c.c).over(partition_by=partition).label("tot"),
        ).subquery()
        return select(
            literal(kind, String).label("kind"), cumulated.c.sid, cumulated.c.ps,
            cumulated.c.sv,
            func.min(case((cumulated.c.cum * 2 >= cumulated.c.tot, cumulated.c.m))).label(
                "median"),
            func.min(case((cumulated.c.cum * 10 >= cumulated.c.tot * 9, cumulated.c.m))).label(
                "p90"),
        ).group_by(cumulated.c.sid, cumulated.c.ps, cumulated.c.sv)

    return union_all(*(level(kind, histogram.c[kind]) for kind in kinds))


Percentiles = dict[tuple[str, int, date, int], tuple[int | None, int | None]]


def _percentiles(session: Session, source: Any, kinds: tuple[str, ...] = LEVELS
                 ) -> Percentiles:
    return {
        (r.kind, r.sid, _as_date(r.ps), r.sv): (r.median, r.p90)
        for r in session.execute(_percentile_statement(source, kinds))
    }


def nearest_ranks(minutes: dict[int, int]) -> tuple[int | None, int | None]:
    """Median and p90 of a histogram of whole minutes: the smallest minute at which the
    cumulated share reaches 50 % / 90 % (what ``_percentile_statement`` computes in SQL)."""
    total = sum(minutes.values())
    cumulated, median = 0, None
    for minute in sorted(minutes):
        cumulated += minutes[minute]
        if median is None and cumulated * 2 >= total:
            median = minute
        if cumulated * 10 >= total * 9:
            return median, minute
    return median, None


def _histogram_rows(session: Session, source: Any) -> list[dict[str, Any]]:
    return [{"scope": scope, "scope_id": scope_id, "day": _as_date(day),
             "survey_version_id": version, "minute": minute, "week": _as_date(week),
             "month": _as_date(month), "responses": int(responses)}
            for scope, scope_id, day, version, minute, week, month, responses
            in session.execute(source)]


def _finish(row: dict[str, Any], scope: str, computed_at: datetime,
            percentiles: Percentiles) -> dict[str, Any]:
    """Add the IKM, the category and the measured-wait percentiles to summed metrics."""
    n = row["n"]
    if n > 0:
        hundredths = ikm_hundredths(sum(row[column] for column in SUM_COLUMNS), n)
        row["ikm_hundredths"] = hundredths
        row["category"] = category_of_hundredths(hundredths).letter
    else:
        row["ikm_hundredths"] = row["category"] = None
    row["measured_median"], row["measured_p90"] = percentiles.get(
        (row["period_kind"], row["scope_id"], row["period_start"], row["survey_version_id"]),
        (None, None))
    row.update(scope=scope, computed_at=computed_at)
    return row


def _rows_for(session: Session, scope: str, until: datetime, region: Region | None,
              computed_at: datetime, kinds: tuple[str, ...] = LEVELS,
              percentiles: Percentiles | None = None) -> list[dict[str, Any]]:
    """Indicator rows of one scope for the period kinds (only those of ``region``)."""
    if percentiles is None:
        percentiles = _percentiles(session, _response_histogram(scope, until, region), kinds)
    result = session.execute(_aggregate_statement(scope, until, region, kinds))
    names = list(result.keys())
    rows = []
    for values in result:
        # PostgreSQL sums integers as numeric: back to int for exact, engine-neutral rows.
        row: dict[str, Any] = {name: (int(v) if isinstance(v, (int, Decimal)) else v)
                               for name, v in zip(names, values, strict=True)}
        row["period_start"] = _as_date(row["period_start"])
        rows.append(_finish(row, scope, computed_at, percentiles))
    return rows


def _incremental_rows(session: Session, computation: Computation, scope: str,
                      wanted: set[tuple[str, int, date]], computed_at: datetime,
                      ) -> list[dict[str, Any]]:
    """Recompute the wanted buckets of one scope without rescanning whole weeks or months.

    Touched days (and their measured-wait histograms) are recomputed from their responses;
    weeks and months are the sums of their day rows (the stored ones summed in SQL, plus the
    recomputed days). Percentiles come from the day histograms of the period (the stored
    ones, with the touched days replaced by the fresh ones), by the same nearest rank as the
    SQL of a full rebuild, over at most a few thousand histogram rows.
    """
    until = computation.until
    ids = frozenset(scope_id for _, scope_id, _ in wanted)
    days = frozenset(start for kind, _, start in wanted if kind == "day")
    weeks = frozenset(start for kind, _, start in wanted if kind == "week")
    months = frozenset(start for kind, _, start in wanted if kind == "month")
    periods = [(kind, start) for kind, starts in (("week", weeks), ("month", months))
               for start in sorted(starts)]
    # The touched days' histograms replace the stored ones for every (id, day) in ids x days.
    histogram = _histogram_rows(session, _response_histogram(scope, until, Region(ids, days)))
    computation.histogram_rows.extend(histogram)
    computation.histogram_replaced[scope] = (ids, days)
    counts: dict[tuple[str, int, date, int], dict[int, int]] = defaultdict(
        lambda: defaultdict(int))
    for h in histogram:
        for kind in LEVELS:
            if kind == "day" or (kind, h["scope_id"], h[kind]) in wanted:
                key = (kind, h["scope_id"], h[kind], h["survey_version_id"])
                counts[key][h["minute"]] += h["responses"]
    if periods:
        first = min(first_day(kind, start) for kind, start in periods)
        last = max(period_end(kind, start) for kind, start in periods)
        # Tens of thousands of small rows at a million responses: fetched in one go, their
        # dates left as the driver gives them (text on SQLite) and matched without conversion.
        table = HISTOGRAM.c
        stored_histogram = session.connection().execute(
            select(table.scope_id, type_coerce(table.week, String),
                   type_coerce(table.month, String), table.survey_version_id, table.minute,
                   table.responses)
            .where(table.scope == scope, table.scope_id.in_(sorted(ids)), table.day >= first,
                   table.day < last, table.day.not_in(sorted(days)))).fetchall()
        starts: dict[date | str, date] = {
            form: start for _, start in periods for form in (start, start.isoformat())}
        for scope_id, week, month, version, minute, responses in stored_histogram:
            for kind, text in (("week", week), ("month", month)):
                start = starts.get(text)
                if start is not None and (kind, scope_id, start) in wanted:
                    counts[(kind, scope_id, start, version)][minute] += int(responses)
    percentiles = {key: nearest_ranks(minutes) for key, minutes in counts.items()}
    # Every (id, day) of ids x days is recomputed; only the wanted ones are written back.
    recomputed = _rows_for(session, scope, until, Region(ids, days), computed_at, ("day",),
                           percentiles)
    fresh = [row for row in recomputed if ("day", row["scope_id"], row["period_start"]) in wanted]
    rolled: dict[tuple[str, int, date, int], dict[str, Any]] = {}

    def add(kind: str, start: date, scope_id: int, version: int, unit_id: int,
            metrics: Sequence[int]) -> None:
        if (kind, scope_id, start) not in wanted:
            return
        total = rolled.setdefault((kind, scope_id, start, version), {
            "period_kind": kind, "scope_id": scope_id, "period_start": start,
            "survey_version_id": version, "unit_id": unit_id, **dict.fromkeys(METRICS, 0)})
        total["unit_id"] = min(total["unit_id"], unit_id)
        for name, value in zip(METRICS, metrics, strict=True):
            total[name] += int(value)

    if periods:
        # The stored day rows of each wanted week and month, summed in SQL, without the
        # recomputed days; the recomputed day rows are added on top.
        day = INDICATORS.c
        stored = union_all(*(
            select(literal(index).label("p"), day.scope_id, day.survey_version_id,
                   func.min(day.unit_id).label("unit_id"),
                   *(cast(func.sum(day[name]), BigInteger).label(name) for name in METRICS))
            .where(day.scope == scope, day.period_kind == "day",
                   day.scope_id.in_(sorted(ids)), day.period_start >= first_day(kind, start),
                   day.period_start < period_end(kind, start),
                   day.period_start.not_in(sorted(days)))
            .group_by(day.scope_id, day.survey_version_id)
            for index, (kind, start) in enumerate(periods)))
        for values in session.execute(stored):
            add(*periods[values[0]], values[1], values[2], values[3], values[4:])
        for row in recomputed:
            for kind in ("week", "month"):
                add(kind, period_start(kind, row["period_start"]), row["scope_id"],
                    row["survey_version_id"], row["unit_id"], [row[m] for m in METRICS])
    return fresh + [_finish(row, scope, computed_at, percentiles) for row in rolled.values()]


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


def add_stale_buckets(session: Session, touched: dict[tuple[str, str], set[Bucket]],
                      since: datetime, until: datetime) -> None:
    """Add to ``touched`` every day, week and month containing a day that a duty correction
    marked stale in (since, until]: its responses were re-attributed long after they were
    received, so ``touched_buckets`` alone would never revisit them. A bucket left without
    responses is then deleted by ``apply_indicators`` rather than kept with old figures."""
    for scope, scope_id, day in session.execute(
            select(StaleBucket.scope, StaleBucket.scope_id, StaleBucket.day)
            .where(StaleBucket.marked_at > since, StaleBucket.marked_at <= until).distinct()):
        for kind in LEVELS:
            touched.setdefault((scope, kind), set()).add(
                (scope_id, period_start(kind, _as_date(day))))


def read_watermark(session: Session) -> datetime | None:
    """Responses received up to this instant are already in the indicators."""
    return session.scalar(
        select(AggregationState.watermark).where(AggregationState.name == STATE_NAME))


def compute_indicators(session: Session, *, now: datetime, full: bool = False,
                       stage: bool = False) -> Computation:
    """Compute the indicator rows an incremental (or full) run would write; reads only.

    The new watermark is ``now - SETTLE``; only buckets touched by responses received after
    the stored watermark, or marked stale by a duty correction since it, are recomputed
    (all of them on the first run or with ``full``).
    With ``stage``, a full rebuild is computed by the database into a temporary table of
    this session's connection (nothing travels through Python); ``apply_indicators`` must
    then run on the same connection.
    """
    until = now - SETTLE
    since = None if full else read_watermark(session)
    computation = Computation(full=since is None, since=since, until=until)
    if computation.full and stage:
        computation.staged = _stage_full_rebuild(session, until, now)
        return computation
    if computation.full:
        for scope in SCOPE_COLUMNS:
            computation.rows.extend(_rows_for(session, scope, until, None, now))
            computation.histogram_rows.extend(
                _histogram_rows(session, _response_histogram(scope, until, None)))
        return computation
    assert since is not None  # noqa: S101 (narrowing: not full)
    computation.touched = touched_buckets(session, since, until)
    add_stale_buckets(session, computation.touched, since, until)
    for scope in SCOPE_COLUMNS:
        wanted = {(kind, *bucket) for (s, kind), buckets in computation.touched.items()
                  if s == scope for bucket in buckets}
        if not wanted:
            continue
        computation.rows.extend(_incremental_rows(session, computation, scope, wanted, now))
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
        session.execute(delete(WaitMinutes))
    else:
        # Core statements on the tables: the ORM's bulk delete would first evaluate its
        # criteria against the session for nothing.
        connection = session.connection()
        for (scope, kind), buckets in computation.touched.items():
            # Per period start, the ids: the key index answers each id directly (a row-value
            # IN over (id, start) pairs is scanned instead).
            ids_by_start: dict[date, list[int]] = defaultdict(list)
            for scope_id, start in sorted(buckets):
                ids_by_start[start].append(scope_id)
            for start, starting in ids_by_start.items():
                for chunk in _chunks(starting, 500):
                    connection.execute(delete(INDICATORS).where(
                        INDICATORS.c.scope == scope, INDICATORS.c.scope_id.in_(chunk),
                        INDICATORS.c.period_kind == kind, INDICATORS.c.period_start == start))
        for scope, (ids, days) in computation.histogram_replaced.items():
            for ids_chunk in _chunks(sorted(ids), 500):
                connection.execute(delete(HISTOGRAM).where(
                    HISTOGRAM.c.scope == scope, HISTOGRAM.c.scope_id.in_(ids_chunk),
                    HISTOGRAM.c.day.in_(sorted(days))))
    table = INDICATORS
    if computation.staged is not None:
        for target in (table, HISTOGRAM):
            staging = _staging_for(target)
            columns = [c.name for c in staging.columns]
            # In key order: the target's b-tree is appended to rather than split at random.
            key = [staging.c[c.name] for c in target.primary_key.columns if c.name != "id"]
            session.execute(insert(target).from_select(
                columns, select(*staging.columns).order_by(*key)))
            staging.drop(session.connection())
    for target, rows in ((table, computation.rows), (HISTOGRAM, computation.histogram_rows)):
        for chunk in _chunks(rows, 5000):
            _write_chunk(session.connection(), target, chunk)
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
    return computation.staged if computation.staged is not None else len(computation.rows)


def _write_chunk(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows of one shape: COPY on PostgreSQL (one stream, where a multi-row INSERT
    is parsed and planned per batch), a Core executemany elsewhere (the ORM's bulk path
    would split heterogeneous rows into many statements)."""
    if not rows:
        return
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), list(rows))
        return
    columns = list(rows[0])
    quote = connection.dialect.identifier_preparer.quote
    copy_sql = (f"COPY {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
                "FROM STDIN")
    driver = connection.connection.driver_connection
    assert driver is not None  # noqa: S101 (an open connection has its driver connection)
    with driver.cursor() as cursor, cursor.copy(copy_sql) as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def _staging_for(target: Table) -> Table:
    """A temporary table shaped like ``target``, without its surrogate id and constraints."""
    return Table(f"{target.name}_staging", MetaData(),
                 *(Column(c.name, c.type) for c in target.columns if c.name != "id"),
                 prefixes=["TEMPORARY"])


def _stage_full_rebuild(session: Session, until: datetime, now: datetime) -> int:
    """Compute every indicator row in SQL into the staging table; return the row count.

    The IKM is computed in integer arithmetic in the database, exactly as
    ``scoring.ikm_hundredths`` does (tests hold the two paths equal).
    """
    staging = _staging_for(INDICATORS)
    histogram = _staging_for(HISTOGRAM)
    connection = session.connection()
    for table in (staging, histogram):
        table.drop(connection, checkfirst=True)
        table.create(connection)
    columns = [c.name for c in staging.columns]
    for scope in SCOPE_COLUMNS:
        session.execute(insert(histogram).from_select(
            [c.name for c in histogram.columns], _response_histogram(scope, until, None)))
        agg = _aggregate_statement(scope, until, None).subquery("agg")
        pct = _percentile_statement(
            select(*histogram.c).where(histogram.c.scope == scope)).subquery("pct")
        n = agg.c.n
        score_sum = sum((agg.c[name] for name in SUM_COLUMNS[1:]), agg.c[SUM_COLUMNS[0]])
        hundredths = case((n > 0, (score_sum * 5000 + n * 9) // (n * 18)), else_=None)
        letter = case(*((hundredths >= lower, cat.letter)
                        for lower, cat in CATEGORY_THRESHOLDS_HUNDREDTHS),
                      (n > 0, "D"), else_=None)
        values = {
            "scope": literal(scope, String), "scope_id": agg.c.scope_id,
            "unit_id": agg.c.unit_id, "period_kind": agg.c.period_kind,
            "period_start": agg.c.period_start, "survey_version_id": agg.c.survey_version_id,
            **{name: agg.c[name] for name in METRICS},
            "ikm_hundredths": hundredths, "category": letter,
            "measured_median": pct.c.median, "measured_p90": pct.c.p90,
            "computed_at": literal(now, UTCDateTime()),
        }
        query = select(*(values[name] for name in columns)).select_from(agg.outerjoin(
            pct, and_(pct.c.kind == agg.c.period_kind, pct.c.sid == agg.c.scope_id,
                      pct.c.ps == agg.c.period_start, pct.c.sv == agg.c.survey_version_id)))
        session.execute(insert(staging).from_select(columns, query))
    return int(session.scalar(select(func.count()).select_from(staging)) or 0)


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
