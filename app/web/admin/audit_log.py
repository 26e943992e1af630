"""The audit log for administrators: filters, pages of 50, and a CSV export that is itself
recorded."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Any

from flask import Response, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, Field, IntegerField, StringField
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from app.audit import (
    AuditFilters,
    changes,
    csv_lines,
    iter_entries,
    record_export,
    search_entries,
)
from app.db import start_writing
from app.extensions import database, db_session, settings
from app.web.admin import admin_only, bp

MAX_PAGE = 100_000


def _stripped(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


INVISIBLE = ("Cc", "Cf", "Cs", "Co", "Zl", "Zp")


def _visible_only(text: str) -> str:
    """``text`` without control and invisible characters (to show a refused value back)."""
    return "".join(ch for ch in text if unicodedata.category(ch) not in INVISIBLE)


def _plain_text(_form: FlaskForm, field: Field) -> None:
    """Refuse control and invisible characters (NUL, bidirectional, zero-width): no entry
    holds them, and a NUL is refused by PostgreSQL itself. The field shows the value back
    without them."""
    for character in field.data or "":
        if unicodedata.category(character) in INVISIBLE:
            field.data = _visible_only(field.data)
            raise ValidationError(_l(
                "This contains the invisible or control character %(char)s; remove it.",
                char=f"U+{ord(character):04X}"))


def _text(label: Any, longest: int) -> StringField:
    return StringField(label, filters=[_stripped], validators=[
        Optional(), Length(max=longest, message=_l("At most %(max)d characters.")),
        _plain_text])


class LocalDateField(DateField):  # type: ignore[misc]  # (WTForms ships no type information)
    """A local date as YYYY-MM-DD, with the page's own message when it is not one."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_l("Enter a date as YYYY-MM-DD, for example 2026-12-04.")) from None

    def _value(self) -> str:
        return _visible_only(str(super()._value()))


class PageField(IntegerField):  # type: ignore[misc]  # (WTForms ships no type information)
    """A page number, with the page's own message when it is not a whole number."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_l("Enter a whole page number.")) from None

    def _value(self) -> str:
        return _visible_only(str(super()._value()))


class AuditFilterForm(FlaskForm):  # type: ignore[misc]  # (Flask-WTF ships no type information)
    """The log's filters, read from the query string (a GET form changes nothing: no CSRF)."""

    class Meta:
        csrf = False

    actor = _text(_l("Actor contains"), 300)
    action = _text(_l("Action starts with"), 64)
    object_type = _text(_l("Object type"), 32)
    object_id = _text(_l("Object id"), 64)
    first = LocalDateField(_l("From (local date)"), validators=[Optional()])
    last = LocalDateField(_l("To (local date)"), validators=[Optional()])
    page = PageField(_l("Page"), validators=[Optional(), NumberRange(
        min=1, max=MAX_PAGE, message=_l("Enter a page between %(min)s and %(max)s."))])

    def validate_last(self, field: Field) -> None:
        if self.first.data and field.data and field.data < self.first.data:
            raise ValidationError(_l("The last day comes before the first."))

    def filters(self) -> AuditFilters:
        return AuditFilters(actor=self.actor.data or None, action=self.action.data or None,
                            object_type=self.object_type.data or None,
                            object_id=self.object_id.data or None,
                            first=self.first.data, last=self.last.data)

    def query(self, **changed: Any) -> dict[str, Any]:
        """The filters as query-string arguments (for the paging and export links)."""
        values = {name: self[name].data for name in
                  ("actor", "action", "object_type", "object_id", "first", "last")}
        values.update(changed)
        return {name: value for name, value in values.items() if value}


def _filter_form() -> tuple[AuditFilterForm, bool]:
    form = AuditFilterForm(formdata=request.args)
    return form, (not request.args or form.validate())


def _refused(form: AuditFilterForm) -> ResponseReturnValue:
    return render_template("admin/audit_log.html", form=form, page=None), 400


@bp.get("/audit")
@admin_only
def audit() -> ResponseReturnValue:
    """The audit log, newest first, 50 entries a page."""
    form, valid = _filter_form()
    if not valid:
        return _refused(form)
    page = search_entries(db_session(), form.filters(), form.page.data or 1, tz=settings().tz)
    return render_template("admin/audit_log.html", form=form, page=page, changes=changes,
                           tz=settings().tz)


@bp.get("/audit/export.csv")
@admin_only
def audit_export() -> ResponseReturnValue:
    """The filtered entries as CSV; the export is recorded (with its filters) first."""
    form, valid = _filter_form()
    if not valid:
        return _refused(form)
    filters, tz, db = form.filters(), settings().tz, database()
    session = db_session()
    start_writing(session)
    up_to = record_export(session, "audit", filters.described()).id
    session.commit()

    def rows() -> Iterator[str]:
        with db.session_scope(write=False) as reader:
            yield from csv_lines(iter_entries(reader, filters, tz=tz, up_to_id=up_to), tz)

    return Response(rows(), mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="audit-log.csv"'})
