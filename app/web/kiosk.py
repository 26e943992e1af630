"""The tablet kiosk's pages: one page at /kiosk/ with its script, styles and service worker.

Everything the kiosk shows is in this page and in the questionnaire it fetches once
(``GET /api/v1/kiosk/config``) and keeps; the service worker keeps the page and its assets,
so the kiosk starts and runs with no network. Its pages live in ``kiosk_templates/kiosk/``.
"""

from __future__ import annotations

import hashlib
from functools import cache

from flask import Blueprint, Response, redirect, render_template, send_from_directory, url_for
from flask.typing import ResponseReturnValue

from app.config import PROJECT_ROOT

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk")

ASSETS_DIR = PROJECT_ROOT / "kiosk_templates" / "kiosk"
# The files the service worker keeps (besides the page itself), by their URL name.
ASSETS = {"kiosk.js": "text/javascript", "queue.js": "text/javascript",
          "kiosk.css": "text/css"}


@cache
def app_version() -> str:
    """A short hash of the kiosk's page and assets: a new version of any of them is a new
    service worker, which takes over once the tablet's queue is empty."""
    digest = hashlib.sha256()
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


@bp.get("")
def start() -> ResponseReturnValue:
    """/kiosk opens the kiosk at /kiosk/ (the service worker's scope)."""
    return redirect(url_for("kiosk.page"), 308)


@bp.get("/")
def page() -> ResponseReturnValue:
    """The kiosk's single page: pairing, then the questionnaire."""
    response = Response(render_template("kiosk/kiosk.html", version=app_version()))
    return _no_cache(response)


@bp.get("/sw.js")
def service_worker() -> ResponseReturnValue:
    """The service worker, with the version that makes a new one of each release."""
    body = render_template("kiosk/sw.js", version=app_version(), assets=list(ASSETS))
    return _no_cache(Response(body, mimetype="text/javascript"))


@bp.get("/<any(" + ", ".join(f'"{name}"' for name in ASSETS) + "):name>")
def asset(name: str) -> ResponseReturnValue:
    """The kiosk's script and styles."""
    response = send_from_directory(ASSETS_DIR, name, mimetype=ASSETS[name], max_age=0)
    return _no_cache(response)
