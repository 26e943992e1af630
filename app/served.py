"""People served per counter and day: the rules, the upsert, the CSV import and month totals.

A unit's month served (the Krejcie-Morgan population) is the sum of its rows in the month:
rows per counter and day, and the unit totals carried over from the monthly count
(``counter_id`` NULL, dated the month's first day, source 'migrated').
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import format_date, format_decimal
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import audit
from app.models import Counter, Response, ServedDay, Unit
from app.periods import first_day, period_end, period_start

# The source of a month total carried over from the former monthly table (migration 0009).
MIGRATED = "migrated"

SERVED_DAY_MAX = 100_000
DIGITS = re.compile(r"^[0-9]+$")
# Indonesian thousands separators: 1.250 or 10.000 (a dot is never a decimal point here).
GROUPED = re.compile(r"^[0-9]{1,3}(?:\.[0-9]{3})+$")
DATE_PATTERN = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
MONTH_PATTERN = re.compile(r"^([0-9]{4})-([0-9]{2})$")
FIRST_YEAR, LAST_YEAR = 2000, 2100
CSV_COLUMNS = ("counter", "date", "served")
IMPORT_MAX_ROWS = 50_000
# Control, formatting (bidirectional, zero-width), surrogate, private-use, line separators.
INVISIBLE = ("Cc", "Cf", "Cs", "Co", "Zl", "Zp")

Key = tuple[int, date]  # (counter id, local day)


def _month_name(month: date) -> str:
    """"November 2026" in the current language."""
    return str(format_date(month, "LLLL y"))


def _day_name(day: date) -> str:
    return str(format_date(day, "d MMMM y"))


def next_month(month: date) -> date:
    """The first day of the month after ``month``'s."""
    return (month.replace(day=1) + timedelta(days=32)).replace(day=1)


def _invisible(text: str) -> bool:
    return any(unicodedata.category(c) in INVISIBLE for c in text)


def _shown(code: str) -> str:
    """A code from a file as a message may echo it: short, invisible characters as '?'."""
    return "".join("?" if unicodedata.category(c) in INVISIBLE else c for c in code[:40])


# Parsing one value --------------------------------------------------------------------------


def parse_served(text: str | None) -> tuple[int | None, str | None]:
    """A day's count from text: a whole number 0..SERVED_DAY_MAX (0: closed, or nobody came);
    "1.250" is read as 1250. Returns (value, None) or (None, message in the current
    language)."""
    raw = (text or "").strip()
    if not raw:
        return None, _("Enter the number of people served.")
    if _invisible(raw):
        return None, _("The number of people served contains an invisible or control "
                       "character; type digits only.")
    if GROUPED.fullmatch(raw.lstrip("-")):
        raw = raw.replace(".", "")
    if raw.startswith("-") and DIGITS.fullmatch(raw[1:]):
        return None, _("The number of people served cannot be negative.")
    if not DIGITS.fullmatch(raw):
        return None, _("The number of people served must be a whole number, for example 120.")
    if len(raw) > len(str(SERVED_DAY_MAX)) + 2 or int(raw) > SERVED_DAY_MAX:
        return None, _("The number of people served is at most %(max)s a day.",
                       max=format_decimal(SERVED_DAY_MAX))
    return int(raw), None


def parse_day(text: str | None, *, today: date) -> tuple[date | None, str | None]:
    """A local day ``YYYY-MM-DD`` that has begun (not after ``today``)."""
    raw = (text or "").strip()
    if not DATE_PATTERN.fullmatch(raw):
        return None, _("Write the date as YYYY-MM-DD, for example 2026-11-16.")
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return None, _("The date %(day)s is not in the calendar.", day=raw)
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        return None, _("The year must be between %(first)d and %(last)d.",
                       first=FIRST_YEAR, last=LAST_YEAR)
    return check_day(day, today=today)


def check_day(day: date, *, today: date) -> tuple[date | None, str | None]:
    """A day can be counted once it has begun."""
    if day > today:
        return None, _("%(day)s has not come yet: people served are counted for days that "
                       "have begun.", day=_day_name(day))
    return day, None


def parse_month(text: str | None) -> tuple[date | None, str | None]:
    """A month ``YYYY-MM`` as its first day."""
    found = MONTH_PATTERN.fullmatch((text or "").strip())
    if not found:
        return None, _("Write the month as YYYY-MM, for example 2026-11.")
    if not 1 <= int(found.group(2)) <= 12:
        return None, _("The month must be between 01 and 12.")
    if not FIRST_YEAR <= int(found.group(1)) <= LAST_YEAR:
        return None, _("The year must be between %(first)d and %(last)d.",
                       first=FIRST_YEAR, last=LAST_YEAR)
    return date(int(found.group(1)), int(found.group(2)), 1), None


# Reading ------------------------------------------------------------------------------------


def month_served(session: Session, unit_id: int, month: date) -> int | None:
    """A unit's people served in a month: the sum of its rows in the month (None: none)."""
    return months_served(session, [(unit_id, month)]).get((unit_id, month))


def months_served(session: Session, keys: Iterable[tuple[int, date]]
                  ) -> dict[tuple[int, date], int]:
    """People served per (unit id, month label) for the keys that have rows: the days of
    the month's whole ISO weeks."""
    wanted = set(keys)
    if not wanted:
        return {}
    # A month is the weeks whose Thursday falls in it (app.periods), like its indicators;
    # a monthly total carried over by the migration (on the month's first calendar day)
    # stays the total of its month.
    first = min(min(first_day("month", month), month) for _unit, month in wanted)
    last = period_end("month", max(month for _unit, month in wanted))
    totals: dict[tuple[int, date], int] = defaultdict(int)
    seen: set[tuple[int, date]] = set()
    for unit_id, day, served, source in session.execute(
            select(ServedDay.unit_id, ServedDay.day, ServedDay.served, ServedDay.source).where(
                ServedDay.unit_id.in_({unit_id for unit_id, _month in wanted}),
                ServedDay.day >= first, ServedDay.day < last)):
        month = day.replace(day=1) if source == MIGRATED else period_start("month", day)
        key = (unit_id, month)
        if key in wanted:
            totals[key] += served
            seen.add(key)
    return {key: totals[key] for key in seen}


def counter_days(session: Session, counter_ids: Iterable[int], first: date, last: date
                 ) -> dict[Key, int]:
    """Stored counts per (counter id, day) for ``first`` ≤ day ≤ ``last``."""
    ids = list(counter_ids)
    if not ids:
        return {}
    return {(counter_id, day): served for counter_id, day, served in session.execute(
        select(ServedDay.counter_id, ServedDay.day, ServedDay.served).where(
            ServedDay.counter_id.in_(ids), ServedDay.day >= first, ServedDay.day <= last))
        if counter_id is not None}


def responses_per_counter_day(session: Session, counter_ids: Iterable[int], first: date,
                              last: date) -> dict[Key, int]:
    """Unflagged responses per (counter id, local day) for ``first`` ≤ day ≤ ``last``."""
    ids = list(counter_ids)
    if not ids:
        return {}
    return {(counter_id, day): int(count) for counter_id, day, count in session.execute(
        select(Response.counter_id, Response.local_day, func.count())
        .where(Response.counter_id.in_(ids), Response.local_day >= first,
               Response.local_day <= last,
               Response.unflagged())
        .group_by(Response.counter_id, Response.local_day))}


# Validating and saving ----------------------------------------------------------------------


@dataclass(frozen=True)
class ServedEntry:
    """One count to store: ``served`` None removes the stored count of that counter-day."""

    counter_id: int
    day: date
    served: int | None


def check_month_totals(session: Session, entries: Sequence[ServedEntry]
                       ) -> dict[Key, str]:
    """The rule between counts and responses: responses cannot outnumber the people served.

    For each counter and month an entry touches, the counter's total over the days of the
    month that have a count (the stored ones with the entries applied) must not be fewer
    than its unflagged responses on those days. Days without a count do not take part, so
    a month in progress can be filled in day by day. Returns a message per offending entry.
    """
    if not entries:
        return {}
    counter_ids = {e.counter_id for e in entries}
    months = {(e.counter_id, e.day.replace(day=1)) for e in entries}
    first = min(m for _c, m in months)
    last = next_month(max(m for _c, m in months)) - timedelta(days=1)
    counts = counter_days(session, counter_ids, first, last)
    for entry in entries:
        if entry.served is None:
            counts.pop((entry.counter_id, entry.day), None)
        else:
            counts[(entry.counter_id, entry.day)] = entry.served
    answered = responses_per_counter_day(session, counter_ids, first, last)
    names: dict[int, str] = {counter_id: name for counter_id, name in session.execute(
        select(Counter.id, Counter.name).where(Counter.id.in_(counter_ids)))}
    errors: dict[Key, str] = {}
    for counter_id, month in sorted(months):
        days = {d for (c, d) in counts
                if c == counter_id and d.replace(day=1) == month}
        served = sum(counts[(counter_id, d)] for d in days)
        responses = sum(answered.get((counter_id, d), 0) for d in days)
        if served >= responses:
            continue
        message = _("%(counter)s served %(served)s people in %(month)s (days with a count), "
                    "fewer than its %(responses)s responses on those days: responses cannot "
                    "outnumber the people served.",
                    counter=names.get(counter_id, str(counter_id)),
                    served=format_decimal(served), month=_month_name(month),
                    responses=format_decimal(responses))
        for entry in entries:
            if entry.counter_id == counter_id and entry.day.replace(day=1) == month:
                errors[(entry.counter_id, entry.day)] = message
    return errors


@dataclass(frozen=True)
class SavedCounts:
    """What a save changed: rows added, changed and removed (unchanged ones are skipped)."""

    added: int
    changed: int
    removed: int

    @property
    def total(self) -> int:
        """Rows that changed in any way."""
        return self.added + self.changed + self.removed


def save_served(session: Session, entries: Sequence[ServedEntry], *, today: date,
                now: datetime, source: str = "typed"
                ) -> tuple[SavedCounts | None, dict[Key, str]]:
    """Check every entry, then store them all or none (flushes; the caller commits).

    Rules (messages in the current language): no day after ``today``, a count between 0
    and SERVED_DAY_MAX, counters that exist, and ``check_month_totals``. An entry replaces
    the stored count of its counter and day (upsert); ``served`` None removes it. Typed
    entries are audited one by one (``served.set``); an import (``source`` 'imported') is
    audited once (``served.import``) with its extent.
    """
    counters = {c.id: c for c in session.scalars(select(Counter).where(
        Counter.id.in_({e.counter_id for e in entries})))}
    existing = {(row.counter_id, row.day): row for row in session.scalars(
        select(ServedDay).where(ServedDay.counter_id.in_(list(counters)),
                                ServedDay.day.in_({e.day for e in entries})))}
    # Cells that change nothing (a grid posts the whole week) are neither checked nor
    # audited: an error then stands beside what was actually changed.
    entries = [e for e in entries if (e.counter_id, e.day) in existing
               and existing[(e.counter_id, e.day)].served != e.served
               or (e.counter_id, e.day) not in existing and e.served is not None]
    errors: dict[Key, str] = {}
    for entry in entries:
        key = (entry.counter_id, entry.day)
        if entry.counter_id not in counters:
            errors[key] = _("There is no such counter.")
        elif entry.served is not None and check_day(entry.day, today=today)[1] is not None:
            errors[key] = check_day(entry.day, today=today)[1] or ""
        elif entry.served is not None and not 0 <= entry.served <= SERVED_DAY_MAX:
            errors[key] = _("The number of people served is at most %(max)s a day.",
                            max=format_decimal(SERVED_DAY_MAX)) if entry.served > 0 else \
                _("The number of people served cannot be negative.")
    if not errors:
        errors = check_month_totals(session, entries)
    if errors:
        return None, errors
    if not entries:
        return SavedCounts(0, 0, 0), {}
    added = changed = removed = 0
    for entry in entries:
        row = existing.get((entry.counter_id, entry.day))
        before = audit.snapshot(row, ("served", "source")) if row is not None else None
        if entry.served is None:
            if row is None:
                continue
            session.delete(row)
            removed += 1
        elif row is None:
            counter = counters[entry.counter_id]
            row = ServedDay(unit_id=counter.unit_id, counter_id=counter.id, day=entry.day,
                            served=entry.served, source=source, updated_at=now)
            session.add(row)
            existing[(entry.counter_id, entry.day)] = row
            added += 1
        elif row.served == entry.served:
            continue
        else:
            row.served, row.source, row.updated_at = entry.served, source, now
            changed += 1
        if source != "imported":
            after = ({"served": entry.served, "source": source}
                     if entry.served is not None else None)
            audit.record(session, "served.set", "counter_day",
                         f"{entry.counter_id}:{entry.day.isoformat()}",
                         before=before, after=after)
    session.flush()
    saved = SavedCounts(added, changed, removed)
    if source == "imported" and saved.total:
        audit.record(session, "served.import", "served_days", None, after={
            "rows": len(entries), "added": added, "changed": changed,
            "first_day": min(e.day for e in entries), "last_day": max(e.day for e in entries),
            "counters": sorted({counters[e.counter_id].code for e in entries})})
    return saved, {}


# CSV import from a queue-ticket system ------------------------------------------------------


@dataclass(frozen=True)
class ImportLine:
    """A good line of an import file."""

    line: int
    unit_code: str
    counter_code: str
    entry: ServedEntry


@dataclass(frozen=True)
class ImportPreview:
    """A whole file read: the good lines, and every bad line with its reason."""

    lines: tuple[ImportLine, ...]
    errors: tuple[tuple[int, str], ...]

    @property
    def ok(self) -> bool:
        """The file may be imported: no bad line, and at least one good one."""
        return not self.errors and bool(self.lines)

    @property
    def total(self) -> int:
        """The people served over every good line."""
        return sum(line.entry.served or 0 for line in self.lines)


def read_import(session: Session, text: str, *, today: date,
                unit_ids: set[int] | None, default_unit: Unit | None = None
                ) -> ImportPreview:
    """Read a queue system's CSV (columns ``counter,date,served`` and an optional ``unit``;
    ',' or ';'; a BOM tolerated) without storing anything; every bad line is listed.

    ``unit_ids`` limits the units a line may name (None: any); lines without a unit column
    belong to ``default_unit``. The month rule (``check_month_totals``) is checked over the
    whole file; a counter and day given twice is an error.
    """
    text = text.removeprefix("\ufeff")
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    errors: list[tuple[int, str]] = []
    try:
        header = [h.strip().lower() for h in next(reader, [])]
    except csv.Error as exc:
        return ImportPreview((), ((1, _("The file cannot be read as CSV: %(reason)s",
                                        reason=str(exc))),))
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        return ImportPreview((), ((1, _("Missing column(s): %(columns)s. The first line must "
                                        "be: counter,date,served (and optionally unit).",
                                        columns=", ".join(missing))),))
    has_unit = "unit" in header
    if not has_unit and default_unit is None:
        return ImportPreview((), ((1, _("The file has no unit column: add one, or choose "
                                        "the unit.")),))
    units = {u.code: u for u in session.scalars(select(Unit))
             if unit_ids is None or u.id in unit_ids}
    counters = {(c.unit_id, c.code): c for c in session.scalars(
        select(Counter).where(Counter.unit_id.in_([u.id for u in units.values()])))}
    lines: list[ImportLine] = []
    seen: dict[Key, int] = {}
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(lines) + len(errors) >= IMPORT_MAX_ROWS:
                errors.append((line, _("The file has more than %(max)s lines; split it.",
                                       max=format_decimal(IMPORT_MAX_ROWS))))
                break
            if len(row) != len(header):
                errors.append((line, _("This line has %(found)d columns instead of "
                                       "%(expected)d.", found=len(row),
                                       expected=len(header))))
                continue
            cells = dict(zip(header, (cell.strip() for cell in row), strict=True))
            unit_code = cells.get("unit", "") if has_unit else ""
            unit = units.get(unit_code) if unit_code else default_unit
            if unit is None or (unit_ids is not None and unit.id not in unit_ids):
                errors.append((line, _("Unknown unit %(code)s.", code=_shown(unit_code))))
                continue
            counter = counters.get((unit.id, cells["counter"]))
            if counter is None:
                errors.append((line, _("Unit %(unit)s has no counter %(code)s.",
                                       unit=unit.code, code=_shown(cells["counter"]))))
                continue
            day, problem = parse_day(cells["date"], today=today)
            served, served_problem = parse_served(cells["served"])
            if problem or served_problem or day is None:
                errors.append((line, problem or served_problem or ""))
                continue
            key = (counter.id, day)
            if key in seen:
                errors.append((line, _("%(counter)s on %(day)s is already on line %(line)d.",
                                       counter=counter.code, day=day.isoformat(),
                                       line=seen[key])))
                continue
            seen[key] = line
            lines.append(ImportLine(line, unit.code, counter.code,
                                    ServedEntry(counter.id, day, served)))
    except csv.Error as exc:
        errors.append((reader.line_num + 1, _("The file cannot be read as CSV from here on: "
                                              "%(reason)s", reason=str(exc))))
    if not errors:
        by_key = {(item.entry.counter_id, item.entry.day): item.line for item in lines}
        month_errors = check_month_totals(session, [item.entry for item in lines])
        reported: set[str] = set()
        for key, message in sorted(month_errors.items(), key=lambda kv: by_key[kv[0]]):
            if message not in reported:  # one line per counter and month
                reported.add(message)
                errors.append((by_key[key], message))
    if not errors and not lines:
        errors.append((1, _("The file has no lines to import.")))
    return ImportPreview(tuple(lines), tuple(sorted(errors)))


def import_served(session: Session, preview: ImportPreview, *, today: date, now: datetime
                  ) -> tuple[SavedCounts | None, dict[Key, str]]:
    """Store a good preview's lines (all or nothing; audited once as ``served.import``)."""
    return save_served(session, [line.entry for line in preview.lines], today=today,
                       now=now, source="imported")


# Listing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServedRow:
    """A stored count as listed: counter code None for a unit's carried-over month total."""

    day: date
    counter_code: str | None
    served: int
    source: str


def list_month(session: Session, unit_id: int, month: date) -> list[ServedRow]:
    """A unit's stored counts in a month, by day and counter."""
    rows = session.execute(
        select(ServedDay.day, Counter.code, ServedDay.served, ServedDay.source)
        .outerjoin(Counter, Counter.id == ServedDay.counter_id)
        .where(ServedDay.unit_id == unit_id, ServedDay.day >= month,
               ServedDay.day < next_month(month))
        .order_by(ServedDay.day, Counter.code))
    return [ServedRow(day, code, served, source) for day, code, served, source in rows]


def week_grid(session: Session, unit_id: int, week: date) -> tuple[list[Counter], dict[Key, int]]:
    """The unit's counters (active ones, and inactive ones with counts that week) and the
    stored counts of the week starting ``week`` (a Monday)."""
    last = week + timedelta(days=6)
    counters = list(session.scalars(select(Counter).where(Counter.unit_id == unit_id)
                                    .order_by(Counter.code)))
    counts = counter_days(session, [c.id for c in counters], week, last)
    with_counts = {c for c, _day in counts}
    return [c for c in counters if c.active or c.id in with_counts], counts


def entries_from_cells(cells: Mapping[Key, str | None]) -> tuple[list[ServedEntry],
                                                                 dict[Key, str]]:
    """Typed grid cells to entries: an empty cell removes a stored count."""
    entries: list[ServedEntry] = []
    errors: dict[Key, str] = {}
    for (counter_id, day), text in cells.items():
        if not (text or "").strip():
            entries.append(ServedEntry(counter_id, day, None))
            continue
        served, problem = parse_served(text)
        if problem:
            errors[(counter_id, day)] = problem
        else:
            entries.append(ServedEntry(counter_id, day, served))
    return entries, errors
