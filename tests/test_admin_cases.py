"""Complaint cases in the back office: who sees and works which case, the contact shown only
to the unit's handlers and administrators (audited, never elsewhere: other roles' pages,
the audit log, the export, the API, the digest), the forms and their refusals, granting the
handler role, and the CLI."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from case_world import (
    ADMIN,
    EMAIL,
    HANDLER,
    HEAD,
    NOW,
    OFFICER,
    OFFICER_NAME,
    OTHER_HANDLER,
    OTHER_HEAD,
    PHONE,
    PHONE_DIGITS,
    VIEWER,
    CaseWorld,
    build_world,
)
from factories import cached_password_hash, csrf_token_of, release, sign_in
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from i18n_helpers import visible_text
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from app.digests import compose_digest
from app.models import AuditEntry, Case, CaseContact, CaseEvent, CaseHandler, Unit

SECRETS = (PHONE, PHONE_DIGITS, EMAIL)


@pytest.fixture(autouse=True)
def _cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("app.users.generate_password_hash", cached_password_hash)


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    later = NOW + timedelta(hours=2)
    for module in ("app.web.admin.cases", "app.web.admin.case_handlers"):
        monkeypatch.setattr(f"{module}.utcnow", lambda: later)


@pytest.fixture
def world(app: Flask, session: Session) -> CaseWorld:
    built = build_world(app, session)
    # The contact has an e-mail too, so both values are searched for.
    contact = session.get(CaseContact, built.case.id)
    assert contact is not None
    contact.email = EMAIL
    session.commit()
    return built


def as_user(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, email).status_code == 303
    return client


def assert_no_contact(page: TestResponse) -> None:
    html = page.get_data(as_text=True)
    for secret in SECRETS:
        assert secret not in html, secret
        assert secret not in visible_text(html), secret


def post(client: FlaskClient, page_url: str, url: str, **fields: str) -> TestResponse:
    token = csrf_token_of(client.get(page_url))
    return client.post(url, data={"csrf_token": token, **fields})


# Who sees which case --------------------------------------------------------------------------


@pytest.mark.parametrize(("email", "listed", "detail"), [
    (ADMIN, True, 200), (HEAD, True, 200), (HANDLER, True, 200),
    (OTHER_HANDLER, False, 404), (OTHER_HEAD, False, 404), (OFFICER, None, 403),
    (VIEWER, None, 403),
])
def test_each_role_sees_the_cases_it_may(
    app: Flask, world: CaseWorld, email: str, listed: bool | None, detail: int
) -> None:
    client = as_user(app, email)
    listing = client.get("/admin/cases")
    if listed is None:
        assert listing.status_code == 403
    else:
        assert listing.status_code == 200
        assert (world.case.reference in listing.get_data(as_text=True)) is listed
    page = client.get(f"/admin/cases/{world.case.id}")
    assert page.status_code == detail
    # Nobody but the case's handler and an administrator ever gets the contact.
    for response in (listing, page):
        assert_no_contact(response)


def test_anonymous_visitors_are_sent_to_sign_in(app: Flask, client: FlaskClient,
                                                world: CaseWorld) -> None:
    assert client.get("/admin/cases").status_code == 302
    assert client.get(f"/admin/cases/{world.case.id}").status_code == 302


def test_only_heads_and_admins_read_the_officers_name(app: Flask, world: CaseWorld) -> None:
    for email, named in ((ADMIN, True), (HEAD, True), (HANDLER, False)):
        page = as_user(app, email).get(f"/admin/cases/{world.case.id}?lang=en")
        text = visible_text(page.get_data(as_text=True))
        assert (OFFICER_NAME in text) is named, email
        assert "Antrean lama" in text  # the comment is for every reader of the case


def test_a_handler_who_is_an_officer_finds_the_cases_from_the_staff_pages(
    app: Flask, world: CaseWorld
) -> None:
    client = as_user(app, HANDLER)
    home = client.get("/dashboard/", follow_redirects=True)
    assert 'href="/admin/cases"' in home.get_data(as_text=True)
    listing = client.get("/admin/cases").get_data(as_text=True)
    # The back office's other areas are not offered to a handler of another role.
    assert 'href="/admin/units"' not in listing and 'href="/admin/"' not in listing
    assert as_user(app, OFFICER).get("/dashboard/", follow_redirects=True).get_data(
        as_text=True).count('href="/admin/cases"') == 0


# The contact ----------------------------------------------------------------------------------


def test_a_handler_shows_the_contact_once_and_the_view_is_audited_without_it(
    app: Flask, session: Session, world: CaseWorld
) -> None:
    client = as_user(app, HANDLER)
    url = f"/admin/cases/{world.case.id}"
    assert_no_contact(client.get(url))
    shown = post(client, url, f"{url}/contact")
    assert shown.status_code == 303
    page = client.get(url)
    assert PHONE in visible_text(page.get_data(as_text=True))
    assert page.headers["Cache-Control"] == "no-store"
    assert_no_contact(client.get(url))  # a reload shows it no more
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(CaseEvent).where(
        CaseEvent.kind == "contact_viewed")) == 1
    entry = session.scalars(select(AuditEntry).where(
        AuditEntry.action == "case.contact_viewed")).one()
    assert entry.actor == f"user:{HANDLER}"
    release(session)
    # The audit log (page and CSV) never holds the value.
    admin = as_user(app, ADMIN)
    assert_no_contact(admin.get("/admin/audit"))
    assert_no_contact(admin.get("/admin/audit/export.csv"))


@pytest.mark.parametrize("email", [HEAD, OTHER_HANDLER, OFFICER, VIEWER])
def test_other_roles_cannot_show_the_contact(
    app: Flask, session: Session, world: CaseWorld, email: str
) -> None:
    client = as_user(app, email)
    token = csrf_token_of(client.get("/dashboard/", follow_redirects=True))
    refused = client.post(f"/admin/cases/{world.case.id}/contact",
                          data={"csrf_token": token})
    assert refused.status_code in (403, 404)
    assert_no_contact(refused)
    assert session.scalar(select(func.count()).select_from(CaseEvent).where(
        CaseEvent.kind == "contact_viewed")) == 0


def test_the_contact_is_in_no_export_api_digest_or_dashboard(
    app: Flask, session: Session, runner: FlaskCliRunner, world: CaseWorld
) -> None:
    release(session)
    for fmt in ("csv", "jsonl"):
        result = runner.invoke(args=["export", "responses", "--format", fmt])
        assert result.exit_code == 0, result.output
        assert "Antrean lama" in result.output  # the response is there, not its contact
        for secret in SECRETS:
            assert secret not in result.output
    admin = as_user(app, ADMIN)
    for url in ("/api/v1/openapi.json", "/dashboard/units/DUKCAPIL?week=2026-03-02",
                "/api/v1/indicators?scope=unit&period=week"):
        assert_no_contact(admin.get(url))
    _subject, text = compose_digest(session, world.home.unit, NOW.date(),
                                    app.extensions["suara.settings"], now=NOW + timedelta(
                                        days=10))
    for secret in SECRETS:
        assert secret not in text
    # The overdue case is listed by its reference, stage and days (the week's comments are
    # the digest's own section).
    line = next(line for line in text.splitlines() if world.case.reference in line)
    assert "Antrean" not in line and "5" in line


# The forms ------------------------------------------------------------------------------------


def test_a_handler_takes_a_case_from_new_to_closed(
    app: Flask, session: Session, world: CaseWorld
) -> None:
    client = as_user(app, HANDLER)
    url = f"/admin/cases/{world.case.id}"
    handler_id = world.users[HANDLER].id
    steps = [("assign", {"assign-owner": str(handler_id)}),
             ("categorise", {"category-category": "waiting"}),
             ("lapor", {"lapor-lapor_number": "LAPOR-2026/0042"}),
             ("verify", {"verify-note": "Benar."}),
             ("follow-up", {"follow-answer": "Petugas ditambah pada jam sibuk."}),
             ("summary", {"summary-public_summary": "Antrean dipercepat."}),
             ("publish", {}), ("close", {"close-note": ""}),
             ("reopen", {"reopen-note": "Warga belum puas."})]
    for step, fields in steps:
        page = client.get(url)
        token = csrf_token_of(page)
        prefix = {"assign": "assign", "categorise": "category", "lapor": "lapor",
                  "verify": "verify", "follow-up": "follow", "summary": "summary",
                  "publish": "publish", "close": "close", "reopen": "reopen"}[step]
        sent = client.post(f"{url}/{step}", data={f"{prefix}-csrf_token": token, **fields})
        assert sent.status_code == 303, (step, visible_text(sent.get_data(as_text=True)))
    session.expire_all()
    case = session.get(Case, world.case.id)
    assert case is not None
    assert (case.state, case.owner_id, case.category, case.lapor_number, case.published) == (
        "followed_up", handler_id, "waiting", "LAPOR-2026/0042", True)
    assert case.answer == "Petugas ditambah pada jam sibuk."


@pytest.mark.parametrize(("step", "fields", "message"), [
    ("follow-up", {"follow-answer": "Sudah."}, "does not fit the case's state"),
    ("verify", {"verify-note": "a\x00b"}, "invisible or control character"),
    ("verify", {"verify-note": "x" * 2001}, "at most 2000"),
    ("assign", {"assign-owner": "99999999999999999999"}, "handler of this unit"),
    ("assign", {"assign-owner": "abc"}, "handler of this unit"),
    ("categorise", {"category-category": "bribery"}, "listed categories"),
    ("lapor", {"lapor-lapor_number": "LAPOR\x00"}, "letters, digits"),
    ("lapor", {"lapor-lapor_number": "9" * 41}, "at most 40"),
    ("publish", {}, "Write the public summary first"),
    ("note", {"note-note": " "}, "required"),
])
def test_bad_input_on_every_case_form_is_refused_beside_it(
    app: Flask, session: Session, world: CaseWorld, step: str, fields: dict[str, str],
    message: str
) -> None:
    client = as_user(app, HANDLER)
    url = f"/admin/cases/{world.case.id}"
    prefix = {"assign": "assign", "categorise": "category", "lapor": "lapor",
              "verify": "verify", "follow-up": "follow", "publish": "publish",
              "note": "note"}[step]
    token = csrf_token_of(client.get(url))
    before = session.scalar(select(func.count()).select_from(CaseEvent))
    release(session)
    sent = client.post(f"{url}/{step}?lang=en", data={f"{prefix}-csrf_token": token,
                                                     **fields})
    assert sent.status_code == 400
    assert message in visible_text(sent.get_data(as_text=True))
    assert_no_contact(sent)
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(CaseEvent)) == before


def test_forms_without_a_token_or_from_readers_change_nothing(
    app: Flask, session: Session, world: CaseWorld
) -> None:
    url = f"/admin/cases/{world.case.id}"
    handler = as_user(app, HANDLER)
    assert handler.post(f"{url}/verify", data={"verify-note": "x"}).status_code == 400
    head = as_user(app, HEAD)
    token = csrf_token_of(head.get("/dashboard/", follow_redirects=True))
    assert head.post(f"{url}/verify", data={"verify-csrf_token": token}).status_code == 403
    for bad in (f"/admin/cases/{2**63}", "/admin/cases/99999", f"/admin/cases/{2**31}"):
        assert handler.get(bad).status_code == 404
    session.expire_all()
    assert session.get(Case, world.case.id).state == "new"  # type: ignore[union-attr]


@pytest.mark.parametrize("query", ["state=lost", "unit=NOPE", "unit=%00", "overdue=yes",
                                   "unit=PKM-KTB2"])
def test_bad_list_filters_are_refused(app: Flask, world: CaseWorld, query: str) -> None:
    page = as_user(app, HANDLER).get(f"/admin/cases?{query}&lang=en")
    assert page.status_code == 400
    assert world.case.reference not in page.get_data(as_text=True)


def test_the_list_filters_by_state_unit_and_overdue(app: Flask, world: CaseWorld) -> None:
    client = as_user(app, ADMIN)
    reference = world.case.reference

    def listed(query: str) -> bool:
        page = client.get(f"/admin/cases?{query}")
        assert page.status_code == 200
        return reference in page.get_data(as_text=True)

    assert listed("state=new") and not listed("state=closed")
    assert listed("unit=DUKCAPIL") and not listed("unit=PKM-KTB2")
    # Opened Monday 2 March, due Thursday 5; the page's clock says 2 March.
    assert not listed("overdue=1")


# Granting the handler role ---------------------------------------------------------------------


def _grant(client: FlaskClient, unit: str, email: str) -> TestResponse:
    page = client.get("/admin/cases/handlers")
    return client.post("/admin/cases/handlers?lang=en", data={
        "csrf_token": csrf_token_of(page), "unit": unit, "email": email})


def test_heads_grant_the_role_in_their_units_and_admins_everywhere(
    app: Flask, session: Session, world: CaseWorld
) -> None:
    head = as_user(app, HEAD)
    assert _grant(head, "DUKCAPIL", OFFICER).status_code == 303
    for unit, email, message in (
            ("DUKCAPIL", HEAD, "Ask an administrator"),
            ("DUKCAPIL", OTHER_HEAD, "units you head"),
            ("PKM-KTB2", OFFICER, "listed units"),
            ("DUKCAPIL", ADMIN, "every unit's cases already"),
            ("DUKCAPIL", "nobody@contoh.go.id", "No active staff account"),
            ("DUKCAPIL", "a\x00@b", "No active staff account"),
            ("DUKCAPIL", OFFICER, "already handles")):
        refused = _grant(head, unit, email)
        assert refused.status_code == 400, (unit, email)
        assert message in visible_text(refused.get_data(as_text=True)), (unit, email)
    assert _grant(as_user(app, ADMIN), "PKM-KTB2", VIEWER).status_code == 303
    assert as_user(app, VIEWER).get("/admin/cases").status_code == 200
    assert as_user(app, HANDLER).get("/admin/cases/handlers").status_code == 403
    session.expire_all()
    actions = list(session.scalars(select(AuditEntry.action).where(
        AuditEntry.action.like("case_handler.%"))))
    assert actions == ["case_handler.grant", "case_handler.grant"]


def test_revoking_a_handler_unassigns_its_cases(
    app: Flask, session: Session, world: CaseWorld
) -> None:
    handler_id = world.users[HANDLER].id
    world.case.owner_id = handler_id
    row = session.scalar(select(CaseHandler).where(CaseHandler.user_id == handler_id))
    assert row is not None
    row_id = row.id
    session.commit()
    head = as_user(app, HEAD)
    url = f"/admin/cases/handlers/{row_id}/revoke"
    assert head.get(url).status_code == 200
    assert as_user(app, OTHER_HEAD).get(url).status_code == 404
    assert head.post(url, data={"csrf_token": csrf_token_of(head.get(url))}).status_code \
        == 303
    session.expire_all()
    assert session.get(Case, world.case.id).owner_id is None  # type: ignore[union-attr]
    release(session)
    assert as_user(app, HANDLER).get("/admin/cases").status_code == 403


def test_the_cli_adds_and_removes_handlers(
    app: Flask, session: Session, runner: FlaskCliRunner, world: CaseWorld
) -> None:
    added = runner.invoke(args=["cases", "handlers", "add", "--unit", "DUKCAPIL",
                                "--email", OFFICER])
    assert added.exit_code == 0, added.output
    again = runner.invoke(args=["cases", "handlers", "add", "--unit", "DUKCAPIL",
                                "--email", OFFICER])
    assert again.exit_code != 0 and "already handles" in again.output
    unknown = runner.invoke(args=["cases", "handlers", "add", "--unit", "NO\x00PE",
                                  "--email", OFFICER])
    assert unknown.exit_code != 0 and "--unit" in unknown.output
    listed = runner.invoke(args=["cases", "handlers", "list"])
    assert OFFICER in listed.output
    removed = runner.invoke(args=["cases", "handlers", "remove", "--unit", "DUKCAPIL",
                                  "--email", OFFICER])
    assert removed.exit_code == 0, removed.output
    gone = runner.invoke(args=["cases", "handlers", "remove", "--unit", "DUKCAPIL",
                               "--email", OFFICER])
    assert gone.exit_code != 0
    unit = session.scalar(select(Unit).where(Unit.code == "DUKCAPIL"))
    assert unit is not None
    assert session.scalar(select(func.count()).select_from(CaseHandler).where(
        CaseHandler.unit_id == unit.id)) == 1


def test_the_audit_log_of_case_steps_names_no_contact(
    app: Flask, session: Session, world: CaseWorld
) -> None:
    entries = list(session.scalars(select(AuditEntry)))
    dumped = json.dumps([[e.before, e.after, e.request] for e in entries])
    for secret in SECRETS:
        assert secret not in dumped
    assert any('"contact": true' in (e.after or "") for e in entries)
