"""Reading stored indicators: rows for the CLI, the API and the dashboards, within a scope."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.aggregation import WAIT_COLUMNS
from app.models import Counter, Indicator, Officer, Service, SurveyVersion, Unit
from app.response_rates import counter_rates, officer_rates
from app.scoring import Category, category, krejcie_morgan, round_half_up
from app.served import months_served, next_month

NRR_PLACES = 4
DEFAULT_TZ = ZoneInfo("Asia/Jakarta")


def ikm_value(indicator: Indicator) -> Decimal | None:
    """The stored IKM as a 2-decimal Decimal."""
    if indicator.ikm_hundredths is None:
        return None
    return Decimal(indicator.ikm_hundredths) / 100


def nrr_values(indicator: Indicator) -> dict[str, float | None]:
    """NRR per element (sum / n), rounded half up to 4 decimals as the regulation's tables
    show it and the dashboards do (not float rounding: 97/32 is 3.0313, not 3.0312)."""
    return {
        f"U{i}": (float(round_half_up(Fraction(getattr(indicator, f"sum_u{i}"), indicator.n),
                                      NRR_PLACES)) if indicator.n else None)
        for i in range(1, 10)
    }


def _category_label(found: Category, locale: str) -> str:
    return found.label_en if locale == "en" else found.label_id


def indicator_rows(
    session: Session,
    scope: str,
    period: str,
    *,
    first: date | None = None,
    last: date | None = None,
    unit_ids: Collection[int] | None = None,
    officer_id: int | None = None,
    locale: str = "id",
    rates_min_n: int = 0,
    tz: ZoneInfo = DEFAULT_TZ,
) -> list[dict[str, Any]]:
    """Indicator rows whose period starts within [first, last], as plain dicts; the
    category's label in ``locale`` (the regulation's Indonesian term by default).

    ``unit_ids`` limits the rows to those units (None: all); ``officer_id`` to one officer.
    Counter and officer month rows carry their ``response_rate`` (``response_rates``),
    withheld below ``rates_min_n`` responses on the days with a count (pass
    ``auth.scores_shown_from``); ``tz`` cuts officers' duties into local days.
    """
    query = (
        select(Indicator, Unit.code, SurveyVersion.survey_id, SurveyVersion.version)
        .join(Unit, Indicator.unit_id == Unit.id)
        .join(SurveyVersion, Indicator.survey_version_id == SurveyVersion.id)
        .where(Indicator.scope == scope, Indicator.period_kind == period)
        .order_by(Indicator.period_start, Unit.code, Indicator.scope_id)
    )
    if first:
        query = query.where(Indicator.period_start >= first)
    if last:
        query = query.where(Indicator.period_start <= last)
    if unit_ids is not None:
        query = query.where(Indicator.unit_id.in_(list(unit_ids)))
    if officer_id is not None:
        query = query.where(Indicator.scope == "officer", Indicator.scope_id == officer_id)
    names = _scope_names(session, scope)
    rows = []
    months: dict[tuple[int, date], list[dict[str, Any]]] = {}  # unit-month rows, per version
    rated: dict[tuple[int, date], list[tuple[int, dict[str, Any]]]] = {}  # counter/officer
    for ind, unit_code, survey_id, version in session.execute(query):
        ikm = ikm_value(ind)
        row: dict[str, Any] = {"scope": scope, "unit": unit_code}
        if scope != "unit":
            row[scope] = names.get(ind.scope_id)
        row.update(
            period=period,
            period_start=ind.period_start.isoformat(),
            survey=f"{survey_id}/{version}",
            n=ind.n,
            ikm=float(ikm) if ikm is not None else None,
            category=ind.category,
            category_label=_category_label(category(ikm), locale) if ikm is not None else None,
            nrr=nrr_values(ind),
            wait_bands={code: getattr(ind, column) for code, column in WAIT_COLUMNS.items()},
            measured={"n": ind.measured_n, "median": ind.measured_median,
                      "p90": ind.measured_p90,
                      "within_60": (round(ind.measured_within_60 / ind.measured_n, 4)
                                    if ind.measured_n else None)},
            flagged=ind.flagged,
            comments=ind.comments,
        )
        rows.append(row)
        if scope == "unit" and period == "month":
            months.setdefault((ind.unit_id, ind.period_start), []).append(row)
        if scope in ("counter", "officer") and period == "month":
            rated.setdefault((ind.unit_id, ind.period_start), []).append((ind.scope_id, row))
    if months:
        _add_sample_adequacy(session, months)
    for (unit_id, month), scoped in rated.items():
        last_day = next_month(month) - timedelta(days=1)
        rates = (counter_rates(session, unit_id, month, last_day, min_n=rates_min_n)
                 if scope == "counter" else
                 officer_rates(session, unit_id, month, last_day, tz=tz, min_n=rates_min_n))
        for scope_id, row in scoped:
            rate = rates.get(scope_id)
            row["response_rate"] = rate.as_json() if rate is not None else {
                "served": None, "responses": None, "rate": None}
    return rows


def _add_sample_adequacy(session: Session,
                         months: dict[tuple[int, date], list[dict[str, Any]]]) -> None:
    """Give each unit-month row its sample: the people served that month (the sum of its
    counts per counter and day, ``served.months_served``), the Krejcie-Morgan size for
    them, and whether the month's responses (all survey versions together) reach it.
    Unknown without a served count."""
    served = months_served(session, months)
    for key, month_rows in months.items():
        people = served.get(key)
        required = krejcie_morgan(people) if people else None
        total = sum(row["n"] for row in month_rows)
        sample = {"served": people, "required": required,
                  "adequate": total >= required if required is not None else None}
        for row in month_rows:
            row["sample"] = sample


def _scope_names(session: Session, scope: str) -> dict[int, str]:
    """How a scope id appears in output: counter/service code, officer NIP (back office)."""
    if scope == "counter":
        return {row[0]: row[1] for row in session.execute(select(Counter.id, Counter.code))}
    if scope == "service":
        return {row[0]: row[1] for row in session.execute(select(Service.id, Service.code))}
    if scope == "officer":
        return {row[0]: row[1] for row in session.execute(select(Officer.id, Officer.nip))}
    return {}
