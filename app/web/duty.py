"""An officer's own duty on their phone: check in at a counter, check out, and the history."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import InputRequired, Regexp

from app.db import start_writing, utcnow
from app.dialogues import unread_count
from app.duty import (
    check_in,
    check_out,
    counter_for_officer,
    counters_for_check_in,
    duty_history,
    open_duty,
)
from app.extensions import db_session, settings
from app.models import Counter, Officer
from app.org import DomainError
from app.web.auth import staff, staff_required

bp = Blueprint("duty", __name__, url_prefix="/tugas")

SOURCE_LABELS = {
    "checkin": _l("Checked in"),
    "correction": _l("Corrected by the unit head"),
    "admin": _l("Entered by the office"),
    "demo": _l("Demo"),
}


class CheckInForm(FlaskForm):  # type: ignore[misc]  # (Flask-WTF ships no type information)
    """Check in at one of the unit's counters (each button sends its counter's id)."""

    counter = StringField(_l("Counter"), validators=[
        InputRequired(_l("Choose the counter where you are on duty.")),
        Regexp(r"^[1-9][0-9]{0,9}\Z", message=_l("Unknown counter."))])


class ConfirmForm(FlaskForm):  # type: ignore[misc]  # (Flask-WTF ships no type information)
    """A confirmation: CSRF only (checking in by a poster's staff code, checking out)."""


def _officer() -> Officer | None:
    """The signed-in account's officer record, if it has one."""
    return staff().officer


def _no_officer() -> ResponseReturnValue:
    """The kind answer to an account without an officer record (an administrator, a unit
    head or a viewer who does not serve at a counter): 403, whatever the address named, so
    the page never tells a valid staff code from an unknown one."""
    return render_template("duty/no_officer.html"), 403


def _checked_in(officer: Officer, counter: Counter) -> ResponseReturnValue:
    """Check the officer in at ``counter`` now, commit, and go back to their duty page."""
    start_writing(db_session())
    try:
        duty = check_in(db_session(), officer, counter, utcnow(), tz=settings().tz)
    except DomainError:
        db_session().rollback()
        flash(_("Checking in was refused: your officer record is not active, or your clock "
                "is behind your last duty. Ask your unit head."), "error")
        return redirect(url_for("duty.home"), 303)
    db_session().commit()
    flash(_("You are on duty at %(counter)s since %(time)s.", counter=counter.name,
            time=format_datetime(duty.starts_at, "short")))
    return redirect(url_for("duty.home"), 303)


@bp.route("", methods=["GET", "POST"])
@staff_required()
def home() -> ResponseReturnValue:
    """The officer's current duty and a button per counter of their unit (POST checks in)."""
    officer = _officer()
    if officer is None:
        return _no_officer()
    form = CheckInForm()
    if form.validate_on_submit():
        counter = counter_for_officer(db_session(), officer, counter_id=int(form.counter.data))
        if counter is None:
            abort(404)
        return _checked_in(officer, counter)
    return render_template(
        "duty/home.html", officer=officer, current=open_duty(db_session(), officer.id),
        counters=counters_for_check_in(db_session(), officer), form=form,
        out_form=ConfirmForm(), unread_dialogues=unread_count(db_session(), officer.id),
    ), 400 if form.errors else 200


@bp.post("/selesai")
@staff_required()
def finish() -> ResponseReturnValue:
    """Check out: end the officer's open duty now."""
    officer = _officer()
    if officer is None:
        return _no_officer()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    start_writing(db_session())
    try:
        ended = check_out(db_session(), officer, utcnow(), tz=settings().tz)
    except DomainError:
        db_session().rollback()
        flash(_("Checking out was refused: your clock is behind the start of your duty."),
              "error")
        return redirect(url_for("duty.home"), 303)
    db_session().commit()
    if ended is None:
        flash(_("You were not on duty."))
    else:
        assert ended.ends_at is not None  # noqa: S101 (just ended)
        flash(_("Your duty at %(counter)s ended at %(time)s.", counter=ended.counter.name,
                time=format_datetime(ended.ends_at, "short")))
    return redirect(url_for("duty.home"), 303)


@bp.get("/riwayat")
@staff_required()
def history() -> ResponseReturnValue:
    """The officer's own duties, newest first, a page at a time (times in local time)."""
    officer = _officer()
    if officer is None:
        return _no_officer()
    raw = request.args.get("page", "1")
    page = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 6 else 1
    found = duty_history(db_session(), officer.id, page=page)
    return render_template("duty/history.html", officer=officer, history=found,
                           source_labels=SOURCE_LABELS)


@bp.route("/<checkin_token>", methods=["GET", "POST"])
@staff_required()
def by_staff_code(checkin_token: str) -> ResponseReturnValue:
    """The staff code on the back of a counter's poster: a page asking to check in there
    (GET changes nothing); its button (POST) checks in. Unknown or foreign codes: 404."""
    officer = _officer()
    if officer is None:
        return _no_officer()
    counter = counter_for_officer(db_session(), officer, checkin_token=checkin_token)
    if counter is None:
        abort(404)
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        return _checked_in(officer, counter)
    current = open_duty(db_session(), officer.id)
    return render_template("duty/confirm.html", counter=counter, current=current, form=form)
