"""Who handles each unit's complaints (pengelola pengaduan): administrators grant and revoke
the role for any unit, unit heads for the units they head (``app.case_handlers``)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField

from app import case_handlers
from app.case_handlers import HandlerError
from app.db import start_writing, utcnow
from app.extensions import db_session
from app.models import CaseHandler, Unit
from app.web.admin import MAX_ID, back_office, bp, confirmation, show_refusal
from app.web.admin.actions import ShownBackText
from app.web.auth import staff


class GrantForm(FlaskForm):  # type: ignore[misc]  # (Flask-WTF ships no type information)
    """A unit and the staff account that is to handle its complaints."""

    unit = SelectField(_l("Unit"), validate_choice=False)
    email = ShownBackText(_l("E-mail of the staff account"),
                          render_kw={"size": 40, "maxlength": 254})


def _page(form: GrantForm, status: int = 200) -> ResponseReturnValue:
    units = case_handlers.managed_units(db_session(), staff())
    rows = case_handlers.handlers_of(db_session(), [u.id for u in units])
    return render_template("admin/case_handlers.html", form=form, units=units,
                           rows=rows), status


def _grant_form() -> GrantForm:
    form = GrantForm()
    form.unit.choices = [(u.code, f"{u.code} — {u.name}")
                         for u in case_handlers.managed_units(db_session(), staff())]
    return form


@bp.get("/cases/handlers")
@back_office
def case_handlers_page() -> ResponseReturnValue:
    """The handlers of the units the user manages, and the form to add one."""
    return _page(_grant_form())


@bp.post("/cases/handlers")
@back_office
def case_handler_grant() -> ResponseReturnValue:
    """Make an account a handler of a unit."""
    form = _grant_form()
    if form.validate_on_submit():
        session = db_session()
        unit = next((u for u in case_handlers.managed_units(session, staff())
                     if u.code == form.unit.data), None)
        if unit is None:
            form.unit.errors.append(_("Choose one of the listed units."))
            return _page(form, 400)
        start_writing(session)
        try:
            case_handlers.grant_handler(session, unit, form.email.data or "",
                                        manager=staff(), now=utcnow())
        except HandlerError as error:
            show_refusal(form, error)
        else:
            session.commit()
            flash(_("The account now handles the unit's complaints."))
            return redirect(url_for("admin.case_handlers_page"), 303)
    return _page(form, 400)


@bp.route("/cases/handlers/<int:handler_id>/revoke", methods=["GET", "POST"])
@back_office
def case_handler_revoke(handler_id: int) -> ResponseReturnValue:
    """End a grant, after a confirmation (the handler's open cases lose their owner)."""
    session = db_session()
    row = session.get(CaseHandler, handler_id) if handler_id <= MAX_ID else None
    if row is None or not case_handlers.may_manage_handlers(session, staff(), row.unit_id):
        abort(404)
    unit = session.get(Unit, row.unit_id)
    assert unit is not None  # noqa: S101 (a grant's unit is never deleted: RESTRICT)
    asked = confirmation(
        _("Revoke the complaint handler role?"),
        _("The account no longer sees or works the complaints of %(unit)s; the cases it "
          "owns there lose their owner.", unit=unit.code),
        _("Revoke"), url_for("admin.case_handler_revoke", handler_id=handler_id),
        url_for("admin.case_handlers_page"))
    if asked is not None:
        return asked
    start_writing(session)
    fresh = session.get(CaseHandler, handler_id)
    if fresh is not None:
        case_handlers.revoke_handler(session, fresh, now=utcnow())
    session.commit()
    flash(_("The complaint handler role is revoked."))
    return redirect(url_for("admin.case_handlers_page"), 303)
