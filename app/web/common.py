"""What every audience's pages share: the page language, message lookup, compression, limits."""

from __future__ import annotations

import gzip

from flask import Flask, Response, current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

import app.ratelimit  # noqa: F401  (registers the lazymemory:// storage scheme)
from app.i18n import Catalogue, pick_locale

LANG_COOKIE = "lang"
COMPRESSIBLE = ("text/html", "text/css", "application/json", "image/svg+xml", "text/csv")

limiter = Limiter(key_func=get_remote_address)


def current_locale() -> str:
    """The language of this request's page (chosen once per request)."""
    locale: str | None = g.get("locale")
    if locale is None:
        settings = current_app.extensions["suara.settings"]
        locale = pick_locale(request.args.get("lang"), request.cookies.get(LANG_COOKIE),
                             settings.default_locale)
        g.locale = locale
    return locale


def t(key: str, /, **params: object) -> str:
    """A catalogue message in the page's language."""
    catalogue: Catalogue = current_app.extensions["suara.messages"]
    return catalogue.get(key, current_locale(), **params)


def _remember_language(response: Response) -> Response:
    requested = request.args.get("lang")
    if requested and requested == g.get("locale"):
        response.set_cookie(LANG_COOKIE, requested, max_age=365 * 24 * 3600,
                            samesite="Lax", httponly=True)
    return response


def _compress(response: Response) -> Response:
    """gzip text responses for clients that accept it: cheap phones on mobile data."""
    if (
        response.direct_passthrough
        or response.status_code < 200
        or "Content-Encoding" in response.headers
        or "gzip" not in request.headers.get("Accept-Encoding", "")
        or response.mimetype not in COMPRESSIBLE
    ):
        return response
    body = response.get_data()
    if len(body) < 500:
        return response
    response.set_data(gzip.compress(body, compresslevel=6, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    return response


def init_web(app: Flask) -> None:
    """Register the shared hooks, the template helpers and the rate limiter."""
    settings = app.extensions["suara.settings"]
    app.config["RATELIMIT_STORAGE_URI"] = settings.ratelimit_storage_uri
    app.config["RATELIMIT_HEADERS_ENABLED"] = True
    limiter.init_app(app)
    app.after_request(_remember_language)
    app.after_request(_compress)
    app.jinja_env.globals.update(t=t, current_locale=current_locale)
