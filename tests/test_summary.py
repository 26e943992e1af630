"""The weekly summary: regulation figures, change, weakest elements, fair officer figures."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from factories import (
    NIP,
    OTHER_NIP,
    WIB_ZONE,
    SeededUnit,
    add_response,
    add_served,
    aggregate,
    make_officer,
    make_unit,
    put_on_duty,
    release,
    skm_survey,
)
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

import app.digests as digests_module
import app.summary as summary_module
from app.digests import digest_text
from app.indicators import indicator_rows
from app.models import Counter, Officer, ServedDay
from app.org import create_counter
from app.summary import (
    COMMENT_LIMIT,
    adequacy_month,
    last_complete_week,
    officer_summary,
    weekly_summary,
)
from app.summary_period import parse_week
from app.surveys import Text, reference_survey

WEEK = date(2026, 11, 16)  # a Monday
NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
# Test vector A of the reference: n = 29, element totals U1..U9, IKM 91.48 (A).
VECTOR_A = (105, 101, 100, 116, 102, 105, 106, 105, 115)
ALL_3 = (3,) * 9
ALL_4 = (4,) * 9


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """An aware instant at a local (WIB) wall-clock time."""
    return datetime.combine(day, time(hour, minute), WIB_ZONE)


def vector_a_responses() -> list[tuple[int, ...]]:
    """29 questionnaires whose element totals are exactly VECTOR_A (scores 3 or 4)."""
    extra = [total - 29 * 3 for total in VECTOR_A]
    return [tuple(4 if i < e else 3 for e in extra) for i in range(29)]


def seed(app: Flask, session: Session, unit: SeededUnit, scores: list[tuple[int, ...]],
         day: date, *, counter: Counter | None = None, **kwargs: object) -> None:
    """Store responses a minute apart from 08.00 local on ``day`` (then commit)."""
    survey = skm_survey(app)
    for index, response in enumerate(scores):
        add_response(session, survey, counter or unit.counter, response,
                     local(day, 8) + timedelta(minutes=index), **kwargs)
    session.commit()


def test_the_weekly_ikm_is_the_regulations_value(app: Flask, session: Session) -> None:
    seeded = make_unit(session)
    seed(app, session, seeded, vector_a_responses(), WEEK + timedelta(days=1))
    aggregate(app, NOW)
    summary = weekly_summary(session, seeded.unit.id, WEEK, officer_min_n=10)
    release(session)
    assert summary.n == 29
    assert summary.ikm == Decimal("91.48")
    assert summary.category is not None
    assert (summary.category.letter, summary.category.label_id) == ("A", "Sangat baik")
    nrr = {e.code: e.nrr for e in summary.elements}
    assert nrr == {"U1": Decimal("3.6207"), "U2": Decimal("3.4828"), "U3": Decimal("3.4483"),
                   "U4": Decimal("4.0000"), "U5": Decimal("3.5172"), "U6": Decimal("3.6207"),
                   "U7": Decimal("3.6552"), "U8": Decimal("3.6207"), "U9": Decimal("3.9655")}
    # U3 (100 / 29) is the weakest, and only it.
    assert [e.code for e in summary.weakest] == ["U3"]
    assert summary.week_start == WEEK and summary.week_end == date(2026, 11, 22)


def test_an_nrr_is_rounded_once_to_what_is_shown(app: Flask, session: Session) -> None:
    # U1: 152 / 101 = 1.50495..., so 1.5050 to 4 decimals but 1,50 to 2 (not 1,51, which
    # rounding the 4-decimal value again would give).
    seeded = make_unit(session)
    seed(app, session, seeded, [(2 if i < 51 else 1,) + ALL_3[1:] for i in range(101)], WEEK)
    aggregate(app, NOW)
    summary = weekly_summary(session, seeded.unit.id, WEEK, officer_min_n=10)
    release(session)
    u1 = summary.elements[0]
    assert (u1.code, u1.nrr) == ("U1", Decimal("1.5050"))
    assert "  U1 Persyaratan: 1,50  <- terlemah" in digest_text(summary)


def test_element_names_and_wait_labels_are_read_from_the_survey_file(
    app: Flask, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = reference_survey()
    reworded = dataclasses.replace(
        shipped,
        elements=(dataclasses.replace(shipped.elements[0], name=Text("Syarat", "Requirements")),
                  *shipped.elements[1:]),
        wait_bands=tuple(dataclasses.replace(band, label=Text(f"[{band.code}]", band.code))
                         for band in shipped.wait_bands))
    monkeypatch.setattr(summary_module, "reference_survey", lambda: reworded)
    monkeypatch.setattr(digests_module, "reference_survey", lambda: reworded)
    seeded = make_unit(session)
    add_response(session, skm_survey(app), seeded.counter, ALL_3, local(WEEK, 9),
                 wait_band="5-15")
    session.commit()
    aggregate(app, NOW)
    summary = weekly_summary(session, seeded.unit.id, WEEK, officer_min_n=10)
    release(session)
    assert [e.name for e in summary.elements][:2] == ["Syarat", shipped.elements[1].name.id]
    assert [b.label for b in summary.wait_bands] == [f"[{b.code}]" for b in shipped.wait_bands]
    assert summary.reported_median_band == "[5-15]"
    assert "  U1 Syarat: 3,00" in digest_text(summary)
    # The digest names them in its own language, from the survey file too.
    english = digest_text(summary, locale="en")
    assert "  U1 Requirements: 3.00" in english and "5-15 100%" in english


def test_the_api_rounds_an_nrr_half_up_as_the_dashboards_do(
    app: Flask, session: Session
) -> None:
    # U1: 97 / 32 = 3.03125 exactly; float rounding (half to even) would give 3.0312.
    seeded = make_unit(session)
    seed(app, session, seeded, [(4 if i == 0 else 3,) + ALL_3[1:] for i in range(32)], WEEK)
    aggregate(app, NOW)
    (row,) = indicator_rows(session, "unit", "week", first=WEEK, last=WEEK)
    summary = weekly_summary(session, seeded.unit.id, WEEK, officer_min_n=10)
    release(session)
    assert row["nrr"]["U1"] == 3.0313
    assert summary.elements[0].nrr == Decimal("3.0313")


def test_any_day_of_the_week_gives_the_same_week(app: Flask, session: Session) -> None:
    seeded = make_unit(session)
    seed(app, session, seeded, [ALL_3], WEEK)
    aggregate(app, NOW)
    by_thursday = weekly_summary(session, seeded.unit.id, WEEK + timedelta(days=3),
                                 officer_min_n=10)
    release(session)
    assert by_thursday.week_start == WEEK and by_thursday.n == 1


def test_change_from_the_previous_week_and_the_twelve_week_trend(
    app: Flask, session: Session
) -> None:
    seeded = make_unit(session)
    seed(app, session, seeded, [ALL_3] * 4, WEEK - timedelta(weeks=1))  # 75.00, C
    seed(app, session, seeded, vector_a_responses(), WEEK + timedelta(days=2))
    seed(app, session, seeded, [ALL_4] * 2, WEEK - timedelta(weeks=11))
    seed(app, session, seeded, [ALL_4] * 2, WEEK - timedelta(weeks=12))  # outside the trend
    aggregate(app, NOW)
    summary = weekly_summary(session, seeded.unit.id, WEEK, officer_min_n=10)
    release(session)
    assert summary.previous_ikm == Decimal("75.00")
    assert summary.delta == Decimal("16.48")
    assert len(summary.trend) == 12
    assert summary.trend[0].week_start == WEEK - timedelta(weeks=11)
    assert (summary.trend[0].ikm, summary.trend[0].n) == (Decimal("100.00"), 2)
    assert [(p.ikm, p.n) for p in summary.trend[1:10]] == [(None, 0)] * 9
    assert (summary.trend[-1].week_start, summary.trend[-1].ikm) == (WEEK, Decimal("91.48"))
    text = digest_text(summary)
    assert "91,48" in text and "+16,48" in text


def test_without_a_previous_week_there_is_no_change(app: Flask, session: Session) -> None:
    seeded = make_unit(session)
    seed(app, session, seeded, [ALL_3], WEEK)
    aggregate(app, NOW)
    summary = weekly_summary(session, seeded.unit.id, WEEK, officer_min_n=10)
    empty = weekly_summary(session, seeded.unit.id, WEEK + timedelta(weeks=5),
                           officer_min_n=10)
    release(session)
    assert summary.previous_ikm is None and summary.delta is None
    assert empty.n == 0 and empty.ikm is None and empty.category is None
    assert not empty.weakest and all(e.nrr is None for e in empty.elements)
    assert "belum ada tanggapan" in digest_text(empty)


def test_tied_weakest_elements_are_all_flagged(app: Flask, session: Session) -> None:
    seeded = make_unit(session)
    seed(app, session, seeded, [(4, 2, 4, 4, 4, 2, 4, 4, 4), (4, 2, 4, 4, 4, 2, 4, 4, 3)], WEEK)
    aggregate(app, NOW)
    # A minimum of two answers, so that the counter (its officer's score) is scored too.
    summary = weekly_summary(session, seeded.unit.id, WEEK, officer_min_n=2)
    release(session)
    assert [e.code for e in summary.weakest] == ["U2", "U6"]
    assert summary.counters[0].weakest == ("U2", "U6")


def test_a_counter_is_scored_from_the_officer_minimum_as_its_officer_is(
    app: Flask, session: Session
) -> None:
    seeded = make_unit(session)
    seed(app, session, seeded, [(1,) * 9] * 3 + [(4,) * 9] * 4, WEEK)
    aggregate(app, NOW)
    below = weekly_summary(session, seeded.unit.id, WEEK, officer_min_n=8).counters[0]
    at = weekly_summary(session, seeded.unit.id, WEEK, officer_min_n=7).counters[0]
    release(session)
    assert (below.n, below.hidden, below.ikm, below.category, below.weakest) == (
        7, True, None, None, ())
    assert (at.n, at.hidden, at.ikm, at.weakest) == (7, False, Decimal("67.86"),
                                                     tuple(f"U{i}" for i in range(1, 10)))
    assert below.measured == at.measured  # waits are not scores: shown either way


def test_flagged_responses_are_counted_apart_and_never_shown(
    app: Flask, session: Session
) -> None:
    seeded = make_unit(session)
    seed(app, session, seeded, [ALL_4], WEEK, comment="Jawaban otomatis", bot=True)
    seed(app, session, seeded, [ALL_3], WEEK + timedelta(days=1), comment="Lumayan")
    aggregate(app, NOW)
    summary = weekly_summary(session, seeded.unit.id, WEEK, officer_min_n=10)
    release(session)
    assert (summary.n, summary.flagged, summary.ikm) == (1, 1, Decimal("75.00"))
    assert [c.text for c in summary.comments] == ["Lumayan"]


# Officers ------------------------------------------------------------------------------------


def officer_at_counter(session: Session, seeded: SeededUnit, code: str, nip: str, name: str,
                       ) -> tuple[Officer, Counter]:
    """An officer on duty at a counter of their own from two weeks before WEEK to after it."""
    counter = create_counter(session, seeded.unit, code, f"Loket {code}")
    session.commit()
    officer = make_officer(session, seeded, nip, name)
    put_on_duty(session, officer, counter, local(WEEK, 0), margin=timedelta(weeks=2))
    return officer, counter


NIPS = ("198609262015051001", "199001152016032002", "198512302010011003",
        "197708172003122004", "198204042009031005")


def test_an_officer_below_the_minimum_is_hidden_and_at_it_shown(
    app: Flask, session: Session
) -> None:
    seeded = make_unit(session)
    few, few_counter = officer_at_counter(session, seeded, "A", NIPS[0], "Ahmad Sedikit")
    enough, enough_counter = officer_at_counter(session, seeded, "B", NIPS[1], "Siti Cukup")
    seed(app, session, seeded, [ALL_4] * 9, WEEK, counter=few_counter)
    seed(app, session, seeded, [ALL_3] * 5 + [ALL_4] * 5, WEEK, counter=enough_counter)
    aggregate(app, NOW)
    summary = weekly_summary(session, seeded.unit.id, WEEK, officer_min_n=10)
    release(session)
    rows = {r.officer_id: r for r in summary.officers}
    hidden, shown = rows[few.id], rows[enough.id]
    assert (hidden.n, hidden.shown) == (9, False)
    assert (hidden.ikm, hidden.interval, hidden.shrunk, hidden.rank) == (None, None, None, None)
    assert (shown.n, shown.shown, shown.ikm, shown.rank) == (10, True, Decimal("87.50"), 1)
    assert shown.interval is not None and shown.shrunk is not None
    # Hidden officers come after the ranked ones.
    assert [r.officer_id for r in summary.officers] == [enough.id, few.id]
    # Nothing about officers (let alone a NIP) goes into the plain-text digest.
    text = digest_text(summary)
    assert "Ahmad" not in text and "Siti" not in text and NIPS[0] not in text


def test_the_interval_contains_the_mean(app: Flask, session: Session) -> None:
    seeded = make_unit(session)
    officer, counter = officer_at_counter(session, seeded, "A", NIP, "Ahmad Saputra")
    scores = [ALL_3] * 6 + [ALL_4] * 4 + [(2,) * 9] * 2 + [(3, 4, 3, 4, 3, 4, 3, 4, 3)] * 3
    seed(app, session, seeded, scores, WEEK, counter=counter)
    aggregate(app, NOW)
    summary = weekly_summary(session, seeded.unit.id, WEEK, officer_min_n=10)
    release(session)
    (row,) = summary.officers
    assert row.shown and row.ikm is not None and row.interval is not None
    low, high = row.interval
    assert low < row.ikm < high
    assert Decimal(25) <= low and high <= Decimal(100)


def test_a_lucky_officer_with_three_answers_is_not_ranked_first(
    app: Flask, session: Session
) -> None:
    seeded = make_unit(session)
    lucky, lucky_counter = officer_at_counter(session, seeded, "A", NIPS[0], "Ahmad Beruntung")
    steady, steady_counter = officer_at_counter(session, seeded, "B", NIPS[1], "Siti Tekun")
    other, other_counter = officer_at_counter(session, seeded, "C", NIPS[2], "Budi Biasa")
    seed(app, session, seeded, [ALL_4] * 3, WEEK, counter=lucky_counter)
    seed(app, session, seeded, [ALL_4] * 36 + [ALL_3] * 4, WEEK, counter=steady_counter)
    seed(app, session, seeded, [ALL_4] * 30 + [ALL_3] * 10, WEEK, counter=other_counter)
    aggregate(app, NOW)
    # Even when the unit shows officers from three answers, the shrunk estimate ranks.
    summary = weekly_summary(session, seeded.unit.id, WEEK, officer_min_n=3)
    default = weekly_summary(session, seeded.unit.id, WEEK, officer_min_n=10)
    release(session)
    rows = {r.officer_id: r for r in summary.officers}
    assert rows[lucky.id].ikm == Decimal("100.00") > rows[steady.id].ikm  # raw: lucky first
    assert rows[steady.id].rank == 1 and rows[lucky.id].rank == 2
    assert rows[other.id].rank == 3
    assert summary.shrinkage.estimated and summary.shrinkage.k > 3
    lucky_row = rows[lucky.id]
    assert lucky_row.shrunk is not None and lucky_row.shrunk < lucky_row.ikm
    # With the default minimum the three-answer officer is not ranked at all.
    ranks = {r.officer_id: r.rank for r in default.officers}
    assert ranks == {steady.id: 1, other.id: 2, lucky.id: None}


def test_shrinkage_falls_back_to_the_minimum_n_when_it_cannot_be_estimated(
    app: Flask, session: Session
) -> None:
    seeded = make_unit(session)
    _, counter = officer_at_counter(session, seeded, "A", NIP, "Ahmad Saputra")
    seed(app, session, seeded, [ALL_3] * 12, WEEK, counter=counter)
    seed(app, session, seeded, [ALL_4] * 12, WEEK)  # the unit's own counter, nobody on duty
    aggregate(app, NOW)
    summary = weekly_summary(session, seeded.unit.id, WEEK, officer_min_n=10)
    release(session)
    assert not summary.shrinkage.estimated and summary.shrinkage.k == 10
    assert summary.shrinkage.prior_ikm == Decimal("87.50")
    (row,) = summary.officers
    # (12 x 27 + 10 x 31.5) / 22 on the total scale, times 25/9.
    assert row.shrunk == Decimal("80.68")


def test_the_officer_summary_follows_the_same_rules(app: Flask, session: Session) -> None:
    seeded = make_unit(session)
    officer, counter = officer_at_counter(session, seeded, "A", NIP, "Ahmad Saputra")
    other, other_counter = officer_at_counter(session, seeded, "B", OTHER_NIP, "Siti Lain")
    seed(app, session, seeded, [(1,) * 9] + [ALL_3] * 10, WEEK, counter=counter,
         comment="Lama sekali")
    seed(app, session, seeded, [ALL_4] * 3, WEEK - timedelta(weeks=1), counter=counter)
    seed(app, session, seeded, [ALL_4] * 2, WEEK, counter=other_counter, comment="Ramah")
    aggregate(app, NOW)
    mine = officer_summary(session, officer.id, WEEK, officer_min_n=10)
    theirs = officer_summary(session, other.id, WEEK, officer_min_n=10)
    release(session)
    assert mine.officer.nip == NIP and mine.row.shown and mine.row.n == 11
    assert mine.row.ikm == Decimal("70.45")
    assert len(mine.trend) == 12
    # Last week had three answers: below the minimum, its score is hidden but n is shown.
    assert (mine.trend[-2].ikm, mine.trend[-2].n) == (None, 3)
    assert mine.trend[-1].ikm == Decimal("70.45")
    assert {c.text for c in mine.comments} == {"Lama sekali"}
    assert mine.comments[0].mean_score == Decimal("1.00")
    assert [e.code for e in mine.elements if e.weakest] == list(ELEMENTS)
    # Two answers: nothing scored, comments shown without their scores.
    assert not theirs.row.shown and theirs.row.ikm is None and theirs.row.rank is None
    assert all(e.nrr is None and not e.weakest for e in theirs.elements)
    assert [c.mean_score for c in theirs.comments] == [None, None]


ELEMENTS = ("U1", "U2", "U3", "U4", "U5", "U6", "U7", "U8", "U9")


# Comments, waiting time, adequacy --------------------------------------------------------------


def test_comments_come_lowest_first_with_counter_and_local_time(
    app: Flask, session: Session
) -> None:
    seeded = make_unit(session)
    survey = skm_survey(app)
    add_response(session, survey, seeded.counter, ALL_4, local(WEEK, 9, 5), comment="Bagus")
    add_response(session, survey, seeded.counter, (1,) * 9, local(WEEK, 10, 7),
                 comment="<b>Buruk</b>")
    add_response(session, survey, seeded.counter, ALL_3, local(WEEK, 11), comment=None)
    add_response(session, survey, seeded.counter, (2,) * 9,
                 local(WEEK - timedelta(days=1), 23, 59), comment="Minggu lalu")
    session.commit()
    aggregate(app, NOW)
    summary = weekly_summary(session, seeded.unit.id, WEEK, officer_min_n=10, tz=WIB_ZONE)
    release(session)
    assert [c.text for c in summary.comments] == ["<b>Buruk</b>", "Bagus"]
    first = summary.comments[0]
    assert first.mean_score == Decimal("1.00") and first.counter_name == seeded.counter.name
    assert (first.local_time.hour, first.local_time.minute) == (10, 7)
    assert summary.comment_count == 2


def test_comments_are_limited(app: Flask, session: Session) -> None:
    seeded = make_unit(session)
    seed(app, session, seeded, [ALL_3] * (COMMENT_LIMIT + 3), WEEK, comment="Oke")
    aggregate(app, NOW)
    summary = weekly_summary(session, seeded.unit.id, WEEK, officer_min_n=10)
    release(session)
    assert len(summary.comments) == COMMENT_LIMIT
    assert summary.comment_count == COMMENT_LIMIT + 3


def test_waiting_time_reported_and_measured_by_counter_and_grid(
    app: Flask, session: Session
) -> None:
    seeded = make_unit(session)
    survey = skm_survey(app)
    # Monday 08.xx: four measured waits 10, 20, 30, 90; one band answer each.
    for minute, (wait, band) in enumerate([(10, "5-15"), (20, "15-30"), (30, "30-60"),
                                           (90, "60-120")]):
        add_response(session, survey, seeded.counter, ALL_3, local(WEEK, 8, minute),
                     measured=wait, wait_band=band)
    # Wednesday 13.xx: no measurement, no band.
    add_response(session, survey, seeded.counter, ALL_3, local(WEEK + timedelta(days=2), 13))
    session.commit()
    aggregate(app, NOW)
    summary = weekly_summary(session, seeded.unit.id, WEEK, officer_min_n=10)
    release(session)
    shares = {b.code: b.share for b in summary.wait_bands}
    assert summary.wait_answered == 4
    assert shares["5-15"] == shares["60-120"] == 0.25 and shares["lt5"] == 0.0
    assert summary.reported_median_band == "15–30 menit"
    m = summary.measured
    assert (m.n, m.median, m.p90, m.within_60) == (4, 20, 90, 0.75)
    assert summary.counters[0].measured == m
    cells = {(c.weekday, c.hour): c for c in summary.grid}
    assert set(cells) == {(0, 8), (2, 13)}
    assert (cells[(0, 8)].count, cells[(0, 8)].measured_n, cells[(0, 8)].median) == (4, 4, 20)
    assert (cells[(2, 13)].count, cells[(2, 13)].median) == (1, None)


def test_sample_adequacy_against_krejcie_morgan(app: Flask, session: Session) -> None:
    seeded = make_unit(session)
    seed(app, session, seeded, [ALL_3] * 30, WEEK)
    aggregate(app, NOW)
    unknown = weekly_summary(session, seeded.unit.id, WEEK, officer_min_n=10)
    # The month's people served: the sum of its rows (a carried-over unit total and days).
    add_served(session, seeded.unit.id, date(2026, 11, 1), 60, source="migrated")
    day = add_served(session, seeded.unit.id, date(2026, 11, 17), 40,
                     counter_id=seeded.counter.id)
    add_served(session, seeded.unit.id, date(2026, 12, 1), 5000, counter_id=seeded.counter.id)
    short = weekly_summary(session, seeded.unit.id, WEEK, officer_min_n=10)
    day.served = 0  # with the unit total below, 30 people served: 28 responses do
    session.flush()
    session.execute(ServedDay.__table__.update().where(
        ServedDay.source == "migrated").values(served=30))
    enough = weekly_summary(session, seeded.unit.id, WEEK, officer_min_n=10)
    stored = session.scalars(select(ServedDay).order_by(ServedDay.day)).all()
    session.commit()
    assert (unknown.adequacy.served, unknown.adequacy.required, unknown.adequacy.met) == (
        None, None, None)
    assert (short.adequacy.n, short.adequacy.required, short.adequacy.met) == (30, 80, False)
    assert "sampel belum memenuhi" in digest_text(short)
    assert (enough.adequacy.required, enough.adequacy.met) == (28, True)
    assert [(s.day, s.served) for s in stored] == [
        (date(2026, 11, 1), 30), (date(2026, 11, 17), 0), (date(2026, 12, 1), 5000)]


def test_a_week_counts_toward_the_month_of_its_thursday() -> None:
    assert adequacy_month(date(2026, 11, 16)) == date(2026, 11, 1)
    assert adequacy_month(date(2026, 11, 30)) == date(2026, 12, 1)  # Thursday 3 December
    assert adequacy_month(date(2026, 6, 29)) == date(2026, 7, 1)
    assert adequacy_month(date(2026, 8, 31)) == date(2026, 9, 1)
    assert adequacy_month(date(2026, 9, 28)) == date(2026, 10, 1)
    assert adequacy_month(date(2026, 9, 27)) == date(2026, 9, 1)  # a Sunday: week of 21 Sept


def test_the_digest_text_is_short_and_plain(app: Flask, session: Session) -> None:
    seeded = make_unit(session)
    _, counter = officer_at_counter(session, seeded, "A", NIP, "Ahmad Saputra")
    for index in range(12):
        create_counter(session, seeded.unit, f"X{index}", f"Loket tambahan {index}")
    session.commit()
    extra = session.scalars(select(Counter).where(Counter.code.like("X%"))).all()
    for c in extra:
        seed(app, session, seeded, [ALL_3], WEEK, counter=c, comment="x" * 400)
    seed(app, session, seeded, [ALL_3] * 12, WEEK, counter=counter, wait_band="5-15",
         measured=12)
    aggregate(app, NOW)
    with app.app_context():  # the closing line is a message, in the default language
        text = digest_text(weekly_summary(session, seeded.unit.id, WEEK, officer_min_n=10))
    release(session)
    lines = text.splitlines()
    assert len(lines) <= 60
    assert NIP not in text and "Ahmad" not in text
    assert "bukan penilaian atau predikat" in text
    assert "dan 3 loket lain" in text
    assert max(len(line) for line in lines) < 200


# Parsing -------------------------------------------------------------------------------------


def test_weeks_parse_to_their_monday() -> None:
    assert parse_week("2026-11-19") == WEEK
    assert parse_week("2026-11-16") == WEEK
    for bad in ("2026-02-30", "19-11-2026", "20261119", "0001-01-01", "2026-11-19x", ""):
        with pytest.raises(ValueError, match=r"\w"):
            parse_week(bad)
    assert last_complete_week(datetime(2026, 11, 23, 16, 59, tzinfo=UTC), WIB_ZONE) == WEEK
    # 17.00 UTC on Sunday is already Monday in Jakarta: the week just ended is complete.
    assert last_complete_week(datetime(2026, 11, 29, 17, 0, tzinfo=UTC), WIB_ZONE) == date(
        2026, 11, 23)
