"""`flask --app app aggregate` beside the scheduler: it waits for the other run (bounded by
--wait), or exits 1 with a one-line message; never a traceback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from factories import make_officer, make_unit, put_on_duty, record
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import create_app, jobs
from app.aggregation import compute_indicators
from app.config import Settings
from app.db import utcnow
from app.models import AggregationState, Indicator

NOW = datetime.now(UTC)


@pytest.fixture
def settings(settings: Settings, database_url: str) -> Settings:
    """SQLite gives up on its write lock after 100 ms (each attempt of a run waits so long).

    (``database_url`` is named so that pytest still parametrizes the engines.)"""
    return settings.replace(sqlite_busy_timeout_ms=100)


@pytest.fixture
def aggregated(app: Flask, session: Session, runner: FlaskCliRunner) -> None:
    """A response and a first aggregation: the watermark's row exists."""
    seeded = make_unit(session)
    officer = make_officer(session, seeded)
    put_on_duty(session, officer, seeded.counter, NOW - timedelta(hours=1))
    record(app, session, seeded.counter, NOW - timedelta(hours=1))
    session.close()
    assert runner.invoke(args=["aggregate"]).exit_code == 0


def one_line_error(result: Result) -> str:
    """The command's message, asserting it ended with exit code 1, one line, no traceback."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # not an uncaught error
    lines = result.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


@pytest.fixture
def lock_holder(app: Flask, aggregated: None) -> Iterator[Session]:
    """Another run in the middle of writing: the watermark's row (PostgreSQL) and SQLite's
    write lock held by an open transaction."""
    holder = app.extensions["suara.db"].session()
    holder.execute(update(AggregationState).values(last_run_at=utcnow()))
    try:
        yield holder
    finally:
        holder.rollback()
        holder.close()


def test_without_waiting_a_held_lock_is_one_line_and_exit_1(
        runner: FlaskCliRunner, lock_holder: Session) -> None:
    message = one_line_error(runner.invoke(args=["aggregate", "--wait", "0"]))
    assert "another aggregation run (the scheduler's?) was in progress for more than 0 s" \
        in message
    assert "nothing was written" in message


def test_it_waits_for_a_lock_released_meanwhile(
        runner: FlaskCliRunner, lock_holder: Session, session: Session) -> None:
    release = threading.Timer(0.3, lock_holder.rollback)
    release.start()
    try:
        result = runner.invoke(args=["aggregate", "--wait", "30"])
    finally:
        release.join()
    assert result.exit_code == 0, result.output
    assert "incremental" in result.output


def _overtaken_once(app: Flask, monkeypatch: pytest.MonkeyPatch, times: int) -> list[int]:
    """Make another run (the scheduler's) finish while each of the next ``times`` runs of
    the command is computing: each of them then finds the watermark moved."""
    overtaken: list[int] = []
    other_running: list[bool] = []

    def computing(session: Session, **kwargs: Any) -> Any:
        computation = compute_indicators(session, **kwargs)
        if not other_running and len(overtaken) < times:
            overtaken.append(1)
            other_running.append(True)
            try:  # the other run computes with this same function: not overtaken itself
                jobs.run_aggregation(app.extensions["suara.db"], now=utcnow())
            finally:
                other_running.clear()
        return computation

    monkeypatch.setattr(jobs, "compute_indicators", computing)
    return overtaken


def test_overtaken_by_the_schedulers_run_it_computes_again(
        app: Flask, runner: FlaskCliRunner, aggregated: None, session: Session,
        monkeypatch: pytest.MonkeyPatch) -> None:
    overtaken = _overtaken_once(app, monkeypatch, times=1)
    result = runner.invoke(args=["aggregate"])
    assert result.exit_code == 0, result.output
    assert overtaken == [1]
    assert session.scalars(select(Indicator)).first() is not None


def test_overtaken_without_waiting_is_one_line_and_exit_1(
        app: Flask, runner: FlaskCliRunner, aggregated: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _overtaken_once(app, monkeypatch, times=1)
    message = one_line_error(runner.invoke(args=["aggregate", "--wait", "0"]))
    assert "watermark moved" in message


def test_overtaken_again_and_again_it_gives_up_before_the_wait_ends(
        app: Flask, runner: FlaskCliRunner, aggregated: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    overtaken = _overtaken_once(app, monkeypatch, times=100)
    one_line_error(runner.invoke(args=["aggregate", "--wait", "3600"]))
    assert len(overtaken) == jobs.MAX_OVERTAKEN


def test_an_unreachable_database_is_one_line_and_exit_1(settings: Settings,
                                                        tmp_path: Path) -> None:
    url = (f"sqlite:///{tmp_path / 'no-such-dir' / 'x.db'}" if settings.is_sqlite
           else "postgresql+psycopg://postgres@127.0.0.1:1/suara?connect_timeout=2")
    application = create_app(settings.replace(database_url=url))
    try:
        message = one_line_error(application.test_cli_runner().invoke(args=["aggregate"]))
    finally:
        application.extensions["suara.db"].dispose()
    assert message.startswith("Error: the database cannot be reached or written: ")
