"""Performance dialogues (issue 15, point 3): recording, acknowledging, who sees them, the
overdue list, and the pages of unit heads and officers."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from factories import (
    NIP,
    OTHER_NIP,
    add_response,
    aggregate,
    cached_password_hash,
    csrf_token_of,
    make_officer,
    make_other_unit,
    make_unit,
    make_user,
    put_on_duty,
    release,
    sign_in,
    skm_survey,
)
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from app import dialogues as domain
from app.accounts import grant_acting
from app.models import AuditEntry, Counter, Dialogue, Officer, User
from app.models.loop import TEXT_MAX
from app.org import FormRefusal
from app.summary import weekly_summary

WIB = ZoneInfo("Asia/Jakarta")
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=WIB)  # a Friday
TODAY = NOW.date()
WEEK = date(2026, 11, 9)  # a Monday, the week discussed
BUDI_NIP = "197512312001121003"


@pytest.fixture(autouse=True)
def _cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("app.users.generate_password_hash", cached_password_hash)


@pytest.fixture(autouse=True)
def _frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pages' clock: the dialogue pages and the officer's page read it through utcnow."""
    for module in ("app.web.admin.dialogues", "app.web.my_dialogues", "app.web.dashboard"):
        monkeypatch.setattr(f"{module}.utcnow", lambda: NOW)


@dataclass
class People:
    ahmad: Officer  # Disdukcapil
    budi: Officer  # Disdukcapil
    citra: Officer  # the Puskesmas
    users: dict[str, User]


@pytest.fixture
def people(session: Session) -> People:
    home, other = make_unit(session), make_other_unit(session)
    ahmad = make_officer(session, home, NIP, "Ahmad Saputra")
    budi = make_officer(session, home, BUDI_NIP, "Budi Pratama")
    citra = make_officer(session, other, OTHER_NIP, "Citra Lestari")
    users = {
        "admin": make_user(session, "admin@kotabumi.go.id", "admin"),
        "viewer": make_user(session, "viewer@kotabumi.go.id", "viewer"),
        "head": make_user(session, "head@kotabumi.go.id", "unit_head", unit=home.unit),
        "otherhead": make_user(session, "otherhead@kotabumi.go.id", "unit_head",
                               unit=other.unit),
        "acting": make_user(session, "plt@kotabumi.go.id", "unit_head", unit=other.unit),
        "ahmad": make_user(session, "ahmad@kotabumi.go.id", "officer", unit=home.unit,
                           officer=ahmad),
        "budi": make_user(session, "budi@kotabumi.go.id", "officer", unit=home.unit,
                          officer=budi),
    }
    grant_acting(session, None, users["acting"], home.unit, now=NOW)
    session.commit()
    return People(ahmad, budi, citra, users)


def entry(**changes: object) -> domain.DialogueEntry:
    base = domain.DialogueEntry(
        held_on=TODAY, period_kind="week", period_start=WEEK,
        went_well="Ramah kepada warga", to_improve="Antrean pagi terlalu lama",
        agreed_actions="Buka loket 07.30", follow_up_on=TODAY + timedelta(days=30))
    return replace(base, **changes)  # type: ignore[arg-type]


def stored(session: Session) -> tuple[int, int]:
    """Dialogues stored, and their audit entries."""
    return (session.scalar(select(func.count()).select_from(Dialogue)) or 0,
            session.scalar(select(func.count()).select_from(AuditEntry).where(
                AuditEntry.action.startswith("dialogue."))) or 0)


# The domain ---------------------------------------------------------------------------------


def test_a_head_records_a_dialogue_and_the_audit_log_keeps_no_text(
        session: Session, people: People) -> None:
    marker = f"RAHASIA-{uuid.uuid4().hex[:8]}"
    made = domain.record_dialogue(session, people.users["head"], people.ahmad,
                                  entry(to_improve=f"Line one {marker}\r\nLine two"),
                                  today=TODAY, now=NOW)
    session.commit()
    assert (made.officer_id, made.unit_id, made.held_on, made.recorded_by) == (
        people.ahmad.id, people.ahmad.unit_id, TODAY, people.users["head"].id)
    assert made.to_improve == f"Line one {marker}\nLine two"
    assert made.acknowledged_at is None
    log = session.scalars(select(AuditEntry).where(AuditEntry.action == "dialogue.record")).one()
    assert log.object_id == str(made.id)
    assert marker not in (log.after or "") and "Ramah" not in (log.after or "")
    assert '"period_start": "2026-11-09"' in (log.after or "")


@pytest.mark.parametrize("who", ["admin", "head", "acting"])
def test_admins_and_heads_of_the_unit_may_record(session: Session, people: People,
                                                 who: str) -> None:
    domain.record_dialogue(session, people.users[who], people.ahmad, entry(), today=TODAY, now=NOW)
    assert stored(session) == (1, 1)


@pytest.mark.parametrize("who", ["otherhead", "viewer", "budi", "ahmad"])
def test_nobody_else_may_record(session: Session, people: People, who: str) -> None:
    with pytest.raises(domain.DialogueHidden):
        domain.record_dialogue(session, people.users[who], people.ahmad, entry(),
                               today=TODAY, now=NOW)
    assert stored(session) == (0, 0)


@pytest.mark.parametrize(("changes", "field"), [
    ({"went_well": ""}, "went_well"),
    ({"to_improve": "   \n "}, "to_improve"),
    ({"agreed_actions": "x" * (TEXT_MAX + 1)}, "agreed_actions"),
    ({"went_well": "baik\x00"}, "went_well"),
    ({"to_improve": "zero\u200bwidth"}, "to_improve"),
    ({"held_on": None}, "held_on"),
    ({"held_on": TODAY + timedelta(days=1)}, "held_on"),
    ({"follow_up_on": TODAY - timedelta(days=1)}, "follow_up_on"),
    ({"period_start": WEEK + timedelta(days=1)}, "period"),  # a Tuesday
    ({"period_kind": "month", "period_start": date(2026, 11, 2)}, "period"),
    ({"period_kind": "quarter", "period_start": date(2026, 10, 1)}, "period"),
    ({"period_start": TODAY + timedelta(days=3)}, "period"),  # next Monday
], ids=lambda v: v if isinstance(v, str) else "")
def test_bad_input_is_refused_on_its_field_and_nothing_is_stored(
        session: Session, people: People, changes: dict[str, object], field: str) -> None:
    with pytest.raises(FormRefusal) as refused:
        domain.record_dialogue(session, people.users["head"], people.ahmad, entry(**changes),
                               today=TODAY, now=NOW)
    assert refused.value.field == field
    assert stored(session) == (0, 0)


def test_the_limits_themselves_are_accepted(session: Session, people: People) -> None:
    made = domain.record_dialogue(
        session, people.users["head"], people.ahmad,
        entry(agreed_actions="x" * TEXT_MAX, period_kind="month",
              period_start=date(2026, 11, 1), follow_up_on=TODAY), today=TODAY, now=NOW)
    session.commit()
    assert len(made.agreed_actions) == TEXT_MAX


def test_an_inactive_officer_gets_no_new_dialogue(session: Session, people: People) -> None:
    people.ahmad.active = False
    with pytest.raises(FormRefusal):
        domain.record_dialogue(session, people.users["head"], people.ahmad, entry(),
                               today=TODAY, now=NOW)
    assert stored(session)[0] == 0


def test_only_the_officer_acknowledges_and_only_once(session: Session, people: People) -> None:
    made = domain.record_dialogue(session, people.users["head"], people.ahmad, entry(),
                                  today=TODAY, now=NOW)
    with pytest.raises(FormRefusal):  # sees it, may not sign for the officer
        domain.acknowledge(session, people.users["head"], made, now=NOW)
    for who in ("budi", "viewer", "otherhead"):
        with pytest.raises(domain.DialogueHidden):
            domain.acknowledge(session, people.users[who], made, now=NOW)
    assert made.acknowledged_at is None
    domain.acknowledge(session, people.users["ahmad"], made, now=NOW)
    session.commit()
    assert made.acknowledged_at == NOW
    with pytest.raises(FormRefusal):
        domain.acknowledge(session, people.users["ahmad"], made,
                           now=NOW + timedelta(hours=1))
    assert made.acknowledged_at == NOW
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "dialogue.acknowledge")) == 1


def test_who_may_see(session: Session, people: People) -> None:
    seen = {who: domain.may_see(session, user, people.ahmad)
            for who, user in people.users.items()}
    assert seen == {"admin": True, "head": True, "acting": True, "ahmad": True,
                    "viewer": False, "otherhead": False, "budi": False}


def test_overdue_dialogues_after_a_quarter_or_never(session: Session, people: People) -> None:
    head = people.users["head"]
    domain.record_dialogue(session, head, people.ahmad,
                           entry(held_on=TODAY - timedelta(days=91),
                                 period_start=date(2026, 8, 17), follow_up_on=None),
                           today=TODAY, now=NOW)
    domain.record_dialogue(session, head, people.budi,
                           entry(held_on=TODAY - timedelta(days=200),
                                 period_start=date(2026, 5, 4), follow_up_on=None),
                           today=TODAY, now=NOW)
    domain.record_dialogue(session, head, people.budi,
                           entry(held_on=TODAY - timedelta(days=92),
                                 period_start=date(2026, 8, 17), follow_up_on=None),
                           today=TODAY, now=NOW)
    unit = [people.ahmad.unit_id]
    due = domain.overdue_dialogues(session, unit, TODAY)
    assert [(s.officer.name, s.last_held_on) for s in due] == [
        ("Budi Pratama", TODAY - timedelta(days=92))]
    # A day later Ahmad's is older than a quarter too; Citra (never) is in another unit.
    later = domain.overdue_dialogues(session, unit, TODAY + timedelta(days=1))
    assert [s.officer.name for s in later] == ["Ahmad Saputra", "Budi Pratama"]
    assert [s.officer.name for s in domain.overdue_dialogues(session, None, TODAY)] == [
        "Budi Pratama", "Citra Lestari"]
    people.budi.active = False
    assert domain.overdue_dialogues(session, unit, TODAY) == []


def test_a_months_figures_are_the_weeks_whose_thursday_falls_in_it() -> None:
    # November 2026 begins on a Sunday: its first week is the one of Monday 2 November;
    # the week of Monday 30 November has its Thursday in December.
    assert domain.Period("month", date(2026, 11, 1)).weeks == [
        date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16), date(2026, 11, 23)]
    # October 2026 begins on a Thursday: the week of Monday 28 September counts.
    assert domain.Period("month", date(2026, 10, 1)).weeks[0] == date(2026, 9, 28)
    assert domain.Period("month", date(2026, 10, 1)).weeks[-1] == date(2026, 10, 26)
    assert domain.Period("week", WEEK).weeks == [WEEK]
    assert domain.Period("month", date(2026, 2, 1)).end == date(2026, 3, 1)  # a Sunday


def test_the_periods_offered_are_the_officers_with_figures_and_the_recent_ones(
        app: Flask, session: Session, people: People) -> None:
    survey = skm_survey(app)
    desk = session.scalars(select(Counter).where(
        Counter.unit_id == people.ahmad.unit_id)).first()
    assert desk is not None
    long_ago = datetime(2026, 3, 4, 10, tzinfo=WIB)
    put_on_duty(session, people.ahmad, desk, long_ago)
    for minute in range(3):
        add_response(session, survey, desk, (3,) * 9, long_ago + timedelta(minutes=minute))
    session.commit()
    aggregate(app, NOW)
    periods = domain.officer_periods(session, people.ahmad.id, TODAY)
    offered = {(p.kind, p.start): p.n for p in periods}
    assert offered[("week", date(2026, 3, 2))] == 3
    assert offered[("month", date(2026, 3, 1))] == 3
    assert offered[("week", date(2026, 11, 16))] == 0  # the week in progress
    assert offered[("month", date(2026, 9, 1))] == 0
    assert ("month", date(2026, 8, 1)) not in offered
    assert periods[0] == domain.Period("week", date(2026, 11, 16), 0)
    assert [p.start for p in periods] == sorted((p.start for p in periods), reverse=True)


# The pages ----------------------------------------------------------------------------------


def signed_in(app: Flask, who: str) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, f"{'plt' if who == 'acting' else who}@kotabumi.go.id"
                   ).status_code == 303
    return client


def form_data(page: TestResponse, **changes: str) -> dict[str, str]:
    data = {"csrf_token": csrf_token_of(page), "held_on": TODAY.isoformat(),
            "period": f"week:{WEEK.isoformat()}", "went_well": "Ramah kepada warga",
            "to_improve": "Antrean pagi", "agreed_actions": "Buka loket 07.30",
            "follow_up_on": (TODAY + timedelta(days=30)).isoformat()}
    data.update(changes)
    return data


def record_through_the_form(app: Flask, who: str, officer: Officer,
                            **changes: str) -> TestResponse:
    client = signed_in(app, who)
    page = client.get(f"/admin/dialogues/officers/{officer.id}/new?lang=en")
    assert page.status_code == 200
    return client.post(f"/admin/dialogues/officers/{officer.id}/new?lang=en",
                       data=form_data(page, **changes))


def test_a_head_records_through_the_form_and_reads_it_back(
        app: Flask, session: Session, people: People) -> None:
    release(session)
    marker = f"PENANDA-{uuid.uuid4().hex[:8]}"
    posted = record_through_the_form(app, "head", people.ahmad,
                                     agreed_actions=f"Buka loket 07.30 {marker}")
    assert posted.status_code == 303
    made = session.scalars(select(Dialogue)).one()
    assert posted.headers["Location"].endswith(f"/admin/dialogues/{made.id}")
    assert (made.period_kind, made.period_start, made.follow_up_on) == (
        "week", WEEK, TODAY + timedelta(days=30))
    release(session)
    client = signed_in(app, "head")
    page = client.get(f"/admin/dialogues/{made.id}?lang=en")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and marker in text
    assert page.headers["Cache-Control"] == "private, no-store"
    # The period's figures, read-only: the officer's weekly page for that week.
    assert f'href="/dashboard/officers/{people.ahmad.id}?week=2026-11-09"' in text
    assert "Not yet acknowledged" in text
    history = client.get(f"/admin/dialogues/officers/{people.ahmad.id}?lang=en")
    assert marker in history.get_data(as_text=True)
    listing = client.get("/admin/dialogues?lang=en").get_data(as_text=True)
    assert re.search(r"Ahmad Saputra.*?20 November 2026.*?up to date", listing, re.S)
    assert re.search(r"Budi Pratama.*?never.*?due", listing, re.S)


def test_a_month_links_to_each_of_its_weeks(app: Flask, session: Session,
                                            people: People) -> None:
    release(session)
    assert record_through_the_form(app, "admin", people.ahmad,
                                   period="month:2026-11-01").status_code == 303
    made = session.scalars(select(Dialogue)).one()
    release(session)
    text = signed_in(app, "admin").get(f"/admin/dialogues/{made.id}?lang=en").get_data(
        as_text=True)
    for monday in ("2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23"):
        assert f"/dashboard/officers/{people.ahmad.id}?week={monday}" in text
    assert "week=2026-11-30" not in text and "week=2026-10-26" not in text


@pytest.mark.parametrize(("changes", "field_id"), [
    ({"went_well": ""}, "went_well"),
    ({"to_improve": "x" * (TEXT_MAX + 1)}, "to_improve"),
    ({"agreed_actions": "tindakan\x00"}, "agreed_actions"),
    ({"held_on": (TODAY + timedelta(days=1)).isoformat()}, "held_on"),
    ({"held_on": "31-02-2026"}, "held_on"),
    ({"follow_up_on": (TODAY - timedelta(days=1)).isoformat()}, "follow_up_on"),
    ({"period": "week:2026-11-10"}, "period"),  # not a Monday: not one of the choices
    ({"period": "month:2026-11-02"}, "period"),
    ({"period": ""}, "period"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_the_form_shows_each_refusal_beside_its_field(
        app: Flask, session: Session, people: People, changes: dict[str, str],
        field_id: str) -> None:
    release(session)
    posted = record_through_the_form(app, "head", people.ahmad, **changes)
    assert posted.status_code == 400
    assert f'id="{field_id}-error"' in posted.get_data(as_text=True)
    assert stored(session) == (0, 0)


def test_a_post_without_a_valid_csrf_token_stores_nothing(
        app: Flask, session: Session, people: People) -> None:
    release(session)
    client = signed_in(app, "head")
    page = client.get(f"/admin/dialogues/officers/{people.ahmad.id}/new")
    data = form_data(page, csrf_token="forged")
    assert client.post(f"/admin/dialogues/officers/{people.ahmad.id}/new",
                       data=data).status_code == 400
    assert stored(session) == (0, 0)


@pytest.fixture
def recorded(app: Flask, session: Session, people: People) -> tuple[Dialogue, str]:
    """A dialogue with Ahmad whose text carries a unique marker."""
    marker = f"RAHASIA-{uuid.uuid4().hex[:10]}"
    made = domain.record_dialogue(session, people.users["head"], people.ahmad,
                                  entry(went_well=f"Sangat ramah {marker}"), today=TODAY, now=NOW)
    session.commit()
    return made, marker


@pytest.mark.parametrize("who", ["budi", "viewer", "otherhead"])
def test_others_never_reach_the_dialogue(app: Flask, people: People,
                                         recorded: tuple[Dialogue, str], who: str) -> None:
    made, marker = recorded
    client = signed_in(app, who)
    urls = [f"/admin/dialogues/{made.id}", f"/admin/dialogues/officers/{people.ahmad.id}",
            f"/admin/dialogues/officers/{people.ahmad.id}/new",
            f"/admin/dialogues?unit={people.ahmad.unit.code}", "/tugas/dialog",
            f"/dashboard/units/{people.ahmad.unit.code}"]
    for url in urls:
        response = client.get(url)
        assert marker not in response.get_data(as_text=True), url
        if url.startswith("/admin"):
            # The back office refuses officers and viewers whole (403) and answers another
            # unit's head as if the officer did not exist (404).
            assert response.status_code == (404 if who == "otherhead" else 403), url
    refused = client.post(f"/tugas/dialog/{made.id}/baca",
                          data={"csrf_token": csrf_token_of(client.get("/masuk"))})
    assert refused.status_code in ((404,) if who == "budi" else (403, 404))
    assert marker not in refused.get_data(as_text=True)


def test_the_officer_reads_and_acknowledges_once(app: Flask, session: Session, people: People,
                                                 recorded: tuple[Dialogue, str]) -> None:
    made, marker = recorded
    release(session)
    client = signed_in(app, "ahmad")
    duty = client.get("/tugas?lang=en").get_data(as_text=True)
    assert 'href="/tugas/dialog"' in duty and "1 to read" in duty
    page = client.get("/tugas/dialog?lang=en")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and marker in text
    assert page.headers["Cache-Control"] == "private, no-store"
    assert "/dashboard/me?week=2026-11-09" in text  # their own figures of that week
    assert f"/dashboard/officers/{people.ahmad.id}" not in text
    token = csrf_token_of(page)
    assert client.post(f"/tugas/dialog/{made.id}/baca", data={}).status_code == 400
    session.refresh(made)
    assert made.acknowledged_at is None
    release(session)
    done = client.post(f"/tugas/dialog/{made.id}/baca?lang=en", data={"csrf_token": token})
    assert done.status_code == 303
    session.refresh(made)
    first = made.acknowledged_at
    assert first is not None
    release(session)
    again = client.post(f"/tugas/dialog/{made.id}/baca?lang=en", data={"csrf_token": token},
                        follow_redirects=True)
    assert "already acknowledged" in again.get_data(as_text=True)
    session.refresh(made)
    assert made.acknowledged_at == first
    release(session)
    assert "I have read this" not in client.get("/tugas/dialog?lang=en").get_data(
        as_text=True)
    head_view = signed_in(app, "head").get(f"/admin/dialogues/{made.id}?lang=en")
    assert "Read and acknowledged by the officer" in head_view.get_data(as_text=True)


def test_a_head_cannot_acknowledge_for_the_officer(app: Flask, session: Session,
                                                   recorded: tuple[Dialogue, str]) -> None:
    made, _ = recorded
    release(session)
    client = signed_in(app, "head")
    token = csrf_token_of(client.get("/masuk"))
    assert client.post(f"/tugas/dialog/{made.id}/baca", data={"csrf_token": token}
                       ).status_code == 404
    session.refresh(made)
    assert made.acknowledged_at is None


def test_the_unit_summary_lists_dialogues_due_to_heads_only(
        app: Flask, session: Session, people: People, recorded: tuple[Dialogue, str]) -> None:
    summary = weekly_summary(session, people.ahmad.unit_id, WEEK, officer_min_n=10,
                             dialogues_as_of=TODAY)
    assert [s.officer.name for s in summary.dialogues_due] == ["Budi Pratama"]
    hidden = weekly_summary(session, people.ahmad.unit_id, WEEK, officer_min_n=10,
                            officer_detail=False, dialogues_as_of=TODAY)
    assert hidden.dialogues_due == ()
    release(session)
    url = f"/dashboard/units/{people.ahmad.unit.code}?week={WEEK.isoformat()}&lang=en"
    head = signed_in(app, "head").get(url).get_data(as_text=True)
    section = head[head.index('id="dialog"'):]
    assert "Budi Pratama" in section and "no dialogue yet" in section
    assert "Ahmad Saputra" not in section[:section.index("</section>")]
    viewer = signed_in(app, "viewer").get(url)
    assert viewer.status_code == 200
    assert 'id="dialog"' not in viewer.get_data(as_text=True)


# Hostile input (a review's findings) -----------------------------------------------------------


@pytest.mark.parametrize("path", [
    "/admin/dialogues/officers/2147483648", "/admin/dialogues/officers/2147483648/new",
    "/admin/dialogues/9223372036854775808", "/admin/dialogues?unit=A%00B",
    "/dashboard/officers/2147483648", "/dashboard/units/A%00B",
])
def test_ids_out_of_range_and_nul_bytes_are_404_not_500(
        app: Flask, session: Session, people: People, path: str) -> None:
    release(session)
    # A NUL is refused before any lookup, for every path and query (tests/test_boundary.py).
    assert signed_in(app, "admin").get(path).status_code == (400 if "%00" in path else 404)


def test_a_refused_text_is_shown_back_without_the_refused_characters(
        app: Flask, session: Session, people: People) -> None:
    release(session)
    posted = record_through_the_form(app, "head", people.ahmad, went_well="a\x00b\u202ec")
    assert posted.status_code == 400
    shown = posted.get_data(as_text=True)
    assert "\x00" not in shown and "\u202e" not in shown
    assert session.scalars(select(Dialogue)).all() == []
    release(session)


def test_a_follow_up_is_at_most_two_years_later(
        app: Flask, session: Session, people: People) -> None:
    release(session)
    posted = record_through_the_form(app, "head", people.ahmad, follow_up_on="2099-01-01")
    assert posted.status_code == 400
    assert "at most two years" in posted.get_data(as_text=True)
    assert session.scalars(select(Dialogue)).all() == []
    release(session)
