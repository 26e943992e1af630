"""An officer's own performance dialogues, beside their duty page: read and acknowledge."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from app import dialogues as domain
from app.db import start_writing, utcnow
from app.extensions import db_session
from app.models import Dialogue
from app.org import FormRefusal
from app.web.admin.dialogues import helpers
from app.web.auth import staff, staff_required

bp = Blueprint("my_dialogues", __name__, url_prefix="/tugas/dialog")


@bp.after_request
def _not_kept(response: Response) -> Response:
    """A dialogue is the officer's personal data: no browser or proxy keeps it."""
    response.headers["Cache-Control"] = "private, no-store"
    return response


class AcknowledgeForm(FlaskForm):  # type: ignore[misc]  # (Flask-WTF ships no type information)
    """The officer's "I have read it": the CSRF token only."""


@bp.get("")
@staff_required()
def mine() -> ResponseReturnValue:
    """The signed-in officer's dialogues, the latest first, each to acknowledge once."""
    officer = staff().officer
    if officer is None:
        return render_template("duty/no_officer.html"), 403
    return render_template("dialogues/mine.html", officer=officer,
                           history=domain.history(db_session(), officer.id),
                           **helpers())


@bp.post("/<int(max=2147483647):dialogue_id>/baca")
@staff_required()
def acknowledge(dialogue_id: int) -> ResponseReturnValue:
    """Acknowledge one's own dialogue (anyone else's: 404)."""
    session = db_session()
    found = session.get(Dialogue, dialogue_id)
    if found is None or staff().officer_id is None or found.officer_id != staff().officer_id:
        abort(404)
    if not AcknowledgeForm().validate_on_submit():
        abort(400)
    start_writing(session)
    try:
        domain.acknowledge(session, staff(), session.get_one(Dialogue, dialogue_id),
                           now=utcnow())
    except domain.DialogueHidden:
        session.rollback()
        abort(404)
    except FormRefusal as refusal:
        session.rollback()
        flash(str(refusal.message), "error")
    else:
        session.commit()
        flash(_("Thank you: the dialogue is marked as read."))
    return redirect(url_for("my_dialogues.mine", _anchor=f"d{dialogue_id}"), 303)
