"""Units side by side (issue 17, point 6): the unit list over any period, each unit's IKM with
its 95 % interval and n, ordered by name, and the regency's for administrators."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from factories import (
    WIB_ZONE,
    SeededUnit,
    add_response,
    aggregate,
    make_unit,
    make_user,
    release,
    sign_in,
    skm_survey,
)
from flask import Flask
from flask.testing import FlaskClient
from i18n_helpers import visible_text
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from app.scoring import mean_interval_95, total_to_ikm
from app.summary_period import SummaryPeriod
from app.unit_comparison import compare_units

WEEK = date(2026, 11, 16)  # Monday of 2026-W47, the last complete week on CLOCK
OCTOBER_WEEK = date(2026, 10, 5)  # in 2026-10 and 2026-Q4, not in 2026-11
CLOCK = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # Wednesday 10.00 WIB of the next week
AGGREGATED = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)

# Names sort differently from codes and from scores: the list follows the names.
LOW = ("ALFA", "Dinas Kependudukan")  # 6 × all 1, 6 × all 2: wholly below the regency
SMALL = ("KECIL", "Bougenvil Kecil")  # 3 × all 3: too few for a viewer
HIGH = ("MID", "Cempaka Puskesmas")  # 6 × all 4, 6 × all 3, and 4 × all 4 in October
WIDE = ("ZETA", "Anggrek Puskesmas")  # 3 each of all 1 … all 4: overlaps the regency
NAME_ORDER = [WIDE[1], SMALL[1], HIGH[1], LOW[1]]


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), WIB_ZONE)


def scores_of(unit: tuple[str, str], week: date) -> list[int]:
    """Each response's score (the same for all nine elements) the world gives ``unit``."""
    if week == OCTOBER_WEEK:
        return [4] * 4 if unit == HIGH else []
    return {LOW: [1] * 6 + [2] * 6, SMALL: [3] * 3, HIGH: [4] * 6 + [3] * 6,
            WIDE: [1, 2, 3, 4] * 3}[unit]


def expected_interval(scores: list[int]) -> tuple[Decimal, Decimal]:
    """The 95 % interval on the IKM scale, computed here from the responses' totals."""
    totals = [9 * s for s in scores]
    bounds = mean_interval_95(sum(totals), sum(t * t for t in totals), len(totals))
    assert bounds is not None
    return total_to_ikm(bounds[0]), total_to_ikm(bounds[1])


@pytest.fixture
def world(app: Flask, session: Session, monkeypatch: pytest.MonkeyPatch
          ) -> dict[str, SeededUnit]:
    monkeypatch.setattr("app.web.dashboard.utcnow", lambda: CLOCK)
    survey = skm_survey(app)
    units = {}
    for code, name in (LOW, SMALL, HIGH, WIDE):
        seeded = make_unit(session, code, name, counter=(f"L-{code}", f"Loket {code}"))
        units[code] = seeded
        for week in (WEEK, OCTOBER_WEEK):
            for minute, score in enumerate(scores_of((code, name), week)):
                add_response(session, survey, seeded.counter, (score,) * 9,
                             local(week + timedelta(days=1), 9, minute))
    session.commit()
    aggregate(app, AGGREGATED)
    make_user(session, "admin@contoh.go.id", "admin")
    make_user(session, "pemantau@contoh.go.id", "viewer")
    make_user(session, "kepala@contoh.go.id", "unit_head", unit=units["MID"].unit)
    release(session)
    return units


def signed_in(app: Flask, email: str, *, english: bool = True) -> FlaskClient:
    client = app.test_client()
    if english:  # the new wording is checked in the msgids' own language
        assert client.get("/masuk?lang=en").status_code == 200
    answer = sign_in(client, email)
    assert answer.status_code == 303, answer.status_code
    return client


def rows(page: TestResponse) -> dict[str, str]:
    """Each unit's table row as visible text, by unit code, in page order."""
    body = page.get_data(as_text=True)
    table = body[body.index('id="unit-intervals"'):body.index("</tbody>")]
    found = {}
    for row in re.findall(r"<tr><th scope=\"row\">.*?</tr>", table, re.S):
        text = visible_text(row)
        code = next(c for c, _ in (LOW, SMALL, HIGH, WIDE) if f" {c} " in f" {text} ")
        found[code] = text
    return found


def names_in_order(page: TestResponse) -> list[str]:
    text = visible_text(page.get_data(as_text=True))
    return sorted(NAME_ORDER, key=text.index)


def number(value: Decimal) -> str:
    return f"{value:.2f}"


# The page ------------------------------------------------------------------------------------


def test_an_admin_sees_each_unit_by_name_with_its_interval_and_the_regency(
    app: Flask, world: dict[str, SeededUnit]
) -> None:
    page = signed_in(app, "admin@contoh.go.id").get("/dashboard/units?period=2026-W47")
    assert page.status_code == 200
    assert names_in_order(page) == NAME_ORDER  # by name, not by code or by score
    found = rows(page)
    assert list(found) == ["ZETA", "KECIL", "MID", "ALFA"]
    for unit in (LOW, HIGH, WIDE):
        low, high = expected_interval(scores_of(unit, WEEK))
        assert f"{number(low)} – {number(high)}" in found[unit[0]], unit
        assert f" {len(scores_of(unit, WEEK))} " in f" {found[unit[0]]} "
    assert "37.50" in found["ALFA"] and "87.50" in found["MID"] and "62.50" in found["ZETA"]
    # An administrator sees even three responses (75.00, an interval of no width).
    assert "75.00 75.00 – 75.00" in found["KECIL"]
    # The regency: every unit's responses together.
    regency = [s for u in (LOW, SMALL, HIGH, WIDE) for s in scores_of(u, WEEK)]
    low, high = expected_interval(regency)
    body = visible_text(page.get_data(as_text=True))
    assert f"Regency (all units together) {len(regency)}" in body
    assert f"{number(low)} – {number(high)}" in body
    # Only the unit whose whole interval lies below the regency's is marked, not the one
    # whose interval overlaps it, nor the one above it.
    assert "below the regency" in found["ALFA"]
    for code in ("ZETA", "MID", "KECIL"):
        assert "below the regency" not in found[code], code
    assert "whole interval lies below the regency" in body  # the legend
    # Each unit's summary opens on the same period.
    html = page.get_data(as_text=True)
    assert 'href="/dashboard/units/ALFA?period=2026-W47"' in html
    # The chart beside the table draws the same intervals, the regency's shaded.
    assert "<title" in html and "IKM per unit with its 95% interval" in html
    assert "The shaded band is the regency&#39;s interval" in html


def test_the_marking_compares_whole_intervals(app: Flask, session: Session,
                                              world: dict[str, SeededUnit]) -> None:
    with app.test_request_context():
        found = compare_units(session, None, SummaryPeriod.of("week", WEEK), min_n=0,
                              with_regency=True)
    release(session)
    assert found.regency is not None and found.regency.low is not None
    lines = {line.unit.code: line for line in found.lines}
    low = lines["ALFA"].index
    wide = lines["ZETA"].index
    assert low.high is not None and low.high < found.regency.low
    assert lines["ALFA"].below_regency
    # ZETA's IKM lies below the regency's lower bound, but its interval overlaps it.
    assert wide.ikm is not None and wide.low is not None and wide.high is not None
    assert wide.low < found.regency.low <= wide.high
    assert not lines["ZETA"].below_regency
    # Without the regency (not an administrator), nothing is marked.
    with app.test_request_context():
        plain = compare_units(session, None, SummaryPeriod.of("week", WEEK), min_n=0)
    release(session)
    assert plain.regency is None and not any(line.below_regency for line in plain.lines)


def test_a_viewer_sees_no_score_below_the_minimum_and_no_regency(
    app: Flask, world: dict[str, SeededUnit]
) -> None:
    page = signed_in(app, "pemantau@contoh.go.id").get("/dashboard/units?period=2026-W47")
    found = rows(page)
    assert list(found) == ["ZETA", "KECIL", "MID", "ALFA"]  # every unit, by name
    assert "not enough data (fewer than 10" in found["KECIL"]
    assert "75.00" not in page.get_data(as_text=True)  # nowhere, the chart included
    assert " 3 " in f" {found['KECIL']} "  # n stays
    assert "37.50" in found["ALFA"]  # twelve responses are enough
    body = visible_text(page.get_data(as_text=True))
    assert "Regency" not in body and "below the regency" not in body
    assert 'name="from"' not in page.get_data(as_text=True)  # no custom range offered


def test_a_unit_head_sees_their_unit_only_and_may_choose_days(
    app: Flask, world: dict[str, SeededUnit]
) -> None:
    client = signed_in(app, "kepala@contoh.go.id")
    page = client.get("/dashboard/units")  # the last complete week by default
    assert list(rows(page)) == ["MID"]
    assert "Regency" not in visible_text(page.get_data(as_text=True))
    assert 'name="from"' in page.get_data(as_text=True)
    ranged = client.get("/dashboard/units?from=2026-10-01&to=2026-11-30")
    assert ranged.status_code == 200
    assert " 16 " in rows(ranged)["MID"]  # October's 4 and November's 12
    assert "Custom range 1 October – 30 November 2026" in \
        visible_text(ranged.get_data(as_text=True))
    assert 'href="/dashboard/units/MID?from=2026-10-01&amp;to=2026-11-30"' in \
        ranged.get_data(as_text=True)


@pytest.mark.parametrize(("query", "n_high", "n_low"), [
    ("period=2026-11", 12, 12),
    ("period=2026-10", 4, 0),
    ("period=2026-Q4", 16, 12),
    ("period=2026-S2", 16, 12),
    ("period=2026", 16, 12),
    ("from=2026-10-01&to=2026-10-31", 4, 0),
    ("from=2026-10-01&to=2026-11-30", 16, 12),
])
def test_any_period_sums_its_days(app: Flask, world: dict[str, SeededUnit], query: str,
                                  n_high: int, n_low: int) -> None:
    page = signed_in(app, "admin@contoh.go.id").get(f"/dashboard/units?{query}")
    assert page.status_code == 200
    found = rows(page)
    assert f"MID {n_high} " in found["MID"]
    assert f"ALFA {n_low} " in found["ALFA"]


def test_a_quarter_scores_its_months_together(app: Flask, world: dict[str, SeededUnit]) -> None:
    page = signed_in(app, "admin@contoh.go.id").get("/dashboard/units?period=2026-Q4")
    scores = scores_of(HIGH, WEEK) + scores_of(HIGH, OCTOBER_WEEK)
    low, high = expected_interval(scores)
    assert f"{number(low)} – {number(high)}" in rows(page)["MID"]
    assert "Quarter 2026-Q4 (28 September 2026 – 3 January 2027)" in \
        visible_text(page.get_data(as_text=True))


def test_the_navigation_keeps_the_kind_and_offers_the_others(
    app: Flask, world: dict[str, SeededUnit]
) -> None:
    html = signed_in(app, "admin@contoh.go.id").get(
        "/dashboard/units?period=2026-10").get_data(as_text=True)
    assert 'href="/dashboard/units?period=2026-09" rel="prev"' in html
    assert 'href="/dashboard/units?period=2026-11" rel="next"' in html
    for name in ("2026-W44", "2026-Q4", "2026-S2", "2026"):  # the days of October's end
        assert f'href="/dashboard/units?period={name}"' in html
    # November is in progress on CLOCK: no link to December, which has not begun.
    current = signed_in(app, "admin@contoh.go.id").get("/dashboard/units?period=2026-11")
    assert 'rel="next"' not in current.get_data(as_text=True)
    assert "This period is not over yet" in visible_text(current.get_data(as_text=True))


def test_a_period_not_begun_shows_the_one_in_progress(
    app: Flask, world: dict[str, SeededUnit]
) -> None:
    client = signed_in(app, "admin@contoh.go.id")
    answer = client.get("/dashboard/units?period=2026-12")
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/dashboard/units?period=2026-11"
    page = visible_text(client.get(answer.headers["Location"]).get_data(as_text=True))
    assert "Month 2026-12 (30 November 2026 – 3 January 2027) has not come yet" in page


def test_a_viewer_cannot_choose_a_custom_range(app: Flask, world: dict[str, SeededUnit]
                                               ) -> None:
    answer = signed_in(app, "pemantau@contoh.go.id").get(
        "/dashboard/units?from=2026-10-01&to=2026-11-30")
    assert answer.status_code == 400
    assert ("Custom date ranges are for unit heads and administrators; choose a week, month, "
            "quarter, semester or year.") in visible_text(answer.get_data(as_text=True))
    assert "37.50" not in answer.get_data(as_text=True)


@pytest.mark.parametrize(("query", "message"), [
    ("period=2026-W54", "Write the period as a week (2026-W48)"),
    ("period=kemarin", "Write the period as a week (2026-W48)"),
    ("period=2026-13", "Write the period as a week (2026-W48)"),
    ("from=2026-11-30&to=2026-11-01", "The range ends before it begins."),
    ("from=2026-02-30&to=2026-03-01", "The date 2026-02-30 is not in the calendar."),
    ("from=2026-11-01", "Write the last day as a date YYYY-MM-DD"),
    ("from=2024-01-01&to=2026-11-01", "A range is at most 800 days"),
    ("from=2026-12-01&to=2026-12-31", "The range begins after today"),
    ("week=2026-11-31", "The date 2026-11-31 is not in the calendar."),
])
def test_a_bad_period_is_refused_with_its_reason(app: Flask, world: dict[str, SeededUnit],
                                                 query: str, message: str) -> None:
    answer = signed_in(app, "admin@contoh.go.id").get(f"/dashboard/units?{query}")
    assert answer.status_code == 400
    assert message in visible_text(answer.get_data(as_text=True))


def test_the_page_is_indonesian_by_default(app: Flask, world: dict[str, SeededUnit]) -> None:
    page = signed_in(app, "admin@contoh.go.id", english=False).get(
        "/dashboard/units?period=2026-W47")
    found = rows(page)
    assert "37,50" in found["ALFA"]
    low, high = expected_interval(scores_of(LOW, WEEK))
    assert f"{number(low).replace('.', ',')} – {number(high).replace('.', ',')}" in found["ALFA"]
    assert "16–22 November 2026" in visible_text(page.get_data(as_text=True))
