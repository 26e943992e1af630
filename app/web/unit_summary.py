"""The unit head's summary page of any period: what the dashboard's unit view renders."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask import render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from markupsafe import Markup
from sqlalchemy import select

from app import charts
from app.auth import scores_shown_from, sees_officer_detail, viewable_officers
from app.extensions import db_session, settings
from app.head_summary import HeadSummary, head_summary
from app.kiosks import alerts as kiosk_alerts_of
from app.models import Officer, Unit
from app.periods import period_name, period_start, previous_period
from app.refs import UnitRef
from app.response_rates import counter_rates, officer_rates
from app.summary import comments_between, format_span
from app.summary_period import RANGE, SUMMARY_KINDS, SummaryPeriod
from app.web.auth import staff
from app.web.period_nav import KIND_LABELS, period_title

PREVIOUS_LABELS = {"week": _l("the previous week"), "month": _l("the previous month"),
                   "quarter": _l("the previous quarter"),
                   "semester": _l("the previous semester"), "year": _l("the previous year"),
                   RANGE: _l("the same number of days before")}
# The breakdowns the page shows one at a time (``?by=``), so that a phone is not 8,000 px.
BREAKDOWNS = ("element", "counter", "service", "profile", "officer", "wait")
BREAKDOWN_LABELS = {"element": _l("Elements"), "counter": _l("Counters"),
                    "service": _l("Services"), "profile": _l("Respondents"),
                    "officer": _l("Officers"), "wait": _l("Waits by day and hour")}
COMMENT_PREVIEW = 5


def switch_to(period: SummaryPeriod, kind: str) -> SummaryPeriod:
    """The period of ``kind`` holding the period's last Thursday (the week, month, quarter
    … that its last week counts toward)."""
    anchor = period.last - timedelta(days=3) if period.last.weekday() == 6 else period.last
    return SummaryPeriod.of(kind, anchor)


def _trend_chart(summary: HeadSummary) -> Markup:
    points = [(_point_label(summary.period.kind, p.label),
               float(p.ikm) if p.ikm is not None else None) for p in summary.trend]
    known = [p for p in summary.trend if p.ikm is not None]
    title = _("IKM over the last %(num)d periods", num=len(summary.trend))
    desc = (ngettext("%(known)d of %(num)d period with data",
                     "%(known)d of %(num)d periods with data", len(summary.trend),
                     known=len(known))
            + (_("; the last %(value)s", value=charts.format_number(known[-1].ikm))
               if known else "")
            + _(". The details are in the table beside the chart."))
    return charts.trend_line(points, title, desc)


def _point_label(kind: str, label: date) -> str:
    if kind in ("week", RANGE):
        return f"{label:%d/%m}"
    return period_name(kind, label)


def _periods_offered(period: SummaryPeriod) -> list[str]:
    """Period names offered in the form's list: those around the one shown."""
    names = []
    for kind in SUMMARY_KINDS:
        label = period_start(kind, period.first)
        names += [period_name(kind, label), period_name(kind, previous_period(kind, label))]
    return names


def render_unit_summary(unit: Unit, period: SummaryPeriod, *, by: str, this_week: date,
                        now: datetime, extra: dict[str, Any]) -> ResponseReturnValue:
    """Render the summary of ``unit`` over ``period`` for the signed-in reader at ``now``."""
    user, session = staff(), db_session()
    officer_detail = sees_officer_detail(user)
    back_office = user.role in ("admin", "unit_head")
    today = now.astimezone(settings().tz).date()
    summary = head_summary(session, UnitRef(unit.id, unit.code, unit.name), period,
                           officer_min_n=settings().officer_min_n,
                           officer_detail=officer_detail, today=today, show_due=back_office)
    if by == "officer" and not officer_detail:
        by = "element"
    linked = viewable_officers(session, user, dict(session.execute(
        select(Officer.id, Officer.unit_id).where(
            Officer.id.in_(sorted(row.officer_id for row in summary.officers)))).all()))
    comments = comments_between(session, settings().tz, unit_id=unit.id, first=period.first,
                                last=period.last, limit=COMMENT_PREVIEW,
                                with_scores=officer_detail, with_place=officer_detail)
    kiosk_alerts = kiosk_alerts_of(session, [unit.id], now=now, tz=settings().tz) \
        if back_office else []
    min_n = settings().officer_min_n
    rates = counter_rates(session, unit.id, period.first, period.last,
                          min_n=scores_shown_from("counter", min_n)) if by == "counter" else {}
    people = (officer_rates(session, unit.id, period.first, period.last, tz=settings().tz,
                            min_n=scores_shown_from("officer", min_n))
              if by == "officer" and officer_detail else {})
    return render_template(
        "dashboard_unit.html", s=summary, by=by, breakdowns=[
            b for b in BREAKDOWNS if b != "officer" or officer_detail],
        breakdown_labels=BREAKDOWN_LABELS, kind_labels=KIND_LABELS,
        previous_label=PREVIOUS_LABELS[period.kind], kinds=SUMMARY_KINDS,
        title=period_title(period), switch_to=switch_to, period_title=period_title,
        trend_chart=_trend_chart(summary), comments=comments, linked=linked,
        show_officers=officer_detail, back_office=back_office, allow_range=back_office,
        in_progress=period.last >= today, last_allowed=this_week + timedelta(days=6),
        can_go_next=period.next().first <= this_week + timedelta(days=6),
        kiosk_alerts=kiosk_alerts, tz=settings().tz, today=today,
        periods_offered=_periods_offered(period),
        health_unit=unit.kind == "puskesmas", counter_rates=rates, officer_rates=people,
        wait_chart=charts.heat_grid(summary.grid) if by == "wait" else None,
        format_span=format_span, **extra)
