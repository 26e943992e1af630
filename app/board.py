"""Today's board for a unit head: who is on duty at each counter and since when, counters
open without anyone, and officers the roster plans elsewhere than where they are."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.duty import rostered_officers
from app.models import Assignment, Counter, Officer, OpeningHours, Unit


@dataclass(frozen=True)
class OnDuty:
    """An officer on duty at a counter since a local time."""

    officer: Officer
    since: datetime  # local time


@dataclass(frozen=True)
class CounterNow:
    """One active counter: who is on duty, and who the roster plans there now."""

    counter: Counter
    on_duty: tuple[OnDuty, ...]
    rostered: tuple[Officer, ...]

    @property
    def unattended(self) -> bool:
        """Nobody is on duty here."""
        return not self.on_duty


@dataclass(frozen=True)
class Misplaced:
    """An officer planned at one counter but on duty at another (or, with ``at`` None, at
    none)."""

    officer: Officer
    rostered_at: Counter
    at: Counter | None


@dataclass(frozen=True)
class Board:
    """A unit's board at an instant (``now`` in local time)."""

    unit: Unit
    now: datetime
    is_open: bool
    counters: tuple[CounterNow, ...]
    elsewhere: tuple[Misplaced, ...]
    absent: tuple[Misplaced, ...]

    @property
    def open_unattended(self) -> tuple[Counter, ...]:
        """Counters without anyone on duty while the unit is open."""
        if not self.is_open:
            return ()
        return tuple(c.counter for c in self.counters if c.unattended)


def is_open(session: Session, unit_id: int, local: datetime) -> bool:
    """Whether the unit's opening hours include the local instant ``local``."""
    hours = session.get(OpeningHours, (unit_id, local.weekday()))
    moment = local.time().replace(tzinfo=None)
    return hours is not None and hours.opens <= moment < hours.closes


def today_board(session: Session, unit: Unit, now: datetime, tz: ZoneInfo) -> Board:
    """The unit's board at ``now``: every active counter with its duties open at ``now``,
    whether the unit is open, officers rostered now at one counter but on duty at another,
    and officers rostered now but on duty nowhere."""
    counters = session.scalars(select(Counter).where(
        Counter.unit_id == unit.id, Counter.active.is_(True)).order_by(Counter.code)).all()
    duties = session.scalars(
        select(Assignment).where(
            Assignment.counter_id.in_([c.id for c in counters]), Assignment.starts_at <= now,
            or_(Assignment.ends_at.is_(None), Assignment.ends_at > now))
        .order_by(Assignment.starts_at, Assignment.id)).all()
    by_counter: dict[int, list[OnDuty]] = {c.id: [] for c in counters}
    where: dict[int, Counter] = {}
    for duty in duties:
        by_counter[duty.counter_id].append(OnDuty(duty.officer, duty.starts_at.astimezone(tz)))
        where[duty.officer_id] = duty.counter
    # An officer of this unit may be on duty at a counter of another unit's (after a move).
    rows: list[CounterNow] = []
    elsewhere: list[Misplaced] = []
    absent: list[Misplaced] = []
    for counter in counters:
        planned = rostered_officers(session, counter.id, now, tz)
        rows.append(CounterNow(counter, tuple(by_counter[counter.id]), tuple(planned)))
        for officer in planned:
            at = where.get(officer.id) or _duty_counter(session, officer.id, now)
            if at is None:
                absent.append(Misplaced(officer, counter, None))
            elif at.id != counter.id:
                elsewhere.append(Misplaced(officer, counter, at))
    local = now.astimezone(tz)
    return Board(unit, local, is_open(session, unit.id, local), tuple(rows), tuple(elsewhere),
                 tuple(absent))


def _duty_counter(session: Session, officer_id: int, now: datetime) -> Counter | None:
    return session.scalars(select(Counter).join(Assignment, Assignment.counter_id == Counter.id)
                           .where(Assignment.officer_id == officer_id,
                                  Assignment.starts_at <= now,
                                  or_(Assignment.ends_at.is_(None), Assignment.ends_at > now))
                           ).first()
