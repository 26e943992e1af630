"""Tests for GET /healthz: 200 when the database answers, 503 (and no stack trace) when not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.config import Settings


def test_healthz_ok(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.is_json
    assert response.get_json() == {"status": "ok", "database": "ok"}


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
    assert response.get_json() == {"status": "error", "database": "unreachable"}
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
