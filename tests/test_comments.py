"""A unit's comments page and its CSV: every filter narrows, words are taken literally,
viewers read words and weeks only, officers are refused, bad input is a 400 that says why."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pytest
from factories import (
    WIB_ZONE,
    SeededUnit,
    add_response,
    make_officer,
    make_other_unit,
    make_unit,
    make_user,
    record,
    release,
    sign_in,
    skm_survey,
)
from flask import Flask
from flask.testing import FlaskClient
from i18n_helpers import visible_text
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from app.comments import CommentFilters, search_comments
from app.models import AuditEntry
from app.org import create_counter
from app.summary_period import SummaryPeriod

WEEK = date(2026, 11, 16)  # Monday; the last complete week on CLOCK
CLOCK = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # Wednesday 10.00 WIB of the next week
SIDE = "Loket Dua Pengambilan"
QUICK = "Pelayanan cepat, terima kasih."
RUDE = "Petugas kurang ramah."
SLOW = "Antre lama, 100% kecewa."
THOUSAND = "1000 orang antre pagi ini."  # "100%" as a LIKE pattern would match it
FORMULA = '=HYPERLINK("http://contoh.test","klik")'
UNDERSCORE = "Diminta biaya_admin di loket."
NO_UNDERSCORE = "Diminta biayaXadmin di loket."  # "biaya_admin" as a LIKE pattern would match
FLAGGED = "Komentar dari bot."
BEFORE = "Komentar minggu sebelumnya."
OTHER = "Komentar Puskesmas lain."
WEEK_COMMENTS = {QUICK, RUDE, SLOW, THOUSAND, FORMULA, UNDERSCORE, NO_UNDERSCORE}


@dataclass
class World:
    home: SeededUnit
    side_id: int
    other_counter_id: int
    paths: dict[str, str]


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), WIB_ZONE)


@pytest.fixture
def world(app: Flask, session: Session, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setattr("app.web.comments.utcnow", lambda: CLOCK)
    home, other = make_unit(session), make_other_unit(session)
    side = create_counter(session, home.unit, "L2", SIDE)
    session.commit()
    officer = make_officer(session, home)
    ktp, kk = (s.code for s in home.services)
    rows = [  # counter, service, scores, comment, when
        (home.counter, ktp, (4,) * 9, QUICK, local(WEEK, 9)),
        (home.counter, kk, (3, 3, 3, 3, 3, 3, 1, 3, 3), RUDE, local(WEEK + timedelta(days=1), 10)),
        (side, None, (1,) * 9, SLOW, local(WEEK + timedelta(days=2), 11)),
        (side, ktp, (2,) * 9, FORMULA, local(WEEK + timedelta(days=3), 12)),
        (home.counter, None, (3,) * 9, THOUSAND, local(WEEK + timedelta(days=4), 8)),
        (home.counter, None, (3,) * 9, UNDERSCORE, local(WEEK + timedelta(days=4), 9)),
        (home.counter, None, (3,) * 9, NO_UNDERSCORE, local(WEEK + timedelta(days=4), 10)),
        (home.counter, None, (3,) * 9, None, local(WEEK + timedelta(days=4), 11)),
        (home.counter, None, (2,) * 9, BEFORE, local(WEEK - timedelta(days=3), 9)),
        (other.counter, None, (1,) * 9, OTHER, local(WEEK, 9)),
    ]
    for counter, service, scores, comment, at in rows:
        record(app, session, counter, at, scores=scores, comment=comment, service=service)
    add_response(session, skm_survey(app), home.counter, (1,) * 9, local(WEEK, 14),
                 comment=FLAGGED, bot=True)
    session.commit()
    make_user(session, "admin@contoh.go.id", "admin")
    make_user(session, "pemantau@contoh.go.id", "viewer")
    make_user(session, "kepala@contoh.go.id", "unit_head", unit=home.unit)
    make_user(session, "kepala.pkm@contoh.go.id", "unit_head", unit=other.unit)
    make_user(session, "petugas@contoh.go.id", "officer", unit=home.unit, officer=officer)
    side_id, other_counter_id = side.id, other.counter.id
    release(session)
    return World(home, side_id, other_counter_id, {"page": "/dashboard/units/DUKCAPIL/comments",
                                 "csv": "/dashboard/units/DUKCAPIL/comments.csv"})


def signed_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, email).status_code == 303
    return client


def text(page: TestResponse) -> str:
    return visible_text(page.get_data(as_text=True))


def shown(page: TestResponse) -> set[str]:
    """The seeded comments a page lists (its HTML escapes quotes)."""
    body = page.get_data(as_text=True)
    everything = WEEK_COMMENTS | {FLAGGED, BEFORE, OTHER}
    return {c for c in everything if c.replace('"', "&#34;") in body or c in body}


def csv_rows(answer: TestResponse) -> list[list[str]]:
    assert answer.status_code == 200, answer.status_code
    assert answer.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(answer.get_data(as_text=True))))


# What is listed --------------------------------------------------------------------------------


def test_a_head_sees_the_last_complete_weeks_unflagged_comments_with_their_details(
    app: Flask, world: World
) -> None:
    page = signed_in(app, "kepala@contoh.go.id").get(world.paths["page"] + "?lang=en")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "private, no-store"
    assert shown(page) == WEEK_COMMENTS  # not the week before, the bot, nor another unit
    seen = text(page)
    assert "7 comments match." in seen
    assert SIDE in seen and "Kartu Keluarga" in seen and "KTP-el — Perekaman" in seen
    assert "2.78" in seen  # RUDE's mean score: (8 × 3 + 1) / 9
    assert "Tuesday 17 Nov 2026 at 10:00" in seen  # local time (WIB)
    body = page.get_data(as_text=True)
    assert 'name="period" size="10" type="text" value="2026-W47"' in body  # the default, named
    # Newest first.
    assert body.index("biayaXadmin") < body.index(RUDE) < body.index(QUICK)


NARROWED = [  # query, the comments it leaves
    ("counter={side}", {SLOW, FORMULA}),
    ("service={kk}", {RUDE}),
    ("service={ktp}&counter={side}", {FORMULA}),
    ("element=U7&at_most=1", {RUDE, SLOW}),
    ("at_most=2", {SLOW, FORMULA}),  # the mean of the nine at most 2
    ("at_most=1", {SLOW}),
    ("q=kurang+ramah", {RUDE}),
    ("q=RAMAH+petugas", {RUDE}),  # every word, in any order and case
    ("q=ramah+cepat", set()),
    ("q=100%25", {SLOW}),  # % is a character, not a wildcard
    ("q=biaya_admin", {UNDERSCORE}),  # and so is _
    ("q=%25", {SLOW}),
    ("period=2026-11", WEEK_COMMENTS | {BEFORE}),  # November's weeks hold the week before
    ("from=2026-11-13&to=2026-11-16", {BEFORE, QUICK}),
    ("period=2026-W46", {BEFORE}),
    ("week=2026-11-12", {BEFORE}),  # the summary's older links: a day of the week
]


def test_each_filter_narrows_the_comments_on_the_page_and_in_the_csv(
    app: Flask, world: World
) -> None:
    ktp, kk = (s.id for s in world.home.services)
    client = signed_in(app, "kepala@contoh.go.id")
    for query, expected in NARROWED:
        query = query.format(side=world.side_id, ktp=ktp, kk=kk)
        page = client.get(f"{world.paths['page']}?{query}")
        assert page.status_code == 200, (query, text(page))
        assert shown(page) == expected, query
        rows = csv_rows(client.get(f"{world.paths['csv']}?{query}"))
        assert {row[-1].removeprefix("'") for row in rows[1:]} == expected, query


def test_the_lowest_scores_first_when_asked(app: Flask, world: World) -> None:
    page = signed_in(app, "kepala@contoh.go.id").get(world.paths["page"] + "?order=lowest")
    body = page.get_data(as_text=True)
    assert body.index(SLOW) < body.index(RUDE) < body.index(QUICK)


def test_comments_are_paged(app: Flask, session: Session, world: World) -> None:
    filters = CommentFilters(SummaryPeriod.of("week", WEEK))
    first = search_comments(session, world.home.unit.id, filters, 1, tz=WIB_ZONE,
                            officer_detail=True, page_size=3)
    last = search_comments(session, world.home.unit.id, filters, 3, tz=WIB_ZONE,
                           officer_detail=True, page_size=3)
    release(session)
    assert (first.total, first.pages, first.has_next, last.has_next) == (7, 3, True, False)
    assert len(first.rows) == 3 and len(last.rows) == 1
    assert last.rows[0].text == QUICK  # the oldest, last


# Privacy --------------------------------------------------------------------------------------


def test_a_viewer_reads_words_and_weeks_only_on_the_page_and_in_the_csv(
    app: Flask, world: World
) -> None:
    client = signed_in(app, "pemantau@contoh.go.id")
    page = client.get(world.paths["page"] + "?lang=en")
    assert page.status_code == 200
    assert shown(page) == WEEK_COMMENTS
    seen, body = text(page), page.get_data(as_text=True)
    for hidden in (SIDE, "Loket Satu Perekaman", "Kartu Keluarga", "KTP-el", "2.78", "10:00",
                   "Score of"):
        assert hidden not in seen
    assert 'name="counter"' not in body and 'name="at_most"' not in body
    assert 'name="from"' not in body
    assert "Week of 16–22 November 2026" in seen
    # Within a week, by the words, not by time (which would tell the day).
    assert body.index(SLOW) < body.index(UNDERSCORE) < body.index(QUICK) < body.index(RUDE)
    rows = csv_rows(client.get(world.paths["csv"] + "?period=2026-11"))
    assert rows[0] == ["week", "comment"]
    assert [row[0] for row in rows[1:]] == ["2026-11-16"] * 7 + ["2026-11-09"]
    flat = "\n".join(",".join(row) for row in rows)
    assert SIDE not in flat and "Kartu Keluarga" not in flat


def test_a_viewer_cannot_filter_or_order_by_what_points_to_an_officer(
    app: Flask, world: World
) -> None:
    kk = world.home.services[1].id
    client = signed_in(app, "pemantau@contoh.go.id")
    for query in ("counter={side}", "service={kk}", "at_most=1", "element=U7&at_most=2",
                  "order=lowest", "counter=999999", "element=U7"):
        for path in world.paths.values():
            answer = client.get(f"{path}?{query.format(side=world.side_id, kk=kk)}&lang=en")
            assert answer.status_code == 400, query
            assert "is for unit heads and administrators" in text(answer), query
            assert not shown(answer)
    answer = client.get(world.paths["page"] + "?from=2026-11-13&to=2026-11-16&lang=en")
    assert answer.status_code == 400
    assert "Custom date ranges are for unit heads and administrators" in text(answer)


def test_officers_are_refused_and_another_units_head_finds_nothing(
    app: Flask, world: World
) -> None:
    officer = signed_in(app, "petugas@contoh.go.id")
    stranger = signed_in(app, "kepala.pkm@contoh.go.id")
    for path in world.paths.values():
        assert officer.get(path).status_code == 403
        answer = stranger.get(path)
        assert answer.status_code == 404 and not shown(answer)
    assert app.test_client().get(world.paths["page"]).status_code == 302  # to sign-in


# The CSV ----------------------------------------------------------------------------------------


def test_the_csv_neutralises_formulas_and_is_recorded(
    app: Flask, session: Session, world: World
) -> None:
    answer = signed_in(app, "admin@contoh.go.id").get(world.paths["csv"] + "?period=2026-W47")
    assert 'filename="comments-DUKCAPIL-2026-W47.csv"' in answer.headers["Content-Disposition"]
    rows = csv_rows(answer)
    assert rows[0] == ["week", "local_time", "counter", "service", "mean_score",
                       "U1", "U2", "U3", "U4", "U5", "U6", "U7", "U8", "U9", "comment"]
    formula = next(row for row in rows if "HYPERLINK" in row[-1])
    assert formula[-1] == "'" + FORMULA
    assert formula[1:5] == ["2026-11-19T12:00+07:00", SIDE, "KTP-el — Perekaman", "2.00"]
    assert formula[5:14] == ["2"] * 9
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "export.comments")
                            ).one()
    release(session)
    assert entry.object_id == "comments" and '"unit": "DUKCAPIL"' in (entry.after or "")


# Bad input --------------------------------------------------------------------------------------


REFUSED = [  # query, the reason given
    ("counter=999999", "Choose one of this unit's counters."),
    ("counter=abc", "Choose one of this unit's counters."),
    ("counter={other}", "Choose one of this unit's counters."),  # another unit's counter
    ("service=12345678901234567890", "Choose one of this unit's services."),
    ("at_most=5", "Choose a highest score of 1, 2 or 3."),
    ("at_most=0", "Choose a highest score of 1, 2 or 3."),
    ("at_most=-1", "Choose a highest score of 1, 2 or 3."),
    ("element=U10&at_most=1", "Choose an element from U1 to U9."),
    ("element=U7", "Choose the highest score as well."),
    ("order=random", "Choose the newest or the lowest scores first."),
    ("q=" + "a" * 101, "At most 100 characters."),
    ("q=" + "+".join("abcdefghi"), "Search for at most 8 words."),
    ("period=2026-W60", "Write the period as a week"),
    ("period=kemarin", "Write the period as a week"),
    ("period=" + "9" * 40, "A period has at most 16 characters."),
    ("from=2026-02-30&to=2026-03-01", "The date 2026-02-30 is not in the calendar."),
    ("from=2026-11-20&to=2026-11-01", "The range ends before it begins."),
    ("from=2020-01-01&to=2026-01-01", "A range is at most 800 days"),
    ("from=2026-11-01", "Write the last day as a date YYYY-MM-DD"),
    ("week=16-11-2026", "Write the week as a date YYYY-MM-DD"),
    ("page=0", "Enter a page between 1 and 100000."),
    ("page=abc", "Enter a whole page number."),
]


def test_bad_filters_are_a_400_that_says_why(app: Flask, world: World) -> None:
    client = signed_in(app, "kepala@contoh.go.id")
    for query, message in REFUSED:
        for path in world.paths.values():
            answer = client.get(f"{path}?{query.format(other=world.other_counter_id)}&lang=en")
            assert answer.status_code == 400, (query, answer.status_code)
            assert message in text(answer), query
            assert "Please correct the filters marked below." in text(answer)
            assert not shown(answer), query


def test_a_refusal_is_in_the_readers_language(app: Flask, world: World) -> None:
    answer = signed_in(app, "kepala@contoh.go.id").get(world.paths["page"] + "?page=abc&lang=id")
    assert answer.status_code == 400
    assert "Tulis nomor halaman berupa bilangan bulat." in text(answer)
    assert "Perbaiki saringan yang ditandai di bawah." in text(answer)


def test_a_page_past_the_last_is_empty_not_an_error(app: Flask, world: World) -> None:
    answer = signed_in(app, "kepala@contoh.go.id").get(world.paths["page"] + "?page=9&lang=en")
    assert answer.status_code == 200
    assert not shown(answer) and "7 comments match." in text(answer)
