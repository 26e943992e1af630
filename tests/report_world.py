"""A seeded quarter for the SKM report's tests: 2026-Q4 (Monday 28 September 2026 to Sunday
3 January 2027) with profiles, services, people served, a head, RTL and an earlier quarter."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from io import BytesIO
from typing import Any

import pypdfium2
from factories import WIB_ZONE, SeededUnit, add_served, aggregate, make_unit, make_user
from flask import Flask
from sqlalchemy.orm import Session

from app.actions import ActionValues, create_action, update_action
from app.answers import Answers
from app.feedback import Submission, record_response
from app.models import Officer
from app.models.loop import ImprovementAction
from app.org import create_officer
from app.surveys import Survey, latest

Q4 = date(2026, 10, 1)  # the label of 2026-Q4
Q4_FIRST, Q4_LAST = date(2026, 9, 28), date(2027, 1, 3)
NOW = datetime(2027, 1, 11, 2, 0, tzinfo=UTC)  # Monday 09.00 WIB, after the quarter
HEAD_NIP = "197805122003121002"
HEAD_NAME = "Hendra Wijaya"
HEAD_EMAIL, ADMIN_EMAIL = "kepala@contoh.go.id", "admin@contoh.go.id"
VIEWER_EMAIL, OFFICER_EMAIL = "pemantau@contoh.go.id", "petugas@contoh.go.id"
OFFICER_NIP = "199001152016032002"

# (local day, hour, scores, sex, age band, education, occupation, service index or None)
Q4_ANSWERS: list[tuple[date, int, tuple[int, ...], str | None, str | None, str | None,
                       str | None, int | None]] = [
    (date(2026, 9, 28), 8, (4, 3, 3, 4, 3, 4, 4, 3, 2), "L", "20-29", "SMA", "Swasta", 0),
    (date(2026, 10, 5), 9, (3, 3, 2, 4, 3, 3, 4, 3, 3), "P", "30-39", "S1", "PNS", 0),
    (date(2026, 10, 13), 10, (4, 4, 3, 4, 4, 4, 4, 4, 3), "P", "30-39", "SMA", "Wirausaha", 1),
    (date(2026, 10, 21), 11, (3, 2, 2, 4, 3, 3, 3, 3, 1), None, None, None, None, None),
    (date(2026, 11, 2), 8, (4, 4, 4, 4, 4, 4, 4, 4, 4), "L", "40-49", "D3", "PNS", 1),
    (date(2026, 11, 10), 9, (3, 3, 3, 3, 3, 3, 3, 3, 3), "P", "ge60", "SD", "Lainnya", 0),
    (date(2026, 11, 18), 13, (2, 3, 2, 4, 3, 3, 3, 2, 2), "L", "lt20", "SMP",
     "Pelajar-Mahasiswa", None),
    (date(2026, 11, 26), 14, (4, 3, 3, 4, 4, 4, 4, 3, 3), "P", "20-29", "S1", "Swasta", 1),
    (date(2026, 12, 3), 8, (3, 4, 3, 4, 3, 4, 3, 4, 3), "P", None, "S2", None, 0),
    (date(2026, 12, 11), 9, (4, 4, 4, 4, 4, 3, 4, 4, 4), "L", "50-59", "SMA", "TNI", 0),
    (date(2026, 12, 17), 10, (3, 3, 3, 4, 3, 3, 3, 3, 2), "P", "30-39", "none", "Lainnya",
     1),
    (date(2026, 12, 30), 15, (4, 3, 4, 4, 4, 4, 4, 3, 3), "L", "20-29", "S1", "POLRI", 0),
    # Sunday 3 January 2027, 23.00 WIB: the last day of 2026-Q4.
    (date(2027, 1, 3), 23, (3, 4, 3, 4, 4, 3, 3, 4, 4), "P", "40-49", "S3", "Swasta", None),
]
# Sunday 27 September 2026, 23.30 WIB (2026-Q3) and Monday 4 January 2027, 00.30 WIB (2027-Q1).
OUTSIDE = [(datetime.combine(date(2026, 9, 27), time(23, 30), WIB_ZONE), (1,) * 9),
           (datetime.combine(date(2027, 1, 4), time(0, 30), WIB_ZONE), (1,) * 9)]
# 2026-Q3: twelve answers, all 3 (IKM 75.00, C).
Q3_ANSWERS = [datetime.combine(date(2026, 8, 3) + timedelta(days=i), time(9), WIB_ZONE)
              for i in range(12)]


@dataclass
class ReportWorld:
    """What the tests look up in the seeded world."""

    seeded: SeededUnit
    head: Officer
    actions: dict[str, ImprovementAction]


def survey_of(app: Flask) -> Survey:
    return latest(app.extensions["suara.surveys"], "skm-2017")


def store(app: Flask, session: Session, seeded: SeededUnit, at: datetime,
          scores: Sequence[int], *, profile: dict[str, str] | None = None,
          service: str | None = None, bot: bool = False) -> None:
    """One response as real traffic stores it (flushes only)."""
    answers = Answers(tuple(scores), "15-30", service, None, profile or {})
    submission = Submission(client_id=uuid.uuid4(), channel="qr", created_at=at,
                            received_at=at, honeypot_filled=bot)
    record_response(session, survey_of(app), seeded.counter, answers, submission, WIB_ZONE)


def seed_q4(app: Flask, session: Session) -> ReportWorld:
    """The unit, its head, 13 answers in 2026-Q4 (+ one flagged, + two just outside),
    12 in 2026-Q3, people served, four improvement actions; aggregated at NOW."""
    seeded = make_unit(session)
    head = create_officer(session, HEAD_NIP, HEAD_NAME, seeded.unit, "Kepala Dinas")
    staff = create_officer(session, OFFICER_NIP, "Siti Petugas", seeded.unit,
                           "Petugas Pelayanan")
    session.commit()
    for day, hour, scores, sex, age, education, occupation, service in Q4_ANSWERS:
        profile = {key: value for key, value in (
            ("sex", sex), ("age_band", age), ("education", education),
            ("occupation", occupation)) if value is not None}
        store(app, session, seeded, datetime.combine(day, time(hour), WIB_ZONE), scores,
              profile=profile,
              service=seeded.services[service].code if service is not None else None)
    store(app, session, seeded, datetime.combine(date(2026, 11, 3), time(9), WIB_ZONE),
          (1,) * 9, profile={"sex": "L"}, bot=True)
    for at, scores in OUTSIDE:
        store(app, session, seeded, at, scores, profile={"sex": "P"})
    for at in Q3_ANSWERS:
        store(app, session, seeded, at, (3,) * 9)
    # People served: 100 in each month of the quarter's days (300: Krejcie-Morgan 169).
    for day in (date(2026, 10, 7), date(2026, 11, 11), date(2026, 12, 9)):
        add_served(session, seeded.unit.id, day, 100, counter_id=seeded.counter.id)
    session.commit()
    make_user(session, HEAD_EMAIL, "unit_head", unit=seeded.unit, officer=head)
    make_user(session, ADMIN_EMAIL, "admin")
    make_user(session, VIEWER_EMAIL, "viewer")
    make_user(session, OFFICER_EMAIL, "officer", unit=seeded.unit, officer=staff)
    actions = _seed_actions(session, seeded)
    session.commit()
    aggregate(app, NOW)
    return ReportWorld(seeded, head, actions)


def _action(element: str, what: str, starts_on: date, due_on: date,
            state: str = "planned") -> ActionValues:
    return ActionValues(element=element, what=what, who="Seksi Pelayanan",
                        starts_on=starts_on, due_on=due_on, state=state)


def _seed_actions(session: Session, seeded: SeededUnit) -> dict[str, ImprovementAction]:
    def at(day: date) -> datetime:
        return datetime.combine(day, time(10), WIB_ZONE)

    unit = seeded.unit
    running = create_action(session, unit, _action(
        "U3", "Nomor antrean daring", date(2026, 8, 3), date(2026, 10, 30), "in_progress"),
        user_id=None, now=at(date(2026, 8, 1)))
    finished = create_action(session, unit, _action(
        "U8", "Kursi ruang tunggu <baru>", date(2026, 7, 6), date(2026, 8, 31)),
        user_id=None, now=at(date(2026, 7, 1)))
    update_action(session, finished, _action(
        "U8", "Kursi ruang tunggu <baru>", date(2026, 7, 6), date(2026, 8, 31), "done"),
        now=at(date(2026, 9, 1)))
    planned = create_action(session, unit, _action(
        "U9", "Kotak pengaduan dan nomor WhatsApp", date(2026, 11, 2), date(2026, 12, 18)),
        user_id=None, now=at(date(2026, 10, 30)))
    later = create_action(session, unit, _action(
        "U1", "Papan persyaratan", date(2027, 2, 1), date(2027, 3, 31)),
        user_id=None, now=at(date(2027, 1, 8)))
    return {"running": running, "finished": finished, "planned": planned, "later": later}


# Reading the files back ---------------------------------------------------------------------


def pdf_text(data: bytes) -> list[str]:
    """The text lines of every page of a PDF (pypdfium2's text API)."""
    document = pypdfium2.PdfDocument(data)
    lines: list[str] = []
    for page in document:
        lines += page.get_textpage().get_text_range().replace("\r", "").split("\n")
    return [line.strip() for line in lines if line.strip()]


def first_page_png(data: bytes) -> tuple[bytes, int]:
    """The first page rendered to PNG, and how many of its pixels are not white."""
    document = pypdfium2.PdfDocument(data)
    image = document[0].render(scale=1).to_pil().convert("L")
    buffer = BytesIO()
    image.save(buffer, format="PNG")
    inked = sum(image.histogram()[:200])
    return buffer.getvalue(), inked


def comma(value: str) -> Decimal:
    """An Indonesian number (1.234,5678) as a Decimal."""
    return Decimal(value.replace(".", "").replace(",", "."))


def element_lines(lines: list[str]) -> dict[str, list[str]]:
    """The results table's rows: code -> its total score, NRR and weighted NRR (a long
    element name may wrap onto a second line)."""
    text = " ".join(lines)
    return {match.group(1): [match.group(2), match.group(3), match.group(4)]
            for match in re.finditer(r"\b(U[1-9]) [^\d]+? ([\d.]+) ([\d,]+) 1/9 ([\d,]+)\b",
                                     text)}


def json_row(rows: list[dict[str, Any]], start: str) -> dict[str, Any]:
    """The DUKCAPIL row of ``indicators --json`` for the period starting ``start``."""
    matching = [row for row in rows if row["unit"] == "DUKCAPIL" and row["period_start"] == start]
    assert len(matching) == 1, matching
    return matching[0]

