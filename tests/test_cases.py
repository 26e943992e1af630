"""Complaint cases: why a response opens one (the contract's table), one per response, its
reference and working-day deadlines (weekend, national holiday, joint leave day, an
administrator's day), the handlers' steps and their refusals, the phone form's complaint
box and contact, the thank-you page, the public case page and the API's complaint flag."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta

import pytest
from case_world import COMMENT, GOOD, NOW, WIB, open_complaint
from factories import (
    SCORES,
    as_integration,
    integration_token,
    make_unit,
    make_user,
    open_and_submit,
    release,
    skm_survey,
    survey_form,
)
from flask import Flask
from flask.testing import FlaskClient
from i18n_helpers import visible_text
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import cases
from app.answers import Answers
from app.case_contact import Contact, normalise_email, normalise_phone, parse_complaint
from app.cases import CaseError, reasons_of
from app.feedback import Submission, record_response
from app.models import AuditEntry, CalendarDay, Case, CaseContact, CaseEvent, Response

U = (3, 3, 3, 3, 3, 3, 3, 3, 3)


def scores(**changes: int) -> tuple[int, ...]:
    values = list(U)
    for code, score in changes.items():
        values[int(code[1:]) - 1] = score
    return tuple(values)


# The reasons table -----------------------------------------------------------------------------


@pytest.mark.parametrize(("answers", "comment", "fee", "declared", "expected"), [
    (U, None, None, False, ()),
    (U, COMMENT, None, False, ()),
    (U, None, None, True, ("declared",)),
    # Any of U1-U8 at 1 with a comment; without a comment it is no case.
    (scores(U1=1), COMMENT, None, False, ("low_score",)),
    (scores(U8=1), COMMENT, None, False, ("low_score",)),
    (scores(U1=1), None, None, False, ()),
    # U9 at 1 ("no complaint channel") alone is common and not a complaint.
    (scores(U9=1), COMMENT, None, False, ()),
    # ... but it counts in the mean: 2,2,...,1 is a mean of 17/9, below 2.5.
    ((2, 2, 2, 2, 2, 2, 2, 2, 1), COMMENT, None, False, ("low_score",)),
    # The mean's edge: 22/9 = 2.44 is low, 23/9 = 2.56 is not (no score at 1).
    ((3, 3, 2, 2, 2, 2, 2, 2, 4), COMMENT, None, False, ("low_score",)),
    ((3, 3, 3, 2, 2, 2, 2, 2, 4), COMMENT, None, False, ()),
    # A free service whose U4 is not "Gratis" (4); a paid one, or none chosen, is not.
    (scores(U4=4), None, 0, False, ()),
    (scores(U4=3), None, 0, False, ("illegal_fee",)),
    (scores(U4=1), None, 15000, False, ()),
    (scores(U4=1), None, None, False, ()),
    # Every reason, in the contract's order.
    (scores(U4=1), COMMENT, 0, True, ("declared", "low_score", "illegal_fee")),
])
def test_the_reasons_table(answers: tuple[int, ...], comment: str | None, fee: int | None,
                           declared: bool, expected: tuple[str, ...]) -> None:
    assert reasons_of(answers, comment, fee, declared=declared) == expected


def test_a_response_opens_one_case_with_its_reasons_events_and_audit(
    app: Flask, session: Session
) -> None:
    home = make_unit(session)
    case = open_complaint(app, session, home, NOW, scores=scores(U1=1, U4=2),
                          service="KK")
    assert case is not None
    assert case.reasons == "low_score,illegal_fee"
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}", case.reference)
    assert (case.state, case.opened_on, case.verify_due_on) == ("new", date(2026, 3, 2),
                                                                date(2026, 3, 5))
    assert [e.kind for e in cases.history(session, case.id)] == ["opened"]
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "case.open")).one()
    # A citizen's address never reaches the audit log with a case.
    assert (entry.actor, entry.request) == ("citizen", None)
    # One case per response: opening again returns it; the database refuses a second.
    response = session.get(Response, case.response_id)
    assert response is not None
    again = cases.open_case(session, response, declared=True, contact=None, now=NOW, tz=WIB)
    assert again is not None and again.id == case.id
    session.add(Case(reference="ZZZZ-ZZZZ", response_id=case.response_id, unit_id=home.unit.id,
                     reasons="declared", state="new", opened_at=NOW, opened_on=NOW.date(),
                     verify_due_on=NOW.date()))
    with pytest.raises(IntegrityError):
        session.flush()


def test_flagged_responses_and_responses_without_a_reason_open_none(
    app: Flask, session: Session
) -> None:
    home = make_unit(session)
    assert open_complaint(app, session, home, NOW, declared=True, bot=True) is None
    assert open_complaint(app, session, home, NOW, scores=GOOD, comment=COMMENT) is None
    assert open_complaint(app, session, home, NOW, scores=scores(U9=1)) is None
    # A contact without a case is not stored.
    assert open_complaint(app, session, home, NOW, scores=GOOD,
                          contact=Contact("+6281234567890", None, "p")) is None
    assert session.scalar(select(func.count()).select_from(Case)) == 0
    assert session.scalar(select(func.count()).select_from(CaseContact)) == 0
    # A flagged response read back is refused by open_case itself too.
    row = session.scalars(select(Response).where(Response.flag_bot.is_(True))).one()
    assert cases.open_case(session, row, declared=True, contact=None, now=NOW, tz=WIB) is None


# Deadlines -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("opened", "verify_due", "verified", "follow_up_due"), [
    # Friday evening: the weekend does not count (Monday is day 1). Verified Wednesday 11
    # March: Thursday 12, Friday 13, Monday 16, Tuesday 17, then joint leave (18), Nyepi
    # (19, a national holiday), joint leave (20), Idul Fitri's weekend, joint leave (23,
    # 24): day 5 is Wednesday 25.
    (datetime(2026, 3, 6, 19, 30, tzinfo=WIB), date(2026, 3, 11),
     datetime(2026, 3, 11, 10, 0, tzinfo=WIB), date(2026, 3, 25)),
    # Friday 14 August: Independence Day (Monday 17) is skipped; from Wednesday 19, the
    # Prophet's Birthday (Tuesday 25) is.
    (datetime(2026, 8, 14, 20, 0, tzinfo=WIB), date(2026, 8, 20),
     datetime(2026, 8, 19, 9, 0, tzinfo=WIB), date(2026, 8, 27)),
    # Friday 13 February: joint leave for Imlek (Monday 16) and Imlek (Tuesday 17).
    (datetime(2026, 2, 13, 20, 0, tzinfo=WIB), date(2026, 2, 20),
     datetime(2026, 2, 16, 9, 0, tzinfo=WIB), date(2026, 2, 24)),
])
def test_deadlines_across_weekends_national_holidays_and_joint_leave_days(
    app: Flask, session: Session, opened: datetime, verify_due: date, verified: datetime,
    follow_up_due: date
) -> None:
    home = make_unit(session)
    case = open_complaint(app, session, home, opened - timedelta(seconds=5))
    assert case is not None
    assert case.opened_on == opened.date()
    assert case.verify_due_on == verify_due
    cases.verify(session, case, "", user_id=None, now=verified, tz=WIB)
    assert (case.verified_on, case.follow_up_due_on) == (verified.date(), follow_up_due)


def test_an_administrators_day_off_moves_the_deadline(app: Flask, session: Session) -> None:
    home = make_unit(session)
    session.add(CalendarDay(day=date(2026, 3, 10), working=False, note="HUT Kabupaten",
                            created_at=NOW))
    session.flush()
    case = open_complaint(app, session, home, datetime(2026, 3, 6, 19, 0, tzinfo=WIB))
    assert case is not None and case.verify_due_on == date(2026, 3, 12)


# The handlers' steps -------------------------------------------------------------------------


def test_a_case_goes_through_its_states_and_refuses_steps_out_of_order(
    app: Flask, session: Session
) -> None:
    home = make_unit(session)
    case = open_complaint(app, session, home, NOW)
    assert case is not None
    later = NOW + timedelta(days=1)
    for step in (lambda: cases.follow_up(session, case, "Sudah.", user_id=None, now=later),
                 lambda: cases.close(session, case, "", user_id=None, now=later),
                 lambda: cases.reopen(session, case, "Lagi.", user_id=None, now=later)):
        with pytest.raises(CaseError):
            step()
    cases.verify(session, case, "Benar terjadi.", user_id=None, now=later, tz=WIB)
    with pytest.raises(CaseError) as empty:
        cases.follow_up(session, case, "  \r\n ", user_id=None, now=later)
    assert empty.value.field == "answer"
    with pytest.raises(CaseError):
        cases.follow_up(session, case, "x" * 2001, user_id=None, now=later)
    with pytest.raises(CaseError):
        cases.follow_up(session, case, "ada\x00nul", user_id=None, now=later)
    cases.follow_up(session, case, "Petugas ditambah.\r\nTerima kasih.", user_id=None,
                    now=later)
    assert case.answer == "Petugas ditambah.\nTerima kasih."
    cases.close(session, case, "", user_id=None, now=later)
    cases.reopen(session, case, "Warga belum puas.", user_id=None, now=later)
    assert (case.state, case.closed_at) == ("followed_up", None)
    kinds = [e.kind for e in cases.history(session, case.id)]
    assert kinds == ["opened", "verified", "followed_up", "closed", "reopened"]
    actions = list(session.scalars(select(AuditEntry.action).where(
        AuditEntry.object_type == "case").order_by(AuditEntry.id)))
    assert actions == ["case.open", "case.verified", "case.followed_up", "case.closed",
                       "case.reopened"]


@pytest.mark.parametrize("number", ["x" * 41, "LAPOR\x00123", "١٢٣", "-123", "12<script>"])
def test_a_lapor_number_must_be_short_and_plain(app: Flask, session: Session,
                                               number: str) -> None:
    home = make_unit(session)
    case = open_complaint(app, session, home, NOW)
    assert case is not None
    with pytest.raises(CaseError) as refused:
        cases.set_lapor_number(session, case, number, user_id=None, now=NOW)
    assert refused.value.field == "lapor_number"
    cases.set_lapor_number(session, case, " LAPOR-2026/0012 ", user_id=None, now=NOW)
    assert case.lapor_number == "LAPOR-2026/0012"


def test_an_owner_must_handle_the_unit_or_administer(app: Flask, session: Session) -> None:
    home = make_unit(session)
    head = make_user(session, "kepala@contoh.go.id", "unit_head", unit=home.unit)
    admin = make_user(session, "admin@contoh.go.id", "admin")
    case = open_complaint(app, session, home, NOW)
    assert case is not None
    for owner in (head.id, 999_999):
        with pytest.raises(CaseError) as refused:
            cases.assign(session, case, owner, user_id=None, now=NOW)
        assert refused.value.field == "owner"
    cases.assign(session, case, admin.id, user_id=None, now=NOW)
    assert case.owner_id == admin.id
    with pytest.raises(CaseError):
        cases.categorise(session, case, "bribery", user_id=None, now=NOW)
    with pytest.raises(CaseError):
        cases.set_published(session, case, True, user_id=None, now=NOW)


# The phone form -------------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "stored"), [
    ("0812-9876-5432", "+6281298765432"), ("+62 812 9876 5432", "+6281298765432"),
    ("6281298765432", "+6281298765432"), ("+62 0812 9876 5432", "+6281298765432"),
    ("(0724) 21234", "+6272421234"), ("0724 2123", None), ("12345", None),
    ("0812-98x6-5432", None), ("081２９８７６５４３２", None), ("+1 202 555 0100", None),
])
def test_indonesian_phone_numbers_are_normalised(typed: str, stored: str | None) -> None:
    assert normalise_phone(typed) == stored


@pytest.mark.parametrize(("typed", "stored"), [
    ("Warga@Contoh.ID", "Warga@contoh.id"), ("a.b+c@mail.co.id", "a.b+c@mail.co.id"),
    ("no-at-sign", None), ("a@b", None), ("a@@b.id", None), ("a b@c.id", None),
    (".a@b.id", None), ("a@-b.id", None), ("a@b.1d", None), ("ü@b.id", None),
])
def test_email_addresses_are_checked(typed: str, stored: str | None) -> None:
    assert normalise_email(typed) == stored


def test_a_contact_needs_consent_and_hostile_values_are_refused() -> None:
    assert set(parse_complaint({"contact": "081298765432"})[1]) == {"consent"}
    for hostile in ("0812\x009876", "x" * 300, "@", "08123"):
        _complaint, errors = parse_complaint({"contact": hostile, "consent": "1"})
        assert set(errors) == {"contact"}, hostile
    assert set(parse_complaint({"complaint": "yes"})[1]) == {"complaint"}
    complaint, errors = parse_complaint({"complaint": "1", "contact": " 0812 9876 5432 ",
                                         "consent": "1"})
    assert errors == {} and complaint.declared
    assert complaint.contact is not None and complaint.contact.phone == "+6281298765432"


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> datetime:
    monkeypatch.setattr("app.web.public.utcnow", lambda: NOW)
    return NOW


def test_a_citizen_complains_and_follows_the_case_by_its_reference(
    app: Flask, client: FlaskClient, session: Session, frozen: datetime
) -> None:
    home = make_unit(session)
    release(session)
    good = {code: "4" for code in SCORES}
    sent = open_and_submit(client, home.token, **good, complaint="1",
                           contact="0812-9876-5432", consent="1")
    assert sent.status_code == 303
    thanks = client.get(sent.headers["Location"])
    assert thanks.headers["Cache-Control"] == "no-store"
    case = session.scalars(select(Case)).one()
    contact = session.get(CaseContact, case.id)
    assert contact is not None and (contact.phone, contact.email) == ("+6281298765432", None)
    assert "90" in contact.purpose
    assert case.reasons == "declared"
    text = visible_text(thanks.get_data(as_text=True))
    assert case.reference in text
    assert f'href="/pengaduan/{case.reference}"' in thanks.get_data(as_text=True)
    # The language switch reloads the page: the reference is still there.
    assert case.reference in client.get(sent.headers["Location"] + "?lang=en").get_data(
        as_text=True)
    release(session)
    page = client.get(f"/pengaduan/{case.reference}?lang=id")
    assert page.status_code == 200
    words = visible_text(page.get_data(as_text=True))
    # State and dates only: no unit, counter, comment or contact.
    assert case.reference in words and "5 Maret 2026" in words
    for secret in (home.unit.name, home.counter.name, "9876", "Loket"):
        assert secret not in words
    assert client.get(f"/pengaduan/{case.reference.lower().replace('-', '')}").status_code \
        == 200
    assert client.get("/pengaduan?ref=" + case.reference.lower()).status_code == 303


def test_a_contact_without_a_case_is_not_stored_and_the_page_says_so(
    app: Flask, client: FlaskClient, session: Session, frozen: datetime
) -> None:
    home = make_unit(session)
    release(session)
    good = {code: "4" for code in SCORES}
    sent = open_and_submit(client, home.token, **good, contact="warga@contoh.id",
                           consent="1")
    assert sent.status_code == 303
    thanks = visible_text(client.get(sent.headers["Location"] + "?lang=en").get_data(
        as_text=True))
    assert "not stored" in thanks
    assert session.scalar(select(func.count()).select_from(CaseContact)) == 0
    assert session.scalar(select(func.count()).select_from(Case)) == 0
    assert session.scalar(select(func.count()).select_from(Response)) == 1


def _send_twice(client: FlaskClient, token: str, first: dict[str, str],
                again: dict[str, str]) -> str:
    """One form sent, then (Back) sent again with other answers; the thank-you page's
    words (in English) after the second send."""
    page = client.get(f"/s/{token}")
    assert client.post(f"/s/{token}", data=survey_form(page, **first)).status_code == 303
    sent = client.post(f"/s/{token}", data=survey_form(page, **again))
    assert sent.status_code == 303
    return visible_text(client.get(sent.headers["Location"] + "?lang=en").get_data(
        as_text=True))


def test_a_form_sent_again_without_a_reason_shows_the_first_case(
    app: Flask, client: FlaskClient, session: Session, frozen: datetime
) -> None:
    home = make_unit(session)
    release(session)
    good = {code: "4" for code in SCORES}
    text = _send_twice(client, home.token,
                       {**good, "complaint": "1", "contact": "0812-9876-5432", "consent": "1"},
                       {**good, "U1": "3", "contact": "0812-9876-5432", "consent": "1"})
    case = session.scalars(select(Case)).one()
    assert session.get(CaseContact, case.id) is not None
    # The resend is a repeat without a reason: it opens no case, and the citizen still
    # gets the reference of the case that holds their contact.
    assert [r.flag_repeat for r in session.scalars(select(Response).order_by(Response.id))] \
        == [False, True]
    assert case.reference in text
    assert "not stored" not in text


def test_a_form_sent_again_with_a_complaint_opens_its_own_case(
    app: Flask, client: FlaskClient, session: Session, frozen: datetime
) -> None:
    home = make_unit(session)
    release(session)
    good = {code: "4" for code in SCORES}
    complaint = {"complaint": "1", "contact": "warga@contoh.id", "consent": "1"}
    text = _send_twice(client, home.token, {**good, **complaint},
                       {**good, "U1": "3", **complaint})
    responses = list(session.scalars(select(Response).order_by(Response.id)))
    assert [r.flag_repeat for r in responses] == [False, True]
    second = session.scalars(select(Case).where(Case.response_id == responses[1].id)).one()
    assert session.scalar(select(func.count()).select_from(Case)) == 2
    assert second.reasons == "declared"
    assert session.get(CaseContact, second.id) is not None
    assert second.reference in text and "not stored" not in text


def test_a_repeat_with_a_reason_opens_a_case_but_a_bot_does_not(
    app: Flask, session: Session
) -> None:
    home = make_unit(session)
    survey = skm_survey(app)
    for repeat, bot in ((True, False), (True, True), (False, True)):
        submission = Submission(client_id=uuid.uuid4(), channel="qr", created_at=NOW,
                                received_at=NOW, complaint=True, repeat=repeat,
                                honeypot_filled=bot)
        record_response(session, survey, home.counter, Answers(GOOD, None, None, None),
                        submission, WIB)
    session.flush()
    opened = session.scalars(select(Response).join(Case, Case.response_id == Response.id))
    assert [(r.flag_repeat, r.flag_bot) for r in opened] == [(True, False)]


@pytest.mark.parametrize(("fields", "field"), [
    ({"complaint": "1", "contact": "081298765432"}, "consent"),
    ({"complaint": "1", "contact": "0812\x009876", "consent": "1"}, "contact"),
    ({"complaint": "1", "contact": "x" * 400, "consent": "1"}, "contact"),
    ({"complaint": "1", "contact": "bukan-email@", "consent": "1"}, "contact"),
    ({"complaint": "ya"}, "complaint"),
])
def test_bad_complaint_items_keep_the_form_and_store_nothing(
    app: Flask, client: FlaskClient, session: Session, frozen: datetime,
    fields: dict[str, str], field: str
) -> None:
    home = make_unit(session)
    release(session)
    page = client.get(f"/s/{home.token}")
    sent = client.post(f"/s/{home.token}", data=survey_form(page, **fields))
    assert sent.status_code == 303  # back to the form, answers kept
    again = client.get(sent.headers["Location"])
    html = again.get_data(as_text=True)
    assert f'id="m-{field}"' in html
    assert 'name="complaint" value="1" checked' in html or field == "complaint"
    assert session.scalar(select(func.count()).select_from(Response)) == 0
    assert session.scalar(select(func.count()).select_from(Case)) == 0


@pytest.mark.parametrize("reference", ["ZZZZ-ZZZZ", "2345-6789", "AAAA-AAA0",
                                       "x" * 5000, "ABCD-EFGH-JKLM"])  # NUL: test_boundary
def test_unknown_or_malformed_references_are_404(
    app: Flask, client: FlaskClient, session: Session, reference: str
) -> None:
    make_unit(session)
    release(session)
    page = client.get("/pengaduan/" + reference.replace("/", ""))
    assert page.status_code == 404
    assert client.get("/pengaduan", query_string={"ref": reference}).status_code in (303,
                                                                                     404)


def test_the_case_page_is_rate_limited(app: Flask, client: FlaskClient,
                                       session: Session) -> None:
    release(session)
    statuses = [client.get("/pengaduan/ZZZZ-ZZZZ").status_code for _ in range(21)]
    assert statuses[:20] == [404] * 20 and statuses[20] == 429


def test_the_survey_page_offers_the_complaint_items(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    home = make_unit(session)
    release(session)
    html = client.get(f"/s/{home.token}?lang=en").get_data(as_text=True)
    text = visible_text(html)
    for item in ('name="complaint"', 'name="contact"', 'name="consent"'):
        assert item in html
    assert "erased 90 days after the complaint is closed" in text
    assert "otherwise it is not stored" in text


# The JSON API ---------------------------------------------------------------------------------


def test_the_api_takes_a_complaint_flag_and_returns_the_reference(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    home = make_unit(session)
    as_integration(client, integration_token(session))
    release(session)
    body = {"id": str(uuid.uuid4()), "token": home.token,
            "answers": {f"U{i}": 4 for i in range(1, 10)}, "complaint": True}
    created = client.post("/api/v1/responses", json=body)
    assert created.status_code == 201, created.get_json()
    reference = created.get_json()["case"]
    assert session.scalar(select(Case.reference)) == reference
    release(session)
    # A retry answers the same reference; an answer without a reason has no "case".
    assert client.post("/api/v1/responses", json=body).get_json()["case"] == reference
    plain = client.post("/api/v1/responses", json={**body, "id": str(uuid.uuid4()),
                                                    "complaint": False})
    assert plain.status_code == 201 and "case" not in plain.get_json()
    refused = client.post("/api/v1/responses", json={**body, "id": str(uuid.uuid4()),
                                                      "complaint": "yes"})
    assert refused.status_code == 422 and set(refused.get_json()["errors"]) == {"complaint"}
    assert session.scalar(select(func.count()).select_from(Case)) == 1


def test_every_case_step_is_an_event(app: Flask, session: Session) -> None:
    home = make_unit(session)
    case = open_complaint(app, session, home, NOW, declared=True,
                          contact=Contact(None, "warga@contoh.id", "p"))
    assert case is not None
    cases.verify(session, case, "", user_id=None, now=NOW, tz=WIB)
    cases.follow_up(session, case, "Petugas ditambah.", user_id=None, now=NOW)
    cases.save_summary(session, case, "Antrean diperbaiki.", user_id=None, now=NOW)
    cases.set_published(session, case, True, user_id=None, now=NOW)
    with pytest.raises(CaseError):  # a published summary cannot be emptied
        cases.save_summary(session, case, "", user_id=None, now=NOW)
    cases.set_published(session, case, False, user_id=None, now=NOW)
    cases.add_note(session, case, "Ditelepon.", user_id=None, now=NOW)
    viewed = cases.view_contact(session, case, user_id=None, now=NOW)
    assert viewed.email == "warga@contoh.id"
    kinds = [e.kind for e in session.scalars(select(CaseEvent).where(
        CaseEvent.case_id == case.id).order_by(CaseEvent.id))]
    assert kinds == ["opened", "verified", "followed_up", "summarised", "published",
                     "unpublished", "noted", "contact_viewed"]
    logged = " ".join(f"{e.before} {e.after}" for e in session.scalars(select(AuditEntry)))
    assert "warga@contoh.id" not in logged


def test_the_audit_log_records_a_summary_change_without_its_text(
    app: Flask, session: Session
) -> None:
    home = make_unit(session)
    case = open_complaint(app, session, home, NOW, declared=True)
    assert case is not None
    cases.save_summary(session, case, "Draf pertama ringkasan.", user_id=None, now=NOW)
    cases.save_summary(session, case, "Antrean dipercepat.", user_id=None, now=NOW)
    entries = list(session.scalars(select(AuditEntry).where(
        AuditEntry.action == "case.summarised").order_by(AuditEntry.id)))
    assert len(entries) == 2
    logged = " ".join(f"{e.before} {e.after}" for e in entries)
    assert "Draf" not in logged and "Antrean" not in logged
    assert '"public_summary_length": 23' in (entries[1].before or "")
    assert '"public_summary_length": 19' in (entries[1].after or "")


def test_a_form_error_keeps_the_answers_but_not_the_contact_in_the_cookie(
    app: Flask, client: FlaskClient, session: Session, frozen: datetime
) -> None:
    home = make_unit(session)
    release(session)
    sent = open_and_submit(client, home.token, U1="", complaint="1",
                           contact="0812-9876-5432", consent="1", comment="Lama sekali")
    assert sent.status_code == 303
    with client.session_transaction() as browser_session:
        draft = browser_session["draft"]
    assert draft["values"]["contact"] == "" and draft["values"]["comment"] == "Lama sekali"
    assert "9876" not in str(draft)
    page = client.get(sent.headers["Location"] + "?lang=en")
    assert "9876" not in page.get_data(as_text=True)
    assert "type it again" in visible_text(page.get_data(as_text=True))
    assert session.scalar(select(func.count()).select_from(Response)) == 0


def test_a_summary_is_published_only_once_the_case_is_followed_up(
    app: Flask, session: Session
) -> None:
    home = make_unit(session)
    case = open_complaint(app, session, home, NOW, declared=True)
    assert case is not None
    cases.save_summary(session, case, "Antrean dipercepat.", user_id=None, now=NOW)
    for step in (None, "verify"):
        if step == "verify":
            cases.verify(session, case, "", user_id=None, now=NOW, tz=WIB)
        with pytest.raises(CaseError, match="followed up or closed"):
            cases.set_published(session, case, True, user_id=None, now=NOW)
        assert case.published is False
    cases.follow_up(session, case, "Petugas ditambah.", user_id=None, now=NOW)
    cases.set_published(session, case, True, user_id=None, now=NOW)
    assert case.published is True
