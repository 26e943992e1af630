"""Performance dialogues in the back office: the unit's officers with their last dialogue,
an officer's history, and the form a unit head records a dialogue with."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import DateField, SelectField
from wtforms.validators import Optional

from app import dialogues as domain
from app.db import start_writing, utcnow
from app.extensions import db_session, settings
from app.models import Dialogue, Officer, Unit
from app.models.loop import TEXT_MAX
from app.org import CODE_PATTERN, FormRefusal, unit_by_code
from app.summary import format_day, format_month, format_week
from app.web.admin import back_office, bp, require_unit, scoped_unit_ids, units_in_scope
from app.web.admin.actions import ShownBackTextArea
from app.web.auth import staff

TEXT_ATTRS = {"rows": 5, "maxlength": TEXT_MAX}
PRIVATE = {"Cache-Control": "private, no-store"}  # a dialogue is the officer's personal data


class DialogueForm(FlaskForm):  # type: ignore[misc]  # (Flask-WTF ships no type information)
    """A dialogue with one officer; the periods offered are the officer's (set per request)."""

    held_on = DateField(_l("Date of the dialogue"), validators=[Optional()])
    period = SelectField(_l("Figures discussed"), validate_choice=True)
    # A refused value is shown back without the characters refused (a NUL never reaches
    # the page).
    went_well = ShownBackTextArea(_l("What went well"), render_kw=TEXT_ATTRS)
    to_improve = ShownBackTextArea(_l("What to improve"), render_kw=TEXT_ATTRS)
    agreed_actions = ShownBackTextArea(_l("Agreed actions"), render_kw=TEXT_ATTRS)
    follow_up_on = DateField(_l("Follow-up date"), validators=[Optional()])


def today() -> date:
    """The local day."""
    return utcnow().astimezone(settings().tz).date()


def period_name(period: domain.Period) -> str:
    """A week or a month as people read it."""
    if period.kind == "week":
        return str(_("Week of %(day)s", day=format_week(period.start)))
    return format_month(period.start)


def period_label(period: domain.Period) -> str:
    """A period with the officer's responses in it (the form's choices)."""
    return str(ngettext("%(period)s (%(num)d response)", "%(period)s (%(num)d responses)",
                        period.n, period=period_name(period)))


def _period_value(kind: str, start: date) -> str:
    return f"{kind}:{start.isoformat()}"


def _parsed_period(value: str | None) -> tuple[str, date | None]:
    kind, _sep, start = (value or "").partition(":")
    try:
        return kind, date.fromisoformat(start)
    except ValueError:
        return kind, None


def _officer_or_404(officer_id: int, *, recording: bool = False) -> Officer:
    session, user = db_session(), staff()
    officer = session.get(Officer, officer_id)
    if officer is None:
        abort(404)
    allowed = domain.may_record if recording else domain.may_see
    if not allowed(session, user, officer):
        abort(404)
    return officer


def _chosen_unit(session: Session, code: str | None) -> Unit | None:
    """The unit named (404 when unknown or not the user's), else the user's own unit, else
    the only one in scope, else None."""
    if code:
        code = code.strip()
        unit = unit_by_code(session, code) if CODE_PATTERN.fullmatch(code) else None
        if unit is None:
            abort(404)
        require_unit(unit.id)
        return unit
    if staff().unit_id is not None:
        return session.get(Unit, staff().unit_id)
    scope = scoped_unit_ids()
    if scope is not None and len(scope) == 1:
        return session.get(Unit, next(iter(scope)))
    return None


def _show_refusal(form: DialogueForm, refusal: FormRefusal) -> None:
    """The refusal beside its field, or above the form when it names none."""
    if refusal.field is not None and refusal.field in form:
        field = form[refusal.field]
        field.errors = [*field.errors, str(refusal.message)]
    else:
        flash(str(refusal.message), "error")


@bp.get("/dialogues")
@back_office
def dialogues() -> ResponseReturnValue:
    """A unit's active officers with their last dialogue; those due (none for a quarter)
    marked."""
    session = db_session()
    unit = _chosen_unit(session, request.args.get("unit"))
    statuses = domain.dialogue_statuses(session, [unit.id], today()) if unit else []
    return render_template("admin/dialogues.html", unit=unit, units=units_in_scope(session),
                           statuses=statuses, day=format_day)


@bp.get("/dialogues/officers/<int(max=2147483647):officer_id>")
@back_office
def dialogue_history(officer_id: int) -> ResponseReturnValue:
    """One officer's dialogues, the latest first."""
    officer = _officer_or_404(officer_id)
    return render_template(
        "admin/dialogue_history.html", officer=officer,
        history=domain.history(db_session(), officer.id),
        may_record=domain.may_record(db_session(), staff(), officer), **helpers()), 200, \
        PRIVATE


@bp.route("/dialogues/officers/<int(max=2147483647):officer_id>/new", methods=["GET", "POST"])
@back_office
def dialogue_new(officer_id: int) -> ResponseReturnValue:
    """Record a dialogue with an officer (Post/Redirect/Get to the dialogue's page)."""
    officer = _officer_or_404(officer_id, recording=True)
    form = DialogueForm()
    periods = domain.officer_periods(db_session(), officer.id, today())
    form.period.choices = [(_period_value(p.kind, p.start), period_label(p)) for p in periods]
    if request.method == "GET":
        form.held_on.data = today()
    if form.validate_on_submit():
        kind, start = _parsed_period(form.period.data)
        entry = domain.DialogueEntry(
            held_on=form.held_on.data, period_kind=kind, period_start=start,
            went_well=form.went_well.data or "", to_improve=form.to_improve.data or "",
            agreed_actions=form.agreed_actions.data or "", follow_up_on=form.follow_up_on.data)
        session = db_session()
        start_writing(session)
        try:
            dialogue = domain.record_dialogue(session, staff(), session.get_one(
                Officer, officer_id), entry, today=today(), now=utcnow())
        except FormRefusal as refusal:
            session.rollback()
            _show_refusal(form, refusal)
        else:
            session.commit()
            flash(_("Dialogue with %(name)s recorded.", name=officer.name))
            return redirect(url_for("admin.dialogue", dialogue_id=dialogue.id), 303)
    chosen = next((p for p in periods
                   if _period_value(p.kind, p.start) == form.period.data), None)
    return render_template("admin/dialogue_form.html", form=form, officer=officer,
                           chosen=chosen, **helpers()), 400 if form.errors else 200, PRIVATE


@bp.get("/dialogues/<int(max=2147483647):dialogue_id>")
@back_office
def dialogue(dialogue_id: int) -> ResponseReturnValue:
    """One dialogue: its date, the period discussed (linked), the text, acknowledgement."""
    found = db_session().get(Dialogue, dialogue_id)
    if found is None or not domain.may_see(db_session(), staff(), found.officer):
        abort(404)
    return render_template("admin/dialogue.html", d=found, officer=found.officer,
                           **helpers()), 200, PRIVATE


def helpers() -> dict[str, object]:
    """What the dialogue templates format with (the officer's own pages use them too)."""
    return {"day": format_day, "period_name": period_name, "week_label": format_week,
            "period_of": lambda d: domain.Period(d.period_kind, d.period_start)}
