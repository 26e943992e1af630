"""Working days for administrators: the year's national days off and the days set apart."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, StringField
from wtforms.validators import AnyOf, InputRequired

from app import workdays
from app.db import start_writing, utcnow
from app.extensions import db_session, settings
from app.i18n import current_locale
from app.models import CalendarDay
from app.org import FormRefusal, invisible_character
from app.summary import format_day
from app.web.admin import admin_only, bp, confirmation
from app.web.admin.audit_log import LocalDateField
from app.web.auth import staff

KINDS = {"off": False, "working": True}


class NoteField(StringField):  # type: ignore[misc]  # (WTForms ships no type information)
    """A short text, shown back without the control characters that got it refused."""

    def _value(self) -> str:
        return "".join(c for c in str(super()._value()) if not invisible_character(c))


class CalendarDayForm(FlaskForm):  # type: ignore[misc]  # (Flask-WTF ships no type information)
    """A day set apart; the note is checked by app.workdays."""

    day = LocalDateField(_l("Date (YYYY-MM-DD)"),
                         validators=[InputRequired(_l("Enter the date."))])
    kind = RadioField(_l("This day is"), validate_choice=False, choices=[
        SelectChoice("off", _l("An extra day off")), SelectChoice("working", _l("A working day"))],
        validators=[AnyOf(tuple(KINDS), message=_l("Choose a day off or a working day."))])
    note = NoteField(_l("Note (why)"))


def _today() -> date:
    return utcnow().astimezone(settings().tz).date()


def _year(text: str | None) -> int:
    """The year asked for, or this year when none or not one the calendar shows."""
    if text and text.isdigit() and len(text) == 4:
        year = int(text)
        if workdays.FIRST_YEAR <= year <= workdays.LAST_YEAR:
            return year
    return _today().year


def _page(year: int, form: CalendarDayForm, status: int = 200) -> ResponseReturnValue:
    days = workdays.calendar_days(db_session(), year)
    context: dict[str, Any] = {
        "year": year, "form": form, "overridden": {row.day: row for row in days},
        "holidays": workdays.national_holidays(year, current_locale()), "days": days,
        "day_label": format_day, "kinds": {workdays.NATIONAL: _("Public holiday"),
                                           workdays.JOINT_LEAVE: _("Joint leave day")},
        "first_year": workdays.FIRST_YEAR, "last_year": workdays.LAST_YEAR,
    }
    return render_template("admin/calendar.html", **context), status


@bp.route("/calendar", methods=["GET", "POST"])
@admin_only
def calendar() -> ResponseReturnValue:
    """The year's public holidays and joint leave days, the days set apart, and the form
    that sets one more apart."""
    if request.method == "GET":
        return _page(_year(request.args.get("year")), CalendarDayForm(kind="off"))
    form = CalendarDayForm()
    if not form.validate_on_submit():
        year = form.day.data.year if form.day.data else _today().year
        return _page(_year(str(year)), form, 400)
    session = db_session()
    start_writing(session)
    try:
        row = workdays.set_day(session, form.day.data, KINDS[form.kind.data],
                               form.note.data or "", user_id=staff().id, now=utcnow())
    except FormRefusal as refusal:
        session.rollback()
        form[refusal.field or "day"].errors.append(refusal.message)
        return _page(_year(str(form.day.data.year)), form, 400)
    session.commit()
    flash(_("%(day)s is now a working day.", day=format_day(row.day)) if row.working
          else _("%(day)s is now a day off.", day=format_day(row.day)), "ok")
    return redirect(url_for("admin.calendar", year=row.day.year), 303)


@bp.route("/calendar/<day>/remove", methods=["GET", "POST"])
@admin_only
def calendar_remove(day: str) -> ResponseReturnValue:
    """Remove a day set apart, after confirmation: the national calendar applies again."""
    try:
        when = date.fromisoformat(day)
    except ValueError:
        abort(404)
    session = db_session()
    row = session.get(CalendarDay, when)
    if row is None:
        abort(404)
    asked = confirmation(
        _("Remove %(day)s from the calendar", day=format_day(when)),
        _("From now on this day counts as the national calendar has it: %(state)s.",
          state=_("a working day") if workdays.is_working_day(when, {})
          else _("a day off")),
        _("Remove"), url_for("admin.calendar_remove", day=when.isoformat()),
        url_for("admin.calendar", year=when.year))
    if asked is not None:
        return asked
    start_writing(session)
    workdays.remove_day(session, when)
    session.commit()
    flash(_("%(day)s was removed from the calendar.", day=format_day(when)), "ok")
    return redirect(url_for("admin.calendar", year=when.year), 303)
