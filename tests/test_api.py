"""JSON API v1: POST /api/v1/responses (idempotent by id) and the OpenAPI document.

Every submission here carries an integration token (the ``client`` fixture sends one); what
happens without one, or with a token bound to a unit, is in tests/test_api_credentials.py.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from factories import (
    NIP,
    SeededUnit,
    as_integration,
    integration_token,
    make_officer,
    make_other_unit,
    make_unit,
    open_and_submit,
    post_chunked,
    put_on_duty,
    release,
    response_count,
    response_rows,
    skm_survey,
)
from flask import Flask, abort
from flask.testing import FlaskClient
from flask.typing import ResponseReturnValue
from i18n_helpers import indonesian_words
from limits import parse
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from referencing.exceptions import Unresolvable
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from app import create_app
from app.answers import Answers
from app.config import Settings
from app.feedback import DEFAULT_SURVEY_ID, payload_hash, survey_version_id
from app.models import Case, Counter, DailySalt, Officer, Response
from app.org import issue_token
from app.privacy import daily_salt, salted_hash
from app.surveys import latest
from app.web.common import limit_phrase, limiter

URL = "/api/v1/responses"
NOW = datetime(2026, 1, 5, 2, 30, tzinfo=UTC)  # Monday 09.30 WIB
WIB = timezone(timedelta(hours=7))
ANSWERS = {f"U{i}": 1 + i % 4 for i in range(1, 10)}


@dataclass
class World:
    home: SeededUnit
    other: SeededUnit
    officer: Officer


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """Freeze the API's clock (and the citizen pages', which share the roster)."""
    monkeypatch.setattr("app.web.api.utcnow", lambda: NOW)
    monkeypatch.setattr("app.web.public.utcnow", lambda: NOW)
    return NOW


@pytest.fixture
def credential(session: Session) -> str:
    """An integration token, unbound (any unit's counters)."""
    return integration_token(session)


@pytest.fixture
def client(app: Flask, credential: str) -> FlaskClient:
    """A test client of an integration: every request carries its token."""
    return as_integration(app.test_client(), credential)


@pytest.fixture
def world(session: Session, clock: datetime) -> World:
    home = make_unit(session)
    other = make_other_unit(session)
    officer = make_officer(session, home)
    put_on_duty(session, officer, home.counter, NOW)
    return World(home, other, officer)


def body(world: World, **changes: Any) -> dict[str, Any]:
    """A complete valid request body, with some keys changed."""
    payload: dict[str, Any] = {
        "id": str(uuid.uuid4()), "token": world.home.token, "answers": dict(ANSWERS),
        "wait_band": "15-30", "service": "KK", "comment": "Cepat dan ramah.",
        "profile": {"sex": "L", "age_band": "40-49"}, "submitted_at": None,
    }
    payload.update(changes)
    return payload


def post(client: FlaskClient, payload: object, **kwargs: Any) -> TestResponse:
    return client.post(URL, json=payload, **kwargs)


def iso(instant: datetime) -> str:
    return instant.isoformat()


# Created, duplicate, conflict -----------------------------------------------------------------


def test_a_valid_response_is_created_with_every_column(
    client: FlaskClient, session: Session, world: World
) -> None:
    payload = body(world, profile={"sex": "P", "age_band": "20-29", "education": "SMA",
                                   "occupation": "Pelajar-Mahasiswa"})
    answer = post(client, payload)
    assert answer.status_code == 201
    # U4 and U8 at 1 with a comment: a complaint case, whose reference the body carries.
    assert answer.get_json() == {"id": payload["id"], "duplicate": False,
                                 "flags": {"repeat": False, "bot": False,
                                           "fast": False, "burst": False},
                                 "case": session.scalar(select(Case.reference))}
    rows = response_rows(session)
    assert len(rows) == 1
    row = rows[0]
    assert row.client_id == uuid.UUID(payload["id"])
    assert row.channel == "api"
    assert (row.unit_id, row.counter_id) == (world.home.unit.id, world.home.counter.id)
    assert row.service_id == world.home.services[1].id
    assert row.officer_id == world.officer.id
    assert row.created_at == NOW and row.received_at == NOW
    assert row.created_at.tzinfo == UTC
    assert row.scores() == tuple(ANSWERS[f"U{i}"] for i in range(1, 10))
    assert (row.wait_band, row.comment, row.measured_wait_min) == (
        "15-30", "Cepat dan ramah.", None)
    assert (row.sex, row.age_band, row.education, row.occupation) == (
        "P", "20-29", "SMA", "Pelajar-Mahasiswa")
    salt = session.scalar(select(DailySalt.salt))
    release(session)
    assert salt is not None
    assert row.ip_hash == salted_hash(salt, "127.0.0.1")
    for column in Response.__table__.columns:
        assert "127.0.0.1" not in str(getattr(row, column.key)), column.key


def test_only_the_answers_are_required(
    client: FlaskClient, session: Session, world: World
) -> None:
    payload = {"id": str(uuid.uuid4()), "token": world.home.token, "answers": ANSWERS}
    assert post(client, payload).status_code == 201
    (row,) = response_rows(session)
    assert (row.wait_band, row.service_id, row.comment, row.sex) == (None, None, None, None)


def test_a_kiosk_may_say_so_and_send_its_answer_late(
    client: FlaskClient, session: Session, world: World
) -> None:
    answered = NOW - timedelta(days=2, hours=1)
    payload = body(world, channel="kiosk", submitted_at=iso(answered.astimezone(WIB)))
    assert post(client, payload).status_code == 201
    (row,) = response_rows(session)
    assert row.channel == "kiosk"
    assert row.created_at == answered
    assert row.received_at == NOW
    # Nobody was on duty two days earlier.
    assert row.officer_id is None


def test_the_same_id_and_content_is_a_duplicate_not_a_second_row(
    client: FlaskClient, session: Session, world: World
) -> None:
    payload = body(world, submitted_at="2026-01-05T09:12:00+07:00")
    assert post(client, payload).status_code == 201
    again = post(client, payload)
    assert again.status_code == 200
    assert again.get_json()["duplicate"] is True
    assert again.get_json()["id"] == payload["id"]
    assert response_count(session) == 1


def test_a_retry_writing_the_same_instant_in_another_offset_is_a_duplicate(
    client: FlaskClient, session: Session, world: World
) -> None:
    payload = body(world, submitted_at="2026-01-05T09:12:00+07:00")
    assert post(client, payload).status_code == 201
    for written in ("2026-01-05T02:12:00Z", "2026-01-05T02:12:00.000+00:00",
                    "2026-01-05T11:12:00+09:00"):
        again = post(client, {**payload, "submitted_at": written})
        assert again.status_code == 200, written
        assert again.get_json()["duplicate"] is True
    later = post(client, {**payload, "submitted_at": "2026-01-05T09:13:00+07:00"})
    assert later.status_code == 409
    assert response_count(session) == 1


def test_a_retry_of_a_row_stored_with_the_former_hash_is_still_a_duplicate(
    client: FlaskClient, session: Session, world: World
) -> None:
    payload = body(world, submitted_at="2026-01-05T09:12:00+07:00")
    assert post(client, payload).status_code == 201
    (row,) = response_rows(session)
    # Before 2026-11-30 the hash kept the offset as written.
    former = payload_hash(row.counter_id, Answers(
        tuple(ANSWERS.values()), "15-30", "KK", "Cepat dan ramah.",
        {"age_band": "40-49", "sex": "L"}), datetime.fromisoformat(payload["submitted_at"]),
        as_written=True)
    assert former != row.payload_hash
    session.execute(update(Response).values(payload_hash=former))
    session.commit()
    again = post(client, payload)
    assert again.status_code == 200
    assert again.get_json()["duplicate"] is True
    assert post(client, {**payload, "comment": "lain"}).status_code == 409
    assert response_count(session) == 1


def test_the_same_id_with_other_content_is_a_409(
    client: FlaskClient, session: Session, world: World
) -> None:
    payload = body(world)
    assert post(client, payload).status_code == 201
    changed = post(client, {**payload, "answers": {**ANSWERS, "U3": 1}})
    assert changed.status_code == 409
    assert post(client, {**payload, "channel": "kiosk"}).status_code == 409  # stored as api
    assert post(client, {**payload, "channel": None}).status_code == 200  # null: api
    assert "error" in changed.get_json()
    other_counter = post(client, {**payload, "token": world.other.token, "service": "GIGI"})
    assert other_counter.status_code == 409
    (row,) = response_rows(session)
    assert row.u3 == ANSWERS["U3"]
    assert row.counter_id == world.home.counter.id


def test_the_api_is_not_blocked_by_csrf_even_with_a_browser_session(
    client: FlaskClient, session: Session, world: World
) -> None:
    assert client.get(f"/s/{world.home.token}").status_code == 200  # sets a session cookie
    with client.session_transaction() as browser_session:
        assert "csrf_token" in browser_session
    answer = post(client, body(world), headers={"Origin": "https://elsewhere.example"})
    assert answer.status_code == 201
    assert response_count(session) == 1


# Validation ------------------------------------------------------------------------------------

TOO_LONG = "k" * 1001

# name, body changes, error key, English message, Indonesian message
INVALID = [
    ("U3-out-of-range", {"answers": {**ANSWERS, "U3": 5}}, "answers.U3",
     "The value of U3 must be between 1 and 4.", "Nilai U3 harus antara 1 dan 4."),
    ("U3-zero", {"answers": {**ANSWERS, "U3": 0}}, "answers.U3",
     "The value of U3 must be between 1 and 4.", "Nilai U3 harus antara 1 dan 4."),
    ("U3-fraction", {"answers": {**ANSWERS, "U3": 2.5}}, "answers.U3",
     "The value of U3 must be between 1 and 4.", "Nilai U3 harus antara 1 dan 4."),
    ("U3-boolean", {"answers": {**ANSWERS, "U3": True}}, "answers.U3",
     "The value of U3 must be between 1 and 4.", "Nilai U3 harus antara 1 dan 4."),
    ("U3-text", {"answers": {**ANSWERS, "U3": "tiga"}}, "answers.U3",
     "The value of U3 must be between 1 and 4.", "Nilai U3 harus antara 1 dan 4."),
    ("U3-superscript", {"answers": {**ANSWERS, "U3": "\u00b2"}}, "answers.U3",
     "The value of U3 must be between 1 and 4.", "Nilai U3 harus antara 1 dan 4."),
    ("U9-missing", {"answers": {k: v for k, v in ANSWERS.items() if k != "U9"}}, "answers.U9",
     "Please choose one answer for question 9 (Handling of complaints, suggestions and feedback).",
     "Mohon pilih salah satu jawaban untuk pertanyaan 9 "
     "(Penanganan pengaduan, saran dan masukan)."),
    ("U9-null", {"answers": {**ANSWERS, "U9": None}}, "answers.U9",
     "Please choose one answer for question 9 (Handling of complaints, suggestions and feedback).",
     "Mohon pilih salah satu jawaban untuk pertanyaan 9 "
     "(Penanganan pengaduan, saran dan masukan)."),
    ("unknown-answer-key", {"answers": {**ANSWERS, "U10": 3}}, "answers.U10",
     "unknown element", "elemen tidak dikenal"),
    ("bad-uuid", {"id": "not-a-uuid"}, "id", "must be a UUID", "harus berupa UUID"),
    # 32 digits read as hex would make a UUID: the id is a string, as documented.
    ("uuid-as-a-number", {"id": 12345678901234567890123456789012}, "id",
     "must be a UUID", "harus berupa UUID"),
    ("U3-as-a-string", {"answers": {**ANSWERS, "U3": "3"}}, "answers.U3",
     "The value of U3 must be a whole number from 1 to 4, not text.",
     "Nilai U3 harus berupa bilangan bulat 1 sampai 4, bukan teks."),
    ("U3-true", {"answers": {**ANSWERS, "U3": True}}, "answers.U3",
     "The value of U3 must be between 1 and 4.", "Nilai U3 harus antara 1 dan 4."),
    ("profile-a-list", {"profile": []}, "profile", "Unknown choice.", "Pilihan tidak dikenal."),
    ("profile-false", {"profile": False}, "profile", "Unknown choice.", "Pilihan tidak dikenal."),
    ("profile-empty-text", {"profile": ""}, "profile", "Unknown choice.",
     "Pilihan tidak dikenal."),
    ("missing-id", {"id": None}, "id", "must be a UUID", "harus berupa UUID"),
    ("unknown-wait-band", {"wait_band": "3-days"}, "wait_band",
     "Unknown waiting-time choice.", "Pilihan waktu tunggu tidak dikenal."),
    ("other-units-service", {"service": "GIGI"}, "service",
     "This service is not offered by this unit.", "Layanan ini tidak tersedia di unit ini."),
    ("comment-too-long", {"comment": TOO_LONG}, "comment",
     "The comment can have at most 1000 characters (now 1001).",
     "Komentar paling banyak 1000 karakter (sekarang 1001)."),
    ("comment-not-text", {"comment": ["a"]}, "comment",
     "The comment must be text.", "Komentar harus berupa teks."),
    ("unknown-profile-option", {"profile": {"sex": "X"}}, "profile.sex",
     "Unknown choice.", "Pilihan tidak dikenal."),
    ("unknown-profile-key", {"profile": {"religion": "A"}}, "profile.religion",
     "Unknown profile field: religion.", "Isian profil tidak dikenal: religion."),
    ("submitted-at-without-offset", {"submitted_at": "2026-01-05T09:12:00"}, "submitted_at",
     "must be an ISO 8601 time with an offset, e.g. 2026-11-30T09:12:00+07:00",
     "harus berupa waktu ISO 8601 dengan zona, mis. 2026-11-30T09:12:00+07:00"),
    ("submitted-at-not-a-time", {"submitted_at": "kemarin"}, "submitted_at",
     "must be an ISO 8601 time with an offset, e.g. 2026-11-30T09:12:00+07:00",
     "harus berupa waktu ISO 8601 dengan zona, mis. 2026-11-30T09:12:00+07:00"),
    ("submitted-at-8-days-old", {"submitted_at": iso(NOW - timedelta(days=8))}, "submitted_at",
     "is more than 7 days old", "lebih dari 7 hari yang lalu"),
    ("submitted-at-10-minutes-ahead", {"submitted_at": iso(NOW + timedelta(minutes=10))},
     "submitted_at", "is more than 5 minutes in the future", "lebih dari 5 menit di masa depan"),
    ("unknown-channel", {"channel": "sms"}, "channel",
     "must be 'api' or 'kiosk'", "harus 'api' atau 'kiosk'"),
    # Falsy values were taken as "api".
    ("channel-empty", {"channel": ""}, "channel",
     "must be 'api' or 'kiosk'", "harus 'api' atau 'kiosk'"),
    ("channel-zero", {"channel": 0}, "channel",
     "must be 'api' or 'kiosk'", "harus 'api' atau 'kiosk'"),
    ("channel-false", {"channel": False}, "channel",
     "must be 'api' or 'kiosk'", "harus 'api' atau 'kiosk'"),

    ("unknown-field", {"nik": "1803012345670001"}, "nik", "unknown field", "isian tidak dikenal"),
    ("missing-token", {"token": None}, "token",
     "required: the counter's QR token, or unit and counter codes",
     "wajib diisi: token QR loket, atau kode unit dan kode loket"),
    ("empty-token", {"token": ""}, "token",
     "must be the counter's QR token", "harus berupa token QR loket"),
    ("token-and-codes", {"unit": "DUKCAPIL", "counter": "L1"}, "token",
     "name the counter once: its QR token, or unit and counter codes",
     "sebut loket sekali saja: token QR-nya, atau kode unit dan kode loket"),
]

@pytest.mark.parametrize("lang", ["en", "id"])
@pytest.mark.parametrize(("changes", "key", "message_en", "message_id"),
                         [case[1:] for case in INVALID], ids=[case[0] for case in INVALID])
def test_an_invalid_field_is_a_422_naming_it_in_the_asked_language(
    client: FlaskClient, session: Session, world: World, lang: str,
    changes: dict[str, Any], key: str, message_en: str, message_id: str,
) -> None:
    headers = {"Accept-Language": "id-ID,id;q=0.9,en;q=0.5" if lang == "id" else "en-US"}
    answer = post(client, body(world, **changes), headers=headers)
    assert answer.status_code == 422
    assert answer.get_json() == {"errors": {key: message_id if lang == "id" else message_en}}
    assert response_count(session) == 0


def test_answers_that_are_not_an_object_are_a_422(
    client: FlaskClient, session: Session, world: World
) -> None:
    answer = post(client, body(world, answers=[3] * 9))
    assert answer.status_code == 422
    errors = answer.get_json()["errors"]
    assert errors["answers"] == 'must be an object {"U1": 1-4, …}'
    assert response_count(session) == 0


def test_every_invalid_field_is_reported_at_once(
    client: FlaskClient, session: Session, world: World
) -> None:
    answers = {**ANSWERS, "U1": 9, "U2": "x"}
    del answers["U4"]
    answer = post(client, body(world, answers=answers, wait_band="?", service="GIGI",
                               comment=TOO_LONG), headers={"Accept-Language": "id"})
    assert answer.status_code == 422
    assert set(answer.get_json()["errors"]) == {
        "answers.U1", "answers.U2", "answers.U4", "wait_band", "service", "comment"}
    assert response_count(session) == 0


@pytest.mark.parametrize("offset", [timedelta(days=-6), timedelta(minutes=4),
                                    timedelta(days=-7) + timedelta(minutes=1)])
def test_late_and_slightly_early_times_within_the_bounds_are_accepted(
    client: FlaskClient, session: Session, world: World, offset: timedelta
) -> None:
    answered = NOW + offset
    answer = post(client, body(world, submitted_at=iso(answered.astimezone(WIB))))
    assert answer.status_code == 201, answer.get_json()
    (row,) = response_rows(session)
    assert row.created_at == answered


def test_a_time_in_another_offset_is_stored_as_the_same_instant(
    client: FlaskClient, session: Session, world: World
) -> None:
    assert post(client, body(world, submitted_at="2026-01-05T09:12:00+07:00")).status_code == 201
    (row,) = response_rows(session)
    assert row.created_at == datetime(2026, 1, 5, 2, 12, tzinfo=UTC)


def test_a_nul_byte_in_the_comment_is_removed(
    client: FlaskClient, session: Session, world: World
) -> None:
    assert post(client, body(world, comment="ok\x00e\x1b")).status_code == 201
    (row,) = response_rows(session)
    assert row.comment == "oke"


# Malformed requests ----------------------------------------------------------------------------


@pytest.mark.parametrize(("offset", "status"), [
    (timedelta(days=-7), 201), (timedelta(days=-7, seconds=-1), 422),
    (timedelta(minutes=5), 201), (timedelta(minutes=5, seconds=1), 422),
], ids=["7d-old", "7d1s-old", "5m-ahead", "5m1s-ahead"])
def test_submitted_at_is_accepted_up_to_7_days_old_and_5_minutes_ahead_exactly(
    client: FlaskClient, session: Session, world: World, offset: timedelta, status: int
) -> None:
    answer = post(client, body(world, submitted_at=iso(NOW + offset)))
    assert answer.status_code == status, answer.get_json()
    assert response_count(session) == (1 if status == 201 else 0)


@pytest.mark.parametrize("content_type", [
    "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None,
], ids=["text", "form", "multipart", "none"])
def test_a_body_that_is_not_sent_as_json_is_a_415(
    client: FlaskClient, session: Session, world: World, content_type: str | None
) -> None:
    """A page elsewhere can make its visitors' browsers send these across sites without a
    CORS preflight; application/json cannot be sent so, and this API grants no preflight."""
    raw = json.dumps(body(world))
    answer = client.post(URL, data=raw, headers={"Content-Type": content_type}
                         if content_type else {}, query_string={"lang": "id"})
    assert answer.status_code == 415
    assert answer.get_json() == {
        "error": "kirim isi permintaan sebagai Content-Type: application/json"}
    assert response_count(session) == 0
    sent = client.post(URL, data=raw, content_type="application/json; charset=utf-8")
    assert sent.status_code == 201
    # A +json type needs a preflight from a browser too.
    vendor = client.post(URL, data=json.dumps(body(world)),
                         content_type="application/vnd.suara+json")
    assert vendor.status_code == 201


@pytest.mark.parametrize(("field", "key", "message"), [
    ("U3", "answers.U3", "The value of U3 must be between 1 and 4."),
    ("comment", "comment", "The comment must be text."),
])
def test_an_integer_of_thousands_of_digits_is_a_422_not_a_400(
    client: FlaskClient, session: Session, world: World, field: str, key: str, message: str
) -> None:
    """Python refuses to convert integers of over 4,300 digits, but the body is JSON."""
    payload = body(world, answers={**ANSWERS, "U3": "HUGE"}) if field == "U3" \
        else body(world, comment="HUGE")
    raw = json.dumps(payload).replace('"HUGE"', "9" * 5000)
    answer = client.post(URL, data=raw, content_type="application/json")
    assert answer.status_code == 422
    assert answer.get_json() == {"errors": {key: message}}
    assert response_count(session) == 0


@pytest.mark.parametrize("raw", [b"U1=3&U2=4", b"{\"id\": ", b"\xff\xfe\x00", b"",
                                 b"[1, 2, 3]", b"\"a string\"", b"null", b"42"])
def test_a_body_that_is_not_a_json_object_is_a_400(
    client: FlaskClient, session: Session, world: World, raw: bytes
) -> None:
    answer = client.post(URL, data=raw, content_type="application/json")
    assert answer.status_code == 400
    assert isinstance(answer.get_json()["error"], str)
    assert response_count(session) == 0


@pytest.mark.parametrize("raw", ["[" * 10_000, '{"a":' * 3_000], ids=["arrays", "objects"])
def test_deeply_nested_json_is_a_400_not_a_crash(
    client: FlaskClient, session: Session, world: World, raw: str
) -> None:
    answer = client.post(URL, data=raw, content_type="application/json")
    assert answer.status_code == 400
    assert response_count(session) == 0


def test_an_unknown_token_is_a_404(
    client: FlaskClient, session: Session, world: World
) -> None:
    for token in ("NoSuchTokenAtAllHere", "short"):
        answer = post(client, body(world, token=token))
        assert answer.status_code == 404
        assert "error" in answer.get_json()
    assert response_count(session) == 0


def test_a_revoked_token_is_a_404(
    client: FlaskClient, session: Session, world: World
) -> None:
    old = world.home.token
    new = issue_token(session, world.home.counter).token
    session.commit()
    revoked = post(client, body(world, token=old))
    unknown = post(client, body(world, token="TokenYangTidakAda"))
    assert revoked.status_code == unknown.status_code == 404
    assert revoked.get_json() == unknown.get_json()  # a revoked token says no more
    assert response_count(session) == 0
    assert post(client, body(world, token=new)).status_code == 201


def test_a_token_in_use_is_refused_at_once_when_it_is_revoked(
    client: FlaskClient, session: Session, world: World
) -> None:
    assert [post(client, body(world)).status_code for _ in range(3)] == [201, 201, 201]
    issue_token(session, world.home.counter)
    session.commit()
    assert post(client, body(world)).status_code == 404
    assert response_count(session) == 3


def test_an_inactive_counter_is_refused_with_a_410_that_says_so(
    client: FlaskClient, session: Session, world: World
) -> None:
    session.execute(update(Counter).where(Counter.id == world.home.counter.id)
                    .values(active=False))
    session.commit()
    refused = post(client, body(world), query_string={"lang": "id"})
    assert refused.status_code == 410
    assert refused.get_json() == {
        "error": "loket ini tidak digunakan lagi; tidak ada yang disimpan"}
    assert response_count(session) == 0


@pytest.mark.parametrize("token", ["A" * 15 + "\x00", "\x00" * 16, "\u00e9" * 16])
def test_a_nul_byte_or_odd_characters_in_the_token_are_a_404_not_a_crash(
    client: FlaskClient, session: Session, world: World, token: str
) -> None:
    assert post(client, body(world, token=token)).status_code == 404
    assert response_count(session) == 0


def test_a_body_over_16_kb_is_a_413(
    client: FlaskClient, session: Session, world: World
) -> None:
    encoded = json.dumps(body(world))
    exactly = encoded + " " * (16 * 1024 - len(encoded))
    assert client.post(URL, data=exactly, content_type="application/json").status_code == 201
    over = json.dumps(body(world)) + " " * (16 * 1024)
    answer = client.post(URL, data=over, content_type="application/json")
    assert answer.status_code == 413
    assert "error" in answer.get_json()
    assert response_count(session) == 1


def test_a_chunked_body_is_read_whole(
    client: FlaskClient, session: Session, world: World
) -> None:
    assert post_chunked(client, URL, json.dumps(body(world)).encode(), "application/json"
                        ).status_code == 201
    assert response_count(session) == 1


def test_a_chunked_body_over_16_kb_is_a_413_even_when_its_start_is_valid_json(
    client: FlaskClient, session: Session, world: World
) -> None:
    encoded = json.dumps(body(world))
    valid_start = (encoded + " " * (16 * 1024 - len(encoded))).encode() + b"GARBAGE" * 100
    for data in (valid_start, (encoded + " " * 20_000).encode(), b"x" * 200_000):
        answer = post_chunked(client, URL, data, "application/json")
        assert answer.status_code == 413, len(data)
        assert "error" in answer.get_json()
    assert response_count(session) == 0


@pytest.mark.parametrize(("headers", "expected"), [
    ({"Accept-Language": "id"}, "token QR loket tidak dikenal atau sudah dicabut"),
    ({}, "unknown or revoked counter token"),
    ({"Accept-Language": "fr, id;q=0.5"}, "token QR loket tidak dikenal atau sudah dicabut"),
    ({"Accept-Language": "fr"}, "unknown or revoked counter token"),
])
def test_refusals_follow_accept_language(
    client: FlaskClient, world: World, headers: dict[str, str], expected: str
) -> None:
    answer = post(client, body(world, token="Unknown0Token0123"), headers=headers)
    assert answer.status_code == 404
    assert answer.get_json() == {"error": expected}


def test_every_refusal_speaks_indonesian_when_asked_and_lang_overrides_the_header(
    client: FlaskClient, session: Session, world: World
) -> None:
    indonesian = {"Accept-Language": "id-ID,id;q=0.9"}
    not_json = client.post(URL, data="{", content_type="application/json", headers=indonesian)
    assert not_json.get_json() == {"error": "isi permintaan bukan JSON"}
    a_list = post(client, [1], headers=indonesian)
    assert a_list.get_json() == {"error": "isi permintaan harus berupa objek JSON"}
    too_big = client.post(URL, data="x" * (17 * 1024), content_type="application/json",
                          headers=indonesian)
    assert too_big.get_json() == {"error": "isi permintaan lebih dari 16 KB"}
    payload = body(world)
    assert post(client, payload).status_code == 201
    conflict = post(client, {**payload, "comment": "lain"}, headers=indonesian)
    assert conflict.get_json() == {"error": "id ini sudah dipakai untuk tanggapan lain"}
    english = client.post(f"{URL}?lang=en", json={**payload, "comment": "lain"},
                          headers=indonesian)
    assert english.get_json() == {
        "error": "this id was already used for a different response"}
    field = client.post(f"{URL}?lang=en", json=body(world, wait_band="?"), headers=indonesian)
    assert field.get_json() == {"errors": {"wait_band": "Unknown waiting-time choice."}}


def test_a_body_over_the_global_limit_is_a_json_413(
    client: FlaskClient, session: Session, world: World
) -> None:
    answer = client.post(URL, data="x" * (80 * 1024), content_type="application/json")
    assert answer.status_code == 413
    assert "error" in answer.get_json()


# Concurrency -----------------------------------------------------------------------------------


@pytest.mark.parametrize("threads", [2, 8])
@pytest.mark.parametrize("ready", ["nothing", "salt", "salt-and-version"])
def test_concurrent_posts_of_one_id_store_one_row(
    app: Flask, session: Session, world: World, credential: str, threads: int, ready: str
) -> None:
    """``ready``: what exists before the race. With nothing, the first request inserts the
    day's salt and the others wait on its lock, so the response insert itself barely races;
    with the salt and the survey version already stored, the requests meet at the insert
    (a check-then-insert failed there). Salt without version: concurrent first uses of the
    survey version were a unique violation (500) on PostgreSQL."""
    if ready != "nothing":
        daily_salt(session, NOW.astimezone(app.extensions["suara.settings"].tz).date())
    if ready == "salt-and-version":
        survey_version_id(session, latest(app.extensions["suara.surveys"], DEFAULT_SURVEY_ID))
    session.commit()
    payload = body(world)
    barrier = threading.Barrier(threads)

    def send() -> tuple[int, Any]:
        client = as_integration(app.test_client(), credential)
        barrier.wait(timeout=30)
        answer = client.post(URL, json=payload)
        return answer.status_code, answer.get_json()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = [future.result(timeout=60)
                   for future in [pool.submit(send) for _ in range(threads)]]

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * (threads - 1) + [201]
    for status, answer in results:
        assert answer["id"] == payload["id"]
        assert answer["duplicate"] is (status == 200)
    rows = response_rows(session)
    assert [r.client_id for r in rows] == [uuid.UUID(payload["id"])]


def test_concurrent_posts_of_different_ids_are_all_stored(
    app: Flask, session: Session, world: World, credential: str
) -> None:
    payloads = [body(world) for _ in range(6)]
    barrier = threading.Barrier(len(payloads))

    def send(payload: dict[str, Any]) -> int:
        client = as_integration(app.test_client(), credential)
        barrier.wait(timeout=30)
        return client.post(URL, json=payload).status_code

    with ThreadPoolExecutor(max_workers=len(payloads)) as pool:
        statuses = list(pool.map(send, payloads, timeout=60))
    assert statuses == [201] * len(payloads)
    assert {r.client_id for r in response_rows(session)} == {
        uuid.UUID(p["id"]) for p in payloads}


# Rate limit and the description ----------------------------------------------------------------


@pytest.fixture
def limited_app(settings: Settings) -> Iterator[Flask]:
    application = create_app(settings.replace(rate_limit_submit="3 per minute"))
    application.config.update(TESTING=True)
    yield application
    application.extensions["suara.db"].dispose()


def test_the_fourth_post_in_a_minute_gets_a_json_429(
    limited_app: Flask, session: Session, world: World, credential: str
) -> None:
    client = as_integration(limited_app.test_client(), credential)
    for _ in range(3):
        assert post(client, body(world)).status_code == 201
    blocked = post(client, body(world))
    assert blocked.status_code == 429
    assert blocked.is_json and "error" in blocked.get_json()
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    indonesian = post(client, body(world), headers={"Accept-Language": "id-ID,id;q=0.9"})
    assert indonesian.status_code == 429
    assert indonesian.get_json()["error"].startswith(
        "terlalu banyak permintaan dari alamat ini (batas 3 per menit); coba lagi setelah ")
    assert response_count(session) == 3


def test_a_request_the_short_limit_refuses_does_not_spend_the_long_one(
    settings: Settings, world: World, credential: str
) -> None:
    """Limits apply shortest window first, however the setting lists them."""
    application = create_app(settings.replace(rate_limit_submit="3 per hour;2 per minute"))
    application.config.update(TESTING=True)
    client = as_integration(application.test_client(), credential)
    statuses = [post(client, body(world)).status_code for _ in range(4)]
    assert statuses == [201, 201, 429, 429]
    assert "(limit 2 per minute)" in post(client, body(world)).get_json()["error"]
    hour = parse("3 per hour")
    stats = limiter.limiter.get_window_stats(hour, "127.0.0.1", "api.create_response")
    assert stats.remaining == 1  # only the two stored responses counted against the hour
    # The form has a budget of its own: the API's refusals don't hold it back.
    assert open_and_submit(client, world.home.token).status_code == 303
    application.extensions["suara.db"].dispose()


def test_a_wrong_method_is_a_json_405_that_names_the_allowed_ones(client: FlaskClient) -> None:
    answer = client.put(URL, json={})
    assert answer.status_code == 405
    assert answer.is_json and "error" in answer.get_json()
    assert set(answer.headers["Allow"].replace(" ", "").split(",")) >= {"POST"}


def test_the_openapi_document_describes_the_responses_endpoint(
    client: FlaskClient, settings: Settings
) -> None:
    answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    assert answer.mimetype == "application/json"
    document = json.loads(answer.get_data(as_text=True))
    assert document["openapi"] == "3.1.0"
    post_operation = document["paths"]["/responses"]["post"]
    assert {"201", "200", "409", "413", "415", "422"} <= set(post_operation["responses"])
    choices = post_operation["requestBody"]["content"]["application/json"]["schema"]["oneOf"]
    schema, kiosk, batch = (resolve(document, choice) for choice in choices)
    assert set(schema["required"]) == {"id", "answers"}  # and a token, or unit and counter
    assert {"token", "unit", "counter"} <= set(schema["properties"])
    assert post_operation["security"] == [{"integrationToken": []}, {"kioskCredential": []}]
    assert set(kiosk["required"]) == {"id", "counter", "answers"}
    assert set(batch["required"]) == {"responses"}
    assert document["servers"] == [{"url": f"{settings.public_base_url}/api/v1"}]
    too_many = post_operation["responses"]["429"]
    assert too_many["headers"]["Retry-After"]["schema"]["type"] == "integer"


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """A schema with its local $ref (#/components/schemas/…) followed."""
    while "$ref" in schema:
        *_, name = schema["$ref"].split("/")
        schema = document["components"]["schemas"][name]
    return schema


def test_the_served_openapi_document_is_valid_openapi_3_1(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    validate(document, cls=OpenAPIV31SpecValidator)
    # The validator follows references: a schema the document names but lacks is an error.
    del document["components"]["schemas"]["ErrorMessage"]
    with pytest.raises(Unresolvable):
        validate(document, cls=OpenAPIV31SpecValidator)


def test_the_documented_body_is_the_surveys_questionnaire(app: Flask, client: FlaskClient
                                                          ) -> None:
    """The models declare U1…U9, the wait bands and the comment's length once for the API;
    the survey file declares them for the form. They must agree."""
    survey = skm_survey(app)
    document = client.get("/api/v1/openapi.json").get_json()
    submission = resolve(document, {"$ref": "#/components/schemas/ResponseSubmission"})
    answers = resolve(document, submission["properties"]["answers"])
    assert tuple(answers["properties"]) == survey.element_codes
    assert set(answers["required"]) == set(survey.element_codes)
    wait_band, _ = submission["properties"]["wait_band"]["anyOf"]
    assert tuple(wait_band["enum"]) == tuple(band.code for band in survey.wait_bands)
    comment, _ = submission["properties"]["comment"]["anyOf"]
    assert comment["maxLength"] == survey.comment_max_length


def test_the_api_pages_never_carry_a_nip(
    client: FlaskClient, session: Session, world: World
) -> None:
    answer = post(client, body(world))
    assert NIP not in answer.get_data(as_text=True)
    assert NIP not in client.get("/api/v1/openapi.json").get_data(as_text=True)


@pytest.mark.parametrize("submitted_at", ["9999-12-31T23:59:59-14:00",
                                          "0001-01-01T00:00:00+14:00"])
def test_a_submitted_at_outside_the_utc_range_is_a_422_not_a_crash(
    client: FlaskClient, session: Session, world: World, submitted_at: str
) -> None:
    # Review: lookup_token binds created_at (= submitted_at) before the 422 for a time out
    # of bounds is returned; UTCDateTime's astimezone(UTC) overflows for these instants.
    answer = post(client, body(world, submitted_at=submitted_at))
    assert answer.status_code == 422
    assert set(answer.get_json()["errors"]) == {"submitted_at"}
    assert response_count(session) == 0


# The language of every message -----------------------------------------------------------------


def messages_of(answer: TestResponse) -> list[str]:
    """The message texts of an error body: its ``error``, or its ``errors`` in key order."""
    data = answer.get_json()
    if "error" in data:
        return [data["error"]]
    return [data["errors"][key] for key in sorted(data["errors"])]


Send = Callable[[FlaskClient, World, str], TestResponse]


def _conflict(client: FlaskClient, world: World, lang: str) -> TestResponse:
    payload = body(world)
    assert post(client, payload).status_code == 201
    return post(client, {**payload, "comment": "lain"}, query_string={"lang": lang})


def _invalid(changes: dict[str, Any]) -> Send:
    return lambda client, world, lang: post(client, body(world, **changes),
                                            query_string={"lang": lang})


ERRORS: list[tuple[str, int, Send]] = [
    ("not-json", 400, lambda client, world, lang: client.post(
        URL, data="{", content_type="application/json", query_string={"lang": lang})),
    ("not-an-object", 400, lambda client, world, lang: post(
        client, [1], query_string={"lang": lang})),
    ("unknown-token", 404, _invalid({"token": "Unknown0Token0123"})),
    ("conflict", 409, _conflict),
    ("too-large", 413, lambda client, world, lang: client.post(
        URL, data="x" * (17 * 1024), content_type="application/json",
        query_string={"lang": lang})),
    ("not-sent-as-json", 415, lambda client, world, lang: client.post(
        URL, data=json.dumps(body(world)), content_type="text/plain",
        query_string={"lang": lang})),
    ("answers-not-an-object", 422, _invalid({"answers": [3] * 9})),
    *[(f"422-{case[0]}", 422, _invalid(case[1])) for case in INVALID],
    ("no-such-path", 404, lambda client, world, lang: client.get(
        "/api/v1/no-such-thing", query_string={"lang": lang})),
    ("wrong-method", 405, lambda client, world, lang: client.put(
        URL, json={}, query_string={"lang": lang})),
    # Refusals no API view makes itself, from a path added for the test (below).
    *[(f"raised-{status}", status, lambda client, world, lang, status=status: client.get(
        f"/api/v1/test-failure/{status}", query_string={"lang": lang}))
      for status in (400, 413, 418, 500)],
]


@pytest.fixture
def failing_client(app: Flask, credential: str) -> FlaskClient:
    """A client of an app with one more API path, failing with the status it is given
    (500: an exception, answered by the handler of unexpected errors)."""

    def fail(status: int) -> ResponseReturnValue:
        if status == 500:
            raise RuntimeError("a defect")
        abort(status)

    app.add_url_rule("/api/v1/test-failure/<int:status>", view_func=fail)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return as_integration(app.test_client(), credential)


@pytest.mark.parametrize(("status", "send"), [case[1:] for case in ERRORS],
                         ids=[case[0] for case in ERRORS])
def test_every_error_message_is_english_with_lang_en_and_indonesian_with_lang_id(
    failing_client: FlaskClient, world: World, status: int, send: Send
) -> None:
    english = send(failing_client, world, "en")
    indonesian = send(failing_client, world, "id")
    assert english.status_code == indonesian.status_code == status
    assert english.is_json and indonesian.is_json
    pairs = list(zip(messages_of(english), messages_of(indonesian), strict=True))
    assert pairs
    for in_english, in_indonesian in pairs:
        assert indonesian_words(in_english) == [], in_english
        assert in_indonesian != in_english
        assert indonesian_words(in_indonesian) != [], in_indonesian


def test_werkzeugs_descriptions_are_replaced_by_the_catalogues(
    failing_client: FlaskClient
) -> None:
    assert failing_client.get("/api/v1/no-such-thing").get_json() == {
        "error": "the requested URL was not found on this server; check its spelling"}
    assert failing_client.get("/api/v1/no-such-thing?lang=id").get_json() == {
        "error": "URL yang diminta tidak ditemukan di server ini; periksa penulisannya"}
    assert failing_client.put(f"{URL}?lang=id").get_json() == {
        "error": "metode PUT tidak diizinkan untuk URL ini; yang diizinkan: OPTIONS, POST"}
    assert failing_client.get("/api/v1/test-failure/500?lang=id").get_json() == {
        "error": "terjadi kesalahan di server"}
    assert failing_client.get("/api/v1/test-failure/418").get_json() == {
        "error": "the request could not be processed (HTTP 418)"}


@pytest.mark.parametrize(("spec", "english", "indonesian"), [
    ("3/second", "3 per second", "3 per detik"),
    ("3 per minute", "3 per minute", "3 per menit"),
    ("120 per 1 minute", "120 per minute", "120 per menit"),
    ("1 per 5 minutes", "1 per 5 minutes", "1 per 5 menit"),
    ("2000 per hour", "2000 per hour", "2000 per jam"),
    ("2000 per 2 hours", "2000 per 2 hours", "2000 per 2 jam"),
    ("10 per 3 seconds", "10 per 3 seconds", "10 per 3 detik"),
    ("500 per day", "500 per day", "500 per hari"),
    ("500 per 7 days", "500 per 7 days", "500 per 7 hari"),
    ("1000 per month", "1000 per month", "1000 per bulan"),
    ("1000 per 2 months", "1000 per 2 months", "1000 per 2 bulan"),
    ("9000 per year", "9000 per year", "9000 per tahun"),
    ("9000 per 2 years", "9000 per 2 years", "9000 per 2 tahun"),
])
def test_a_limit_is_worded_in_each_language(
    app: Flask, spec: str, english: str, indonesian: str
) -> None:
    for lang, expected in (("en", english), ("id", indonesian)):
        with app.test_request_context(f"{URL}?lang={lang}"):
            assert limit_phrase(parse(spec)) == expected


def test_the_429_names_the_limit_and_the_wait_in_each_language(
    limited_app: Flask, session: Session, world: World, credential: str
) -> None:
    client = as_integration(limited_app.test_client(), credential)
    for _ in range(3):
        assert post(client, body(world)).status_code == 201
    english = post(client, body(world), query_string={"lang": "en"})
    indonesian = post(client, body(world), query_string={"lang": "id"})
    assert english.status_code == indonesian.status_code == 429
    assert re.fullmatch(r"too many requests from this address \(limit 3 per minute\); "
                        r"retry after \d+ s", english.get_json()["error"])
    assert indonesian_words(english.get_json()["error"]) == []
    assert re.fullmatch(r"terlalu banyak permintaan dari alamat ini \(batas 3 per menit\); "
                        r"coba lagi setelah \d+ detik", indonesian.get_json()["error"])


def test_the_questionnaire_version_shown_may_be_named(
    client: FlaskClient, session: Session, world: World
) -> None:
    assert post(client, body(world, survey="skm-2017/1")).status_code == 201
    for wrong in ("skm-2017/9", "other/1", "skm-2017/x", 7, "skm-2017/1\x00"):
        refused = post(client, body(world, survey=wrong))
        assert refused.status_code == 422, wrong
        assert "survey" in refused.get_json()["errors"]
    assert response_count(session) == 1
