"""The tablet kiosk's pages: one page at /kiosk/ with its script, styles and service worker.

Everything the kiosk shows is in this page and in the questionnaire it fetches once
(``GET /api/v1/kiosk/config``) and keeps; the service worker keeps the page and its assets,
so the kiosk starts and runs with no network. Its pages live in ``kiosk_templates/kiosk/``.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import force_locale
from flask_babel import gettext as _

from app.config import PROJECT_ROOT
from app.i18n import LANGUAGE_NAMES, LOCALES

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk")

ASSETS_DIR = PROJECT_ROOT / "kiosk_templates" / "kiosk"
# The files the service worker keeps (besides the page itself), by their URL name.
ASSETS = {"kiosk.js": "text/javascript", "queue.js": "text/javascript",
          "kiosk.css": "text/css"}


def app_version() -> str:
    """A short hash of the kiosk's page, assets and texts: a new version of any of them (a
    text re-worded in the catalogue too) is a new service worker, which takes over once the
    tablet's queue is empty."""
    return _version(json.dumps(page_strings(), sort_keys=True))


@cache
def _version(texts: str) -> str:
    digest = hashlib.sha256(texts.encode())
    for path in sorted(ASSETS_DIR.iterdir()):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _no_cache(response: Response) -> Response:
    # The service worker keeps its own copies; the browser's HTTP cache must not serve an
    # old asset to a new worker.
    response.headers["Cache-Control"] = "no-cache"
    return response


def ui_strings() -> dict[str, str]:
    """The kiosk's own texts in the current language. The page carries them in both
    languages so that its switch works offline; kiosk.js fills in ``{name}`` placeholders.
    The questionnaire's texts come with the kiosk's config, in both languages too."""
    return {
        "pair_title": _("Pair this kiosk"),
        "pair_help": _("Enter the six-digit code shown in the back office (Kiosks), or scan "
                       "its QR code."),
        "pair_code": _("Pairing code"),
        "pair": _("Pair"),
        "erase": _("Delete"),
        "clear": _("Clear"),
        "pair_short": _("Enter all six digits."),
        "pairing": _("Pairing…"),
        "pair_refused": _("This code is wrong, already used or expired. Ask for a new code "
                          "in the back office."),
        "pair_wait": _("Too many attempts. Try again in %(seconds)s seconds.",
                       seconds="{seconds}"),
        "pair_later": _("Too many attempts. Wait a moment, then try again."),
        "pair_offline": _("No network. Connect the tablet to the internet, then try again."),
        "pair_failed": _("Pairing failed (error %(status)s). Try again.", status="{status}"),
        "setup_title": _("Getting the questionnaire…"),
        "setup_help": _("The kiosk needs the network once to fetch its questionnaire."),
        "unset_title": _("This kiosk has no counter to rate yet"),
        "unset_help": _("Please contact an officer: the back office has not given it a "
                        "counter in use."),
        "revoked_title": _("This kiosk is no longer active"),
        "revoked_help": _("Please contact an officer."),
        "repair": _("Pair with a new code (staff)"),
        "welcome_title": _("How was our service today?"),
        "welcome_help": _("Nine short questions, about one minute. We do not ask your name."),
        "start": _("Start"),
        "complain_title": _("Want to complain and get an answer?"),
        "complain_help": _("Tell an officer at the counter, or use SP4N-LAPOR!: "
                           "www.lapor.go.id or SMS 1708. This tablet never asks for your "
                           "name or phone number."),
        "choose_title": _("Where were you served?"),
        "progress": _("%(number)s of %(total)s", number="{number}", total="{total}"),
        "no_wait": _("Don't remember"),
        "send": _("Send"),
        "send_empty": _("Send without a comment"),
        "save_failed": _("Your answers could not be saved. Please try again."),
        "thanks_title": _("Thank you!"),
        "thanks_help": _("Your answers are saved. They help us improve our service."),
        "idle_title": _("Still answering?"),
        "idle_help": _("The kiosk starts again in %(seconds)s seconds.", seconds="{seconds}"),
        "continue": _("Yes, continue"),
        "back": _("Back"),
        "call": _("Call an officer"),
        "calling": _("Calling an officer…"),
        "call_ok": _("An officer is on the way. Please wait here."),
        "call_failed": _("The officer could not be called. Please ask at the counter."),
        "online": _("Connected"),
        "offline": _("Not connected"),
        "queued": _("%(count)s waiting to be sent", count="{count}"),
        "quarantined": _("%(count)s refused", count="{count}"),
    }


def page_strings() -> dict[str, dict[str, str]]:
    """Every text of the page in each language, with the switch's name of the other one."""
    out = {}
    for locale in LOCALES:
        with force_locale(locale):
            strings = ui_strings()
        other = next(lang for lang in LOCALES if lang != locale)
        strings["lang"] = LANGUAGE_NAMES[other]
        out[locale] = strings
    return out


@bp.get("")
def start() -> ResponseReturnValue:
    """/kiosk opens the kiosk at /kiosk/ (the service worker's scope)."""
    return redirect(url_for("kiosk.page"), 308)


@bp.get("/")
def page() -> ResponseReturnValue:
    """The kiosk's single page: pairing, then the questionnaire (always Indonesian first,
    whatever the browser or a cookie asks: the tablet is shared)."""
    response = Response(render_template("kiosk/kiosk.html", version=app_version(),
                                         ui=page_strings()))
    return _no_cache(response)


@bp.get("/sw.js")
def service_worker() -> ResponseReturnValue:
    """The service worker, with the version that makes a new one of each release."""
    body = render_template("kiosk/sw.js", version=app_version(), assets=list(ASSETS))
    return _no_cache(Response(body, mimetype="text/javascript"))


@bp.get("/<any(" + ", ".join(f'"{name}"' for name in ASSETS) + "):name>")
def asset(name: str) -> ResponseReturnValue:
    """The kiosk's script and styles (read whole: Flask-Compress's streaming gzip would
    leave a streamed file open; ``name`` is one of ASSETS, by the route)."""
    response = Response((ASSETS_DIR / name).read_bytes(), mimetype=ASSETS[name])
    response.add_etag()
    response.make_conditional(request)
    return _no_cache(response)
