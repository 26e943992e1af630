"""The kiosk's API (docs/kiosk.md): pairing, config, heartbeats, calls, and its answers
through POST /api/v1/responses with the device credential, one at a time or in batches."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from factories import (
    SeededUnit,
    aggregate,
    integration_token,
    make_officer,
    make_other_unit,
    make_unit,
    put_on_duty,
    release,
    response_rows,
)
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from app import create_app, kiosks
from app.config import Settings
from app.models import (
    Indicator,
    Kiosk,
    KioskCall,
    KioskPending,
    KioskQuarantine,
    Officer,
    Response,
)
from app.org import create_counter

NOW = datetime(2026, 1, 5, 2, 30, tzinfo=UTC)  # Monday 09.30 WIB
ANSWERS = {f"U{i}": 1 + i % 4 for i in range(1, 10)}
URL = "/api/v1/responses"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock(NOW)
    monkeypatch.setattr("app.web.api_kiosk.utcnow", clock)
    return clock


@dataclass
class World:
    home: SeededUnit
    other: SeededUnit
    officer: Officer
    kiosk: Kiosk
    code: str


@pytest.fixture
def world(session: Session, clock: Clock) -> World:
    home = make_unit(session, "PKM-KTB", "Puskesmas Kotabumi", kind="puskesmas",
                     services=(("UMUM", "Poli Umum"), ("GIGI", "Poli Gigi")),
                     counter=("POLI-UMUM", "Poli Umum"))
    create_counter(session, home.unit, "POLI-GIGI", "Poli Gigi",
                   default_service=home.services[1])
    other = make_other_unit(session)
    officer = make_officer(session, home)
    put_on_duty(session, officer, home.counter, NOW)
    kiosk, code = kiosks.create_kiosk(session, home.unit, kiosks.KioskSettings(
        name="Tablet lobi", placement="Dekat pintu keluar"), now=NOW - timedelta(minutes=1))
    session.commit()
    return World(home, other, officer, kiosk, code)


def pair(client: FlaskClient, code: str) -> TestResponse:
    return client.post("/api/v1/kiosk/pair", json={"code": code})


@pytest.fixture
def credential(client: FlaskClient, world: World) -> str:
    answer = pair(client, world.code)
    assert answer.status_code == 201, answer.get_json()
    value: str = answer.get_json()["credential"]
    return value


def auth(credential: str, scheme: str = "Bearer") -> dict[str, str]:
    return {"Authorization": f"{scheme} {credential}"}


def answer(**changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": str(uuid.uuid4()), "counter": "POLI-UMUM", "service": "UMUM",
        "survey": "skm-2017/1", "answers": dict(ANSWERS), "wait_band": "15-30",
        "comment": None, "started_at": (NOW - timedelta(seconds=40)).isoformat(),
        "submitted_at": NOW.isoformat(),
    }
    item.update(changes)
    return item


def send(client: FlaskClient, credential: str, body: object) -> TestResponse:
    return client.post(URL, json=body, headers=auth(credential))


def beat(client: FlaskClient, credential: str, **fields: Any) -> TestResponse:
    body = {"device_time": NOW.isoformat(), **fields}
    return client.post("/api/v1/kiosk/heartbeat", json=body, headers=auth(credential))


# Pairing ---------------------------------------------------------------------------------------


def test_a_pairing_code_gives_a_credential_once(
    client: FlaskClient, session: Session, world: World
) -> None:
    first = pair(client, world.code)
    assert first.status_code == 201
    body = first.get_json()
    assert body["credential"].startswith("ksk_")
    assert body["kiosk"] == {"id": world.kiosk.id, "name": "Tablet lobi",
                             "placement": "Dekat pintu keluar",
                             "unit": {"code": "PKM-KTB", "name": "Puskesmas Kotabumi"}}
    again = pair(client, world.code)
    assert again.status_code == 403
    assert "pairing code" in again.get_json()["error"]
    stored = session.scalar(select(Kiosk.credential_hash).where(Kiosk.id == world.kiosk.id))
    release(session)
    assert stored is not None and body["credential"] not in stored  # only its hash


def test_a_pairing_code_expires_after_ten_minutes(
    client: FlaskClient, world: World, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock.now = NOW + timedelta(minutes=9, seconds=59)  # created at NOW - 1 min
    assert pair(client, world.code).status_code == 403


@pytest.mark.parametrize("code", ["12345", "1234567", "abcdef", "12 456", "١٢٣٤٥٦", 123456,
                                  None, "12345\x00"])
def test_a_malformed_code_is_a_422(client: FlaskClient, world: World, code: object) -> None:
    answer = client.post("/api/v1/kiosk/pair", json={"code": code})
    assert answer.status_code == 422
    assert "code" in answer.get_json()["errors"]


def test_pairing_is_rate_limited(settings: Settings, session: Session, world: World) -> None:
    application = create_app(settings.replace(rate_limit_pair="3 per minute"))
    application.config.update(TESTING=True)
    client = application.test_client()
    statuses = [pair(client, "000000").status_code for _ in range(4)]
    assert statuses == [403, 403, 403, 429]
    assert "Retry-After" in pair(client, world.code).headers  # even the right code waits
    application.extensions["suara.db"].dispose()


def test_a_new_code_replaces_the_credential(
    client: FlaskClient, session: Session, world: World, credential: str
) -> None:
    kiosk = session.get(Kiosk, world.kiosk.id)
    assert kiosk is not None
    code = kiosks.issue_pairing(session, kiosk, now=NOW)
    session.commit()
    fresh = pair(client, code).get_json()["credential"]
    assert client.get("/api/v1/kiosk/config", headers=auth(credential)).status_code == 401
    assert client.get("/api/v1/kiosk/config", headers=auth(fresh)).status_code == 200


# Config, heartbeat, calls ----------------------------------------------------------------------


def test_the_config_holds_counters_questionnaire_and_settings(
    client: FlaskClient, world: World, credential: str
) -> None:
    answer = client.get("/api/v1/kiosk/config", headers=auth(credential, "bearer"))
    assert answer.status_code == 200
    body = answer.get_json()
    assert [c["counter"] for c in body["choices"]] == ["POLI-GIGI", "POLI-UMUM"]
    assert body["choices"][1] == {"counter": "POLI-UMUM", "name": "Poli Umum",
                                  "service": "UMUM", "service_name": "Poli Umum"}
    assert body["settings"] == {"idle_seconds": 30, "countdown_seconds": 20}
    survey = body["survey"]
    assert survey["id"] == "skm-2017/1"
    assert [e["code"] for e in survey["elements"]] == [f"U{i}" for i in range(1, 10)]
    assert [o["score"] for o in survey["elements"][3]["options"]] == [1, 2, 3, 4]
    assert survey["elements"][3]["options"][3]["label"] == {"id": "Gratis",
                                                           "en": "Free of charge"}
    assert "NIP" not in json.dumps(body) and world.officer.nip not in json.dumps(body)


def test_a_kiosk_bound_to_a_counter_offers_only_it(
    client: FlaskClient, session: Session, world: World, credential: str
) -> None:
    kiosk = session.get(Kiosk, world.kiosk.id)
    assert kiosk is not None
    kiosks.update_kiosk(session, kiosk, kiosks.KioskSettings(
        name="Tablet lobi", counter_ids=(world.home.counter.id,)), now=NOW)
    session.commit()
    body = client.get("/api/v1/kiosk/config", headers=auth(credential)).get_json()
    assert [c["counter"] for c in body["choices"]] == ["POLI-UMUM"]
    refused = send(client, credential, answer(counter="POLI-GIGI", service="GIGI"))
    assert refused.status_code == 422
    assert "counter" in refused.get_json()["errors"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer ksk_nope"},
                                     {"Authorization": "Basic a3NrXw=="}])
def test_without_a_credential_the_kiosk_endpoints_are_401(
    client: FlaskClient, world: World, headers: dict[str, str]
) -> None:
    assert client.get("/api/v1/kiosk/config", headers=headers).status_code == 401
    beat = client.post("/api/v1/kiosk/heartbeat", json={"device_time": NOW.isoformat()},
                       headers=headers)
    assert beat.status_code == 401
    assert beat.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_heartbeat_stores_the_state_and_learns_the_clock(
    client: FlaskClient, session: Session, world: World, credential: str
) -> None:
    pending = [str(uuid.uuid4()) for _ in range(3)]
    answer = beat(client, credential, device_time=(NOW - timedelta(minutes=3)).isoformat(),
                  app_version="abc123", queue_length=3,
                  oldest_unsent_at=(NOW - timedelta(hours=2, minutes=3)).isoformat(),
                  quarantined=1, battery=54, charging=False, pending_ids=pending)
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["settings"] == {"idle_seconds": 30, "countdown_seconds": 20}
    config = client.get("/api/v1/kiosk/config", headers=auth(credential)).get_json()
    assert body["config_version"] == config["version"]
    session.expire_all()
    kiosk = session.get(Kiosk, world.kiosk.id)
    assert kiosk is not None
    assert (kiosk.app_version, kiosk.queue_length, kiosk.quarantined, kiosk.battery,
            kiosk.charging) == ("abc123", 3, 1, 54, False)
    assert kiosk.clock_offset_ms == 3 * 60 * 1000
    assert kiosk.last_seen_at == NOW
    assert kiosk.oldest_unsent_at == NOW - timedelta(hours=2)  # on the server's clock
    ids = set(session.scalars(select(KioskPending.client_id)))
    release(session)
    assert ids == {uuid.UUID(i) for i in pending}


@pytest.mark.parametrize("fields", [
    {"battery": 101}, {"battery": "50"}, {"queue_length": -1}, {"charging": "yes"},
    {"device_time": "yesterday"}, {"device_time": "2026-01-05T09:00:00"},
    {"pending_ids": ["not-a-uuid"]}, {"app_version": "x\x00y"}, {"surprise": 1},
])
def test_a_bad_heartbeat_is_a_422_and_stores_nothing(
    client: FlaskClient, session: Session, world: World, credential: str,
    fields: dict[str, Any]
) -> None:
    answer = beat(client, credential, **fields)
    assert answer.status_code == 422
    session.expire_all()
    kiosk = session.get(Kiosk, world.kiosk.id)
    assert kiosk is not None and kiosk.last_seen_at is None
    release(session)


def test_a_call_for_an_officer_is_recorded_once(
    client: FlaskClient, session: Session, world: World, credential: str
) -> None:
    first = client.post("/api/v1/kiosk/calls", json={"counter": "POLI-UMUM"},
                        headers=auth(credential))
    again = client.post("/api/v1/kiosk/calls", json={}, headers=auth(credential))
    assert first.status_code == again.status_code == 201
    assert first.get_json()["id"] == again.get_json()["id"]
    (call,) = session.scalars(select(KioskCall)).all()
    assert (call.unit_id, call.counter_id) == (world.home.unit.id, world.home.counter.id)
    release(session)
    assert client.post("/api/v1/kiosk/calls", json={"counter": "A\x00"},
                       headers=auth(credential)).status_code == 422


# Answers ---------------------------------------------------------------------------------------


def test_a_kiosk_answer_is_stored_with_its_kiosk_counter_and_officer(
    client: FlaskClient, session: Session, world: World, credential: str
) -> None:
    item = answer()
    stored = send(client, credential, item)
    assert stored.status_code == 201, stored.get_json()
    assert stored.get_json() == {"id": item["id"], "duplicate": False, "flags": {
        "repeat": False, "bot": False, "fast": False, "burst": False}}
    (row,) = response_rows(session)
    assert (row.channel, row.kiosk_id, row.counter_id, row.service_id, row.officer_id) == (
        "kiosk", world.kiosk.id, world.home.counter.id, world.home.services[0].id,
        world.officer.id)
    assert row.started_at == NOW - timedelta(seconds=40)
    assert row.created_at == NOW
    release(session)
    again = send(client, credential, item)
    assert again.status_code == 200 and again.get_json()["duplicate"] is True


def test_the_phone_forms_repeat_rule_does_not_apply_to_kiosks(
    client: FlaskClient, session: Session, world: World, credential: str
) -> None:
    starts = [NOW - timedelta(minutes=m) for m in (6, 4, 2)]
    results = send(client, credential, {"responses": [
        answer(started_at=s.isoformat(), submitted_at=(s + timedelta(seconds=50)).isoformat())
        for s in starts]}).get_json()["results"]
    assert [r["status"] for r in results] == [201, 201, 201]
    assert not any(r["flags"]["repeat"] for r in results)
    counted = session.scalar(select(func.count()).select_from(Response).where(
        Response.unflagged()))
    release(session)
    assert counted == 3


def test_a_fast_session_and_a_burst_are_kept_and_flagged(
    client: FlaskClient, session: Session, world: World, credential: str
) -> None:
    first_start = NOW - timedelta(minutes=5)
    first_end = first_start + timedelta(seconds=45)
    batch = [
        answer(started_at=first_start.isoformat(), submitted_at=first_end.isoformat()),
        # Started 3 s after the previous one ended: a burst (threshold 5 s).
        answer(started_at=(first_end + timedelta(seconds=3)).isoformat(),
               submitted_at=(first_end + timedelta(seconds=60)).isoformat()),
        # Completed in 6 s: fast (threshold 7 s).
        answer(started_at=(NOW - timedelta(seconds=6)).isoformat(),
               submitted_at=NOW.isoformat()),
        # 7 s and 6 s after: neither.
        answer(started_at=(first_end + timedelta(minutes=2)).isoformat(),
               submitted_at=(first_end + timedelta(minutes=2, seconds=7)).isoformat()),
    ]
    results = send(client, credential, {"responses": batch}).get_json()["results"]
    assert [(r["flags"]["fast"], r["flags"]["burst"]) for r in results] == [
        (False, False), (False, True), (True, False), (False, False)]
    rows = {r.client_id: r for r in response_rows(session)}
    assert [(rows[uuid.UUID(b["id"])].flag_fast, rows[uuid.UUID(b["id"])].flag_burst)
            for b in batch] == [(False, False), (False, True), (True, False), (False, False)]
    counted = session.scalar(select(func.count()).select_from(Response).where(
        Response.unflagged()))
    release(session)
    assert counted == 2


def test_thresholds_are_settings_of_the_kiosk(
    client: FlaskClient, session: Session, world: World, credential: str
) -> None:
    kiosk = session.get(Kiosk, world.kiosk.id)
    assert kiosk is not None
    kiosks.update_kiosk(session, kiosk, kiosks.KioskSettings(
        name="Tablet lobi", fast_seconds=0, burst_seconds=0), now=NOW)
    session.commit()
    result = send(client, credential, answer(
        started_at=(NOW - timedelta(seconds=2)).isoformat())).get_json()
    assert result["flags"]["fast"] is False


def test_a_batch_answers_each_item_and_quarantines_the_refused(
    client: FlaskClient, session: Session, world: World, credential: str
) -> None:
    good = answer()
    conflicting = answer()
    assert send(client, credential, conflicting).status_code == 201
    changed = {**conflicting, "answers": {**ANSWERS, "U1": 4 if ANSWERS["U1"] != 4 else 1}}
    invalid = answer(answers={**ANSWERS, "U3": 7})
    results = send(client, credential, {"responses": [good, changed, invalid, good]}
                   ).get_json()["results"]
    assert [r["status"] for r in results] == [201, 409, 422, 200]
    assert [r["id"] for r in results] == [good["id"], changed["id"], invalid["id"], good["id"]]
    assert "answers.U3" in results[2]["errors"]
    assert "error" in results[1]
    held = {q.client_id: q for q in session.scalars(select(KioskQuarantine))}
    assert set(held) == {uuid.UUID(changed["id"]), uuid.UUID(invalid["id"])}
    assert held[uuid.UUID(changed["id"])].status == 409
    assert json.loads(held[uuid.UUID(invalid["id"])].payload)["answers"]["U3"] == 7
    assert "answers.U3" in json.loads(held[uuid.UUID(invalid["id"])].reason)
    stored = len(response_rows(session))
    release(session)
    assert stored == 2


@pytest.mark.parametrize(("changes", "field"), [
    ({"counter": "NOPE"}, "counter"),
    ({"counter": "POLI\x00UMUM"}, "counter"),
    ({"counter": "GIGI"}, "counter"),  # another unit's counter
    ({"counter": None}, "counter"),
    ({"survey": "skm-2017/9"}, "survey"),
    ({"survey": "../etc"}, "survey"),
    ({"service": "KK"}, "service"),
    ({"submitted_at": (NOW - timedelta(days=31)).isoformat()}, "submitted_at"),
    ({"submitted_at": (NOW + timedelta(minutes=6)).isoformat()}, "submitted_at"),
    ({"started_at": (NOW + timedelta(seconds=1)).isoformat()}, "started_at"),
    ({"started_at": (NOW - timedelta(hours=3)).isoformat()}, "started_at"),
    ({"started_at": "2026-01-05 09:30"}, "started_at"),
    ({"channel": "qr"}, "channel"),
    ({"token": "abc"}, "token"),
    ({"id": "nope"}, "id"),
    ({"answers": {**ANSWERS, "U10": 1}}, "answers.U10"),
    ({"answers": {**ANSWERS, "U2": "3"}}, "answers.U2"),
    ({"comment": "x" * 1001}, "comment"),
])
def test_a_bad_answer_is_a_422_naming_the_field(
    client: FlaskClient, session: Session, world: World, credential: str,
    changes: dict[str, Any], field: str
) -> None:
    refused = send(client, credential, answer(**changes))
    assert refused.status_code == 422, refused.get_json()
    assert field in refused.get_json()["errors"]
    assert response_rows(session) == []
    release(session)


def test_answers_are_accepted_thirty_days_late_on_the_corrected_clock(
    client: FlaskClient, session: Session, world: World, credential: str
) -> None:
    # The tablet's clock is 10 minutes behind the server's.
    assert beat(client, credential,
                device_time=(NOW - timedelta(minutes=10)).isoformat()).status_code == 200
    late = NOW - timedelta(days=29, hours=23)
    item = answer(started_at=(late - timedelta(minutes=1)).isoformat(),
                  submitted_at=late.isoformat())
    assert send(client, credential, item).status_code == 201
    (row,) = response_rows(session)
    assert row.created_at == late + timedelta(minutes=10)
    release(session)
    # Ahead by more than the skew once corrected: 4 minutes ahead on the tablet's clock is
    # 14 minutes ahead of the server.
    ahead = answer(started_at=NOW.isoformat(),
                   submitted_at=(NOW + timedelta(minutes=4)).isoformat())
    assert send(client, credential, ahead).status_code == 422


def test_a_batch_holds_one_to_a_hundred_answers(
    client: FlaskClient, session: Session, world: World, credential: str
) -> None:
    assert send(client, credential, {"responses": []}).status_code == 422
    assert send(client, credential, {"responses": [answer()] * 101}).status_code == 422
    hundred = [answer(comment="ż" * 1000) for _ in range(100)]
    body = json.dumps({"responses": hundred}, ensure_ascii=False).encode()
    assert 200_000 < len(body) < 512 * 1024
    results = client.post(URL, data=body, content_type="application/json",
                          headers=auth(credential)).get_json()["results"]
    assert [r["status"] for r in results] == [201] * 100
    assert len(response_rows(session)) == 100
    release(session)


def test_the_body_limit_fits_a_batch_only_with_a_credential(
    client: FlaskClient, session: Session, world: World, credential: str
) -> None:
    big = json.dumps({"responses": [answer()] * 60}).encode()
    assert len(big) > 16 * 1024
    integration = integration_token(session)  # one response at a time: 16 KB
    single = client.post(URL, data=big, content_type="application/json",
                         headers=auth(integration))
    assert single.status_code == 413
    huge = b'{"responses": [' + b" " * (520 * 1024) + b"]}"
    assert client.post(URL, data=huge, content_type="application/json",
                       headers=auth(credential)).status_code == 413


# Revocation ------------------------------------------------------------------------------------


def test_a_revoked_kiosk_stops_at_once_but_its_reported_answers_arrive(
    client: FlaskClient, session: Session, world: World, credential: str, clock: Clock
) -> None:
    made_before = answer(started_at=(NOW - timedelta(minutes=3)).isoformat(),
                         submitted_at=(NOW - timedelta(minutes=2)).isoformat())
    unreported = answer(started_at=(NOW - timedelta(minutes=3)).isoformat(),
                        submitted_at=(NOW - timedelta(minutes=2)).isoformat())
    assert beat(client, credential, queue_length=1,
                pending_ids=[made_before["id"]]).status_code == 200
    kiosk = session.get(Kiosk, world.kiosk.id)
    assert kiosk is not None
    assert kiosks.revoke(session, kiosk, now=NOW + timedelta(minutes=1))
    session.commit()
    clock.now = NOW + timedelta(hours=2)
    assert client.get("/api/v1/kiosk/config", headers=auth(credential)).status_code == 403
    refused = beat(client, credential, pending_ids=[unreported["id"]])
    assert refused.status_code == 403 and refused.get_json()["revoked"] is True
    # Made after the revocation, even if the tablet's clock says otherwise: refused.
    after = answer(started_at=(NOW + timedelta(minutes=89)).isoformat(),
                   submitted_at=(NOW + timedelta(minutes=90)).isoformat())
    results = send(client, credential, {"responses": [made_before, unreported, after]}
                   ).get_json()["results"]
    assert [r["status"] for r in results] == [201, 403, 403]
    (row,) = response_rows(session)
    assert row.client_id == uuid.UUID(made_before["id"])
    release(session)
    assert client.post("/api/v1/kiosk/calls", json={}, headers=auth(credential)
                       ).status_code == 403


def test_the_openapi_document_names_the_kiosk_fields(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    text = json.dumps(document)
    for name in ("KioskAnswer", "BatchResults", "started_at", "counter"):
        assert name in text, name


def test_revoked_or_not_answers_never_change_another_units_rows(
    client: FlaskClient, session: Session, world: World, credential: str
) -> None:
    assert send(client, credential, answer(counter=world.other.counter.code)
                ).status_code == 422
    count = session.scalar(select(func.count()).select_from(Response))
    release(session)
    assert count == 0


# Hostile and odd input (a review's findings) ---------------------------------------------------


def test_a_lone_surrogate_in_a_refused_answer_is_quarantined_not_a_500(
    client: FlaskClient, session: Session, world: World, credential: str
) -> None:
    # Lone surrogates, as JSON escapes them: a refused answer's copy must still be stored.
    bad = json.dumps(answer(service="X", wait_band="Y"))
    bad = bad.replace('"X"', '"\\ud800"').replace('"Y"', '"\\udfff"')
    body = '{"responses": [' + json.dumps(answer()) + ", " + bad + "]}"
    sent = client.post(URL, data=body, content_type="application/json",
                       headers=auth(credential))
    assert sent.status_code == 200
    assert [r["status"] for r in sent.get_json()["results"]] == [201, 422]
    held = session.scalar(select(func.count()).select_from(KioskQuarantine))
    release(session)
    assert held == 1


def test_a_bad_item_is_its_own_422_not_the_batchs(
    client: FlaskClient, session: Session, world: World, credential: str
) -> None:
    results = send(client, credential, {"responses": [answer(), 1, "x", None, []]}
                   ).get_json()["results"]
    assert [r["status"] for r in results] == [201, 422, 422, 422, 422]
    assert len(response_rows(session)) == 1
    release(session)


def test_a_revoked_kiosk_writes_nothing_for_answers_it_did_not_report(
    client: FlaskClient, session: Session, world: World, credential: str
) -> None:
    kiosk = session.get(Kiosk, world.kiosk.id)
    assert kiosk is not None
    kiosks.revoke(session, kiosk, now=NOW)
    session.commit()
    junk = [answer(answers={"U1": 9}, comment="x" * 1000) for _ in range(20)]
    results = send(client, credential, {"responses": junk}).get_json()["results"]
    assert {r["status"] for r in results} == {403}
    single = send(client, credential, answer())
    assert single.status_code == 403 and single.get_json()["revoked"] is True
    held = session.scalar(select(func.count()).select_from(KioskQuarantine))
    release(session)
    assert held == 0


def test_a_burst_counts_from_the_welcome_screens_return(
    client: FlaskClient, session: Session, world: World, credential: str
) -> None:
    """The thank-you screen stays 5 s: a session started 3 s after the welcome screen came
    back (8 s after the previous one was sent) is a burst; 11 s after is not."""
    first_end = NOW - timedelta(minutes=10)
    batch = [answer(started_at=(first_end - timedelta(seconds=40)).isoformat(),
                    submitted_at=first_end.isoformat())]
    end = first_end
    for gap in (8, 11):
        start = end + timedelta(seconds=gap)
        end = start + timedelta(seconds=40)
        batch.append(answer(started_at=start.isoformat(), submitted_at=end.isoformat()))
    results = send(client, credential, {"responses": batch}).get_json()["results"]
    assert [r["flags"]["burst"] for r in results] == [False, True, False]


@pytest.mark.parametrize("fields", [
    {"device_time": "0001-01-01T00:00:00+00:00"},
    {"device_time": "9999-12-31T23:59:59+00:00"},
    {"oldest_unsent_at": "9999-12-31T23:59:59+00:00"},
    {"oldest_unsent_at": "0001-01-01T00:00:00+14:00"},
])
def test_a_clock_years_off_is_refused_not_a_500(
    client: FlaskClient, world: World, credential: str, fields: dict[str, str]
) -> None:
    assert beat(client, credential, **fields).status_code == 422


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00"])
def test_an_answer_at_the_ends_of_time_is_a_422(
    client: FlaskClient, world: World, credential: str, when: str
) -> None:
    # The tablet's clock is a day ahead of the server's: correcting 0001 would overflow.
    assert beat(client, credential,
                device_time=(NOW + timedelta(days=1)).isoformat()).status_code == 200
    refused = send(client, credential, answer(submitted_at=when, started_at=when))
    assert refused.status_code == 422
    assert "submitted_at" in refused.get_json()["errors"]


def test_an_unknown_credential_is_refused_before_a_big_body_is_read(
    client: FlaskClient, world: World
) -> None:
    huge = b'{"responses": [' + b" " * (300 * 1024) + b"]}"
    answer = client.post(URL, data=huge, content_type="application/json",
                         headers=auth("ksk_not-a-kiosk"))
    assert answer.status_code == 401


def test_failed_pairings_are_limited_across_addresses(
    settings: Settings, session: Session, world: World
) -> None:
    application = create_app(settings.replace(rate_limit_pair="100 per minute",
                                              rate_limit_pair_failures="3 per minute"))
    application.config.update(TESTING=True)
    client = application.test_client()
    statuses = [client.post("/api/v1/kiosk/pair", json={"code": "000000"},
                            environ_base={"REMOTE_ADDR": f"10.0.0.{i}"}).status_code
                for i in range(1, 5)]
    assert statuses == [403, 403, 403, 429]
    application.extensions["suara.db"].dispose()


def test_flagged_kiosk_sessions_are_left_out_of_the_index(
    app: Flask, client: FlaskClient, session: Session, world: World, credential: str
) -> None:
    start = NOW - timedelta(hours=1)
    batch = [answer(started_at=start.isoformat(),
                    submitted_at=(start + timedelta(seconds=40)).isoformat()),
             # fast: 5 s
             answer(started_at=(start + timedelta(minutes=5)).isoformat(),
                    submitted_at=(start + timedelta(minutes=5, seconds=5)).isoformat()),
             # burst: 2 s after the welcome screen came back
             answer(started_at=(start + timedelta(minutes=5, seconds=12)).isoformat(),
                    submitted_at=(start + timedelta(minutes=6)).isoformat())]
    results = send(client, credential, {"responses": batch}).get_json()["results"]
    assert [r["status"] for r in results] == [201, 201, 201]
    aggregate(app, NOW + timedelta(minutes=10))  # past the watermark's settling lag
    row = session.scalars(select(Indicator).where(
        Indicator.scope == "unit", Indicator.period_kind == "day",
        Indicator.unit_id == world.home.unit.id)).one()
    release(session)
    assert (row.n, row.flagged) == (1, 2)
