"""Publication of a unit's periods on the public page: the recent quarters, semesters and
years of each unit the user manages, with their figures, and publishing (again) or
withdrawing one after a confirmation that shows what changes. Unit heads within their
units, administrators everywhere."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from app import publishing
from app.db import start_writing, utcnow
from app.extensions import db_session, settings
from app.models import Unit
from app.models.cases import PUBLISHED_KINDS
from app.periods import parse_period
from app.periods import period_name as name_of
from app.web.admin import (
    MAX_ID,
    ConfirmForm,
    back_office,
    bp,
    require_unit,
    show_refusal,
    units_in_scope,
)
from app.web.admin.actions import element_names
from app.web.auth import staff


def _managed_unit(unit_id: int, *, fresh: bool = False) -> Unit:
    """The unit, or 404 when it does not exist or is not the user's."""
    unit = db_session().get(Unit, unit_id, populate_existing=fresh) \
        if unit_id <= MAX_ID else None
    if unit is None:
        abort(404)
    require_unit(unit.id)
    return unit


def _period(name: str) -> tuple[str, date, str]:
    """A published kind's (kind, label, name) from its name in the address (2026-Q4), or
    404."""
    try:
        kind, label = parse_period(name)
    except ValueError:
        abort(404)
    if kind not in PUBLISHED_KINDS:
        abort(404)
    return kind, label, name_of(kind, label)


@bp.get("/publish")
@back_office
def publish_list() -> ResponseReturnValue:
    """Each managed unit's recent periods: responses, index, whether published."""
    session, config = db_session(), settings()
    units = units_in_scope(session)
    statuses = publishing.period_statuses(session, [u.id for u in units], now=utcnow(),
                                          tz=config.tz)
    return render_template("admin/publish.html", units=units, statuses=statuses,
                           min_n=config.officer_min_n)


@bp.route("/publish/<int:unit_id>/<period_name>", methods=["GET", "POST"])
@back_office
def publish_period(unit_id: int, period_name: str) -> ResponseReturnValue:
    """Publish a period (again), after a confirmation that shows the snapshot and what
    changed since the last revision."""
    session, config = db_session(), settings()
    unit, (kind, label, name) = _managed_unit(unit_id), _period(period_name)
    form = ConfirmForm()
    if form.validate_on_submit():
        start_writing(session)
        try:
            publication = publishing.publish(
                session, _managed_unit(unit_id, fresh=True), kind, label, user_id=staff().id,
                now=utcnow(), min_n=config.officer_min_n, tz=config.tz)
        except publishing.PublishError as error:
            show_refusal(form, error)
        else:
            revision = publication.revision
            session.commit()
            flash(_("%(period)s of %(unit)s is published (revision %(revision)d).",
                    period=name, unit=unit.name, revision=revision))
            return redirect(url_for("admin.publish_list") + f"#unit-{unit.code}", 303)
    found = publishing.preview(session, unit, kind, label, now=utcnow(),
                               min_n=config.officer_min_n, tz=config.tz)
    return render_template("admin/publish_confirm.html", form=form, unit=unit,
                           preview=found, snapshot=found.snapshot, names=element_names(),
                           withdrawing=False, live=None, period=name,
                           refusal=str(found.refusal) if found.refusal else None), \
        400 if form.errors else 200


@bp.route("/publish/<int:unit_id>/<period_name>/withdraw", methods=["GET", "POST"])
@back_office
def withdraw_period(unit_id: int, period_name: str) -> ResponseReturnValue:
    """Take a published period off the public page, after a confirmation."""
    session = db_session()
    unit, (kind, label, name) = _managed_unit(unit_id), _period(period_name)
    form = ConfirmForm()
    if form.validate_on_submit():
        start_writing(session)
        try:
            publishing.withdraw(session, _managed_unit(unit_id, fresh=True), kind, label,
                                now=utcnow())
        except publishing.PublishError as error:
            show_refusal(form, error)
        else:
            session.commit()
            flash(_("%(period)s of %(unit)s is no longer on the public page.",
                    period=name, unit=unit.name))
            return redirect(url_for("admin.publish_list") + f"#unit-{unit.code}", 303)
    live = [p for p in publishing.revisions(session, unit.id, kind, label)
            if p.withdrawn_at is None]
    return render_template(
        "admin/publish_confirm.html", form=form, unit=unit, preview=None,
        snapshot=publishing.snapshot_of(live[-1]) if live else None, names=element_names(),
        withdrawing=True, live=live[-1] if live else None, period=name,
        refusal=None if live else _("%(period)s is not published.", period=name)), \
        400 if form.errors else 200
