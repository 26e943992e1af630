"""Indicators per scope and local period: the regulation's index end to end, incremental runs."""

from __future__ import annotations

import json
import random
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from factories import (
    NIP,
    OTHER_NIP,
    SeededUnit,
    make_officer,
    make_other_unit,
    make_unit,
    put_on_duty,
)
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import aggregation
from app.aggregation import (
    SETTLE,
    StaleWatermark,
    apply_indicators,
    compute_indicators,
    read_watermark,
)
from app.answers import Answers
from app.config import Settings
from app.db import Database
from app.feedback import Outcome, Submission, record_response
from app.indicators import ikm_value, indicator_rows, nrr_values
from app.jobs import run_aggregation
from app.models import Counter, Indicator, Officer, Response, Service, WaitMinutes
from app.org import assign_officer, create_counter
from app.scoring import category, ikm_from_totals
from app.surveys import latest

# Helpers ---------------------------------------------------------------------------------------

SCOPE_ATTRS = {"unit": "unit_id", "counter": "counter_id", "service": "service_id",
               "officer": "officer_id"}
PERIOD_ATTRS = {"day": "local_day", "week": "local_week", "month": "local_month"}
WAIT_ATTRS = {"lt5": "wait_lt5", "5-15": "wait_5_15", "15-30": "wait_15_30",
              "30-60": "wait_30_60", "60-120": "wait_60_120", "gt120": "wait_gt120"}
KEY = ("scope", "scope_id", "period_kind", "period_start", "survey_version_id")
VALUE_COLUMNS = tuple(
    c.name for c in Indicator.__table__.columns if c.name not in ("id", "computed_at"))

VECTOR_A_TOTALS = (105, 101, 100, 116, 102, 105, 106, 105, 115)
VECTOR_A_NRR = {"U1": 3.6207, "U2": 3.4828, "U3": 3.4483, "U4": 4.0, "U5": 3.5172,
                "U6": 3.6207, "U7": 3.6552, "U8": 3.6207, "U9": 3.9655}


def utc(year: int, month: int, day: int, hour: int = 3, minute: int = 0,
        second: int = 0) -> datetime:
    """An aware UTC instant (WIB is UTC+7: 03:00 UTC is 10:00 WIB)."""
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def db_of(app: Flask) -> Database:
    """The application's Database."""
    database: Database = app.extensions["suara.db"]
    return database


def record(
    session: Session,
    app: Flask,
    counter: Counter,
    scores: Sequence[int],
    *,
    created_at: datetime,
    received_at: datetime | None = None,
    wait_band: str | None = None,
    service: str | None = None,
    comment: str | None = None,
    measured: int | None = None,
    device: str | None = None,
    bot: bool = False,
    channel: str = "qr",
) -> Response:
    """Store one response through the domain function (not committed)."""
    survey = latest(app.extensions["suara.surveys"], "skm-2017")
    submission = Submission(
        client_id=uuid.uuid4(), channel=channel, created_at=created_at,
        received_at=received_at or created_at, device=device, measured_wait_min=measured,
        honeypot_filled=bot,
    )
    answers = Answers(tuple(scores), wait_band, service, comment)
    outcome, row = record_response(session, survey, counter, answers, submission,
                                   app.extensions["suara.settings"].tz)
    assert outcome is Outcome.CREATED
    return row


def column_scores(totals: Sequence[int], n: int, seed: int = 14) -> list[tuple[int, ...]]:
    """n questionnaires (scores 1..4, varied) whose element totals are exactly ``totals``."""
    rng = random.Random(seed)  # noqa: S311 (reproducible test data, not a secret)
    columns = []
    for total in totals:
        assert n <= total <= 4 * n
        column = [rng.randint(1, 4) for _ in range(n)]
        while sum(column) != total:
            i = rng.randrange(n)
            if sum(column) < total and column[i] < 4:
                column[i] += 1
            elif sum(column) > total and column[i] > 1:
                column[i] -= 1
        columns.append(column)
    return [tuple(column[r] for column in columns) for r in range(n)]


def indicator_map(db: Database) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Every stored indicator row by its natural key, without id and computed_at."""
    with db.session_scope(write=False) as s:
        rows = s.scalars(select(Indicator)).all()
        return {tuple(getattr(r, k) for k in KEY): {c: getattr(r, c) for c in VALUE_COLUMNS}
                for r in rows}


def full_rows(db: Database) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Every stored indicator row by natural key, with id and computed_at (exact state)."""
    with db.session_scope(write=False) as s:
        rows = s.scalars(select(Indicator)).all()
        return {tuple(getattr(r, k) for k in KEY):
                {c.name: getattr(r, c.key) for c in Indicator.__table__.columns}
                for r in rows}


def computed_at_by_key(db: Database) -> dict[tuple[Any, ...], datetime]:
    """computed_at of every stored row by natural key."""
    with db.session_scope(write=False) as s:
        return {tuple(getattr(r, k) for k in KEY): r.computed_at
                for r in s.scalars(select(Indicator))}


HistogramKey = tuple[str, int, date, int, int]


def histogram_map(db: Database) -> dict[HistogramKey, tuple[date, date, int]]:
    """The stored day histograms of measured waits by (scope, id, day, version, minute)."""
    with db.session_scope(write=False) as s:
        return {(h.scope, h.scope_id, h.day, h.survey_version_id, h.minute):
                (h.week, h.month, h.responses) for h in s.scalars(select(WaitMinutes))}


def reference_histogram(db: Database) -> dict[HistogramKey, tuple[date, date, int]]:
    """The day histograms counted in plain Python from every stored response."""
    with db.session_scope(write=False) as s:
        responses = s.scalars(select(Response)).all()
    counts: dict[HistogramKey, int] = defaultdict(int)
    periods: dict[HistogramKey, tuple[date, date]] = {}
    for r in responses:
        if r.flag_repeat or r.flag_bot or r.measured_wait_min is None:
            continue
        for scope, attr in SCOPE_ATTRS.items():
            if getattr(r, attr) is None:
                continue
            key = (scope, getattr(r, attr), r.local_day, r.survey_version_id,
                   r.measured_wait_min)
            counts[key] += 1
            periods[key] = (r.local_week, r.local_month)
    return {key: (*periods[key], count) for key, count in counts.items()}


def watermark(db: Database) -> datetime | None:
    """The stored aggregation watermark."""
    with db.session_scope(write=False) as s:
        return read_watermark(s)


def rows(db: Database, scope: str, period: str, **kwargs: Any) -> list[dict[str, Any]]:
    """indicator_rows in a read transaction of its own."""
    with db.session_scope(write=False) as s:
        return indicator_rows(s, scope, period, **kwargs)


def figures(db: Database, scope: str, period: str) -> list[dict[str, Any]]:
    """Stored rows of one scope and period kind, read from ``Indicator`` itself (scope ids,
    not names), with the same figures as ``indicator_rows``."""
    with db.session_scope(write=False) as s:
        found = s.scalars(select(Indicator).where(
            Indicator.scope == scope, Indicator.period_kind == period,
        ).order_by(Indicator.period_start, Indicator.scope_id)).all()
        result = []
        for ind in found:
            ikm = ikm_value(ind)
            result.append({
                "scope_id": ind.scope_id, "unit_id": ind.unit_id,
                "period_start": ind.period_start.isoformat(), "n": ind.n,
                "ikm": float(ikm) if ikm is not None else None, "category": ind.category,
                "nrr": nrr_values(ind), "flagged": ind.flagged, "comments": ind.comments,
                "wait_bands": {band: getattr(ind, column) for band, column in WAIT_ATTRS.items()},
                "measured": {"n": ind.measured_n, "median": ind.measured_median,
                             "p90": ind.measured_p90, "within_60": ind.measured_within_60},
            })
        return result


def by_start(found: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """indicator rows by period_start (for one scope id)."""
    result: dict[str, dict[str, Any]] = {}
    for row in found:
        assert row["period_start"] not in result, "two rows for one period"
        result[row["period_start"]] = row
    return result


def nearest_rank(values: Sequence[int], percent: int) -> int | None:
    """The nearest-rank percentile: the ceil(p/100 * N)-th smallest value."""
    if not values:
        return None
    ordered = sorted(values)
    rank = -(-percent * len(ordered) // 100)
    return ordered[max(rank, 1) - 1]


def reference_rows(db: Database) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The indicators recomputed in plain Python from every stored response."""
    with db.session_scope(write=False) as s:
        responses = s.scalars(select(Response)).all()
        fees = dict(s.execute(select(Service.id, Service.fee)).all())
    buckets: dict[tuple[Any, ...], list[Response]] = defaultdict(list)
    for r in responses:
        for scope, attr in SCOPE_ATTRS.items():
            scope_id = getattr(r, attr)
            if scope_id is None:
                continue
            for kind, period_attr in PERIOD_ATTRS.items():
                buckets[(scope, scope_id, kind, getattr(r, period_attr),
                         r.survey_version_id)].append(r)
    expected = {}
    for key, members in buckets.items():
        ok = [r for r in members if not r.flag_repeat and not r.flag_bot]
        totals = [sum(r.scores()[i] for r in ok) for i in range(9)]
        index = ikm_from_totals(totals, len(ok)) if ok else None
        measured = [r.measured_wait_min for r in ok if r.measured_wait_min is not None]
        row: dict[str, Any] = dict(zip(KEY, key, strict=True))
        row.update(
            unit_id=members[0].unit_id,
            n=len(ok),
            **{f"sum_u{i + 1}": totals[i] for i in range(9)},
            sum_total_sq=sum(sum(r.scores()) ** 2 for r in ok),
            ikm_hundredths=int(index * 100) if index is not None else None,
            category=category(index).letter if index is not None else None,
            **{column: sum(1 for r in ok if r.wait_band == band)
               for band, column in WAIT_ATTRS.items()},
            measured_n=len(measured),
            measured_median=nearest_rank(measured, 50),
            measured_p90=nearest_rank(measured, 90),
            measured_within_60=sum(1 for m in measured if m <= 60),
            flagged=len(members) - len(ok),
            comments=sum(1 for r in ok if r.comment is not None),
            **{f"count_u{i + 1}_{answer}": sum(1 for r in ok if r.scores()[i] == answer)
               for i in range(9) for answer in (1, 2, 3, 4)},
            paid_free=sum(1 for r in ok if r.service_id is not None
                          and fees[r.service_id] == 0 and r.u4 != 4),
        )
        expected[key] = {c: row[c] for c in VALUE_COLUMNS}
    return expected


@dataclass
class World:
    """Two units, three counters, two officers; the app's database and survey."""

    app: Flask
    db: Database
    dukcapil: SeededUnit
    puskesmas: SeededUnit
    second_counter: Counter
    officer: Officer
    other_officer: Officer


@pytest.fixture
def world(app: Flask, session: Session) -> Iterator[World]:
    """The seeded organisation, with every test transaction released."""
    dukcapil = make_unit(session)
    puskesmas = make_other_unit(session)
    second = create_counter(session, dukcapil.unit, "L2", "Loket Dua",
                            default_service=dukcapil.services[1])
    session.commit()
    officer = make_officer(session, dukcapil)
    other = make_officer(session, dukcapil, OTHER_NIP, "Siti Rahmawati")
    yield World(app, db_of(app), dukcapil, puskesmas, second, officer, other)


# 1. The regulation's test vectors, end to end --------------------------------------------------


def test_vector_a_end_to_end(world: World, session: Session) -> None:
    scores = column_scores(VECTOR_A_TOTALS, 29)
    assert [sum(r[i] for r in scores) for i in range(9)] == list(VECTOR_A_TOTALS)
    assert {s for r in scores for s in r} == {1, 2, 3, 4}
    counter = world.dukcapil.counter
    for k, answer in enumerate(scores):  # one local day: Tuesday 2026-11-10, 08:00–12:40 WIB
        record(session, world.app, counter, answer,
               created_at=utc(2026, 11, 10, 1) + timedelta(minutes=10 * k))
    session.commit()

    run = run_aggregation(world.db, now=utc(2026, 11, 11))
    assert run.full is True
    assert run.watermark == utc(2026, 11, 11) - SETTLE

    for scope, period, start in [("unit", "week", "2026-11-09"), ("counter", "week", "2026-11-09"),
                                 ("unit", "day", "2026-11-10"), ("unit", "month", "2026-11-01"),
                                 ("counter", "day", "2026-11-10")]:
        (row,) = figures(world.db, scope, period)
        assert row["period_start"] == start
        assert row["unit_id"] == world.dukcapil.unit.id
        assert row["scope_id"] == (world.dukcapil.unit.id if scope == "unit" else counter.id)
        assert row["n"] == 29
        assert row["ikm"] == 91.48, (scope, period)
        assert row["category"] == "A"
        assert row["nrr"] == VECTOR_A_NRR
        assert row["flagged"] == 0
    for scope in ("unit", "counter"):
        (row,) = rows(world.db, scope, "week")
        assert (row["unit"], row["period_start"], row["n"], row["ikm"], row["category"],
                row["category_label"], row["nrr"]) == (
            "DUKCAPIL", "2026-11-09", 29, 91.48, "A", "Sangat baik", VECTOR_A_NRR)
    assert rows(world.db, "counter", "week")[0]["counter"] == "L1"
    with world.db.session_scope(write=False) as s:
        stored = s.scalars(select(Indicator).where(Indicator.scope == "unit",
                                                   Indicator.period_kind == "week")).one()
        assert [getattr(stored, f"sum_u{i}") for i in range(1, 10)] == list(VECTOR_A_TOTALS)
        assert stored.ikm_hundredths == 9148  # not 9056 (weight 0.11) nor 9138 (0.111)
        assert stored.sum_total_sq == sum(sum(r) ** 2 for r in scores)
    # No officer on duty and no service named: no rows in those scopes.
    assert figures(world.db, "officer", "week") == []
    assert figures(world.db, "service", "week") == []


@pytest.mark.parametrize(("score", "n", "ikm", "letter", "label"), [
    (3, 7, 75.00, "C", "Kurang baik"),  # vector B: the 2004 table would wrongly say B
    (4, 4, 100.00, "A", "Sangat baik"),  # vector D
    (1, 5, 25.00, "D", "Tidak baik"),  # vector D
])
def test_uniform_vectors(world: World, session: Session, score: int, n: int, ikm: float,
                         letter: str, label: str) -> None:
    for k in range(n):
        record(session, world.app, world.dukcapil.counter, [score] * 9,
               created_at=utc(2026, 11, 12, 2, k))
    session.commit()
    run_aggregation(world.db, now=utc(2026, 11, 13))
    for period in ("day", "week", "month"):
        (row,) = rows(world.db, "unit", period)
        assert (row["n"], row["ikm"], row["category"], row["category_label"]) == (
            n, ikm, letter, label)
        assert row["nrr"] == {f"U{i}": float(score) for i in range(1, 10)}


# 2. Periods are cut in local time (WIB, UTC+7) -------------------------------------------------


def test_period_edges_are_local(world: World, session: Session) -> None:
    counter = world.dukcapil.counter
    # Sunday 23:30 WIB, Monday 00:10 WIB, Monday 23:59 WIB, Tuesday 1 December 00:01 WIB.
    for score, instant in [(1, utc(2026, 11, 29, 16, 30)), (2, utc(2026, 11, 29, 17, 10)),
                           (3, utc(2026, 11, 30, 16, 59)), (4, utc(2026, 11, 30, 17, 1))]:
        record(session, world.app, counter, [score] * 9, created_at=instant)
    session.commit()
    run_aggregation(world.db, now=utc(2026, 12, 2))

    def summary(period: str) -> dict[str, tuple[int, float]]:
        return {r["period_start"]: (r["n"], r["ikm"]) for r in rows(world.db, "unit", period)}

    assert summary("day") == {"2026-11-29": (1, 25.0), "2026-11-30": (2, 62.5),
                              "2026-12-01": (1, 100.0)}
    assert summary("week") == {"2026-11-23": (1, 25.0), "2026-11-30": (3, 75.0)}
    # A month is the weeks whose Thursday falls in it: the week of Monday 30 November
    # (Thursday 3 December) is December's, so November keeps only the Sunday.
    assert summary("month") == {"2026-11-01": (1, 25.0), "2026-12-01": (3, 75.0)}
    week = by_start(rows(world.db, "unit", "week"))
    assert week["2026-11-30"]["category"] == "C"
    assert by_start(rows(world.db, "unit", "day"))["2026-11-30"]["category"] == "D"


# 3. Flagged responses --------------------------------------------------------------------------


def test_flagged_responses_are_counted_but_not_scored(world: World, session: Session) -> None:
    counter = world.dukcapil.counter
    day = utc(2026, 11, 10, 2)
    for k in range(3):
        record(session, world.app, counter, [4] * 9, created_at=day + timedelta(minutes=20 * k),
               comment="Pelayanan cepat" if k == 0 else None)
    # The same device twice within 10 minutes: the second is a repeat.
    first = record(session, world.app, counter, [4] * 9, created_at=day + timedelta(hours=2),
                   device="tablet-7")
    repeat = record(session, world.app, counter, [1] * 9,
                    created_at=day + timedelta(hours=2, minutes=9), device="tablet-7")
    # The same device again, 11 minutes after its last answer: not a repeat.
    later = record(session, world.app, counter, [4] * 9,
                   created_at=day + timedelta(hours=2, minutes=20), device="tablet-7")
    bot = record(session, world.app, counter, [1] * 9, created_at=day + timedelta(hours=3),
                 bot=True, measured=1, wait_band="gt120")
    session.commit()
    assert (first.flag_repeat, repeat.flag_repeat, later.flag_repeat) == (False, True, False)
    assert bot.flag_bot is True and bot.flag_repeat is False

    run_aggregation(world.db, now=utc(2026, 11, 11))
    for scope in ("unit", "counter"):
        for period in ("day", "week", "month"):
            (row,) = figures(world.db, scope, period)
            assert row["n"] == 5, (scope, period)
            assert row["flagged"] == 2
            assert row["ikm"] == 100.0  # the two all-1 answers would pull it to 78.57
            assert row["category"] == "A"
            assert row["comments"] == 1
            assert row["measured"]["n"] == 0  # the bot's measured wait is left out
            assert row["wait_bands"]["gt120"] == 0


def test_a_bucket_of_only_flagged_responses(world: World, session: Session) -> None:
    record(session, world.app, world.dukcapil.counter, [2] * 9,
           created_at=utc(2026, 11, 10), bot=True)
    session.commit()
    run_aggregation(world.db, now=utc(2026, 11, 11))
    (row,) = rows(world.db, "unit", "day")
    assert (row["n"], row["flagged"], row["ikm"], row["category"]) == (0, 1, None, None)
    assert row["nrr"] == {f"U{i}": None for i in range(1, 10)}


# 4. Waiting time --------------------------------------------------------------------------------


WAIT_VECTORS = [
    # (measured minutes, median, p90, within 60)
    ([5, 10, 10, 30, 90], 10, 90, 4),
    ([60, 61], 60, 61, 1),  # 60 minutes is within the target, 61 is not
    (list(range(1, 11)), 5, 9, 10),  # 5th and 9th of ten
    ([7, 3, 480, 45, 45, 120, 0, 59, 61, 200, 15], 45, 200, 7),  # 6th and 10th of eleven
    ([42], 42, 42, 1),
]


def test_measured_wait_median_p90_and_within_60(world: World, session: Session) -> None:
    counter = world.dukcapil.counter
    for k, (minutes, _median, _p90, _within) in enumerate(WAIT_VECTORS):
        start = utc(2026, 11, 2 + k, 1)  # one local day per vector
        for j, m in enumerate(minutes):
            record(session, world.app, counter, [3] * 9, measured=m,
                   created_at=start + timedelta(minutes=5 * j))
        # Without a measured wait (counted in n, not in the measured figures).
        record(session, world.app, counter, [3] * 9, created_at=start + timedelta(hours=5))
    session.commit()
    run_aggregation(world.db, now=utc(2026, 11, 20))

    days = by_start(rows(world.db, "unit", "day"))
    for k, (minutes, median, p90, within) in enumerate(WAIT_VECTORS):
        row = days[date(2026, 11, 2 + k).isoformat()]
        assert row["n"] == len(minutes) + 1
        assert row["measured"] == {"n": len(minutes), "median": median, "p90": p90,
                                   "within_60": round(within / len(minutes), 4)}, minutes
        assert (nearest_rank(minutes, 50), nearest_rank(minutes, 90)) == (median, p90)
    # The week of 2–8 November pools the first five days' waits; the month all of them.
    pooled = [m for minutes, *_ in WAIT_VECTORS for m in minutes]
    (week,) = [r for r in rows(world.db, "unit", "week") if r["period_start"] == "2026-11-02"]
    assert week["measured"]["n"] == len(pooled)
    assert week["measured"]["median"] == nearest_rank(pooled, 50) == 10
    assert week["measured"]["p90"] == nearest_rank(pooled, 90) == 120


def test_self_reported_wait_bands(world: World, session: Session) -> None:
    counter = world.dukcapil.counter
    bands = ["lt5", "5-15", "5-15", "30-60", "gt120", None, "60-120", "5-15"]
    for k, band in enumerate(bands):
        record(session, world.app, counter, [3] * 9, wait_band=band,
               created_at=utc(2026, 11, 10, 1) + timedelta(minutes=5 * k))
    record(session, world.app, counter, [3] * 9, wait_band="lt5", bot=True,
           created_at=utc(2026, 11, 10, 4))
    session.commit()
    run_aggregation(world.db, now=utc(2026, 11, 11))
    (row,) = rows(world.db, "unit", "day")
    assert row["n"] == 8
    assert row["wait_bands"] == {"lt5": 1, "5-15": 3, "15-30": 0, "30-60": 1, "60-120": 1,
                                 "gt120": 1}
    # Shares per band are these counts over n (7 of 8 answered the question).
    assert sum(row["wait_bands"].values()) == 7
    assert row["measured"] == {"n": 0, "median": None, "p90": None, "within_60": None}


def test_officer_and_service_rows_only_for_responses_naming_them(
    world: World, session: Session
) -> None:
    counter = world.dukcapil.counter
    shift = utc(2026, 11, 10, 2)  # 09:00 WIB; on duty 07:00–11:00 WIB
    put_on_duty(session, world.officer, counter, shift)
    on_duty = [(4, "KTP-REKAM", shift), (3, "KTP-REKAM", shift + timedelta(minutes=30)),
               (2, None, shift + timedelta(minutes=60))]
    off_duty = [(1, "KK", shift + timedelta(hours=3)), (4, None, shift + timedelta(hours=4))]
    for score, service, at in on_duty + off_duty:
        record(session, world.app, counter, [score] * 9, service=service, created_at=at)
    # A response at the other unit, with its own service: other rows, other unit.
    record(session, world.app, world.puskesmas.counter, [4] * 9, service="GIGI",
           created_at=shift)
    session.commit()
    run_aggregation(world.db, now=utc(2026, 11, 11))

    (named,) = rows(world.db, "officer", "day")
    assert (named["officer"], named["unit"], named["n"], named["ikm"]) == (
        NIP, "DUKCAPIL", 3, 75.0)
    assert {(r["unit"], r["service"]): r["n"] for r in rows(world.db, "service", "week")} == {
        ("DUKCAPIL", "KTP-REKAM"): 2, ("DUKCAPIL", "KK"): 1, ("PKM-KTB2", "GIGI"): 1}
    (officer_row,) = figures(world.db, "officer", "day")
    assert officer_row["scope_id"] == world.officer.id
    assert officer_row["unit_id"] == world.dukcapil.unit.id
    assert (officer_row["n"], officer_row["ikm"]) == (3, 75.0)  # scores 4, 3, 2
    services = {(r["unit_id"], r["scope_id"]): (r["n"], r["ikm"])
                for r in figures(world.db, "service", "week")}
    ktp, kk = world.dukcapil.services
    gigi = world.puskesmas.services[0]
    assert services == {(world.dukcapil.unit.id, ktp.id): (2, 87.5),
                        (world.dukcapil.unit.id, kk.id): (1, 25.0),
                        (world.puskesmas.unit.id, gigi.id): (1, 100.0)}
    units = {r["unit"]: r["n"] for r in rows(world.db, "unit", "month")}
    assert units == {"DUKCAPIL": 5, "PKM-KTB2": 1}
    with world.db.session_scope(write=False) as s:
        officer_scoped = s.scalars(select(Indicator).where(Indicator.scope == "officer")).all()
        assert {(i.scope_id, i.period_kind) for i in officer_scoped} == {
            (world.officer.id, "day"), (world.officer.id, "week"), (world.officer.id, "month")}


# 5. Incremental equals full --------------------------------------------------------------------


@dataclass(frozen=True)
class Planned:
    """One response to record, and when the server receives it."""

    counter: int  # index into the world's counters
    scores: tuple[int, ...]
    created_at: datetime
    received_at: datetime
    wait_band: str | None
    service: str | None
    comment: str | None
    measured: int | None
    device: str | None
    bot: bool
    channel: str


def plan_history(seed: int, start: datetime, days: int, count: int) -> list[Planned]:
    """A varied history: flags, waits, services, comments, and kiosk answers synced late."""
    rng = random.Random(seed)  # noqa: S311 (reproducible test data, not a secret)
    bands = [None, "lt5", "5-15", "15-30", "30-60", "60-120", "gt120"]
    services = {0: [None, "KTP-REKAM", "KK"], 1: [None, "KK"], 2: [None, "GIGI", "UMUM"]}
    planned = []
    for _ in range(count):
        # Service hours 07:00–16:00 WIB (00:00–09:00 UTC), with a few late-evening answers.
        created = start + timedelta(days=rng.randrange(days),
                                    minutes=rng.randrange(0, 9 * 60))
        if rng.random() < 0.08:
            created += timedelta(hours=rng.choice([9, 10]), minutes=rng.randrange(60))
        late = rng.random() < 0.15
        received = created + (timedelta(days=rng.randint(3, 20)) if late
                              else timedelta(seconds=rng.randint(1, 90)))
        counter = rng.randrange(3)
        base = rng.randint(1, 4)
        planned.append(Planned(
            counter=counter,
            scores=tuple(min(4, max(1, base + rng.choice([-1, 0, 0, 1]))) for _ in range(9)),
            created_at=created,
            received_at=received,
            wait_band=rng.choice(bands),
            service=rng.choice(services[counter]),
            comment=rng.choice([None, None, None, "Antrean panjang", "Terima kasih"]),
            measured=rng.choice([None, rng.randint(0, 480), rng.randint(0, 75)]),
            device=rng.choice([None, None, "kiosk-a", "kiosk-b"]),
            bot=rng.random() < 0.05,
            channel="kiosk" if late else "qr",
        ))
        if planned[-1].device is not None and rng.random() < 0.3:
            # The same device again three minutes later: a repeat.
            planned.append(replace(planned[-1], scores=(1,) * 9,
                                   created_at=created + timedelta(minutes=3),
                                   received_at=received + timedelta(minutes=3)))
    return sorted(planned, key=lambda p: (p.received_at, p.created_at))


def counters_of(world: World) -> list[Counter]:
    """The counters ``Planned.counter`` indexes: L1, L2 (Disdukcapil) and the Puskesmas'."""
    return [world.dukcapil.counter, world.second_counter, world.puskesmas.counter]


def record_planned(session: Session, world: World, planned: Iterable[Planned]) -> int:
    """Record planned responses, commit, and say how many."""
    counters = counters_of(world)
    count = 0
    for p in planned:
        record(session, world.app, counters[p.counter], p.scores, created_at=p.created_at,
               received_at=p.received_at, wait_band=p.wait_band, service=p.service,
               comment=p.comment, measured=p.measured, device=p.device, bot=p.bot,
               channel=p.channel)
        count += 1
    session.commit()
    return count


def staff_rosters(session: Session, world: World, start: datetime, days: int) -> None:
    """Officer one at L1 for the first half, officer two after; L2 and the Puskesmas unstaffed
    (so the officer scope covers only some responses)."""
    middle = start + timedelta(days=days // 2)
    assign_officer(session, world.officer, world.dukcapil.counter, start - timedelta(days=1),
                   middle)
    assign_officer(session, world.other_officer, world.dukcapil.counter, middle, None)
    session.commit()


def test_incremental_runs_equal_a_full_rebuild(world: World, session: Session) -> None:
    start, days = utc(2026, 9, 14, 0), 49  # Monday 07:00 WIB; seven weeks across two months
    staff_rosters(session, world, start, days)
    # Runs every few days; each run sees what the server received before its ``now``.
    nows = [start + timedelta(days=d, hours=5) for d in (3, 4, 10, 17, 18, 30, 41, 56, 70, 80)]
    history = plan_history(2017, start, days, 260)
    # One answer received a minute before each run: inside SETTLE, it waits for the next run.
    history += [Planned(k % 3, (1 + k % 4,) * 9, now - timedelta(minutes=1),
                        now - timedelta(minutes=1), "lt5", None, None, 12, None, False, "qr")
                for k, now in enumerate(nows[:-1])]
    history.sort(key=lambda p: (p.received_at, p.created_at))
    recorded = 0
    for now in nows:
        batch = [p for p in history[recorded:] if p.received_at <= now]
        recorded += record_planned(session, world, batch)
        run = run_aggregation(world.db, now=now)
        assert run.watermark == now - SETTLE
    assert recorded == len(history)
    assert sum(p.channel == "kiosk" for p in history) > 10
    with world.db.session_scope(write=False) as s:
        stored = s.scalars(select(Response)).all()
        assert sum(r.flag_repeat for r in stored) >= 5 and sum(r.flag_bot for r in stored) >= 5
        assert sum(r.officer_id is not None for r in stored) >= 30

    incremental = indicator_map(world.db)
    # Every scope and period kind is present, flags and late syncs included.
    assert {(k[0], k[2]) for k in incremental} == {
        (s, p) for s in SCOPE_ATTRS for p in PERIOD_ATTRS}
    assert sum(r["flagged"] for k, r in incremental.items() if k[:1] == ("unit",)
               and k[2] == "month") > 0
    assert incremental == reference_rows(world.db)
    histogram = histogram_map(world.db)
    assert len({k[:2] for k in histogram}) > 5  # several scopes and ids have measured waits
    assert histogram == reference_histogram(world.db)

    last = nows[-1] + timedelta(hours=1)
    full = run_aggregation(world.db, now=last, full=True)
    assert full.full is True
    assert full.rows == len(incremental)
    assert indicator_map(world.db) == incremental
    assert histogram_map(world.db) == histogram

    # Two more runs with nothing new: nothing recomputed, nothing changed (computed_at either).
    before = full_rows(world.db)
    again = run_aggregation(world.db, now=last + timedelta(minutes=10))
    assert (again.full, again.buckets, again.rows) == (False, 0, 0)
    again = run_aggregation(world.db, now=last + timedelta(minutes=20))
    assert (again.full, again.buckets, again.rows) == (False, 0, 0)
    assert full_rows(world.db) == before
    assert watermark(world.db) == last + timedelta(minutes=20) - SETTLE


def test_incremental_run_recomputes_only_touched_buckets(world: World, session: Session) -> None:
    counter = world.dukcapil.counter
    record(session, world.app, counter, [4] * 9, created_at=utc(2026, 11, 2))
    record(session, world.app, world.puskesmas.counter, [4] * 9, created_at=utc(2026, 11, 2))
    session.commit()
    first = run_aggregation(world.db, now=utc(2026, 11, 3))
    assert first.full is True
    assert first.rows == 2 * 2 * 3  # two units and two counters, three period kinds

    record(session, world.app, counter, [2] * 9, created_at=utc(2026, 11, 4))
    session.commit()
    second = run_aggregation(world.db, now=utc(2026, 11, 5))
    # DUKCAPIL unit and counter L1: day 4 Nov (new), week of 2 Nov, November.
    assert (second.full, second.buckets, second.rows) == (False, 6, 6)
    stamps = computed_at_by_key(world.db)
    fresh = {k for k, at in stamps.items() if at == utc(2026, 11, 5)}
    assert {(k[0], k[2], k[3]) for k in fresh} == {
        (scope, kind, start) for scope in ("unit", "counter")
        for kind, start in [("day", date(2026, 11, 4)), ("week", date(2026, 11, 2)),
                            ("month", date(2026, 11, 1))]}
    assert len(stamps) == 14
    week = by_start(r for r in rows(world.db, "unit", "week") if r["unit"] == "DUKCAPIL")
    assert (week["2026-11-02"]["n"], week["2026-11-02"]["ikm"]) == (2, 75.0)


# 6. A kiosk syncing late -----------------------------------------------------------------------


def test_late_kiosk_response_updates_its_old_periods_only(world: World, session: Session) -> None:
    counter = world.dukcapil.counter
    now = utc(2026, 11, 19, 8)  # Thursday
    three_weeks_ago = now - timedelta(weeks=3)  # Thursday 29 October: week of 26 Oct, October
    for week in range(4):
        record(session, world.app, counter, [3] * 9, created_at=three_weeks_ago
               + timedelta(weeks=week, hours=-4))
    session.commit()
    run_aggregation(world.db, now=now)
    before = full_rows(world.db)
    assert {k[3] for k in before if k[2] == "week"} == {
        date(2026, 10, 26), date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16)}

    # Answered on the kiosk three weeks ago, received only now.
    received = now + timedelta(minutes=30)
    late = record(session, world.app, counter, [4] * 9, created_at=three_weeks_ago,
                  received_at=received, channel="kiosk")
    session.commit()
    assert (late.local_day, late.local_week, late.local_month) == (
        date(2026, 10, 29), date(2026, 10, 26), date(2026, 10, 1))
    later = received + timedelta(minutes=5)
    run = run_aggregation(world.db, now=later)
    assert run.buckets == 2 * 3  # unit and counter × day, week, month of the old answer

    after = full_rows(world.db)
    assert after.keys() == before.keys()
    changed = {k for k in after if after[k] != before[k]}
    old = {("day", date(2026, 10, 29)), ("week", date(2026, 10, 26)),
           ("month", date(2026, 10, 1))}
    assert {(k[2], k[3]) for k in changed} == old
    assert {k[0] for k in changed} == {"unit", "counter"}
    for key in changed:
        assert after[key]["computed_at"] == later
        assert (after[key]["n"], after[key]["ikm_hundredths"]) == (2, 8750)
        assert (before[key]["n"], before[key]["ikm_hundredths"]) == (1, 7500)
    for key in after.keys() - changed:
        assert after[key]["computed_at"] == now  # untouched rows were not even rewritten


def test_late_response_in_a_week_that_spans_two_months(world: World, session: Session) -> None:
    counter = world.dukcapil.counter
    # The week of Monday 28 September 2026 ends on Sunday 4 October.
    for day in (1, 2):
        record(session, world.app, counter, [4] * 9, created_at=utc(2026, 10, day))
    session.commit()
    first = utc(2026, 10, 3)
    run_aggregation(world.db, now=first)
    late = record(session, world.app, counter, [1] * 9, created_at=utc(2026, 9, 30),
                  received_at=utc(2026, 10, 5), channel="kiosk")
    session.commit()
    # Wednesday 30 September is in the week of Thursday 1 October: October's month.
    assert (late.local_week, late.local_month) == (date(2026, 9, 28), date(2026, 10, 1))
    run_aggregation(world.db, now=utc(2026, 10, 6))

    weeks = by_start(rows(world.db, "unit", "week"))
    assert (weeks["2026-09-28"]["n"], weeks["2026-09-28"]["ikm"]) == (3, 75.0)
    months = by_start(rows(world.db, "unit", "month"))
    assert {start: (r["n"], r["ikm"]) for start, r in months.items()} == {
        "2026-10-01": (3, 75.0)}
    stamps = computed_at_by_key(world.db)
    october = ("unit", world.dukcapil.unit.id, "month", date(2026, 10, 1),
               next(iter(stamps))[4])
    assert stamps[october] == utc(2026, 10, 6)  # October was recomputed with it
    assert indicator_map(world.db) == reference_rows(world.db)


# 7. SETTLE -------------------------------------------------------------------------------------


def test_an_unsettled_response_waits_for_the_next_run(world: World, session: Session) -> None:
    counter = world.dukcapil.counter
    record(session, world.app, counter, [4] * 9, created_at=utc(2026, 11, 10, 2))
    session.commit()
    run_aggregation(world.db, now=utc(2026, 11, 10, 3))

    now = utc(2026, 11, 11, 3)
    # Received 1 min 59 s before ``now``: a transaction still open could commit an earlier
    # received_at, so it is not in this run.
    fresh = now - SETTLE + timedelta(seconds=1)
    record(session, world.app, counter, [1] * 9, created_at=fresh, received_at=fresh)
    session.commit()
    run = run_aggregation(world.db, now=now)
    assert run.buckets == 0
    assert [r["period_start"] for r in rows(world.db, "unit", "day")] == ["2026-11-10"]
    assert rows(world.db, "unit", "week")[0]["n"] == 1

    run = run_aggregation(world.db, now=now + timedelta(minutes=1))
    assert run.buckets == 2 * 3
    days = by_start(rows(world.db, "unit", "day"))
    assert days["2026-11-11"]["n"] == 1 and days["2026-11-11"]["ikm"] == 25.0
    (week,) = rows(world.db, "unit", "week")
    assert (week["n"], week["ikm"]) == (2, 62.5)
    # Later runs do not count it again.
    run_aggregation(world.db, now=now + timedelta(minutes=30))
    assert rows(world.db, "unit", "week")[0]["n"] == 2
    assert indicator_map(world.db) == reference_rows(world.db)


def test_an_unsettled_response_waits_even_in_a_touched_bucket(
    world: World, session: Session
) -> None:
    counter = world.dukcapil.counter
    record(session, world.app, counter, [4] * 9, created_at=utc(2026, 11, 10, 2))
    session.commit()
    run_aggregation(world.db, now=utc(2026, 11, 10, 3))

    now = utc(2026, 11, 10, 6)
    record(session, world.app, counter, [4] * 9, created_at=now - timedelta(minutes=10))
    record(session, world.app, counter, [1] * 9, created_at=now - timedelta(minutes=1))
    session.commit()
    run_aggregation(world.db, now=now)
    (day,) = rows(world.db, "unit", "day")
    assert (day["n"], day["ikm"]) == (2, 100.0)  # the answer of one minute ago is not in yet


def test_a_full_rebuild_leaves_out_unsettled_responses(world: World, session: Session) -> None:
    counter = world.dukcapil.counter
    now = utc(2026, 11, 10, 6)
    record(session, world.app, counter, [4] * 9, created_at=now - timedelta(hours=1))
    record(session, world.app, counter, [1] * 9, created_at=now - timedelta(minutes=1))
    record(session, world.app, world.puskesmas.counter, [1] * 9,
           created_at=now - timedelta(minutes=1))
    session.commit()
    run_aggregation(world.db, now=now, full=True)
    assert {r["unit"]: (r["n"], r["ikm"]) for r in rows(world.db, "unit", "day")} == {
        "DUKCAPIL": (1, 100.0)}


# 8. A run that stops half-way ------------------------------------------------------------------


def test_an_interrupted_run_leaves_the_old_rows_and_watermark(
    world: World, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = world.dukcapil.counter
    for day in (2, 3, 4):
        record(session, world.app, counter, [3] * 9, created_at=utc(2026, 11, day))
        record(session, world.app, world.puskesmas.counter, [2] * 9, created_at=utc(2026, 11, day))
    session.commit()
    first_now = utc(2026, 11, 5)
    run_aggregation(world.db, now=first_now)
    before = full_rows(world.db)
    histogram_before = histogram_map(world.db)
    mark = watermark(world.db)
    assert mark == first_now - SETTLE

    for day in (3, 5, 6):
        record(session, world.app, counter, [4] * 9, created_at=utc(2026, 11, day),
               received_at=utc(2026, 11, 6, 8))
        record(session, world.app, world.puskesmas.counter, [4] * 9,
               created_at=utc(2026, 11, day), received_at=utc(2026, 11, 6, 8))
    session.commit()

    real_chunks = aggregation._chunks
    inserts: list[int] = []

    def small_chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
        yield from real_chunks(items, 3)

    real_write = aggregation._write_chunk

    def failing_write(connection: Any, table: Any, chunk: Sequence[Any]) -> None:
        inserts.append(1)
        if len(inserts) == 2:
            raise RuntimeError("disk full")
        real_write(connection, table, chunk)

    monkeypatch.setattr(aggregation, "_chunks", small_chunks)
    monkeypatch.setattr(aggregation, "_write_chunk", failing_write)
    with pytest.raises(RuntimeError, match="disk full"):
        run_aggregation(world.db, now=utc(2026, 11, 7))
    assert len(inserts) == 2  # the deletes and the first chunk had run
    assert full_rows(world.db) == before
    assert histogram_map(world.db) == histogram_before
    assert watermark(world.db) == mark

    monkeypatch.undo()
    run = run_aggregation(world.db, now=utc(2026, 11, 7))
    assert run.watermark == utc(2026, 11, 7) - SETTLE
    assert indicator_map(world.db) == reference_rows(world.db)


# 9. Two runs from one watermark ----------------------------------------------------------------


def test_a_stale_computation_is_refused(world: World, session: Session) -> None:
    counter = world.dukcapil.counter
    record(session, world.app, counter, [3] * 9, created_at=utc(2026, 11, 2))
    session.commit()
    run_aggregation(world.db, now=utc(2026, 11, 3))
    record(session, world.app, counter, [4] * 9, created_at=utc(2026, 11, 4))
    session.commit()

    with world.db.session_scope(write=False) as s:
        one = compute_indicators(s, now=utc(2026, 11, 5))
    with world.db.session_scope(write=False) as s:
        two = compute_indicators(s, now=utc(2026, 11, 5, 3, 10))
    assert one.since == two.since == utc(2026, 11, 3) - SETTLE
    assert one.rows and two.rows
    with world.db.session_scope() as s:
        apply_indicators(s, one, now=utc(2026, 11, 5))
    after_first = full_rows(world.db)
    with pytest.raises(StaleWatermark), world.db.session_scope() as s:
        apply_indicators(s, two, now=utc(2026, 11, 5, 3, 10))
    assert full_rows(world.db) == after_first
    assert watermark(world.db) == utc(2026, 11, 5) - SETTLE


def test_a_full_computation_older_than_the_watermark_is_refused(
    world: World, session: Session
) -> None:
    counter = world.dukcapil.counter
    record(session, world.app, counter, [3] * 9, created_at=utc(2026, 11, 2))
    session.commit()
    with world.db.session_scope(write=False) as s:
        stale_full = compute_indicators(s, now=utc(2026, 11, 3), full=True)
    run_aggregation(world.db, now=utc(2026, 11, 3))
    record(session, world.app, counter, [1] * 9, created_at=utc(2026, 11, 4))
    session.commit()
    run_aggregation(world.db, now=utc(2026, 11, 5))
    before = full_rows(world.db)
    with pytest.raises(StaleWatermark), world.db.session_scope() as s:
        apply_indicators(s, stale_full, now=utc(2026, 11, 5, 1))
    assert full_rows(world.db) == before
    assert watermark(world.db) == utc(2026, 11, 5) - SETTLE


# 10. The commands ------------------------------------------------------------------------------

# The aggregate command reads the real clock (the CLI is the boundary); these answers are long
# settled by then.
CLI_WEEKS = (date(2025, 3, 3), date(2025, 3, 10), date(2025, 3, 17))


def seed_for_cli(session: Session, world: World) -> None:
    """Three weeks of March 2025 at L1 (n = 1, 2, 3; all 4s, 3s, 2s; service KK); the
    officer on duty only for the first week's answer."""
    counter = world.dukcapil.counter
    shift = datetime(2025, 3, 4, 2, tzinfo=UTC)
    put_on_duty(session, world.officer, counter, shift)
    for k, week in enumerate(CLI_WEEKS):
        at = datetime.combine(week + timedelta(days=1), datetime.min.time(), UTC) + timedelta(
            hours=2)
        for j in range(k + 1):
            record(session, world.app, counter, [4 - k] * 9,
                   created_at=at + timedelta(minutes=j), service="KK")
    session.commit()


def test_cli_aggregate_and_indicators(world: World, session: Session,
                                      runner: FlaskCliRunner) -> None:
    seed_for_cli(session, world)
    result = runner.invoke(args=["aggregate"])
    assert result.exit_code == 0, result.output
    assert "full rebuild" in result.output  # no watermark yet
    result = runner.invoke(args=["aggregate"])
    assert result.exit_code == 0, result.output
    assert "incremental: 0 buckets" in result.output
    result = runner.invoke(args=["aggregate", "--full"])
    assert result.exit_code == 0, result.output
    assert "full rebuild" in result.output

    result = runner.invoke(args=["indicators", "--scope", "unit", "--period", "week", "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert [(r["scope"], r["unit"], r["period"], r["period_start"], r["n"], r["ikm"],
             r["category"]) for r in printed] == [
        ("unit", "DUKCAPIL", "week", "2025-03-03", 1, 100.0, "A"),
        ("unit", "DUKCAPIL", "week", "2025-03-10", 2, 75.0, "C"),
        ("unit", "DUKCAPIL", "week", "2025-03-17", 3, 50.0, "D"),
    ]
    assert printed[1]["nrr"] == {f"U{i}": 3.0 for i in range(1, 10)}
    assert "officer" not in printed[0]


def fewer_needed(app: Flask, officer_min_n: int) -> None:
    """Lower OFFICER_MIN_N for the commands run after this (the seed has few answers)."""
    settings: Settings = app.extensions["suara.settings"]
    app.extensions["suara.settings"] = settings.replace(officer_min_n=officer_min_n)


def test_cli_indicators_officer_scope_shows_the_nip(
    world: World, session: Session, runner: FlaskCliRunner
) -> None:
    seed_for_cli(session, world)
    assert runner.invoke(args=["aggregate"]).exit_code == 0
    args = ["indicators", "--scope", "officer", "--period", "week", "--json"]
    # One answer is below OFFICER_MIN_N (10): withheld, as on the pages and in the API.
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []
    assert "1 row(s) withheld: fewer than OFFICER_MIN_N=10 responses" in result.stderr
    fewer_needed(world.app, 1)
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    (officer_row,) = json.loads(result.output)
    assert (officer_row["scope"], officer_row["unit"], officer_row["officer"],
            officer_row["period_start"], officer_row["n"], officer_row["ikm"]) == (
        "officer", "DUKCAPIL", NIP, "2025-03-03", 1, 100.0)


def test_indicator_rows_name_counters_and_services(world: World, session: Session) -> None:
    seed_for_cli(session, world)
    run_aggregation(world.db, now=datetime(2025, 4, 1, tzinfo=UTC))
    assert [(r["counter"], r["period_start"], r["n"]) for r in rows(world.db, "counter", "week")
            ] == [("L1", "2025-03-03", 1), ("L1", "2025-03-10", 2), ("L1", "2025-03-17", 3)]
    # Scores 4 once, 3 twice, 2 three times: 25 × 16 / 6 = 66.67.
    assert [(r["service"], r["n"], r["ikm"], r["category"])
            for r in rows(world.db, "service", "month")] == [("KK", 6, 66.67, "C")]


@pytest.mark.parametrize(("first", "last", "expected"), [
    ("2025-03-10", "2025-03-17", ["2025-03-10", "2025-03-17"]),
    ("2025-03-04", None, ["2025-03-10", "2025-03-17"]),  # the week of 3 March starts earlier
    (None, "2025-03-10", ["2025-03-03", "2025-03-10"]),
    ("2025-03-10", "2025-03-10", ["2025-03-10"]),
    ("2025-04-01", None, []),
])
def test_cli_indicators_from_to(world: World, session: Session, runner: FlaskCliRunner,
                                first: str | None, last: str | None,
                                expected: list[str]) -> None:
    seed_for_cli(session, world)
    assert runner.invoke(args=["aggregate"]).exit_code == 0
    args = ["indicators", "--scope", "unit", "--period", "week", "--json"]
    if first:
        args += ["--from", first]
    if last:
        args += ["--to", last]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert [r["period_start"] for r in json.loads(result.output)] == expected


def test_cli_indicators_from_after_to_fails(world: World, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["indicators", "--scope", "unit", "--period", "week",
                                 "--from", "2025-03-17", "--to", "2025-03-10"])
    assert result.exit_code != 0
    assert "--from is after --to" in result.output


def test_cli_indicators_table(world: World, session: Session, runner: FlaskCliRunner) -> None:
    seed_for_cli(session, world)
    assert runner.invoke(args=["aggregate"]).exit_code == 0
    result = runner.invoke(args=["indicators", "--scope", "unit", "--period", "week"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 3
    assert lines[1].split() == ["2025-03-10", "(2025-03-10", "to", "2025-03-16)", "DUKCAPIL",
                                "n=2", "IKM", "75.0", "C"]
    result = runner.invoke(args=["indicators", "--scope", "counter", "--period", "week"])
    assert result.exit_code == 0, result.output
    # A counter's score is its officer's: under OFFICER_MIN_N (10) it is withheld.
    assert result.stdout == "" and "3 row(s) withheld" in result.stderr
    fewer_needed(world.app, 3)
    result = runner.invoke(args=["indicators", "--scope", "counter", "--period", "week"])
    assert result.exit_code == 0, result.output
    assert "2 row(s) withheld" in result.stderr
    assert result.stdout.splitlines()[0].split() == [
        "2025-03-17", "(2025-03-17", "to", "2025-03-23)", "DUKCAPIL", "L1", "n=3", "IKM", "50.0",
        "D"]


def test_a_survey_version_change_mid_week_with_late_syncs(
    world: World, session: Session
) -> None:
    """v1 and v2 answers in one week spanning two months, late syncs, no officer on most."""
    v1 = latest(world.app.extensions["suara.surveys"], "skm-2017")
    v2 = replace(v1, version=v1.version + 1, content_hash="ab" * 32)
    tz = world.app.extensions["suara.settings"].tz
    start = utc(2026, 9, 28, 1)  # Monday 08:00 WIB; the week ends on Sunday 4 October
    assign_officer(session, world.officer, world.dukcapil.counter, start, start + timedelta(days=3))
    session.commit()
    rng = random.Random(7)  # noqa: S311
    counters = counters_of(world)
    nows = [start + timedelta(days=d, hours=10) for d in (1, 2, 3, 5, 8, 12)]
    planned = []
    for k in range(120):
        created = start + timedelta(days=rng.randrange(7), minutes=rng.randrange(9 * 60))
        late = rng.random() < 0.3
        received = created + (timedelta(days=rng.randint(1, 6)) if late else timedelta(seconds=5))
        planned.append((received, created, k))
    planned.sort()
    done = 0
    for now in nows:
        for received, created, k in planned[done:]:
            if received > now - SETTLE:
                break
            survey = v1 if created < start + timedelta(days=2, hours=5) else v2
            submission = Submission(
                client_id=uuid.uuid4(), channel="kiosk", created_at=created,
                received_at=received, measured_wait_min=rng.choice([None, rng.randint(0, 90)]),
                honeypot_filled=rng.random() < 0.05)
            answers = Answers(tuple(rng.randint(1, 4) for _ in range(9)), None, None, None)
            outcome, _ = record_response(session, survey, counters[k % 3], answers,
                                         submission, tz)
            assert outcome is Outcome.CREATED
            done += 1
        session.commit()
        run_aggregation(world.db, now=now)
    assert done == len(planned)
    incremental = indicator_map(world.db)
    assert len({k[4] for k in incremental}) == 2
    assert incremental == reference_rows(world.db)
    assert histogram_map(world.db) == reference_histogram(world.db)
    run_aggregation(world.db, now=nows[-1] + timedelta(hours=1), full=True)
    assert indicator_map(world.db) == incremental



# 9. One calendar: quarters, semesters and years are their months' (and weeks') sums ---------


def test_a_quarter_is_the_sum_of_its_whole_weeks(world: World, session: Session) -> None:
    """2026-Q4 runs from Monday 28 September 2026 to Sunday 3 January 2027: an answer on
    Wednesday 30 September is in it, one on Sunday 27 September and one on Monday
    4 January 2027 are not. Sums, n, IKM and the measured wait's percentiles of the
    quarter, the semester and the year equal those recomputed from the responses."""
    counter = world.dukcapil.counter
    rng = random.Random(15)  # noqa: S311 (reproducible test data)
    days = [date(2026, 9, 27), date(2026, 9, 30), date(2026, 10, 15), date(2026, 11, 30),
            date(2026, 12, 31), date(2027, 1, 3), date(2027, 1, 4)]
    made = []
    for k, day in enumerate(days * 3):
        scores = [rng.randint(1, 4) for _ in range(9)]
        made.append((day, scores, 5 + 7 * k % 50))
        record(session, world.app, counter, scores, measured=5 + 7 * k % 50,
               created_at=datetime(day.year, day.month, day.day, 3, tzinfo=UTC))
    session.commit()
    run_aggregation(world.db, now=utc(2027, 1, 10))
    for kind, label, first, last in (
            ("quarter", date(2026, 10, 1), date(2026, 9, 28), date(2027, 1, 3)),
            ("semester", date(2026, 7, 1), date(2026, 6, 29), date(2027, 1, 3)),
            ("year", date(2026, 1, 1), date(2025, 12, 29), date(2027, 1, 3))):
        inside = [(scores, wait) for day, scores, wait in made if first <= day <= last]
        (row,) = [r for r in rows(world.db, "unit", kind) if r["period_start"] == str(label)]
        assert (row["first_day"], row["last_day"]) == (str(first), str(last))
        assert row["n"] == len(inside), kind
        totals = [sum(s[i] for s, _ in inside) for i in range(9)]
        assert row["ikm"] == float(ikm_from_totals(totals, len(inside))), kind
        waits = [w for _, w in inside]
        assert (row["measured"]["median"], row["measured"]["p90"]) == (
            nearest_rank(waits, 50), nearest_rank(waits, 90)), kind
        weeks = [r for r in rows(world.db, "unit", "week")
                 if str(first) <= r["period_start"] <= str(last)]
        assert sum(r["n"] for r in weeks) == row["n"]
        for code in row["nrr"]:
            index = int(code[1:]) - 1
            assert row["nrr"][code] == round(totals[index] / len(inside), 4)
    # 2027-Q1 starts on Monday 4 January 2027: the first week of 2027.
    (q1,) = rows(world.db, "unit", "quarter", first=date(2027, 1, 1))
    assert (q1["first_day"], q1["n"]) == ("2027-01-04", 3)
