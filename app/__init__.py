"""Suara Warga: citizen satisfaction feedback (SKM) for Kabupaten Lampung Utara."""

from __future__ import annotations

from flask import Flask

from app.config import Settings
from app.db import Database
from app.surveys import load_surveys


def create_app(settings: Settings | None = None) -> Flask:
    """Build the application: config, database, surveys, blueprints, errors and CLI.

    Nothing here writes to the database; survey files are validated now so that a broken
    questionnaire stops the start-up with a message naming the file and the key.
    """
    settings = (settings or Settings.from_env()).with_secret_key()
    app = Flask(__name__, instance_path=str(settings.instance_dir))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=64 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_base_url.startswith("https://"),
        JSON_SORT_KEYS=False,
    )
    app.extensions["suara.settings"] = settings
    app.extensions["suara.surveys"] = load_surveys(settings.surveys_dir)
    app.extensions["suara.db"] = Database(
        settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms
    )

    from app.extensions import close_session
    from app.web import health

    app.teardown_appcontext(close_session)
    app.register_blueprint(health.bp)

    from app.cli import register_cli

    register_cli(app)
    return app
