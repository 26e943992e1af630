"""The one calendar of periods: ISO weeks, and months to years made of whole weeks."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.periods import (
    PERIOD_KINDS,
    first_day,
    last_day,
    months_of,
    next_period,
    parse_period,
    period_name,
    period_start,
    previous_period,
    weeks_of,
)

DAYS = st.dates(min_value=date(2001, 1, 1), max_value=date(2099, 12, 31))


@given(DAYS)
def test_every_day_lies_in_its_periods(day: date) -> None:
    for kind in PERIOD_KINDS:
        label = period_start(kind, day)
        assert first_day(kind, label) <= day <= last_day(kind, label)
        assert period_start(kind, first_day(kind, label)) == label
        assert previous_period(kind, next_period(kind, label)) == label
        # Periods tile the calendar: the next one starts the day after this one ends.
        assert first_day(kind, next_period(kind, label)) == last_day(kind, label) + timedelta(1)
        if kind != "day":
            assert first_day(kind, label).weekday() == 0 and last_day(kind, label).weekday() == 6


@given(DAYS)
def test_a_week_belongs_to_the_month_of_its_thursday(day: date) -> None:
    thursday = day - timedelta(days=day.weekday()) + timedelta(days=3)
    assert period_start("month", day) == thursday.replace(day=1)
    assert period_start("year", day).year == day.isocalendar().year


@given(DAYS)
def test_longer_periods_are_their_months_and_weeks(day: date) -> None:
    for kind in ("quarter", "semester", "year"):
        label = period_start(kind, day)
        months = months_of(kind, label)
        assert first_day(kind, label) == first_day("month", months[0])
        assert last_day(kind, label) == last_day("month", months[-1])
        assert sum(len(weeks_of("month", m)) for m in months) == len(weeks_of(kind, label))
    assert len(weeks_of("year", period_start("year", day))) in (52, 53)
    assert len(weeks_of("month", period_start("month", day))) in (4, 5)


@pytest.mark.parametrize(("name", "kind", "label", "first", "last"), [
    ("2026-Q4", "quarter", date(2026, 10, 1), date(2026, 9, 28), date(2027, 1, 3)),
    ("2026-11", "month", date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 29)),
    ("2026-S2", "semester", date(2026, 7, 1), date(2026, 6, 29), date(2027, 1, 3)),
    ("2026", "year", date(2026, 1, 1), date(2025, 12, 29), date(2027, 1, 3)),
    ("2026-W48", "week", date(2026, 11, 23), date(2026, 11, 23), date(2026, 11, 29)),
    ("2020-W53", "week", date(2020, 12, 28), date(2020, 12, 28), date(2021, 1, 3)),
])
def test_names_and_exact_days(name: str, kind: str, label: date, first: date,
                              last: date) -> None:
    assert parse_period(name) == (kind, label)
    assert period_name(kind, label) == name
    assert (first_day(kind, label), last_day(kind, label)) == (first, last)


@pytest.mark.parametrize("text", ["2026-Q5", "2026-13", "2026-00", "2026-S3", "2026-W54",
                                  "2025-W53", "1999", "2101-Q1", "26-Q4", "2026-q4", "",
                                  "2026-11-01", "2026\x00", "２０２６"])
def test_bad_names_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_period(text)


def test_a_label_must_name_its_period() -> None:
    with pytest.raises(ValueError):
        first_day("quarter", date(2026, 11, 1))
    with pytest.raises(ValueError):
        next_period("week", date(2026, 11, 24))
