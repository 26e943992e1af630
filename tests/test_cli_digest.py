"""`flask --app app digest preview`: the digest as it would be sent, printed, nothing
written; with the dialogues due and the link to the unit's summary."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from factories import make_officer, make_unit, record, release
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

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
])
def test_bad_options_are_refused_by_name(
    runner: FlaskCliRunner, session: Session, clock: datetime, args: list[str], message: str
) -> None:
    make_unit(session)
    release(session)
    result = runner.invoke(args=["digest", "preview", *args])
    assert result.exit_code == 1
    assert message in result.output and "nothing printed" in result.output
