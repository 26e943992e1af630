"""Improvement actions (RTL): the list per unit, a new action seeded from the weakest
elements, editing, and an action's measured effect. Unit heads within their units and
administrators; viewers and officers are refused (the whole back office is)."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField, TextAreaField

from app import actions, publishing
from app.db import start_writing, utcnow
from app.extensions import db_session, settings
from app.i18n import current_locale
from app.models import Counter, Service, Unit
from app.models.loop import ACTION_STATES, ELEMENT_CODES, ImprovementAction
from app.org import invisible_character
from app.rosters import units_in_scope
from app.surveys import reference_survey
from app.web.admin import (
    MAX_ID,
    back_office,
    bp,
    confirmation,
    require_unit,
    scoped_unit_ids,
    show_refusal,
)
from app.web.admin.audit_log import LocalDateField
from app.web.auth import staff

STATE_LABELS = {"planned": _l("Planned"), "in_progress": _l("In progress"),
                "done": _l("Done"), "dropped": _l("Dropped")}


def _visible_only(text: str) -> str:
    """``text`` without the characters ``app.actions`` refuses (to show a refused value
    back)."""
    return "".join(ch for ch in text if invisible_character(ch) is None)


class ShownBackText(StringField):  # type: ignore[misc]  # (WTForms ships no type information)
    """A text field whose refused value is shown back without control or invisible
    characters (a NUL never reaches the page)."""

    def _value(self) -> str:
        return _visible_only(str(super()._value()))


class ShownBackTextArea(TextAreaField):  # type: ignore[misc]  # (as above)
    """A text area shown back like ``ShownBackText``, its line breaks kept."""

    def _value(self) -> str:
        return "\n".join(_visible_only(line) for line in str(super()._value()).split("\n"))


class ActionForm(FlaskForm):  # type: ignore[misc]  # (Flask-WTF ships no type information)
    """An action's fields; the rules (lengths, dates, the unit's counters) are
    ``app.actions``'s."""

    # Choices are checked by app.actions (a message beside the field).
    element = SelectField(_l("Element"), validate_choice=False)
    counter_id = SelectField(_l("Counter (optional)"), validate_choice=False)
    service_id = SelectField(_l("Service (optional)"), validate_choice=False)
    what = ShownBackTextArea(_l("What will be done"), render_kw={"rows": 5, "cols": 70})
    who = ShownBackText(_l("Who is responsible"), render_kw={"size": 50})
    starts_on = LocalDateField(_l("Starts on"))
    due_on = LocalDateField(_l("Due on"))
    state = SelectField(_l("State"), validate_choice=False)

    def fill_choices(self, unit_id: int) -> None:
        """The elements with their names, the unit's counters and services, the states."""
        session, names = db_session(), element_names()
        self.element.choices = [(code, f"{code} — {names[code]}") for code in ELEMENT_CODES]
        counters = session.scalars(select(Counter).where(Counter.unit_id == unit_id)
                                   .order_by(Counter.code))
        services = session.scalars(select(Service).where(Service.unit_id == unit_id)
                                   .order_by(Service.code))
        self.counter_id.choices = [("", _("Whole unit"))] + [
            (str(c.id), f"{c.name} ({c.code})") for c in counters]
        self.service_id.choices = [("", _("All services"))] + [
            (str(s.id), f"{s.name} ({s.code})") for s in services]
        self.state.choices = [(state, str(STATE_LABELS[state])) for state in ACTION_STATES]

    def values(self) -> actions.ActionValues:
        """What the form asks for."""
        return actions.ActionValues(
            element=self.element.data or "", what=self.what.data or "",
            who=self.who.data or "", starts_on=self.starts_on.data, due_on=self.due_on.data,
            state=self.state.data or "", counter_id=_id(self.counter_id.data),
            service_id=_id(self.service_id.data))


def _id(value: str | None) -> int | None:
    """A picked id; anything that is not one becomes 0, which no row has (the domain then
    refuses it beside the field)."""
    if not value:
        return None
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 9 else 0


def element_names() -> dict[str, str]:
    """The elements' names in the page's language, from the survey file."""
    names = reference_survey().element_names(current_locale())
    return {code: names.get(code, code) for code in ELEMENT_CODES}


def _managed_action(action_id: int, *, fresh: bool = False) -> ImprovementAction:
    """The action, or 404 when it does not exist or belongs to a unit not the user's."""
    action = db_session().get(ImprovementAction, action_id, populate_existing=fresh) \
        if action_id <= MAX_ID else None
    if action is None:
        abort(404)
    require_unit(action.unit_id)
    return action


def _managed_unit(unit_id: int) -> Unit:
    unit = db_session().get(Unit, unit_id) if unit_id <= MAX_ID else None
    if unit is None:
        abort(404)
    require_unit(unit.id)
    return unit


def _today() -> date:
    return utcnow().astimezone(settings().tz).date()


@bp.get("/actions")
@back_office
def actions_list() -> ResponseReturnValue:
    """The actions of the user's units, grouped by unit; overdue ones marked."""
    session = db_session()
    units = units_in_scope(session, scoped_unit_ids())
    rows = actions.unit_actions(session, {u.id for u in units})
    by_unit = {u.id: [a for a in rows if a.unit_id == u.id] for u in units}
    return render_template("admin/actions.html", units=units, by_unit=by_unit,
                           today=_today(), names=element_names(), states=STATE_LABELS,
                           overdue=actions.is_overdue)


@bp.route("/units/<int:unit_id>/actions/new", methods=["GET", "POST"])
@back_office
def action_new(unit_id: int) -> ResponseReturnValue:
    """Record a new action of a unit, its element pre-filled with the weakest of the last
    complete month."""
    session, unit = db_session(), _managed_unit(unit_id)
    suggestion = actions.suggested_elements(session, unit.id, now=utcnow(), tz=settings().tz)
    today = _today()
    form = ActionForm(data={"element": (suggestion.weakest or ("U1",))[0],
                            "starts_on": today, "due_on": today, "state": "planned"})
    form.fill_choices(unit.id)
    if form.validate_on_submit():
        start_writing(session)
        fresh = session.get(Unit, unit_id)
        assert fresh is not None  # noqa: S101 (found a moment ago; units are not deleted)
        try:
            action = actions.create_action(session, fresh, form.values(),
                                           user_id=staff().id, now=utcnow())
        except actions.ActionError as error:
            show_refusal(form, error)
        else:
            action_id = action.id
            session.commit()
            flash(_("Action recorded."))
            return redirect(url_for("admin.action_detail", action_id=action_id), 303)
    return render_template("admin/action_form.html", form=form, unit=unit, action=None,
                           suggestion=suggestion, names=element_names()), \
        400 if form.errors else 200


@bp.route("/actions/<int:action_id>/edit", methods=["GET", "POST"])
@back_office
def action_edit(action_id: int) -> ResponseReturnValue:
    """Change an action: its text, dates, state, element, counter or service."""
    session, action = db_session(), _managed_action(action_id)
    form = ActionForm(data={
        "element": action.element, "what": action.what, "who": action.who,
        "starts_on": action.starts_on, "due_on": action.due_on, "state": action.state,
        "counter_id": str(action.counter_id or ""), "service_id": str(action.service_id or "")})
    form.fill_choices(action.unit_id)
    if form.validate_on_submit():
        start_writing(session)
        try:
            actions.update_action(session, _managed_action(action_id, fresh=True),
                                  form.values(), now=utcnow())
        except actions.ActionError as error:
            show_refusal(form, error)
        else:
            session.commit()
            flash(_("Action saved."))
            return redirect(url_for("admin.action_detail", action_id=action_id), 303)
    return render_template("admin/action_form.html", form=form, unit=action.unit,
                           action=action, suggestion=None, names=element_names()), \
        400 if form.errors else 200


@bp.get("/actions/<int:action_id>")
@back_office
def action_detail(action_id: int) -> ResponseReturnValue:
    """An action and its measured effect before and after its start."""
    action, config = _managed_action(action_id), settings()
    measured = actions.effect(db_session(), action, weeks=config.action_window_weeks,
                              min_n=config.officer_min_n, now=utcnow(), tz=config.tz)
    return render_template("admin/action_detail.html", action=action, effect=measured,
                           names=element_names(), states=STATE_LABELS, today=_today(),
                           overdue=actions.is_overdue(action, _today()))


@bp.route("/actions/<int:action_id>/publish", methods=["GET", "POST"])
@back_office
def action_publish(action_id: int) -> ResponseReturnValue:
    """Show an action on the public page ("Anda berkata, kami lakukan"), after a
    confirmation saying what the public sees."""
    return _set_published(action_id, True)


@bp.route("/actions/<int:action_id>/unpublish", methods=["GET", "POST"])
@back_office
def action_unpublish(action_id: int) -> ResponseReturnValue:
    """Take an action off the public page, after a confirmation."""
    return _set_published(action_id, False)


def _set_published(action_id: int, showing: bool) -> ResponseReturnValue:
    _managed_action(action_id)  # 404 unless it exists in one of the user's units
    endpoint = "admin.action_publish" if showing else "admin.action_unpublish"
    back = url_for("admin.action_detail", action_id=action_id)
    asked = confirmation(
        _("Show this action on the public page?") if showing else
        _("Take this action off the public page?"),
        _("The public page will show its element, what will be done, the counter or service, "
          "its dates and its state, as written here (never who is responsible). Make sure "
          "the text names no officer and no citizen.") if showing else
        _("The action stays in the back office; the public page no longer lists it."),
        _("Show on the public page") if showing else _("Take off the public page"),
        url_for(endpoint, action_id=action_id), back)
    if asked is not None:
        return asked
    session = db_session()
    start_writing(session)
    publishing.set_action_published(session, _managed_action(action_id, fresh=True), showing,
                                    now=utcnow())
    session.commit()
    flash(_("The action is on the public page.") if showing else
          _("The action is no longer on the public page."))
    return redirect(back, 303)
