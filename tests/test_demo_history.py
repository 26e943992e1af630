"""`flask --app app demo --weeks N`: responses through the domain function, deterministic,
telling the story the dashboards show (Loket 3's Monday mornings, one discourteous officer,
one Puskesmas improving week by week), and seen by the next aggregation run."""

from __future__ import annotations

from datetime import date, timedelta
from statistics import mean

import pytest
from factories import WIB_ZONE
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select

from app.db import Database, utcnow
from app.demo import DUKCAPIL, IMPROVING_UNIT, SLOW_COUNTER, seed_demo, seed_history
from app.feedback import DEFAULT_SURVEY_ID
from app.jobs import run_aggregation
from app.models import Counter, Indicator, Officer, Response, Unit
from app.surveys import latest

WEEKS = 5  # enough weeks to tell a climb from a zig-zag


def db_of(app: Flask) -> Database:
    database: Database = app.extensions["suara.db"]
    return database


def demo(runner: FlaskCliRunner, *args: str) -> str:
    result = runner.invoke(args=["demo", *args])
    assert result.exit_code == 0, result.output
    return result.output


def fingerprint(app: Flask) -> list[tuple[object, ...]]:
    """Every response's identity, scores, waits and counter, in a stable order."""
    with db_of(app).session_scope(write=False) as session:
        rows = session.execute(
            select(Response.client_id, Response.created_at, Counter.code, Response.u1,
                   Response.u7, Response.u9, Response.wait_band, Response.measured_wait_min,
                   Response.flag_repeat, Response.flag_bot)
            .join(Counter, Counter.id == Response.counter_id)
            .order_by(Response.created_at, Response.client_id))
        return [tuple(row) for row in rows]


@pytest.mark.parametrize(("today", "weeks"), [
    (date(2026, 11, 30), [date(2026, 11, 16), date(2026, 11, 23)]),  # a Monday: none today yet
    (date(2026, 12, 1), [date(2026, 11, 23), date(2026, 11, 30)]),  # a Tuesday: Monday counts
])
def test_every_week_of_the_history_has_responses_whatever_the_day(
    app: Flask, today: date, weeks: list[date]
) -> None:
    with db_of(app).session_scope() as session:
        seed_demo(session, today=today, tz=WIB_ZONE, weeks_back=2, weeks_ahead=0, seed=3)
        seed_history(session, latest(app.extensions["suara.surveys"], DEFAULT_SURVEY_ID),
                     today=today, tz=WIB_ZONE, weeks=2, seed=3)
    with db_of(app).session_scope(write=False) as session:
        seen = sorted(set(session.scalars(select(Response.local_week))))
    assert seen == weeks


def test_demo_history_is_deterministic_and_tells_its_story(
    app: Flask, runner: FlaskCliRunner
) -> None:
    database = db_of(app)
    # The scheduler may already have run on the empty database: a watermark exists.
    assert run_aggregation(database, now=utcnow()).full is True

    output = demo(runner, "--weeks", str(WEEKS), "--seed", "7")
    assert "demo responses" in output
    first = fingerprint(app)
    assert len(first) > 500

    # Received in the past, behind that watermark: the next run rebuilds and sees them all.
    run = run_aggregation(database, now=utcnow() + timedelta(minutes=5))
    assert run.full is True
    with database.session_scope(write=False) as session:
        unit_n = session.scalars(select(Indicator.n).where(
            Indicator.scope == "unit", Indicator.period_kind == "day")).all()
    unflagged = sum(1 for r in first if not (r[8] or r[9]))
    assert sum(unit_n) == unflagged  # every unflagged response is in a unit-day row

    with database.session_scope(write=False) as session:
        responses = session.scalars(select(Response)).all()
        units = {u.id: u.code for u in session.scalars(select(Unit))}
        counters = {c.id: (units[c.unit_id], c.code) for c in session.scalars(select(Counter))}
        rude = session.scalars(
            select(Officer).join(Unit).where(Unit.code == DUKCAPIL,
                                             Officer.position == "Petugas Pelayanan")
            .order_by(Officer.id).offset(1).limit(1)).one()

        # Loket 3 on Monday mornings: long measured waits, far above its other hours.
        slow = [r for r in responses if counters[r.counter_id] == SLOW_COUNTER]
        monday = [r.measured_wait_min for r in slow if r.local_day.weekday() == 0
                  and r.local_hour < 12 and r.measured_wait_min is not None]
        other = [r.measured_wait_min for r in slow if not (
            r.local_day.weekday() == 0 and r.local_hour < 12) and r.measured_wait_min is not None]
        assert monday and other
        assert min(monday) >= 70 and mean(monday) > 2 * mean(other)

        # One officer's courtesy (U7) scores far below everyone else's at Disdukcapil.
        dukcapil = [r for r in responses if units[r.unit_id] == DUKCAPIL and r.officer_id]
        theirs = [r.u7 for r in dukcapil if r.officer_id == rude.id]
        others = [r.u7 for r in dukcapil if r.officer_id != rude.id]
        assert len(theirs) >= 10
        assert mean(theirs) < 2.2 < 3.0 < mean(others)

        # The improving Puskesmas: its first complete week scores below its last one.
        weeks = sorted({r.local_week for r in responses})
        improving = [r for r in responses if units[r.unit_id] == IMPROVING_UNIT]

        def week_mean(week: object) -> float:
            return mean(sum(r.scores()) / 9 for r in improving if r.local_week == week)

        assert week_mean(weeks[-2]) - week_mean(weeks[0]) > 0.3
        # Week by week, not only first against last: the weekly means climb, each week at
        # most a little (sampling noise) below the one before, the trend ~0.15 a week.
        means = [week_mean(week) for week in weeks[:-1]]  # the last week is still going on
        steps = zip(means, means[1:], strict=False)
        assert all(later > earlier - 0.15 for earlier, later in steps), means
        xs = range(len(means))
        slope = (sum((x - mean(xs)) * (y - mean(means)) for x, y in zip(xs, means, strict=True))
                 / sum((x - mean(xs)) ** 2 for x in xs))
        assert slope > 0.1, means

    # The same seed on a fresh database gives the same responses, answer for answer.
    demo(runner, "--reset", "--weeks", str(WEEKS), "--seed", "7")
    assert fingerprint(app) == first
    demo(runner, "--reset", "--weeks", str(WEEKS), "--seed", "8")
    assert fingerprint(app) != first
