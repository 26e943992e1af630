"""Complaint cases (pengaduan): why a response opens one, its reference and working-day
deadlines, the handlers' steps (assign, categorise, verify, follow up, close, reopen,
SP4N-LAPOR! number, notes, the public summary), who may see and work them, and the lists.

See docs/loop.md, "Complaint cases". Every step is a ``CaseEvent`` and an audit entry; the
citizen's contact never goes into either (``view_contact`` records that it was seen).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, selectinload

from app import audit, workdays
from app.auth import unit_scope
from app.case_contact import Contact
from app.models import Case, CaseContact, CaseEvent, CaseHandler, Response, Service, User
from app.models.cases import CASE_CATEGORIES, CASE_TEXT_MAX, LAPOR_MAX
from app.org import FormRefusal, invisible_character

REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, no 1/I
REFERENCE_PATTERN = re.compile(r"^[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$")
VERIFY_DAYS = 3  # working days from opened_on
FOLLOW_UP_DAYS = 5  # working days from verified_on
LOW_MEAN = Fraction(5, 2)  # a mean of the nine scores below this is low
LAPOR_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ./#-]*$")
# The stages with a deadline, and where it is kept.
OPEN_STAGES = ("new", "verified")
CITIZEN = audit.Actor("citizen")  # no request: a citizen's address never enters the log
AUDITED = ("reference", "unit_id", "state", "category", "owner_id", "lapor_number",
           "published")


class CaseError(FormRefusal):
    """A refused step: a message for people and the form field it belongs to."""


# Why a response opens a case -----------------------------------------------------------------


def reasons_of(scores: Sequence[int], comment: str | None, fee: int | None, *,
               declared: bool = False) -> tuple[str, ...]:
    """The reasons (CASE_REASONS, in order) that nine scores U1..U9, a comment and the fee of
    the chosen service (None: no service) give to open a case."""
    found = []
    if declared:
        found.append("declared")
    if comment and (1 in scores[:8] or Fraction(sum(scores), len(scores)) < LOW_MEAN):
        found.append("low_score")
    if fee == 0 and scores[3] != 4:
        found.append("illegal_fee")
    return tuple(found)


def case_reasons(response: Response, service: Service | None, *,
                 declared: bool = False) -> tuple[str, ...]:
    """Why ``response`` opens a case: ``declared`` (the citizen ticked "Ini pengaduan"),
    ``low_score`` (a comment, and any of U1–U8 at 1 or a mean of the nine below 2.5; U9 at
    1 alone is not one), ``illegal_fee`` (a free service whose U4 is not "Gratis")."""
    return reasons_of(response.scores(), response.comment,
                      service.fee if service is not None else None, declared=declared)


def may_open_case(scores: Sequence[int], comment: str | None, service_id: int | None, *,
                  declared: bool) -> bool:
    """Whether answers could open a case, before the service's fee is known (a chosen
    service is taken as free): storing skips the case lookups for the others."""
    return bool(reasons_of(scores, comment, 0 if service_id is not None else None,
                           declared=declared))


def is_flagged(response: Response) -> bool:
    """Left out of the index (repeat, bot, a kiosk's fast or burst)."""
    return response.flag_repeat or response.flag_bot or response.flag_fast \
        or response.flag_burst


def opens_no_case(response: Response) -> bool:
    """A bot (honeypot) or a kiosk's fast or burst answer: never a complaint. A repeat
    still opens its own case (its flag is about the index, not about complaints)."""
    return response.flag_bot or response.flag_fast or response.flag_burst


def new_reference(session: Session) -> str:
    """An unused reference XXXX-XXXX from REFERENCE_ALPHABET (32**8 of them, by
    ``secrets``: unguessable, so a reference shows its own case only)."""
    while True:
        chars = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
        reference = f"{chars[:4]}-{chars[4:]}"
        if session.scalar(select(Case.id).where(Case.reference == reference)) is None:
            return reference


def normalise_reference(text: str) -> str | None:
    """A reference as typed (lower case, without the hyphen, with spaces) in its stored
    form; None when it cannot be one (so nothing odd reaches the database)."""
    if len(text) > 20:
        return None
    compact = "".join(text.split()).replace("-", "").upper()
    reference = f"{compact[:4]}-{compact[4:]}"
    return reference if REFERENCE_PATTERN.fullmatch(reference) else None


def _event(session: Session, case: Case, kind: str, now: datetime, *,
           user_id: int | None = None, note: str | None = None) -> CaseEvent:
    event = CaseEvent(case_id=case.id, at=now, kind=kind, user_id=user_id, note=note)
    session.add(event)
    return event


def _overrides(session: Session, first: date) -> dict[date, bool]:
    return workdays.overrides(session, first)


def open_case(session: Session, response: Response, *, declared: bool,
              contact: Contact | None, now: datetime, tz: ZoneInfo) -> Case | None:
    """Open the case of a just-stored response when it has a reason to (see
    ``case_reasons``), in the caller's transaction; None for none, and for a bot's or a
    kiosk's fast or burst answer (``opens_no_case``; a repeat opens one). The contact is
    kept only when a case opens. One case per response: the existing one is returned."""
    if opens_no_case(response):
        return None
    existing = session.scalar(select(Case).where(Case.response_id == response.id))
    if existing is not None:
        return existing
    service = session.get(Service, response.service_id) \
        if response.service_id is not None else None
    reasons = case_reasons(response, service, declared=declared)
    if not reasons:
        return None
    opened_on = workdays.local_day(now, tz)
    case = Case(reference=new_reference(session), response_id=response.id,
                unit_id=response.unit_id, reasons=",".join(reasons), state="new",
                opened_at=now, opened_on=opened_on,
                verify_due_on=workdays.add_working_days(opened_on, VERIFY_DAYS,
                                                        _overrides(session, opened_on)))
    session.add(case)
    session.flush()
    if contact is not None:
        session.add(CaseContact(case_id=case.id, phone=contact.phone, email=contact.email,
                                consent_at=now, purpose=contact.purpose))
    _event(session, case, "opened", now, note=case.reasons)
    audit.record(session, "case.open", "case", case.id, actor=CITIZEN, at=now,
                 after={"reference": case.reference, "unit_id": case.unit_id,
                        "reasons": case.reasons, "contact": contact is not None})
    return case


# Deadlines ----------------------------------------------------------------------------------


def current_deadline(case: Case) -> date | None:
    """The last day of the current stage: verification for a new case, the follow-up for
    a verified one; None once followed up."""
    if case.state == "new":
        return case.verify_due_on
    if case.state == "verified":
        return case.follow_up_due_on
    return None


def is_overdue(case: Case, today: date) -> bool:
    """Its current stage's last day has ended."""
    due = current_deadline(case)
    return due is not None and due < today


def _overdue_clause(today: date) -> Any:
    return or_(and_(Case.state == "new", Case.verify_due_on < today),
               and_(Case.state == "verified", Case.follow_up_due_on < today))


# Who sees and works which cases --------------------------------------------------------------


def handled_unit_ids(session: Session, user_id: int) -> set[int]:
    """The units whose cases ``user_id`` handles (case_handlers rows)."""
    return set(session.scalars(select(CaseHandler.unit_id).where(
        CaseHandler.user_id == user_id)))


def handles(session: Session, user: User, unit_id: int) -> bool:
    """Whether ``user`` works the unit's cases: administrators, and the unit's handlers
    (they alone see a contact)."""
    return user.role == "admin" or unit_id in handled_unit_ids(session, user.id)


def case_scope(session: Session, user: User) -> set[int] | None:
    """The units whose cases ``user`` sees: None for all (administrators); a unit head's
    units, and any unit the user handles (whatever their role)."""
    if user.role == "admin":
        return None
    units = handled_unit_ids(session, user.id)
    if user.role == "unit_head":
        units |= unit_scope(session, user) or set()
    return units


def sees_cases(session: Session, user: User) -> bool:
    """Whether the cases pages are for ``user`` at all."""
    return user.role in ("admin", "unit_head") or bool(handled_unit_ids(session, user.id))


def sees_officer(session: Session, user: User, unit_id: int) -> bool:
    """Whether the case page may name the officer on duty: administrators and the unit's
    heads only (a handler reads the counter and the time, not the person)."""
    if user.role == "admin":
        return True
    scope = unit_scope(session, user) if user.role == "unit_head" else set()
    return scope is not None and unit_id in scope


# Lists ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseFilters:
    """What the case list asks for; None or False filters nothing."""

    state: str | None = None
    overdue: bool = False
    unit_id: int | None = None


LIST_LIMIT = 200


def list_cases(session: Session, unit_ids: set[int] | None, filters: CaseFilters,
               today: date, *, limit: int = LIST_LIMIT) -> list[Case]:
    """The cases of ``unit_ids`` (None: all) matching ``filters``, latest first."""
    query = (select(Case).options(selectinload(Case.unit),
                                  selectinload(Case.response).selectinload(Response.counter))
             .order_by(Case.opened_at.desc(), Case.id.desc()).limit(limit))
    if unit_ids is not None:
        query = query.where(Case.unit_id.in_(sorted(unit_ids) or [-1]))
    if filters.state is not None:
        query = query.where(Case.state == filters.state)
    if filters.unit_id is not None:
        query = query.where(Case.unit_id == filters.unit_id)
    if filters.overdue:
        query = query.where(_overdue_clause(today))
    return list(session.scalars(query))


@dataclass(frozen=True)
class OverdueCase:
    """A case past its current deadline, as the digest lists it (no contact, no text)."""

    reference: str
    stage: str
    due_on: date
    days_overdue: int


def overdue_cases(session: Session, unit_ids: Sequence[int], today: date
                  ) -> list[OverdueCase]:
    """The cases of ``unit_ids`` past their current deadline on ``today``, longest
    overdue first."""
    rows = session.scalars(select(Case).where(Case.unit_id.in_(list(unit_ids) or [-1]),
                                              _overdue_clause(today)))
    found = []
    for case in rows:
        due = current_deadline(case)
        assert due is not None  # noqa: S101 (the clause picks cases with a deadline)
        found.append(OverdueCase(case.reference, case.state, due, (today - due).days))
    return sorted(found, key=lambda c: (c.due_on, c.reference))


def case_by_reference(session: Session, text: str) -> Case | None:
    """The case of a reference as a citizen typed it; None for an unknown or malformed one."""
    reference = normalise_reference(text)
    if reference is None:
        return None
    return session.scalar(select(Case).where(Case.reference == reference))


def case_of_response(session: Session, response_id: int) -> Case | None:
    """The case a response opened, if any."""
    return session.scalar(select(Case).where(Case.response_id == response_id))


def history(session: Session, case_id: int) -> list[CaseEvent]:
    """The case's events, oldest first."""
    return list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id)
                                .order_by(CaseEvent.at, CaseEvent.id)))


# The handlers' steps -------------------------------------------------------------------------


def _text(text: str, field: str, *, required: bool, maximum: int = CASE_TEXT_MAX
          ) -> str | None:
    """A textarea's text, its line breaks kept; None when empty and not required."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        if required:
            raise CaseError(_l("This field is required."), field)
        return None
    if len(text) > maximum:
        raise CaseError(_l("Write at most %(max)d characters.", max=maximum), field)
    if odd := invisible_character(text.replace("\n", "")):
        raise CaseError(_l("Remove the invisible or control character %(char)s.",
                           char=odd), field)
    return text


def _recorded(session: Session, case: Case, kind: str, before: dict[str, Any], now: datetime,
              *, user_id: int | None, note: str | None = None,
              extra: dict[str, Any] | None = None) -> None:
    session.flush()
    _event(session, case, kind, now, user_id=user_id, note=note)
    audit.record(session, f"case.{kind}", "case", case.id, before=before,
                 after={**audit.snapshot(case, AUDITED), **(extra or {})}, at=now)


def _require_state(case: Case, *states: str) -> None:
    if case.state not in states:
        raise CaseError(_l("This step does not fit the case's state; the page may be out of "
                           "date. Open the case again."))


def eligible_owners(session: Session, unit_id: int) -> list[User]:
    """Who may own a case of the unit: its active handlers and the administrators."""
    handlers = select(CaseHandler.user_id).where(CaseHandler.unit_id == unit_id)
    return list(session.scalars(select(User).where(
        User.active.is_(True), or_(User.role == "admin", User.id.in_(handlers)))
        .order_by(User.email)))


def assign(session: Session, case: Case, owner_id: int | None, *, user_id: int | None,
           now: datetime) -> None:
    """Give the case to an owner (a handler of its unit or an administrator), or to
    nobody."""
    if owner_id is not None and owner_id not in {
            u.id for u in eligible_owners(session, case.unit_id)}:
        raise CaseError(_l("Choose a handler of this unit or an administrator."), "owner")
    if owner_id == case.owner_id:
        raise CaseError(_l("The case already has this owner."), "owner")
    before = audit.snapshot(case, AUDITED)
    case.owner_id = owner_id
    _recorded(session, case, "assigned", before, now, user_id=user_id)


def categorise(session: Session, case: Case, category: str, *, user_id: int | None,
               now: datetime) -> None:
    """Set the case's category (CASE_CATEGORIES)."""
    if category not in CASE_CATEGORIES:
        raise CaseError(_l("Choose one of the listed categories."), "category")
    if category == case.category:
        raise CaseError(_l("The case already has this category."), "category")
    before = audit.snapshot(case, AUDITED)
    case.category = category
    _recorded(session, case, "categorised", before, now, user_id=user_id)


def verify(session: Session, case: Case, note: str, *, user_id: int | None, now: datetime,
           tz: ZoneInfo) -> None:
    """A new case is verified (diverifikasi): the follow-up is due within FOLLOW_UP_DAYS
    working days of that day."""
    _require_state(case, "new")
    text = _text(note, "note", required=False)
    before = audit.snapshot(case, AUDITED)
    case.state = "verified"
    case.verified_at = now
    case.verified_on = workdays.local_day(now, tz)
    case.follow_up_due_on = workdays.add_working_days(
        case.verified_on, FOLLOW_UP_DAYS, _overrides(session, case.verified_on))
    _recorded(session, case, "verified", before, now, user_id=user_id, note=text,
              extra={"follow_up_due_on": case.follow_up_due_on})


def follow_up(session: Session, case: Case, answer: str, *, user_id: int | None,
              now: datetime) -> None:
    """A verified case is followed up (ditindaklanjuti) with the answer to the citizen."""
    _require_state(case, "verified")
    text = _text(answer, "answer", required=True)
    before = audit.snapshot(case, AUDITED)
    case.state = "followed_up"
    case.followed_up_at = now
    case.answer = text
    _recorded(session, case, "followed_up", before, now, user_id=user_id, note=text)


def close(session: Session, case: Case, note: str, *, user_id: int | None,
          now: datetime) -> None:
    """A followed-up case is closed (selesai); its contact is erased 90 days later."""
    _require_state(case, "followed_up")
    text = _text(note, "note", required=False)
    before = audit.snapshot(case, AUDITED)
    case.state = "closed"
    case.closed_at = now
    _recorded(session, case, "closed", before, now, user_id=user_id, note=text)


def reopen(session: Session, case: Case, note: str, *, user_id: int | None,
           now: datetime) -> None:
    """A closed case back to followed up (the citizen was not satisfied), with why."""
    _require_state(case, "closed")
    text = _text(note, "note", required=True)
    before = audit.snapshot(case, AUDITED)
    case.state = "followed_up"
    case.closed_at = None
    _recorded(session, case, "reopened", before, now, user_id=user_id, note=text)


def set_lapor_number(session: Session, case: Case, number: str, *, user_id: int | None,
                     now: datetime) -> None:
    """Record (or with an empty text, remove) the case's SP4N-LAPOR! tracking number."""
    number = number.strip()
    if len(number) > LAPOR_MAX:
        raise CaseError(_l("A LAPOR! number has at most %(max)d characters.", max=LAPOR_MAX),
                        "lapor_number")
    if number and not (number.isascii() and LAPOR_PATTERN.fullmatch(number)):
        raise CaseError(_l("Use letters, digits, spaces and . / # - only."), "lapor_number")
    value = number or None
    if value == case.lapor_number:
        raise CaseError(_l("The case already has this LAPOR! number."), "lapor_number")
    before = audit.snapshot(case, AUDITED)
    case.lapor_number = value
    _recorded(session, case, "lapor", before, now, user_id=user_id)


def add_note(session: Session, case: Case, note: str, *, user_id: int | None,
             now: datetime) -> None:
    """An internal note in the case's history."""
    text = _text(note, "note", required=True)
    _recorded(session, case, "noted", audit.snapshot(case, AUDITED), now, user_id=user_id,
              note=text)


def save_summary(session: Session, case: Case, summary: str, *, user_id: int | None,
                 now: datetime) -> None:
    """Write the public summary (redacted: nothing that identifies the citizen or the
    officer); a published one changes on the public page at once."""
    text = _text(summary, "public_summary", required=case.published)
    if text == case.public_summary:
        raise CaseError(_l("The summary is unchanged."), "public_summary")
    # The log says that it changed (its length), never the drafts' text.
    before = {**audit.snapshot(case, AUDITED),
              "public_summary_length": len(case.public_summary or "")}
    case.public_summary = text
    _recorded(session, case, "summarised", before, now, user_id=user_id,
              extra={"public_summary_length": len(text or "")})


def set_published(session: Session, case: Case, published: bool, *, user_id: int | None,
                  now: datetime) -> None:
    """Show the public summary on the public page, or take it off."""
    if published and not case.public_summary:
        raise CaseError(_l("Write the public summary first."), "public_summary")
    # The public page lists them as followed up ("Pengaduan yang ditindaklanjuti").
    if published and case.state not in ("followed_up", "closed"):
        raise CaseError(_l("Publish the summary once the case is followed up or closed."))
    if published == case.published:
        raise CaseError(_l("The summary is already published.") if published
                        else _l("The summary is not published."))
    before = audit.snapshot(case, AUDITED)
    case.published = published
    _recorded(session, case, "published" if published else "unpublished", before, now,
              user_id=user_id)


def contact_of(session: Session, case_id: int) -> CaseContact | None:
    """The case's contact row (None: none given, or erased)."""
    return session.get(CaseContact, case_id)


def view_contact(session: Session, case: Case, *, user_id: int | None, now: datetime
                 ) -> CaseContact | None:
    """A handler's or administrator's look at the contact: recorded as a
    ``contact_viewed`` event and in the audit log, without the value (the caller checked
    ``handles``)."""
    contact = contact_of(session, case.id)
    if contact is None:
        raise CaseError(_l("This case has no contact (none was given, or it was erased)."))
    _event(session, case, "contact_viewed", now, user_id=user_id)
    audit.record(session, "case.contact_viewed", "case", case.id,
                 after={"reference": case.reference}, at=now)
    return contact


STATE_LABELS = {"new": _l("New"), "verified": _l("Verified"),
                "followed_up": _l("Followed up"), "closed": _l("Closed")}
CATEGORY_LABELS = {"waiting": _l("Waiting time"), "conduct": _l("Staff conduct"),
                   "fee": _l("Fees and charges"), "procedure": _l("Procedure and requirements"),
                   "facility": _l("Facilities"), "information": _l("Information"),
                   "other": _l("Other")}
REASON_LABELS = {"declared": _l("The citizen called it a complaint"),
                 "low_score": _l("A low score with a comment"),
                 "illegal_fee": _l("A fee reported for a free service")}
EVENT_LABELS = {"opened": _l("Opened"), "assigned": _l("Owner changed"),
                "categorised": _l("Category set"), "verified": _l("Verified"),
                "followed_up": _l("Followed up"), "closed": _l("Closed"),
                "reopened": _l("Reopened"), "noted": _l("Note"),
                "lapor": _l("LAPOR! number set"), "notified": _l("Handlers notified"),
                "reminded": _l("Reminder sent: one working day left"),
                "overdue": _l("Past the deadline"), "escalated": _l("Escalated to the unit head"),
                "published": _l("Summary published"), "unpublished": _l("Summary unpublished"),
                "summarised": _l("Public summary written"),
                "contact_viewed": _l("Contact shown"), "contact_erased": _l("Contact erased")}
