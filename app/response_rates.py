"""Response rates: responses ÷ people served, per counter and per officer, over a period."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.models import Assignment, Counter, Response
from app.served import Key, counter_days, responses_per_counter_day


@dataclass(frozen=True)
class Rate:
    """Responses against people served; ``shown`` False below the small-sample minimum
    (``auth.scores_shown_from``), and then no figure is given at all."""

    responses: int
    served: Fraction
    shown: bool

    @property
    def rate(self) -> float | None:
        """The share of people served who answered (None: hidden, or nobody served)."""
        if not self.shown or self.served <= 0:
            return None
        return float(Fraction(self.responses) / self.served)

    def as_json(self) -> dict[str, object]:
        """The API's form: people served (rounded for an officer's share) and the rate."""
        if not self.shown:
            return {"served": None, "responses": None, "rate": None}
        return {"served": round(self.served), "responses": self.responses,
                "rate": round(self.rate, 4) if self.rate is not None else None}


def _unit_counters(session: Session, unit_id: int) -> list[int]:
    return list(session.scalars(select(Counter.id).where(Counter.unit_id == unit_id)))


def counter_rates(session: Session, unit_id: int, first: date, last: date, *, min_n: int
                  ) -> dict[int, Rate]:
    """Each counter of the unit with people counted between ``first`` and ``last``: its
    unflagged responses on the days that have a count ÷ the people served on them (days
    without a count take no part, so a missing count does not inflate the rate)."""
    counters = _unit_counters(session, unit_id)
    counts = counter_days(session, counters, first, last)
    answered = responses_per_counter_day(session, counters, first, last)
    served: dict[int, int] = defaultdict(int)
    responses: dict[int, int] = defaultdict(int)
    for (counter_id, day), count in counts.items():
        served[counter_id] += count
        responses[counter_id] += answered.get((counter_id, day), 0)
    return {counter_id: Rate(responses[counter_id], Fraction(total),
                             responses[counter_id] >= min_n)
            for counter_id, total in served.items()}


def _duty_shares(day: date, duties: list[tuple[int, datetime, datetime | None]],
                 tz: ZoneInfo) -> dict[int, Fraction]:
    """Each officer's share (summing to 1) of a counter's day, from their duties.

    People are taken to arrive evenly over the time when someone was on duty; while
    several officers were on duty at once, the people of that time are split evenly
    between them."""
    start = datetime.combine(day, time(), tzinfo=tz)
    end = start + timedelta(days=1)
    spans = []
    for officer_id, starts_at, ends_at in duties:
        a = max(starts_at, start)
        b = min(ends_at or end, end)
        if b > a:
            spans.append((officer_id, a, b))
    edges = sorted({t for _officer, a, b in spans for t in (a, b)})
    weights: dict[int, Fraction] = defaultdict(Fraction)
    covered = Fraction(0)
    for a, b in zip(edges, edges[1:], strict=False):
        present = {officer for officer, s, e in spans if s <= a and e >= b}
        if not present:
            continue
        seconds = Fraction(int((b - a).total_seconds()))
        covered += seconds
        for officer in present:
            weights[officer] += seconds / len(present)
    return {officer: weight / covered for officer, weight in weights.items()} if covered else {}


def officer_rates(session: Session, unit_id: int, first: date, last: date, *, tz: ZoneInfo,
                  min_n: int) -> dict[int, Rate]:
    """Each officer on duty at the unit's counters between ``first`` and ``last``: their
    responses ÷ the people served at the counters and days they were on duty.

    The people a counter served on a day (``ServedDay``) are shared among the officers on
    duty there that day (``Assignment`` rows): spread evenly over the time someone was on
    duty, and split evenly between the officers when several were on duty at once (a
    doctor and a nurse at one poli each get half of that time's people). Only days with a
    count take part, and only the officer's responses on those counter-days count.
    """
    counters = _unit_counters(session, unit_id)
    counts = counter_days(session, counters, first, last)
    if not counts:
        return {}
    window_start = datetime.combine(first, time(), tzinfo=tz)
    window_end = datetime.combine(last + timedelta(days=1), time(), tzinfo=tz)
    duties: dict[int, list[tuple[int, datetime, datetime | None]]] = defaultdict(list)
    for officer_id, counter_id, starts_at, ends_at in session.execute(
            select(Assignment.officer_id, Assignment.counter_id, Assignment.starts_at,
                   Assignment.ends_at)
            .where(Assignment.counter_id.in_(counters), Assignment.starts_at < window_end,
                   or_(Assignment.ends_at.is_(None), Assignment.ends_at > window_start))):
        duties[counter_id].append((officer_id, starts_at, ends_at))
    served: dict[int, Fraction] = defaultdict(Fraction)
    for (counter_id, day), count in counts.items():
        for officer_id, share in _duty_shares(day, duties.get(counter_id, []), tz).items():
            served[officer_id] += share * count
    responses = _officer_responses(session, served, set(counts), first, last)
    return {officer_id: Rate(responses.get(officer_id, 0), people,
                             responses.get(officer_id, 0) >= min_n)
            for officer_id, people in served.items()}


def _officer_responses(session: Session, officers: Iterable[int], counted: set[Key],
                       first: date, last: date) -> dict[int, int]:
    ids = list(officers)
    if not ids:
        return {}
    totals: dict[int, int] = defaultdict(int)
    for officer_id, counter_id, day, count in session.execute(
            select(Response.officer_id, Response.counter_id, Response.local_day, func.count())
            .where(Response.officer_id.in_(ids), Response.local_day >= first,
                   Response.local_day <= last,
                   Response.unflagged())
            .group_by(Response.officer_id, Response.counter_id, Response.local_day)):
        if officer_id is not None and (counter_id, day) in counted:
            totals[officer_id] += int(count)
    return dict(totals)
