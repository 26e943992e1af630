"""Complaint cases in the back office: the list (by state, overdue, unit) and a case's page
with the response it came from, its history and the handlers' forms.

Administrators see and work every case; a unit's handlers (any role) see and work its
cases and alone may show the contact (each view audited); unit heads read their units'
cases, without the contact and, unlike handlers, with the officer on duty named.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField

from app import cases
from app.cases import CATEGORY_LABELS, EVENT_LABELS, REASON_LABELS, STATE_LABELS, CaseError
from app.db import start_writing, utcnow
from app.extensions import db_session, settings
from app.models import Case, Unit, User
from app.models.cases import CASE_CATEGORIES, CASE_STATES
from app.web.admin import MAX_ID, OPEN_TO_HANDLERS, ConfirmForm, bp, show_refusal
from app.web.admin.actions import ShownBackText, ShownBackTextArea, element_names
from app.web.auth import staff, staff_required

F = TypeVar("F", bound=Callable[..., Any])
CONTACT_SHOWN = "case_contact_shown"  # session key: the case whose contact shows once


def case_pages(view: F) -> F:
    """A cases page: signed-in staff who see cases (administrators, unit heads, handlers of
    any role); others get 403. The navigation offers it to handlers too."""
    @wraps(view)
    def check(*args: Any, **kwargs: Any) -> Any:
        if not cases.sees_cases(db_session(), staff()):
            abort(403)
        return view(*args, **kwargs)
    wrapped = staff_required()(check)
    setattr(wrapped, OPEN_TO_HANDLERS, True)
    return cast(F, wrapped)


@bp.app_context_processor
def _case_helpers() -> dict[str, Any]:
    """``sees_cases()`` for the staff pages' header (asked only where it is shown)."""
    return {"sees_cases": lambda: cases.sees_cases(db_session(), staff())}


class AssignForm(FlaskForm):  # type: ignore[misc]  # (Flask-WTF ships no type information)
    """The case's owner: a handler of the unit or an administrator (checked by app.cases)."""

    owner = SelectField(_l("Owner"), validate_choice=False)


class CategoryForm(FlaskForm):  # type: ignore[misc]  # (as above)
    """The case's category."""

    category = SelectField(_l("Category"), validate_choice=False)


class NoteForm(FlaskForm):  # type: ignore[misc]  # (as above)
    """A step with an optional note (verify, close), a required one (reopen), or an
    internal note."""

    note = ShownBackTextArea(_l("Note"), render_kw={"rows": 3, "cols": 70})


class FollowUpForm(FlaskForm):  # type: ignore[misc]  # (as above)
    """The follow-up and the answer to the citizen."""

    answer = ShownBackTextArea(_l("Answer to the citizen (what was done)"),
                               render_kw={"rows": 5, "cols": 70})


class LaporForm(FlaskForm):  # type: ignore[misc]  # (as above)
    """The SP4N-LAPOR! tracking number (empty: none)."""

    lapor_number = ShownBackText(_l("SP4N-LAPOR! tracking number"),
                                 render_kw={"size": 30, "maxlength": 40})


class SummaryForm(FlaskForm):  # type: ignore[misc]  # (as above)
    """The public summary, written without anything that identifies someone."""

    public_summary = ShownBackTextArea(_l("Public summary"), render_kw={"rows": 4, "cols": 70})


# The forms of a case page, by the step they post to (each with its own prefix: one page
# holds them all).
FORMS: dict[str, tuple[type[FlaskForm], str]] = {
    "assign": (AssignForm, "assign"), "categorise": (CategoryForm, "category"),
    "verify": (NoteForm, "verify"), "follow_up": (FollowUpForm, "follow"),
    "close": (NoteForm, "close"), "reopen": (NoteForm, "reopen"), "lapor": (LaporForm, "lapor"),
    "note": (NoteForm, "note"), "summary": (SummaryForm, "summary"),
    "publish": (ConfirmForm, "publish"), "unpublish": (ConfirmForm, "unpublish"),
    "contact": (ConfirmForm, "contact"),
}


def _today() -> date:
    return utcnow().astimezone(settings().tz).date()


def _visible_case(case_id: int, *, fresh: bool = False) -> Case:
    """The case, or 404 when it does not exist or is not the user's to see."""
    case = db_session().get(Case, case_id, populate_existing=fresh) \
        if case_id <= MAX_ID else None
    if case is None:
        abort(404)
    scope = cases.case_scope(db_session(), staff())
    if scope is not None and case.unit_id not in scope:
        abort(404)
    return case


def _forms(case: Case, *, formdata: bool = False) -> dict[str, FlaskForm]:
    """Every form of the case page, filled with the case's values (``formdata``: the
    posted one reads the request)."""
    found: dict[str, FlaskForm] = {}
    for step, (form_class, prefix) in FORMS.items():
        data: dict[str, object] = {}
        if step == "assign":
            data = {"owner": str(case.owner_id or "")}
        elif step == "categorise":
            data = {"category": case.category or ""}
        elif step == "lapor":
            data = {"lapor_number": case.lapor_number or ""}
        elif step == "summary":
            data = {"public_summary": case.public_summary or ""}
        form = form_class(prefix=prefix, data=data, formdata=None if not formdata else
                          request.form)
        found[step] = form
    owners = cases.eligible_owners(db_session(), case.unit_id)
    found["assign"].owner.choices = [("", _("Nobody"))] + [
        (str(u.id), u.email) for u in owners]
    found["categorise"].category.choices = [("", _("— Choose —"))] + [
        (code, str(CATEGORY_LABELS[code])) for code in CASE_CATEGORIES]
    return found


def _detail(case: Case, forms: dict[str, FlaskForm] | None = None, status: int = 200
            ) -> ResponseReturnValue:
    session_db, user = db_session(), staff()
    works = cases.handles(session_db, user, case.unit_id)
    contact = None
    if works and session.pop(CONTACT_SHOWN, None) == case.id:
        contact = cases.contact_of(session_db, case.id)
    events = cases.history(session_db, case.id)
    people = {u.id: u.email for u in session_db.scalars(select(User).where(
        User.id.in_([e.user_id for e in events if e.user_id] + [case.owner_id or -1])))}
    response = case.response
    html = render_template(
        "admin/case_detail.html", case=case, response=response, events=events,
        people=people, works=works, forms=forms or _forms(case), contact=contact,
        has_contact=works and cases.contact_of(session_db, case.id) is not None,
        sees_officer=cases.sees_officer(session_db, user, case.unit_id),
        names=element_names(), states=STATE_LABELS, categories=CATEGORY_LABELS,
        reasons=REASON_LABELS, event_labels=EVENT_LABELS, deadline=cases.current_deadline(case),
        overdue=cases.is_overdue(case, _today()), tz=settings().tz)
    return html, status, {"Cache-Control": "no-store"}


@bp.get("/cases")
@case_pages
def cases_list() -> ResponseReturnValue:
    """The cases the user sees, latest first, filtered by state, overdue and unit."""
    session_db, user = db_session(), staff()
    scope = cases.case_scope(session_db, user)
    units = list(session_db.scalars(select(Unit).where(
        Unit.id.in_(sorted(scope) or [-1])).order_by(Unit.code) if scope is not None
        else select(Unit).order_by(Unit.code)))
    state, unit_code = request.args.get("state", ""), request.args.get("unit", "")
    overdue = request.args.get("overdue", "")
    problems = []
    if state and state not in CASE_STATES:
        problems.append(_("Unknown state: choose one of the list."))
    unit = next((u for u in units if u.code == unit_code), None)
    if unit_code and unit is None:
        problems.append(_("Unknown unit, or not one of yours."))
    if overdue not in ("", "1"):
        problems.append(_("Unknown choice."))
    filters = cases.CaseFilters(state=state if state in CASE_STATES else None,
                                overdue=overdue == "1", unit_id=unit.id if unit else None)
    today = _today()
    rows = [] if problems else cases.list_cases(session_db, scope, filters, today)
    owners = {u.id: u.email for u in session_db.scalars(select(User).where(
        User.id.in_([c.owner_id for c in rows if c.owner_id] or [-1])))}
    return render_template(
        "admin/cases.html", rows=rows, units=units, states=STATE_LABELS, owners=owners,
        today=today, problems=problems, chosen={"state": state, "unit": unit_code,
                                                "overdue": overdue == "1"},
        deadline=cases.current_deadline, is_overdue=cases.is_overdue,
        limit=cases.LIST_LIMIT,
        may_manage=user.role in ("admin", "unit_head")), 400 if problems else 200


@bp.get("/cases/<int:case_id>")
@case_pages
def case_detail(case_id: int) -> ResponseReturnValue:
    """A case: its dates, the response, the history and (for its handlers) the forms."""
    return _detail(_visible_case(case_id))


def _step(case_id: int, step: str, apply: Callable[[Case, FlaskForm, int, Any], None],
          done: str) -> ResponseReturnValue:
    """Post one step's form: checked, applied by app.cases, committed, or shown again
    beside its field."""
    case = _visible_case(case_id)
    if not cases.handles(db_session(), staff(), case.unit_id):
        abort(403)
    forms = _forms(case)
    form_class, prefix = FORMS[step]
    form = form_class(prefix=prefix)
    if step == "assign":
        form.owner.choices = forms["assign"].owner.choices
    if step == "categorise":
        form.category.choices = forms["categorise"].category.choices
    forms[step] = form
    if form.validate_on_submit():
        session_db = db_session()
        start_writing(session_db)
        try:
            apply(_visible_case(case_id, fresh=True), form, staff().id, utcnow())
        except CaseError as error:
            show_refusal(form, error, _FIELD_NAMES)
        else:
            session_db.commit()
            flash(done)
            return redirect(url_for("admin.case_detail", case_id=case_id), 303)
    return _detail(_visible_case(case_id), forms, 400)


# A domain field's name as the forms call it.
_FIELD_NAMES = {"owner": "owner", "category": "category", "note": "note", "answer": "answer",
                "lapor_number": "lapor_number", "public_summary": "public_summary"}


def _owner_id(value: str | None) -> int | None:
    if not value:
        return None
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 9 else 0


@bp.post("/cases/<int:case_id>/assign")
@case_pages
def case_assign(case_id: int) -> ResponseReturnValue:
    """Give the case to an owner."""
    return _step(case_id, "assign", lambda c, f, u, now: cases.assign(
        db_session(), c, _owner_id(f.owner.data), user_id=u, now=now), _("Owner saved."))


@bp.post("/cases/<int:case_id>/categorise")
@case_pages
def case_categorise(case_id: int) -> ResponseReturnValue:
    """Set the category."""
    return _step(case_id, "categorise", lambda c, f, u, now: cases.categorise(
        db_session(), c, f.category.data or "", user_id=u, now=now), _("Category saved."))


@bp.post("/cases/<int:case_id>/verify")
@case_pages
def case_verify(case_id: int) -> ResponseReturnValue:
    """Mark a new case verified."""
    return _step(case_id, "verify", lambda c, f, u, now: cases.verify(
        db_session(), c, f.note.data or "", user_id=u, now=now, tz=settings().tz),
        _("The case is verified."))


@bp.post("/cases/<int:case_id>/follow-up")
@case_pages
def case_follow_up(case_id: int) -> ResponseReturnValue:
    """Record the follow-up and the answer."""
    return _step(case_id, "follow_up", lambda c, f, u, now: cases.follow_up(
        db_session(), c, f.answer.data or "", user_id=u, now=now),
        _("The follow-up is recorded."))


@bp.post("/cases/<int:case_id>/close")
@case_pages
def case_close(case_id: int) -> ResponseReturnValue:
    """Close a followed-up case."""
    return _step(case_id, "close", lambda c, f, u, now: cases.close(
        db_session(), c, f.note.data or "", user_id=u, now=now), _("The case is closed."))


@bp.post("/cases/<int:case_id>/reopen")
@case_pages
def case_reopen(case_id: int) -> ResponseReturnValue:
    """Reopen a closed case."""
    return _step(case_id, "reopen", lambda c, f, u, now: cases.reopen(
        db_session(), c, f.note.data or "", user_id=u, now=now), _("The case is reopened."))


@bp.post("/cases/<int:case_id>/lapor")
@case_pages
def case_lapor(case_id: int) -> ResponseReturnValue:
    """Record the SP4N-LAPOR! number."""
    return _step(case_id, "lapor", lambda c, f, u, now: cases.set_lapor_number(
        db_session(), c, f.lapor_number.data or "", user_id=u, now=now),
        _("LAPOR! number saved."))


@bp.post("/cases/<int:case_id>/note")
@case_pages
def case_note(case_id: int) -> ResponseReturnValue:
    """Add an internal note."""
    return _step(case_id, "note", lambda c, f, u, now: cases.add_note(
        db_session(), c, f.note.data or "", user_id=u, now=now), _("Note added."))


@bp.post("/cases/<int:case_id>/summary")
@case_pages
def case_summary(case_id: int) -> ResponseReturnValue:
    """Write the public summary."""
    return _step(case_id, "summary", lambda c, f, u, now: cases.save_summary(
        db_session(), c, f.public_summary.data or "", user_id=u, now=now),
        _("Public summary saved."))


@bp.post("/cases/<int:case_id>/publish")
@case_pages
def case_publish(case_id: int) -> ResponseReturnValue:
    """Publish the public summary."""
    return _step(case_id, "publish", lambda c, f, u, now: cases.set_published(
        db_session(), c, True, user_id=u, now=now), _("The summary is published."))


@bp.post("/cases/<int:case_id>/unpublish")
@case_pages
def case_unpublish(case_id: int) -> ResponseReturnValue:
    """Take the public summary off the public page."""
    return _step(case_id, "unpublish", lambda c, f, u, now: cases.set_published(
        db_session(), c, False, user_id=u, now=now), _("The summary is no longer published."))


@bp.post("/cases/<int:case_id>/contact")
@case_pages
def case_contact(case_id: int) -> ResponseReturnValue:
    """Show the contact once, recorded (without the value) in the audit log."""
    def apply(case: Case, _form: FlaskForm, user_id: int, now: Any) -> None:
        cases.view_contact(db_session(), case, user_id=user_id, now=now)
        session[CONTACT_SHOWN] = case.id
    return _step(case_id, "contact", apply, _("The contact is shown below; the view is "
                                               "recorded in the audit log."))
