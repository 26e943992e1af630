"""Back-office export of raw responses as CSV or JSON Lines, in a stable column order."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta
from typing import IO
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from app.models import Counter, Officer, Response, Service, SurveyVersion, Unit

# The documented, stable order (README "Export"). Append new columns at the end only.
COLUMNS = (
    "response_id", "created_at", "created_local", "received_at", "channel",
    "survey_id", "survey_version", "unit", "unit_name", "counter", "counter_name",
    "service", "service_name", "officer_nip", "officer_name",
    "U1", "U2", "U3", "U4", "U5", "U6", "U7", "U8", "U9",
    "wait_band", "measured_wait_min", "comment",
    "sex", "age_band", "education", "occupation", "flag_repeat", "flag_bot",
    "flag_fast", "flag_burst", "kiosk",
)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


OPEN_BEFORE, OPEN_AFTER = date(1900, 1, 1), date(9999, 1, 1)


def local_day_bounds(first: date | None, last: date | None, tz: ZoneInfo
                     ) -> tuple[datetime | None, datetime | None]:
    """UTC instants bounding local days ``first``..``last`` inclusive (either may be open).

    A bound at the ends of the calendar (``--from 0001-01-01``, ``--to 9999-12-31``) cuts off
    nothing and is left open: as an instant it would fall outside what a datetime can hold.
    """
    start = datetime.combine(first, time.min, tz) if first and first > OPEN_BEFORE else None
    end = datetime.combine(last + timedelta(days=1), time.min, tz) \
        if last and last < OPEN_AFTER else None
    return start, end


def export_rows(
    session: Session,
    tz: ZoneInfo,
    *,
    unit_code: str | None = None,
    first: date | None = None,
    last: date | None = None,
) -> Iterator[dict[str, object]]:
    """Responses as dicts keyed by COLUMNS, oldest first, streamed from the database.

    Officers appear by NIP and name (this is the back office); no address or device hash.
    """
    service = aliased(Service)
    officer = aliased(Officer)
    query = (
        select(Response, SurveyVersion, Unit, Counter, service, officer)
        .join(SurveyVersion, Response.survey_version_id == SurveyVersion.id)
        .join(Unit, Response.unit_id == Unit.id)
        .join(Counter, Response.counter_id == Counter.id)
        .outerjoin(service, Response.service_id == service.id)
        .outerjoin(officer, Response.officer_id == officer.id)
        .order_by(Response.created_at, Response.id)
        .execution_options(yield_per=1000)
    )
    if unit_code:
        query = query.where(Unit.code == unit_code)
    start, end = local_day_bounds(first, last, tz)
    if start:
        query = query.where(Response.created_at >= start)
    if end:
        query = query.where(Response.created_at < end)
    for r, version, unit, counter, svc, off in session.execute(query):
        yield {
            "response_id": str(r.client_id),
            "created_at": r.created_at.isoformat(),
            "created_local": r.created_at.astimezone(tz).isoformat(),
            "received_at": r.received_at.isoformat(),
            "channel": r.channel,
            "survey_id": version.survey_id,
            "survey_version": version.version,
            "unit": unit.code,
            "unit_name": unit.name,
            "counter": counter.code,
            "counter_name": counter.name,
            "service": svc.code if svc else None,
            "service_name": svc.name if svc else None,
            "officer_nip": off.nip if off else None,
            "officer_name": off.name if off else None,
            **{f"U{i}": score for i, score in enumerate(r.scores(), start=1)},
            "wait_band": r.wait_band,
            "measured_wait_min": r.measured_wait_min,
            "comment": r.comment,
            "sex": r.sex,
            "age_band": r.age_band,
            "education": r.education,
            "occupation": r.occupation,
            "flag_repeat": r.flag_repeat,
            "flag_bot": r.flag_bot,
            "flag_fast": r.flag_fast,
            "flag_burst": r.flag_burst,
            "kiosk": r.kiosk_id,
        }


def neutralise(value: object) -> object:
    """Defuse spreadsheet formulas: a text cell starting with = + - @ gets a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_text(rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """Each row as one line of CSV text (CRLF), for streaming a download: None is an empty
    cell, and cells a spreadsheet would read as a formula are neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for cells in rows:
        writer.writerow([neutralise("" if cell is None else cell) for cell in cells])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def write_csv(rows: Iterator[dict[str, object]], out: IO[str]) -> int:
    """Write rows as CSV with a header; return the number of rows."""
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow({k: neutralise("" if v is None else v) for k, v in row.items()})
        count += 1
    return count


def write_jsonl(rows: Iterator[dict[str, object]], out: IO[str]) -> int:
    """Write one JSON object per line (values as stored; JSON is not a spreadsheet)."""
    count = 0
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count
