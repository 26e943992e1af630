"""Working days: weekdays that are neither Indonesian public holidays nor joint leave days.

The national calendar comes from the ``holidays`` package: its ``PUBLIC`` category holds the
public holidays (hari libur nasional) and its ``GOVERNMENT`` category the joint leave days
(cuti bersama) that the government sets each year by joint decree. An administrator sets days
apart in table ``calendar_days`` (an extra day off, or a day worked that the package calls a
holiday or that falls on a weekend); such an override wins over everything else.

Deadlines count whole local days (``settings.tz``, Asia/Jakarta): the day something happens
never counts, whatever the hour or whether it is a working day, so day 1 is the next working
day after it. "Within 3 working days" of a case opened on a Friday evening ends on Wednesday.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import audit
from app.models import CalendarDay
from app.org import FormRefusal, invisible_character

COUNTRY = "ID"
NATIONAL = "national"  # a public holiday (the package's PUBLIC category)
JOINT_LEAVE = "joint_leave"  # cuti bersama (the package's GOVERNMENT category)
NOTE_MAX = 200
FIRST_YEAR, LAST_YEAR = 2000, 2100  # the days an override may name
WEEKEND = (5, 6)  # Saturday, Sunday
# The package's languages for Indonesian holidays' names, by the interface's language.
LANGUAGES = {"id": "id", "en": "en_US"}
AUDITED = ("day", "working", "note")

Overrides = Mapping[date, bool]  # day -> whether it is worked, as an administrator set it


@dataclass(frozen=True)
class Holiday:
    """A day off of the national calendar: its kind (NATIONAL or JOINT_LEAVE) and name."""

    day: date
    kind: str
    name: str


# The national calendar ----------------------------------------------------------------------


@lru_cache(maxsize=32)
def _days_off(year: int) -> frozenset[date]:
    """The public holidays and joint leave days of ``year`` (the package's data is fixed for
    a given installed version, so a year is computed once per process)."""
    found = holidays.country_holidays(COUNTRY, years=year,
                                      categories=(holidays.PUBLIC, holidays.GOVERNMENT))
    return frozenset(found)


def national_holidays(year: int, language: str = "id") -> list[Holiday]:
    """The year's public holidays and joint leave days with their names in ``language`` ('id'
    or 'en'), by date; a day that is both is listed as a public holiday."""
    language = LANGUAGES.get(language, LANGUAGES["id"])
    public = holidays.country_holidays(COUNTRY, years=year, categories=(holidays.PUBLIC,),
                                       language=language)
    joint = holidays.country_holidays(COUNTRY, years=year, categories=(holidays.GOVERNMENT,),
                                      language=language)
    days = {day: Holiday(day, JOINT_LEAVE, name) for day, name in joint.items()}
    days.update({day: Holiday(day, NATIONAL, name) for day, name in public.items()})
    return [days[day] for day in sorted(days)]


def is_national_day_off(day: date) -> bool:
    """Whether the package calls ``day`` a public holiday or a joint leave day."""
    return day in _days_off(day.year)


# Counting working days ----------------------------------------------------------------------


def is_working_day(day: date, overrides: Overrides) -> bool:
    """Whether ``day`` is worked: an administrator's override if there is one, else a
    weekday that is neither a public holiday nor a joint leave day."""
    if day in overrides:
        return overrides[day]
    return day.weekday() not in WEEKEND and not is_national_day_off(day)


def add_working_days(start: date, n: int, overrides: Overrides) -> date:
    """The ``n``-th working day after ``start`` (``start`` itself never counts; ``n`` 0 is
    ``start``): the last day of a deadline of ``n`` working days from ``start``."""
    if n < 0:
        raise ValueError("n must be 0 or more working days")
    day = start
    while n:
        day += timedelta(days=1)
        if is_working_day(day, overrides):
            n -= 1
    return day


def working_days_between(a: date, b: date, overrides: Overrides) -> int:
    """The working days after ``a`` up to and including ``b`` (negative when ``b`` is before
    ``a``), so that ``working_days_between(a, add_working_days(a, n, o), o) == n``."""
    if b < a:
        return -working_days_between(b, a, overrides)
    return sum(is_working_day(a + timedelta(days=i), overrides)
               for i in range(1, (b - a).days + 1))


def local_day(at: datetime, tz: ZoneInfo) -> date:
    """The local day of an instant (timezone-aware), where deadlines are counted."""
    if at.tzinfo is None:
        raise ValueError("a deadline's instant must be timezone-aware")
    return at.astimezone(tz).date()


def deadline(at: datetime, n: int, overrides: Overrides, tz: ZoneInfo) -> date:
    """The last day (local) of a deadline of ``n`` working days from the instant ``at``;
    it is missed once that day has ended in ``tz``."""
    return add_working_days(local_day(at, tz), n, overrides)


# The administrator's days -------------------------------------------------------------------


def overrides(session: Session, first: date, last: date | None = None) -> dict[date, bool]:
    """The administrator's days from ``first`` to ``last`` inclusive (no end when ``last`` is
    None: the table holds a handful of days a year, and a deadline's end is not known before
    it is counted)."""
    query = select(CalendarDay.day, CalendarDay.working).where(CalendarDay.day >= first)
    if last is not None:
        query = query.where(CalendarDay.day <= last)
    return {day: working for day, working in session.execute(query)}


def calendar_days(session: Session, year: int) -> list[CalendarDay]:
    """The administrator's days of ``year``, by date."""
    return list(session.scalars(select(CalendarDay).where(
        CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
        .order_by(CalendarDay.day)))


def check_note(note: str) -> str:
    """The note, stripped; refused (FormRefusal on 'note') when empty, too long or holding a
    control or invisible character."""
    note = note.strip()
    if not note:
        raise FormRefusal(_l("Say why, e.g. the regency's anniversary."), "note")
    if len(note) > NOTE_MAX:
        raise FormRefusal(_l("A note has at most %(max)d characters.", max=NOTE_MAX), "note")
    if invisible_character(note):
        raise FormRefusal(_l("The note contains an invisible or control character."), "note")
    return note


def set_day(session: Session, day: date, working: bool, note: str, *, user_id: int | None,
            now: datetime) -> CalendarDay:
    """Set ``day`` apart: an extra day off (``working`` false) or an extra working day.
    Refused (FormRefusal) when the day already has an override, or would not change."""
    note = check_note(note)
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise FormRefusal(_l("Choose a day from %(first)d to %(last)d.", first=FIRST_YEAR,
                             last=LAST_YEAR), "day")
    if session.get(CalendarDay, day) is not None:
        raise FormRefusal(_l("This day is already set apart; remove it first to change it."),
                          "day")
    if is_working_day(day, {}) == working:
        raise FormRefusal(_l("This day is already a working day.") if working
                          else _l("This day is already a day off."), "day")
    row = CalendarDay(day=day, working=working, note=note, created_by=user_id, created_at=now)
    session.add(row)
    session.flush()
    audit.record(session, "calendar.add", "calendar_day", day.isoformat(),
                 after=audit.snapshot(row, AUDITED))
    return row


def remove_day(session: Session, day: date) -> CalendarDay | None:
    """Remove the administrator's override of ``day`` (the national calendar applies again);
    None when there was none."""
    row = session.get(CalendarDay, day)
    if row is None:
        return None
    before = audit.snapshot(row, AUDITED)
    session.delete(row)
    session.flush()
    audit.record(session, "calendar.remove", "calendar_day", day.isoformat(), before=before)
    return row
