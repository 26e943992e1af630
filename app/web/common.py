"""What every audience's pages share: the language cookie, compression, limits, signing."""

from __future__ import annotations

import gzip
import io
import math
import struct
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache, wraps
from typing import Any, ParamSpec, TypeVar

from flask import Flask, Response, request
from flask.sessions import SecureCookieSessionInterface
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from itsdangerous import URLSafeTimedSerializer
from limits import RateLimitItem, parse_many
from werkzeug.exceptions import TooManyRequests

import app.ratelimit  # noqa: F401  (registers the lazymemory:// storage scheme)
from app.i18n import LANG_COOKIE, LOCALES, api_locale, is_api_request

COMPRESSIBLE = ("text/html", "text/css", "application/json", "image/svg+xml", "text/csv")

# Flask-Limiter provides the storage (``RATELIMIT_STORAGE_URI``) and the fixed-window
# strategy; views are limited through ``per_address`` below, not through its request hook.
limiter = Limiter(key_func=get_remote_address, auto_check=False)

P = ParamSpec("P")
R = TypeVar("R")


@lru_cache(maxsize=64)
def _limits(spec: str) -> tuple[RateLimitItem, ...]:
    # Shortest window first: a request the minute refuses never spends the hour's budget.
    return tuple(sorted(parse_many(spec)))


def _hit(spec: str, scope: str) -> None:
    """Count this request against every limit of ``spec`` for its address; 429 when over."""
    if not limiter.enabled:
        return
    strategy = limiter.limiter
    key = get_remote_address()
    for item in _limits(spec):
        if not strategy.hit(item, scope, key):
            reset = strategy.get_window_stats(item, scope, key).reset_time
            wait = max(1, math.ceil(reset - time.time()))
            # The API shows this text; the pages show their own (see app.web.errors).
            raise TooManyRequests(api_text((
                f"terlalu banyak permintaan dari alamat ini (batas {_in_indonesian(item)}); "
                f"coba lagi setelah {wait} detik",
                f"too many requests from this address (limit {item}); retry after {wait} s")),
                retry_after=wait)


PER = {"second": "detik", "minute": "menit", "hour": "jam", "day": "hari", "month": "bulan",
       "year": "tahun"}


def _in_indonesian(item: RateLimitItem) -> str:
    """"120 per 1 minute" as "120 per menit", "2000 per 2 hour" as "2000 per 2 jam"."""
    unit = PER.get(item.GRANULARITY.name, item.GRANULARITY.name)
    return f"{item.amount} per {unit}" if item.multiples == 1 \
        else f"{item.amount} per {item.multiples} {unit}"


def per_address(
    spec: str | Callable[[], str], *, methods: tuple[str, ...] | None = None,
    bucket: Callable[[], str] | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Limit a view per client address (``spec`` like "120 per minute;2000 per hour", or a
    callable giving it; only ``methods`` when given), in Flask-Limiter's storage. ``bucket``
    names the count a request goes to when a view's requests are counted apart ("" for
    the view's own).

    One storage hit per limit and request: Flask-Limiter's own decorator and request hook
    resolve every applicable limit on every request, which cost a sixth of a submission.
    Over the limit, the request is a 429 with Retry-After (the error pages make it friendly).
    """
    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        scope = f"{view.__module__}.{view.__qualname__}"

        @wraps(view)
        def limited(*args: P.args, **kwargs: P.kwargs) -> R:
            if methods is None or request.method in methods:
                apart = bucket() if bucket else ""
                _hit(spec() if callable(spec) else spec, f"{scope}:{apart}" if apart else scope)
            return view(*args, **kwargs)
        return limited
    return decorate


def api_text(pair: tuple[str, str]) -> str:
    """The (Indonesian, English) pair of an API message, in ``api_locale()``'s language."""
    return pair[0] if api_locale() == "id" else pair[1]


def _remember_language(response: Response) -> Response:
    requested = request.args.get("lang")
    if requested in LOCALES and not is_api_request():
        response.set_cookie(LANG_COOKIE, requested, max_age=365 * 24 * 3600,
                            samesite="Lax", httponly=True)
    return response


def accepts_gzip() -> bool:
    """Whether this request's client takes gzip (not when absent, or refused with q=0)."""
    return bool(request.accept_encodings["gzip"])


def _gzipped(response: Response) -> Response:
    response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    return response


def _compress(response: Response) -> Response:
    """gzip text responses for clients that accept it: cheap phones on mobile data."""
    if (
        response.direct_passthrough
        or response.status_code < 200
        or "Content-Encoding" in response.headers  # already compressed (HoledText)
        or response.mimetype not in COMPRESSIBLE
    ):
        return response
    response.vary.add("Accept-Encoding")  # compressed or not, this depended on it
    if not accepts_gzip():
        return response
    body = response.get_data()
    if len(body) < 500:
        return response
    response.set_data(gzip.compress(body, compresslevel=6, mtime=0))
    return _gzipped(response)


GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate; no name, no mtime
DEFLATE_END = b"\x03\x00"  # an empty last block (fixed codes): the end of the stream


def _deflated(data: bytes) -> bytes:
    """``data`` as deflate blocks of its own, ending on a byte boundary (a sync flush)."""
    deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return deflate.compress(data) + deflate.flush(zlib.Z_SYNC_FLUSH)


def _stored(data: bytes) -> bytes:
    """``data`` as stored (uncompressed) deflate blocks, at most 65,535 bytes each."""
    blocks = []
    for start in range(0, len(data), 0xFFFF):
        chunk = data[start:start + 0xFFFF]
        blocks += [b"\x00", struct.pack("<HH", len(chunk), len(chunk) ^ 0xFFFF), chunk]
    return b"".join(blocks)


class HoledText:
    """A text kept with holes for per-request values, its fixed pieces deflated once.

    Filling it in compressed costs a CRC instead of a compression (which was a sixth of a
    survey page view): each fixed piece was deflated on its own and ends on a byte boundary,
    each value goes in as a stored block, and one gzip member may hold any sequence of
    blocks. Pieces alternate, fixed text first; an odd piece is the name of a hole.
    """

    def __init__(self, pieces: Sequence[str]) -> None:
        self.pieces = tuple(pieces)
        self._fixed = [piece.encode() for piece in self.pieces[::2]]
        self._deflated = [_deflated(piece) for piece in self._fixed]

    def text(self, values: Mapping[str, str]) -> str:
        return "".join(values[p] if i % 2 else p for i, p in enumerate(self.pieces))

    def response(self, values: Mapping[str, str], status: int) -> Response:
        """A response with the holes filled: gzip when the client takes it, else plain."""
        if not accepts_gzip():  # (Vary is added by _compress, as for any page)
            return Response(self.text(values), status, mimetype="text/html")
        out, crc, size = [GZIP_HEADER], 0, 0
        for i, piece in enumerate(self.pieces):
            if i % 2:
                data = values[piece].encode()
                out.append(_stored(data))
            else:
                data = self._fixed[i // 2]
                out.append(self._deflated[i // 2])
            crc, size = zlib.crc32(data, crc), size + len(data)
        out += [DEFLATE_END, struct.pack("<II", crc, size & 0xFFFFFFFF)]
        return _gzipped(Response(b"".join(out), status, mimetype="text/html"))


def signing_keys(config: Mapping[str, Any]) -> tuple[str, ...]:
    """The keys signed data is checked with: the retired ones (SECRET_KEY_FALLBACKS), then
    the current SECRET_KEY, last, which itsdangerous signs with."""
    return (*(config.get("SECRET_KEY_FALLBACKS") or ()), config["SECRET_KEY"])


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the signing serializer built once per key set
    instead of once per request (every request opens the session)."""

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        return self._serializer(signing_keys(app.config))

    @lru_cache(maxsize=4)  # noqa: B019 (one interface per application, kept for its lifetime)
    def _serializer(self, keys: tuple[str | bytes, ...]) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(
            list(keys), salt=self.salt, serializer=self.serializer,  # type: ignore[arg-type]
            signer_kwargs={"key_derivation": self.key_derivation,
                           "digest_method": self.digest_method},
        )


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
    """Register the shared hooks, the template helpers and the rate limiter."""
    app.session_interface = SessionInterface()
    # Flask-WTF hands this to itsdangerous, which signs with the last key of a list and
    # accepts any: CSRF tokens of forms opened before a key rotation stay valid.
    app.config["WTF_CSRF_SECRET_KEY"] = list(signing_keys(app.config))
    app.wsgi_app = BufferedBody(  # type: ignore[method-assign]
        app.wsgi_app, app.config["MAX_CONTENT_LENGTH"])
    settings = app.extensions["suara.settings"]
    app.config["RATELIMIT_STORAGE_URI"] = settings.ratelimit_storage_uri
    limiter.init_app(app)
    app.after_request(_remember_language)
    app.after_request(_compress)
