"""The planned roster: weekly shifts and a day's exceptions, through the domain, the back
office (real sign-in and CSRF) and the CLI; hostile input and foreign scopes refused."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time

import pytest
from factories import (
    NIP,
    OTHER_NIP,
    WIB_ZONE,
    SeededUnit,
    csrf_token_of,
    make_officer,
    make_other_unit,
    make_unit,
    make_user,
    release,
    sign_in,
)
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from markupsafe import escape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import rosters
from app.duty import attribute, rostered_officers
from app.models import AuditEntry, Officer, RosterException, RosterShift
from app.org import create_counter, create_officer
from app.rosters import FieldError

THIRD_NIP = "198801012010011003"
FOURTH_NIP = "197705052005011004"
MONDAY = date(2026, 11, 2)


@dataclass
class World:
    home: SeededUnit
    other: SeededUnit
    a: Officer
    b: Officer
    stranger: Officer
    l2_id: int


@pytest.fixture
def world(app: Flask, session: Session) -> World:
    home = make_unit(session)
    other = make_other_unit(session)
    a = make_officer(session, home, NIP, "Ahmad Saputra")
    b = make_officer(session, home, OTHER_NIP, "Budi Santoso")
    stranger = create_officer(session, THIRD_NIP, "Citra Dewi", other.unit, "Perawat")
    l2 = create_counter(session, home.unit, "L2", "Loket Dua")
    make_user(session, "admin@contoh.go.id", "admin")
    make_user(session, "kepala@contoh.go.id", "unit_head", unit=home.unit)
    make_user(session, "kepala.pkm@contoh.go.id", "unit_head", unit=other.unit)
    make_user(session, "petugas@contoh.go.id", "officer", unit=home.unit, officer=a)
    release(session)
    return World(home, other, a, b, stranger, l2.id)


def count(session: Session, model: type[RosterShift] | type[RosterException]) -> int:
    found = session.scalar(select(func.count()).select_from(model)) or 0
    release(session)
    return found


# The domain ---------------------------------------------------------------------------------

def test_a_shift_plans_the_officer_and_exceptions_change_one_day(world: World,
                                                                 session: Session) -> None:
    shift = rosters.add_shift(session, world.home.counter, world.a, 0, time(8), time(12),
                              MONDAY)
    session.commit()
    at = datetime(2026, 11, 9, 9, tzinfo=WIB_ZONE)  # a Monday
    assert rostered_officers(session, world.home.counter.id, at, WIB_ZONE) == [world.a]
    assert attribute(session, world.home.counter.id, at, WIB_ZONE).officer_id == world.a.id
    rosters.add_exception(session, shift, date(2026, 11, 9), "swap", world.b, "tukar")
    session.commit()
    assert rostered_officers(session, world.home.counter.id, at, WIB_ZONE) == [world.b]
    assert rostered_officers(session, world.home.counter.id,
                             datetime(2026, 11, 16, 9, tzinfo=WIB_ZONE), WIB_ZONE) == [world.a]
    leave = rosters.add_exception(session, shift, date(2026, 11, 16), "leave")
    session.commit()
    assert rostered_officers(session, world.home.counter.id,
                             datetime(2026, 11, 16, 9, tzinfo=WIB_ZONE), WIB_ZONE) == []
    rosters.remove_exception(session, leave)
    rosters.end_shift(session, shift, date(2026, 11, 20))
    session.commit()
    assert rostered_officers(session, world.home.counter.id,
                             datetime(2026, 11, 23, 9, tzinfo=WIB_ZONE), WIB_ZONE) == []
    actions = session.scalars(select(AuditEntry.action).where(
        AuditEntry.action.like("roster.%")).order_by(AuditEntry.id)).all()
    assert actions == ["roster.shift_add", "roster.exception_add", "roster.exception_add",
                       "roster.exception_remove", "roster.shift_end"]
    ended = session.scalars(select(AuditEntry).where(
        AuditEntry.action == "roster.shift_end")).one()
    assert json.loads(ended.before or "{}") == {"valid_until": None}
    assert json.loads(ended.after or "{}") == {"valid_until": "2026-11-20"}


def test_the_week_lists_shifts_per_counter_and_weekday(world: World, session: Session) -> None:
    rosters.add_shift(session, world.home.counter, world.a, 0, time(8), time(12), MONDAY)
    rosters.add_shift(session, world.home.counter, world.b, 2, time(8), time(12), MONDAY,
                      date(2026, 11, 3))  # ended before that Wednesday
    session.commit()
    week = rosters.unit_week(session, world.home.unit, MONDAY)
    by_code = {row.counter.code: row for row in week}
    assert set(by_code) == {"L1", "L2"}
    assert [s.officer_id for s in by_code["L1"].days[0]] == [world.a.id]
    assert by_code["L1"].days[2] == []


@pytest.mark.parametrize(("change", "field"), [
    ({"officer": "stranger"}, "officer"),
    ({"officer": "inactive"}, "officer"),
    ({"starts": time(12), "ends": time(8)}, "ends"),
    ({"starts": time(8), "ends": time(8)}, "ends"),
    ({"weekday": 7}, "weekday"),
    ({"valid_until": date(2026, 10, 1)}, "valid_until"),
    ({"counter": "L2", "starts": time(11), "ends": time(14)}, "officer"),  # at two counters
])
def test_bad_shifts_are_refused(world: World, session: Session, change: dict[str, object],
                                field: str) -> None:
    rosters.add_shift(session, world.home.counter, world.a, 0, time(8), time(12), MONDAY)
    session.commit()
    values: dict[str, object] = {"counter": world.home.counter, "officer": world.a,
                                 "weekday": 0, "starts": time(13), "ends": time(15),
                                 "valid_from": MONDAY, "valid_until": None}
    values.update(change)
    if values["officer"] == "stranger":
        values["officer"] = world.stranger
    elif values["officer"] == "inactive":
        world.b.active = False
        values["officer"] = world.b
    if values["counter"] == "L2":
        values["counter"] = session.get(type(world.home.counter), world.l2_id)
    with pytest.raises(FieldError) as refused:
        rosters.add_shift(session, **values)  # type: ignore[arg-type]
    session.rollback()
    assert refused.value.field == field
    assert count(session, RosterShift) == 1


@pytest.mark.parametrize(("day", "kind", "substitute", "note", "field"), [
    (date(2026, 11, 10), "leave", None, None, "day"),  # a Tuesday: no shift then
    (date(2026, 10, 26), "leave", None, None, "day"),  # before the shift's first day
    (date(2026, 11, 9), "swap", None, None, "substitute"),
    (date(2026, 11, 9), "swap", "a", None, "substitute"),  # the same officer
    (date(2026, 11, 9), "swap", "stranger", None, "substitute"),
    (date(2026, 11, 9), "leave", "b", None, "substitute"),
    (date(2026, 11, 9), "holiday", None, None, "kind"),
    (date(2026, 11, 9), "leave", None, "x" * 10_000, "note"),
    (date(2026, 11, 9), "leave", None, "sakit\x00", "note"),
    (date(2026, 11, 9), "leave", None, "cuti \u202e", "note"),
])
def test_bad_exceptions_are_refused(world: World, session: Session, day: date, kind: str,
                                    substitute: str | None, note: str | None,
                                    field: str) -> None:
    shift = rosters.add_shift(session, world.home.counter, world.a, 0, time(8), time(12),
                              MONDAY)
    session.commit()
    who = {"a": world.a, "b": world.b, "stranger": world.stranger}.get(substitute or "")
    with pytest.raises(FieldError) as refused:
        rosters.add_exception(session, shift, day, kind, who, note)
    session.rollback()
    assert refused.value.field == field
    assert count(session, RosterException) == 0


def test_one_exception_per_shift_and_day(world: World, session: Session) -> None:
    shift = rosters.add_shift(session, world.home.counter, world.a, 0, time(8), time(12),
                              MONDAY)
    rosters.add_exception(session, shift, date(2026, 11, 9), "leave")
    with pytest.raises(FieldError, match="already"):
        rosters.add_exception(session, shift, date(2026, 11, 9), "swap", world.b)


@pytest.mark.parametrize("value", ["25:00", "7:30", "07:60", "", "08:00\x00", "٠٨:٠٠", "ab:cd"])
def test_clock_times_are_strict(value: str) -> None:
    with pytest.raises(FieldError):
        rosters.parse_clock("starts", value)


# The back office ----------------------------------------------------------------------------

def signed_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    answer = sign_in(client, email)
    assert answer.status_code == 303, answer.status_code
    return client


def text(page: object) -> str:
    return page.get_data(as_text=True)  # type: ignore[attr-defined, no-any-return]


SHIFT = {"officer": "", "weekday": "0", "starts": "08:00", "ends": "12:00",
         "valid_from": "2026-11-02", "valid_until": ""}


def post_shift(client: FlaskClient, counter_id: int, query: str = "",
               **fields: str) -> object:
    path = f"/admin/rosters/counters/{counter_id}/shifts/new{query}"
    page = client.get(path)
    assert page.status_code == 200
    return client.post(path, data={"csrf_token": csrf_token_of(page), **SHIFT, **fields})


def test_a_unit_head_plans_a_shift_and_sees_the_week(world: World, app: Flask,
                                                      session: Session) -> None:
    client = signed_in(app, "kepala@contoh.go.id")
    answer = post_shift(client, world.home.counter.id, officer=str(world.a.id))
    assert answer.status_code == 303  # type: ignore[attr-defined]
    shift = session.scalars(select(RosterShift)).one()
    assert (shift.officer_id, shift.weekday, shift.starts) == (world.a.id, 0, time(8))
    entry = session.scalars(select(AuditEntry).where(
        AuditEntry.action == "roster.shift_add")).one()
    assert entry.actor.startswith("kepala@contoh.go.id") or "kepala" in entry.actor
    release(session)
    week = client.get(f"/admin/rosters?unit={world.home.unit.id}&week=2026-11-02")
    assert week.status_code == 200
    assert "Ahmad Saputra" in text(week) and "08:00–12:00" in text(week)


@pytest.mark.parametrize(("fields", "field", "english"), [
    ({"officer": ""}, "officer", "Choose an officer from the list."),
    ({"officer": "stranger"}, "officer", "does not belong to the counter's unit"),
    ({"officer": "1\x00"}, "officer", "Choose an officer from the list."),
    ({"weekday": "9"}, "weekday", "Choose a day of the week."),
    ({"weekday": "\u200b"}, "weekday", "Choose a day of the week."),
    ({"starts": "25:00"}, "starts", "HH:MM"),
    ({"starts": "08:00\x00"}, "starts", "HH:MM"),
    ({"starts": ""}, "starts", "Enter the start time."),
    ({"ends": "07:00"}, "ends", "must end after it starts"),
    ({"ends": "x" * 10_000}, "ends", "HH:MM"),
    ({"valid_from": "2026-02-30"}, "valid_from", "YYYY-MM-DD"),
    ({"valid_from": "\u202e2026-11-02"}, "valid_from", "YYYY-MM-DD"),
    ({"valid_until": "2026-10-01"}, "valid_until", "cannot be before the first day"),
])
def test_the_shift_form_refuses_hostile_input(world: World, app: Flask, session: Session,
                                              fields: dict[str, str], field: str,
                                              english: str) -> None:
    client = signed_in(app, "kepala@contoh.go.id")
    values = {"officer": str(world.a.id), **fields}
    if values["officer"] == "stranger":
        values["officer"] = str(world.stranger.id)
    answer = post_shift(client, world.home.counter.id, "?lang=en", **values)
    assert answer.status_code == 422  # type: ignore[attr-defined]
    body = text(answer)
    assert f'id="{field}-error"' in body
    assert str(escape(english)) in body.split(f'id="{field}-error"')[1].split("</p>")[0]
    assert count(session, RosterShift) == 0


def test_the_shift_form_speaks_indonesian_by_default(world: World, app: Flask,
                                                     session: Session) -> None:
    client = signed_in(app, "kepala@contoh.go.id")
    answer = post_shift(client, world.home.counter.id, officer=str(world.a.id),
                        starts="25:00")
    assert answer.status_code == 422  # type: ignore[attr-defined]
    assert "Tulis jam sebagai JJ:MM" in text(answer)


def test_an_exception_is_added_and_removed_after_a_confirmation(world: World, app: Flask,
                                                                session: Session) -> None:
    shift = rosters.add_shift(session, world.home.counter, world.a, 0, time(8), time(12),
                              MONDAY)
    release(session)
    client = signed_in(app, "kepala@contoh.go.id")
    path = f"/admin/rosters/shifts/{shift.id}/exceptions/new?lang=en"
    page = client.get(path)
    bad = client.post(path, data={"csrf_token": csrf_token_of(page), "day": "2026-11-09",
                                  "kind": "swap", "substitute": str(world.a.id),
                                  "note": ""})
    assert bad.status_code == 422
    assert "another officer than the planned one" in text(bad)
    long_note = client.post(path, data={"csrf_token": csrf_token_of(page), "day": "2026-11-09",
                                        "kind": "leave", "substitute": "", "note": "x" * 10_000})
    assert long_note.status_code == 422 and "At most 200 characters." in text(long_note)
    assert count(session, RosterException) == 0
    good = client.post(path, data={"csrf_token": csrf_token_of(page), "day": "2026-11-09",
                                   "kind": "swap", "substitute": str(world.b.id), "note": ""})
    assert good.status_code == 303
    exception = session.scalars(select(RosterException)).one()
    release(session)
    confirm = client.get(f"/admin/rosters/exceptions/{exception.id}/remove?lang=en")
    assert confirm.status_code == 200 and "Remove this exception?" in text(confirm)
    assert count(session, RosterException) == 1  # asking removed nothing
    done = client.post(f"/admin/rosters/exceptions/{exception.id}/remove",
                       data={"csrf_token": csrf_token_of(confirm)})
    assert done.status_code == 303
    assert count(session, RosterException) == 0


def test_editing_and_ending_a_shift(world: World, app: Flask, session: Session) -> None:
    shift = rosters.add_shift(session, world.home.counter, world.a, 0, time(8), time(12),
                              MONDAY)
    release(session)
    client = signed_in(app, "kepala@contoh.go.id")
    page = client.get(f"/admin/rosters/shifts/{shift.id}/edit")
    assert page.status_code == 200
    changed = client.post(f"/admin/rosters/shifts/{shift.id}/edit",
                          data={"csrf_token": csrf_token_of(page), **SHIFT,
                                "officer": str(world.b.id), "ends": "13:00"})
    assert changed.status_code == 303
    page = client.get(f"/admin/rosters/shifts/{shift.id}/end")
    ended = client.post(f"/admin/rosters/shifts/{shift.id}/end",
                        data={"csrf_token": csrf_token_of(page), "last_day": "2026-11-30"})
    assert ended.status_code == 303
    session.expire_all()
    stored = session.get(RosterShift, shift.id)
    assert stored is not None
    assert (stored.officer_id, stored.ends, stored.valid_until) == (
        world.b.id, time(13), date(2026, 11, 30))
    release(session)


def test_scopes(world: World, app: Flask, session: Session) -> None:
    shift = rosters.add_shift(session, world.home.counter, world.a, 0, time(8), time(12),
                              MONDAY)
    exception = rosters.add_exception(session, shift, date(2026, 11, 9), "leave")
    release(session)
    foreign = signed_in(app, "kepala.pkm@contoh.go.id")
    for path in (f"/admin/rosters?unit={world.home.unit.id}",
                 f"/admin/rosters/counters/{world.home.counter.id}/shifts/new",
                 f"/admin/rosters/shifts/{shift.id}/edit",
                 f"/admin/rosters/shifts/{shift.id}/end",
                 f"/admin/rosters/shifts/{shift.id}/exceptions/new",
                 f"/admin/rosters/exceptions/{exception.id}/remove",
                 "/admin/rosters?unit=99999"):
        assert foreign.get(path).status_code == 404, path
    # A NUL is refused before any page reads the query (tests/test_boundary.py).
    assert foreign.get("/admin/rosters?unit=1%00").status_code == 400
    own = foreign.get("/admin/rosters")
    assert own.status_code == 200 and "Ahmad Saputra" not in text(own)
    officer = signed_in(app, "petugas@contoh.go.id")
    assert officer.get("/admin/rosters").status_code == 403
    admin = signed_in(app, "admin@contoh.go.id")
    assert admin.get(f"/admin/rosters?unit={world.home.unit.id}").status_code == 200
    assert admin.get(f"/admin/rosters?unit={world.other.unit.id}").status_code == 200


# The CLI ------------------------------------------------------------------------------------

def test_cli_roster_add_list_end_and_exception(world: World, runner: FlaskCliRunner,
                                               session: Session) -> None:
    added = runner.invoke(args=["duty", "roster", "add", "--unit", "DUKCAPIL", "--counter",
                                "L1", "--officer-nip", NIP, "--weekday", "mon", "--from",
                                "08:00", "--to", "12:00", "--valid-from", "2026-11-02"])
    assert added.exit_code == 0, added.output
    shift_id = session.scalars(select(RosterShift.id)).one()
    release(session)
    listed = runner.invoke(args=["duty", "roster", "list", "--unit", "DUKCAPIL"])
    assert listed.exit_code == 0 and "Ahmad Saputra" in listed.output
    swapped = runner.invoke(args=["duty", "exception", "add", "--shift", str(shift_id),
                                  "--date", "2026-11-09", "--kind", "swap",
                                  "--substitute-nip", OTHER_NIP])
    assert swapped.exit_code == 0, swapped.output
    ended = runner.invoke(args=["duty", "roster", "end", str(shift_id), "--last-day",
                                "2026-12-31"])
    assert ended.exit_code == 0, ended.output
    listed = runner.invoke(args=["duty", "roster", "list", "--unit", "DUKCAPIL"])
    assert "2026-12-31" in listed.output and "swap by Budi Santoso" in listed.output


@pytest.mark.parametrize(("change", "says"), [
    ({"--from": "25:00"}, "--from"),
    ({"--to": "07:00"}, "must end after"),
    ({"--weekday": "funday"}, "--weekday"),
    ({"--officer-nip": THIRD_NIP}, "does not belong"),
    ({"--officer-nip": "1" * 18}, "--officer-nip"),
    ({"--unit": "NOPE"}, "--unit"),
    ({"--counter": "GIGI"}, "--counter"),
    ({"--valid-from": "2026-13-01"}, "--valid-from"),
    ({"--valid-until": "2026-01-01"}, "before the first day"),
    ({"--from": "08:00\x00"}, "--from"),
])
def test_cli_roster_add_refuses_bad_input(world: World, runner: FlaskCliRunner,
                                          session: Session, change: dict[str, str],
                                          says: str) -> None:
    options = {"--unit": "DUKCAPIL", "--counter": "L1", "--officer-nip": NIP,
               "--weekday": "mon", "--from": "08:00", "--to": "12:00",
               "--valid-from": "2026-11-02", **change}
    result = runner.invoke(args=["duty", "roster", "add",
                                 *[part for item in options.items() for part in item]])
    assert result.exit_code != 0
    assert says in result.output
    assert count(session, RosterShift) == 0


def test_cli_exception_refuses_the_same_officer(world: World, runner: FlaskCliRunner,
                                                session: Session) -> None:
    shift = rosters.add_shift(session, world.home.counter, world.a, 0, time(8), time(12),
                              MONDAY)
    release(session)
    result = runner.invoke(args=["duty", "exception", "add", "--shift", str(shift.id),
                                 "--date", "2026-11-09", "--kind", "swap",
                                 "--substitute-nip", NIP])
    assert result.exit_code != 0 and "--substitute" in result.output
    missing = runner.invoke(args=["duty", "exception", "add", "--shift", "999", "--date",
                                  "2026-11-09", "--kind", "leave"])
    assert missing.exit_code != 0 and "no shift" in missing.output
    assert count(session, RosterException) == 0


@pytest.mark.parametrize(("fields", "field", "english"), [
    ({"day": "2026-11-09\x00"}, "day", "YYYY-MM-DD"),
    ({"day": "2026-11-10"}, "day", "does not take place on that day"),
    ({"day": ""}, "day", "Enter the day."),
    ({"kind": "holiday"}, "kind", "Choose leave or swap."),
    ({"kind": "swap", "substitute": ""}, "substitute", "needs the substitute officer"),
    ({"kind": "swap", "substitute": "stranger"}, "substitute", "does not belong"),
    ({"kind": "swap", "substitute": "\u202e1"}, "substitute", "Choose an officer"),
    ({"note": "cuti\x00"}, "note", "invisible or control character U+0000"),
    ({"note": "x" * 10_000}, "note", "At most 200 characters."),
])
def test_the_exception_form_refuses_hostile_input(world: World, app: Flask, session: Session,
                                                  fields: dict[str, str], field: str,
                                                  english: str) -> None:
    shift = rosters.add_shift(session, world.home.counter, world.a, 0, time(8), time(12),
                              MONDAY)
    release(session)
    values = {"day": "2026-11-09", "kind": "leave", "substitute": "", "note": "", **fields}
    if values["substitute"] == "stranger":
        values["substitute"] = str(world.stranger.id)
    client = signed_in(app, "kepala@contoh.go.id")
    path = f"/admin/rosters/shifts/{shift.id}/exceptions/new?lang=en"
    page = client.get(path)
    answer = client.post(path, data={"csrf_token": csrf_token_of(page), **values})
    assert answer.status_code == 422
    body = text(answer)
    assert str(escape(english)) in body.split(f'id="{field}-error"')[1].split("</p>")[0]
    assert count(session, RosterException) == 0


@pytest.mark.parametrize(("last_day", "english"), [
    ("2026-10-01", "cannot be before the first day"),
    ("2026-11-31", "YYYY-MM-DD"),
    ("\x00", "YYYY-MM-DD"),
    ("", "Enter the last day."),
])
def test_the_end_form_refuses_bad_days(world: World, app: Flask, session: Session,
                                       last_day: str, english: str) -> None:
    shift = rosters.add_shift(session, world.home.counter, world.a, 0, time(8), time(12),
                              MONDAY)
    release(session)
    client = signed_in(app, "kepala@contoh.go.id")
    path = f"/admin/rosters/shifts/{shift.id}/end?lang=en"
    page = client.get(path)
    answer = client.post(path, data={"csrf_token": csrf_token_of(page), "last_day": last_day})
    assert answer.status_code == 422
    assert str(escape(english)) in text(answer).split('id="last_day-error"')[1]
    session.expire_all()
    assert session.scalars(select(RosterShift.valid_until)).one() is None
    release(session)
