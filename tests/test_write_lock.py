"""Requests take SQLite's write lock only to write: pages that only read never wait for it."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from factories import make_unit, make_user, sign_in, survey_form
from flask import Flask
from sqlalchemy.orm import Session

from app import create_app
from app.config import Settings

BUSY_MS = 300  # how long a writer waits for the lock before it gives up


@pytest.fixture
def locked_app(settings: Settings) -> Iterator[Flask]:
    """The application, with a short busy timeout (SQLite only)."""
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock: PostgreSQL locks rows, not the database")
    application = create_app(settings.replace(sqlite_busy_timeout_ms=BUSY_MS))
    application.config.update(TESTING=True)
    yield application
    application.extensions["suara.db"].dispose()


def hold_the_write_lock(settings: Settings) -> sqlite3.Connection:
    """Another writer (a job, a command) in the middle of a long write transaction."""
    path = Path(settings.database_url.removeprefix("sqlite:///"))
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


def test_pages_that_only_read_answer_while_another_writer_holds_the_lock(
    locked_app: Flask, session: Session, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    home = make_unit(session)
    make_user(session, "kepala@example.id", "unit_head", unit=home.unit)
    client = locked_app.test_client()
    page = client.get(f"/s/{home.token}")
    form = survey_form(page, comment="Ramah")
    other = hold_the_write_lock(settings)
    try:
        # A wrong password: the password check holds no lock (it takes ~0.1 s); recording the
        # refusal needs the lock, and when it cannot be had the entry goes to the error log
        # and the answer is still the refusal, not a 500.
        with caplog.at_level(logging.ERROR, logger=locked_app.logger.name):
            assert sign_in(client, "kepala@example.id", "bukan-kata-sandinya").status_code == 401
        assert "refused sign-in for 'kepala@example.id' not in the audit log" in caplog.text
        # The language switch and a refused form (stale CSRF token) show the form again.
        switched = client.post(f"/s/{home.token}?lang=en", data={**form, "switch_lang": "en"})
        assert switched.status_code == 200 and "Ramah</textarea>" in switched.text
        refused = client.post(f"/s/{home.token}", data={**form, "csrf_token": "stale"})
        assert refused.status_code == 400 and "Ramah</textarea>" in refused.text
        # A form with errors goes back to itself; only storing an answer needs the lock.
        assert client.post(f"/s/{home.token}", data={**form, "U1": ""}).status_code == 303
    finally:
        other.rollback()
        other.close()
    assert client.post(f"/s/{home.token}", data=form).status_code == 303  # stored now
