"""The unit head's weekly page in both languages: English with no Indonesian left but names,
numbers and dates written the way each language writes them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

import pytest
from factories import (
    NIP,
    WIB_ZONE,
    add_response,
    add_served,
    aggregate,
    make_officer,
    make_unit,
    make_user,
    put_on_duty,
    release,
    sign_in,
    skm_survey,
)
from flask import Flask
from flask_babel import force_locale
from i18n_helpers import assert_no_indonesian, indonesian_words, visible_text
from sqlalchemy.orm import Session

from app import create_app
from app.config import Settings
from app.org import create_counter
from app.summary import NOT_A_GRADE, format_day, format_month, format_week, weekday_name

WEEK = date(2026, 11, 16)  # a Monday: the last complete week on CLOCK
CLOCK = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
AGGREGATED = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
LOW_COMMENT = "Petugas kurang ramah, antre lama."
QUICK_COMMENT = "Pelayanan cepat sekali, terima kasih."
SIDE_COUNTER = "Loket Dua Pengambilan"


@dataclass(frozen=True)
class Seeded:
    names: tuple[str, ...]  # data shown as it is in every language
    officer_id: int


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), WIB_ZONE)


@pytest.fixture
def seeded(app: Flask, session: Session, monkeypatch: pytest.MonkeyPatch) -> Seeded:
    """A unit with two counters, a scored officer and a newcomer below the minimum,
    comments, waits, a flagged answer, the week before, and the month's people served."""
    monkeypatch.setattr("app.web.dashboard.utcnow", lambda: CLOCK)
    home = make_unit(session)
    officer = make_officer(session, home)
    newcomer = make_officer(session, home, "198512302010011003", "Rina Baru")
    side = create_counter(session, home.unit, "L2", SIDE_COUNTER)
    session.commit()
    put_on_duty(session, officer, home.counter, local(WEEK, 12), margin=timedelta(days=12))
    put_on_duty(session, newcomer, side, local(WEEK, 12), margin=timedelta(days=5))
    survey = skm_survey(app)
    for minute in range(11):
        add_response(session, survey, home.counter, (3,) * 9, local(WEEK, 8, minute),
                     wait_band="15-30", measured=20 + minute)
    add_response(session, survey, home.counter, (1,) * 9, local(WEEK, 9), comment=LOW_COMMENT,
                 wait_band="60-120", measured=75)
    for minute in range(2):
        add_response(session, survey, side, (4,) * 9, local(WEEK, 10, minute),
                     comment=QUICK_COMMENT)
    add_response(session, survey, side, (4,) * 9, local(WEEK, 10, 30), bot=True)
    for minute in range(3):  # the week before, so the page shows a change
        add_response(session, survey, home.counter, (4, 3, 3, 3, 3, 3, 3, 3, 3),
                     local(WEEK - timedelta(weeks=1), 9, minute))
    add_served(session, home.unit.id, date(2026, 11, 1), 1200, source="migrated")
    session.commit()
    aggregate(app, AGGREGATED)
    make_user(session, "kepala@contoh.go.id", "unit_head", unit=home.unit)
    release(session)
    return Seeded((home.unit.name, home.counter.name, SIDE_COUNTER, officer.name,
                   newcomer.name, LOW_COMMENT, QUICK_COMMENT), officer.id)


BREAKDOWNS = ("element", "counter", "service", "profile", "officer", "wait")


def week_page(app: Flask, lang: str, by: str = "element") -> str:
    client = app.test_client()
    assert sign_in(client, "kepala@contoh.go.id").status_code == 303
    page = client.get(f"/dashboard/units/DUKCAPIL?week={WEEK.isoformat()}&lang={lang}&by={by}")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def main_of(html: str) -> str:
    """The whole page, its frame (staff_base.html: header, sign-out, language switch)
    included."""
    return html


def test_the_english_week_page_shows_no_indonesian_but_names(app: Flask, seeded: Seeded) -> None:
    pages = {by: week_page(app, "en", by) for by in BREAKDOWNS}
    for by, html in pages.items():
        assert_no_indonesian(main_of(html), seeded.names), by
        assert NIP not in html
    text = " ".join(visible_text(main_of(html)) for html in pages.values())
    # Everything the pages are made of is there, in English: every section was rendered.
    for words in ("Week 2026-W47", "16–22 November 2026", "quality C", "Poor",
                  "How are we doing?", "How long did people wait?",
                  "What pulled the index down?", "Who needs a conversation?", "What is due?",
                  "against the previous week", "(weakest)", "Requirements", "Counters",
                  "How to read the officer figures", "Adjusted values",
                  "the lowest scores first", "Monday 16/11 at 9:00 AM", "08:00",
                  "Sample adequacy for November 2026", "Enter people served per counter and day",
                  "Response rate", "Respondents by profile",
                  "A (88.31), B (76.61), and C (65.00)", "Fees reported for free services"):
        assert words in text, words
    assert "<title" in main_of(pages["element"])  # chart texts
    assert '<span lang="id">Loket Satu Perekaman</span>' in main_of(pages["counter"])


def test_numbers_follow_the_page_language(app: Flask, seeded: Seeded) -> None:
    # 11 all-3, one all-1 and two all-4 answers: 25 x (297 + 9 + 72) / (9 x 14) = 75.00;
    # counter L1 (12 answers): 25 x (297 + 9) / 108 = 70.83; 1200 people served.
    def both(by: str) -> tuple[str, str]:
        return (visible_text(main_of(week_page(app, "id", by))),
                visible_text(main_of(week_page(app, "en", by))))
    indonesian, english = both("element")
    counters_id, counters_en = both("counter")
    indonesian, english = indonesian + counters_id, english + counters_en
    for comma, point in (("75,00", "75.00"), ("70,83", "70.83"), ("1.200", "1,200"),
                         ("88,31", "88.31")):
        assert comma in indonesian and point not in indonesian, comma
        assert point in english and comma not in english, point
    assert "Senin 16/11 pukul 09.00" in indonesian
    assert "08.00" in both("wait")[0]
    assert "A (88,31), B (76,61), dan C (65,00)" in indonesian


def test_the_indonesian_page_is_caught_by_the_same_check(app: Flask, seeded: Seeded) -> None:
    """The check can fail: the Indonesian page, with the same names allowed, trips it."""
    found = set(indonesian_words(visible_text(main_of(week_page(app, "id"))), seeded.names))
    assert {"minggu", "tanggapan", "terlemah", "petugas", "sampel"} <= found



def test_dates_outside_a_request_follow_the_default_locale(settings: Settings) -> None:
    """The digest and the CLI format dates in an application context: DEFAULT_LOCALE, or the
    language forced for a reader."""
    for default, week, day, month in (
        # December 2025 is the weeks whose Thursday falls in it: 1 to 28 December.
        ("id", "29 Desember 2025 – 4 Januari 2026", "Minggu, 4 Januari 2026",
         "Desember 2025 (1–28 Desember 2025)"),
        ("en", "29 December 2025 – 4 January 2026", "Sunday, 4 January 2026",
         "December 2025 (1–28 December 2025)"),
    ):
        app = create_app(replace(settings, default_locale=default))
        try:
            with app.app_context():
                assert format_week(date(2025, 12, 29)) == week
                assert format_day(date(2026, 1, 4), weekday=True) == day
                assert format_month(date(2025, 12, 1)) == month
        finally:
            app.extensions["suara.db"].dispose()
    app = create_app(settings)
    try:
        with app.app_context(), force_locale("en"):
            assert format_week(date(2026, 11, 16)) == "16–22 November 2026"
            assert weekday_name(0) == "Monday" and weekday_name(6) == "Sunday"
            assert str(NOT_A_GRADE).startswith("Citizen feedback is material")
        with app.app_context():
            assert weekday_name(0) == "Senin"
            assert str(NOT_A_GRADE).startswith("Umpan balik warga adalah")
    finally:
        app.extensions["suara.db"].dispose()
