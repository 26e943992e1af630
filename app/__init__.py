"""Suara Warga: citizen satisfaction feedback (SKM) for Kabupaten Lampung Utara."""

from __future__ import annotations

from flask import Flask
from jinja2 import ChoiceLoader, FileSystemLoader
from werkzeug.middleware.proxy_fix import ProxyFix

from app.config import PROJECT_ROOT, Settings
from app.db import Database
from app.i18n import init_babel
from app.surveys import load_surveys

KIOSK_TEMPLATES = PROJECT_ROOT / "kiosk_templates"


def create_app(settings: Settings | None = None) -> Flask:
    """Build the application: config, database, surveys, blueprints, errors and CLI.

    Nothing here writes to the database; survey files are validated now so that a broken
    file stops the start-up with a message naming it.
    """
    settings = (settings or Settings.from_env()).with_secret_key()
    app = Flask(__name__, instance_path=str(settings.instance_dir))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SECRET_KEY_FALLBACKS=list(settings.secret_key_fallbacks),
        MAX_CONTENT_LENGTH=64 * 1024,
        MAX_FORM_MEMORY_SIZE=64 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_base_url.startswith("https://"),
        WTF_CSRF_TIME_LIMIT=4 * 3600,
    )
    # Citizen pages come from kiosk_templates/ so a deployment can re-brand them.
    app.jinja_loader = ChoiceLoader([
        FileSystemLoader(str(PROJECT_ROOT / "app" / "templates")),
        FileSystemLoader(str(KIOSK_TEMPLATES)),
    ])
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies
        )
    app.extensions["suara.settings"] = settings
    app.extensions["suara.surveys"] = load_surveys(settings.surveys_dir)
    init_babel(app)
    app.extensions["suara.db"] = Database(
        settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms
    )

    from flask_wtf.csrf import CSRFProtect

    from app.extensions import close_session
    from app.web import (
        account,
        admin,
        api,
        api_indicators,
        api_kiosk,
        comments,  # noqa: F401 (adds its views to the dashboard blueprint)
        dashboard,
        duty,
        errors,
        health,
        home,
        kiosk,
        my_dialogues,
        public,
    )
    from app.web.auth import init_auth
    from app.web.boundary import init_boundary
    from app.web.common import init_web
    from app.web.headers import init_headers

    init_boundary(app)  # first: no other hook reads a path or query it refuses
    init_headers(app)
    csrf = CSRFProtect(app)
    csrf.exempt(api.bp)  # token-authenticated JSON, no cookies involved
    csrf.exempt(api_kiosk.bp)  # the kiosk's credential, no cookies involved
    init_web(app)
    init_auth(app)
    app.teardown_appcontext(close_session)
    for blueprint in (health.bp, home.bp, public.bp, api.bp, api_kiosk.bp, api_indicators.bp,
                      dashboard.bp, admin.bp, account.bp, duty.bp, my_dialogues.bp, kiosk.bp):
        app.register_blueprint(blueprint)
    errors.register(app)

    from app.cli import register_cli

    register_cli(app)
    return app
