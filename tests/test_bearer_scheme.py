"""The Bearer scheme is case-insensitive (RFC 7235): ``Authorization: bearer …`` opens the
API as ``Bearer …`` does, for personal tokens and kiosk credentials alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from factories import make_unit, make_user
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app import kiosks
from app.api_tokens import create_api_token
from app.web.common import bearer_token

NOW = datetime.now(UTC)
SCHEMES = ["Bearer", "bearer", "BEARER", "bEaReR"]


@pytest.mark.parametrize(("header", "credential"), [
    ("Bearer sw_abc", "sw_abc"), ("bearer sw_abc", "sw_abc"), ("BEARER  sw_abc ", "sw_abc"),
    ("Bearer\tsw_abc", "sw_abc"), ("Basic dXNlcjpwYXNz", None), ("Bearer", None),
    ("Bearer ", None), ("", None), ("Bearersw_abc", None),
])
def test_the_credential_is_read_whatever_the_schemes_case(header: str,
                                                          credential: str | None) -> None:
    assert bearer_token(header) == credential


@pytest.fixture
def token(session: Session) -> str:
    admin = make_user(session, "admin@example.id", "admin")
    value = create_api_token(session, admin, "test", now=NOW)
    session.commit()
    return value


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_personal_token_opens_the_indicators_in_any_case(
        client: FlaskClient, token: str, scheme: str) -> None:
    response = client.get("/api/v1/indicators?scope=unit&period=week",
                          headers={"Authorization": f"{scheme} {token}"})
    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_an_unknown_token_in_any_case_is_an_invalid_token(
        client: FlaskClient, token: str, scheme: str) -> None:
    response = client.get("/api/v1/indicators?scope=unit&period=week",
                          headers={"Authorization": f"{scheme} sw_unknown"})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_kiosk_credential_in_any_case(app: Flask, client: FlaskClient, session: Session,
                                        scheme: str) -> None:
    seeded = make_unit(session)
    _kiosk, code = kiosks.create_kiosk(session, seeded.unit, kiosks.KioskSettings(
        name="Tablet"), now=NOW - timedelta(minutes=1))
    session.commit()
    credential = client.post("/api/v1/kiosk/pair", json={"code": code}).get_json()["credential"]
    response = client.get("/api/v1/kiosk/config", headers={
        "Authorization": f"{scheme} {credential}"})
    assert response.status_code == 200
