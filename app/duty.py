"""Who served the citizen: duties as they happen (check-in), the planned roster, and the rule
that attributes a response to an officer.

The rule (issue 13): the officer checked in at the counter when the citizen opened the
survey; when several are, the one the citizen picked, else nobody (the counter only); when
nobody is checked in, the officer the roster plans there; else nobody. The source is stored
with the response (``Response.attribution``).

Open duties end by themselves at their unit's closing time (``close_open_duties``, run by the
scheduler every 15 minutes and by ``flask duty close-open``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload

from app import audit
from app.models import (
    Assignment,
    Counter,
    Officer,
    OpeningHours,
    RosterException,
    RosterShift,
)
from app.org import DomainError

# The staff code on the back of a poster (``Counter.checkin_token``, token_urlsafe(12)).
CHECKIN_TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,32}$")
HISTORY_PAGE_SIZE = 20


@dataclass(frozen=True)
class Attribution:
    """The officer a response counts for (None: the counter only) and where it came from:
    'picked', 'checkin', 'roster' or 'none' ('correction' is set by duty corrections)."""

    officer_id: int | None
    source: str


NOBODY = Attribution(None, "none")


def officers_on_duty(session: Session, counter_id: int, at: datetime) -> list[Officer]:
    """The officers checked in at a counter at an instant, earliest duty first."""
    return list(session.scalars(
        select(Officer).join(Assignment, Assignment.officer_id == Officer.id)
        .where(Assignment.counter_id == counter_id, Assignment.starts_at <= at,
               or_(Assignment.ends_at.is_(None), Assignment.ends_at > at))
        .order_by(Assignment.starts_at, Officer.id)))


def rostered_officers(session: Session, counter_id: int, at: datetime, tz: ZoneInfo
                      ) -> list[Officer]:
    """The officers the roster plans at a counter at an instant (local time in ``tz``), with
    the day's exceptions applied: an officer on leave is left out, a swap puts the
    substitute in the shift."""
    local = at.astimezone(tz)
    day, moment = local.date(), local.time()
    shifts = session.scalars(
        select(RosterShift).where(
            RosterShift.counter_id == counter_id, RosterShift.weekday == day.weekday(),
            RosterShift.starts <= moment, RosterShift.ends > moment,
            RosterShift.valid_from <= day,
            or_(RosterShift.valid_until.is_(None), RosterShift.valid_until >= day))
        .order_by(RosterShift.starts, RosterShift.id)).all()
    if not shifts:
        return []
    exceptions = {e.shift_id: e for e in session.scalars(select(RosterException).where(
        RosterException.day == day,
        RosterException.shift_id.in_([shift.id for shift in shifts])))}
    planned: list[Officer] = []
    for shift in shifts:
        exception = exceptions.get(shift.id)
        officer = shift.officer
        if exception is not None:
            if exception.kind == "leave":
                continue
            officer = exception.substitute or officer
        if officer.active and officer not in planned:
            planned.append(officer)
    return planned


def attribute(session: Session, counter_id: int, at: datetime, tz: ZoneInfo, *,
              picked_officer_id: int | None = None) -> Attribution:
    """The officer a response at ``counter_id`` opened at ``at`` counts for (see module)."""
    on_duty = officers_on_duty(session, counter_id, at)
    if on_duty:
        ids = [officer.id for officer in on_duty]
        if picked_officer_id in ids:
            return Attribution(picked_officer_id, "picked")
        if len(ids) == 1:
            return Attribution(ids[0], "checkin")
        return NOBODY  # several on duty and no pick: the counter only
    planned = rostered_officers(session, counter_id, at, tz)
    if len(planned) == 1:
        return Attribution(planned[0].id, "roster")
    return NOBODY


def open_duty(session: Session, officer_id: int) -> Assignment | None:
    """The officer's open duty (checked in, not yet ended), if any."""
    return session.scalars(select(Assignment).where(
        Assignment.officer_id == officer_id, Assignment.ends_at.is_(None))).first()


def check_in(session: Session, officer: Officer, counter: Counter, now: datetime, *,
             tz: ZoneInfo | None = None) -> Assignment:
    """Open the officer's duty at ``counter`` from ``now``, ending any other open duty of
    theirs first (one officer is never at two counters at once). Flushes; audited.

    With ``tz``, an open duty that outlasted its unit's closing time (the closing job had
    not run yet) ends at that closing time rather than at ``now``."""
    if not officer.active:
        raise DomainError(f"officer {officer.name} is not active")
    if not counter.active or counter.unit_id != officer.unit_id:
        raise DomainError(f"{counter.name} is not a counter of the officer's unit")
    current = open_duty(session, officer.id)
    if current is not None:
        if now <= current.starts_at:
            raise DomainError("a new duty cannot start before the open one began")
        ends_at = _capped_end(session, current, now, tz)
        if current.counter_id == counter.id and ends_at == now:
            return current  # already on duty here: checking in again changes nothing
        current.ends_at = ends_at
        session.flush()
    duty = Assignment(officer=officer, counter=counter, starts_at=now, source="checkin")
    session.add(duty)
    session.flush()
    audit.record(session, "duty.check_in", "assignment", duty.id,
                 after={"officer_id": officer.id, "counter_id": counter.id,
                        "starts_at": now.isoformat(),
                        "ended_duty_id": current.id if current is not None else None})
    return duty


def check_out(session: Session, officer: Officer, now: datetime, *,
              tz: ZoneInfo | None = None) -> Assignment | None:
    """End the officer's open duty at ``now`` (None when there was none). Flushes; audited.

    With ``tz``, a duty that outlasted its unit's closing time ends at that closing time."""
    current = open_duty(session, officer.id)
    if current is None:
        return None
    if now <= current.starts_at:
        raise DomainError("a duty cannot end before it began")
    current.ends_at = _capped_end(session, current, now, tz)
    session.flush()
    audit.record(session, "duty.check_out", "assignment", current.id,
                 after={"ends_at": current.ends_at.isoformat()})
    return current


def _capped_end(session: Session, duty: Assignment, now: datetime, tz: ZoneInfo | None
                ) -> datetime:
    """When an open duty ends if it is ended at ``now``: never past its closing instant."""
    if tz is None:
        return now
    closes = _closing_times(session, [duty.counter.unit_id]).get(duty.counter.unit_id, {})
    return min(now, duty_closes_at(duty.starts_at, closes, tz))


# Closing time: open duties end when their unit closes ------------------------------------

def duty_closes_at(starts_at: datetime, closes: Mapping[int, time], tz: ZoneInfo
                   ) -> datetime:
    """When a duty that began at ``starts_at`` ends by itself: its unit's closing time on
    the duty's local day (``closes``: weekday, 0 = Monday, to local closing time), or local
    midnight when the unit has no hours that weekday (closed, or hours not declared) or the
    duty began after closing (overtime). A duty never runs past local midnight, so an
    officer forgetting to check out is never on duty the next day."""
    local = starts_at.astimezone(tz)
    day = local.date()
    midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    closing = closes.get(day.weekday())
    if closing is not None:
        at = datetime.combine(day, closing, tzinfo=tz)
        if at > starts_at:
            return at
    return midnight


def _closing_times(session: Session, unit_ids: list[int]) -> dict[int, dict[int, time]]:
    """Each unit's closing time per weekday (units without hours are left out)."""
    closes: dict[int, dict[int, time]] = {}
    if not unit_ids:
        return closes
    for unit_id, weekday, closing in session.execute(
            select(OpeningHours.unit_id, OpeningHours.weekday, OpeningHours.closes)
            .where(OpeningHours.unit_id.in_(sorted(set(unit_ids))))):
        closes.setdefault(unit_id, {})[weekday] = closing
    return closes


def close_open_duties(session: Session, *, now: datetime, tz: ZoneInfo) -> list[Assignment]:
    """End every open duty whose unit has closed since it began, at that closing instant
    (see ``duty_closes_at``), not at ``now``. Idempotent: a closed duty is not open any
    more, and a rerun at the same or a later ``now`` closes the same duties at the same
    instants. Flushes; each closing audited as ``duty.auto_close``."""
    duties = list(session.scalars(
        select(Assignment).where(Assignment.ends_at.is_(None), Assignment.starts_at < now)
        .options(joinedload(Assignment.counter))
        .order_by(Assignment.starts_at, Assignment.id)))
    closes = _closing_times(session, [duty.counter.unit_id for duty in duties])
    closed = []
    for duty in duties:
        ends_at = duty_closes_at(duty.starts_at, closes.get(duty.counter.unit_id, {}), tz)
        if ends_at > now:
            continue
        duty.ends_at = ends_at
        closed.append(duty)
    session.flush()
    for duty in closed:
        assert duty.ends_at is not None  # noqa: S101 (just set)
        audit.record(session, "duty.auto_close", "assignment", duty.id,
                     after={"officer_id": duty.officer_id, "counter_id": duty.counter_id,
                            "ends_at": duty.ends_at.isoformat()})
    return closed


# What an officer's own pages need ----------------------------------------------------------

def counters_for_check_in(session: Session, officer: Officer) -> list[Counter]:
    """The counters an officer may check in at: the active counters of their unit."""
    return list(session.scalars(
        select(Counter).where(Counter.unit_id == officer.unit_id, Counter.active.is_(True))
        .order_by(Counter.code)))


def counter_for_officer(session: Session, officer: Officer, *, counter_id: int | None = None,
                        checkin_token: str | None = None) -> Counter | None:
    """A counter of the officer's unit where they may check in, by id or by the staff code
    of its poster; None for an unknown, inactive or foreign one (all look alike)."""
    if checkin_token is not None:
        if not CHECKIN_TOKEN_PATTERN.fullmatch(checkin_token):
            return None  # also keeps NUL bytes and oversized input off the wire
        condition = Counter.checkin_token == checkin_token
    elif counter_id is not None and 0 < counter_id < 2**31:
        condition = Counter.id == counter_id
    else:
        return None
    return session.scalars(select(Counter).where(
        condition, Counter.unit_id == officer.unit_id, Counter.active.is_(True))).first()


@dataclass(frozen=True)
class DutyHistory:
    """One page of an officer's duties, newest first."""

    duties: list[Assignment]
    page: int
    pages: int
    total: int


def duty_history(session: Session, officer_id: int, *, page: int = 1,
                 per_page: int = HISTORY_PAGE_SIZE) -> DutyHistory:
    """The officer's duties (with their counters), newest first, ``page`` counted from 1
    (clamped to the pages there are)."""
    total = session.scalar(select(func.count()).select_from(Assignment)
                           .where(Assignment.officer_id == officer_id)) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    duties = list(session.scalars(
        select(Assignment).where(Assignment.officer_id == officer_id)
        .options(joinedload(Assignment.counter))
        .order_by(Assignment.starts_at.desc(), Assignment.id.desc())
        .offset((page - 1) * per_page).limit(per_page)))
    return DutyHistory(duties, page, pages, total)
