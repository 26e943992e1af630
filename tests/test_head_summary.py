"""The unit head's summary of any period (app/head_summary.py) and its page: the change
word, the illegal-fee signal, wait hotspots, dialogue invitations, periods and profiles."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pytest
from factories import (
    WIB_ZONE,
    SeededUnit,
    aggregate,
    make_officer,
    make_other_unit,
    make_unit,
    make_user,
    put_on_duty,
    release,
    sign_in,
    skm_survey,
)
from flask import Flask
from i18n_helpers import visible_text
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.answers import Answers
from app.feedback import Submission, record_response
from app.head_summary import HeadSummary, ProfileRow, head_summary
from app.models import Case, Counter, Response
from app.org import create_counter, create_service
from app.period_totals import Totals, period_totals
from app.refs import UnitRef
from app.summary_period import PeriodError, SummaryPeriod, parse_summary_period

WEEK = date(2026, 11, 16)  # a Monday
CLOCK = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # Wednesday of the next week, 10.00 WIB
AGGREGATED = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
MIN_N = 10


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), WIB_ZONE)


def put(app: Flask, session: Session, counter: Counter, at: datetime, scores: Sequence[int],
        *, service: str | None = None, band: str | None = None,
        measured: int | None = None, profile: dict[str, str] | None = None) -> Response:
    """One response as real traffic stores it (flushes; the caller commits)."""
    answers = Answers(tuple(scores), band, service, None, profile or {})
    submission = Submission(client_id=uuid.uuid4(), channel="qr", created_at=at,
                            received_at=at + timedelta(seconds=5), measured_wait_min=measured)
    _, row = record_response(session, skm_survey(app), counter, answers, submission,
                             app.extensions["suara.settings"].tz)
    return row


def summary_of(session: Session, seeded: SeededUnit, period: SummaryPeriod, *,
               officer_detail: bool = True) -> HeadSummary:
    unit = seeded.unit
    return head_summary(session, UnitRef(unit.id, unit.code, unit.name), period,
                        officer_min_n=MIN_N, officer_detail=officer_detail,
                        today=date(2026, 11, 25), show_due=officer_detail)


def mixed(low: int, high: int, count: int) -> list[tuple[int, ...]]:
    """``count`` answers alternating all-``low`` and all-``high`` (a spread to measure)."""
    return [(low if i % 2 else high,) * 9 for i in range(count)]


@dataclass
class Two:
    steady: SeededUnit
    falling: SeededUnit


@pytest.fixture
def two(app: Flask, session: Session, monkeypatch: pytest.MonkeyPatch) -> Two:
    """A unit whose index barely moves and one whose index falls clearly."""
    monkeypatch.setattr("app.web.dashboard.utcnow", lambda: CLOCK)
    steady, falling = make_unit(session), make_other_unit(session)
    before, after = WEEK - timedelta(weeks=1), WEEK
    for i, scores in enumerate(mixed(3, 4, 30)):
        put(app, session, steady.counter, local(before, 8, i), scores)
        put(app, session, falling.counter, local(before, 8, i), scores)
    # The steady unit: one answer of thirty a little lower (stays inside the interval).
    for i, scores in enumerate(mixed(3, 4, 29) + [(3,) * 8 + (2,)]):
        put(app, session, steady.counter, local(after, 8, i), scores)
    for i, scores in enumerate(mixed(2, 3, 30)):
        put(app, session, falling.counter, local(after, 8, i), scores)
    session.commit()
    aggregate(app, AGGREGATED)
    make_user(session, "kepala@contoh.go.id", "unit_head", unit=steady.unit)
    make_user(session, "kepala.pkm@contoh.go.id", "unit_head", unit=falling.unit)
    make_user(session, "admin@contoh.go.id", "admin")
    release(session)
    return Two(steady, falling)


def first_screen(app: Flask, email: str, url: str) -> str:
    client = app.test_client()
    assert sign_in(client, email).status_code == 303
    page = client.get(url)
    assert page.status_code == 200, url
    body = page.get_data(as_text=True)
    return visible_text(body[body.index('id="kinerja"'):body.index('id="menunggu"')])


def test_up_and_down_are_said_only_beyond_the_interval(app: Flask, session: Session,
                                                       two: Two) -> None:
    week = SummaryPeriod.of("week", WEEK)
    steady = summary_of(session, two.steady, week)
    assert steady.change is not None and steady.change.difference < 0  # it did go down...
    assert steady.change.low < 0 < steady.change.high  # ...inside its interval
    assert steady.change.word == "stable"
    falling = summary_of(session, two.falling, week)
    assert falling.change is not None and falling.change.high < 0
    assert falling.change.word == "down"
    release(session)
    # The page says "stabil" for the first and "turun" for the second, never the other.
    text = first_screen(app, "kepala@contoh.go.id", "/dashboard/units/DUKCAPIL?period=2026-W47")
    assert "stabil" in text and "turun" not in text and "naik" not in text
    text = first_screen(app, "kepala.pkm@contoh.go.id",
                        "/dashboard/units/PKM-KTB2?period=2026-W47")
    assert "turun" in text and "stabil" not in text
    # The change compared with a week without responses is not called anything.
    empty = summary_of(session, two.steady, SummaryPeriod.of("week", WEEK - timedelta(weeks=1)))
    assert empty.change is None


def test_the_illegal_fee_signal_counts_free_services_only(
    app: Flask, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A free service with two U4 answers other than "Gratis" shows 2; a paid service
    shows nothing, whatever its U4 answers."""
    monkeypatch.setattr("app.web.dashboard.utcnow", lambda: CLOCK)
    seeded = make_unit(session)
    free = seeded.services[0]
    paid = create_service(session, seeded.unit, "LEGAL", "Legalisir", fee=10000)
    second = create_counter(session, seeded.unit, "L2", "Loket Dua")
    session.commit()
    paying = [put(app, session, seeded.counter, local(WEEK, 9, i), (3, 3, 3, u4, 3, 3, 3, 3, 3),
                  service=free.code) for i, u4 in enumerate((2, 1))]
    put(app, session, second, local(WEEK, 9, 5), (3,) * 9, service=free.code)  # U4 3: pays
    put(app, session, seeded.counter, local(WEEK, 10), (3, 3, 3, 4, 3, 3, 3, 3, 3),
        service=free.code)  # "Gratis"
    for i in range(3):
        put(app, session, seeded.counter, local(WEEK, 11, i), (3, 3, 3, 1, 3, 3, 3, 3, 3),
            service=paid.code)
    session.commit()
    aggregate(app, AGGREGATED)
    week = SummaryPeriod.of("week", WEEK)
    services = period_totals(session, week, "service", unit_ids=[seeded.unit.id])
    assert services[free.id].paid_free == 3 and services[paid.id].paid_free == 0
    counters = period_totals(session, week, "counter", unit_ids=[seeded.unit.id])
    assert counters[seeded.counter.id].paid_free == 2 and counters[second.id].paid_free == 1
    summary = summary_of(session, seeded, week)
    assert summary.paid_free == 3
    by_code = {row.code: row for row in summary.services}
    assert by_code[free.code].paid_free == 3 and by_code["LEGAL"].paid_free == 0
    # Each such answer opened a complaint case with the illegal-fee reason, one per response.
    reasons = dict(session.execute(select(Case.response_id, Case.reasons)).all())
    for row in paying:
        assert "illegal_fee" in reasons[row.id]
    assert sum("illegal_fee" in (r or "") for r in reasons.values()) == 3
    make_user(session, "kepala@contoh.go.id", "unit_head", unit=seeded.unit)
    release(session)
    client = app.test_client()
    assert sign_in(client, "kepala@contoh.go.id").status_code == 303
    body = client.get("/dashboard/units/DUKCAPIL?period=2026-W47&by=service").get_data(
        as_text=True)
    table = visible_text(body[body.index('id="rincian"'):body.index('id="tren"')])
    assert "layanan berbayar" in table  # the paid service: no count at all
    signal = visible_text(body[body.index('id="pungli"'):body.index('id="komentar"')])
    assert "3 warga menjawab bahwa mereka membayar" in signal
    assert "Loket Satu Perekaman 2" in signal and "Loket Dua 1" in signal
    assert "Legalisir" not in signal


def test_two_answers_for_a_free_service_show_2_and_a_paid_one_nothing(
    app: Flask, session: Session
) -> None:
    """The issue's own case, exactly: two non-"Gratis" U4 answers to a free service."""
    seeded = make_unit(session)
    paid = create_service(session, seeded.unit, "LEGAL", "Legalisir", fee=5000)
    session.commit()
    for i, u4 in enumerate((3, 2)):
        put(app, session, seeded.counter, local(WEEK, 9, i), (3, 3, 3, u4, 3, 3, 3, 3, 3),
            service=seeded.services[0].code)
    for i, u4 in enumerate((3, 2)):
        put(app, session, seeded.counter, local(WEEK, 10, i), (3, 3, 3, u4, 3, 3, 3, 3, 3),
            service=paid.code)
    session.commit()
    aggregate(app, AGGREGATED)
    rows = {row.code: row for row in summary_of(session, seeded,
                                                 SummaryPeriod.of("week", WEEK)).services}
    assert rows[seeded.services[0].code].paid_free == 2
    assert rows["LEGAL"].paid_free == 0 and rows["LEGAL"].fee == 5000


def test_long_waits_are_found_by_counter_weekday_and_hours(app: Flask, session: Session) -> None:
    seeded = make_unit(session)  # its services' standard: 30 minutes
    code = seeded.services[0].code
    counter = seeded.counter
    # Monday 09.00: two measured past 30; 10.00: nobody; 11.00: one reporting 60-120 min.
    put(app, session, counter, local(WEEK, 9, 5), (3,) * 9, service=code, measured=50)
    put(app, session, counter, local(WEEK, 9, 40), (3,) * 9, service=code, measured=45)
    put(app, session, counter, local(WEEK, 11, 10), (3,) * 9, service=code, band="60-120")
    # Monday 13.00: on time, which ends the run; Tuesday 09.00: one late alone (not a spot).
    put(app, session, counter, local(WEEK, 13), (3,) * 9, service=code, measured=10)
    put(app, session, counter, local(WEEK, 14), (3,) * 9, service=code, measured=80)
    put(app, session, counter, local(WEEK + timedelta(days=1), 9), (3,) * 9, service=code,
        measured=90)
    session.commit()
    aggregate(app, AGGREGATED)
    week = SummaryPeriod.of("week", WEEK)
    spots = summary_of(session, seeded, week).hotspots
    assert len(spots) == 1
    spot = spots[0]
    assert (spot.counter, spot.weekday, spot.first_hour, spot.end_hour) == (
        "Loket Satu Perekaman", 0, 9, 12)
    assert (spot.n, spot.late, spot.measured_n, spot.median, spot.standard) == (3, 3, 2, 45, 30)
    # A reader who may not see a counter gets the unit's hours, without the counter, and
    # only from the minimum of responses (three here: none).
    assert summary_of(session, seeded, week, officer_detail=False).hotspots == ()


def test_an_officer_clearly_below_the_unit_is_invited_not_ranked(
    app: Flask, session: Session
) -> None:
    seeded = make_unit(session)
    other_counter = create_counter(session, seeded.unit, "L2", "Loket Dua")
    rude = make_officer(session, seeded, name="Budi Kasar")
    kind = make_officer(session, seeded, "198512302010011003", "Sari Ramah")
    session.commit()
    put_on_duty(session, rude, seeded.counter, local(WEEK, 12), margin=timedelta(days=3))
    put_on_duty(session, kind, other_counter, local(WEEK, 12), margin=timedelta(days=3))
    for i in range(20):
        u7 = 1 if i % 4 else 2
        put(app, session, seeded.counter, local(WEEK, 9 + i // 10, i),
            (3, 3, 4, 3, 3, 4, u7, 3, 3))
        put(app, session, other_counter, local(WEEK, 9 + i // 10, i),
            (3, 3, 4, 3, 3, 4, 3 + i % 2, 3, 3))
    session.commit()
    aggregate(app, AGGREGATED)
    summary = summary_of(session, seeded, SummaryPeriod.of("week", WEEK))
    assert [(i.name, i.element) for i in summary.invitations] == [("Budi Kasar", "U7")]
    invited = summary.invitations[0]
    assert invited.officer_nrr is not None and invited.unit_nrr is not None
    assert invited.officer_nrr < invited.unit_nrr and invited.n == 20
    # Per-officer element scores for those who may see officers; none for the others.
    scores = {o.name: o.nrr for o in summary.officer_elements}
    assert scores["Budi Kasar"][6] is not None and scores["Budi Kasar"][6] < 2
    viewer = summary_of(session, seeded, SummaryPeriod.of("week", WEEK), officer_detail=False)
    assert viewer.invitations == () and viewer.officers == () and viewer.officer_elements == ()


def test_a_longer_period_is_its_weeks_and_a_range_its_days(app: Flask, session: Session) -> None:
    seeded = make_unit(session)
    days = [date(2026, 9, 28), date(2026, 10, 30), date(2026, 11, 2), date(2026, 12, 31),
            date(2027, 1, 4)]  # 2026-Q4 runs from 28 September 2026 to 3 January 2027
    for i, day in enumerate(days):
        for j in range(3):
            put(app, session, seeded.counter, local(day, 9, j), (2 + (i + j) % 3,) * 9)
    session.commit()
    aggregate(app, datetime(2027, 1, 20, tzinfo=UTC))
    quarter = parse_summary_period("2026-Q4")
    totals = period_totals(session, quarter, "unit", scope_ids=[seeded.unit.id])[seeded.unit.id]
    weekly = Totals()
    for monday in quarter.weeks():
        found = period_totals(session, SummaryPeriod.of("week", monday), "unit",
                              scope_ids=[seeded.unit.id])
        weekly = weekly.plus(found.get(seeded.unit.id, Totals()))
    assert totals.n == weekly.n == 12  # 4 January 2027 is in 2027-Q1
    assert totals.sums == weekly.sums and totals.counts == weekly.counts
    span = SummaryPeriod.span(date(2026, 10, 30), date(2026, 11, 2))
    ranged = period_totals(session, span, "unit", scope_ids=[seeded.unit.id])[seeded.unit.id]
    assert ranged.n == 6
    assert span.previous() == SummaryPeriod.span(date(2026, 10, 26), date(2026, 10, 29))
    # Every element's answers add up to n.
    assert all(sum(totals.answers(i)) == totals.n for i in range(9))


def test_bad_periods_are_refused_in_words(app: Flask) -> None:
    with app.test_request_context("/?lang=en"):
        for bad in ("2026-W60", "kemarin", "2026-13", "x" * 40):
            with pytest.raises(PeriodError):
                parse_summary_period(bad)
        with pytest.raises(PeriodError, match="ends before"):
            SummaryPeriod.span(date(2026, 11, 2), date(2026, 11, 1))
        with pytest.raises(PeriodError, match="at most"):
            SummaryPeriod.span(date(2024, 1, 1), date(2026, 11, 1))


def test_bad_period_queries_are_400_with_a_message(app: Flask, two: Two) -> None:
    client = app.test_client()
    assert sign_in(client, "kepala@contoh.go.id").status_code == 303
    for query in ("period=2026-W60", "period=" + "9" * 40, "from=2026-11-02&to=2026-11-01",
                  "from=2026-11-02", "from=kemarin&to=2026-11-01", "by=petugas-lain",
                  "from=2020-01-01&to=2026-11-01"):
        page = client.get(f"/dashboard/units/DUKCAPIL?{query}")
        assert page.status_code == 400, query
        assert "Permintaan tidak dapat diproses" in page.get_data(as_text=True), query
    # A custom range works for the unit head, with its days in the title.
    page = client.get("/dashboard/units/DUKCAPIL?from=2026-11-10&to=2026-11-20")
    assert page.status_code == 200
    assert "10–20 November 2026" in visible_text(page.get_data(as_text=True))


def test_profile_answers_are_scored_from_enough_responses(app: Flask, session: Session) -> None:
    seeded = make_unit(session)
    for i in range(12):
        put(app, session, seeded.counter, local(WEEK, 9, i), (3,) * 9, profile={"sex": "L"})
    for i in range(2):
        put(app, session, seeded.counter, local(WEEK, 10, i), (1,) * 9, profile={"sex": "P"})
    session.commit()
    aggregate(app, AGGREGATED)

    def rows() -> dict[tuple[str, str], ProfileRow]:
        found = summary_of(session, seeded, SummaryPeriod.of("week", WEEK)).profile
        return {(r.item, r.code): r for r in found}

    first = rows()
    # "L" has 12 responses, but the unit's 14 minus them are the 2 "P": none is scored.
    assert first[("sex", "L")].n == 12 and first[("sex", "L")].ikm is None
    assert first[("sex", "P")].n == 2 and first[("sex", "P")].ikm is None
    for i in range(10):  # ten more without a profile: the rest is 12, enough
        put(app, session, seeded.counter, local(WEEK, 11, i), (2,) * 9)
    session.commit()
    aggregate(app, AGGREGATED)
    second = rows()
    assert second[("sex", "L")].ikm == 75
    assert second[("sex", "P")].ikm is None
    assert second[("age_band", "lt20")].n == 0
