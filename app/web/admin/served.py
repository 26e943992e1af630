"""People served per counter and day: typed in or imported from a queue system."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy.orm import Session
from wtforms import HiddenField, StringField

from app.db import start_writing, utcnow
from app.extensions import db_session, settings
from app.models import Counter, Unit
from app.org import unit_by_code
from app.periods import week_start
from app.served import (
    ImportPreview,
    entries_from_cells,
    import_served,
    read_import,
    save_served,
    week_grid,
)
from app.summary import format_day, format_week
from app.summary_period import parse_week
from app.web.admin import back_office, bp, require_unit, scoped_unit_ids, units_in_scope


class GridForm(FlaskForm):  # type: ignore[misc]  # (Flask-WTF ships no type information)
    """A week of counts; one text field per counter and day is added per request."""

    unit = HiddenField()
    week = HiddenField()


class ImportForm(FlaskForm):  # type: ignore[misc]
    """A queue system's CSV file to preview."""

    unit = HiddenField()
    file = FileField(_l("CSV file from the queue-ticket system"),
                     validators=[FileRequired(_l("Choose a CSV file."))])


class ConfirmImportForm(FlaskForm):  # type: ignore[misc]
    """The previewed file, sent back to be imported once confirmed."""

    unit = HiddenField()
    content = HiddenField()


def cell_name(counter_id: int, day: date) -> str:
    """The form field of a counter's day."""
    return f"c{counter_id}_{day:%Y%m%d}"


def _grid_form(unit: Unit, counters: list[Counter], days: list[date],
               counts: dict[tuple[int, date], int], *, formdata: Any = None) -> GridForm:
    class Grid(GridForm):
        pass

    for counter in counters:
        for day in days:
            setattr(Grid, cell_name(counter.id, day),
                    StringField(f"{counter.name}, {format_day(day, weekday=True)}"))
    data = {cell_name(c, d): str(v) for (c, d), v in counts.items()}
    data.update(unit=unit.code, week=days[0].isoformat())
    form: GridForm = Grid(formdata=formdata, data=data)
    return form


def _today() -> date:
    return utcnow().astimezone(settings().tz).date()


def _named_unit(session: Session, code: str | None) -> Unit:
    """The unit named; 404 when unknown or out of the user's scope (one answer for both)."""
    unit = unit_by_code(session, (code or "").strip()[:40])
    if unit is None:
        abort(404)
    require_unit(unit.id)
    return unit


def _chosen_unit(session: Session, code: str | None) -> Unit | None:
    """The unit named (see ``_named_unit``), else the only unit in scope, else None."""
    if code:
        return _named_unit(session, code)
    scope = scoped_unit_ids()
    if scope is not None and len(scope) == 1:
        return session.get(Unit, next(iter(scope)))
    return None


def _week_of(text: str | None) -> date:
    if not text:
        return week_start(_today())
    try:
        return parse_week(text)
    except ValueError as error:
        flash(str(error), "error")
        return week_start(_today())


def _page(unit: Unit | None, week: date, *, form: GridForm | None = None,
          import_form: ImportForm | None = None, status: int = 200) -> ResponseReturnValue:
    session = db_session()
    today = _today()
    days = [week + timedelta(days=i) for i in range(7)]
    counters: list[Counter] = []
    if unit is not None:
        counters, counts = week_grid(session, unit.id, week)
        form = form or _grid_form(unit, counters, days, counts)
    return render_template(
        "admin/served.html", unit=unit, units=units_in_scope(session), week=week,
        days=days, today=today, counters=counters, form=form, cell_name=cell_name,
        import_form=import_form or ImportForm(unit=unit.code if unit else ""),
        week_label=format_week(week), day_label=format_day,
        previous_week=(week - timedelta(weeks=1)).isoformat(),
        next_week=(week + timedelta(weeks=1)).isoformat()
        if week + timedelta(weeks=1) <= today else None), status


@bp.route("/served", methods=["GET", "POST"])
@back_office
def served() -> ResponseReturnValue:
    """A unit's week of people served per counter and day: shown, and saved all or nothing."""
    session = db_session()
    if request.method == "GET":
        unit = _chosen_unit(session, request.args.get("unit"))
        return _page(unit, _week_of(request.args.get("week")))
    unit = _named_unit(session, request.form.get("unit"))
    week = _week_of(request.form.get("week"))
    days = [week + timedelta(days=i) for i in range(7)]
    counters, counts = week_grid(session, unit.id, week)
    form = _grid_form(unit, counters, days, counts, formdata=request.form)
    if not form.validate_on_submit():
        return _page(unit, week, form=form, status=400)
    cells = {(c.id, d): form[cell_name(c.id, d)].data for c in counters for d in days
             if d <= _today() or (form[cell_name(c.id, d)].data or "").strip()}
    entries, errors = entries_from_cells(cells)
    saved = None
    if not errors:
        start_writing(session)
        saved, errors = save_served(session, entries, today=_today(), now=utcnow())
    if saved is None:
        session.rollback()
        for (counter_id, day), message in errors.items():
            form[cell_name(counter_id, day)].errors.append(message)
        return _page(unit, week, form=form, status=400)
    session.commit()
    flash(_("People served saved for the week of %(week)s: %(count)s change(s).",
            week=format_week(week), count=format_decimal(saved.total)), "ok")
    return redirect(url_for("admin.served", unit=unit.code, week=week.isoformat()), 303)


def _preview_page(unit: Unit | None, preview: ImportPreview, content: str
                  ) -> ResponseReturnValue:
    return render_template(
        "admin/served_import.html", unit=unit, preview=preview,
        form=ConfirmImportForm(unit=unit.code if unit else "", content=content)), (
        200 if preview.ok else 400)


@bp.post("/served/import")
@back_office
def served_import() -> ResponseReturnValue:
    """Preview a queue system's CSV: every bad line listed; nothing stored yet."""
    session = db_session()
    form = ImportForm()
    unit = _named_unit(session, form.unit.data) if form.unit.data else None
    if not form.validate_on_submit():
        return _page(unit, week_start(_today()), import_form=form, status=400)
    raw = form.file.data.read()
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        form.file.errors.append(_("The file is not UTF-8 text: save it as \"CSV UTF-8\"."))
        return _page(unit, week_start(_today()), import_form=form, status=400)
    preview = read_import(session, content, today=_today(), unit_ids=scoped_unit_ids(),
                          default_unit=unit)
    return _preview_page(unit, preview, content)


@bp.post("/served/import/confirm")
@back_office
def served_import_confirm() -> ResponseReturnValue:
    """Import a previewed file, once confirmed: all its lines or none (read again)."""
    session = db_session()
    form = ConfirmImportForm()
    unit = _named_unit(session, form.unit.data) if form.unit.data else None
    if not form.validate_on_submit():
        abort(400)
    content = form.content.data or ""
    start_writing(session)
    preview = read_import(session, content, today=_today(), unit_ids=scoped_unit_ids(),
                          default_unit=unit)
    saved = None
    if preview.ok:
        saved, errors = import_served(session, preview, today=_today(), now=utcnow())
    if saved is None:
        session.rollback()
        return _preview_page(unit, preview, content)
    session.commit()
    flash(_("Imported %(lines)s line(s): %(served)s people served.",
            lines=format_decimal(len(preview.lines)), served=format_decimal(preview.total)),
          "ok")
    first = min(line.entry.day for line in preview.lines)
    return redirect(url_for("admin.served", unit=unit.code if unit else None,
                            week=first.isoformat()), 303)
