"""API tokens in the back office (administrators list and revoke every token) and on the
account page (a user revokes their own); a password change and a deactivation revoke a
user's personal tokens, signing out does not (it ends browser sessions, not scripts)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from factories import (
    SeededUnit,
    cached_password_hash,
    csrf_token_of,
    integration_token,
    make_unit,
    make_user,
    release,
    sign_in,
)
from flask import Flask
from flask.testing import FlaskClient
from i18n_helpers import visible_text
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import accounts
from app.api_tokens import create_api_token
from app.models import ApiToken, AuditEntry, User

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)  # Monday 10.00 WIB
ADMIN, HEAD, VIEWER = "admin@contoh.go.id", "kepala@contoh.go.id", "pemantau@contoh.go.id"
INDICATORS = "/api/v1/indicators?scope=unit&period=week"
NEW_PASSWORD = "kata-sandi-baru-2026"


@pytest.fixture(autouse=True)
def _cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("app.users.generate_password_hash", cached_password_hash)
    monkeypatch.setattr("app.accounts.generate_password_hash", cached_password_hash)


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    for where in ("app.web.admin.tokens", "app.web.account", "app.web.auth"):
        monkeypatch.setattr(f"{where}.utcnow", lambda: NOW)


@pytest.fixture
def home(session: Session) -> SeededUnit:
    return make_unit(session)


@pytest.fixture
def users(session: Session, home: SeededUnit) -> dict[str, User]:
    return {ADMIN: make_user(session, ADMIN, "admin"),
            HEAD: make_user(session, HEAD, "unit_head", unit=home.unit),
            VIEWER: make_user(session, VIEWER, "viewer")}


def personal(session: Session, user: User, label: str, *, made: datetime = NOW,
             days: int = 90) -> str:
    token = create_api_token(session, user, label, now=made, days=days)
    session.commit()
    return token


def row_of(session: Session, label: str) -> ApiToken:
    row = session.scalars(select(ApiToken).where(ApiToken.label == label)
                          .execution_options(populate_existing=True)).one()
    release(session)
    return row


def reads(client: FlaskClient, token: str) -> int:
    return client.get(INDICATORS, headers={"Authorization": f"Bearer {token}"}).status_code


# The back office ---------------------------------------------------------------------------


def test_administrators_see_every_token_with_expiry_and_last_use(
    client: FlaskClient, session: Session, home: SeededUnit, users: dict[str, User]
) -> None:
    personal(session, users[VIEWER], "laporan-excel")
    personal(session, users[HEAD], "kadaluwarsa", made=NOW - timedelta(days=91))
    integration_token(session, "antrian-dukcapil", unit=home.unit, now=NOW, days=30)
    gone = personal(session, users[VIEWER], "dicabut")
    row = row_of(session, "dicabut")
    row.revoked_at = NOW
    session.commit()
    assert reads(client, gone) == 401
    sign_in(client, ADMIN)
    page = client.get("/admin/tokens?lang=en")
    assert page.status_code == 200
    text = visible_text(page.get_data(as_text=True))
    assert "Personal laporan-excel pemantau@contoh.go.id 2026-11-30 10:00 2027-02-28 10:00 " \
           "never In use" in text
    assert "Integration antrian-dukcapil counters of DUKCAPIL 2026-11-30 10:00 " \
           "2026-12-30 10:00 never In use" in text
    assert "kadaluwarsa kepala@contoh.go.id" in text and "Expired" in text
    assert "dicabut" not in text
    everything = visible_text(client.get("/admin/tokens?all=1&lang=en").get_data(as_text=True))
    assert "dicabut pemantau@contoh.go.id" in everything and "Revoked 2026-11-30 10:00" \
        in everything


def test_the_last_use_is_shown(
    client: FlaskClient, session: Session, users: dict[str, User]
) -> None:
    token = personal(session, users[VIEWER], "laporan-excel")
    assert reads(client, token) == 200
    assert row_of(session, "laporan-excel").last_used_at == NOW
    sign_in(client, ADMIN)
    text = visible_text(client.get("/admin/tokens?lang=en").get_data(as_text=True))
    assert "2027-02-28 10:00 2026-11-30 10:00 In use" in text  # expires, last used


@pytest.mark.parametrize("email", [HEAD, VIEWER])
def test_only_administrators_open_the_token_list(
    client: FlaskClient, users: dict[str, User], email: str
) -> None:
    sign_in(client, email)
    assert client.get("/admin/tokens").status_code == 403
    assert client.get("/admin/tokens/1/revoke").status_code == 403


def test_an_administrator_revokes_a_token_after_confirming_with_csrf(
    client: FlaskClient, session: Session, home: SeededUnit, users: dict[str, User]
) -> None:
    integration = integration_token(session, "antrian-dukcapil", unit=home.unit)
    token_id = row_of(session, "antrian-dukcapil").id
    sign_in(client, ADMIN)
    asked = client.get(f"/admin/tokens/{token_id}/revoke?lang=en")
    assert asked.status_code == 200
    assert "stops working at once" in visible_text(asked.get_data(as_text=True))
    forged = client.post(f"/admin/tokens/{token_id}/revoke", data={"csrf_token": "nope"})
    assert forged.status_code == 400
    assert row_of(session, "antrian-dukcapil").revoked_at is None
    done = client.post(f"/admin/tokens/{token_id}/revoke",
                       data={"csrf_token": csrf_token_of(asked)})
    assert done.status_code == 303
    assert row_of(session, "antrian-dukcapil").revoked_at == NOW
    [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "token.revoke"))
    assert entry.actor == f"user:{ADMIN}" and entry.object_id == str(token_id)
    assert json.loads(entry.after or "{}")["label"] == "antrian-dukcapil"
    assert integration not in (entry.after or "")
    release(session)
    refused = client.post("/api/v1/responses", json={},
                          headers={"Authorization": f"Bearer {integration}"})
    assert refused.status_code == 401
    again = client.get(f"/admin/tokens/{token_id}/revoke?lang=en", follow_redirects=True)
    assert "already revoked" in visible_text(again.get_data(as_text=True))


def test_an_unknown_token_id_is_a_404(client: FlaskClient, users: dict[str, User]) -> None:
    sign_in(client, ADMIN)
    assert client.get("/admin/tokens/999/revoke").status_code == 404
    assert client.get(f"/admin/tokens/{2**40}/revoke").status_code == 404


# One's own tokens ----------------------------------------------------------------------------


def test_a_user_lists_and_revokes_their_own_tokens_only(
    app: Flask, client: FlaskClient, session: Session, users: dict[str, User]
) -> None:
    mine = personal(session, users[VIEWER], "punyaku")
    theirs = personal(session, users[HEAD], "punya-kepala")
    theirs_id = row_of(session, "punya-kepala").id
    mine_id = row_of(session, "punyaku").id
    sign_in(client, VIEWER)
    page = client.get("/akun/token?lang=en")
    assert page.status_code == 200
    text = visible_text(page.get_data(as_text=True))
    assert "punyaku" in text and "punya-kepala" not in text
    csrf = csrf_token_of(page)
    assert client.post(f"/akun/token/{theirs_id}/cabut",
                       data={"csrf_token": csrf}).status_code == 404
    assert client.post(f"/akun/token/{mine_id}/cabut",
                       data={"csrf_token": "nope"}).status_code == 400
    assert reads(app.test_client(), mine) == 200
    done = client.post(f"/akun/token/{mine_id}/cabut?lang=en", data={"csrf_token": csrf},
                       follow_redirects=True)
    assert "Token revoked: it no longer works." in visible_text(done.get_data(as_text=True))
    assert reads(app.test_client(), mine) == 401
    assert reads(app.test_client(), theirs) == 200
    assert row_of(session, "punya-kepala").revoked_at is None
    assert "You have no API tokens." in visible_text(
        client.get("/akun/token?lang=en").get_data(as_text=True))


def test_signing_out_keeps_tokens_a_password_change_revokes_them(
    app: Flask, client: FlaskClient, session: Session, users: dict[str, User]
) -> None:
    token = personal(session, users[VIEWER], "skrip")
    sign_in(client, VIEWER)
    page = client.get("/akun/sandi")
    client.post("/keluar", data={"csrf_token": csrf_token_of(page)})
    assert reads(app.test_client(), token) == 200  # a script is not a browser session
    sign_in(client, VIEWER)
    page = client.get("/akun/sandi")
    changed = client.post("/akun/sandi", data={
        "csrf_token": csrf_token_of(page), "current": "kata-sandi-uji-2026",
        "new": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert changed.status_code == 303
    assert reads(app.test_client(), token) == 401
    assert row_of(session, "skrip").revoked_at == NOW


def test_deactivating_an_account_revokes_its_tokens_for_good(
    app: Flask, client: FlaskClient, session: Session, users: dict[str, User]
) -> None:
    token = personal(session, users[VIEWER], "skrip")
    other = personal(session, users[HEAD], "milik-kepala")
    viewer = session.get(User, users[VIEWER].id)
    assert viewer is not None
    assert accounts.set_active(session, None, viewer, False, now=NOW)
    session.commit()
    assert row_of(session, "skrip").revoked_at == NOW
    viewer = session.get(User, users[VIEWER].id)
    assert viewer is not None
    assert accounts.set_active(session, None, viewer, True, now=NOW)
    session.commit()
    assert reads(app.test_client(), token) == 401  # reactivated, its old token stays revoked
    assert reads(app.test_client(), other) == 200
