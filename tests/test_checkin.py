"""Check-in as it happens: the officer's phone pages, the staff code on a poster, closing at the
unit's closing time (job and CLI), the duty history, and the database's one-counter rule."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import pytest
from factories import (
    NIP,
    OTHER_NIP,
    WIB_ZONE,
    SeededUnit,
    csrf_token_of,
    integration_token,
    make_officer,
    make_other_unit,
    make_unit,
    make_user,
    release,
    sign_in,
)
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.duty import (
    check_in,
    check_out,
    duty_closes_at,
    officers_on_duty,
    open_duty,
)
from app.jobs import close_duties
from app.models import Assignment, AuditEntry, Counter, Officer, OpeningHours
from app.org import create_counter

THIRD_NIP = "198512302010011003"
MONDAY = datetime(2026, 1, 5, tzinfo=WIB_ZONE).date()  # a Monday


def local(hour: int, minute: int = 0, *, days: int = 0) -> datetime:
    """An instant on MONDAY (+ ``days``) at local (WIB) time."""
    return datetime.combine(MONDAY + timedelta(days=days), time(hour, minute), WIB_ZONE)


@dataclass
class World:
    home: SeededUnit
    other: SeededUnit
    second: Counter  # another counter of the home unit
    ahmad: Officer  # home unit, has an account
    rina: Officer  # home unit
    siti: Officer  # the other unit, has an account


@pytest.fixture
def world(session: Session) -> World:
    home, other = make_unit(session), make_other_unit(session)
    ahmad = make_officer(session, home)
    rina = make_officer(session, home, THIRD_NIP, "Rina Lestari")
    siti = make_officer(session, other, OTHER_NIP, "Siti Puskesmas")
    second = create_counter(session, home.unit, "L2", "Loket Dua")
    session.add_all([OpeningHours(unit_id=home.unit.id, weekday=day, opens=time(8),
                                  closes=time(16)) for day in range(5)])
    session.commit()
    make_user(session, "ahmad@example.id", "officer", unit=home.unit, officer=ahmad)
    make_user(session, "siti@example.id", "officer", unit=other.unit, officer=siti)
    make_user(session, "kepala@example.id", "unit_head", unit=home.unit)
    make_user(session, "admin@example.id", "admin")
    return World(home, other, second, ahmad, rina, siti)


def duties(session: Session) -> list[Assignment]:
    """Every duty, read afresh (the rest of the session stays loaded: the app may write)."""
    rows = list(session.scalars(select(Assignment).order_by(Assignment.id)
                                .execution_options(populate_existing=True)))
    release(session)
    return rows


def audit_actions(session: Session) -> list[tuple[str, str]]:
    rows = [(e.action, e.actor) for e in session.scalars(select(AuditEntry)
                                                       .order_by(AuditEntry.id))]
    release(session)
    return rows


def html(response: object) -> str:
    return response.get_data(as_text=True)  # type: ignore[attr-defined, no-any-return]


# The domain rules ----------------------------------------------------------------------------

def test_check_in_closes_the_officers_other_open_duty(session: Session, world: World) -> None:
    first = check_in(session, world.ahmad, world.home.counter, local(8))
    second = check_in(session, world.ahmad, world.second, local(10))
    assert (first.ends_at, second.ends_at) == (local(10), None)
    assert open_duty(session, world.ahmad.id) == second
    # Checking in again where one already is changes nothing.
    assert check_in(session, world.ahmad, world.second, local(11)) == second
    assert len(duties(session)) == 2


def test_two_officers_may_be_on_duty_at_one_counter(session: Session, world: World) -> None:
    check_in(session, world.ahmad, world.home.counter, local(8))
    check_in(session, world.rina, world.home.counter, local(8, 30))
    session.commit()
    assert [o.id for o in officers_on_duty(session, world.home.counter.id, local(9))] == [
        world.ahmad.id, world.rina.id]


def test_the_database_refuses_one_officer_at_two_counters_at_once(
    session: Session, world: World
) -> None:
    session.add(Assignment(officer=world.ahmad, counter=world.home.counter,
                           starts_at=local(8), ends_at=local(12), source="admin"))
    session.flush()
    session.add(Assignment(officer=world.ahmad, counter=world.second,
                           starts_at=local(11), ends_at=local(13), source="admin"))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()
    # Back to back is not an overlap (half-open intervals), and two officers at one counter
    # are allowed.
    session.add_all([
        Assignment(officer=world.ahmad, counter=world.home.counter, starts_at=local(8),
                   ends_at=local(12), source="admin"),
        Assignment(officer=world.ahmad, counter=world.second, starts_at=local(12),
                   ends_at=local(13), source="admin"),
        Assignment(officer=world.rina, counter=world.home.counter, starts_at=local(9),
                   ends_at=local(11), source="admin")])
    session.commit()
    assert len(duties(session)) == 3


def test_a_foreign_or_inactive_counter_is_refused_by_check_in(
    session: Session, world: World
) -> None:
    from app.org import DomainError

    with pytest.raises(DomainError):
        check_in(session, world.siti, world.home.counter, local(8))
    world.second.active = False
    session.flush()
    with pytest.raises(DomainError):
        check_in(session, world.ahmad, world.second, local(8))
    assert open_duty(session, world.siti.id) is None


# Closing at the unit's closing time -----------------------------------------------------------

def test_a_duty_closes_at_closing_time_else_at_local_midnight() -> None:
    closes = {0: time(16)}  # Monday only
    assert duty_closes_at(local(9), closes, WIB_ZONE) == local(16)
    # Checked in after closing (overtime): local midnight.
    assert duty_closes_at(local(17), closes, WIB_ZONE) == local(0, days=1)
    # No hours that weekday (Tuesday): local midnight.
    assert duty_closes_at(local(9, days=1), closes, WIB_ZONE) == local(0, days=2)
    # A unit without any hours: midnight too.
    assert duty_closes_at(local(9), {}, WIB_ZONE) == local(0, days=1)


def test_open_duties_close_at_the_closing_instant_not_at_the_run(
    app: Flask, session: Session, world: World
) -> None:
    check_in(session, world.ahmad, world.home.counter, local(9))
    check_in(session, world.siti, world.other.counter, local(9))  # a unit without hours
    check_in(session, world.rina, world.second, local(17))  # after closing
    session.commit()
    db = app.extensions["suara.db"]
    settings = app.extensions["suara.settings"]
    assert close_duties(db, settings, now=local(15, 59)) == "closed 0 open duties"
    assert close_duties(db, settings, now=local(16, 10)) == "closed 1 open duties"
    assert close_duties(db, settings, now=local(16, 25)) == "closed 0 open duties"  # idempotent
    rows = {d.officer_id: d.ends_at for d in duties(session)}
    assert rows == {world.ahmad.id: local(16), world.siti.id: None, world.rina.id: None}
    assert close_duties(db, settings, now=local(0, 5, days=1)) == "closed 2 open duties"
    rows = {d.officer_id: d.ends_at for d in duties(session)}
    assert rows == {world.ahmad.id: local(16), world.siti.id: local(0, days=1),
                    world.rina.id: local(0, days=1)}
    closes = [a for a in audit_actions(session) if a[0] == "duty.auto_close"]
    assert closes == [("duty.auto_close", "scheduler")] * 3


def test_the_scheduler_runs_the_closing_job(app: Flask) -> None:
    from app.scheduler import JobRunner, build_scheduler

    settings = app.extensions["suara.settings"]
    scheduler = build_scheduler(settings, JobRunner(app.extensions["suara.db"], settings))
    assert "close_duties" in {job.id for job in scheduler.get_jobs()}


def test_checking_in_the_next_day_ends_a_forgotten_duty_at_closing_time(
    session: Session, world: World
) -> None:
    forgotten = check_in(session, world.ahmad, world.home.counter, local(9))
    check_in(session, world.ahmad, world.home.counter, local(8, days=1), tz=WIB_ZONE)
    assert forgotten.ends_at == local(16)
    # Checking out late the same way ends at the closing time too.
    check_out(session, world.ahmad, local(18, days=1), tz=WIB_ZONE)
    assert [d.ends_at for d in duties(session)] == [local(16), local(16, days=1)]


def test_the_cli_closes_open_duties_as_of_a_given_instant(
    runner: object, session: Session, world: World
) -> None:
    check_in(session, world.ahmad, world.home.counter, local(9))
    session.commit()
    invoke = runner.invoke  # type: ignore[attr-defined]
    result = invoke(args=["duty", "close-open", "--now", "2026-01-05T15:00:00+07:00"])
    assert result.exit_code == 0, result.output
    assert "closed 0 open duties" in result.output
    result = invoke(args=["duty", "close-open", "--now", "2026-01-05T16:30"])  # local time
    assert result.exit_code == 0, result.output
    assert "closed 1 open duties" in result.output and "Ahmad Saputra" in result.output
    assert [d.ends_at for d in duties(session)] == [local(16)]
    assert [a for a, _actor in audit_actions(session)] == ["duty.check_in", "duty.auto_close"]
    for bad in ("kemarin", "2026-13-01T10:00", "2026-01-05T10:00\x00", "9" * 400, ""):
        result = invoke(args=["duty", "close-open", "--now", bad])
        assert result.exit_code == 2, (bad, result.output)
        assert "--now" in result.output


# The officer's phone: /tugas -------------------------------------------------------------------

def test_an_officer_checks_in_and_out_on_the_phone(
    client: FlaskClient, session: Session, world: World
) -> None:
    assert sign_in(client, "ahmad@example.id").status_code == 303
    page = client.get("/tugas")
    assert page.status_code == 200
    text = html(page)
    assert "Saya bertugas di Loket Satu Perekaman" in text
    assert "Saya bertugas di Loket Dua" in text
    assert "Ruang Poli Gigi" not in text  # another unit's counter
    assert NIP not in text
    csrf = csrf_token_of(page)
    moved = client.post("/tugas", data={"csrf_token": csrf, "counter": world.home.counter.id})
    assert moved.status_code == 303 and moved.headers["Location"] == "/tugas"
    text = html(client.get("/tugas"))
    assert "Anda bertugas di Loket Satu Perekaman sejak" in text
    client.post("/tugas", data={"csrf_token": csrf, "counter": world.second.id})
    rows = duties(session)
    assert [(d.counter_id, d.ends_at is None, d.source) for d in rows] == [
        (world.home.counter.id, False, "checkin"), (world.second.id, True, "checkin")]
    finished = client.post("/tugas/selesai", data={"csrf_token": csrf})
    assert finished.status_code == 303
    assert all(d.ends_at is not None for d in duties(session))
    assert "Selesai bertugas" not in html(client.get("/tugas"))
    assert audit_actions(session)[-3:] == [
        ("duty.check_in", "user:ahmad@example.id"), ("duty.check_in", "user:ahmad@example.id"),
        ("duty.check_out", "user:ahmad@example.id")]


def test_checking_in_needs_the_form_token(
    client: FlaskClient, session: Session, world: World
) -> None:
    sign_in(client, "ahmad@example.id")
    refused = client.post("/tugas", data={"counter": world.home.counter.id})
    assert refused.status_code == 400
    assert client.post("/tugas/selesai").status_code == 400
    assert duties(session) == []


@pytest.mark.parametrize("value", ["", "abc", "0", "-1", "99999999999999999999", "1\x00",
                                   "1e3", "\u202e1"])
def test_a_bad_counter_value_is_refused_with_a_message(
    client: FlaskClient, session: Session, world: World, value: str
) -> None:
    sign_in(client, "ahmad@example.id")
    csrf = csrf_token_of(client.get("/tugas"))
    refused = client.post("/tugas", data={"csrf_token": csrf, "counter": value})
    assert refused.status_code == 400, value
    assert re.search(r'class="err" role="alert">(Pilih loket|Loket tidak dikenal)',
                     html(refused)), html(refused)
    assert duties(session) == []


def test_a_foreign_officer_cannot_check_in_at_another_units_counter(
    client: FlaskClient, session: Session, world: World
) -> None:
    sign_in(client, "siti@example.id")
    csrf = csrf_token_of(client.get("/tugas"))
    assert client.post("/tugas", data={"csrf_token": csrf, "counter": world.home.counter.id}
                       ).status_code == 404
    staff_code = world.home.counter.checkin_token
    assert client.get(f"/tugas/{staff_code}").status_code == 404
    assert client.post(f"/tugas/{staff_code}", data={"csrf_token": csrf}).status_code == 404
    assert duties(session) == []


def test_the_staff_code_page_asks_first_and_its_button_checks_in(
    client: FlaskClient, session: Session, world: World
) -> None:
    staff_code = world.second.checkin_token
    # Not signed in: the sign-in page, then back to the staff code.
    first = client.get(f"/tugas/{staff_code}")
    assert first.status_code == 302 and "/masuk" in first.headers["Location"]
    back = sign_in(client, "ahmad@example.id", query=f"?next=/tugas/{staff_code}")
    assert back.headers["Location"] == f"/tugas/{staff_code}"
    before = audit_actions(session)
    for _ in range(2):  # a GET (a preview, a reload) never changes anything
        page = client.get(f"/tugas/{staff_code}")
        assert page.status_code == 200
        assert "Saya bertugas di Loket Dua" in html(page)
    assert duties(session) == [] and audit_actions(session) == before
    done = client.post(f"/tugas/{staff_code}", data={"csrf_token": csrf_token_of(page)})
    assert done.status_code == 303
    (duty,) = duties(session)
    assert (duty.officer_id, duty.counter_id, duty.ends_at) == (world.ahmad.id, world.second.id,
                                                               None)
    assert "sudah bertugas di sini" in html(client.get(f"/tugas/{staff_code}"))


@pytest.mark.parametrize("code", ["abc", "%00aaaaaaaaaaaaaaaa", "a" * 200,
                                  "aaaaaaaa%E2%80%AEaaaaaaa", "riwayat2x", "NoSuchCodeAtAll1"])
def test_an_unknown_staff_code_is_not_found(
    client: FlaskClient, session: Session, world: World, code: str
) -> None:
    sign_in(client, "ahmad@example.id")
    # A NUL is refused before any lookup, for every path alike (tests/test_boundary.py).
    assert client.get(f"/tugas/{code}").status_code == (400 if "%00" in code else 404)
    assert duties(session) == []


def test_an_account_without_an_officer_record_gets_a_kind_message(
    client: FlaskClient, session: Session, world: World
) -> None:
    for email in ("kepala@example.id", "admin@example.id"):
        client.post("/keluar", data={"csrf_token": csrf_token_of(client.get("/masuk"))})
        sign_in(client, email)
        for path in ("/tugas", f"/tugas/{world.home.counter.checkin_token}", "/tugas/riwayat"):
            page = client.get(path)
            assert page.status_code == 403, (email, path)  # kind, and the same for any code
            assert "tidak terhubung dengan data petugas" in html(page)
            assert "Saya bertugas di" not in html(page)
    assert duties(session) == []


def test_an_inactive_counter_is_not_offered(
    client: FlaskClient, session: Session, world: World
) -> None:
    world.second.active = False
    session.commit()
    sign_in(client, "ahmad@example.id")
    page = client.get("/tugas")
    assert "Loket Dua" not in html(page)
    assert client.get(f"/tugas/{world.second.checkin_token}").status_code == 404
    assert client.post("/tugas", data={"csrf_token": csrf_token_of(page),
                                       "counter": world.second.id}).status_code == 404


def test_the_pages_speak_english_too(client: FlaskClient, world: World) -> None:
    sign_in(client, "ahmad@example.id")
    text = html(client.get("/tugas?lang=en"))
    assert "I am on duty at Loket Satu Perekaman" in text


# The officer's duty history -------------------------------------------------------------------

def test_the_history_lists_the_officers_own_duties_newest_first_paged(
    client: FlaskClient, session: Session, world: World
) -> None:
    start = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)  # 08.00 WIB
    for day in range(25):
        session.add(Assignment(officer=world.ahmad, counter=world.home.counter,
                               starts_at=start + timedelta(days=day),
                               ends_at=start + timedelta(days=day, hours=8), source="checkin"))
    session.add(Assignment(officer=world.rina, counter=world.second, starts_at=start,
                           source="correction"))
    session.commit()
    sign_in(client, "ahmad@example.id")
    first = html(client.get("/tugas/riwayat"))
    assert first.count("<tr><td>") == 20
    assert "Loket Dua" not in first  # Rina's duty is hers only
    rows = re.findall(r"<tr><td>[^<]*</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>",
                      first)
    assert rows[0][0] == "29/1/26 08.00"  # local time (01.00 UTC)
    assert rows[0][1].endswith("16.00") and rows[0][2] == "Check-in"
    assert "Halaman 1 dari 2" in first
    second = html(client.get("/tugas/riwayat?page=2"))
    assert second.count("<tr><td>") == 5
    assert "5/1/26 08.00" in second
    for page in ("-1", "abc", "0", "99999999999999", "９"):
        assert client.get("/tugas/riwayat", query_string={"page": page}).status_code == 200
    # A NUL is refused before any page reads the query (tests/test_boundary.py).
    assert client.get("/tugas/riwayat", query_string={"page": "2\x00"}).status_code == 400


def test_the_history_of_an_officer_without_duties(client: FlaskClient, world: World) -> None:
    sign_in(client, "siti@example.id")
    assert "Anda belum pernah bertugas" in html(client.get("/tugas/riwayat"))


# The API attributes by the response's own instant -------------------------------------------

def test_the_api_attributes_by_created_at_with_the_same_rule(
    client: FlaskClient, session: Session, world: World
) -> None:
    from app.models import Response

    on_duty_at = datetime.now(UTC) - timedelta(hours=1)
    session.add(Assignment(officer=world.ahmad, counter=world.home.counter,
                           starts_at=on_duty_at - timedelta(minutes=30),
                           ends_at=on_duty_at + timedelta(minutes=30), source="checkin"))
    session.commit()
    integration = {"Authorization": f"Bearer {integration_token(session)}"}

    def send(at: datetime) -> None:
        answer = client.post("/api/v1/responses", headers=integration, json={
            "id": str(uuid.uuid4()), "token": world.home.token,
            "answers": {f"U{i}": 3 for i in range(1, 10)},
            "submitted_at": at.isoformat()})
        assert answer.status_code == 201, answer.get_json()

    send(on_duty_at)
    send(on_duty_at + timedelta(minutes=45))
    session.expire_all()
    rows = session.execute(select(Response.officer_id, Response.attribution)
                           .order_by(Response.id)).all()
    assert [tuple(r) for r in rows] == [(world.ahmad.id, "checkin"), (None, "none")]
    assert session.scalar(select(func.count()).select_from(Response)) == 2
