"""Who served the citizen: duties as they happen (check-in), the planned roster, and the rule
that attributes a response to an officer.

The rule (issue 13): the officer checked in at the counter when the citizen opened the
survey; when several are, the one the citizen picked, else nobody (the counter only); when
nobody is checked in, the officer the roster plans there; else nobody. The source is stored
with the response (``Response.attribution``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app import audit
from app.models import Assignment, Counter, Officer, RosterException, RosterShift
from app.org import DomainError


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


def check_in(session: Session, officer: Officer, counter: Counter, now: datetime
             ) -> Assignment:
    """Open the officer's duty at ``counter`` from ``now``, ending any other open duty of
    theirs first (one officer is never at two counters at once). Flushes; audited."""
    if not officer.active:
        raise DomainError(f"officer {officer.name} is not active")
    if not counter.active or counter.unit_id != officer.unit_id:
        raise DomainError(f"{counter.name} is not a counter of the officer's unit")
    current = open_duty(session, officer.id)
    if current is not None and current.counter_id == counter.id:
        return current  # already on duty here: checking in again changes nothing
    if current is not None:
        if now <= current.starts_at:
            raise DomainError("a new duty cannot start before the open one began")
        current.ends_at = now
        session.flush()
    duty = Assignment(officer=officer, counter=counter, starts_at=now, source="checkin")
    session.add(duty)
    session.flush()
    audit.record(session, "duty.check_in", "assignment", duty.id,
                 after={"officer_id": officer.id, "counter_id": counter.id,
                        "starts_at": now.isoformat(),
                        "ended_duty_id": current.id if current is not None else None})
    return duty


def check_out(session: Session, officer: Officer, now: datetime) -> Assignment | None:
    """End the officer's open duty at ``now`` (None when there was none). Flushes; audited."""
    current = open_duty(session, officer.id)
    if current is None:
        return None
    if now <= current.starts_at:
        raise DomainError("a duty cannot end before it began")
    current.ends_at = now
    session.flush()
    audit.record(session, "duty.check_out", "assignment", current.id,
                 after={"ends_at": now.isoformat()})
    return current
