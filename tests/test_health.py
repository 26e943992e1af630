"""Tests for GET /healthz: 200 when the database answers and takes a write, 503 (and no stack
trace) naming the check that failed when not (tests/test_outage.py: a read-only database)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert, select

from app import create_app
from app.config import Settings
from app.db import utcnow
from app.models import SchedulerLock


def test_healthz_ok(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.is_json
    assert response.get_json() == {"status": "ok", "database": "ok", "database_write": "ok"}


def test_healthz_writes_nothing(app: Flask, client: FlaskClient) -> None:
    """The write is rolled back: the lock table holds no row of it afterwards."""
    assert client.get("/healthz").status_code == 200
    with app.extensions["suara.db"].session_scope(write=False) as session:
        assert session.scalars(select(SchedulerLock)).all() == []


def test_healthz_says_when_the_database_is_locked(app: Flask, settings: Settings) -> None:
    """SQLite's write lock held by another process past the busy timeout: reads answer,
    writes would wait and fail; /healthz says so instead of 200."""
    if not settings.is_sqlite:
        pytest.skip("SQLite's write lock")
    application = create_app(settings.replace(sqlite_busy_timeout_ms=50))
    holder = app.extensions["suara.db"].session()
    try:
        holder.execute(insert(SchedulerLock).values(name="other", holder="x",
                                                    heartbeat_at=utcnow()))
        response = application.test_client().get("/healthz")
        assert response.status_code == 503
        assert response.get_json() == {"status": "error", "database": "ok",
                                       "database_write": "locked"}
    finally:
        holder.rollback()
        holder.close()
        application.extensions["suara.db"].dispose()


def test_healthz_only_answers_get(client: FlaskClient) -> None:
    assert client.post("/healthz").status_code == 405


def _unreachable(settings: Settings, tmp_path: Path) -> str:
    if settings.is_sqlite:
        # SQLite creates a missing file, but never a missing directory.
        return f"sqlite:///{tmp_path / 'no-such-dir' / 'x.db'}"
    # Port 1 on the loopback: the connection is refused at once, no timeout to wait for.
    return "postgresql+psycopg://postgres@127.0.0.1:1/suara?connect_timeout=2"


@pytest.fixture
def broken_app(settings: Settings, tmp_path: Path) -> Iterator[Flask]:
    """The application pointed at a database that cannot be reached."""
    application = create_app(settings.replace(database_url=_unreachable(settings, tmp_path)))
    application.config.update(TESTING=True)
    yield application
    application.extensions["suara.db"].dispose()


def test_healthz_database_unreachable(broken_app: Flask, caplog: pytest.LogCaptureFixture,
                                      settings: Settings) -> None:
    response = broken_app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.is_json
    assert response.get_json() == {"status": "error", "database": "unreachable",
                                   "database_write": "skipped"}
    body = response.get_data(as_text=True)
    assert "Traceback" not in body
    assert "sqlalchemy" not in body.lower()
    assert "no-such-dir" not in body
    assert "127.0.0.1:1" not in body
    # The operator still gets the details in the log.
    assert any("database unreachable" in r.getMessage() and r.exc_info for r in caplog.records)


def test_healthz_sqlite_nonexistent_directory(tmp_path: Path) -> None:
    """A DATABASE_URL whose directory does not exist (no database fixture: engine-independent)."""
    application = create_app(Settings(
        app_env="test",
        secret_key="test-secret-key-not-for-production",
        database_url="sqlite:////nonexistent-dir/x.db",
        instance_dir=tmp_path / "instance",
    ))
    try:
        response = application.test_client().get("/healthz")
        assert response.status_code == 503
        assert response.get_json()["status"] == "error"
        assert "Traceback" not in response.get_data(as_text=True)
    finally:
        application.extensions["suara.db"].dispose()
