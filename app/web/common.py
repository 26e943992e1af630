"""What every audience's pages share: the language cookie, compression, limits, signing."""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from flask import Flask, Response, request
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_compress import Compress
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many

from app.i18n import LANG_COOKIE, LOCALES, is_api_request

# Flask-Limiter counts per client address in RATELIMIT_STORAGE_URI (memory:// per process,
# redis://… shared); views are limited with its decorators (``limiter.limit``).
limiter = Limiter(key_func=get_remote_address)
compress = Compress()


def shortest_first(spec: str) -> str:
    """A limit spec such as "2000 per hour;120 per minute" with its shortest window first:
    Flask-Limiter stops at the first limit refused, so a request the minute refuses never
    spends the hour's budget."""
    return ";".join(str(item) for item in sorted(parse_many(spec)))


def retry_after_seconds() -> int:
    """Seconds until the limit this request broke lets a request through again."""
    limit = limiter.current_limit
    if limit is None:
        return 60
    window = limit.limit.get_expiry()
    return min(window, max(1, math.ceil(limit.reset_at - time.time())))


def rate_limit_message(error: RateLimitExceeded) -> str:
    """The API's 429 text, naming the limit and the wait in the reader's language."""
    wait = retry_after_seconds()
    return str(ngettext("too many requests from this address (limit %(limit)s); "
                        "retry after %(num)d s",
                        "too many requests from this address (limit %(limit)s); "
                        "retry after %(num)d s", wait, limit=limit_phrase(error.limit.limit)))


def limit_phrase(item: RateLimitItem) -> str:
    """A limit in words: "3 per minute", "2000 per 2 hours" ("120 per menit" in Indonesian).

    One whole message per granularity and form, so that each language words it its own way
    (Indonesian has neither plurals nor "1 minute" where English says "minute").
    """
    amount, every = item.amount, item.multiples
    match item.GRANULARITY.name:
        case "second":
            phrase = _("%(amount)d per second", amount=amount) if every == 1 else ngettext(
                "%(amount)d per %(num)d second", "%(amount)d per %(num)d seconds", every,
                amount=amount)
        case "minute":
            phrase = _("%(amount)d per minute", amount=amount) if every == 1 else ngettext(
                "%(amount)d per %(num)d minute", "%(amount)d per %(num)d minutes", every,
                amount=amount)
        case "hour":
            phrase = _("%(amount)d per hour", amount=amount) if every == 1 else ngettext(
                "%(amount)d per %(num)d hour", "%(amount)d per %(num)d hours", every,
                amount=amount)
        case "day":
            phrase = _("%(amount)d per day", amount=amount) if every == 1 else ngettext(
                "%(amount)d per %(num)d day", "%(amount)d per %(num)d days", every,
                amount=amount)
        case "month":
            phrase = _("%(amount)d per month", amount=amount) if every == 1 else ngettext(
                "%(amount)d per %(num)d month", "%(amount)d per %(num)d months", every,
                amount=amount)
        case "year":
            phrase = _("%(amount)d per year", amount=amount) if every == 1 else ngettext(
                "%(amount)d per %(num)d year", "%(amount)d per %(num)d years", every,
                amount=amount)
        case _:
            phrase = str(item)  # a granularity the limits library may add later
    return str(phrase)


def _remember_language(response: Response) -> Response:
    requested = request.args.get("lang")
    if requested in LOCALES and not is_api_request():
        response.set_cookie(LANG_COOKIE, requested, max_age=365 * 24 * 3600,
                            samesite="Lax", httponly=True)
    return response


def bearer_token(header: str) -> str | None:
    """The credential of an ``Authorization: Bearer <credential>`` header, the scheme in
    any case (``bearer``, ``BEARER``: RFC 7235 makes it case-insensitive); None for no
    header, another scheme or no credential."""
    parts = header.split(None, 1)
    if len(parts) != 2 or parts[0].lower() != "bearer":
        return None
    return parts[1].strip() or None


def signing_keys(config: Mapping[str, Any]) -> tuple[str, ...]:
    """The keys signed data is checked with: the retired ones (SECRET_KEY_FALLBACKS), then
    the current SECRET_KEY, last, which itsdangerous signs with."""
    return (*(config.get("SECRET_KEY_FALLBACKS") or ()), config["SECRET_KEY"])


class BufferedBody:
    """WSGI middleware: a body sent without Content-Length (chunked) is read here, up to
    one byte over ``limit``, and handed on with its length, so that every limit applies
    to it as to any other body.

    Werkzeug reads such a body only up to ``MAX_CONTENT_LENGTH`` and then stops without an
    error: an oversized chunked form or JSON body would be parsed cut short, its valid
    beginning stored. With the length known, an oversized body gets the usual 413.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]], limit: int) -> None:
        self.app = app
        self.limit = limit

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        # Only a chunked request has a body without a length (gunicorn marks every request
        # wsgi.input_terminated, bodiless GETs included: that alone says nothing).
        if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            stream = environ["wsgi.input"]
            body = bytearray()
            while len(body) <= self.limit:
                piece = stream.read(self.limit + 1 - len(body))
                if not piece:
                    break
                body += piece
            environ["wsgi.input"] = io.BytesIO(bytes(body))
            environ["CONTENT_LENGTH"] = str(len(body))  # limit + 1 when it was longer
            environ.pop("HTTP_TRANSFER_ENCODING", None)
            environ.pop("wsgi.input_terminated", None)
        return self.app(environ, start_response)


def init_web(app: Flask) -> None:
    """Register the shared hooks, the template helpers, compression and the rate limiter."""
    # Flask-WTF hands this to itsdangerous, which signs with the last key of a list and
    # accepts any: CSRF tokens of forms opened before a key rotation stay valid.
    app.config["WTF_CSRF_SECRET_KEY"] = list(signing_keys(app.config))
    app.wsgi_app = BufferedBody(  # type: ignore[method-assign]
        app.wsgi_app, app.config["MAX_CONTENT_LENGTH"])
    settings = app.extensions["suara.settings"]
    app.config["RATELIMIT_STORAGE_URI"] = settings.ratelimit_storage_uri
    limiter.init_app(app)
    # gzip for cheap phones on mobile data (a reverse proxy may do it instead).
    app.config["COMPRESS_MIMETYPES"] = ["text/html", "text/css", "text/javascript",
                                        "application/json",
                                        "image/svg+xml", "text/csv"]
    app.config["COMPRESS_ALGORITHM"] = ["gzip"]
    app.config["COMPRESS_MIN_SIZE"] = 500
    compress.init_app(app)
    app.after_request(_remember_language)
