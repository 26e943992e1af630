"""Today's board: who is on duty where since when, counters open without anyone, officers
rostered at one counter but on duty at another or nowhere (domain, page, CLI)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

import pytest
from factories import (
    NIP,
    OTHER_NIP,
    WIB_ZONE,
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
from sqlalchemy.orm import Session

from app import rosters
from app.board import today_board
from app.duty import check_in
from app.models import Counter, Officer, OpeningHours
from app.org import create_counter

THIRD_NIP = "198801012010011003"
# Wednesday 2 Dec 2026, 10:00 in Jakarta.
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=WIB_ZONE)


@dataclass
class World:
    home: SeededUnit
    other: SeededUnit
    a: Officer
    b: Officer
    c: Officer
    l2: Counter
    l3: Counter


@pytest.fixture
def world(app: Flask, session: Session) -> World:
    home = make_unit(session)
    other = make_other_unit(session)
    a = make_officer(session, home, NIP, "Ahmad Saputra")
    b = make_officer(session, home, OTHER_NIP, "Budi Santoso")
    c = make_officer(session, home, THIRD_NIP, "Citra Dewi")
    l2 = create_counter(session, home.unit, "L2", "Loket Dua")
    l3 = create_counter(session, home.unit, "L3", "Loket Tiga")
    for weekday in range(5):
        session.add(OpeningHours(unit_id=home.unit.id, weekday=weekday, opens=time(8),
                                 closes=time(15)))
    monday = NOW.date() - timedelta(days=NOW.weekday())
    # The roster: A at L1, B at L2, C at L3 on Wednesdays 08:00-12:00.
    for officer, counter in ((a, home.counter), (b, l2), (c, l3)):
        rosters.add_shift(session, counter, officer, 2, time(8), time(12), monday)
    # A is at L1 as planned since 08:05; B checked in at L3 instead; C did not come.
    check_in(session, a, home.counter, NOW.replace(hour=8, minute=5))
    check_in(session, b, l3, NOW.replace(hour=8, minute=30))
    session.commit()
    make_user(session, "kepala@contoh.go.id", "unit_head", unit=home.unit)
    make_user(session, "kepala.pkm@contoh.go.id", "unit_head", unit=other.unit)
    release(session)
    return World(home, other, a, b, c, l2, l3)


def test_the_board_at_ten(world: World, session: Session) -> None:
    board = today_board(session, world.home.unit, NOW, WIB_ZONE)
    assert board.is_open
    rows = {row.counter.code: row for row in board.counters}
    assert [(d.officer.name, f"{d.since:%H:%M}") for d in rows["L1"].on_duty] == [
        ("Ahmad Saputra", "08:05")]
    assert rows["L2"].on_duty == () and rows["L2"].rostered == (world.b,)
    assert [c.code for c in board.open_unattended] == ["L2"]
    assert [(m.officer.name, m.rostered_at.code, m.at.code if m.at else None)
            for m in board.elsewhere] == [("Budi Santoso", "L2", "L3")]
    assert [(m.officer.name, m.rostered_at.code) for m in board.absent] == [
        ("Citra Dewi", "L3")]


def test_a_closed_unit_has_no_unattended_counters(world: World, session: Session) -> None:
    evening = NOW.replace(hour=16)
    board = today_board(session, world.home.unit, evening, WIB_ZONE)
    assert not board.is_open and board.open_unattended == ()
    assert board.absent == () and board.elsewhere == ()  # nobody is planned at 16:00


def test_leave_takes_an_officer_off_the_board(world: World, session: Session) -> None:
    shift = rosters.shifts_of_unit(session, world.home.unit)[2]  # C at L3
    assert shift.officer_id == world.c.id
    rosters.add_exception(session, shift, NOW.date(), "leave")
    session.commit()
    board = today_board(session, world.home.unit, NOW, WIB_ZONE)
    assert board.absent == ()


def signed_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, email).status_code == 303
    return client


def test_the_board_page_and_its_scope(world: World, app: Flask,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("app.web.admin.duty.utcnow", lambda: NOW)
    client = signed_in(app, "kepala@contoh.go.id")
    page = client.get("/admin/board?lang=en")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Ahmad Saputra since 08:05" in body
    assert "Open without anyone on duty" in body
    assert "Budi Santoso: rostered at Loket Dua, on duty at Loket Tiga" in body
    assert "Citra Dewi: rostered at Loket Tiga" in body
    assert NIP not in body
    foreign = signed_in(app, "kepala.pkm@contoh.go.id")
    assert foreign.get(f"/admin/board?unit={world.home.unit.id}").status_code == 404
    own = foreign.get("/admin/board")
    assert own.status_code == 200 and "Ahmad Saputra" not in own.get_data(as_text=True)


def test_cli_board_checkin_and_checkout(world: World, runner: FlaskCliRunner,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("app.cli.duty.utcnow", lambda: NOW)
    shown = runner.invoke(args=["duty", "board", "--unit", "DUKCAPIL"])
    assert shown.exit_code == 0, shown.output
    assert "open without anyone: L2" in shown.output
    assert "not checked in: Citra Dewi" in shown.output
    moved = runner.invoke(args=["duty", "checkin", "--nip", OTHER_NIP, "--counter", "L2",
                                "--unit", "DUKCAPIL"])
    assert moved.exit_code == 0, moved.output
    shown = runner.invoke(args=["duty", "board", "--unit", "DUKCAPIL"])
    # B left L3 for L2, where the roster plans them: now L3 stands empty.
    assert "open without anyone: L2" not in shown.output
    assert "open without anyone: L3" in shown.output
    assert "rostered at L2 but on duty" not in shown.output
    monkeypatch.setattr("app.cli.duty.utcnow", lambda: NOW + timedelta(minutes=30))
    out = runner.invoke(args=["duty", "checkout", "--nip", OTHER_NIP])
    assert out.exit_code == 0, out.output
    again = runner.invoke(args=["duty", "checkout", "--nip", OTHER_NIP])
    assert again.exit_code != 0 and "no open duty" in again.output
    for args in (["board", "--unit", "NOPE"],
                 ["checkin", "--nip", "1" * 18, "--counter", "L1", "--unit", "DUKCAPIL"],
                 ["checkin", "--nip", NIP, "--counter", "GIGI", "--unit", "DUKCAPIL"],
                 ["checkin", "--nip", NIP, "--counter", "GIGI", "--unit", "PKM-KTB2"]):
        failed = runner.invoke(args=["duty", *args])
        assert failed.exit_code != 0, args
