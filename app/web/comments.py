"""A unit's comments page on the dashboard: filters by period, counter, service, score and
words, pages of 50, and a CSV export that is recorded in the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Response, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from app.audit import record_export
from app.auth import can_view_unit, sees_officer_detail
from app.comments import (
    AT_MOST_CHOICES,
    ORDERS,
    WORDS_MAX,
    WORDS_MAX_LENGTH,
    Choice,
    CommentFilters,
    CommentPage,
    csv_lines,
    filter_choices,
    iter_comments,
    search_comments,
    split_words,
)
from app.db import start_writing, utcnow
from app.extensions import database, db_session, settings
from app.i18n import current_locale
from app.models import Unit
from app.org import CODE_PATTERN, unit_by_code
from app.scoring import ELEMENT_CODES
from app.summary import format_span, last_complete_week
from app.summary_period import SUMMARY_KINDS, PeriodError, SummaryPeriod, period_from_args
from app.surveys import reference_survey
from app.web.auth import staff, staff_required
from app.web.dashboard import bp

MAX_PAGE = 100_000
DETAIL_ONLY = _l("Filtering or ordering by counter, service or score is for unit heads and "
                 "administrators: it would point to the officer on duty.")


def _stripped(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


class PageField(IntegerField):  # type: ignore[misc]  # (WTForms ships no type information)
    """A page number, with the page's own message when it is not a whole number."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_l("Enter a whole page number.")) from None


def _day_field(label: Any, name: str) -> StringField:
    return StringField(label, name=name, filters=[_stripped], render_kw={"type": "date"},
                       validators=[Optional(), Length(max=10, message=_l(
                           "Write the date as YYYY-MM-DD, for example 2026-11-16."))])


class CommentFilterForm(FlaskForm):  # type: ignore[misc]  # (Flask-WTF ships no type information)
    """The comments' filters, read from the query string (a GET form changes nothing: no
    CSRF). Built with the unit's counters and services and whether the reader sees officer
    detail; ``chosen`` is the period once the form is valid."""

    class Meta:
        csrf = False

    period = StringField(_l("Period"), filters=[_stripped],
                         render_kw={"list": "comment-periods", "size": 10}, validators=[
        Optional(), Length(max=16, message=_l("A period has at most %(max)d characters."))])
    first = _day_field(_l("From (local date)"), "from")
    last = _day_field(_l("To (local date)"), "to")
    # Not shown: the day of a week, as the summary's older links give it.
    week = StringField(filters=[_stripped], validators=[Optional(), Length(max=10, message=_l(
        "Write the date as YYYY-MM-DD, for example 2026-11-16."))])
    counter = SelectField(_l("Counter"), validate_choice=False)
    service = SelectField(_l("Service"), validate_choice=False)
    element = SelectField(_l("Score of"), validate_choice=False)
    at_most = SelectField(_l("At most"), validate_choice=False)
    q = StringField(_l("Words in the comment"), filters=[_stripped], validators=[
        Optional(), Length(max=WORDS_MAX_LENGTH, message=_l("At most %(max)d characters."))])
    order = SelectField(_l("Order"), validate_choice=False)
    page = PageField(_l("Page"), validators=[Optional(), NumberRange(
        min=1, max=MAX_PAGE, message=_l("Enter a page between %(min)s and %(max)s."))])

    def __init__(self, *, counters: list[Choice], services: list[Choice],
                 officer_detail: bool, allow_range: bool, default: SummaryPeriod,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.officer_detail, self.allow_range, self.default = officer_detail, allow_range, default
        self.chosen: SummaryPeriod | None = None
        self.counter.choices = [SelectChoice("", _("All counters"))] + [
            SelectChoice(str(c.id), _choice_label(c)) for c in counters]
        self.service.choices = [SelectChoice("", _("All services"))] + [
            SelectChoice(str(s.id), _choice_label(s)) for s in services]
        names = reference_survey().element_names(current_locale())
        self.element.choices = [SelectChoice("", _("The response's mean of the nine"))] + [
            SelectChoice(code, f"{code} {names.get(code, code)}") for code in ELEMENT_CODES]
        self.at_most.choices = [SelectChoice("", _("Any score"))] + [
            SelectChoice(str(k), str(k)) for k in AT_MOST_CHOICES]
        self.order.choices = [SelectChoice("newest", _("Newest first")),
                              SelectChoice("lowest", _("Lowest score first"))]

    def _fine(self, field: Field, known: tuple[str, ...], message: str) -> None:
        """A counter, service, score or order: for readers who see officer detail, and
        only one of the choices offered."""
        if not field.data:
            return
        if not self.officer_detail:
            raise ValidationError(str(DETAIL_ONLY))
        if field.data not in known:
            raise ValidationError(message)

    def validate_counter(self, field: Field) -> None:
        self._fine(field, _values(field), _("Choose one of this unit's counters."))

    def validate_service(self, field: Field) -> None:
        self._fine(field, _values(field), _("Choose one of this unit's services."))

    def validate_element(self, field: Field) -> None:
        self._fine(field, ELEMENT_CODES, _("Choose an element from U1 to U9."))
        if field.data and not self.at_most.data:
            raise ValidationError(_("Choose the highest score as well."))

    def validate_at_most(self, field: Field) -> None:
        self._fine(field, _values(field), _("Choose a highest score of 1, 2 or 3."))

    def validate_order(self, field: Field) -> None:
        if field.data and field.data not in ORDERS:
            raise ValidationError(_("Choose the newest or the lowest scores first."))
        if field.data == "lowest" and not self.officer_detail:
            raise ValidationError(str(DETAIL_ONLY))

    def validate_q(self, field: Field) -> None:
        if len(split_words(field.data or "")) > WORDS_MAX:
            raise ValidationError(_("Search for at most %(num)d words.", num=WORDS_MAX))

    def validate(self, extra_validators: Any = None) -> bool:
        """The fields, then the period they ask for (a named period, a custom range, or a
        week's day; the default without any)."""
        valid: bool = super().validate(extra_validators)
        if any(f.errors for f in (self.period, self.first, self.last, self.week)):
            return False
        args = {"period": self.period.data, "from": self.first.data, "to": self.last.data,
                "week": self.week.data}
        try:
            self.chosen = period_from_args({k: v for k, v in args.items() if v},
                                           default=self.default, allow_range=self.allow_range)
        except PeriodError as error:
            (self.first if self.first.data or self.last.data else self.period).errors.append(
                str(error))
            return False
        # The form shows the period it chose, by name or as a range, whatever asked for it.
        self.week.data = None
        if self.chosen.is_range:
            self.period.data = None
        else:
            self.period.data, self.first.data, self.last.data = self.chosen.name, None, None
        return valid

    def filters(self) -> CommentFilters:
        """The valid form's criteria."""
        assert self.chosen is not None  # noqa: S101 (only a validated form is read)
        return CommentFilters(
            self.chosen, counter_id=int(self.counter.data) if self.counter.data else None,
            service_id=int(self.service.data) if self.service.data else None,
            element=self.element.data or None,
            at_most=int(self.at_most.data) if self.at_most.data else None,
            words=split_words(self.q.data or ""), order=self.order.data or "newest")

    def query(self, **changed: Any) -> dict[str, Any]:
        """The criteria as query-string arguments (for the paging and export links): the
        chosen period by name, or its days for a custom range."""
        values: dict[str, Any] = dict(self.chosen.query_args()) if self.chosen else {}
        values.update({name: self[name].data for name in
                       ("counter", "service", "element", "at_most", "q", "order")})
        if values.get("order") == "newest":
            del values["order"]
        values.update(changed)
        return {name: value for name, value in values.items() if value}


def _choice_label(choice: Choice) -> str:
    label = f"{choice.code} — {choice.name}"
    return label if choice.active else f"{label} ({_('inactive')})"


def _values(field: Field) -> tuple[str, ...]:
    return tuple(str(choice.value) for choice in field.choices if choice.value)


def _visible_unit(code: str) -> Unit:
    # As the summary: only what could be a code reaches the database, and another unit's
    # page answers as a unit that does not exist.
    unit = unit_by_code(db_session(), code) if CODE_PATTERN.fullmatch(code) else None
    if unit is None or not can_view_unit(db_session(), staff(), unit.id):
        abort(404)
    return unit


def _filter_form(unit: Unit) -> tuple[CommentFilterForm, bool]:
    user = staff()
    counters, services = filter_choices(db_session(), unit.id)
    default = SummaryPeriod.of("week", last_complete_week(utcnow(), settings().tz))
    form = CommentFilterForm(formdata=request.args, counters=counters, services=services,
                             officer_detail=sees_officer_detail(user),
                             allow_range=user.role in ("admin", "unit_head"), default=default)
    return form, form.validate()


def _page(unit: Unit, form: CommentFilterForm, found: CommentPage | None) -> str:
    period = form.chosen or form.default
    return render_template(
        "dashboard_comments.html", unit=unit, form=form, page=found, period=period,
        span=format_span(period.first, period.last), officer_detail=form.officer_detail,
        allow_range=form.allow_range, tz=settings().tz,
        suggested=[SummaryPeriod.of(kind, period.first).name for kind in SUMMARY_KINDS],
        element_names=reference_survey().element_names(current_locale()))


@bp.get("/units/<code>/comments")
@staff_required("admin", "viewer", "unit_head")
def comments(code: str) -> ResponseReturnValue:
    """A unit's citizens' comments of a period (default the last complete week), filtered,
    50 a page; scores, counters, services and times only for those who see officer detail."""
    unit = _visible_unit(code)
    form, valid = _filter_form(unit)
    if not valid:
        return _page(unit, form, None), 400
    found = search_comments(db_session(), unit.id, form.filters(), form.page.data or 1,
                            tz=settings().tz, officer_detail=form.officer_detail)
    return _page(unit, form, found)


@bp.get("/units/<code>/comments.csv")
@staff_required("admin", "viewer", "unit_head")
def comments_csv(code: str) -> ResponseReturnValue:
    """The filtered comments as CSV (every page); the export is recorded first."""
    unit = _visible_unit(code)
    form, valid = _filter_form(unit)
    if not valid:
        return _page(unit, form, None), 400
    filters, detail, tz, db = form.filters(), form.officer_detail, settings().tz, database()
    unit_id, unit_code = unit.id, unit.code
    session = db_session()
    start_writing(session)
    record_export(session, "comments", {"unit": unit_code, **filters.described()})
    session.commit()

    def rows() -> Iterator[str]:
        with db.session_scope(write=False) as reader:
            yield from csv_lines(iter_comments(reader, unit_id, filters, tz=tz,
                                               officer_detail=detail), officer_detail=detail)

    name = f"comments-{unit_code}-{filters.period.name.replace('..', '_')}.csv"
    return Response(rows(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{name}"'})
