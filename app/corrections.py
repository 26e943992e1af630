"""Duty corrections: a unit head fixes a duty afterwards (a forgotten check-in, a swap, a wrong
end), the responses of the corrected interval are attributed again, and the officer buckets
they leave or join are marked stale for the next incremental aggregation.

Re-attribution follows ``app.duty.attribute`` with the corrected duties. A response whose
citizen picked an officer keeps the pick while that officer is still on duty then
('picked'). A response whose officer changes because of a duty gets ``'correction'``: a
duty entered or changed afterwards now says who served. One whose officer changes for
another reason keeps the rule's own source ('roster' when the roster decides, 'none' when
nobody does). A response whose officer stays keeps its stored source.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload

from app import audit
from app.duty import attribute
from app.models import Assignment, Counter, Officer, Response, StaleBucket
from app.rosters import FieldError, check_officer_for_counter

DUTY_FIELDS = ("officer_id", "counter_id", "starts_at", "ends_at", "source")


@dataclass(frozen=True)
class Reattribution:
    """What a correction changed in the responses: how many were looked at, how many now
    count for another officer, and the (officer, local day) buckets marked stale."""

    examined: int
    moved: int
    stale: frozenset[tuple[int, date]]


def _check_times(starts_at: datetime, ends_at: datetime | None, now: datetime) -> None:
    if starts_at > now:
        raise FieldError("starts_at", _l("A correction cannot start in the future."))
    if ends_at is not None:
        if ends_at <= starts_at:
            raise FieldError("ends_at", _l("The duty must end after it starts."))
        if ends_at > now:
            raise FieldError("ends_at", _l("A correction cannot end in the future."))


def _check_no_overlap(session: Session, officer: Officer, starts_at: datetime,
                      ends_at: datetime | None, exclude_id: int | None = None) -> None:
    """One officer is never on duty at two counters at once (the database refuses it too;
    checking first gives a clear message)."""
    conditions = [Assignment.officer_id == officer.id,
                  or_(Assignment.ends_at.is_(None), Assignment.ends_at > starts_at)]
    if ends_at is not None:
        conditions.append(Assignment.starts_at < ends_at)
    if exclude_id is not None:
        conditions.append(Assignment.id != exclude_id)
    clash = session.scalars(select(Assignment).where(*conditions)).first()
    if clash is not None:
        raise FieldError("officer", _l(
            "%(officer)s is already on duty at %(counter)s in that time.",
            officer=officer.name, counter=clash.counter.name))


def reattribute(session: Session, counter_id: int, starts_at: datetime,
                ends_at: datetime | None, *, tz: ZoneInfo, now: datetime) -> Reattribution:
    """Attribute again every response of the counter created in [starts_at, ends_at) (until
    ``now`` when open) with the duties as they now stand, and mark the officer buckets they
    leave or join stale (marked at ``now``). Flushes."""
    until = ends_at if ends_at is not None else now
    responses = session.scalars(select(Response).where(
        Response.counter_id == counter_id, Response.created_at >= starts_at,
        Response.created_at < until).order_by(Response.id)).all()
    stale: set[tuple[int, date]] = set()
    moved = 0
    for response in responses:
        picked = response.officer_id if response.attribution == "picked" else None
        decided = attribute(session, counter_id, response.created_at, tz,
                            picked_officer_id=picked)
        if decided.officer_id == response.officer_id:
            continue
        for officer_id in (response.officer_id, decided.officer_id):
            if officer_id is not None:
                stale.add((officer_id, response.local_day))
        response.officer_id = decided.officer_id
        response.attribution = "correction" if decided.source == "checkin" else decided.source
        moved += 1
    for officer_id, day in sorted(stale):
        session.add(StaleBucket(scope="officer", scope_id=officer_id, day=day, marked_at=now))
    session.flush()
    return Reattribution(len(responses), moved, frozenset(stale))


def _span(*bounds: tuple[datetime, datetime | None]) -> tuple[datetime, datetime | None]:
    """The smallest interval covering every (start, end); None ends it openly."""
    starts = min(start for start, _ in bounds)
    ends = [end for _, end in bounds]
    return starts, None if any(end is None for end in ends) else max(e for e in ends if e)


def _audit(session: Session, action: str, duty_id: int, before: dict[str, object] | None,
           after: dict[str, object] | None, result: Reattribution) -> None:
    extra = {"responses_examined": result.examined, "responses_moved": result.moved}
    audit.record(session, action, "assignment", duty_id, before=before,
                 after={**(after or {}), **extra})


def add_duty(session: Session, officer: Officer, counter: Counter, starts_at: datetime,
             ends_at: datetime | None, *, tz: ZoneInfo, now: datetime
             ) -> tuple[Assignment, Reattribution]:
    """Record a forgotten duty (source 'correction') and attribute its interval again."""
    check_officer_for_counter(officer, counter)
    _check_times(starts_at, ends_at, now)
    _check_no_overlap(session, officer, starts_at, ends_at)
    duty = Assignment(officer=officer, counter=counter, starts_at=starts_at, ends_at=ends_at,
                      source="correction")
    session.add(duty)
    session.flush()
    result = reattribute(session, counter.id, starts_at, ends_at, tz=tz, now=now)
    _audit(session, "duty.correction_add", duty.id, None,
           audit.snapshot(duty, DUTY_FIELDS), result)
    return duty, result


def change_duty(session: Session, duty: Assignment, *, officer: Officer, starts_at: datetime,
                ends_at: datetime | None, tz: ZoneInfo, now: datetime) -> Reattribution:
    """Change a duty's officer (a swap) or times; the old and the new interval are both
    attributed again."""
    if officer.id != duty.officer_id:
        check_officer_for_counter(officer, duty.counter)
    _check_times(starts_at, ends_at, now)
    _check_no_overlap(session, officer, starts_at, ends_at, exclude_id=duty.id)
    before = audit.snapshot(duty, DUTY_FIELDS)
    old = (duty.starts_at, duty.ends_at)
    duty.officer, duty.starts_at, duty.ends_at = officer, starts_at, ends_at
    duty.source = "correction"
    session.flush()
    start, end = _span(old, (starts_at, ends_at))
    result = reattribute(session, duty.counter_id, start, end, tz=tz, now=now)
    _audit(session, "duty.correction_change", duty.id, before,
           audit.snapshot(duty, DUTY_FIELDS), result)
    return result


def end_duty(session: Session, duty: Assignment, at: datetime, *, tz: ZoneInfo,
             now: datetime) -> Reattribution:
    """End a duty at ``at`` (an open one, or one that ended too late)."""
    if at <= duty.starts_at:
        raise FieldError("ends_at", _l("The duty must end after it starts."))
    if at > now:
        raise FieldError("ends_at", _l("A correction cannot end in the future."))
    if duty.ends_at is not None and at >= duty.ends_at:
        raise FieldError("ends_at", _l("The duty already ends earlier."))
    before = audit.snapshot(duty, DUTY_FIELDS)
    old_end = duty.ends_at
    duty.ends_at = at
    duty.source = "correction"
    session.flush()
    result = reattribute(session, duty.counter_id, at, old_end, tz=tz, now=now)
    _audit(session, "duty.correction_end", duty.id, before,
           audit.snapshot(duty, DUTY_FIELDS), result)
    return result


def remove_duty(session: Session, duty: Assignment, *, tz: ZoneInfo, now: datetime
                ) -> Reattribution:
    """Remove a duty recorded by mistake; its interval is attributed again without it (a
    duty is a record of who was there, not something responses hang on: they keep their
    own officer column)."""
    before = audit.snapshot(duty, DUTY_FIELDS)
    duty_id, counter_id, span = duty.id, duty.counter_id, (duty.starts_at, duty.ends_at)
    session.delete(duty)
    session.flush()
    result = reattribute(session, counter_id, span[0], span[1], tz=tz, now=now)
    _audit(session, "duty.correction_remove", duty_id, before, None, result)
    return result


def duties_of_unit_on(session: Session, unit_id: int, starts_at: datetime, ends_at: datetime
                      ) -> list[Assignment]:
    """The duties at a unit's counters overlapping [starts_at, ends_at), earliest first."""
    return list(session.scalars(
        select(Assignment).join(Counter, Counter.id == Assignment.counter_id)
        .where(Counter.unit_id == unit_id, Assignment.starts_at < ends_at,
               or_(Assignment.ends_at.is_(None), Assignment.ends_at > starts_at))
        # The page names each duty's officer and counter: loaded with it, not one by one.
        .options(joinedload(Assignment.officer), joinedload(Assignment.counter))
        .order_by(Assignment.starts_at, Assignment.id)))
