"""Citizen pages: the counter survey behind the QR code, the arrival poster, thank-you."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from flask import (
    Blueprint,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import format_time
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.datastructures import MultiDict

from app.answers import Answers, FieldError, parse_answers
from app.case_contact import CONSENT_LABEL, CONSENT_NEEDED, Complaint, parse_complaint
from app.cases import case_by_reference, case_of_response, contact_of
from app.db import start_writing, utcnow
from app.extensions import db_session, settings, surveys
from app.feedback import (
    DEFAULT_SURVEY_ID,
    CounterPage,
    Outcome,
    Prepared,
    Submission,
    lookup_token,
    measured_wait_minutes,
    resolve_token,
    store_response,
)
from app.i18n import fill
from app.org import services_of, unit_by_arrival_token
from app.surveys import Survey, latest
from app.web.common import limiter, shortest_first, signing_keys

bp = Blueprint("public", __name__)

ARRIVAL_COOKIE = "sw_arr"
DEVICE_COOKIE = "sw_d"
HONEYPOT = "website"
TICKET_MAX_AGE = 24 * 3600
# A response is attributed to whoever was on duty when its form was opened, as signed into
# the ticket; an opening longer ago than this (or none) counts as the submission's instant,
# so an old form cannot be used to credit or blame an officer of hours before.
OPENED_MAX_AGE = timedelta(hours=2)
PICK_FIELD = "officer"
ARRIVAL_MAX_AGE = 12 * 3600
# A corrected form's answers wait in the (signed, client-side) session cookie across the
# redirect to the form; beyond this size they would not fit a cookie, and the form is
# shown from the POST instead.
DRAFT_MAX_BYTES = 2400
DRAFT_MAX_AGE = 3600
# The phone form's complaint items (app.case_contact), and the session key that carries a
# new case's reference to the thank-you page.
COMPLAINT_FIELDS = ("complaint", "contact", "consent")
CASE_KEY = "case"
RETYPE_CONTACT = _l("For your privacy your contact was not kept while you correct the form: "
                    "please type it again.")


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
    "inactive": (_l("This counter is no longer in use"),
                 _l("The counter on this poster has closed, so it no longer takes ratings. "
                    "Thank you for wanting to give your opinion — please ask the staff where "
                    "you can rate the service today.")),
    "unit_inactive": (_l("This poster is no longer in use"),
                      _l("This service office has closed, so its arrival poster no longer "
                         "records waiting times. Please ask the staff for help.")),
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
    # While the database cannot be written (503): nothing is lost but the moment.
    "not_saved": (_l("Your answers were not saved"),
                  _l("The service cannot store answers right now, so your answers were not "
                     "saved. Please press Back and send them again in a few minutes — your "
                     "answers are still on the form.")),
    "unavailable": (_l("The service is briefly unavailable"),
                    _l("This page cannot be opened right now. Please try again in a few "
                       "minutes.")),
    "badrequest": (_l("Invalid request"),
                   _l("This page has expired. Please scan the QR code at the counter again.")),
    "forbidden": (_l("Not allowed"), _l("Your account may not open this page.")),
}


def message_page(key: str, status: int) -> ResponseReturnValue:
    """A short citizen-facing page with a title and a sentence (errors, expired codes)."""
    title, body = MESSAGE_PAGES[key]
    return render_template("message.html", title=title, body=body), status


def _token_page(retired: bool, inactive: bool = False) -> ResponseReturnValue:
    """Why a scanned code opens no survey: a counter no longer in use, a replaced poster
    (both gone for good: 410), or a code we never issued (404)."""
    if inactive:
        return message_page("inactive", 410)
    return message_page("revoked", 410) if retired else message_page("notfound", 404)


def _counter_or_page(token: str, at: datetime | None = None
                     ) -> CounterPage | ResponseReturnValue:
    resolved = resolve_token(db_session(), token, at or utcnow())
    if resolved.counter is not None:
        return resolved.counter
    return _token_page(resolved.retired, resolved.inactive)


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


def _opening(ticket: str, now: datetime) -> tuple[int | None, datetime]:
    """The counter and the instant a form was opened, as signed into its ticket; the
    instant is ``now`` when the ticket is missing or forged, or was opened more than
    OPENED_MAX_AGE ago (or in the future: a server a little ahead of this one)."""
    try:
        data = _serializer("ticket").loads(ticket, max_age=TICKET_MAX_AGE)
        counter_id, opened = int(data["c"]), datetime.fromisoformat(data["o"])
    except (BadSignature, KeyError, TypeError, ValueError):
        return None, now
    if opened.tzinfo is None or not now - OPENED_MAX_AGE <= opened <= now:
        return counter_id, now
    return counter_id, opened


def _opened_at(ticket: str, counter_id: int, now: datetime) -> datetime:
    """When the form of ``counter_id`` was opened (see ``_opening``); ``now`` for a ticket
    of another counter's form."""
    ticket_counter, opened = _opening(ticket, now)
    return opened if ticket_counter == counter_id else now


def _picked_officer(form: MultiDict[str, str]) -> int | None:
    """The officer the citizen says served them (an id; checked against those on duty by
    ``app.duty.attribute``), or None for "don't know" and anything that is not an id."""
    raw = form.get(PICK_FIELD, "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 10 else None


def _respond_with_page(page: str, status: int) -> ResponseReturnValue:
    response = make_response(page, status)
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
        services=services_of(db_session(), counter.unit_id),
        officer_name=counter.officer_name, on_duty=counter.on_duty, pick_field=PICK_FIELD,
        values=values, errors=messages, ticket=ticket, notice=notice,
        consent_label=CONSENT_LABEL,
        profile_open=any(name.startswith("profile") for name in errors),
    )
    return _respond_with_page(html, status)


@bp.get("/s/<token>")
def survey_page(token: str) -> ResponseReturnValue:
    """The survey behind a counter's QR code (with a corrected form's answers and messages
    when the citizen was sent back to it)."""
    counter = _counter_or_page(token)
    if not isinstance(counter, CounterPage):
        return counter
    draft = _take_draft(token)
    if draft is not None:
        values, ticket, retype = draft
        # The officers on duty when the form was first opened: those a pick may name.
        opened = _opened_at(ticket, counter.id, utcnow())
        again = _counter_or_page(token, opened)
        if not isinstance(again, CounterPage):
            return again
        lookup = lookup_token(db_session(), token, current_survey(), values["service"],
                              opened, settings().tz)
        _answers, errors = parse_answers(current_survey(),
                                         lookup.service_codes(values["service"]), values)
        errors = {**errors, **parse_complaint(values)[1]}
        if retype:  # the contact was left out of the cookie: its consent is still due
            errors["contact"] = FieldError(RETYPE_CONTACT)
            if not values.get("consent") and "consent" not in errors:
                errors["consent"] = FieldError(CONSENT_NEEDED)
        return render_survey(again, values, errors, ticket=ticket)
    now = utcnow()
    ticket = _serializer("ticket").dumps({
        "c": counter.id, "r": uuid.uuid4().hex, "o": now.isoformat(),
        "w": _arrival_wait(counter.unit_id, now),
    })
    return render_survey(counter, {"service": counter.default_service_code or ""}, {},
                         ticket=ticket)


def _keep_draft(token: str, values: Mapping[str, object], ticket: str) -> bool:
    """Keep a form's answers in the session for the redirect back to it; False when they
    are too large for a cookie. The contact is never kept in the cookie: the citizen types
    it again (``retype`` asks them to)."""
    contact = values.get("contact")
    retype = isinstance(contact, str) and bool(contact.strip())
    draft = {"token": token, "values": {**values, "contact": ""}, "t": ticket,
             "at": int(time.time()), "retype": retype}
    if len(json.dumps(draft)) > DRAFT_MAX_BYTES:  # the cookie's size before compression
        return False
    session["draft"] = draft
    return True


def _take_draft(token: str) -> tuple[dict[str, object], str, bool] | None:
    """The answers kept for this counter's form, if any and recent, and whether a contact
    was left out; shown once, like a flashed message (a later visit gets a fresh form)."""
    draft = session.pop("draft", None)
    if not isinstance(draft, dict) or draft.get("token") != token \
            or time.time() - float(draft.get("at", 0)) > DRAFT_MAX_AGE:
        return None
    values = draft.get("values")
    return (values, str(draft.get("t", "")), draft.get("retype") is True) \
        if isinstance(values, dict) else None


def form_values(form: MultiDict[str, str], survey: Survey) -> dict[str, object]:
    """The submitted form as the raw mapping parse_answers expects (and the page re-shows)."""
    values: dict[str, object] = {e.code: form.get(e.code, "") for e in survey.elements}
    for name in ("wait_band", "service", "comment", PICK_FIELD, *COMPLAINT_FIELDS):
        values[name] = form.get(name, "")
    values["profile"] = {item.code: form.get(f"profile.{item.code}", "")
                         for item in survey.profile}
    return values


def _not_switching_language() -> bool:
    return not request.form.get("switch_lang")


@bp.post("/s/<token>")
# Switching the language is counted apart: it must never use up a citizen's submissions.
@limiter.limit(lambda: shortest_first(settings().rate_limit_submit),
               exempt_when=lambda: not _not_switching_language())
@limiter.shared_limit(lambda: shortest_first(settings().rate_limit_submit),
                      scope="survey-language", exempt_when=_not_switching_language)
def submit(token: str) -> ResponseReturnValue:
    """Validate and store a response; on error, back to the form with the answers kept."""
    now = utcnow()
    survey = current_survey()
    values = form_values(request.form, survey)
    if request.form.get("switch_lang"):  # the language switch: the same answers, shown again
        return _form_again(token, values, status=200)
    # Attributed to whoever was on duty when the form was opened (the ticket says when).
    ticket_counter, opened = _opening(request.form.get("t", ""), now)
    picked = _picked_officer(request.form)
    lookup = lookup_token(db_session(), token, survey, values["service"], opened,
                          settings().tz, picked_officer_id=picked)
    if lookup.counter is None:
        return _token_page(lookup.retired, lookup.inactive)
    if lookup.counter.id != ticket_counter and opened != now:  # another counter's ticket
        opened = now
        lookup = lookup_token(db_session(), token, survey, values["service"], opened,
                              settings().tz, picked_officer_id=picked)
    answers, errors = parse_answers(survey, lookup.service_codes(values["service"]), values)
    complaint, complaint_errors = parse_complaint(values)
    errors = {**errors, **complaint_errors}
    if answers is not None and not errors:
        start_writing(db_session())
        reference, contact_kept = _store(lookup.prepared(survey, answers), answers,
                                         complaint, now)
        db_session().commit()
        # Shown once on the thank-you page (the signed session cookie of this phone only).
        session[CASE_KEY] = {"ref": reference,
                             "dropped": complaint.contact is not None and not contact_kept}
        return redirect(url_for("public.thanks", token=token), 303)
    # Post/Redirect/Get: Back and reload on the corrected form never resend it.
    if _keep_draft(token, values, request.form.get("t", "")):
        return redirect(url_for("public.survey_page", token=token), 303)
    counter = _counter_or_page(token, opened)
    if not isinstance(counter, CounterPage):
        return counter
    return render_survey(counter, values, errors, ticket=request.form.get("t", ""), status=422)


def _store(prepared: Prepared, answers: Answers, complaint: Complaint, now: datetime
           ) -> tuple[str | None, bool]:
    """Store a valid form submission, with its ticket, device and honeypot; the reference
    of the complaint case to show (the one it opened, else for a form sent again the first
    response's), and whether that case holds a contact."""
    client_id, measured = _read_ticket(prepared.counter_id)
    submission = Submission(
        client_id=client_id or uuid.uuid4(), channel="qr", created_at=now, received_at=now,
        ip=request.remote_addr, device=request.cookies.get(DEVICE_COOKIE),
        measured_wait_min=measured, honeypot_filled=bool(request.form.get(HONEYPOT, "").strip()),
        complaint=complaint.declared, contact=complaint.contact,
    )
    outcome, stored = store_response(db_session(), prepared, answers, submission, settings().tz)
    case = case_by_reference(db_session(), stored.case_reference) \
        if stored.case_reference is not None else None
    if outcome is Outcome.CONFLICT:
        # The same form sent again with other answers (the citizen went back and changed
        # them): a new response, flagged as a repeat of the first however long after it.
        # It opens its own case when it has a reason; else the first one's case is shown.
        first = case_of_response(db_session(), stored.id)
        submission = replace(submission, client_id=uuid.uuid4(), repeat=True)
        outcome, stored = store_response(db_session(), prepared, answers, submission,
                                         settings().tz)
        case = case_by_reference(db_session(), stored.case_reference) \
            if stored.case_reference is not None else first
    if case is None:
        return None, False
    return case.reference, contact_of(db_session(), case.id) is not None


@bp.get("/s/<token>/terima-kasih")
def thanks(token: str) -> ResponseReturnValue:
    """Thank-you page after a response was stored."""
    counter = _counter_or_page(token)
    if not isinstance(counter, CounterPage):
        return counter
    # Kept (not popped): the language switch reloads this page; the next submission
    # from this phone replaces it.
    shown = session.get(CASE_KEY)
    shown = shown if isinstance(shown, dict) else {}
    reference = shown.get("ref") if isinstance(shown.get("ref"), str) else None
    response = make_response(render_template(
        "thanks.html", unit=counter.unit, reference=reference,
        contact_dropped=shown.get("dropped") is True))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/a/<token>")
def arrival(token: str) -> ResponseReturnValue:
    """The arrival poster: remember when this phone arrived, in a signed cookie only."""
    unit = unit_by_arrival_token(db_session(), token)
    if unit is None:
        return message_page("notfound", 404)
    if not unit.active:  # nothing remembered: no survey there would use it
        return message_page("unit_inactive", 410)
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
    counter = _counter_or_page(token, _opening(request.form.get("t", ""), utcnow())[1])
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


# The public page of a complaint case registers its view on ``bp``.
from app.web import case_page  # noqa: E402, F401
