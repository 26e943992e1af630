"""Units, services and counters: list, create, edit, deactivate and reactivate.

Administrators manage every unit; a unit head manages their own unit and its sub-units, may
add sub-units under them, and may not create top-level units or move a unit out of their
scope. The rules of each field are the organisation file's (``app.orgspec``).
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from app import orgspec
from app.db import start_writing
from app.extensions import db_session
from app.models import Counter, Service, Unit
from app.org import DomainError
from app.web.admin import back_office, bp, require_unit, scoped_unit_ids
from app.web.admin.org_forms import (
    DAY_LABELS,
    HOURS_HINT,
    KIND_LABELS,
    ConfirmForm,
    CounterForm,
    ServiceForm,
    UnitForm,
    attach,
)

TOP_LEVEL = _l("(none: a top-level unit)")


def _unit(unit_id: int) -> Unit:
    require_unit(unit_id)
    unit = db_session().get(Unit, unit_id)
    if unit is None:
        abort(404)
    return unit


def _service(service_id: int) -> Service:
    service = db_session().get(Service, service_id)
    if service is None:
        abort(404)
    require_unit(service.unit_id)
    return service


def _counter(counter_id: int) -> Counter:
    counter = db_session().get(Counter, counter_id)
    if counter is None:
        abort(404)
    require_unit(counter.unit_id)
    return counter


def _done(message: str, unit: Unit) -> Response:
    """Post/Redirect/Get: commit, say what was done, show the unit."""
    db_session().commit()
    flash(message)
    return redirect(url_for("admin.unit", unit_id=unit.id), 303)


@bp.get("/units")
@back_office
def units() -> ResponseReturnValue:
    """The units the signed-in user manages, with their services and counters counted."""
    rows = orgspec.units_in_scope(db_session(), scoped_unit_ids())
    return render_template("admin/units.html", rows=rows, kinds=KIND_LABELS,
                           can_create=bool(scoped_unit_ids() is None or rows))


@bp.get("/units/<int:unit_id>")
@back_office
def unit(unit_id: int) -> ResponseReturnValue:
    """One unit: its details, services and counters."""
    found = _unit(unit_id)
    posters = "admin.posters" in current_app.view_functions
    return render_template("admin/unit.html", unit=found, kinds=KIND_LABELS,
                           hours=orgspec.unit_state(found)["opening_hours"],
                           day_labels=DAY_LABELS, posters=posters, form=ConfirmForm())


# --- units ---------------------------------------------------------------------------------


def _parent_choices(form: UnitForm, unit: Unit | None) -> None:
    session = db_session()
    scope = scoped_unit_ids()
    choices = [SelectChoice(u.code, f"{u.code} · {u.name}")
               for u, _services, _counters in orgspec.units_in_scope(session, scope)
               if unit is None or u.id != unit.id]
    if unit is not None and unit.parent is not None \
            and unit.parent.code not in {choice.value for choice in choices}:
        choices.insert(0, SelectChoice(unit.parent.code,
                                       f"{unit.parent.code} · {unit.parent.name}"))
    # Administrators may place a unit at the top; a unit head's own top unit stays there.
    if scope is None or (unit is not None and unit.parent is None):
        choices.insert(0, SelectChoice("", str(TOP_LEVEL)))
    form.parent.choices = choices


def _scope_problems(spec: orgspec.UnitSpec, unit: Unit | None) -> dict[str, str]:
    """A unit head may only put a unit under one of their units, and may not move one."""
    scope = scoped_unit_ids()
    if scope is None:
        return {}
    current = unit.parent.code if unit is not None and unit.parent is not None else None
    if unit is not None and spec.parent == current:
        return {}
    # A malformed code (a NUL byte, say) never reaches the database: it is simply not theirs.
    parent = orgspec.unit_by_code(db_session(), spec.parent) \
        if spec.parent and orgspec.code_problem(spec.parent) is None else None
    if parent is None or parent.id not in scope:
        return {"parent": _("Choose one of the units you manage as the parent.")}
    return {}


def _unit_page(form: UnitForm, unit: Unit | None, status: int = 200) -> ResponseReturnValue:
    title = _("New unit") if unit is None else _("Edit unit %(code)s", code=unit.code)
    return render_template("admin/unit_form.html", form=form, unit=unit, title=title,
                           hours_hint=HOURS_HINT), status


@bp.route("/units/new", methods=["GET", "POST"])
@back_office
def unit_new() -> ResponseReturnValue:
    """Create a unit (a unit head: a sub-unit of one of their units)."""
    form = UnitForm()
    _parent_choices(form, None)
    if not form.is_submitted():
        form.parent.data = request.args.get("parent", "")
        return _unit_page(form, None)
    if not form.validate():
        return _unit_page(form, None, 400)
    session = db_session()
    spec = form.spec()
    problems = {**_scope_problems(spec, None), **orgspec.unit_problems(session, spec)}
    if problems:
        attach(form, problems)
        return _unit_page(form, None, 400)
    start_writing(session)
    created = orgspec.create_unit(session, spec)
    return _done(_("Unit %(code)s created.", code=created.code), created)


@bp.route("/units/<int:unit_id>/edit", methods=["GET", "POST"])
@back_office
def unit_edit(unit_id: int) -> ResponseReturnValue:
    """Change a unit's code, name, kind, parent, address or opening hours."""
    found = _unit(unit_id)
    form = UnitForm()
    _parent_choices(form, found)
    if not form.is_submitted():
        form.fill(orgspec.unit_spec_of(found))
        return _unit_page(form, found)
    if not form.validate():
        return _unit_page(form, found, 400)
    session = db_session()
    spec = form.spec(active=found.active)
    problems = {**_scope_problems(spec, found), **orgspec.unit_problems(session, spec, found)}
    if problems:
        attach(form, problems)
        return _unit_page(form, found, 400)
    start_writing(session)
    orgspec.update_unit(session, found, spec)
    return _done(_("Unit %(code)s saved.", code=found.code), found)


def _confirm(title: str, warning: str, action: str, label: str, cancel: str
             ) -> ResponseReturnValue:
    return render_template("admin/confirm.html", title=title, warning=warning, action=action,
                           confirm_label=label, cancel_url=cancel, form=ConfirmForm())


def _refuse_stale_form() -> None:
    """400 for a confirmation without its valid CSRF token: nothing changes."""
    if not ConfirmForm().validate_on_submit():
        abort(400)


@bp.route("/units/<int:unit_id>/deactivate", methods=["GET", "POST"])
@back_office
def unit_deactivate(unit_id: int) -> ResponseReturnValue:
    """Deactivate a unit after a confirmation (nothing is deleted)."""
    found = _unit(unit_id)
    if request.method != "POST":
        return _confirm(
            _("Deactivate unit %(code)s?", code=found.code),
            _("%(name)s will no longer be offered. Its responses, services and counters are "
              "kept, and it can be reactivated.", name=found.name),
            url_for("admin.unit_deactivate", unit_id=found.id), _("Deactivate"),
            url_for("admin.unit", unit_id=found.id))
    _refuse_stale_form()
    start_writing(db_session())
    orgspec.set_unit_active(db_session(), found, False)
    return _done(_("Unit %(code)s deactivated.", code=found.code), found)


@bp.post("/units/<int:unit_id>/reactivate")
@back_office
def unit_reactivate(unit_id: int) -> ResponseReturnValue:
    """Reactivate a unit."""
    found = _unit(unit_id)
    _refuse_stale_form()
    start_writing(db_session())
    orgspec.set_unit_active(db_session(), found, True)
    return _done(_("Unit %(code)s reactivated.", code=found.code), found)


# --- services ------------------------------------------------------------------------------


def _service_page(form: ServiceForm, unit: Unit, service: Service | None,
                  status: int = 200) -> ResponseReturnValue:
    title = (_("New service in %(unit)s", unit=unit.code) if service is None
             else _("Edit service %(code)s", code=service.code))
    return render_template("admin/org_form.html", form=form, unit=unit, title=title,
                           fields=[form.code, form.name, form.standard_minutes, form.fee]), status


def _save_service(form: ServiceForm, unit: Unit, service: Service | None
                  ) -> ResponseReturnValue:
    if not form.validate():
        return _service_page(form, unit, service, 400)
    session = db_session()
    spec, problems = form.spec(active=service.active if service else True)
    problems = {**orgspec.service_problems(session, unit, spec, service), **problems}
    if problems:
        attach(form, problems)
        return _service_page(form, unit, service, 400)
    start_writing(session)
    try:
        if service is None:
            service = orgspec.create_service(session, unit, spec)
        else:
            orgspec.update_service(session, service, spec)
    except DomainError:  # taken by someone else between the check and the write
        session.rollback()
        attach(form, orgspec.service_problems(session, unit, spec, service))
        return _service_page(form, unit, service, 409)
    return _done(_("Service %(code)s saved.", code=service.code), unit)


@bp.route("/units/<int:unit_id>/services/new", methods=["GET", "POST"])
@back_office
def service_new(unit_id: int) -> ResponseReturnValue:
    """Add a service to a unit."""
    found = _unit(unit_id)
    form = ServiceForm()
    if not form.is_submitted():
        form.fee.data = "0"
        return _service_page(form, found, None)
    return _save_service(form, found, None)


@bp.route("/services/<int:service_id>/edit", methods=["GET", "POST"])
@back_office
def service_edit(service_id: int) -> ResponseReturnValue:
    """Change a service."""
    service = _service(service_id)
    form = ServiceForm()
    if not form.is_submitted():
        form.fill(orgspec.ServiceSpec(**orgspec.service_state(service)))
        return _service_page(form, service.unit, service)
    return _save_service(form, service.unit, service)


@bp.route("/services/<int:service_id>/deactivate", methods=["GET", "POST"])
@back_office
def service_deactivate(service_id: int) -> ResponseReturnValue:
    """Deactivate a service after a confirmation."""
    service = _service(service_id)
    if request.method != "POST":
        return _confirm(
            _("Deactivate service %(code)s?", code=service.code),
            _("%(name)s will no longer be offered to citizens. Its responses are kept, and it "
              "can be reactivated.", name=service.name),
            url_for("admin.service_deactivate", service_id=service.id), _("Deactivate"),
            url_for("admin.unit", unit_id=service.unit_id))
    _refuse_stale_form()
    start_writing(db_session())
    orgspec.set_service_active(db_session(), service, False)
    return _done(_("Service %(code)s deactivated.", code=service.code), service.unit)


@bp.post("/services/<int:service_id>/reactivate")
@back_office
def service_reactivate(service_id: int) -> ResponseReturnValue:
    """Reactivate a service."""
    service = _service(service_id)
    _refuse_stale_form()
    start_writing(db_session())
    orgspec.set_service_active(db_session(), service, True)
    return _done(_("Service %(code)s reactivated.", code=service.code), service.unit)


# --- counters ------------------------------------------------------------------------------


def _service_choices(form: CounterForm, unit: Unit) -> None:
    form.service.choices = [SelectChoice("", str(_l("(none)")))] + [
        SelectChoice(s.code, f"{s.code} · {s.name}") for s in unit.services]


def _counter_page(form: CounterForm, unit: Unit, counter: Counter | None,
                  status: int = 200) -> ResponseReturnValue:
    title = (_("New counter in %(unit)s", unit=unit.code) if counter is None
             else _("Edit counter %(code)s", code=counter.code))
    return render_template("admin/org_form.html", form=form, unit=unit, title=title,
                           fields=[form.code, form.name, form.service]), status


def _save_counter(form: CounterForm, unit: Unit, counter: Counter | None
                  ) -> ResponseReturnValue:
    if not form.validate():
        return _counter_page(form, unit, counter, 400)
    session = db_session()
    spec = form.spec(active=counter.active if counter else True)
    problems = orgspec.counter_problems(session, unit, spec, counter)
    if problems:
        attach(form, problems)
        return _counter_page(form, unit, counter, 400)
    start_writing(session)
    try:
        if counter is None:
            counter = orgspec.create_counter(session, unit, spec)
        else:
            orgspec.update_counter(session, counter, spec)
    except DomainError:  # taken by someone else between the check and the write
        session.rollback()
        attach(form, orgspec.counter_problems(session, unit, spec, counter))
        return _counter_page(form, unit, counter, 409)
    return _done(_("Counter %(code)s saved.", code=counter.code), unit)


@bp.route("/units/<int:unit_id>/counters/new", methods=["GET", "POST"])
@back_office
def counter_new(unit_id: int) -> ResponseReturnValue:
    """Add a counter to a unit (its first QR token is issued with it)."""
    found = _unit(unit_id)
    form = CounterForm()
    _service_choices(form, found)
    if not form.is_submitted():
        return _counter_page(form, found, None)
    return _save_counter(form, found, None)


@bp.route("/counters/<int:counter_id>/edit", methods=["GET", "POST"])
@back_office
def counter_edit(counter_id: int) -> ResponseReturnValue:
    """Change a counter."""
    counter = _counter(counter_id)
    form = CounterForm()
    _service_choices(form, counter.unit)
    if not form.is_submitted():
        form.fill(orgspec.CounterSpec(**orgspec.counter_state(counter)))
        return _counter_page(form, counter.unit, counter)
    return _save_counter(form, counter.unit, counter)


@bp.route("/counters/<int:counter_id>/deactivate", methods=["GET", "POST"])
@back_office
def counter_deactivate(counter_id: int) -> ResponseReturnValue:
    """Deactivate a counter after a confirmation (its poster then says so to citizens)."""
    counter = _counter(counter_id)
    if request.method != "POST":
        return _confirm(
            _("Deactivate counter %(code)s?", code=counter.code),
            _("%(name)s will stop taking responses; citizens who scan its poster are told it "
              "is no longer in use. Its responses are kept, and it can be reactivated.",
              name=counter.name),
            url_for("admin.counter_deactivate", counter_id=counter.id), _("Deactivate"),
            url_for("admin.unit", unit_id=counter.unit_id))
    _refuse_stale_form()
    start_writing(db_session())
    orgspec.set_counter_active(db_session(), counter, False)
    return _done(_("Counter %(code)s deactivated.", code=counter.code), counter.unit)


@bp.post("/counters/<int:counter_id>/reactivate")
@back_office
def counter_reactivate(counter_id: int) -> ResponseReturnValue:
    """Reactivate a counter."""
    counter = _counter(counter_id)
    _refuse_stale_form()
    start_writing(db_session())
    orgspec.set_counter_active(db_session(), counter, True)
    return _done(_("Counter %(code)s reactivated.", code=counter.code), counter.unit)
