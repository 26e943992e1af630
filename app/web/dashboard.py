"""Staff pages: the unit head's weekly summary, officers' own feedback, the unit list."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from io import BytesIO
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from markupsafe import Markup
from werkzeug.exceptions import HTTPException
from wtforms import Field, SelectChoice, SelectField, StringField, ValidationError
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from app import charts
from app.auth import (
    can_view_officer,
    can_view_unit,
    sees_officer_detail,
    unit_scope,
    unit_scores_from,
)
from app.db import utcnow
from app.extensions import db_session, settings
from app.i18n import current_locale
from app.models import Officer, Unit
from app.org import CODE_PATTERN, unit_by_code
from app.periods import period_name, period_start, previous_period
from app.report import NoData, ReportError, build_report, report_period
from app.report_files import FORMATS, filename
from app.summary import (
    NOT_A_GRADE,
    ElementScore,
    OfficerSummary,
    TrendPoint,
    format_day,
    format_month,
    format_week,
    last_complete_week,
    officer_summary,
    weekday_name,
)
from app.summary_period import FIRST_YEAR, SummaryPeriod, parse_week
from app.unit_comparison import UnitComparison, compare_units
from app.web.auth import staff, staff_required
from app.web.period_nav import BadPeriod, FuturePeriod, period_nav, requested_period
from app.web.unit_summary import BREAKDOWNS, render_unit_summary

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


class BadWeek(Exception):
    """The ``week`` parameter is not a date the dashboard can show."""


class FutureWeek(BadWeek):
    """The ``week`` parameter is a week that has not begun."""


@bp.errorhandler(BadWeek)
def _bad_week(error: BadWeek) -> ResponseReturnValue:
    return render_template("dashboard_error.html", message=str(error)), 400


@bp.errorhandler(FutureWeek)
def _future_week(error: FutureWeek) -> ResponseReturnValue:
    """A week that has not begun (an edited address, an old bookmark): this week instead."""
    if request.method != "GET" or request.endpoint is None:
        return _bad_week(error)
    flash(str(error))
    return redirect(url_for(request.endpoint, **(request.view_args or {}),
                            week=_this_week().isoformat()), 303)


@bp.errorhandler(BadPeriod)
def _bad_period(error: Exception) -> ResponseReturnValue:
    return render_template("dashboard_error.html", message=str(error)), 400


@bp.errorhandler(FuturePeriod)
def _future_period(error: FuturePeriod) -> ResponseReturnValue:
    """A period that has not begun: the one of its kind in progress instead."""
    if request.method != "GET" or request.endpoint is None:
        return _bad_period(error)
    flash(str(error))
    args: dict[str, Any] = {**(request.view_args or {}), **error.query}
    if request.args.get("by"):  # the summary's breakdown is kept
        args["by"] = request.args["by"]
    return redirect(url_for(request.endpoint, **args), 303)


# One wording for "not yours" and "not there": a page never confirms what it hides.
REFUSED = (_l("Page not available"),
           _l("This page does not exist, or it is not part of the data you may see."))


@bp.errorhandler(403)
@bp.errorhandler(404)
def _refused(error: HTTPException) -> ResponseReturnValue:
    return render_template("dashboard_error.html", title=REFUSED[0],
                           message=REFUSED[1]), error.code or 404


@bp.after_request
def _not_kept(response: Response) -> Response:
    """Staff pages carry per-officer figures and comments: no browser or proxy keeps them
    (the Back button after signing out, a shared office PC)."""
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {"num": charts.format_number, "share": charts.format_share, "day": format_day,
            "hour_label": charts.format_hour, "category_bounds": charts.category_bounds,
            "week_label": format_week, "month_label": format_month, "weekday_name": weekday_name,
            "not_a_grade": NOT_A_GRADE, "one_week": timedelta(weeks=1),
            "first_day": date(FIRST_YEAR, 1, 1), "one_day": timedelta(days=1)}


def _this_week() -> date:
    """The Monday of the local week in progress, the last one a page can show."""
    return last_complete_week(utcnow(), settings().tz) + timedelta(weeks=1)


def _week(raw: str | None) -> date:
    """The Monday of the requested week; the last complete local week when none is given."""
    if not raw:
        return last_complete_week(utcnow(), settings().tz)
    try:
        week = parse_week(raw)
    except ValueError as error:
        raise BadWeek(str(error)) from None
    if week > _this_week():
        raise FutureWeek(_("The week of %(week)s has not come yet; this is the week in "
                           "progress instead.", week=format_week(week)))
    return week


def _visible_unit(code: str) -> Unit:
    # Only what could be a code reaches the database (a NUL byte upsets PostgreSQL).
    unit = unit_by_code(db_session(), code) if CODE_PATTERN.fullmatch(code) else None
    # Another unit's page answers as a unit that does not exist: no code is confirmed.
    if unit is None or not can_view_unit(db_session(), staff(), unit.id):
        abort(404)
    return unit


def _trend_chart(trend: tuple[TrendPoint, ...], title: str, *, officer: bool = False
                 ) -> Markup:
    points = [(f"{p.week_start:%d/%m}", float(p.ikm) if p.ikm is not None else None)
              for p in trend]
    known = [p for p in trend if p.ikm is not None]
    desc = (ngettext("%(title)s: %(known)d of %(num)d week with data",
                     "%(title)s: %(known)d of %(num)d weeks with data", len(trend),
                     title=title, known=len(known))
            + (_("; the last week %(value)s", value=charts.format_number(known[-1].ikm))
               if known else "")
            + _(". The details are in the table beside the chart."))
    if officer:
        return charts.trend_line(points, title, desc, bands=False, axis_label=_("IKM scale"))
    return charts.trend_line(points, title, desc)


def _element_chart(elements: Sequence[ElementScore], title: str) -> Markup:
    nrr = {e.code: float(e.exact) if e.exact is not None else None for e in elements}
    weakest = [e.code for e in elements if e.weakest]
    names = {e.code: e.name for e in elements}
    desc = _("Average score (NRR) of the nine elements on a scale of 1–4. Weakest: %(weakest)s.",
             weakest=", ".join(f"{c} {names[c]}" for c in weakest) or _("no data"))
    return charts.element_bars(nrr, weakest, title, desc, names=names)


def _period() -> SummaryPeriod:
    """The period asked for (``period=``, ``from=``/``to=`` for heads and administrators,
    or the older ``week=``); the last complete local week when none is given."""
    return requested_period(
        request.args.to_dict(), today=utcnow().astimezone(settings().tz).date(),
        allow_range=staff().role in ("admin", "unit_head"),
        default=SummaryPeriod.of("week", last_complete_week(utcnow(), settings().tz)))


def _unit_page(unit: Unit, period: SummaryPeriod, by: str) -> ResponseReturnValue:
    back_office = staff().role in ("admin", "unit_head")
    report_label = period_start("quarter", period.first)
    return render_unit_summary(unit, period, by=by, this_week=_this_week(), now=utcnow(), extra={
        "report_form": ReportForm(formdata=None, data={
            "period": period_name("quarter", report_label), "format": "pdf"}),
        "report_periods": _report_periods(period.first), "signs_reports": back_office,
        "comments_url": _comments_url(unit, period)})


def _comments_url(unit: Unit, period: SummaryPeriod) -> str | None:
    """The comments page of the period, once it exists."""
    if "dashboard.comments" not in current_app.view_functions:
        return None
    return url_for("dashboard.comments", code=unit.code,
                   **period.query_args())  # type: ignore[arg-type]  # (str values)


def _officer_page(summary: OfficerSummary, *, own: bool) -> ResponseReturnValue:
    title = _("Average of the last 12 weeks (IKM scale; only weeks with enough responses)")
    return render_template(
        "dashboard_officer.html", o=summary, own=own,
        charts={"trend": _trend_chart(summary.trend, title, officer=True),
                "elements": _element_chart(summary.elements, _("NRR per service element"))},
        current_week=_this_week())


@bp.get("/")
@staff_required()
def home() -> ResponseReturnValue:
    """Send each role to where it starts: its unit, its own feedback, or the unit list."""
    user = staff()
    if user.role == "officer":
        return redirect(url_for("dashboard.me"))
    if user.role == "unit_head" and user.unit is not None:
        return redirect(url_for("dashboard.unit_week", code=user.unit.code))
    return redirect(url_for("dashboard.units"))


def _units_chart(comparison: UnitComparison) -> Markup:
    def value(number: Decimal | None) -> float | None:
        return float(number) if number is not None else None

    rows = [(line.unit.name, value(line.index.ikm), value(line.index.low),
             value(line.index.high)) for line in comparison.lines]
    regency = comparison.regency
    reference = ((float(regency.low), float(regency.high))
                 if regency is not None and regency.low is not None and regency.high is not None
                 else None)
    desc = ngettext("%(num)d unit in the order of the names, each IKM with its 95%% interval.",
                    "%(num)d units in the order of their names, each IKM with its 95%% "
                    "interval.", len(rows))
    if reference is not None:
        desc += " " + _("The shaded band is the regency's interval, %(low)s to %(high)s.",
                        low=charts.format_number(reference[0]),
                        high=charts.format_number(reference[1]))
    return charts.interval_rows(
        rows, _("IKM per unit with its %(share)s interval", share=charts.format_share(0.95)),
        desc + " " + _("The figures are in the table below the chart."), reference=reference,
        reference_label=_("Shaded: the regency's interval") if reference else "")


@bp.get("/units")
@staff_required("admin", "viewer", "unit_head")
def units() -> ResponseReturnValue:
    """The units this user may see side by side over a period, ordered by name: each one's
    IKM with its 95 % interval and n; for administrators the regency's too, and which units
    lie wholly below it."""
    user, session = staff(), db_session()
    today = utcnow().astimezone(settings().tz).date()
    back_office = user.role in ("admin", "unit_head")
    period = requested_period(
        request.args.to_dict(), today=today, allow_range=back_office,
        default=SummaryPeriod.of("week", last_complete_week(utcnow(), settings().tz)))
    comparison = compare_units(session, unit_scope(session, user), period,
                               min_n=unit_scores_from(user, settings().officer_min_n),
                               with_regency=user.role == "admin",
                               no_subtraction=not sees_officer_detail(user))
    return render_template("dashboard_units.html", c=comparison, chart=_units_chart(comparison),
                           nav=period_nav("dashboard.units", period, today),
                           can_range=back_office)


@bp.get("/units/<code>")
@staff_required("admin", "viewer", "unit_head")
def unit_week(code: str) -> ResponseReturnValue:
    """A unit's summary of any period (``?period=2026-W48|2026-11|2026-Q4|2026-S2|2026``,
    ``?from=&to=`` for heads and administrators, ``?week=`` any day of a week; default the
    last full week), one breakdown at a time (``?by=``)."""
    unit = _visible_unit(code)
    by = request.args.get("by") or BREAKDOWNS[0]
    if by not in BREAKDOWNS:
        raise BadWeek(_("Choose one of the breakdowns offered on the page."))
    return _unit_page(unit, _period(), by)


@bp.route("/units/<code>/served", methods=["GET", "POST"])
@staff_required("admin", "unit_head")
def served(code: str) -> ResponseReturnValue:
    """The old monthly form's address: people served are now entered per counter and day
    in the back office, where this sends the unit's week."""
    unit = _visible_unit(code)
    week = _week(request.values.get("week"))
    return redirect(url_for("admin.served", unit=unit.code, week=week.isoformat()), 303)


@bp.get("/officers/<int(max=2147483647):officer_id>")
@staff_required()
def officer(officer_id: int) -> ResponseReturnValue:
    """One officer's feedback: for that officer, their unit head and administrators only."""
    found = db_session().get(Officer, officer_id)
    if found is None or not can_view_officer(db_session(), staff(), found):
        abort(404)
    week = _week(request.args.get("week"))
    summary = officer_summary(db_session(), found.id, week,
                              officer_min_n=settings().officer_min_n, tz=settings().tz)
    return _officer_page(summary, own=staff().officer_id == found.id)


@bp.get("/me")
@staff_required()
def me() -> ResponseReturnValue:
    """The signed-in officer's own feedback, under the same fairness rules."""
    officer_id = staff().officer_id
    if officer_id is None:
        abort(404)
    week = _week(request.args.get("week"))
    summary = officer_summary(db_session(), officer_id, week,
                              officer_min_n=settings().officer_min_n, tz=settings().tz)
    return _officer_page(summary, own=True)


# The SKM report -------------------------------------------------------------------------------


def _stripped(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


class ReportForm(FlaskForm):  # type: ignore[misc]  # (Flask-WTF ships no type information)
    """Which SKM report to download: a GET form that changes nothing (no CSRF)."""

    class Meta:
        csrf = False

    period = StringField(_l("Period"), filters=[_stripped],
                         render_kw={"list": "report-periods", "size": 10}, validators=[
        DataRequired(_l("Enter a period, for example 2026-Q4.")),
        Length(max=16, message=_l("A period has at most %(max)d characters."))])
    format = SelectField(_l("Format"), choices=[SelectChoice("pdf", "PDF"),
                                                  SelectChoice("xlsx", "XLSX")],
                         validate_choice=False, validators=[
                             DataRequired(_l("Choose PDF or XLSX.")),
                             AnyOf(tuple(FORMATS), message=_l("Choose PDF or XLSX."))])
    version = SelectField(_l("Version"), choices=[
        SelectChoice("signed", _l("Signed: with the head's name and NIP")),
        SelectChoice("public", _l("Public: without the signature block"))],
        validate_choice=False, validators=[Optional(), AnyOf(
            ("signed", "public"), message=_l("Choose the signed or the public version."))])

    def validate_period(self, field: Field) -> None:
        try:
            report_period(field.data or "")
        except ReportError as error:
            raise ValidationError(error.text()) from None


def _report_periods(week: date) -> list[str]:
    """Periods offered beside the report form: those holding ``week`` and the ones before."""
    names = []
    for kind in ("quarter", "month", "semester", "year"):
        label = period_start(kind, week)
        names += [period_name(kind, label), period_name(kind, previous_period(kind, label))]
    return names


@bp.get("/units/<code>/report")
@staff_required("admin", "viewer", "unit_head")
def report(code: str) -> ResponseReturnValue:
    """A unit's SKM report as PDF or XLSX (``?period=2026-Q4&format=pdf&version=``): the
    signed version for unit heads and administrators, the public one (no name or NIP,
    from OFFICER_MIN_N responses) for viewers and on request."""
    unit = _visible_unit(code)
    if not request.args:  # the bare address (a bookmark): the form that fills it in
        return redirect(url_for("dashboard.unit_week", code=unit.code, _anchor="laporan"), 303)
    form = ReportForm(formdata=request.args)
    if not form.validate():
        message = next(iter(form.errors.values()))[0]
        return render_template("dashboard_error.html", title=_("The report cannot be made"),
                               message=message), 400
    viewer = staff().role == "viewer"
    if viewer and form.version.data == "signed":
        abort(403)
    public = viewer or form.version.data == "public"
    kind, label = report_period(form.period.data)
    try:
        made = build_report(db_session(), unit, kind, label, now=utcnow(), tz=settings().tz,
                            public=public, min_n=settings().officer_min_n if public else 0)
    except NoData as error:
        return render_template("dashboard_error.html", title=_("The report cannot be made"),
                               message=error.text()), 404
    chosen = FORMATS[form.format.data]
    return send_file(BytesIO(chosen.render(made, current_locale())),
                     mimetype=chosen.media_type, as_attachment=True,
                     download_name=filename(made, form.format.data))
