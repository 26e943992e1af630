"""People served in a unit's month: the population the Krejcie-Morgan sample size is read for."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import format_date, format_decimal
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import dialect_insert
from app.models import ServedCount
from app.summary import FIRST_YEAR, LAST_YEAR, month_responses

SERVED_MAX = 10_000_000
MONTH_PATTERN = re.compile(r"^([0-9]{4})-([0-9]{2})$")
DIGITS = re.compile(r"^[0-9]+$")
# Indonesian thousands separators: 1.250 or 10.000.000 (a dot is never a decimal point here).
GROUPED = re.compile(r"^[0-9]{1,3}(?:\.[0-9]{3})+$")


def _month_name(month: date) -> str:
    """"November 2026" in the page's language (Babel's stand-alone month name)."""
    return str(format_date(month, "LLLL y"))


@dataclass(frozen=True)
class ServedInput:
    """A validated served-count entry."""

    month: date
    served: int


def _parse_month(text: str, latest: date) -> tuple[date | None, str | None]:
    found = MONTH_PATTERN.fullmatch(text.strip())
    if not found:
        return None, _("Write the month as YYYY-MM, for example 2026-11.")
    if not 1 <= int(found.group(2)) <= 12:
        return None, _("The month must be between 01 and 12.")
    if not FIRST_YEAR <= int(found.group(1)) <= LAST_YEAR:
        return None, _("The year must be between %(first)d and %(last)d.",
                       first=FIRST_YEAR, last=LAST_YEAR)
    month = date(int(found.group(1)), int(found.group(2)), 1)
    if month > latest:  # a count of people not yet served
        return None, _("%(month)s has not come yet.", month=_month_name(month))
    return month, None


def _parse_served(text: str) -> tuple[int | None, str | None]:
    raw = text.strip()
    raw = raw.replace(".", "") if GROUPED.fullmatch(raw.lstrip("-")) else raw
    if not raw:
        return None, _("Enter the number of people served.")
    if raw.startswith("-") and DIGITS.fullmatch(raw[1:]):
        return None, _("The number of people served cannot be negative.")
    if not DIGITS.fullmatch(raw):
        return None, _("The number of people served must be a whole number, for example 1250.")
    if len(raw) > len(str(SERVED_MAX)) or int(raw) > SERVED_MAX:
        return None, _("The number of people served is at most %(max)s a month.",
                       max=format_decimal(SERVED_MAX))
    if int(raw) < 1:
        return None, _("The number of people served is at least 1.")
    return int(raw), None


def parse_served_count(month_text: str, served_text: str, *, latest: date
                       ) -> tuple[ServedInput | None, dict[str, str]]:
    """Validate a served-count entry; errors by field, in the language of the application
    context (Flask-Babel). ``latest``: the current local month, the last one a count can be
    given for."""
    month, month_error = _parse_month(month_text, latest)
    served, served_error = _parse_served(served_text)
    errors = {field: message for field, message in
              (("month", month_error), ("served", served_error)) if message}
    if errors or month is None or served is None:
        return None, errors
    return ServedInput(month, served), {}


def save_served_count(session: Session, unit_id: int, entry: ServedInput, *, now: datetime
                      ) -> None:
    """Insert or replace the number of people a unit served in a month (flushes only)."""
    statement = dialect_insert(session, ServedCount).values(
        unit_id=unit_id, month=entry.month, served=entry.served, updated_at=now)
    session.execute(statement.on_conflict_do_update(
        index_elements=["unit_id", "month"],
        set_={"served": entry.served, "updated_at": now}))
    session.flush()


def record_served_count(session: Session, unit_id: int, month_text: str, served_text: str,
                        *, latest: date, now: datetime
                        ) -> tuple[ServedInput | None, dict[str, str]]:
    """Check and save, in the caller's transaction, how many people a unit served in a month.

    The count is at least 1, for a month that has begun (``latest``: the current local
    month), and not fewer than the month's responses: every response came from someone
    served. Returns the saved entry, or None and the errors by field (nothing written).
    Flushes only; the caller commits.
    """
    entry, errors = parse_served_count(month_text, served_text, latest=latest)
    if entry is None:
        return None, errors
    answered = month_responses(session, unit_id, entry.month)
    if entry.served < answered:
        return None, {"served": _("Fewer than the citizens' responses in %(month)s "
                                  "(%(answered)s).", month=_month_name(entry.month),
                                  answered=format_decimal(answered))}
    save_served_count(session, unit_id, entry, now=now)
    return entry, {}


def served_count(session: Session, unit_id: int, month: date) -> int | None:
    """The stored number of people served in a unit's month, if entered."""
    return session.scalar(select(ServedCount.served).where(
        ServedCount.unit_id == unit_id, ServedCount.month == month))
