"""Citizen pages: the counter survey behind the QR code, the arrival poster, thank-you."""

from __future__ import annotations

import re
import secrets
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from functools import lru_cache

from flask import (
    Blueprint,
    Response,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_babel import format_time
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import generate_csrf
from itsdangerous import BadSignature, URLSafeTimedSerializer
from markupsafe import escape
from sqlalchemy import Connection, select
from werkzeug.datastructures import MultiDict

from app.db import utcnow
from app.extensions import database, db_session, settings, surveys, todays_salt
from app.feedback import (
    DEFAULT_SURVEY_ID,
    Answers,
    CounterPage,
    FieldError,
    Outcome,
    Prepared,
    Submission,
    lookup_token,
    measured_wait_minutes,
    parse_answers,
    resolve_token,
    store_response,
)
from app.i18n import current_locale, fill
from app.models import Unit
from app.org import TOKEN_PATTERN, ServiceChoice, services_of
from app.surveys import Survey, latest
from app.web.common import HoledText, per_address, signing_keys

bp = Blueprint("public", __name__)

ARRIVAL_COOKIE = "sw_arr"
DEVICE_COOKIE = "sw_d"
HONEYPOT = "website"
TICKET_MAX_AGE = 24 * 3600
ARRIVAL_MAX_AGE = 12 * 3600
SURVEY_PAGES_KEPT = 512


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    """Signs with the current key; also accepts the keys retired by a rotation."""
    return _signer(signing_keys(current_app.config), purpose)


@lru_cache(maxsize=16)
def _signer(keys: tuple[str, ...], purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(list(keys), salt=purpose)  # itsdangerous signs with the last


def current_survey() -> Survey:
    """The questionnaire citizens answer now: the latest version of the SKM survey."""
    return latest(surveys(), DEFAULT_SURVEY_ID)


# The short citizen pages (errors, expired codes): a title and a sentence each.
MESSAGE_PAGES = {
    "revoked": (_l("This code is no longer valid"),
                _l("This QR poster has been replaced. Please scan the current poster at the "
                   "counter, or ask the staff.")),
    "notfound": (_l("Page not found"),
                 _l("We do not recognise this code or address. Please check the QR code you "
                    "scanned.")),
    "ratelimit": (_l("Too many requests"),
                  _l("Many submissions came from your network in a short time. Please wait a "
                     "moment and try again — your answers are kept if you press Back.")),
    "toolarge": (_l("Submission too large"),
                 _l("What was sent is too long. Please shorten the comment and send again.")),
    "error": (_l("Sorry, something went wrong"),
              _l("Your rating has not been saved. Please try again in a moment.")),
    "badrequest": (_l("Invalid request"),
                   _l("This page has expired. Please scan the QR code at the counter again.")),
    "forbidden": (_l("Not allowed"), _l("Your account may not open this page.")),
}


def message_page(key: str, status: int) -> ResponseReturnValue:
    """A short citizen-facing page with a title and a sentence (errors, expired codes)."""
    title, body = MESSAGE_PAGES[key]
    return render_template("message.html", title=title, body=body), status


def _token_page(retired: bool) -> ResponseReturnValue:
    return message_page("revoked", 410) if retired else message_page("notfound", 404)


def _counter_or_page(token: str) -> CounterPage | ResponseReturnValue:
    with database().reading(autocommit=True) as connection:
        resolved = resolve_token(connection, token, utcnow())
    return resolved.counter if resolved.counter is not None else _token_page(resolved.retired)


def _arrival_wait(unit_id: int, opened_at: datetime) -> int | None:
    raw = request.cookies.get(ARRIVAL_COOKIE)
    if not raw:
        return None
    try:
        data = _serializer("arrival").loads(raw, max_age=ARRIVAL_MAX_AGE)
        arrived_at = datetime.fromtimestamp(int(data["t"]), UTC)
        arrival_unit = int(data["u"])
    except (BadSignature, KeyError, TypeError, ValueError):
        return None
    return measured_wait_minutes(arrival_unit, arrived_at, unit_id, opened_at, settings().tz)


def _read_ticket(counter_id: int) -> tuple[uuid.UUID | None, int | None]:
    """The response id and measured wait signed into the form when it was opened."""
    try:
        data = _serializer("ticket").loads(request.form.get("t", ""), max_age=TICKET_MAX_AGE)
        if int(data["c"]) != counter_id:
            return None, None
        wait = data.get("w")
        return uuid.UUID(data["r"]), int(wait) if wait is not None else None
    except (BadSignature, KeyError, TypeError, ValueError):
        return None, None


def _services(unit_id: int) -> list[ServiceChoice]:
    with database().reading(autocommit=True) as connection:
        return services_of(connection, unit_id)


def _respond_with_page(page: str | Response, status: int) -> ResponseReturnValue:
    response = page if isinstance(page, Response) else make_response(page, status)
    if DEVICE_COOKIE not in request.cookies:
        response.set_cookie(DEVICE_COOKIE, secrets.token_urlsafe(16), max_age=30 * 24 * 3600,
                            httponly=True, samesite="Lax",
                            secure=current_app.config["SESSION_COOKIE_SECURE"])
    response.headers["Cache-Control"] = "no-store"
    return response


def render_survey(
    counter: CounterPage,
    values: Mapping[str, object],
    errors: Mapping[str, FieldError],
    *,
    ticket: str,
    status: int = 200,
    notice: str | None = None,
) -> ResponseReturnValue:
    """The survey form, with the citizen's answers and messages beside their questions."""
    messages = {name: fill(e.message, e.params) for name, e in errors.items()}
    html = render_template(
        "survey.html", survey=current_survey(), counter=counter, unit=counter.unit,
        services=_services(counter.unit_id),
        officer_name=counter.officer_name,
        values=values, errors=messages, ticket=ticket, notice=notice,
        profile_open=any(name.startswith("profile") for name in errors),
    )
    return _respond_with_page(html, status)


class SurveyPages:
    """Fresh survey pages rendered once and kept, with holes for the per-request values.

    A fresh page (no answers, no messages) depends only on the questionnaire, the language
    and what it shows of the counter: its key holds all of them, read afresh per request,
    so a kept page is never stale. Only the CSRF token and the ticket differ per request;
    they are rendered as random markers and cut out. Rendering the template costs more than
    everything else a page view does, and compressing it a sixth of that: a kept page is
    also kept compressed (HoledText).
    """

    def __init__(self) -> None:
        marker = secrets.token_hex(12)
        self.csrf_marker = f"csrf-{marker}"
        self.ticket_marker = f"ticket-{marker}"
        self._holes = re.compile(f"({self.csrf_marker}|{self.ticket_marker})")
        self._kept: OrderedDict[Hashable, HoledText] = OrderedDict()

    def page(self, key: Hashable, render: Callable[[str, str], str], csrf: str,
             ticket: str) -> Response:
        """The page for ``key`` with this request's CSRF token and ticket filled in."""
        kept = self._kept.get(key)
        if kept is None:
            # Text and markers alternate: the odd pieces are the holes.
            kept = HoledText(self._holes.split(render(self.csrf_marker, self.ticket_marker)))
            if not current_app.jinja_env.auto_reload:  # templates being edited: never keep
                self._kept[key] = kept
                if len(self._kept) > SURVEY_PAGES_KEPT:
                    self._kept.popitem(last=False)
        return kept.response({self.csrf_marker: str(escape(csrf)),
                              self.ticket_marker: str(escape(ticket))}, 200)


@bp.record_once
def _init_pages(state: BlueprintSetupState) -> None:
    state.app.extensions["suara.survey_pages"] = SurveyPages()


def fresh_survey(counter: CounterPage, services: tuple[ServiceChoice, ...], ticket: str
                 ) -> ResponseReturnValue:
    """The survey form as a citizen first sees it (from the kept pages when possible)."""
    survey = current_survey()
    locale = current_locale()
    values = {"service": counter.default_service_code or ""}

    def render(csrf: str, ticket: str) -> str:
        return render_template(
            "survey.html", survey=survey, counter=counter, unit=counter.unit,
            services=services, officer_name=counter.officer_name, values=values, errors={},
            ticket=ticket, notice=None, profile_open=False, csrf_token=lambda: csrf)

    pages: SurveyPages = current_app.extensions["suara.survey_pages"]
    key = (survey.survey_id, survey.version, locale, counter, services)
    return _respond_with_page(pages.page(key, render, generate_csrf(), ticket), 200)


@bp.get("/s/<token>")
def survey_page(token: str) -> ResponseReturnValue:
    """The survey behind a counter's QR code."""
    with database().reading(autocommit=True) as connection:
        resolved = resolve_token(connection, token, utcnow())
        counter = resolved.counter
        services = tuple(services_of(connection, counter.unit_id)) if counter else ()
    if counter is None:
        return _token_page(resolved.retired)
    opened_at = utcnow()
    ticket = _serializer("ticket").dumps({
        "c": counter.id, "r": uuid.uuid4().hex,
        "w": _arrival_wait(counter.unit_id, opened_at),
    })
    return fresh_survey(counter, services, ticket)


def form_values(form: MultiDict[str, str], survey: Survey) -> dict[str, object]:
    """The submitted form as the raw mapping parse_answers expects (and the page re-shows)."""
    values: dict[str, object] = {e.code: form.get(e.code, "") for e in survey.elements}
    for name in ("wait_band", "service", "comment"):
        values[name] = form.get(name, "")
    values["profile"] = {item.code: form.get(f"profile.{item.code}", "")
                         for item in survey.profile}
    return values


@bp.post("/s/<token>")
# Switching the language is counted apart: it must never use up a citizen's submissions.
@per_address(lambda: settings().rate_limit_submit,
             bucket=lambda: "language" if request.form.get("switch_lang") else "")
def submit(token: str) -> ResponseReturnValue:
    """Validate and store a response; on error the page comes back with the answers kept."""
    now = utcnow()
    survey = current_survey()
    values = form_values(request.form, survey)
    if request.form.get("switch_lang"):  # the language switch: the same answers, shown again
        return _form_again(token, values, status=200)
    # One connection for the lookup and the write (see Database.writing).
    with database().reading() as connection:
        lookup = lookup_token(connection, token, survey, values["service"], now)
        if lookup.counter is None:
            return _token_page(lookup.retired)
        answers, errors = parse_answers(survey, lookup.service_codes(values["service"]),
                                        values)
        if answers is not None:
            _store(connection, lookup.prepared(survey, answers), answers, now)
            return redirect(url_for("public.thanks", token=token), 303)
    counter = _counter_or_page(token)
    if not isinstance(counter, CounterPage):
        return counter
    return render_survey(counter, values, errors, ticket=request.form.get("t", ""), status=422)


def _store(connection: Connection, prepared: Prepared, answers: Answers, now: datetime) -> None:
    """Store a valid form submission, with its ticket, device and honeypot."""
    client_id, measured = _read_ticket(prepared.counter_id)
    submission = Submission(
        client_id=client_id or uuid.uuid4(), channel="qr", created_at=now, received_at=now,
        ip=request.remote_addr, device=request.cookies.get(DEVICE_COOKIE),
        measured_wait_min=measured, honeypot_filled=bool(request.form.get(HONEYPOT, "").strip()),
    )
    with database().writing(connection) as write:
        outcome, _stored = store_response(write, prepared, answers, submission, settings().tz,
                                          salts=todays_salt())
        if outcome is Outcome.CONFLICT:
            # The same form sent again with other answers (the citizen went back and changed
            # them): a new response, flagged as a repeat of the first however long after it.
            submission = replace(submission, client_id=uuid.uuid4(), repeat=True)
            store_response(write, prepared, answers, submission, settings().tz,
                           salts=todays_salt())


@bp.get("/s/<token>/terima-kasih")
def thanks(token: str) -> ResponseReturnValue:
    """Thank-you page after a response was stored."""
    counter = _counter_or_page(token)
    if not isinstance(counter, CounterPage):
        return counter
    return render_template("thanks.html", unit=counter.unit)


@bp.get("/a/<token>")
def arrival(token: str) -> ResponseReturnValue:
    """The arrival poster: remember when this phone arrived, in a signed cookie only."""
    unit = None
    if TOKEN_PATTERN.fullmatch(token):  # also keeps NUL bytes away from PostgreSQL
        unit = db_session().scalars(
            select(Unit).where(Unit.arrival_token == token)).one_or_none()
    if unit is None:
        return message_page("notfound", 404)
    now = utcnow()
    # In the configured zone (Flask-Babel's): 09.12 in Indonesian, 9:12 AM in English.
    response = make_response(render_template("arrival.html", unit=unit,
                                             time=format_time(now, "short")))
    response.set_cookie(
        ARRIVAL_COOKIE, _serializer("arrival").dumps({"u": unit.id, "t": int(now.timestamp())}),
        max_age=ARRIVAL_MAX_AGE, httponly=True, samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _form_again(token: str, values: Mapping[str, object], *, status: int,
                notice: str | None = None) -> ResponseReturnValue:
    """The survey form shown again with the answers sent, nothing stored."""
    counter = _counter_or_page(token)
    if not isinstance(counter, CounterPage):
        return counter
    return render_survey(counter, values, {}, ticket=request.form.get("t", ""),
                         status=status, notice=notice)


def form_refused_page(status: int, notice: str) -> ResponseReturnValue:
    """A survey POST refused before it was read (CSRF token expired, too many from one
    address): the form again with every answer kept, and why, instead of a page that
    loses them."""
    token = (request.view_args or {}).get("token", "")
    values = form_values(request.form, current_survey())
    return _form_again(token, values, status=status, notice=notice)
