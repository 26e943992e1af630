"""The planned roster: a weekly pattern of shifts per counter and the day's exceptions to it
(leave, swaps), kept by the unit head. Functions take a Session first, flush, never commit,
and record every change in the audit log. A roster change applies to responses to come: a
stored response keeps its attribution (fixing the past is a duty correction's job)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app import audit
from app.models import Counter, Officer, RosterException, RosterShift, Unit
from app.org import DomainError, invisible_character

NOTE_MAX = 200
EXCEPTION_KINDS = ("leave", "swap")
SHIFT_FIELDS = ("counter_id", "officer_id", "weekday", "starts", "ends", "valid_from",
                "valid_until")
EXCEPTION_FIELDS = ("shift_id", "day", "kind", "substitute_id", "note")


class FieldError(DomainError):
    """A refused change, naming the input field at fault so a form shows the message beside
    it; the message is translated into the page's language when shown."""

    def __init__(self, field_name: str, message: Any) -> None:
        super().__init__(str(message))
        self.field = field_name
        self.message = message


def check_text(field_name: str, value: str | None, limit: int) -> str | None:
    """A free text stripped, None when empty; refuse one too long or with invisible or
    control characters (NUL, bidirectional overrides, zero-width spaces)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if len(value) > limit:
        raise FieldError(field_name, _l("At most %(limit)d characters.", limit=limit))
    if odd := invisible_character(value):
        raise FieldError(field_name, _l("Remove the invisible or control character %(char)s.",
                                        char=odd))
    return value


def check_officer_for_counter(officer: Officer, counter: Counter, field_name: str = "officer"
                              ) -> None:
    """Refuse an inactive officer or one of another unit than the counter's."""
    if not officer.active:
        raise FieldError(field_name, _l("This officer is no longer active."))
    if officer.unit_id != counter.unit_id:
        raise FieldError(field_name, _l("This officer does not belong to the counter's unit."))


def _check_shift(session: Session, counter: Counter, officer: Officer, weekday: int,
                 starts: time, ends: time, valid_from: date, valid_until: date | None,
                 exclude_id: int | None = None) -> None:
    if not counter.active:
        raise FieldError("counter", _l("This counter is no longer in use."))
    check_officer_for_counter(officer, counter)
    if weekday not in range(7):
        raise FieldError("weekday", _l("Choose a day of the week."))
    if ends <= starts:
        raise FieldError("ends", _l("The shift must end after it starts."))
    if valid_until is not None and valid_until < valid_from:
        raise FieldError("valid_until", _l("The last day cannot be before the first day."))
    clash = _clashing_shift(session, officer.id, weekday, starts, ends, valid_from,
                            valid_until, exclude_id)
    if clash is not None:
        raise FieldError("officer", _l(
            "%(officer)s is already planned at %(counter)s from %(starts)s to %(ends)s on "
            "that day.", officer=officer.name, counter=clash.counter.name,
            starts=f"{clash.starts:%H:%M}", ends=f"{clash.ends:%H:%M}"))


def _clashing_shift(session: Session, officer_id: int, weekday: int, starts: time,
                    ends: time, valid_from: date, valid_until: date | None,
                    exclude_id: int | None) -> RosterShift | None:
    """Another shift of the officer on the weekday overlapping in time and in validity."""
    conditions = [RosterShift.officer_id == officer_id, RosterShift.weekday == weekday,
                  RosterShift.starts < ends, RosterShift.ends > starts,
                  or_(RosterShift.valid_until.is_(None), RosterShift.valid_until >= valid_from)]
    if valid_until is not None:
        conditions.append(RosterShift.valid_from <= valid_until)
    if exclude_id is not None:
        conditions.append(RosterShift.id != exclude_id)
    return session.scalars(select(RosterShift).where(*conditions)
                           .order_by(RosterShift.id)).first()


def add_shift(session: Session, counter: Counter, officer: Officer, weekday: int,
              starts: time, ends: time, valid_from: date, valid_until: date | None = None
              ) -> RosterShift:
    """Plan ``officer`` at ``counter`` every ``weekday`` from ``starts`` to ``ends`` (local
    time) between ``valid_from`` and ``valid_until``. Flushes; audited."""
    _check_shift(session, counter, officer, weekday, starts, ends, valid_from, valid_until)
    shift = RosterShift(counter=counter, officer=officer, weekday=weekday, starts=starts,
                        ends=ends, valid_from=valid_from, valid_until=valid_until)
    session.add(shift)
    session.flush()
    audit.record(session, "roster.shift_add", "roster_shift", shift.id,
                 after=audit.snapshot(shift, SHIFT_FIELDS))
    return shift


def update_shift(session: Session, shift: RosterShift, *, officer: Officer, weekday: int,
                 starts: time, ends: time, valid_from: date, valid_until: date | None
                 ) -> RosterShift:
    """Change a shift's officer, day, times or validity (its counter stays). Audited."""
    _check_shift(session, shift.counter, officer, weekday, starts, ends, valid_from,
                 valid_until, exclude_id=shift.id)
    before = audit.snapshot(shift, SHIFT_FIELDS)
    shift.officer, shift.weekday, shift.starts, shift.ends = officer, weekday, starts, ends
    shift.valid_from, shift.valid_until = valid_from, valid_until
    session.flush()
    audit.record(session, "roster.shift_update", "roster_shift", shift.id, before=before,
                 after=audit.snapshot(shift, SHIFT_FIELDS))
    return shift


def end_shift(session: Session, shift: RosterShift, last_day: date) -> RosterShift:
    """End a shift after ``last_day`` (kept as history, never deleted). Audited."""
    if last_day < shift.valid_from:
        raise FieldError("last_day", _l("The last day cannot be before the first day."))
    if shift.valid_until is not None and last_day > shift.valid_until:
        raise FieldError("last_day", _l("The shift already ends earlier."))
    before = audit.snapshot(shift, SHIFT_FIELDS)
    shift.valid_until = last_day
    session.flush()
    audit.record(session, "roster.shift_end", "roster_shift", shift.id, before=before,
                 after=audit.snapshot(shift, SHIFT_FIELDS))
    return shift


def add_exception(session: Session, shift: RosterShift, day: date, kind: str,
                  substitute: Officer | None = None, note: str | None = None
                  ) -> RosterException:
    """Change the roster on one day: the shift's officer on leave, or swapped with
    ``substitute``. Flushes; audited."""
    if kind not in EXCEPTION_KINDS:
        raise FieldError("kind", _l("Choose leave or swap."))
    if day.weekday() != shift.weekday or day < shift.valid_from or (
            shift.valid_until is not None and day > shift.valid_until):
        raise FieldError("day", _l("The shift does not take place on that day."))
    note = check_text("note", note, NOTE_MAX)
    if kind == "swap":
        if substitute is None:
            raise FieldError("substitute", _l("A swap needs the substitute officer."))
        if substitute.id == shift.officer_id:
            raise FieldError("substitute",
                             _l("The substitute must be another officer than the planned one."))
        check_officer_for_counter(substitute, shift.counter, "substitute")
    elif substitute is not None:
        raise FieldError("substitute", _l("Leave has no substitute; choose swap instead."))
    existing = session.scalars(select(RosterException).where(
        RosterException.shift_id == shift.id, RosterException.day == day)).first()
    if existing is not None:
        raise FieldError("day", _l("This shift already has an exception on that day; remove "
                                   "it first."))
    exception = RosterException(shift=shift, day=day, kind=kind, substitute=substitute,
                                note=note)
    session.add(exception)
    session.flush()
    audit.record(session, "roster.exception_add", "roster_exception", exception.id,
                 after=audit.snapshot(exception, EXCEPTION_FIELDS))
    return exception


def remove_exception(session: Session, exception: RosterException) -> None:
    """Remove a day's exception (the shift's officer is planned again). Audited."""
    before = audit.snapshot(exception, EXCEPTION_FIELDS)
    exception_id = exception.id
    session.delete(exception)
    session.flush()
    audit.record(session, "roster.exception_remove", "roster_exception", exception_id,
                 before=before)


@dataclass
class CounterWeek:
    """One counter's shifts valid in a week, per weekday (0 = Monday)."""

    counter: Counter
    days: dict[int, list[RosterShift]] = field(default_factory=dict)


def unit_week(session: Session, unit: Unit, monday: date) -> list[CounterWeek]:
    """The roster of a unit's active counters for the week starting ``monday``: the shifts
    valid on each weekday's date, earliest first."""
    counters = session.scalars(select(Counter).where(
        Counter.unit_id == unit.id, Counter.active.is_(True)).order_by(Counter.code)).all()
    weeks = {c.id: CounterWeek(c, {d: [] for d in range(7)}) for c in counters}
    sunday = date.fromordinal(monday.toordinal() + 6)
    shifts = session.scalars(select(RosterShift).where(
        RosterShift.counter_id.in_(list(weeks)), RosterShift.valid_from <= sunday,
        or_(RosterShift.valid_until.is_(None), RosterShift.valid_until >= monday))
        .order_by(RosterShift.starts, RosterShift.id)).all()
    for shift in shifts:
        day = date.fromordinal(monday.toordinal() + shift.weekday)
        if shift.valid_from <= day and (shift.valid_until is None or shift.valid_until >= day):
            weeks[shift.counter_id].days[shift.weekday].append(shift)
    return list(weeks.values())


def exceptions_of(session: Session, shift_ids: list[int], monday: date
                  ) -> dict[int, list[RosterException]]:
    """The exceptions of these shifts in the week starting ``monday``, per shift."""
    found: dict[int, list[RosterException]] = {}
    if not shift_ids:
        return found
    sunday = date.fromordinal(monday.toordinal() + 6)
    for exception in session.scalars(select(RosterException).where(
            RosterException.shift_id.in_(shift_ids), RosterException.day >= monday,
            RosterException.day <= sunday).order_by(RosterException.day)):
        found.setdefault(exception.shift_id, []).append(exception)
    return found


def shifts_of_unit(session: Session, unit: Unit) -> list[RosterShift]:
    """Every shift of a unit's counters, current and ended, by counter, weekday and time."""
    return list(session.scalars(
        select(RosterShift).join(Counter, Counter.id == RosterShift.counter_id)
        .where(Counter.unit_id == unit.id)
        .order_by(Counter.code, RosterShift.weekday, RosterShift.starts, RosterShift.id)))


def parse_clock(field_name: str, value: str) -> time:
    """A local time of day written HH:MM (00:00–23:59); refuse anything else (25:00)."""
    text = value.strip()
    if len(text) == 5 and text[2] == ":" and text[:2].isdigit() and text[3:].isdigit() \
            and text.isascii():
        hour, minute = int(text[:2]), int(text[3:])
        if hour < 24 and minute < 60:
            return time(hour, minute)
    raise FieldError(field_name, _l("Enter a time of day as HH:MM, for example 07:30."))


def parse_day(field_name: str, value: str) -> date:
    """A date written YYYY-MM-DD; refuse anything else."""
    text = value.strip()
    try:
        if len(text) != 10 or not text.isascii():
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise FieldError(field_name, _l("Enter a date as YYYY-MM-DD, for example "
                                        "2026-12-07.")) from None


def units_in_scope(session: Session, scope: set[int] | None) -> list[Unit]:
    """The active units of a scope (None: all), by name."""
    query = select(Unit).where(Unit.active.is_(True)).order_by(Unit.name, Unit.id)
    if scope is not None:
        query = query.where(Unit.id.in_(sorted(scope)))
    return list(session.scalars(query))


def active_officers(session: Session, unit_id: int) -> list[Officer]:
    """A unit's active officers, by name."""
    return list(session.scalars(select(Officer).where(
        Officer.unit_id == unit_id, Officer.active.is_(True)).order_by(Officer.name)))


def active_counters(session: Session, unit_id: int) -> list[Counter]:
    """A unit's active counters, by code."""
    return list(session.scalars(select(Counter).where(
        Counter.unit_id == unit_id, Counter.active.is_(True)).order_by(Counter.code)))
