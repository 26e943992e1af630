"""The back office's forms for units, services and counters; the rules are the specs' own
(``app.orgspec``), shared with the organisation file."""

from __future__ import annotations

import re
from collections.abc import Mapping

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from app.models.org import UNIT_KINDS
from app.orgspec import WEEKDAYS, CounterSpec, ServiceSpec, UnitSpec, clean

WHOLE_NUMBER = re.compile(r"^-?\d{1,12}$")
DAY_LABELS = {"mon": _l("Monday"), "tue": _l("Tuesday"), "wed": _l("Wednesday"),
              "thu": _l("Thursday"), "fri": _l("Friday"), "sat": _l("Saturday"),
              "sun": _l("Sunday")}
KIND_LABELS = {"disdukcapil": _l("Disdukcapil"), "puskesmas": _l("Puskesmas"),
               "mpp": _l("Public service mall (MPP)"), "other": _l("Other")}
HOURS_HINT = _l("HH:MM-HH:MM, e.g. 07:30-15:30; empty when closed.")


def _whole(value: str | None) -> tuple[int | None, str | None]:
    """A form's whole number (None when empty) or the message for what is not one."""
    text = clean(value)
    if not text:
        return None, None
    if not WHOLE_NUMBER.fullmatch(text):
        return None, _("Enter a whole number, e.g. 30.")
    return int(text), None


def attach(form: FlaskForm, problems: Mapping[str, str]) -> None:
    """Put each problem beside its field (``opening_hours.mon`` beside ``hours_mon``)."""
    for key, message in problems.items():
        name = key.replace("opening_hours.", "hours_")
        (form[name].errors if name in form else form.form_errors).append(message)


class UnitForm(FlaskForm):  # type: ignore[misc]  # (Flask-WTF ships no type information)
    """A unit: code, name, kind, parent, address and opening hours per weekday."""

    code = StringField(_l("Code"))
    name = StringField(_l("Name"))
    # Choices are checked by the spec (a message in the page's language), not by WTForms.
    kind = SelectField(_l("Kind"), choices=[SelectChoice(k, KIND_LABELS[k]) for k in UNIT_KINDS],
                       validate_choice=False)
    parent = SelectField(_l("Parent unit"), validate_choice=False)
    address = TextAreaField(_l("Address"))
    hours_mon = StringField(DAY_LABELS["mon"])
    hours_tue = StringField(DAY_LABELS["tue"])
    hours_wed = StringField(DAY_LABELS["wed"])
    hours_thu = StringField(DAY_LABELS["thu"])
    hours_fri = StringField(DAY_LABELS["fri"])
    hours_sat = StringField(DAY_LABELS["sat"])
    hours_sun = StringField(DAY_LABELS["sun"])

    def hours_fields(self) -> list[StringField]:
        """The opening-hours fields, Monday first."""
        return [self[f"hours_{day}"] for day in WEEKDAYS]

    def spec(self, *, active: bool = True) -> UnitSpec:
        """What the form asks for."""
        hours = {day: clean(self[f"hours_{day}"].data) for day in WEEKDAYS}
        return UnitSpec(code=clean(self.code.data), name=clean(self.name.data),
                        kind=clean(self.kind.data), parent=clean(self.parent.data) or None,
                        address=clean(self.address.data) or None,
                        opening_hours={day: value for day, value in hours.items() if value},
                        active=active)

    def fill(self, spec: UnitSpec) -> None:
        """Show a stored unit."""
        self.code.data, self.name.data, self.kind.data = spec.code, spec.name, spec.kind
        self.parent.data, self.address.data = spec.parent or "", spec.address or ""
        for day in WEEKDAYS:
            self[f"hours_{day}"].data = spec.opening_hours.get(day, "")


class ServiceForm(FlaskForm):  # type: ignore[misc]
    """A service: code, name, standard time and fee."""

    code = StringField(_l("Code"))
    name = StringField(_l("Name"))
    standard_minutes = StringField(_l("Standard time (minutes)"))
    fee = StringField(_l("Fee (Rupiah)"))

    def spec(self, *, active: bool = True) -> tuple[ServiceSpec, dict[str, str]]:
        """What the form asks for, and the numbers that are not numbers."""
        minutes, minutes_problem = _whole(self.standard_minutes.data)
        fee, fee_problem = _whole(self.fee.data)
        found = {key: message for key, message in
                 (("standard_minutes", minutes_problem), ("fee", fee_problem)) if message}
        return ServiceSpec(code=clean(self.code.data), name=clean(self.name.data),
                           standard_minutes=minutes, fee=fee or 0, active=active), found

    def fill(self, spec: ServiceSpec) -> None:
        """Show a stored service."""
        self.code.data, self.name.data = spec.code, spec.name
        self.standard_minutes.data = "" if spec.standard_minutes is None \
            else str(spec.standard_minutes)
        self.fee.data = str(spec.fee)


class CounterForm(FlaskForm):  # type: ignore[misc]
    """A counter: code, name and default service."""

    code = StringField(_l("Code"))
    name = StringField(_l("Name"))
    service = SelectField(_l("Default service"), validate_choice=False)

    def spec(self, *, active: bool = True) -> CounterSpec:
        """What the form asks for."""
        return CounterSpec(code=clean(self.code.data), name=clean(self.name.data),
                           service=clean(self.service.data) or None, active=active)

    def fill(self, spec: CounterSpec) -> None:
        """Show a stored counter."""
        self.code.data, self.name.data = spec.code, spec.name
        self.service.data = spec.service or ""


class ConfirmForm(FlaskForm):  # type: ignore[misc]
    """A confirmation (or a one-button action): only the CSRF token."""
