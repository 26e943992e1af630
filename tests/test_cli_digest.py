"""`flask --app app digest preview`: the digest as it would be sent, printed, nothing
written; with the dialogues due and the link to the unit's summary."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from factories import make_officer, make_unit, record, release
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.actions import ActionValues, create_action
from app.config import Settings
from app.models import Digest

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # Tuesday 08.00 WIB


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    monkeypatch.setattr("app.cli.digests.utcnow", lambda: NOW)
    return NOW


def test_the_preview_prints_the_digest_and_writes_nothing(
    app: Flask, runner: FlaskCliRunner, session: Session, settings: Settings, clock: datetime
) -> None:
    seeded = make_unit(session)
    make_officer(session, seeded)
    for hour in (1, 2, 3):
        record(app, session, seeded.counter, datetime(2026, 11, 24, hour, tzinfo=UTC))
    release(session)
    result = runner.invoke(args=["digest", "preview", "--unit", "DUKCAPIL"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith("Subject: ")
    assert "2026-11-23" in out or "23" in out.splitlines()[0]
    assert f"{settings.public_base_url}/dashboard/units/DUKCAPIL?week=2026-11-23" in out
    # The officer has never had a performance dialogue: due (a count, no name or NIP).
    assert "1" in next(line for line in out.splitlines() if "dialog" in line.lower())
    assert "Ahmad Saputra" not in out
    count = session.scalar(select(func.count()).select_from(Digest))
    release(session)
    assert count == 0


def test_a_given_week_is_summarised_from_its_monday(
    runner: FlaskCliRunner, session: Session, settings: Settings, clock: datetime
) -> None:
    make_unit(session)
    release(session)
    result = runner.invoke(args=["digest", "preview", "--unit", "DUKCAPIL",
                                 "--week", "2026-11-19"])
    assert result.exit_code == 0, result.output
    assert "?week=2026-11-16" in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["--unit", "NOPE"], "no unit with code"),
    (["--unit", "DUK\x00"], "no unit with code"),
    (["--unit", "DUKCAPIL", "--week", "last monday"], "is not a date"),
    (["--unit", "DUKCAPIL", "--week", "9999-12-31"], "is not a year from 2000 to 2100"),
    (["--unit", "DUKCAPIL", "--week", "0001-01-03"], "is not a year from 2000 to 2100"),
])
def test_bad_options_are_refused_by_name(
    runner: FlaskCliRunner, session: Session, clock: datetime, args: list[str], message: str
) -> None:
    make_unit(session)
    release(session)
    result = runner.invoke(args=["digest", "preview", *args])
    assert result.exit_code == 1
    assert message in result.output and "nothing printed" in result.output


def test_the_digest_lists_the_actions_due(
    runner: FlaskCliRunner, session: Session, clock: datetime
) -> None:
    seeded = make_unit(session)
    for what, due, state in (("Buka loket lebih awal", date(2026, 11, 20), "in_progress"),
                             ("Papan antrean baru", date(2026, 12, 4), "planned"),
                             ("Sudah selesai", date(2026, 11, 20), "done"),
                             ("Nanti saja", date(2027, 1, 31), "planned")):
        create_action(session, seeded.unit, ActionValues(
            element="U3", what=what, who="Kepala seksi", starts_on=date(2026, 11, 1),
            due_on=due, state=state), user_id=None, now=NOW)
    session.commit()
    result = runner.invoke(args=["digest", "preview", "--unit", "DUKCAPIL"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Buka loket lebih awal" in out and "20-11-2026" in out
    assert "Papan antrean baru" in out and "04-12-2026" in out
    assert "Sudah selesai" not in out and "Nanti saja" not in out
    assert out.index("Buka loket lebih awal") < out.index("Papan antrean baru")
