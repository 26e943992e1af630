"""The front page at ``/`` and the public pages under ``/publik``: what the service is, each
unit's published index, "Anda berkata, kami lakukan", a unit's trend, the A4 notice-board
version and the open data. Only what was published is read; pages work without
JavaScript and are cacheable by HTTP."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, current_app, make_response, render_template, request
from flask.typing import ResponseReturnValue

from app import publishing
from app.export import neutralise
from app.extensions import db_session, settings
from app.i18n import current_locale
from app.models import Unit
from app.models.cases import PUBLISHED_KINDS
from app.org import CODE_PATTERN, unit_by_code
from app.periods import parse_period
from app.surveys import reference_survey

bp = Blueprint("home", __name__)

MAX_AGE = 300  # seconds a reader or a proxy may keep a public page
FRONT_ACTIONS = 12  # the latest published actions on the front page (the unit pages list all)
FRONT_CASES = 8
UNIT_ACTIONS = 10  # a unit's page: the latest ten of each, in full (texts are ≤ 2000 chars)
UNIT_CASES = 10
PRINT_ACTIONS = 6  # what fits one A4 sheet beside the figures


def _cacheable(response: Response) -> Response:
    """Cache-Control, ETag and a 304 when the reader's copy is current.

    Shared caches may keep a page only when the request carries no session (a signed-in
    member of staff gets their session cookie back) and no language switch (which sets
    the language cookie); the page's language follows the cookie, hence ``Vary: Cookie``.
    """
    shared = (current_app.config["SESSION_COOKIE_NAME"] not in request.cookies
              and "lang" not in request.args)
    response.cache_control.max_age = MAX_AGE
    if shared:
        response.cache_control.public = True
    else:
        response.cache_control.private = True
    response.vary.add("Cookie")
    response.add_etag()
    response.make_conditional(request)  # a 304 without the body when the ETag matches
    return response


def _page(template: str, **context: object) -> Response:
    return _cacheable(make_response(render_template(template, **context)))


def _not_found() -> ResponseReturnValue:
    return render_template("publik/notfound.html"), 404


def _names() -> dict[str, str]:
    return reference_survey().element_names(current_locale())


def _public_unit(code: str) -> Unit | None:
    """The unit with this code; None for anything that cannot be a code (a NUL byte, too
    long), before any query."""
    if not CODE_PATTERN.fullmatch(code):
        return None
    return unit_by_code(db_session(), code)


@bp.get("/")
def index() -> ResponseReturnValue:
    """What Suara Warga is, "scan the QR code at the counter", the staff sign-in link, every
    unit's latest published quarter and "Anda berkata, kami lakukan"."""
    session = db_session()
    return _page("home.html", quarters=publishing.latest_quarters(session),
                 actions=publishing.published_actions(session, limit=FRONT_ACTIONS),
                 cases=publishing.published_cases(session, limit=FRONT_CASES),
                 names=_names(), categories=publishing.CATEGORIES)


@bp.get("/publik/<code>")
def unit_page(code: str) -> ResponseReturnValue:
    """A unit's published periods (its trend), the latest one's elements, its published
    actions and case summaries."""
    unit = _public_unit(code)
    if unit is None:
        return _not_found()
    session = db_session()
    shown = publishing.published_periods(session, unit_ids=[unit.id])
    by_kind = {kind: [p for p in shown if p.kind == kind] for kind in PUBLISHED_KINDS}
    return _page("publik/unit.html", unit=unit, by_kind=by_kind,
                 latest=by_kind["quarter"][-1] if by_kind["quarter"] else None,
                 revised=publishing.changes_since_previous(session, shown),
                 actions=publishing.published_actions(session, unit_id=unit.id,
                                                      limit=UNIT_ACTIONS),
                 cases=publishing.published_cases(session, unit_id=unit.id, limit=UNIT_CASES),
                 names=_names(), categories=publishing.CATEGORIES)


@bp.get("/publik/<code>/<period>/cetak")
def notice(code: str, period: str) -> ResponseReturnValue:
    """A published period on one A4 sheet for the notice board."""
    unit = _public_unit(code)
    try:
        kind, label = parse_period(period)
    except ValueError:
        return _not_found()
    if unit is None or kind not in PUBLISHED_KINDS:
        return _not_found()
    session = db_session()
    found = next((p for p in publishing.published_periods(session, unit_ids=[unit.id],
                                                          kinds=(kind,))
                  if p.label == label), None)
    if found is None:
        return _not_found()
    return _page("publik/notice.html", unit=unit, shown=found,
                 actions=publishing.published_actions(session, unit_id=unit.id,
                                                      limit=PRINT_ACTIONS),
                 names=_names(), categories=publishing.CATEGORIES,
                 site=settings().public_base_url)


@bp.get("/publik/data.csv")
def open_data() -> ResponseReturnValue:
    """Every published period, one row per unit and period (its live revision)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=publishing.OPEN_DATA_COLUMNS,
                            lineterminator="\r\n")
    writer.writeheader()
    for row in publishing.open_data_rows(db_session()):
        writer.writerow({k: neutralise("" if v is None else v) for k, v in row.items()})
    response = make_response(out.getvalue())
    response.mimetype = "text/csv"
    response.headers["Content-Disposition"] = "inline; filename=suara-warga-ikm.csv"
    return _cacheable(response)
