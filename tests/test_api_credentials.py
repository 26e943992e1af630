"""Credentials where they belong: POST /api/v1/responses takes an integration token (or a
kiosk's credential, tests/test_api_kiosk.py), never a poster token alone; integration
tokens may be bound to a unit and name the counter by its codes; every API token expires
and records its last use; `flask --app app tokens` creates and revokes them."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from factories import (
    Clock,
    SeededUnit,
    integration_token,
    make_other_unit,
    make_unit,
    make_user,
    release,
    response_count,
    response_rows,
    sign_in,
)
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from i18n_helpers import indonesian_words
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from app import migrate
from app.api_tokens import TOKEN_USE_RESOLUTION, create_api_token
from app.config import Settings
from app.db import Database
from app.models import ApiToken, AuditEntry, Counter, Unit

URL = "/api/v1/responses"
NOW = datetime(2026, 1, 5, 2, 30, tzinfo=UTC)  # Monday 09.30 WIB
ANSWERS = {f"U{i}": 1 + i % 4 for i in range(1, 10)}


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    stopped = Clock(NOW)
    monkeypatch.setattr("app.web.api.utcnow", stopped)
    return stopped


@pytest.fixture
def home(session: Session, clock: Clock) -> SeededUnit:
    return make_unit(session)


@pytest.fixture
def other(session: Session, home: SeededUnit) -> SeededUnit:
    return make_other_unit(session)


def answer(**naming: Any) -> dict[str, Any]:
    """A valid body; the counter named as given (a poster token, or unit and counter)."""
    return {"id": str(uuid.uuid4()), "answers": dict(ANSWERS), "wait_band": "15-30",
            **naming}


def post(client: FlaskClient, payload: object, token: str | None = None, *,
         scheme: str = "Bearer", **kwargs: Any) -> TestResponse:
    headers = {"Authorization": f"{scheme} {token}"} if token else {}
    return client.post(URL, json=payload, headers={**headers, **kwargs.pop("headers", {})},
                       **kwargs)


def token_row(app: Flask, token: str) -> ApiToken:
    database: Database = app.extensions["suara.db"]
    with database.session_scope(write=False) as session:
        return session.scalars(select(ApiToken).where(
            ApiToken.token_hash == hashlib.sha256(token.encode()).hexdigest())).one()


# Who may submit --------------------------------------------------------------------------


def test_a_poster_token_alone_is_refused_and_nothing_is_stored(
    client: FlaskClient, session: Session, home: SeededUnit
) -> None:
    """Anyone who read a poster could stuff its counter up to the rate limit."""
    refused = post(client, answer(token=home.token), query_string={"lang": "en"})
    assert refused.status_code == 401
    assert refused.get_json() == {"error": (
        "send Authorization: Bearer <token> with an integration token or a kiosk's credential "
        "(citizens answer through the form behind the counter's QR poster)")}
    assert refused.headers["WWW-Authenticate"] == 'Bearer realm="suara-warga"'
    assert response_count(session) == 0


def test_a_signed_in_staff_session_is_not_a_credential(
    client: FlaskClient, session: Session, home: SeededUnit
) -> None:
    make_user(session, "admin@contoh.go.id", "admin")
    sign_in(client, "admin@contoh.go.id")
    assert post(client, answer(token=home.token)).status_code == 401
    assert response_count(session) == 0


def test_a_personal_token_reads_but_does_not_submit(
    client: FlaskClient, session: Session, home: SeededUnit
) -> None:
    admin = make_user(session, "admin@contoh.go.id", "admin")
    personal = create_api_token(session, admin, "skrip", now=NOW - timedelta(days=1))
    session.commit()
    refused = post(client, answer(token=home.token), personal, query_string={"lang": "en"})
    assert refused.status_code == 403
    assert "needs an integration token" in refused.get_json()["error"]
    assert response_count(session) == 0


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_an_integration_token_submits_by_poster_token(
    app: Flask, client: FlaskClient, session: Session, home: SeededUnit, scheme: str
) -> None:
    token = integration_token(session)
    stored = post(client, answer(token=home.token), token, scheme=scheme)
    assert stored.status_code == 201, stored.get_json()
    [row] = response_rows(session)
    assert (row.counter_id, row.channel) == (home.counter.id, "api")


@pytest.mark.parametrize("sent", ["swi_" + "x" * 43, "swi_", "swi_" + "x" * 200, "nope",
                                  "ksk" + "x" * 40])
def test_an_unknown_integration_token_is_a_401_invalid_token(
    client: FlaskClient, session: Session, home: SeededUnit, sent: str
) -> None:
    refused = post(client, answer(token=home.token), sent)
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    assert response_count(session) == 0


def test_a_revoked_integration_token_stops_at_once(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, session: Session,
    home: SeededUnit
) -> None:
    token = integration_token(session, "antrian")
    assert post(client, answer(token=home.token), token).status_code == 201
    revoked = runner.invoke(args=["tokens", "revoke", "--integration", "antrian"])
    assert revoked.exit_code == 0, revoked.output
    assert revoked.stdout.strip() == "revoked the integration token antrian"
    refused = post(client, answer(token=home.token), token, query_string={"lang": "en"})
    assert refused.status_code == 401
    assert refused.get_json() == {
        "error": "the integration token is unknown, revoked or expired"}
    assert response_count(session) == 1


# Naming the counter by its codes ---------------------------------------------------------


def test_unit_and_counter_codes_name_the_counter(
    client: FlaskClient, session: Session, home: SeededUnit, other: SeededUnit
) -> None:
    token = integration_token(session)
    assert post(client, answer(unit="PKM-KTB2", counter="GIGI"), token).status_code == 201
    assert post(client, answer(unit="DUKCAPIL", counter="L1"), token).status_code == 201
    assert sorted(row.counter_id for row in response_rows(session)) == sorted(
        [other.counter.id, home.counter.id])


@pytest.mark.parametrize(("naming", "errors"), [
    ({"unit": "NOPE", "counter": "L1"}, {"unit": "unknown unit code"}),
    ({"unit": "DUKCAPIL", "counter": "L9"},
     {"counter": "no counter with this code in this unit"}),
    ({"unit": "DUKCAPIL\x00", "counter": "L1"}, {"unit": "must be a unit code"}),
    ({"unit": "DUKCAPIL", "counter": 7}, {"counter": "must be a counter code"}),
    ({"unit": "DUKCAPIL"}, {"counter": "required with 'unit': the counter's code in that unit"}),
    ({"counter": "L1"}, {"unit": "required with 'counter': the code of the counter's unit"}),
    ({}, {"token": "required: the counter's QR token, or unit and counter codes"}),
])
def test_bad_codes_are_a_422_naming_the_field(
    client: FlaskClient, session: Session, home: SeededUnit, naming: dict[str, Any],
    errors: dict[str, str]
) -> None:
    token = integration_token(session)
    refused = post(client, answer(**naming), token, query_string={"lang": "en"})
    assert refused.status_code == 422
    assert refused.get_json() == {"errors": errors}
    assert response_count(session) == 0


def test_a_counter_no_longer_in_use_is_a_410_by_codes_too(
    client: FlaskClient, session: Session, home: SeededUnit
) -> None:
    token = integration_token(session)
    session.execute(update(Counter).where(Counter.id == home.counter.id).values(active=False))
    session.commit()
    assert post(client, answer(unit="DUKCAPIL", counter="L1"), token).status_code == 410
    assert response_count(session) == 0


# Tokens bound to a unit -----------------------------------------------------------------


@pytest.fixture
def bound(session: Session, home: SeededUnit, other: SeededUnit) -> str:
    """An integration token of the Puskesmas's queue machine: its counters only."""
    unit = session.scalars(select(Unit).where(Unit.code == "PKM-KTB2")).one()
    return integration_token(session, "antrian-pkm", unit=unit)


def test_a_unit_bound_token_submits_to_its_unit(
    client: FlaskClient, session: Session, other: SeededUnit, bound: str
) -> None:
    assert post(client, answer(unit="PKM-KTB2", counter="GIGI"), bound).status_code == 201
    assert post(client, answer(token=other.token), bound).status_code == 201
    assert response_count(session) == 2


@pytest.mark.parametrize("naming", [
    lambda home: {"unit": "DUKCAPIL", "counter": "L1"},
    lambda home: {"token": home.token},
    lambda home: {"unit": "NO-SUCH-UNIT", "counter": "L1"},  # not its unit either
], ids=["codes", "poster-token", "unknown-unit"])
def test_a_unit_bound_token_is_refused_for_another_unit(
    client: FlaskClient, session: Session, home: SeededUnit, bound: str,
    naming: Callable[[SeededUnit], dict[str, Any]]
) -> None:
    refused = post(client, answer(**naming(home)), bound, query_string={"lang": "en"})
    assert refused.status_code == 403
    assert refused.get_json() == {
        "error": "this integration token may submit only to the counters of unit PKM-KTB2"}
    assert response_count(session) == 0


# Expiry and last use ----------------------------------------------------------------------


def test_an_integration_token_expires(
    client: FlaskClient, session: Session, clock: Clock, home: SeededUnit
) -> None:
    token = integration_token(session, now=NOW - timedelta(days=1), days=1)
    clock.now = NOW - timedelta(seconds=1)
    assert post(client, answer(token=home.token), token).status_code == 201
    clock.now = NOW
    refused = post(client, answer(token=home.token), token)
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    assert response_count(session) == 1


def test_a_personal_token_expires(
    app: Flask, client: FlaskClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = make_user(session, "admin@contoh.go.id", "admin")
    token = create_api_token(session, admin, "skrip", now=NOW, days=90)
    session.commit()
    indicators = "/api/v1/indicators?scope=unit&period=week"
    headers = {"Authorization": f"Bearer {token}"}
    monkeypatch.setattr("app.web.auth.utcnow", lambda: NOW + timedelta(days=90, seconds=-1))
    assert client.get(indicators, headers=headers).status_code == 200
    monkeypatch.setattr("app.web.auth.utcnow", lambda: NOW + timedelta(days=90))
    refused = client.get(indicators, headers=headers)
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]


def test_last_use_is_recorded_at_most_once_a_minute(
    app: Flask, client: FlaskClient, session: Session, clock: Clock, home: SeededUnit
) -> None:
    token = integration_token(session)
    release(session)
    assert token_row(app, token).last_used_at is None
    assert post(client, answer(token=home.token), token).status_code == 201
    assert token_row(app, token).last_used_at == NOW
    clock.now = NOW + TOKEN_USE_RESOLUTION - timedelta(seconds=1)
    assert post(client, answer(token=home.token), token).status_code == 201
    assert token_row(app, token).last_used_at == NOW  # not written again
    clock.now = NOW + TOKEN_USE_RESOLUTION
    refused = post(client, answer(token="TokenYangTidakAda"), token)
    assert refused.status_code == 404  # a refused request is a use of the token all the same
    assert token_row(app, token).last_used_at == NOW + TOKEN_USE_RESOLUTION


def test_a_refused_token_records_no_use(
    app: Flask, client: FlaskClient, session: Session, home: SeededUnit
) -> None:
    token = integration_token(session, now=NOW - timedelta(days=2), days=1)  # expired
    release(session)
    assert post(client, answer(token=home.token), token).status_code == 401
    assert token_row(app, token).last_used_at is None


# Messages in both languages ---------------------------------------------------------------


@pytest.mark.parametrize(("credential", "status"), [
    (None, 401), ("swi_unknown", 401), ("personal", 403), ("bound", 403)])
def test_credential_refusals_speak_both_languages(
    client: FlaskClient, session: Session, home: SeededUnit, bound: str,
    credential: str | None, status: int
) -> None:
    sent = {"bound": bound, "personal": "sw_" + "x" * 43}.get(credential or "", credential)
    answers = [post(client, answer(token=home.token), sent, query_string={"lang": lang})
               for lang in ("en", "id")]
    assert [a.status_code for a in answers] == [status, status]
    english, indonesian = (a.get_json()["error"] for a in answers)
    assert indonesian_words(english) == []
    assert indonesian != english and indonesian_words(indonesian) != []


# The CLI ------------------------------------------------------------------------------------


def test_tokens_create_integration_prints_it_once_and_stores_its_hash(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, session: Session,
    home: SeededUnit, other: SeededUnit
) -> None:
    release(session)
    created = runner.invoke(args=["tokens", "create", "--integration", "antrian-pkm",
                                  "--unit", "PKM-KTB2", "--days", "30"])
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    assert token.startswith("swi_") and "\n" not in token
    assert "shown only this once" in created.stderr
    row = token_row(app, token)
    assert (row.kind, row.label, row.user_id) == ("integration", "antrian-pkm", None)
    assert row.unit_id == other.unit.id
    assert row.expires_at - row.created_at == timedelta(days=30)
    assert token not in (row.token_hash, row.label)
    assert post(client, answer(token=other.token), token).status_code == 201
    assert post(client, answer(token=home.token), token).status_code == 403


def test_tokens_last_api_token_days_by_default(
    settings: Settings, runner: FlaskCliRunner, session: Session, home: SeededUnit
) -> None:
    from app import create_app

    application = create_app(settings.replace(api_token_days=30))
    make_user(session, "admin@contoh.go.id", "admin")
    release(session)
    cli = application.test_cli_runner()
    integration = cli.invoke(args=["tokens", "create", "--integration", "simpus"])
    personal = cli.invoke(args=["tokens", "create", "--email", "admin@contoh.go.id"])
    assert integration.exit_code == personal.exit_code == 0, integration.output
    for created in (integration, personal):
        row = token_row(application, created.stdout.strip())
        assert row.expires_at - row.created_at == timedelta(days=30)
    application.extensions["suara.db"].dispose()
    default = runner.invoke(args=["tokens", "create", "--integration", "lain"])
    row = token_row(runner.app, default.stdout.strip())
    assert row.expires_at - row.created_at == timedelta(days=90)


@pytest.mark.parametrize(("args", "message"), [
    (["create", "--integration", "antrian"],
     "Error: --integration: An integration token named antrian already exists; revoke it "
     "first; nothing changed"),
    (["create", "--integration", "baru", "--unit", "NOPE"],
     "Error: Invalid value for --unit: no unit with code 'NOPE'"),
    (["create", "--integration", "baru", "--days", "0"],
     "Error: --days: A token lasts from 1 to 3650 days; nothing changed"),
    (["create", "--integration", "dua kata"],
     "Error: --integration: An integration's name is 1 to 64 letters, digits, '.', '-' or "
     "'_', starting with a letter or digit (e.g. antrian-dukcapil); nothing changed"),
    (["create", "--integration", "baru", "--email", "admin@contoh.go.id"],
     "Error: give either --email (a personal token) or --integration NAME (an integration "
     "token)"),
    (["create"], "Error: give either --email (a personal token) or --integration NAME (an "
                 "integration token)"),
    (["create", "--email", "admin@contoh.go.id", "--unit", "DUKCAPIL"],
     "Error: --unit binds an integration token; a personal token reads what its user may "
     "read"),
    (["revoke", "--integration", "tidak-ada"],
     "Error: --integration: No integration token named tidak-ada is in use; nothing changed"),
])
def test_tokens_refusals_are_one_clear_line(
    app: Flask, runner: FlaskCliRunner, session: Session, home: SeededUnit, args: list[str],
    message: str
) -> None:
    make_user(session, "admin@contoh.go.id", "admin")
    integration_token(session, "antrian")
    before = session.scalars(select(ApiToken.id)).all()
    release(session)
    result = runner.invoke(args=["tokens", *args])
    assert result.exit_code != 0
    assert message in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output
    session.expire_all()
    assert session.scalars(select(ApiToken.id)).all() == before


def test_a_revoked_name_may_be_used_again(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, session: Session,
    home: SeededUnit
) -> None:
    old = integration_token(session, "antrian")
    assert runner.invoke(args=["tokens", "revoke", "--integration", "antrian"]).exit_code == 0
    again = runner.invoke(args=["tokens", "create", "--integration", "antrian"])
    assert again.exit_code == 0, again.output
    assert post(client, answer(token=home.token), again.stdout.strip()).status_code == 201
    assert post(client, answer(token=home.token), old).status_code == 401


def test_tokens_create_and_revoke_are_audited(
    runner: FlaskCliRunner, session: Session, home: SeededUnit
) -> None:
    created = runner.invoke(args=["tokens", "create", "--integration", "antrian"])
    token = created.stdout.strip()
    runner.invoke(args=["tokens", "revoke", "--integration", "antrian"])
    session.expire_all()
    entries = session.scalars(select(AuditEntry).where(AuditEntry.action.startswith("token."))
                              .order_by(AuditEntry.id)).all()
    assert [e.action for e in entries] == ["token.create", "token.revoke"]
    assert all(e.actor.startswith("cli:") for e in entries)
    assert all(token not in (e.after or "") for e in entries)


def test_tokens_list_shows_kind_owner_expiry_and_last_use(
    runner: FlaskCliRunner, session: Session, home: SeededUnit
) -> None:
    integration_token(session, "antrian", unit=home.unit)
    listed = runner.invoke(args=["tokens", "list"])
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.split("\t")[:3] == ["integration", "antrian", "unit DUKCAPIL"]
    assert "last used never" in listed.stdout and "live" in listed.stdout


# The migration: tokens made before expiry existed -----------------------------------------


def test_tokens_made_before_expiry_existed_last_90_days_from_the_upgrade(
    empty_url: str
) -> None:
    migrate.upgrade(empty_url, "0012")
    database = Database(empty_url)
    try:
        with database.session_scope() as session:
            session.execute(text(
                "INSERT INTO users (email, password_hash, role, active, created_at, "
                "session_epoch) VALUES ('a@contoh.go.id', 'x', 'admin', true, "
                "CURRENT_TIMESTAMP, 0)"))
            session.execute(text(
                "INSERT INTO api_tokens (user_id, token_hash, label, created_at) "
                "SELECT id, :hash, 'lama', CURRENT_TIMESTAMP FROM users"), {"hash": "0" * 64})
        before = datetime.now(UTC)
        migrate.upgrade(empty_url)
        with database.session_scope(write=False) as session:
            row = session.scalars(select(ApiToken)).one()
        assert row.kind == "personal"
        assert before + timedelta(days=90) <= row.expires_at <= \
            datetime.now(UTC) + timedelta(days=90)
    finally:
        database.dispose()
