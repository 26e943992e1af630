"""Local periods: days, ISO weeks (Monday to Sunday) and months cut in the configured zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

PERIOD_KINDS = ("day", "week", "month")


@dataclass(frozen=True)
class LocalPeriods:
    """The local day, week start (Monday), month start and hour of one instant."""

    day: date
    week: date
    month: date
    hour: int


def local_periods(instant: datetime, tz: ZoneInfo) -> LocalPeriods:
    """Cut an aware instant into local periods: 23:30 WIB on a Sunday is still that week."""
    if instant.tzinfo is None:
        raise ValueError("local_periods needs a timezone-aware instant")
    local = instant.astimezone(tz)
    day = local.date()
    return LocalPeriods(day, week_start(day), day.replace(day=1), local.hour)


def week_start(day: date) -> date:
    """The Monday of the ISO week containing ``day``."""
    return day - timedelta(days=day.weekday())


def period_start(kind: str, day: date) -> date:
    """The first day of the period of ``kind`` containing ``day``."""
    if kind == "day":
        return day
    if kind == "week":
        return week_start(day)
    if kind == "month":
        return day.replace(day=1)
    raise ValueError(f"unknown period kind {kind!r}")


def period_end(kind: str, start: date) -> date:
    """The first day after the period of ``kind`` starting at ``start``."""
    if kind == "day":
        return start + timedelta(days=1)
    if kind == "week":
        return start + timedelta(days=7)
    if kind == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    raise ValueError(f"unknown period kind {kind!r}")

