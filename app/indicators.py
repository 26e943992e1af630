"""Reading stored indicators: rows for the CLI, the API and the dashboards, within a scope."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.aggregation import METRICS, SUM_COLUMNS, WAIT_COLUMNS, nearest_ranks
from app.models import Counter, Indicator, Officer, Service, SurveyVersion, Unit, WaitMinutes
from app.periods import (
    MONTH_MULTIPLES,
    PERIOD_KINDS,
    STORED_KINDS,
    first_day,
    last_day,
    months_of,
    next_period,
    period_end,
)
from app.response_rates import counter_rates, officer_rates
from app.scoring import (
    Category,
    category,
    category_of_hundredths,
    ikm_hundredths,
    krejcie_morgan,
    round_half_up,
)
from app.served import months_served

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
    found = period_indicators(session, scope, period, first=first, last=last,
                              unit_ids=unit_ids,
                              scope_ids=[officer_id] if officer_id is not None else None)
    if officer_id is not None and scope != "officer":
        found = []
    units = {row[0]: row[1] for row in session.execute(select(Unit.id, Unit.code))}
    versions = {row[0]: (row[1], row[2]) for row in session.execute(
        select(SurveyVersion.id, SurveyVersion.survey_id, SurveyVersion.version))}
    names = _scope_names(session, scope)
    rows = []
    months: dict[tuple[int, date], list[dict[str, Any]]] = {}  # unit-period rows, per version
    rated: dict[tuple[int, date], list[tuple[int, dict[str, Any]]]] = {}  # counter/officer
    for ind in found:
        unit_code = units[ind.unit_id]
        survey_id, version = versions[ind.survey_version_id]
        ikm = ikm_value(ind)
        row: dict[str, Any] = {"scope": scope, "unit": unit_code}
        if scope != "unit":
            row[scope] = names.get(ind.scope_id)
        row.update(
            period=period,
            period_start=ind.period_start.isoformat(),
            first_day=first_day(period, ind.period_start).isoformat(),
            last_day=last_day(period, ind.period_start).isoformat(),
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
        if scope == "unit" and period in MONTH_MULTIPLES:
            months.setdefault((ind.unit_id, ind.period_start), []).append(row)
        if scope in ("counter", "officer") and period in MONTH_MULTIPLES:
            rated.setdefault((ind.unit_id, ind.period_start), []).append((ind.scope_id, row))
    if months:
        _add_sample_adequacy(session, period, months)
    for (unit_id, label), scoped in rated.items():
        days = first_day(period, label), last_day(period, label)
        rates = (counter_rates(session, unit_id, *days, min_n=rates_min_n)
                 if scope == "counter" else
                 officer_rates(session, unit_id, *days, tz=tz, min_n=rates_min_n))
        for scope_id, row in scoped:
            rate = rates.get(scope_id)
            row["response_rate"] = rate.as_json() if rate is not None else {
                "served": None, "responses": None, "rate": None}
    return rows


def _add_sample_adequacy(session: Session, kind: str,
                         periods: dict[tuple[int, date], list[dict[str, Any]]]) -> None:
    """Give each unit row of a month or longer its sample: the people served in the
    period's days (the sum of its counts per counter and day, ``served.months_served``),
    the Krejcie-Morgan size for them, and whether the period's responses (all survey
    versions together) reach it. Unknown without a served count in every month."""
    parts = {key: [(key[0], month) for month in months_of(kind, key[1])] for key in periods}
    served = months_served(session, [part for wanted in parts.values() for part in wanted])
    for key, period_rows in periods.items():
        counts = [served.get(part) for part in parts[key]]
        people = sum(c for c in counts if c is not None) if any(counts) else None
        required = krejcie_morgan(people) if people else None
        total = sum(row["n"] for row in period_rows)
        sample = {"served": people, "required": required,
                  "adequate": total >= required if required is not None else None}
        for row in period_rows:
            row["sample"] = sample


def period_indicators(session: Session, scope: str, kind: str, *,
                      first: date | None = None, last: date | None = None,
                      unit_ids: Collection[int] | None = None,
                      scope_ids: Collection[int] | None = None) -> list[Indicator]:
    """The indicators of one scope for periods of ``kind`` labelled within [first, last],
    ordered by period, unit and scope id.

    Days, weeks and months are the stored rows. A quarter, semester or year is the sum of
    its stored months (which are whole ISO weeks, app.periods), returned as Indicator
    objects that are not in the session: sums, counts and bands add up exactly, the IKM
    and category are computed from the sums as the aggregation does, and the measured
    wait's median and p90 are read from the day histograms of the period's days.
    """
    if kind not in PERIOD_KINDS:
        raise ValueError(f"unknown period kind {kind!r}")
    stored = kind in STORED_KINDS
    query = (select(Indicator).join(Unit, Indicator.unit_id == Unit.id)
             .where(Indicator.scope == scope,
                    Indicator.period_kind == (kind if stored else "month"))
             .order_by(Indicator.period_start, Unit.code, Indicator.scope_id))
    if first and stored:
        query = query.where(Indicator.period_start >= first)
    elif first:  # the months of the periods labelled on or after ``first``
        lowest = _label_of_month(kind, first)
        if lowest < first:
            lowest = next_period(kind, lowest)
        query = query.where(Indicator.period_start >= lowest)
    if last and stored:
        query = query.where(Indicator.period_start <= last)
    elif last:  # ... and on or before ``last``
        query = query.where(Indicator.period_start < next_period(kind, _label_of_month(kind, last)))
    if unit_ids is not None:
        query = query.where(Indicator.unit_id.in_(list(unit_ids)))
    if scope_ids is not None:
        query = query.where(Indicator.scope_id.in_(list(scope_ids)))
    found = list(session.scalars(query))
    if stored:
        return found
    sums: dict[tuple[date, int, int], Indicator] = {}
    for month in found:
        label = _label_of_month(kind, month.period_start)
        key = (label, month.scope_id, month.survey_version_id)
        total = sums.get(key)
        if total is None:
            sums[key] = total = Indicator(
                scope=scope, scope_id=month.scope_id, unit_id=month.unit_id, period_kind=kind,
                period_start=label, survey_version_id=month.survey_version_id,
                computed_at=month.computed_at,
                **{column: 0 for column in ADDED_COLUMNS})
        for column in ADDED_COLUMNS:
            setattr(total, column, getattr(total, column) + getattr(month, column))
        total.computed_at = max(total.computed_at, month.computed_at)
    medians = _long_percentiles(session, scope, kind, sums)
    for key, total in sums.items():
        if total.n:
            total.ikm_hundredths = ikm_hundredths(
                sum(getattr(total, column) for column in SUM_COLUMNS), total.n)
            total.category = category_of_hundredths(total.ikm_hundredths).letter
        else:
            total.ikm_hundredths = total.category = None
        total.measured_median, total.measured_p90 = medians.get(key, (None, None))
    units = {row[0]: row[1] for row in session.execute(select(Unit.id, Unit.code))}
    return sorted(sums.values(),
                  key=lambda ind: (ind.period_start, units.get(ind.unit_id, ""), ind.scope_id))


# The columns of an indicator that add up over periods (everything but the derived ones).
ADDED_COLUMNS = METRICS


def _label_of_month(kind: str, month: date) -> date:
    months = MONTH_MULTIPLES[kind]
    return date(month.year, (month.month - 1) // months * months + 1, 1)


def _long_percentiles(session: Session, scope: str, kind: str,
                      sums: dict[tuple[date, int, int], Indicator]
                      ) -> dict[tuple[date, int, int], tuple[int | None, int | None]]:
    """Median and p90 of the measured wait per summed period, from the day histograms."""
    if not sums:
        return {}
    labels = {label for label, _sid, _v in sums}
    ids = {sid for _label, sid, _v in sums}
    histograms: dict[tuple[date, int, int], dict[int, int]] = {}
    for scope_id, month, version, minute, responses in session.execute(
            select(WaitMinutes.scope_id, WaitMinutes.month, WaitMinutes.survey_version_id,
                   WaitMinutes.minute, WaitMinutes.responses)
            .where(WaitMinutes.scope == scope, WaitMinutes.scope_id.in_(sorted(ids)),
                   WaitMinutes.day >= first_day(kind, min(labels)),
                   WaitMinutes.day < period_end(kind, max(labels)))):
        key = (_label_of_month(kind, month), scope_id, version)
        if key in sums:
            minutes = histograms.setdefault(key, {})
            minutes[minute] = minutes.get(minute, 0) + responses
    return {key: nearest_ranks(minutes) for key, minutes in histograms.items()}


def _scope_names(session: Session, scope: str) -> dict[int, str]:
    """How a scope id appears in output: counter/service code, officer NIP (back office)."""
    if scope == "counter":
        return {row[0]: row[1] for row in session.execute(select(Counter.id, Counter.code))}
    if scope == "service":
        return {row[0]: row[1] for row in session.execute(select(Service.id, Service.code))}
    if scope == "officer":
        return {row[0]: row[1] for row in session.execute(select(Officer.id, Officer.nip))}
    return {}
