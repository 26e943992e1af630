"""Schemathesis against the served OpenAPI document: no 500, every answer as documented."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import schemathesis
from conftest import PG_URL
from factories import (
    aggregate,
    integration_token,
    make_officer,
    make_unit,
    make_user,
    put_on_duty,
    record,
)
from flask import Flask
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.orm import Session

from app.api_tokens import create_api_token
from app.config import Settings

# One engine, bounded: PostgreSQL when there is one (the production engine, and the one
# that refuses the NUL bytes the generator likes to send), else SQLite. Both engines' answers
# to hostile input are proved by tests/test_boundary.py.
pytestmark = pytest.mark.parametrize("database_url", ["postgresql" if PG_URL else "sqlite"],
                                     indirect=True)

NOW = datetime(2026, 1, 5, 2, 30, tzinfo=UTC)  # Monday 09.30 WIB
# Few examples, always the same ones (no example database): well under a minute.
EXAMPLES = hypothesis_settings(
    max_examples=40, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.filter_too_much])


@dataclass(frozen=True)
class Credentials:
    counter_token: str  # a counter's live QR token, so submissions get past the lookup
    staff_token: str  # an admin's personal API token, so /indicators answers with rows
    integration: str  # an integration token, so /responses takes submissions


@pytest.fixture
def settings(settings: Settings, database_url: str) -> Settings:
    """Limits no example run reaches (schemathesis sends hundreds of requests a minute).

    (``database_url`` is named so that pytest still parametrizes the engines through this
    override.)
    """
    return settings.replace(rate_limit_submit="100000 per minute")


@pytest.fixture
def credentials(app: Flask, session: Session, monkeypatch: pytest.MonkeyPatch) -> Credentials:
    """A counter with a live token, a few stored indicators, an admin's API token; the API's
    clock stopped at NOW (submitted_at within a week of it is accepted)."""
    monkeypatch.setattr("app.web.api.utcnow", lambda: NOW)
    seeded = make_unit(session)
    officer = make_officer(session, seeded)
    put_on_duty(session, officer, seeded.counter, NOW - timedelta(days=2))
    for hours in (1, 2, 3):
        record(app, session, seeded.counter, NOW - timedelta(days=2, hours=hours),
               service="KK", comment="Cepat")
    aggregate(app, NOW)
    admin = make_user(session, "admin@suara.example.id", "admin")
    # Ten years: valid on the real clock /indicators reads, long after NOW.
    staff_token = create_api_token(session, admin, "schemathesis", now=NOW, days=3650)
    session.commit()
    return Credentials(seeded.token, staff_token, integration_token(session))


@pytest.fixture
def api_schema(app: Flask, credentials: Credentials) -> schemathesis.BaseSchema:
    """The document as the application serves it, calling the application in-process."""
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@EXAMPLES
def test_every_answer_is_documented_and_none_is_a_server_error(
    case: schemathesis.Case, credentials: Credentials
) -> None:
    # A generated token is never a counter's: swap in a live one, so that submissions reach
    # the answers' checks and the store (an empty token stays, for its 422).
    if isinstance(case.body, dict) and isinstance(case.body.get("token"), str) \
            and case.body["token"]:
        case.body["token"] = credentials.counter_token
    # The application gzips for clients that accept it (with Content-Encoding: gzip); the
    # in-process WSGI transport hands the body over undecoded, so ask for it plain.
    headers = {"Accept-Encoding": "identity"}
    if case.operation.path == "/indicators":
        headers["Authorization"] = f"Bearer {credentials.staff_token}"
    if case.operation.path == "/responses":
        headers["Authorization"] = f"Bearer {credentials.integration}"
    case.call_and_validate(headers=headers, checks=[
        not_a_server_error, response_schema_conformance, status_code_conformance])
