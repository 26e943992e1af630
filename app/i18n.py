"""Languages and Flask-Babel: which locale a request gets, and how messages are filled in.

Text lives in gettext catalogues (translations/<locale>/LC_MESSAGES/messages.po, English
msgids), outside the code, so a deployment can re-word it (see README, "Re-wording a text").
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from urllib.parse import urlencode

from flask import Flask, current_app, has_request_context, request
from flask_babel import Babel, format_decimal, get_locale

from app.scoring import round_half_up
from app.surveys import Text

LOCALES = ("id", "en")
LANG_COOKIE = "lang"
# The language switch names the other language in that language (endonyms, not translated).
LANGUAGE_NAMES = {"id": "Bahasa Indonesia", "en": "English"}


def pick_locale(requested: str | None, cookie: str | None, default: str) -> str:
    """The page language: an explicit ?lang=, else the remembered choice, else the default."""
    for candidate in (requested, cookie):
        if candidate in LOCALES:
            return candidate
    return default


def is_api_request() -> bool:
    """Whether this request is for the JSON API (its language rule differs from pages')."""
    return request.blueprint == "api" or request.path.startswith("/api/")


def api_locale() -> str:
    """The language of a JSON answer: ``?lang=``, else Indonesian when Accept-Language
    prefers it, else English (the API's documented default: its readers are programs and
    their developers; pages for people default to Bahasa Indonesia)."""
    requested = request.args.get("lang")
    if requested in LOCALES:
        return requested
    return "id" if request.accept_languages.best_match(LOCALES) == "id" else "en"


def select_locale() -> str:
    """Flask-Babel's locale selector: the API's rule under /api/, the pages' rule elsewhere,
    the configured default outside a request (CLI, jobs)."""
    default: str = current_app.extensions["suara.settings"].default_locale
    if not has_request_context():
        return default
    if is_api_request():
        return api_locale()
    return pick_locale(request.args.get("lang"), request.cookies.get(LANG_COOKIE), default)


def current_locale() -> str:
    """The language of this request ("id" or "en"), as Flask-Babel selected it."""
    locale = get_locale()
    return locale.language if locale is not None else LOCALES[0]


def other_language_url(lang: str) -> str:
    """This page's address in ``lang``: the same path and query, ``lang`` replaced (the
    choice is then remembered in the ``lang`` cookie)."""
    query = [(key, value) for key, value in request.args.items(multi=True) if key != "lang"]
    return f"{request.path}?{urlencode([*query, ('lang', lang)])}"


def fill(message: str, params: Mapping[str, object]) -> str:
    """``message`` (already translated, placeholders ``%(name)s``) with ``params`` filled in;
    a bilingual value (a survey's Text) is given in the page's own language."""
    localized = {k: (v.get(current_locale()) if isinstance(v, Text) else v)
                 for k, v in params.items()}
    return str(message) % localized if localized else str(message)


def decimal(value: float | Decimal | Fraction | None, digits: int = 2) -> str:
    """A number with ``digits`` decimals in the page's language: 91,48 in Indonesian,
    91.48 in English; an empty string for None. An exact value (a Fraction) is rounded
    exactly, half up (Babel cannot read one)."""
    if value is None:
        return ""
    if isinstance(value, Fraction):
        value = round_half_up(value, digits)
    return str(format_decimal(value, "#,##0." + "0" * digits if digits else "#,##0"))


def init_babel(app: Flask) -> None:
    """Wire Flask-Babel: the catalogues' directory, the default language and zone, the
    locale selector, and the ``decimal`` template filter."""
    settings = app.extensions["suara.settings"]
    app.config.update(
        BABEL_TRANSLATION_DIRECTORIES=str(settings.translations_dir),
        BABEL_DEFAULT_LOCALE=settings.default_locale,
        BABEL_DEFAULT_TIMEZONE=settings.timezone,
    )
    Babel(app, locale_selector=select_locale, timezone_selector=lambda: settings.timezone)
    # {% trans %} blocks are looked up trimmed, as babel.cfg extracts them.
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.jinja_env.filters["decimal"] = decimal
    app.jinja_env.globals.update(current_locale=current_locale, language_names=LANGUAGE_NAMES,
                                 other_language_url=other_language_url)
