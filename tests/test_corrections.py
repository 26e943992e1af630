"""Duty corrections: re-attribution of the corrected interval, stale officer buckets, and
incremental aggregation equal to a full rebuild afterwards (issue 13, point 3)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from factories import (
    NIP,
    OTHER_NIP,
    WIB_ZONE,
    add_response,
    csrf_token_of,
    make_officer,
    make_other_unit,
    make_unit,
    make_user,
    release,
    sign_in,
    skm_survey,
)
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from app import corrections
from app.db import Database
from app.jobs import run_aggregation
from app.models import (
    Assignment,
    AuditEntry,
    Indicator,
    Response,
    StaleBucket,
    WaitMinutes,
)
from app.org import assign_officer, create_officer
from app.rosters import FieldError

THIRD_NIP = "198801012010011003"


def wib(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant of November 2026 in Jakarta time."""
    return datetime(2026, 11, day, hour, minute, tzinfo=WIB_ZONE)


def db_of(app: Flask) -> Database:
    db: Database = app.extensions["suara.db"]
    return db


def indicators(db: Database) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Every indicator row by natural key, every column but id and computed_at."""
    with db.session_scope(write=False) as s:
        skip = {"id", "computed_at"}
        return {(r.scope, r.scope_id, r.period_kind, r.period_start, r.survey_version_id):
                {c.key: getattr(r, c.key) for c in Indicator.__mapper__.column_attrs
                 if c.key not in skip}
                for r in s.scalars(select(Indicator))}


def histogram(db: Database) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """Every wait_histogram row, every column but id."""
    with db.session_scope(write=False) as s:
        return {(h.scope, h.scope_id, h.day, h.survey_version_id, h.minute):
                (h.week, h.month, h.responses) for h in s.scalars(select(WaitMinutes))}


class World:
    def __init__(self, app: Flask, session: Session) -> None:
        self.app = app
        self.seeded = make_unit(session)
        self.other = make_other_unit(session)
        self.a = make_officer(session, self.seeded, NIP, "Ahmad Saputra")
        self.b = make_officer(session, self.seeded, OTHER_NIP, "Budi Santoso")
        self.stranger = create_officer(session, THIRD_NIP, "Citra Dewi", self.other.unit,
                                       "Perawat")
        self.counter = self.seeded.counter
        session.commit()

    @property
    def db(self) -> Database:
        return db_of(self.app)


@pytest.fixture
def world(app: Flask, session: Session) -> World:
    return World(app, session)


def seed_history(session: Session, w: World) -> Assignment:
    """A's duty on Tue 3 Nov 08:00–12:00 with four responses (measured waits), B's duty on
    Wed 4 Nov with two; one response on Thu 5 Nov with nobody on duty. Returns A's duty."""
    survey = skm_survey(w.app)
    duty_a = assign_officer(session, w.a, w.counter, wib(3, 8), wib(3, 12))
    assign_officer(session, w.b, w.counter, wib(4, 8), wib(4, 12))
    for minute, scores, measured in ((0, 4, 3), (30, 3, 12), (60, 2, 40), (150, 4, 7)):
        add_response(session, survey, w.counter, (scores,) * 9, wib(3, 9) +
                     timedelta(minutes=minute), measured=measured, wait_band="5-15")
    for hour in (9, 10):
        add_response(session, survey, w.counter, (3,) * 9, wib(4, hour), measured=20)
    add_response(session, survey, w.counter, (1,) * 9, wib(5, 9), measured=5)
    session.commit()
    return duty_a


def officer_of_responses(session: Session) -> list[tuple[int | None, str]]:
    found = [(officer_id, source) for officer_id, source in session.execute(
        select(Response.officer_id, Response.attribution).order_by(Response.created_at))]
    session.commit()
    return found


def assert_incremental_equals_full(w: World, now: datetime) -> dict[tuple[Any, ...], Any]:
    run = run_aggregation(w.db, now=now)
    assert run.full is False
    incremental, incremental_histogram = indicators(w.db), histogram(w.db)
    full = run_aggregation(w.db, now=now + timedelta(minutes=1), full=True)
    assert full.full is True
    assert indicators(w.db) == incremental
    assert histogram(w.db) == incremental_histogram
    return incremental


def test_a_swap_moves_responses_and_incremental_equals_full(world: World,
                                                            session: Session) -> None:
    duty_a = seed_history(session, world)
    first = run_aggregation(world.db, now=wib(6, 12))
    assert first.full is True
    before = indicators(world.db)
    stored = officer_of_responses(session)
    a_day = ("officer", world.a.id, "day", date(2026, 11, 3))
    assert any(key[:4] == a_day for key in before)
    assert not any(key[:4] == ("officer", world.b.id, "day", date(2026, 11, 3))
                   for key in before)

    # Weeks later the unit head learns that B, not A, served that Tuesday morning.
    corrected_at = wib(20, 10)
    result = corrections.change_duty(session, duty_a, officer=world.b, starts_at=wib(3, 8),
                                     ends_at=wib(3, 12), tz=WIB_ZONE, now=corrected_at)
    session.commit()
    assert (result.examined, result.moved) == (4, 4)
    assert result.stale == {(world.a.id, date(2026, 11, 3)), (world.b.id, date(2026, 11, 3))}
    attributed = officer_of_responses(session)
    assert attributed[:4] == [(world.b.id, "correction")] * 4
    assert attributed[4:] == stored[4:]  # outside the interval: untouched
    assert [officer for officer, _ in stored[4:6]] == [world.b.id] * 2
    marks = session.scalars(select(StaleBucket)).all()
    assert {(m.scope, m.scope_id, m.day) for m in marks} == {
        ("officer", world.a.id, date(2026, 11, 3)), ("officer", world.b.id, date(2026, 11, 3))}
    session.commit()

    after = assert_incremental_equals_full(world, corrected_at + timedelta(minutes=5))
    # A's buckets of that day, week and month had only these responses: gone, not stale.
    assert not any(key[:2] == ("officer", world.a.id) for key in after)
    assert not any(key[:2] == ("officer", world.a.id) for key in histogram(world.db))
    b_week = after[("officer", world.b.id, "week", date(2026, 11, 2),
                    next(k[4] for k in after))]
    assert b_week["n"] == 6
    # The counter and unit figures did not change.
    for key, row in before.items():
        if key[0] in ("unit", "counter", "service"):
            assert after[key] == row


def test_incremental_without_the_stale_marks_would_differ(world: World,
                                                          session: Session) -> None:
    """The marks are what makes the incremental run right: a correction's re-attributed
    responses were received long ago, so the watermark alone never revisits them."""
    duty_a = seed_history(session, world)
    run_aggregation(world.db, now=wib(6, 12))
    corrections.change_duty(session, duty_a, officer=world.b, starts_at=wib(3, 8),
                            ends_at=wib(3, 12), tz=WIB_ZONE, now=wib(20, 10))
    for mark in session.scalars(select(StaleBucket)):
        session.delete(mark)
    session.commit()
    run_aggregation(world.db, now=wib(20, 11))
    assert any(key[:2] == ("officer", world.a.id) for key in indicators(world.db))


def test_a_forgotten_duty_then_its_removal(world: World, session: Session) -> None:
    seed_history(session, world)
    run_aggregation(world.db, now=wib(6, 12))
    # Thursday's response had nobody on duty: A forgot to check in.
    made, result = corrections.add_duty(session, world.a, world.counter, wib(5, 8), wib(5, 11),
                                        tz=WIB_ZONE, now=wib(9, 9))
    session.commit()
    assert made.source == "correction"
    assert (result.examined, result.moved) == (1, 1)
    assert officer_of_responses(session)[6] == (world.a.id, "correction")
    after = assert_incremental_equals_full(world, wib(9, 10))
    assert ("officer", world.a.id, "day", date(2026, 11, 5)) in {k[:4] for k in after}

    # It was a mistake after all: removing the duty gives the response back to nobody.
    result = corrections.remove_duty(session, session.get(Assignment, made.id),
                                     tz=WIB_ZONE, now=wib(10, 9))
    session.commit()
    assert result.moved == 1
    assert officer_of_responses(session)[6] == (None, "none")
    after = assert_incremental_equals_full(world, wib(10, 10))
    assert ("officer", world.a.id, "day", date(2026, 11, 5)) not in {k[:4] for k in after}
    assert session.get(Assignment, made.id) is None


def test_ending_a_duty_earlier(world: World, session: Session) -> None:
    duty_a = seed_history(session, world)
    run_aggregation(world.db, now=wib(6, 12))
    result = corrections.end_duty(session, duty_a, wib(3, 9, 45), tz=WIB_ZONE, now=wib(7, 9))
    session.commit()
    assert result.moved == 2  # 10:00 and 11:30 now fall outside A's duty
    assert [a for a, _ in officer_of_responses(session)[:4]] == [world.a.id, world.a.id,
                                                                 None, None]
    assert_incremental_equals_full(world, wib(7, 10))


def test_a_citizen_pick_is_kept_while_that_officer_is_on_duty(world: World,
                                                             session: Session) -> None:
    survey = skm_survey(world.app)
    assign_officer(session, world.a, world.counter, wib(3, 8), wib(3, 12))
    response = add_response(session, survey, world.counter, (3,) * 9, wib(3, 9))
    response.attribution = "picked"  # the citizen named A among several on duty
    session.commit()
    # B's forgotten duty overlaps: two on duty, the citizen's pick of A stands.
    corrections.add_duty(session, world.b, world.counter, wib(3, 8), wib(3, 10),
                         tz=WIB_ZONE, now=wib(4, 8))
    session.commit()
    assert officer_of_responses(session) == [(world.a.id, "picked")]


def test_audit_entries_carry_before_and_after(world: World, session: Session) -> None:
    duty_a = seed_history(session, world)
    corrections.change_duty(session, duty_a, officer=world.b, starts_at=wib(3, 8),
                            ends_at=wib(3, 12), tz=WIB_ZONE, now=wib(20, 10))
    session.commit()
    entry = session.scalars(select(AuditEntry).where(
        AuditEntry.action == "duty.correction_change")).one()
    assert entry.object_id == str(duty_a.id)
    assert json.loads(entry.before or "{}")["officer_id"] == world.a.id
    after = json.loads(entry.after or "{}")
    assert after["officer_id"] == world.b.id and after["responses_moved"] == 4


@pytest.mark.parametrize(("starts", "ends", "field"), [
    (wib(3, 12), wib(3, 8), "ends_at"),        # ends before it starts
    (wib(3, 8), wib(3, 8), "ends_at"),         # empty
    (wib(30, 8), wib(30, 9), "starts_at"),     # in the future
    (wib(3, 8), wib(30, 9), "ends_at"),        # ends in the future
    (wib(3, 11), wib(3, 13), "officer"),       # overlaps A's own duty
])
def test_bad_corrections_are_refused(world: World, session: Session, starts: datetime,
                                     ends: datetime, field: str) -> None:
    seed_history(session, world)
    count = len(session.scalars(select(Assignment)).all())
    with pytest.raises(FieldError) as refused:
        corrections.add_duty(session, world.a, world.counter, starts, ends, tz=WIB_ZONE,
                             now=wib(20, 8))
    session.rollback()
    assert refused.value.field == field
    assert len(session.scalars(select(Assignment)).all()) == count


def test_an_officer_of_another_unit_is_refused(world: World, session: Session) -> None:
    duty_a = seed_history(session, world)
    with pytest.raises(FieldError, match="unit"):
        corrections.add_duty(session, world.stranger, world.counter, wib(5, 8), wib(5, 9),
                             tz=WIB_ZONE, now=wib(20, 8))
    with pytest.raises(FieldError, match="unit"):
        corrections.change_duty(session, duty_a, officer=world.stranger, starts_at=wib(3, 8),
                                ends_at=wib(3, 12), tz=WIB_ZONE, now=wib(20, 8))


# The CLI -----------------------------------------------------------------------------------

def test_cli_correct_add_end_remove(world: World, session: Session,
                                    runner: FlaskCliRunner) -> None:
    seed_history(session, world)
    session.commit()
    added = runner.invoke(args=["duty", "correct", "add", "--counter", "L1", "--nip", NIP,
                                "--from", "2026-11-05 08:00", "--to", "2026-11-05 11:00"])
    assert added.exit_code == 0, added.output
    assert "1 of 1 responses" in added.output
    session.expire_all()
    made_id = session.scalars(select(Assignment.id).where(
        Assignment.source == "correction")).one()
    session.commit()
    ended = runner.invoke(args=["duty", "correct", "end", str(made_id),
                                "--at", "2026-11-05 08:30"])
    assert ended.exit_code == 0, ended.output
    assert "1 of 1 responses" in ended.output
    removed = runner.invoke(args=["duty", "correct", "remove", str(made_id)])
    assert removed.exit_code == 0, removed.output
    session.expire_all()
    assert session.get(Assignment, made_id) is None
    actions = session.scalars(select(AuditEntry.action).where(
        AuditEntry.action.like("duty.correction%")).order_by(AuditEntry.id)).all()
    assert actions == ["duty.correction_add", "duty.correction_end", "duty.correction_remove"]
    session.commit()


@pytest.mark.parametrize(("args", "says"), [
    (["--counter", "L1", "--nip", NIP, "--from", "2026-11-05 25:00"], "--from"),
    (["--counter", "L1", "--nip", NIP, "--from", "2026-11-05\x0008:00"], "--from"),
    (["--counter", "L1", "--nip", NIP, "--from", "2026-11-05 10:00",
      "--to", "2026-11-05 09:00"], "must end after"),
    (["--counter", "GIGI", "--nip", NIP, "--from", "2026-11-05 08:00"], "--counter"),
    (["--counter", "L1", "--nip", "1" * 18, "--from", "2026-11-05 08:00"], "--nip"),
    (["--counter", "L1", "--nip", NIP, "--from", "2026-11-03 09:00",
      "--to", "2026-11-03 10:00"], "already on duty"),
])
def test_cli_correct_add_refuses_bad_input(world: World, session: Session,
                                           runner: FlaskCliRunner, args: list[str],
                                           says: str) -> None:
    seed_history(session, world)
    session.commit()
    result = runner.invoke(args=["duty", "correct", "add", *args])
    assert result.exit_code != 0
    assert says in result.output
    session.expire_all()
    assert session.scalars(select(Assignment).where(
        Assignment.source == "correction")).first() is None
    session.commit()


# The back office ----------------------------------------------------------------------------

@pytest.fixture
def heads(world: World, session: Session, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setattr("app.web.admin.duty.utcnow", lambda: wib(20, 10))
    make_user(session, "kepala@contoh.go.id", "unit_head", unit=world.seeded.unit)
    make_user(session, "kepala.pkm@contoh.go.id", "unit_head", unit=world.other.unit)
    release(session)
    return world


def signed_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, email).status_code == 303
    return client


def post_duty(client: FlaskClient, w: World, query: str = "", **fields: str) -> TestResponse:
    path = f"/admin/duties/new?unit={w.seeded.unit.id}{query}"
    page = client.get(path)
    assert page.status_code == 200
    data = {"csrf_token": csrf_token_of(page), "counter": str(w.counter.id),
            "officer": str(w.a.id), "day": "2026-11-05", "starts_at": "08:00",
            "ends_at": "11:00", **fields}
    return client.post(path, data=data)


def corrected_duties(session: Session) -> int:
    found = len(session.scalars(select(Assignment.id).where(
        Assignment.source == "correction")).all())
    release(session)
    return found


def test_a_unit_head_adds_a_forgotten_duty(heads: World, app: Flask, session: Session) -> None:
    seed_history(session, heads)
    client = signed_in(app, "kepala@contoh.go.id")
    answer = post_duty(client, heads, "&lang=en")
    assert answer.status_code == 303
    page = client.get(answer.headers["Location"])
    assert "1 of 1 responses now count for another officer" in page.get_data(as_text=True)
    assert officer_of_responses(session)[6] == (heads.a.id, "correction")
    listed = client.get(f"/admin/duties?unit={heads.seeded.unit.id}&day=2026-11-05")
    assert "Ahmad Saputra" in listed.get_data(as_text=True)


@pytest.mark.parametrize(("fields", "field", "english"), [
    ({"officer": "stranger"}, "officer", "does not belong to the counter"),
    ({"officer": "7\x00"}, "officer", "Choose an officer from the list."),
    ({"counter": "999999"}, "counter", "Choose a counter from the list."),
    ({"day": "2026-11-05\x00"}, "day", "YYYY-MM-DD"),
    ({"day": "x" * 10_000}, "day", "YYYY-MM-DD"),
    ({"starts_at": "25:00"}, "starts_at", "HH:MM"),
    ({"starts_at": ""}, "starts_at", "Enter the start time."),
    ({"ends_at": "07:00"}, "ends_at", "must end after it starts"),
    ({"ends_at": "\u200b11:00"}, "ends_at", "HH:MM"),
    ({"day": "2026-12-30"}, "starts_at", "cannot start in the future"),
    ({"day": "2026-11-03", "starts_at": "11:00", "ends_at": "13:00"}, "officer",
     "already on duty"),
])
def test_the_duty_form_refuses_hostile_input(heads: World, app: Flask, session: Session,
                                             fields: dict[str, str], field: str,
                                             english: str) -> None:
    seed_history(session, heads)
    if fields.get("officer") == "stranger":
        fields = {**fields, "officer": str(heads.stranger.id)}
    client = signed_in(app, "kepala@contoh.go.id")
    answer = post_duty(client, heads, "&lang=en", **fields)
    assert answer.status_code == 422
    body = answer.get_data(as_text=True)
    assert f'id="{field}-error"' in body
    assert str(escape(english)) in body.split(f'id="{field}-error"')[1].split("</p>")[0]
    assert corrected_duties(session) == 0


def test_swap_end_and_remove_through_the_pages(heads: World, app: Flask,
                                               session: Session) -> None:
    duty_id = seed_history(session, heads).id
    release(session)
    client = signed_in(app, "kepala@contoh.go.id")
    page = client.get(f"/admin/duties/{duty_id}/edit")
    assert page.status_code == 200
    swapped = client.post(f"/admin/duties/{duty_id}/edit", data={
        "csrf_token": csrf_token_of(page), "counter": str(heads.counter.id),
        "officer": str(heads.b.id), "day": "2026-11-03", "starts_at": "08:00",
        "ends_at": "12:00"})
    assert swapped.status_code == 303
    assert [o for o, _ in officer_of_responses(session)[:4]] == [heads.b.id] * 4
    page = client.get(f"/admin/duties/{duty_id}/end")
    ended = client.post(f"/admin/duties/{duty_id}/end", data={
        "csrf_token": csrf_token_of(page), "day": "2026-11-03", "ends_at": "09:45"})
    assert ended.status_code == 303
    confirm = client.get(f"/admin/duties/{duty_id}/remove?lang=en")
    assert confirm.status_code == 200 and "Remove this duty?" in confirm.get_data(as_text=True)
    assert session.get(Assignment, duty_id) is not None  # asking removed nothing
    release(session)
    removed = client.post(f"/admin/duties/{duty_id}/remove",
                          data={"csrf_token": csrf_token_of(confirm)})
    assert removed.status_code == 303
    session.expire_all()
    assert session.get(Assignment, duty_id) is None
    release(session)


def test_duty_pages_of_another_unit_answer_404(heads: World, app: Flask,
                                               session: Session) -> None:
    duty_a = seed_history(session, heads)
    client = signed_in(app, "kepala.pkm@contoh.go.id")
    for path in (f"/admin/duties?unit={heads.seeded.unit.id}",
                 f"/admin/duties/new?unit={heads.seeded.unit.id}",
                 f"/admin/duties/{duty_a.id}/edit", f"/admin/duties/{duty_a.id}/end",
                 f"/admin/duties/{duty_a.id}/remove"):
        assert client.get(path).status_code == 404, path
    page = client.get("/admin/duties")
    assert page.status_code == 200
    forged = client.post(f"/admin/duties/{duty_a.id}/remove",
                         data={"csrf_token": csrf_token_of(page)})
    assert forged.status_code == 404
    assert session.get(Assignment, duty_a.id) is not None
