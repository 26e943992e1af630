"""Staff sign-in through the real /masuk form: roles, refusals, redirects, sessions, throttling."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urljoin, urlsplit

import pytest
from factories import (
    NIP,
    STAFF_PASSWORD,
    csrf_token,
    make_officer,
    make_unit,
    make_user,
    sign_in,
)
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import BadSignature, TimestampSigner
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from app.db import Database
from app.models import User

WRONG = "Email atau kata sandi salah."
HEAD = "kepala.dukcapil@suara.example.id"
_CSRF_VALUE = re.compile(r'name="csrf_token" value="[^"]*"')


@pytest.fixture
def head(session: Session) -> User:
    """A unit head of Disdukcapil."""
    return make_user(session, HEAD, "unit_head", unit=make_unit(session).unit)


def make_role(session: Session, role: str) -> User:
    """A user of ``role`` (an officer gets an Officer with a valid NIP, and a unit)."""
    seeded = make_unit(session)
    email = f"{role.replace('_', '.')}@suara.example.id"
    if role == "officer":
        officer = make_officer(session, seeded, NIP)
        return make_user(session, email, role, unit=seeded.unit, officer=officer)
    return make_user(session, email, role, unit=seeded.unit if role == "unit_head" else None)


def signed_in_user_id(client: FlaskClient) -> str | None:
    with client.session_transaction() as session:
        user_id: str | None = session.get("_user_id")
        return user_id


def session_cookie(response: TestResponse) -> str:
    (cookie,) = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    return cookie


def db(app: Flask) -> Database:
    database: Database = app.extensions["suara.db"]
    return database


# Signing in ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "label"), [
    ("admin", "Administrator"), ("unit_head", "Kepala unit"), ("officer", "Petugas"),
    ("viewer", "Pemantau")])
def test_each_role_signs_in_through_the_form(
    client: FlaskClient, session: Session, role: str, label: str
) -> None:
    user = make_role(session, role)
    form = client.get("/masuk")
    assert form.status_code == 200
    assert 'name="csrf_token"' in form.get_data(as_text=True)
    response = sign_in(client, user.email)
    assert response.status_code == 303
    assert response.headers["Location"] == "/dashboard/"
    assert signed_in_user_id(client) == f"{user.id}.0"  # the account and its session epoch
    assert client.get("/dashboard/").status_code == 302  # on to the role's start page
    # The header names the role in words, never by its code (unit_head).
    header = client.get("/masuk").get_data(as_text=True)
    assert f"{user.email} · {label}</span>" in header
    assert f"· {role}<" not in header


def test_the_email_is_matched_whatever_its_case_and_spaces(
    client: FlaskClient, head: User
) -> None:
    assert sign_in(client, "  Kepala.Dukcapil@SUARA.example.id ").status_code == 303
    assert signed_in_user_id(client) == f"{head.id}.0"


LONGEST = ("kata sandi " * 20)[:200]


def test_the_longest_password_an_account_may_have_signs_in(
    client: FlaskClient, session: Session
) -> None:
    make_user(session, "panjang@suara.example.id", "admin", password=LONGEST)
    assert sign_in(client, "panjang@suara.example.id", LONGEST).status_code == 303


def test_a_post_without_the_csrf_token_signs_nobody_in(client: FlaskClient, head: User) -> None:
    response = client.post("/masuk", data={"email": HEAD, "password": STAFF_PASSWORD})
    assert response.status_code == 400
    assert signed_in_user_id(client) is None
    body = response.get_data(as_text=True)
    assert "Formulir kedaluwarsa" in body  # words for staff, not the citizens' "scan the QR"
    assert "QR" not in body


def _normalised(page: TestResponse, email: str) -> str:
    return _CSRF_VALUE.sub("", page.get_data(as_text=True)).replace(email, "EMAIL")


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(
    client: FlaskClient, head: User
) -> None:
    wrong_password = sign_in(client, HEAD, "bukan-kata-sandinya")
    unknown_email = sign_in(client, "siapa@suara.example.id", STAFF_PASSWORD)
    for response in (wrong_password, unknown_email):
        assert response.status_code == 401
        assert WRONG in response.get_data(as_text=True)
        assert signed_in_user_id(client) is None
    assert _normalised(wrong_password, HEAD) == _normalised(unknown_email,
                                                            "siapa@suara.example.id")
    # The address is kept in the form for a retry; the password never comes back.
    assert f'value="{HEAD}"' in wrong_password.get_data(as_text=True)
    assert "bukan-kata-sandinya" not in wrong_password.get_data(as_text=True)


def test_an_inactive_user_cannot_sign_in(client: FlaskClient, session: Session) -> None:
    make_user(session, "mantan@suara.example.id", "viewer", active=False)
    response = sign_in(client, "mantan@suara.example.id")
    assert response.status_code == 401
    assert WRONG in response.get_data(as_text=True)
    assert signed_in_user_id(client) is None


def test_a_user_deactivated_while_signed_in_is_out_at_the_next_request(
    app: Flask, client: FlaskClient, head: User
) -> None:
    assert sign_in(client, HEAD).status_code == 303
    assert client.get("/dashboard/units").status_code == 200
    with db(app).session_scope() as session:
        session.scalars(select(User).where(User.email == HEAD)).one().active = False
    response = client.get("/dashboard/units")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/masuk"


def test_signing_in_starts_a_fresh_session(client: FlaskClient, head: User) -> None:
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    assert sign_in(client, HEAD).status_code == 303
    with client.session_transaction() as session:
        assert "planted" not in session


def test_a_rotated_secret_key_keeps_sessions_only_while_the_old_one_is_a_fallback(
    app: Flask, client: FlaskClient, head: User
) -> None:
    assert sign_in(client, HEAD).status_code == 303
    cookie = client.get_cookie("session")
    assert cookie is not None
    interface = app.session_interface

    def user_id() -> object:
        serializer = interface.get_signing_serializer(app)  # type: ignore[attr-defined]
        try:
            return serializer.loads(cookie.value).get("_user_id")
        except BadSignature:
            return None

    signed_in = user_id()
    assert signed_in is not None
    old_key = app.secret_key
    app.secret_key = "another-secret-key-for-the-rotation-test"
    app.config["SECRET_KEY_FALLBACKS"] = [old_key]
    assert user_id() == signed_in
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert user_id() is None


def test_passwords_are_stored_hashed(app: Flask, head: User) -> None:
    with db(app).session_scope(write=False) as session:
        stored = session.scalars(select(User.password_hash).where(User.email == HEAD)).one()
    assert stored.startswith(("scrypt:", "pbkdf2:"))
    assert STAFF_PASSWORD not in stored


# Where a sign-in lands -------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example",
                                    "http://evil.example/dashboard/", "///evil.example",
                                    "https:evil.example", "javascript:alert(1)"])
def test_an_offsite_next_lands_on_the_dashboard(
    client: FlaskClient, head: User, target: str
) -> None:
    response = sign_in(client, HEAD, query="?" + _query(target))
    assert response.status_code == 303
    assert response.headers["Location"] == "/dashboard/"


@pytest.mark.parametrize("target", ["/\\evil.example", "/\t/evil.example", "/\\/evil.example",
                                    "/%2F%2Fevil.example", "/ /evil.example"])
def test_a_next_a_browser_would_read_as_offsite_stays_on_this_site(
    client: FlaskClient, head: User, target: str
) -> None:
    response = sign_in(client, HEAD, query="?" + _query(target))
    assert response.status_code == 303
    assert _browser_host(response.headers["Location"]) == "suara.example.id"


def _query(target: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"next": target})


def _browser_host(location: str) -> str:
    """Where a browser goes: it drops tabs and newlines and reads '\\' as '/' (WHATWG URL)."""
    cleaned = re.sub(r"[\t\n\r]", "", location).replace("\\", "/")
    return urlsplit(urljoin("https://suara.example.id/masuk", cleaned)).netloc


def test_a_same_site_next_is_followed(client: FlaskClient, head: User) -> None:
    response = client.get("/dashboard/units")
    assert response.status_code == 302
    login = response.headers["Location"]
    assert login == "/masuk?next=%2Fdashboard%2Funits"
    response = sign_in(client, HEAD, query=login.removeprefix("/masuk"))
    assert response.headers["Location"] == "/dashboard/units"


# Signing out ------------------------------------------------------------------------------------


def test_sign_out_is_post_only_and_needs_the_csrf_token(client: FlaskClient, head: User) -> None:
    assert sign_in(client, HEAD).status_code == 303
    wrong_method = client.get("/keluar")
    assert wrong_method.status_code == 405
    assert "Alamat ini tidak dibuka dengan cara itu" in wrong_method.get_data(as_text=True)
    assert client.post("/keluar").status_code == 400  # no token: a cross-site form cannot
    assert signed_in_user_id(client) is not None
    response = client.post("/keluar", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 303
    assert response.headers["Location"] == "/masuk"
    assert signed_in_user_id(client) is None
    assert client.get("/dashboard/units").status_code == 302


# The session -------------------------------------------------------------------------------------


def test_signing_out_ends_a_copied_session_cookie_too(
    app: Flask, client: FlaskClient, head: User
) -> None:
    """The session is a signed cookie: clearing the browser's copy alone would leave a copy
    taken earlier (another device, a shared PC, a stolen cookie) signed in."""
    assert sign_in(client, HEAD).status_code == 303
    copy = app.test_client()
    cookie = client.get_cookie("session")
    assert cookie is not None
    copy.set_cookie("session", cookie.value)
    assert copy.get("/dashboard/units").status_code == 200
    assert client.post("/keluar", data={"csrf_token": csrf_token(client)}).status_code == 303
    refused = copy.get("/dashboard/units")
    assert refused.status_code == 302
    assert urlsplit(refused.headers["Location"]).path == "/masuk"
    assert sign_in(client, HEAD).status_code == 303  # signing in again works at once
    assert client.get("/dashboard/units").status_code == 200
    assert copy.get("/dashboard/units").status_code == 302


def test_a_busy_session_still_ends_twelve_hours_after_signing_in(
    client: FlaskClient, head: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each request renews the 8 hours; the sign-in time caps the whole session."""
    signed_in = datetime.now(UTC)
    assert sign_in(client, HEAD).status_code == 303
    monkeypatch.setattr("app.web.auth.utcnow", lambda: signed_in + timedelta(hours=11, minutes=59))
    assert client.get("/dashboard/units").status_code == 200
    monkeypatch.setattr("app.web.auth.utcnow", lambda: signed_in + timedelta(hours=12, seconds=5))
    response = client.get("/dashboard/units")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/masuk"


def test_a_session_from_before_session_epochs_must_sign_in_again(
    client: FlaskClient, head: User
) -> None:
    """A cookie signed before migration 0007 keeps the bare account id: it no longer counts."""
    assert sign_in(client, HEAD).status_code == 303
    with client.session_transaction() as session:
        session["_user_id"] = str(head.id)
    assert client.get("/dashboard/units").status_code == 302


def test_the_session_cookie_is_httponly_and_lasts_eight_hours(
    app: Flask, client: FlaskClient, head: User
) -> None:
    assert app.permanent_session_lifetime == timedelta(hours=8)
    before = datetime.now(UTC)
    response = sign_in(client, HEAD)
    cookie = session_cookie(response)
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" in cookie  # PUBLIC_BASE_URL is https in the test settings
    stored = client.get_cookie("session")
    assert stored is not None and stored.expires is not None
    lifetime = stored.expires - before
    assert timedelta(hours=8) - timedelta(seconds=5) <= lifetime \
        <= timedelta(hours=8) + timedelta(seconds=5)
    with client.session_transaction() as session:
        assert session.permanent


def _signed_at(monkeypatch: pytest.MonkeyPatch, seconds_ago: int) -> None:
    """Make the session cookies signed from now on carry a time ``seconds_ago`` in the past."""
    monkeypatch.setattr(TimestampSigner, "get_timestamp",
                        lambda self: int(time.time()) - seconds_ago)


def test_an_expired_session_no_longer_authenticates(
    client: FlaskClient, head: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    _signed_at(monkeypatch, 8 * 3600 + 60)
    assert sign_in(client, HEAD).status_code == 303
    monkeypatch.undo()
    response = client.get("/dashboard/units")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/masuk"
    assert signed_in_user_id(client) is None


def test_a_session_just_inside_eight_hours_still_authenticates(
    client: FlaskClient, head: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    _signed_at(monkeypatch, 8 * 3600 - 60)
    assert sign_in(client, HEAD).status_code == 303
    monkeypatch.undo()
    assert client.get("/dashboard/units").status_code == 200


# Throttling ---------------------------------------------------------------------------------------


def test_the_eleventh_sign_in_attempt_in_a_minute_is_a_429(
    client: FlaskClient, head: User
) -> None:
    token = csrf_token(client)
    for _ in range(10):
        response = client.post("/masuk", data={"csrf_token": token, "email": HEAD,
                                               "password": "tebak-tebakan-1"})
        assert response.status_code == 401
    eleventh = client.post("/masuk", data={"csrf_token": token, "email": HEAD,
                                           "password": STAFF_PASSWORD})
    assert eleventh.status_code == 429
    assert 1 <= int(eleventh.headers["Retry-After"]) <= 60
    assert "Terlalu banyak percobaan" in eleventh.get_data(as_text=True)  # staff words
    assert signed_in_user_id(client) is None
    assert client.get("/masuk").status_code == 200  # reading the form is not throttled
    elsewhere = client.post("/masuk", data={"csrf_token": token, "email": HEAD,
                                            "password": STAFF_PASSWORD},
                            environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert elsewhere.status_code == 303


def test_an_incomplete_sign_in_form_names_each_missing_field(
    client: FlaskClient, head: User
) -> None:
    response = client.post("/masuk", data={"csrf_token": csrf_token(client),
                                           "email": " ", "password": ""})
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="email-err">Isi alamat email akun Anda.' in body
    assert 'id="password-err">Isi kata sandi.' in body
    assert body.count('aria-invalid="true"') == 2
    assert WRONG not in body and signed_in_user_id(client) is None
    too_long = client.post("/masuk", data={"csrf_token": csrf_token(client), "email": HEAD,
                                           "password": "x" * 201})
    assert too_long.status_code == 400
    assert "Kata sandi paling panjang 200 karakter." in too_long.get_data(as_text=True)
    assert signed_in_user_id(client) is None
