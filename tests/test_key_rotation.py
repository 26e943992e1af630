"""Rotating SECRET_KEY: while the old key is listed in SECRET_KEY_FALLBACKS, everything it
signed before the restart still works (citizens' open forms, arrival cookies, staff
sessions); new signatures use the new key only. Without the fallback, all of it is refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from factories import (
    Clock,
    SeededUnit,
    form_tokens,
    freeze_public_clock,
    make_unit,
    make_user,
    response_count,
    response_rows,
    sign_in,
    survey_form,
)
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from app import create_app
from app.config import Settings

HEAD_EMAIL = "kepala.dukcapil@suara.example.id"
NEW_KEY = "the-new-secret-key-after-rotation"
CARRIED = ("session", "sw_arr", "sw_d")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return freeze_public_clock(monkeypatch, datetime(2026, 1, 5, 2, 0, tzinfo=UTC))  # 09.00 WIB


@pytest.fixture
def unit(session: Session) -> SeededUnit:
    return make_unit(session)


@pytest.fixture
def restarted(settings: Settings) -> Iterator[list[Flask]]:
    """Applications built as after a restart; disposed at the end of the test."""
    apps: list[Flask] = []
    yield apps
    for app in apps:
        app.extensions["suara.db"].dispose()


def restart(restarted: list[Flask], settings: Settings, old: tuple[str, ...],
            client: FlaskClient) -> FlaskClient:
    """The service restarted with NEW_KEY (and ``old`` as fallbacks); the same browser."""
    app = create_app(settings.replace(secret_key=NEW_KEY, secret_key_fallbacks=old))
    app.config.update(TESTING=True)
    restarted.append(app)
    browser = app.test_client()
    for name in CARRIED:
        cookie = client.get_cookie(name)
        if cookie is not None:
            browser.set_cookie(name, cookie.value)
    return browser


def open_form(client: FlaskClient, clock: Clock, unit: SeededUnit) -> dict[str, str]:
    """Arrive at 09.12 WIB, open the counter's survey at 09.47: the answers to send."""
    clock.now = datetime(2026, 1, 5, 2, 12, tzinfo=UTC)
    assert client.get(f"/a/{unit.unit.arrival_token}").status_code == 200
    clock.now += timedelta(minutes=35)
    page = client.get(f"/s/{unit.token}")
    assert page.status_code == 200
    clock.now += timedelta(minutes=1)
    return survey_form(page, comment="dikirim setelah server dimulai ulang")


def ticket_response_id(form: dict[str, str], key: str) -> uuid.UUID:
    return uuid.UUID(URLSafeTimedSerializer(key, salt="ticket").loads(form["t"])["r"])


def test_a_form_opened_before_the_rotation_is_stored_with_its_ticket_and_measured_wait(
    app: Flask, client: FlaskClient, session: Session, settings: Settings, clock: Clock,
    unit: SeededUnit, restarted: list[Flask],
) -> None:
    form = open_form(client, clock, unit)
    browser = restart(restarted, settings, (settings.secret_key,), client)
    sent = browser.post(f"/s/{unit.token}", data=form)
    assert sent.status_code == 303
    (row,) = response_rows(session)
    assert row.measured_wait_min == 35
    assert row.client_id == ticket_response_id(form, settings.secret_key)
    assert row.comment == "dikirim setelah server dimulai ulang"


def test_after_the_rotation_new_signatures_use_only_the_new_key(
    app: Flask, client: FlaskClient, settings: Settings, clock: Clock, unit: SeededUnit,
    restarted: list[Flask],
) -> None:
    browser = restart(restarted, settings, (settings.secret_key,), client)
    form = open_form(browser, clock, unit)
    assert ticket_response_id(form, NEW_KEY)
    with pytest.raises(BadSignature):
        ticket_response_id(form, settings.secret_key)
    arrival = browser.get_cookie("sw_arr")
    assert arrival is not None
    URLSafeTimedSerializer(NEW_KEY, salt="arrival").loads(arrival.value)
    csrf, _ticket = form_tokens(browser.get(f"/s/{unit.token}"))
    URLSafeTimedSerializer(NEW_KEY, salt="wtf-csrf-token").loads(csrf)


def test_without_the_fallback_the_old_form_is_refused_kindly_and_nothing_is_stored(
    app: Flask, client: FlaskClient, session: Session, settings: Settings, clock: Clock,
    unit: SeededUnit, restarted: list[Flask],
) -> None:
    form = open_form(client, clock, unit)
    browser = restart(restarted, settings, (), client)
    refused = browser.post(f"/s/{unit.token}", data=form)
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert "dikirim setelah server dimulai ulang" in html  # the answers come back
    assert response_count(session) == 0
    # Sent again from the page that came back: stored, but the arrival cookie and the
    # ticket signed with the forgotten key count for nothing.
    again = browser.post(f"/s/{unit.token}", data=survey_form(refused, comment="lagi"))
    assert again.status_code == 303
    (row,) = response_rows(session)
    assert row.measured_wait_min is None
    assert row.client_id != ticket_response_id(form, settings.secret_key)


@pytest.mark.parametrize(("old_key_kept", "status"), [(True, 200), (False, 302)])
def test_staff_stay_signed_in_only_while_the_old_key_is_a_fallback(
    app: Flask, client: FlaskClient, session: Session, settings: Settings,
    restarted: list[Flask], old_key_kept: bool, status: int,
) -> None:
    make_user(session, HEAD_EMAIL, "unit_head", unit=make_unit(session).unit)
    assert sign_in(client, HEAD_EMAIL).status_code == 303
    old = (settings.secret_key,) if old_key_kept else ()
    browser = restart(restarted, settings, old, client)
    assert browser.get("/dashboard/units").status_code == status
