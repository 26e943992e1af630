"""Staff accounts: one-time links, roles, units, Plt., sign-in events, the CLI (both engines)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from factories import (
    NIP,
    OTHER_NIP,
    STAFF_PASSWORD,
    SeededUnit,
    make_officer,
    make_other_unit,
    make_unit,
    make_user,
    release,
    sign_in,
)
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from app import accounts
from app.models import AuditEntry, PasswordLink, UnitRole, User
from app.org import create_unit

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
NEW_PASSWORD = "sandi-baru-yang-panjang"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
LINK = re.compile(r'value="(https://suara\.example\.id/akun/sandi/[A-Za-z0-9_-]+)"')


@pytest.fixture
def home(session: Session) -> SeededUnit:
    return make_unit(session)


@pytest.fixture
def other(session: Session) -> SeededUnit:
    return make_other_unit(session)


def csrf_token_of(page: TestResponse) -> str:
    """The CSRF token of a page's first form (however its hidden input is written)."""
    found = CSRF.search(page.get_data(as_text=True))
    assert found is not None, "no CSRF token on this page"
    return found.group(1)


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def entries(session: Session, action: str) -> list[AuditEntry]:
    rows = list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                .order_by(AuditEntry.id)))
    release(session)
    return rows


def fresh_user(session: Session, email: str) -> User:
    user = session.scalars(select(User).where(User.email == email)
                           .execution_options(populate_existing=True)).one()
    release(session)
    return user


def user_count(session: Session) -> int:
    count = session.scalar(select(func.count()).select_from(User)) or 0
    release(session)
    return count


def post_form(client: FlaskClient, path: str, **data: str):  # type: ignore[no-untyped-def]
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code)
    return client.post(path, data={"csrf_token": csrf_token_of(page), **data})


def set_via_link(client: FlaskClient, token: str, password: str = NEW_PASSWORD,
                 confirm: str | None = None):  # type: ignore[no-untyped-def]
    return post_form(client, f"/akun/sandi/{token}", password=password,
                     confirm=password if confirm is None else confirm)


def signed_in(client: FlaskClient) -> bool:
    return client.get("/akun/sandi").status_code == 200


# The one-time link ---------------------------------------------------------------------------


def test_create_shows_the_link_once_and_it_sets_the_password_once(
        app: Flask, session: Session, home: SeededUnit, client: FlaskClient) -> None:
    officer = make_officer(session, home)
    make_user(session, "admin@example.id", "admin")
    assert sign_in(client, "admin@example.id").status_code == 303
    created = post_form(client, "/admin/accounts/new?lang=en", email="Budi@Example.id",
                        role="officer", unit="DUKCAPIL", nip=officer.nip)
    assert created.status_code == 303
    shown = client.get(created.headers["Location"])
    found = LINK.search(shown.get_data(as_text=True))
    assert found is not None
    url = found.group(1)
    again = client.get(created.headers["Location"] + "?lang=en").get_data(as_text=True)
    assert url not in again and "shown once" in again
    # The account has no usable password before the link is used.
    stranger = app.test_client()
    assert sign_in(stranger, "budi@example.id", "").status_code == 400
    user = fresh_user(session, "budi@example.id")
    assert user.role == "officer" and user.officer_id == officer.id
    assert set_via_link(stranger, token_of(url)).status_code == 303
    assert sign_in(stranger, "budi@example.id", NEW_PASSWORD).status_code == 303
    # Single use: the same link is now one kind "not valid" page.
    third = app.test_client()
    gone = third.get(f"/akun/sandi/{token_of(url)}?lang=en")
    assert gone.status_code == 404 and "works once" in gone.get_data(as_text=True)
    # Only the token's hash is stored, and no audit entry carries the token.
    link = session.scalars(select(PasswordLink)
                           .execution_options(populate_existing=True)).one()
    release(session)
    assert link.used_at is not None and token_of(url) not in link.token_hash
    issued = entries(session, "user.link_issued")
    assert len(issued) == 1 and token_of(url) not in (issued[0].after or "")
    assert [e.object_id for e in entries(session, "user.create")] == [str(user.id)]
    assert json.loads(entries(session, "user.password_set")[0].after or "{}") == {"via": "set"}


def test_a_link_expires_72_hours_after_creation(session: Session, home: SeededUnit) -> None:
    issued = accounts.create_account(session, None, "baru@example.id", "viewer", unit=None,
                                     officer=None, now=T0)
    session.commit()
    almost = T0 + timedelta(hours=72) - timedelta(seconds=1)
    assert accounts.valid_link(session, issued.token, now=almost) is not None
    assert accounts.valid_link(session, issued.token, now=T0 + timedelta(hours=72)) is None
    assert accounts.set_password_with_link(session, issued.token, NEW_PASSWORD,
                                           now=T0 + timedelta(hours=72)) is None
    assert accounts.set_password_with_link(session, issued.token, NEW_PASSWORD,
                                           now=almost) is not None


def test_expired_link_page_through_the_web(app: Flask, session: Session, home: SeededUnit,
                                           client: FlaskClient,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    issued = accounts.create_account(session, None, "baru@example.id", "viewer", unit=None,
                                     officer=None, now=T0)
    session.commit()
    monkeypatch.setattr("app.web.account.utcnow", lambda: T0 + timedelta(hours=71))
    assert client.get(f"/akun/sandi/{issued.token}").status_code == 200
    monkeypatch.setattr("app.web.account.utcnow", lambda: T0 + timedelta(hours=72))
    expired = client.get(f"/akun/sandi/{issued.token}?lang=en")
    unknown = client.get("/akun/sandi/not-a-real-token?lang=en")
    assert expired.status_code == unknown.status_code == 404
    assert expired.get_data(as_text=True).replace(issued.token, "T") == unknown.get_data(
        as_text=True).replace("not-a-real-token", "T")
    assert "baru@example.id" not in expired.get_data(as_text=True)


def test_reset_makes_older_links_stop_working(app: Flask, session: Session,
                                              client: FlaskClient) -> None:
    user = make_user(session, "viewer@example.id", "viewer")
    first = accounts.reset_password(session, None, user, now=T0)
    second = accounts.reset_password(session, None, user, now=T0 + timedelta(minutes=5))
    session.commit()
    assert accounts.valid_link(session, first.token, now=T0 + timedelta(hours=1)) is None
    assert accounts.valid_link(session, second.token, now=T0 + timedelta(hours=1)) is not None
    release(session)
    assert client.get(f"/akun/sandi/{first.token}").status_code == 404
    # The current password works until the new link is used.
    assert sign_in(app.test_client(), "viewer@example.id").status_code == 303


def test_reset_through_the_back_office_asks_first(app: Flask, session: Session,
                                                  client: FlaskClient) -> None:
    make_user(session, "admin@example.id", "admin")
    target = make_user(session, "viewer@example.id", "viewer")
    sign_in(client, "admin@example.id")
    asked = client.get(f"/admin/accounts/{target.id}/reset?lang=en")
    assert asked.status_code == 200 and "stop working" in asked.get_data(as_text=True)
    assert entries(session, "user.link_issued") == []
    done = client.post(f"/admin/accounts/{target.id}/reset",
                       data={"csrf_token": csrf_token_of(asked)})
    assert done.status_code == 303
    assert LINK.search(client.get(done.headers["Location"]).get_data(as_text=True))
    assert len(entries(session, "user.link_issued")) == 1


# Sessions end -----------------------------------------------------------------------------------


def test_setting_a_password_ends_the_accounts_sessions(app: Flask, session: Session,
                                                       client: FlaskClient) -> None:
    user = make_user(session, "viewer@example.id", "viewer")
    sign_in(client, "viewer@example.id")
    copy = app.test_client()
    cookie = client.get_cookie("session")
    assert cookie is not None
    copy.set_cookie("session", cookie.value)
    assert signed_in(client) and signed_in(copy)
    issued = accounts.reset_password(session, None, user, now=datetime.now(UTC))
    session.commit()
    assert set_via_link(app.test_client(), issued.token).status_code == 303
    assert not signed_in(client) and not signed_in(copy)


def test_changing_ones_own_password(app: Flask, session: Session, client: FlaskClient) -> None:
    make_user(session, "officer@example.id", "viewer")
    sign_in(client, "officer@example.id")
    wrong = post_form(client, "/akun/sandi?lang=en", current="not-the-password",
                      new=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert wrong.status_code == 400 and "current password is wrong" in wrong.get_data(
        as_text=True)
    differ = post_form(client, "/akun/sandi?lang=en", current=STAFF_PASSWORD,
                       new=NEW_PASSWORD, confirm=NEW_PASSWORD + "x")
    assert differ.status_code == 400 and "differ" in differ.get_data(as_text=True)
    assert entries(session, "user.password_set") == []
    done = post_form(client, "/akun/sandi", current=STAFF_PASSWORD, new=NEW_PASSWORD,
                     confirm=NEW_PASSWORD)
    assert done.status_code == 303
    assert not signed_in(client)
    assert sign_in(client, "officer@example.id").status_code == 401
    assert sign_in(client, "officer@example.id", NEW_PASSWORD).status_code == 303


def test_a_role_change_ends_the_accounts_sessions(app: Flask, session: Session,
                                                  home: SeededUnit, client: FlaskClient) -> None:
    make_user(session, "admin@example.id", "admin")
    target = make_user(session, "kepala@example.id", "unit_head", unit=home.unit)
    theirs = app.test_client()
    sign_in(theirs, "kepala@example.id")
    assert theirs.get("/admin/").status_code == 200
    sign_in(client, "admin@example.id")
    saved = post_form(client, f"/admin/accounts/{target.id}", role="viewer", unit="", nip="")
    assert saved.status_code == 303
    assert fresh_user(session, "kepala@example.id").role == "viewer"
    assert not signed_in(theirs)
    change = entries(session, "user.role_change")
    assert json.loads(change[0].before or "{}")["role"] == "unit_head"


# A unit head's limits ---------------------------------------------------------------------------


@pytest.fixture
def head(app: Flask, session: Session, home: SeededUnit, other: SeededUnit,
         client: FlaskClient) -> User:
    user = make_user(session, "kepala@example.id", "unit_head", unit=home.unit)
    assert sign_in(client, "kepala@example.id").status_code == 303
    return user


@pytest.mark.parametrize(("data", "field_message"), [
    ({"role": "admin", "unit": "DUKCAPIL"}, "You may not give the role Administrator"),
    ({"role": "unit_head", "unit": "DUKCAPIL"}, "You may not give the role Unit head"),
    ({"role": "viewer", "unit": "DUKCAPIL"}, "You may not give the role Viewer"),
    ({"role": "officer", "unit": "PKM-KTB2", "nip": OTHER_NIP}, "Choose a unit within"),
    ({"role": "officer", "unit": "NOPE", "nip": NIP}, "Choose one of the listed units"),
    ({"role": "root", "unit": "DUKCAPIL"}, "Choose one of the listed roles"),
    ({"role": "officer", "unit": "DUKCAPIL"}, "needs the officer"),
], ids=["admin", "unit_head", "viewer", "foreign-unit", "unknown-unit", "unknown-role",
        "no-nip"])
def test_a_unit_head_is_refused_with_a_message_and_nothing_stored(
        session: Session, home: SeededUnit, other: SeededUnit, head: User,
        client: FlaskClient, data: dict[str, str], field_message: str) -> None:
    make_officer(session, home)
    make_officer(session, other, OTHER_NIP, "Siti")
    before = user_count(session)
    refused = post_form(client, "/admin/accounts/new?lang=en", email="baru@example.id",
                        **{"nip": "", **data})
    assert refused.status_code == 400
    assert field_message in refused.get_data(as_text=True)
    assert user_count(session) == before
    assert entries(session, "user.create") == []


def test_a_unit_head_creates_an_officer_account_in_their_unit(
        session: Session, home: SeededUnit, head: User, client: FlaskClient) -> None:
    officer = make_officer(session, home)
    created = post_form(client, "/admin/accounts/new", email="budi@example.id",
                        role="officer", unit="DUKCAPIL", nip=officer.nip)
    assert created.status_code == 303
    assert fresh_user(session, "budi@example.id").unit_id == home.unit.id


def test_a_unit_head_cannot_change_their_own_role_nor_move_out_of_scope(
        session: Session, home: SeededUnit, other: SeededUnit, head: User,
        client: FlaskClient) -> None:
    own = post_form(client, f"/admin/accounts/{head.id}?lang=en", role="officer",
                    unit="DUKCAPIL", nip=NIP)
    assert own.status_code == 400
    officer = make_officer(session, home)
    budi = make_user(session, "budi@example.id", "officer", unit=home.unit, officer=officer)
    moved = post_form(client, f"/admin/accounts/{budi.id}?lang=en", role="officer",
                      unit="PKM-KTB2", nip=NIP)
    assert moved.status_code == 400 and "Choose a unit within" in moved.get_data(as_text=True)
    assert fresh_user(session, "budi@example.id").unit_id == home.unit.id
    assert fresh_user(session, "kepala@example.id").role == "unit_head"
    assert entries(session, "user.role_change") == []
    # Accounts of another unit and administrators are not there for a unit head.
    stranger = make_user(session, "siti@example.id", "viewer")
    admin = make_user(session, "admin@example.id", "admin")
    for user_id in (stranger.id, admin.id):
        assert client.get(f"/admin/accounts/{user_id}").status_code == 404
        assert client.get(f"/admin/accounts/{user_id}/reset").status_code == 404
    listed = client.get("/admin/accounts").get_data(as_text=True)
    assert "budi@example.id" in listed and "admin@example.id" not in listed


def test_a_unit_head_cannot_grant_acting_roles(session: Session, home: SeededUnit,
                                               other: SeededUnit, head: User,
                                               client: FlaskClient) -> None:
    page = client.get(f"/admin/accounts/{head.id}")
    refused = client.post(f"/admin/accounts/{head.id}/acting?lang=en",
                          data={"csrf_token": csrf_token_of(page), "unit": "DUKCAPIL"})
    assert refused.status_code == 400
    assert "Only an administrator" in refused.get_data(as_text=True)
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(UnitRole)) == 0
    release(session)


# The last administrator ------------------------------------------------------------------------


def test_the_last_active_administrator_is_protected(app: Flask, session: Session,
                                                    client: FlaskClient) -> None:
    admin = make_user(session, "admin@example.id", "admin")
    admin_id = admin.id
    with pytest.raises(accounts.AccountError, match="last active administrator"):
        accounts.change_role(session, None, admin, "viewer", unit=None)
    session.rollback()
    with pytest.raises(accounts.AccountError, match="last active administrator"):
        accounts.set_active(session, None, admin, False, now=datetime.now(UTC))
    session.rollback()
    sign_in(client, "admin@example.id")
    asked = client.get(f"/admin/accounts/{admin_id}/deactivate")
    refused = client.post(f"/admin/accounts/{admin_id}/deactivate?lang=en",
                          data={"csrf_token": csrf_token_of(asked)}, follow_redirects=True)
    assert "cannot deactivate your own account" in refused.get_data(as_text=True)
    assert fresh_user(session, "admin@example.id").active
    second = make_user(session, "kedua@example.id", "admin")
    assert accounts.set_active(session, None, second, False, now=datetime.now(UTC))
    session.rollback()
    assert accounts.change_role(session, None, admin, "viewer", unit=None)
    session.commit()
    assert fresh_user(session, "admin@example.id").role == "viewer"


def test_deactivation_asks_first_and_ends_sessions(app: Flask, session: Session,
                                                   client: FlaskClient) -> None:
    make_user(session, "admin@example.id", "admin")
    target = make_user(session, "viewer@example.id", "viewer")
    theirs = app.test_client()
    sign_in(theirs, "viewer@example.id")
    sign_in(client, "admin@example.id")
    asked = client.get(f"/admin/accounts/{target.id}/deactivate?lang=en")
    assert "no longer be able to sign in" in asked.get_data(as_text=True)
    assert fresh_user(session, "viewer@example.id").active
    client.post(f"/admin/accounts/{target.id}/deactivate",
                data={"csrf_token": csrf_token_of(asked)})
    assert not fresh_user(session, "viewer@example.id").active
    assert not signed_in(theirs)
    assert sign_in(theirs, "viewer@example.id").status_code == 401
    assert len(entries(session, "user.deactivate")) == 1


# Plt. ------------------------------------------------------------------------------------------


def test_an_acting_head_sees_the_second_units_dashboard(
        app: Flask, session: Session, home: SeededUnit, other: SeededUnit,
        client: FlaskClient) -> None:
    make_user(session, "admin@example.id", "admin")
    head = make_user(session, "kepala@example.id", "unit_head", unit=home.unit)
    theirs = app.test_client()
    sign_in(theirs, "kepala@example.id")
    assert theirs.get("/dashboard/units/PKM-KTB2").status_code == 404
    sign_in(client, "admin@example.id")
    page = client.get(f"/admin/accounts/{head.id}")
    granted = client.post(f"/admin/accounts/{head.id}/acting",
                          data={"csrf_token": csrf_token_of(page), "unit": "PKM-KTB2"})
    assert granted.status_code == 303
    assert "PKM-KTB2" in client.get(f"/admin/accounts/{head.id}").get_data(as_text=True)
    sign_in(theirs, "kepala@example.id")
    assert theirs.get("/dashboard/units/PKM-KTB2").status_code == 200
    revoke = f"/admin/accounts/{head.id}/acting/PKM-KTB2/revoke"
    asked = client.get(revoke)
    assert client.post(revoke, data={"csrf_token": csrf_token_of(asked)}).status_code == 303
    sign_in(theirs, "kepala@example.id")
    assert theirs.get("/dashboard/units/PKM-KTB2").status_code == 404
    assert len(entries(session, "user.acting_grant")) == 1
    assert len(entries(session, "user.acting_revoke")) == 1


def test_a_sub_unit_is_in_a_unit_heads_scope(session: Session, home: SeededUnit) -> None:
    child = create_unit(session, "PKM-ANAK", "Puskesmas Anak", "puskesmas", parent=home.unit)
    session.commit()
    head = make_user(session, "kepala@example.id", "unit_head", unit=home.unit)
    viewer = make_user(session, "viewer@example.id", "viewer")
    officer = make_officer(session, home)
    assert accounts.grantable_roles(head) == ("officer",)
    issued = accounts.create_account(session, head, "anak@example.id", "officer", unit=home.unit,
                                     officer=officer, now=T0)
    assert accounts.may_manage(session, head, issued.user)
    assert not accounts.may_manage(session, head, viewer)
    assert child.id in (accounts._scope(session, head) or set())  # noqa: SLF001


# Sign-in events --------------------------------------------------------------------------------


def test_sign_in_success_failure_and_sign_out_are_audited(
        app: Flask, session: Session, client: FlaskClient) -> None:
    user = make_user(session, "viewer@example.id", "viewer")
    assert sign_in(client, "Viewer@Example.id", "salah-sandi-rahasia").status_code == 401
    assert sign_in(client, "nobody@example.id", "sandi-rahasia-lain").status_code == 401
    failed = entries(session, "auth.sign_in_failed")
    assert [json.loads(e.after or "{}")["email"] for e in failed] == [
        "Viewer@Example.id", "nobody@example.id"]
    assert all(e.actor == "anonymous" and "POST /masuk" in (e.request or "") for e in failed)
    assert sign_in(client, "viewer@example.id").status_code == 303
    ok = entries(session, "auth.sign_in")
    assert [(e.user_id, e.object_id) for e in ok] == [(user.id, str(user.id))]
    page = client.get("/akun/sandi")
    client.post("/keluar", data={"csrf_token": csrf_token_of(page)})
    assert [e.user_id for e in entries(session, "auth.sign_out")] == [user.id]
    texts = [f"{e.before} {e.after} {e.request}" for e in session.scalars(select(AuditEntry))]
    release(session)
    assert not any("salah-sandi" in t or "sandi-rahasia" in t or STAFF_PASSWORD in t
                   for t in texts)


# Hostile input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("email", ["budi\x00@example.id", "budi\u202e@example.id",
                                   "bu\u200bdi@example.id", "a" * 300 + "@example.id"],
                         ids=["nul", "bidi", "zero-width", "oversized"])
def test_hostile_e_mails_are_refused_beside_the_field(
        session: Session, client: FlaskClient, email: str) -> None:
    make_user(session, "admin@example.id", "admin")
    sign_in(client, "admin@example.id")
    refused = post_form(client, "/admin/accounts/new?lang=en", email=email, role="viewer",
                        unit="", nip="")
    assert refused.status_code == 400
    assert 'id="email-error"' in refused.get_data(as_text=True)
    assert user_count(session) == 1
    # The sign-in form: one answer, and the failure is recorded without the NUL.
    assert sign_in(client, email, STAFF_PASSWORD).status_code in (400, 401)


def test_a_nul_e_mail_at_sign_in_is_a_recorded_failure(session: Session,
                                                       client: FlaskClient) -> None:
    assert sign_in(client, "budi\x00@example.id", "sandi-rahasia-lain").status_code == 401
    failed = entries(session, "auth.sign_in_failed")
    assert json.loads(failed[0].after or "{}") == {"email": "budi@example.id"}


@pytest.mark.parametrize(("password", "message"), [
    ("p" * 10_000, "at most 200 characters"),
    ("pendek", "at least 10 characters"),
    ("sandi\u202epanjang-sekali", "control or invisible"),
    ("sandi\x00panjang-sekali", "control or invisible"),
    ("", "Enter the new password"),
], ids=["oversized", "short", "bidi", "nul", "missing"])
def test_hostile_passwords_on_the_link_page(session: Session, client: FlaskClient,
                                            password: str, message: str) -> None:
    issued = accounts.create_account(session, None, "baru@example.id", "viewer", unit=None,
                                     officer=None, now=datetime.now(UTC))
    session.commit()
    refused = set_via_link(client, issued.token + "?lang=en", password)
    assert refused.status_code == 400
    assert message in refused.get_data(as_text=True)
    assert accounts.valid_link(session, issued.token, now=datetime.now(UTC)) is not None
    assert entries(session, "user.password_set") == []


def test_the_link_page_speaks_indonesian_by_default(session: Session,
                                                    client: FlaskClient) -> None:
    issued = accounts.create_account(session, None, "baru@example.id", "viewer", unit=None,
                                     officer=None, now=datetime.now(UTC))
    session.commit()
    assert "Atur kata sandi" in client.get(f"/akun/sandi/{issued.token}").get_data(as_text=True)


def test_hostile_tokens_answer_the_same_404(client: FlaskClient) -> None:
    for token in ("x" * 10_000, "\u202eabc", "abc%2F..%2F"):
        assert client.get(f"/akun/sandi/{token}").status_code == 404
    # A NUL is refused before any lookup, for every path alike (tests/test_boundary.py).
    assert client.get("/akun/sandi/%00abc").status_code == 400


# CLI -------------------------------------------------------------------------------------------


def test_the_users_cli(app: Flask, session: Session, home: SeededUnit, other: SeededUnit,
                       runner: FlaskCliRunner, client: FlaskClient) -> None:
    admin = runner.invoke(args=["users", "create", "--email", "admin@example.id", "--role",
                                "admin", "--password", STAFF_PASSWORD])
    assert admin.exit_code == 0, admin.output
    linked = runner.invoke(args=["users", "create", "--email", "kepala@example.id", "--role",
                                 "unit_head", "--unit", "DUKCAPIL", "--link"])
    assert linked.exit_code == 0, linked.output
    url = linked.output.strip().splitlines()[-1]
    assert url.startswith("https://suara.example.id/akun/sandi/")
    assert sign_in(client, "kepala@example.id", "").status_code == 400
    reset = runner.invoke(args=["users", "reset", "kepala@example.id"])
    assert reset.exit_code == 0
    assert client.get(f"/akun/sandi/{token_of(url)}").status_code == 404
    assert client.get(f"/akun/sandi/{token_of(reset.output.strip())}").status_code == 200
    acting = runner.invoke(args=["users", "acting", "kepala@example.id", "--unit", "PKM-KTB2"])
    assert acting.exit_code == 0, acting.output
    listed = runner.invoke(args=["users", "list"])
    assert "kepala@example.id\tunit_head\tDUKCAPIL\tactive\tplt:PKM-KTB2" in listed.output
    revoked = runner.invoke(args=["users", "acting", "kepala@example.id", "--unit", "PKM-KTB2",
                                  "--revoke"])
    assert revoked.exit_code == 0
    role = runner.invoke(args=["users", "set-role", "kepala@example.id", "--role", "viewer"])
    assert role.exit_code == 0, role.output
    assert fresh_user(session, "kepala@example.id").role == "viewer"
    assert runner.invoke(args=["users", "deactivate", "kepala@example.id"]).exit_code == 0
    assert not fresh_user(session, "kepala@example.id").active
    assert runner.invoke(args=["users", "reactivate", "kepala@example.id"]).exit_code == 0
    assert fresh_user(session, "kepala@example.id").active
    actions = {e.action for e in entries(session, "user.create")} | {
        e.action for e in entries(session, "user.deactivate")}
    assert actions == {"user.create", "user.deactivate"}
    assert all(e.actor.startswith("cli:") for e in entries(session, "user.create"))


@pytest.mark.parametrize(("args", "message"), [
    (["reset", "nobody@example.id"], "no account with e-mail"),
    (["reset", "bu\x00di@example.id"], "no account with e-mail"),
    (["set-role", "admin@example.id", "--role", "viewer"], "last active administrator"),
    (["set-role", "admin@example.id", "--role", "root"], "root"),
    (["set-role", "admin@example.id", "--role", "unit_head"], "needs a unit"),
    (["deactivate", "admin@example.id"], "last active administrator"),
    (["acting", "admin@example.id", "--unit", "DUKCAPIL"], "Only a unit head"),
    (["acting", "admin@example.id", "--unit", "NOPE"], "unknown unit code"),
    (["acting", "admin@example.id", "--unit", "DUKCAPIL", "--revoke"], "no acting role"),
    (["create", "--email", "x\u202e@example.id", "--role", "viewer", "--link"],
     "not a valid e-mail"),
    (["create", "--email", "x@example.id", "--role", "viewer", "--link", "--password",
      STAFF_PASSWORD], "either --link or --password"),
], ids=["unknown", "nul", "last-admin-role", "bad-role", "head-without-unit",
        "last-admin-deactivate", "acting-not-head", "acting-unknown-unit", "revoke-none",
        "bidi-email", "link-and-password"])
def test_users_cli_errors_exit_non_zero(session: Session, home: SeededUnit,
                                        runner: FlaskCliRunner, args: list[str],
                                        message: str) -> None:
    make_user(session, "admin@example.id", "admin")
    result = runner.invoke(args=["users", *args])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert user_count(session) == 1
    assert fresh_user(session, "admin@example.id").role == "admin"


def test_an_officer_account_keeps_its_own_officer_record(session: Session,
                                                         home: SeededUnit) -> None:
    officer = make_officer(session, home)
    user = make_user(session, "budi@example.id", "officer", unit=home.unit, officer=officer)
    assert not accounts.change_role(session, None, user, "officer", unit=home.unit,
                                    officer=officer)
    assert accounts.change_role(session, None, user, "unit_head", unit=home.unit)
    assert user.officer_id is None
    assert accounts.change_role(session, None, user, "officer", unit=home.unit,
                                officer=officer)
    other_user = make_user(session, "lain@example.id", "viewer")
    with pytest.raises(accounts.AccountError, match="already has an account"):
        accounts.change_role(session, None, other_user, "officer", unit=home.unit,
                             officer=officer)
    session.rollback()
