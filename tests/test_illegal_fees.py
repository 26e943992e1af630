"""The illegal-fee signal in the Monday digest: a free service whose cost two citizens rated
other than "Gratis" shows 2, per service and per counter; a paid service shows nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from factories import SeededUnit, aggregate, make_unit, make_user, record, release
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy.orm import Session

from app.config import Settings
from app.digests import compose_digest, digest_recipients
from app.illegal_fees import PaidForFree, paid_for_free
from app.models import Unit
from app.summary_period import SummaryPeriod

WEEK = date(2026, 11, 23)  # Monday
NOW = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)  # 07:00 WIB on the next Monday
FREE_SERVICE = "KTP-el — Perekaman"
PAID_SERVICE = "Kartu Keluarga"
COUNTER = "Loket Satu Perekaman"


def _scores(u4: int) -> tuple[int, ...]:
    return (3, 3, 3, u4, 3, 3, 3, 3, 3)


def _seed(app: Flask, session: Session, *, paid_free_answers: tuple[int, ...] = (2, 1)
          ) -> SeededUnit:
    """A free service (fee 0) rated "Gratis" once and ``paid_free_answers`` otherwise, and a
    paid service (fee 50,000) rated "Sangat mahal": the week of WEEK, aggregated."""
    seeded = make_unit(session)
    seeded.services[1].fee = 50_000
    session.commit()
    make_user(session, "kepala@dukcapil.test", "unit_head", unit=seeded.unit)
    make_user(session, "admin@dukcapil.test", "admin")
    free, paid = (s.code for s in seeded.services)
    at = datetime(2026, 11, 24, 2, tzinfo=UTC)
    for minute, u4 in enumerate((4, *paid_free_answers)):
        record(app, session, seeded.counter, at + timedelta(minutes=minute),
               scores=_scores(u4), service=free)
    record(app, session, seeded.counter, at + timedelta(hours=1), scores=_scores(1),
           service=paid)
    record(app, session, seeded.counter, at - timedelta(weeks=1), scores=_scores(1),
           service=free)  # the week before: not this digest's
    aggregate(app, NOW)
    return seeded


def _digest(session: Session, seeded: SeededUnit, settings: Settings) -> str:
    unit = session.get(Unit, seeded.unit.id)
    assert unit is not None
    _subject, text = compose_digest(session, unit, WEEK, replace(settings, default_locale="en"),
                                    now=NOW)
    release(session)
    return text


def test_a_free_service_paid_for_twice_shows_2_and_a_paid_service_nothing(
    app: Flask, session: Session, settings: Settings
) -> None:
    seeded = _seed(app, session)
    found = paid_for_free(session, seeded.unit.id, SummaryPeriod.of("week", WEEK))
    assert found == (PaidForFree("service", "KTP-REKAM", FREE_SERVICE, 2, 3),
                     PaidForFree("counter", "L1", COUNTER, 2, 4))
    text = _digest(session, seeded, settings)
    assert ('Possible illegal fees (pungli): a free service whose cost was rated other than '
            '"Gratis".') in text
    assert f"  Service {FREE_SERVICE}: 2 citizens say they paid for a free service." in text
    assert f"  At {COUNTER}: 2 citizens say they paid for a free service." in text
    assert PAID_SERVICE not in text
    # The digest goes to the unit's heads only: a counter's count points to its officer.
    assert digest_recipients(session, seeded.unit.id) == ["kepala@dukcapil.test"]


def test_one_citizen_is_worded_in_the_singular(
    app: Flask, session: Session, settings: Settings
) -> None:
    seeded = _seed(app, session, paid_free_answers=(3,))
    text = _digest(session, seeded, settings)
    assert f"  Service {FREE_SERVICE}: 1 citizen says they paid for a free service." in text


def test_without_a_signal_the_digest_says_nothing_of_fees(
    app: Flask, session: Session, settings: Settings
) -> None:
    seeded = _seed(app, session, paid_free_answers=())
    assert paid_for_free(session, seeded.unit.id, SummaryPeriod.of("week", WEEK)) == ()
    assert "illegal fees" not in _digest(session, seeded, settings)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    monkeypatch.setattr("app.cli.digests.utcnow", lambda: NOW + timedelta(days=1))
    return NOW


def test_the_digest_preview_lists_the_signal(
    app: Flask, session: Session, runner: FlaskCliRunner, clock: datetime
) -> None:
    _seed(app, session)
    release(session)
    result = runner.invoke(args=["digest", "preview", "--unit", "DUKCAPIL"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines()
             if line.strip().startswith(("Service ", "Layanan ", "At ", "Di "))]
    assert len(lines) == 2 and all(": 2 " in line for line in lines), lines
    assert FREE_SERVICE in lines[0] and COUNTER in lines[1]
