"""Duty: rosters, check-in, corrections, today's board and officers' duty history."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired

from app import corrections, rosters
from app.board import today_board
from app.db import start_writing, utcnow
from app.extensions import db_session, settings
from app.kiosks import open_calls
from app.models import Assignment, Counter, Officer, RosterException, RosterShift, Unit
from app.periods import week_start
from app.rosters import FieldError
from app.web.admin import ConfirmForm, back_office, bp, require_unit, scoped_unit_ids
from app.web.admin.kiosks import time_helpers as kiosk_helpers

WEEKDAY_NAMES = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"),
                 _l("Saturday"), _l("Sunday"))


class ShiftForm(FlaskForm):  # type: ignore[misc]  # (Flask-WTF ships no type information)
    """A weekly shift; the rules are checked by ``rosters.add_shift``/``update_shift``."""

    officer = SelectField(_l("Officer"), validate_choice=False)
    weekday = SelectField(_l("Day of the week"), validate_choice=False,
                          choices=[SelectChoice(str(i), name)
                                   for i, name in enumerate(WEEKDAY_NAMES)])
    starts = StringField(_l("From (HH:MM)"),
                         validators=[InputRequired(_l("Enter the start time."))])
    ends = StringField(_l("To (HH:MM)"), validators=[InputRequired(_l("Enter the end time."))])
    valid_from = StringField(_l("First day (YYYY-MM-DD)"),
                             validators=[InputRequired(_l("Enter the first day."))])
    valid_until = StringField(_l("Last day (YYYY-MM-DD, empty: no end)"))


class EndShiftForm(FlaskForm):  # type: ignore[misc]  # (Flask-WTF ships no type information)
    """The last day a shift takes place."""

    last_day = StringField(_l("Last day (YYYY-MM-DD)"),
                           validators=[InputRequired(_l("Enter the last day."))])


class ExceptionForm(FlaskForm):  # type: ignore[misc]  # (Flask-WTF ships no type information)
    """A day's exception to a shift."""

    day = StringField(_l("Day (YYYY-MM-DD)"), validators=[InputRequired(_l("Enter the day."))])
    kind = SelectField(_l("Kind"), validate_choice=False,
                       choices=[SelectChoice("leave", _l("Leave")),
                                SelectChoice("swap", _l("Swap"))])
    substitute = SelectField(_l("Substitute (for a swap)"), validate_choice=False)
    note = StringField(_l("Note"))


class DutyForm(FlaskForm):  # type: ignore[misc]  # (Flask-WTF ships no type information)
    """A duty as it happened, entered or corrected afterwards (local times of one day)."""

    counter = SelectField(_l("Counter"), validate_choice=False)
    officer = SelectField(_l("Officer"), validate_choice=False)
    day = StringField(_l("Day (YYYY-MM-DD)"), validators=[InputRequired(_l("Enter the day."))])
    starts_at = StringField(_l("From (HH:MM)"),
                            validators=[InputRequired(_l("Enter the start time."))])
    ends_at = StringField(_l("To (HH:MM, empty: still on duty)"))


class EndDutyForm(FlaskForm):  # type: ignore[misc]  # (Flask-WTF ships no type information)
    """When a duty really ended (local time)."""

    day = StringField(_l("Day (YYYY-MM-DD)"), validators=[InputRequired(_l("Enter the day."))])
    ends_at = StringField(_l("At (HH:MM)"), validators=[InputRequired(_l("Enter the time."))])


# Helpers ------------------------------------------------------------------------------------

def _show(form: FlaskForm, error: FieldError) -> None:
    """Put a refused change's message beside its field (the first visible field when the
    form has none of that name)."""
    field = getattr(form, error.field, None) or next(
        f for f in form if f.type not in ("CSRFTokenField", "HiddenField"))
    field.errors = [*field.errors, str(error.message)]


def _units() -> list[Unit]:
    return rosters.units_in_scope(db_session(), scoped_unit_ids())


def _picked_unit() -> Unit:
    """The unit named by ``?unit=`` (404 when out of scope), else the first in scope."""
    raw = request.args.get("unit", "")
    if raw:
        if not raw.isdigit() or len(raw) > 9:
            abort(404)
        require_unit(int(raw))
        unit = db_session().get(Unit, int(raw))
        if unit is None:
            abort(404)
        return unit
    units = _units()
    if not units:
        abort(404)
    return units[0]


def _officer_choices(unit_id: int, blank: str | None = None) -> list[SelectChoice]:
    choices = [SelectChoice(str(o.id), f"{o.name} ({o.nip})")
               for o in rosters.active_officers(db_session(), unit_id)]
    return [SelectChoice("", blank), *choices] if blank is not None else choices


def _officer(value: str | None, field_name: str = "officer") -> Officer:
    officer = db_session().get(Officer, int(value)) if value and value.isdigit() \
        and len(value) < 10 else None
    if officer is None:
        raise FieldError(field_name, _l("Choose an officer from the list."))
    return officer


def _shift(shift_id: int) -> RosterShift:
    shift = db_session().get(RosterShift, shift_id)
    if shift is None:
        abort(404)
    require_unit(shift.counter.unit_id)
    return shift


def _duty(duty_id: int) -> Assignment:
    duty = db_session().get(Assignment, duty_id)
    if duty is None:
        abort(404)
    require_unit(duty.counter.unit_id)
    return duty


def _local(day: str, clock: str, day_field: str, clock_field: str) -> datetime:
    parsed_day = rosters.parse_day(day_field, day)
    parsed_clock = rosters.parse_clock(clock_field, clock)
    return datetime.combine(parsed_day, parsed_clock, tzinfo=settings().tz)


def _today() -> date:
    return utcnow().astimezone(settings().tz).date()


def _form_page(form: FlaskForm, title: str, back: str, *, status: int = 200,
               hint: str | None = None) -> ResponseReturnValue:
    return render_template("admin/duty_form.html", form=form, title=title, back=back,
                           hint=hint), status


# Rosters ------------------------------------------------------------------------------------

@bp.get("/rosters", endpoint="rosters")
@back_office
def rosters_page() -> ResponseReturnValue:
    """A unit's roster for a week: counters by weekdays, with the week's exceptions."""
    unit = _picked_unit()
    raw_week = request.args.get("week", "")
    try:
        monday = week_start(rosters.parse_day("week", raw_week)) if raw_week else \
            week_start(_today())
    except FieldError:
        monday = week_start(_today())
    session = db_session()
    week = rosters.unit_week(session, unit, monday)
    shift_ids = [s.id for row in week for day in row.days.values() for s in day]
    return render_template(
        "admin/rosters.html", unit=unit, units=_units(), week=week, monday=monday,
        days=[(i, WEEKDAY_NAMES[i], monday + timedelta(days=i)) for i in range(7)],
        exceptions=rosters.exceptions_of(session, shift_ids, monday),
        previous=monday - timedelta(days=7), following=monday + timedelta(days=7),
        form=ConfirmForm())



def _shift_form_page(form: ShiftForm, title: str, counter: Counter,
                     status: int = 200) -> ResponseReturnValue:
    return _form_page(form, title, url_for("admin.rosters", unit=counter.unit_id),
                      status=status, hint=f"{counter.unit.name} · {counter.name}")


@bp.route("/rosters/counters/<int:counter_id>/shifts/new", methods=["GET", "POST"])
@back_office
def shift_new(counter_id: int) -> ResponseReturnValue:
    """Plan an officer at a counter every week on a weekday."""
    counter = db_session().get(Counter, counter_id)
    if counter is None:
        abort(404)
    require_unit(counter.unit_id)
    form = ShiftForm(valid_from=_today().isoformat())
    form.officer.choices = _officer_choices(counter.unit_id)
    if form.validate_on_submit():
        try:
            values = _shift_values(form)
            session = db_session()
            start_writing(session)
            shift = rosters.add_shift(session, session.get(Counter, counter_id) or counter,
                                      **values)
        except FieldError as error:
            db_session().rollback()
            _show(form, error)
        else:
            session.commit()
            flash(_("Shift planned."))
            return redirect(url_for("admin.rosters", unit=counter.unit_id,
                                    week=shift.valid_from.isoformat()), 303)
    status = 422 if form.errors else 200
    return _shift_form_page(form, _("Plan a shift"), counter, status)


def _shift_values(form: ShiftForm) -> dict[str, Any]:
    """The form's values parsed (raises FieldError naming the field)."""
    weekday = form.weekday.data or ""
    if weekday not in {str(i) for i in range(7)}:
        raise FieldError("weekday", _l("Choose a day of the week."))
    return {
        "officer": _officer(form.officer.data),
        "weekday": int(weekday),
        "starts": rosters.parse_clock("starts", form.starts.data or ""),
        "ends": rosters.parse_clock("ends", form.ends.data or ""),
        "valid_from": rosters.parse_day("valid_from", form.valid_from.data or ""),
        "valid_until": (rosters.parse_day("valid_until", form.valid_until.data)
                        if (form.valid_until.data or "").strip() else None),
    }


@bp.route("/rosters/shifts/<int:shift_id>/edit", methods=["GET", "POST"])
@back_office
def shift_edit(shift_id: int) -> ResponseReturnValue:
    """Change a shift's officer, day, times or validity."""
    shift = _shift(shift_id)
    form = ShiftForm(data={
        "officer": str(shift.officer_id), "weekday": str(shift.weekday),
        "starts": f"{shift.starts:%H:%M}", "ends": f"{shift.ends:%H:%M}",
        "valid_from": shift.valid_from.isoformat(),
        "valid_until": shift.valid_until.isoformat() if shift.valid_until else ""})
    form.officer.choices = _officer_choices(shift.counter.unit_id)
    if form.validate_on_submit():
        try:
            values = _shift_values(form)
            session = db_session()
            start_writing(session)
            rosters.update_shift(session, session.get(RosterShift, shift_id) or shift,
                                 **values)
        except FieldError as error:
            db_session().rollback()
            _show(form, error)
        else:
            session.commit()
            flash(_("Shift changed."))
            return redirect(url_for("admin.rosters", unit=shift.counter.unit_id), 303)
    return _shift_form_page(form, _("Change a shift"), shift.counter,
                            422 if form.errors else 200)


@bp.route("/rosters/shifts/<int:shift_id>/end", methods=["GET", "POST"])
@back_office
def shift_end(shift_id: int) -> ResponseReturnValue:
    """End a shift after a last day (asks first; the shift stays as history)."""
    shift = _shift(shift_id)
    form = EndShiftForm(last_day=_today().isoformat())
    if form.validate_on_submit():
        try:
            last_day = rosters.parse_day("last_day", form.last_day.data or "")
            session = db_session()
            start_writing(session)
            rosters.end_shift(session, session.get(RosterShift, shift_id) or shift, last_day)
        except FieldError as error:
            db_session().rollback()
            _show(form, error)
        else:
            session.commit()
            flash(_("Shift ended."))
            return redirect(url_for("admin.rosters", unit=shift.counter.unit_id), 303)
    return _form_page(
        form, _("End a shift"), url_for("admin.rosters", unit=shift.counter.unit_id),
        status=422 if form.errors else 200,
        hint=_("%(officer)s at %(counter)s, %(day)s %(starts)s–%(ends)s: the shift is no "
               "longer planned after the last day.", officer=shift.officer.name,
               counter=shift.counter.name, day=WEEKDAY_NAMES[shift.weekday],
               starts=f"{shift.starts:%H:%M}", ends=f"{shift.ends:%H:%M}"))


@bp.route("/rosters/shifts/<int:shift_id>/exceptions/new", methods=["GET", "POST"])
@back_office
def exception_new(shift_id: int) -> ResponseReturnValue:
    """Put the shift's officer on leave, or swap them with a substitute, on one day."""
    shift = _shift(shift_id)
    form = ExceptionForm()
    form.substitute.choices = _officer_choices(shift.counter.unit_id, blank="—")
    if form.validate_on_submit():
        try:
            day = rosters.parse_day("day", form.day.data or "")
            kind = form.kind.data or ""
            substitute = _officer(form.substitute.data, "substitute") \
                if form.substitute.data else None
            session = db_session()
            start_writing(session)
            rosters.add_exception(session, session.get(RosterShift, shift_id) or shift, day,
                                  kind, substitute, form.note.data)
        except FieldError as error:
            db_session().rollback()
            _show(form, error)
        else:
            session.commit()
            flash(_("Exception recorded."))
            return redirect(url_for("admin.rosters", unit=shift.counter.unit_id,
                                    week=day.isoformat()), 303)
    return _form_page(form, _("Leave or swap on one day"),
                      url_for("admin.rosters", unit=shift.counter.unit_id),
                      status=422 if form.errors else 200,
                      hint=f"{shift.officer.name} · {shift.counter.name} · "
                           f"{WEEKDAY_NAMES[shift.weekday]} {shift.starts:%H:%M}–"
                           f"{shift.ends:%H:%M}")


@bp.route("/rosters/exceptions/<int:exception_id>/remove", methods=["GET", "POST"])
@back_office
def exception_remove(exception_id: int) -> ResponseReturnValue:
    """Remove a day's exception, after a confirmation."""
    exception = db_session().get(RosterException, exception_id)
    if exception is None:
        abort(404)
    unit_id = exception.shift.counter.unit_id
    require_unit(unit_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        session = db_session()
        start_writing(session)
        found = session.get(RosterException, exception_id)
        if found is not None:
            rosters.remove_exception(session, found)
        session.commit()
        flash(_("Exception removed."))
        return redirect(url_for("admin.rosters", unit=unit_id,
                                week=exception.day.isoformat()), 303)
    return render_template(
        "admin/confirm.html", form=form, title=_("Remove this exception?"),
        warning=_("%(officer)s is planned again at %(counter)s on %(day)s.",
                  officer=exception.shift.officer.name, counter=exception.shift.counter.name,
                  day=exception.day.isoformat()),
        action=url_for("admin.exception_remove", exception_id=exception_id),
        confirm_label=_("Remove"), cancel_url=url_for("admin.rosters", unit=unit_id))


# Corrections --------------------------------------------------------------------------------

@bp.get("/duties")
@back_office
def duties() -> ResponseReturnValue:
    """A unit's duties on a day, with the corrections a unit head can make."""
    unit = _picked_unit()
    raw = request.args.get("day", "")
    try:
        day = rosters.parse_day("day", raw) if raw else _today()
    except FieldError:
        day = _today()
    tz = settings().tz
    start = datetime.combine(day, datetime.min.time(), tzinfo=tz)
    found = corrections.duties_of_unit_on(db_session(), unit.id, start,
                                          start + timedelta(days=1))
    return render_template("admin/duties.html", unit=unit, units=_units(), day=day, tz=tz,
                           duties=found, previous=day - timedelta(days=1),
                           following=day + timedelta(days=1))


def _moved_message(result: corrections.Reattribution) -> str:
    return str(_("Duty corrected; %(moved)d of %(examined)d responses now count for another "
                 "officer.", moved=result.moved, examined=result.examined))


@bp.route("/duties/new", methods=["GET", "POST"])
@back_office
def duty_new() -> ResponseReturnValue:
    """Record a forgotten duty; the responses of its interval are attributed again."""
    unit = _picked_unit()
    form = DutyForm(day=request.args.get("day", "")[:10] or _today().isoformat())
    form.counter.choices = [SelectChoice(str(c.id), c.name)
                            for c in rosters.active_counters(db_session(), unit.id)]
    form.officer.choices = _officer_choices(unit.id)
    if form.validate_on_submit():
        try:
            officer = _officer(form.officer.data)
            counter = _counter_of(unit, form.counter.data)
            starts_at, ends_at = _duty_times(form)
            session = db_session()
            start_writing(session)
            _made, result = corrections.add_duty(
                session, session.get(Officer, officer.id) or officer,
                session.get(Counter, counter.id) or counter, starts_at, ends_at,
                tz=settings().tz, now=utcnow())
        except FieldError as error:
            db_session().rollback()
            _show(form, error)
        else:
            session.commit()
            flash(_moved_message(result))
            return redirect(url_for("admin.duties", unit=unit.id,
                                    day=starts_at.astimezone(settings().tz).date()), 303)
    return _form_page(form, _("Add a forgotten duty"),
                      url_for("admin.duties", unit=unit.id),
                      status=422 if form.errors else 200, hint=unit.name)


def _counter_of(unit: Unit, value: str | None) -> Counter:
    counter = db_session().get(Counter, int(value)) if value and value.isdigit() \
        and len(value) < 10 else None
    if counter is None or counter.unit_id != unit.id or not counter.active:
        raise FieldError("counter", _l("Choose a counter from the list."))
    return counter


def _duty_times(form: DutyForm) -> tuple[datetime, datetime | None]:
    day = form.day.data or ""
    starts_at = _local(day, form.starts_at.data or "", "day", "starts_at")
    ends = (form.ends_at.data or "").strip()
    return starts_at, _local(day, ends, "day", "ends_at") if ends else None


@bp.route("/duties/<int:duty_id>/edit", methods=["GET", "POST"])
@back_office
def duty_edit(duty_id: int) -> ResponseReturnValue:
    """Change who was on duty (a swap) or when; both intervals are attributed again."""
    duty = _duty(duty_id)
    tz = settings().tz
    local_start = duty.starts_at.astimezone(tz)
    form = DutyForm(data={
        "counter": str(duty.counter_id), "officer": str(duty.officer_id),
        "day": local_start.date().isoformat(), "starts_at": f"{local_start:%H:%M}",
        "ends_at": f"{duty.ends_at.astimezone(tz):%H:%M}" if duty.ends_at else ""})
    form.counter.choices = [SelectChoice(str(duty.counter_id), duty.counter.name)]
    form.officer.choices = _officer_choices(duty.counter.unit_id)
    if form.validate_on_submit():
        try:
            officer = _officer(form.officer.data)
            starts_at, ends_at = _duty_times(form)
            session = db_session()
            start_writing(session)
            result = corrections.change_duty(
                session, session.get(Assignment, duty_id) or duty,
                officer=session.get(Officer, officer.id) or officer, starts_at=starts_at,
                ends_at=ends_at, tz=tz, now=utcnow())
        except FieldError as error:
            db_session().rollback()
            _show(form, error)
        else:
            session.commit()
            flash(_moved_message(result))
            return redirect(url_for("admin.duties", unit=duty.counter.unit_id,
                                    day=starts_at.astimezone(tz).date()), 303)
    return _form_page(form, _("Correct a duty"),
                      url_for("admin.duties", unit=duty.counter.unit_id),
                      status=422 if form.errors else 200, hint=duty.counter.name)


@bp.route("/duties/<int:duty_id>/end", methods=["GET", "POST"])
@back_office
def duty_end(duty_id: int) -> ResponseReturnValue:
    """End a duty at the time it really ended."""
    duty = _duty(duty_id)
    tz = settings().tz
    form = EndDutyForm(day=duty.starts_at.astimezone(tz).date().isoformat())
    if form.validate_on_submit():
        try:
            at = _local(form.day.data or "", form.ends_at.data or "", "day", "ends_at")
            session = db_session()
            start_writing(session)
            result = corrections.end_duty(session, session.get(Assignment, duty_id) or duty,
                                          at, tz=tz, now=utcnow())
        except FieldError as error:
            db_session().rollback()
            _show(form, error)
        else:
            session.commit()
            flash(_moved_message(result))
            return redirect(url_for("admin.duties", unit=duty.counter.unit_id,
                                    day=at.astimezone(tz).date()), 303)
    return _form_page(form, _("End a duty"), url_for("admin.duties", unit=duty.counter.unit_id),
                      status=422 if form.errors else 200,
                      hint=f"{duty.officer.name} · {duty.counter.name}")


@bp.route("/duties/<int:duty_id>/remove", methods=["GET", "POST"])
@back_office
def duty_remove(duty_id: int) -> ResponseReturnValue:
    """Remove a duty recorded by mistake, after a confirmation."""
    duty = _duty(duty_id)
    tz = settings().tz
    unit_id, day = duty.counter.unit_id, duty.starts_at.astimezone(tz).date()
    form = ConfirmForm()
    if form.validate_on_submit():
        session = db_session()
        start_writing(session)
        found = session.get(Assignment, duty_id)
        result = corrections.remove_duty(session, found, tz=tz, now=utcnow()) \
            if found is not None else corrections.Reattribution(0, 0, frozenset())
        session.commit()
        flash(_moved_message(result))
        return redirect(url_for("admin.duties", unit=unit_id, day=day), 303)
    return render_template(
        "admin/confirm.html", form=form, title=_("Remove this duty?"),
        warning=_("%(officer)s at %(counter)s from %(starts)s: the duty is removed and its "
                  "responses are attributed again without it.", officer=duty.officer.name,
                  counter=duty.counter.name,
                  starts=f"{duty.starts_at.astimezone(tz):%Y-%m-%d %H:%M}"),
        action=url_for("admin.duty_remove", duty_id=duty_id), confirm_label=_("Remove"),
        cancel_url=url_for("admin.duties", unit=unit_id, day=day))


# Today's board ------------------------------------------------------------------------------

@bp.get("/board")
@back_office
def board() -> ResponseReturnValue:
    """Today's board of a unit: who is on duty where, and the roster's gaps."""
    unit, at = _picked_unit(), utcnow()
    now = today_board(db_session(), unit, at, settings().tz)
    # Citizens who pressed "Panggil petugas" on a kiosk of this unit, oldest first.
    calls = open_calls(db_session(), [unit.id])
    return render_template("admin/board.html", unit=unit, units=_units(), board=now,
                           calls=calls, **kiosk_helpers(at))
