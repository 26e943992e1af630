"""Small seed-data and form helpers shared by the web tests (not fixtures: plain functions)."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash
from werkzeug.test import TestResponse

from app.answers import Answers
from app.api_tokens import create_integration_token
from app.feedback import DEFAULT_SURVEY_ID, Submission, record_response
from app.jobs import AggregationRun, run_aggregation
from app.models import Counter, Officer, Response, ServedDay, Service, Unit, User
from app.org import (
    assign_officer,
    create_counter,
    create_officer,
    create_service,
    create_unit,
    live_token,
)
from app.surveys import Survey, latest
from app.users import create_user

NIP = "198609262015051001"
OTHER_NIP = "199001152016032002"
SCORES = {f"U{i}": str(1 + i % 4) for i in range(1, 10)}  # 2,3,4,1,2,3,4,1,2

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_TICKET = re.compile(r'name="t" value="([^"]*)"')


@dataclass
class SeededUnit:
    """A unit with two services and one counter (whose default service is the first)."""

    unit: Unit
    services: tuple[Service, Service]
    counter: Counter
    token: str  # the counter's live public token (what its QR code carries)


def release(session: Session) -> None:
    """End the test session's transaction without expiring what it loaded.

    The fixture session is a write session: on SQLite its open transaction holds the write
    lock, and the application's requests would wait for it. Commit keeps loaded attributes.
    """
    session.commit()


def make_unit(
    session: Session,
    code: str = "DUKCAPIL",
    name: str = "Disdukcapil Lampung Utara",
    *,
    kind: str = "disdukcapil",
    services: tuple[tuple[str, str], tuple[str, str]] = (
        ("KTP-REKAM", "KTP-el — Perekaman"), ("KK", "Kartu Keluarga")),
    counter: tuple[str, str] = ("L1", "Loket Satu Perekaman"),
) -> SeededUnit:
    """Create a unit with two services and a counter, and commit."""
    unit = create_unit(session, code, name, kind)
    first, second = (create_service(session, unit, c, n, standard_minutes=30)
                     for c, n in services)
    made = create_counter(session, unit, counter[0], counter[1], default_service=first)
    live = live_token(session, made)
    assert live is not None
    token = live.token
    session.commit()
    return SeededUnit(unit, (first, second), made, token)


def make_other_unit(session: Session) -> SeededUnit:
    """A second unit (a Puskesmas) with services and a counter of its own."""
    return make_unit(session, "PKM-KTB2", "Puskesmas Kotabumi II", kind="puskesmas",
                     services=(("GIGI", "Poli Gigi"), ("UMUM", "Poli Umum")),
                     counter=("GIGI", "Ruang Poli Gigi"))


def make_officer(
    session: Session, seeded: SeededUnit, nip: str = NIP, name: str = "Ahmad Saputra"
) -> Officer:
    """Register an officer of the seeded unit, and commit."""
    officer = create_officer(session, nip, name, seeded.unit, "Petugas Pelayanan")
    session.commit()
    return officer


def put_on_duty(
    session: Session, officer: Officer, counter: Counter, around: datetime,
    margin: timedelta = timedelta(hours=2),
) -> None:
    """Assign an officer to a counter for a window around an instant, and commit."""
    assign_officer(session, officer, counter, around - margin, around + margin)
    session.commit()


def response_rows(session: Session) -> list[Response]:
    """Every stored response, oldest first, read fresh from the database."""
    session.expire_all()
    rows = list(session.scalars(select(Response).order_by(Response.id)))
    release(session)
    return rows


def response_count(session: Session) -> int:
    """How many responses are stored (read fresh)."""
    session.expire_all()
    count = session.scalar(select(func.count()).select_from(Response)) or 0
    release(session)
    return count


def form_tokens(page: TestResponse) -> tuple[str, str]:
    """The CSRF token and the signed ticket ``t`` of a rendered survey form."""
    html = page.get_data(as_text=True)
    csrf = _CSRF.search(html)
    ticket = _TICKET.search(html)
    assert csrf is not None and ticket is not None, "no survey form on this page"
    return csrf.group(1), ticket.group(1)


def survey_form(page: TestResponse, **fields: str) -> dict[str, str]:
    """A complete valid submission of a rendered survey page, with some fields overridden."""
    csrf, ticket = form_tokens(page)
    data = {"csrf_token": csrf, "t": ticket, **SCORES, "wait_band": "15-30",
            "service": "", "comment": "", "website": ""}
    data.update(fields)
    return data


def open_and_submit(
    client: FlaskClient, token: str, *, query: str = "", **fields: str
) -> TestResponse:
    """GET the survey page, then POST a complete answer with some fields overridden."""
    page = client.get(f"/s/{token}{query}")
    assert page.status_code == 200, page.status_code
    return client.post(f"/s/{token}{query}", data=survey_form(page, **fields))


STAFF_PASSWORD = "kata-sandi-uji-2026"  # ten characters or more, as create_user requires


def make_user(
    session: Session, email: str, role: str, *, unit: Unit | None = None,
    officer: Officer | None = None, password: str = STAFF_PASSWORD, active: bool = True,
) -> User:
    """Create a staff account through ``create_user`` (hashed password), and commit."""
    user = create_user(session, email, password, role, unit=unit, officer=officer)
    user.active = active
    session.commit()
    return user


# Made long before and lasting ten years: valid at whatever instant a test's clock shows.
INTEGRATION_MADE_AT = datetime(2025, 1, 1, tzinfo=UTC)


def integration_token(session: Session, name: str = "uji", *, unit: Unit | None = None,
                      now: datetime = INTEGRATION_MADE_AT, days: int = 3650) -> str:
    """Create an integration token (what POST /api/v1/responses needs, besides a kiosk's
    credential), commit, and return it."""
    token = create_integration_token(session, name, unit=unit, now=now, days=days)
    session.commit()
    return token


def as_integration(client: FlaskClient, token: str) -> FlaskClient:
    """``client``, sending ``Authorization: Bearer <token>`` with every request."""
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def record(
    app: Flask, session: Session, counter: Counter, at: datetime, *,
    scores: tuple[int, ...] = (3, 3, 3, 3, 3, 3, 3, 3, 3), comment: str | None = None,
    wait_band: str | None = "15-30", service: str | None = None,
) -> Response:
    """Store one response through ``record_response`` (the officer on duty at ``at`` is
    taken from the roster), received five seconds after ``at``, and commit."""
    survey = latest(app.extensions["suara.surveys"], DEFAULT_SURVEY_ID)
    answers = Answers(scores, wait_band, service, comment)
    submission = Submission(client_id=uuid.uuid4(), channel="qr", created_at=at,
                            received_at=at + timedelta(seconds=5))
    _, row = record_response(session, survey, counter, answers, submission,
                             app.extensions["suara.settings"].tz)
    session.commit()
    return row


def aggregate(app: Flask, now: datetime) -> AggregationRun:
    """Run one full aggregation pass as the scheduler would, at ``now``."""
    return run_aggregation(app.extensions["suara.db"], now=now, full=True)


def csrf_token(client: FlaskClient) -> str:
    """A CSRF token valid for the client's current session (read from the sign-in form)."""
    page = client.get("/masuk")
    found = _CSRF.search(page.get_data(as_text=True))
    assert found is not None, "no CSRF token on the sign-in page"
    return found.group(1)


def sign_in(
    client: FlaskClient, email: str, password: str = STAFF_PASSWORD, *, query: str = ""
) -> TestResponse:
    """Sign in through the real /masuk form with a real CSRF token; the POST's response."""
    return client.post(f"/masuk{query}", data={"csrf_token": csrf_token(client),
                                               "email": email, "password": password})


# Dashboard helpers: responses with measured waits and flags, CSRF of a rendered page ----------

WIB_ZONE = ZoneInfo("Asia/Jakarta")


def skm_survey(app: Flask) -> Survey:
    """The questionnaire citizens answer (the latest SKM version)."""
    return latest(app.extensions["suara.surveys"], DEFAULT_SURVEY_ID)


def add_response(
    session: Session, survey: Survey, counter: Counter, scores: Sequence[int], at: datetime,
    *, comment: str | None = None, wait_band: str | None = None,
    measured: int | None = None, bot: bool = False,
) -> Response:
    """Store one response as real traffic would (officer on duty from the roster); flushes
    only, so a test can add many and commit once."""
    answers = Answers(tuple(scores), wait_band, None, comment, {})
    submission = Submission(client_id=uuid.uuid4(), channel="qr", created_at=at,
                            received_at=at, measured_wait_min=measured, honeypot_filled=bot)
    _, row = record_response(session, survey, counter, answers, submission, WIB_ZONE)
    return row


def csrf_token_of(page: TestResponse) -> str:
    """The CSRF token of the first form on a rendered page."""
    found = _CSRF.search(page.get_data(as_text=True))
    assert found is not None, "no CSRF token on this page"
    return found.group(1)


@cache
def cached_password_hash(password: str) -> str:
    """scrypt costs 0.1 s per account; tests about scopes, not hashing, reuse one hash."""
    return generate_password_hash(password)


class Clock:
    """A settable stand-in for ``utcnow`` in the citizen pages (see ``freeze_public_clock``)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def freeze_public_clock(monkeypatch: pytest.MonkeyPatch, at: datetime) -> Clock:
    """Stop the citizen pages' clock at ``at``; move it by setting ``.now``."""
    clock = Clock(at)
    monkeypatch.setattr("app.web.public.utcnow", clock)
    return clock


def post_chunked(client: FlaskClient, path: str, data: bytes, content_type: str
                 ) -> TestResponse:
    """POST ``data`` as a chunked body: no Content-Length, as gunicorn hands it on."""
    return client.post(path, input_stream=io.BytesIO(data), content_type=content_type,
                       headers={"Transfer-Encoding": "chunked"},
                       environ_overrides={"wsgi.input_terminated": True})


def add_served(session: Session, unit_id: int, day: date, served: int, *,
               counter_id: int | None = None, source: str = "typed") -> ServedDay:
    """A people-served row as stored (no rules checked): a counter's day, or without a
    counter a unit's month total carried over from the monthly count (its first day)."""
    row = ServedDay(unit_id=unit_id, counter_id=counter_id, day=day, served=served,
                    source=source, updated_at=datetime(2026, 12, 1, tzinfo=UTC))
    session.add(row)
    session.flush()
    return row
