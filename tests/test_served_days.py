"""People served per counter and day: the migration from the monthly count, the rules, the
back-office grid and CSV import, response rates, the sample in the API, and the CLI."""

from __future__ import annotations

import html as html_module
import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from factories import (
    WIB_ZONE,
    SeededUnit,
    add_response,
    add_served,
    aggregate,
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
from flask_babel import force_locale
from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session

from app import migrate
from app.api_tokens import create_api_token
from app.db import Database
from app.models import Assignment, AuditEntry, Counter, Officer, ServedDay, Unit, User
from app.org import create_counter
from app.response_rates import counter_rates, officer_rates
from app.served import (
    ServedEntry,
    month_served,
    parse_day,
    parse_served,
    read_import,
    save_served,
)

CLOCK = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # Wednesday 25 November, 10.00 WIB
TODAY = date(2026, 11, 25)
WEEK = date(2026, 11, 16)
MONDAY, TUESDAY = WEEK, WEEK + timedelta(days=1)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), WIB_ZONE)


# The migration --------------------------------------------------------------------------------




def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    database = Database(url)
    try:
        with database.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        database.dispose()


def _execute(url: str, sql: str, **params: Any) -> None:
    database = Database(url)
    try:
        with database.engine.begin() as connection:
            connection.execute(text(sql), params)
    finally:
        database.dispose()


def _tables(url: str) -> set[str]:
    database = Database(url)
    try:
        return set(inspect(database.engine).get_table_names())
    finally:
        database.dispose()


def test_the_migration_moves_monthly_counts_into_served_days_and_back(empty_url: str) -> None:
    migrate.upgrade(empty_url, "0007")
    _execute(empty_url, "INSERT INTO units (id, code, name, kind, arrival_token) "
                        "VALUES (1, 'U', 'Unit', 'other', 'tu'), (2, 'V', 'Other', 'other', "
                        "'tv')")
    stamp = datetime(2026, 11, 30, 9, tzinfo=UTC)
    for unit_id, month, served in ((1, date(2026, 10, 1), 1250), (1, date(2026, 11, 1), 800),
                                   (2, date(2026, 11, 1), 40)):
        _execute(empty_url, "INSERT INTO served_counts (unit_id, month, served, updated_at) "
                            "VALUES (:u, :m, :s, :at)", u=unit_id, m=month, s=served,
                 at=stamp.replace(tzinfo=None) if empty_url.startswith("sqlite") else stamp)
    migrate.upgrade(empty_url, "0009")
    assert "served_counts" not in _tables(empty_url)
    moved = _rows(empty_url, "SELECT unit_id, counter_id, day, served, source FROM served_days "
                             "ORDER BY unit_id, day")
    assert [(u, c, str(d), s, src) for u, c, d, s, src in moved] == [
        (1, None, "2026-10-01", 1250, "migrated"), (1, None, "2026-11-01", 800, "migrated"),
        (2, None, "2026-11-01", 40, "migrated")]
    # A unit's month is the sum of its rows: read through the application's own function.
    database = Database(empty_url)
    session = database.session()
    try:
        assert month_served(session, 1, date(2026, 11, 1)) == 800
        assert month_served(session, 1, date(2026, 12, 1)) is None
        counter = create_counter(session, session.get_one(Unit, 1), "L1", "Loket 1")
        add_served(session, 1, date(2026, 11, 17), 35, counter_id=counter.id)
        session.commit()
        assert month_served(session, 1, date(2026, 11, 1)) == 835
    finally:
        session.close()
        database.dispose()
    # Down again: the months summed back per unit (the counter's day included).
    migrate.downgrade(empty_url, "0008")
    back = _rows(empty_url, "SELECT unit_id, month, served FROM served_counts "
                            "ORDER BY unit_id, month")
    assert [(u, str(m), s) for u, m, s in back] == [
        (1, "2026-10-01", 1250), (1, "2026-11-01", 835), (2, "2026-11-01", 40)]
    assert _rows(empty_url, "SELECT count(*) FROM served_days") == [(0,)]
    migrate.upgrade(empty_url)
    assert _rows(empty_url, "SELECT sum(served) FROM served_days") == [(1250 + 835 + 40,)]
    migrate.check(empty_url)


# A world: a unit with two counters, two officers on duty, responses -----------------------------


@dataclass
class World:
    home: SeededUnit
    other: SeededUnit
    second: Counter  # L2 of the home unit
    ahmad: Officer
    rina: Officer


@pytest.fixture
def world(app: Flask, session: Session, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setattr("app.web.admin.served.utcnow", lambda: CLOCK)
    monkeypatch.setattr("app.web.dashboard.utcnow", lambda: CLOCK)
    monkeypatch.setattr("app.cli.served.utcnow", lambda: CLOCK)
    home = make_unit(session)
    other = make_other_unit(session)
    second = create_counter(session, home.unit, "L2", "Loket Dua")
    ahmad = make_officer(session, home)
    rina = make_officer(session, home, "199001012015052002", "Rina Baru")
    # Monday: Ahmad alone 8-10, Ahmad and Rina together 10-12 at L1.
    # (Rows as the duty pages store them: the database allows two officers at one counter.)
    session.add_all([Assignment(officer=ahmad, counter=home.counter, starts_at=local(MONDAY, 8),
                                ends_at=local(MONDAY, 12)),
                     Assignment(officer=rina, counter=home.counter, starts_at=local(MONDAY, 10),
                                ends_at=local(MONDAY, 12))])
    session.flush()
    survey = skm_survey(app)
    for minute in range(12):  # twelve responses to Ahmad on Monday at 9
        add_response(session, survey, home.counter, (3,) * 9, local(MONDAY, 9, minute))
    for minute in range(3):  # three at L1 on Tuesday, nobody on duty
        add_response(session, survey, home.counter, (4,) * 9, local(TUESDAY, 9, minute))
    session.commit()
    aggregate(app, CLOCK)
    make_user(session, "admin@contoh.go.id", "admin")
    make_user(session, "kepala@contoh.go.id", "unit_head", unit=home.unit)
    make_user(session, "petugas@contoh.go.id", "officer", unit=home.unit, officer=ahmad)
    release(session)
    return World(home, other, second, ahmad, rina)


def signed_in(app: Flask, email: str, lang: str = "en") -> FlaskClient:
    client = app.test_client()
    client.get(f"/masuk?lang={lang}")
    assert sign_in(client, email).status_code in (302, 303)
    return client


def stored(session: Session) -> list[tuple[str | None, date, int, str]]:
    session.expire_all()
    rows = [(c.code if c else None, r.day, r.served, r.source) for r, c in session.execute(
        select(ServedDay, Counter).outerjoin(Counter, Counter.id == ServedDay.counter_id)
        .order_by(ServedDay.day, Counter.code))]
    release(session)
    return rows


def audit_actions(session: Session) -> list[str]:
    """What the audit log says was changed (signing in, recorded too, is not a change)."""
    session.expire_all()
    actions = list(session.scalars(select(AuditEntry.action)
                                   .where(AuditEntry.action.not_like("auth.%"))
                                   .order_by(AuditEntry.id)))
    release(session)
    return actions


# The rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "value"), [
    ("0", 0), ("120", 120), (" 7 ", 7), ("1.250", 1250), ("100000", 100_000),
    ("100.000", 100_000)])
def test_good_counts_parse(app: Flask, typed: str, value: int) -> None:
    with app.app_context():
        assert parse_served(typed) == (value, None)


@pytest.mark.parametrize(("typed", "words"), [
    ("", "Enter the number of people served."),
    ("   ", "Enter the number of people served."),
    ("-5", "cannot be negative"),
    ("-1.000", "cannot be negative"),
    ("100001", "at most 100,000 a day"),
    ("1" + "0" * 20, "at most 100,000 a day"),
    ("9" * 5000, "at most 100,000 a day"),
    ("12,5", "whole number"),
    ("12.5", "whole number"),
    ("sepuluh", "whole number"),
    ("٣٤", "whole number"),  # Arabic-Indic digits
    ("1e3", "whole number"),
    ("12\x00", "invisible or control character"),
    ("\u202e21", "invisible or control character"),  # right-to-left override
    ("1\u200b2", "invisible or control character"),  # zero-width space
])
def test_bad_counts_are_refused_with_a_specific_message(app: Flask, typed: str,
                                                        words: str) -> None:
    with app.app_context(), force_locale("en"):
        value, message = parse_served(typed)
    assert value is None and message is not None and words in message


def test_bad_days_are_refused(app: Flask) -> None:
    with app.app_context(), force_locale("en"):
        assert parse_day("2026-11-25", today=TODAY) == (TODAY, None)
        for typed, words in (("2026-11-26", "has not come yet"), ("2026-02-30", "calendar"),
                             ("25-11-2026", "YYYY-MM-DD"), ("2026-11-25\x00", "YYYY-MM-DD"),
                             ("1999-01-01", "between 2000 and 2100"), ("", "YYYY-MM-DD")):
            day, message = parse_day(typed, today=TODAY)
            assert day is None and message is not None and words in message, typed


def test_a_counters_month_cannot_have_fewer_people_than_responses(
    app: Flask, session: Session, world: World
) -> None:
    counter = world.home.counter
    with app.app_context(), force_locale("en"):
        saved, errors = save_served(session, [ServedEntry(counter.id, MONDAY, 11)],
                                    today=TODAY, now=CLOCK)
        assert saved is None
        assert errors == {(counter.id, MONDAY): (
            "Loket Satu Perekaman served 11 people in November 2026 (days with a count), "
            "fewer than its 12 responses on those days: responses cannot outnumber the "
            "people served.")}
        # 12 on Monday is enough; Tuesday (3 responses) then needs its own count to add up.
        saved, errors = save_served(session, [ServedEntry(counter.id, MONDAY, 12),
                                              ServedEntry(counter.id, TUESDAY, 2)],
                                    today=TODAY, now=CLOCK)
        assert saved is None and "14 people" in errors[(counter.id, TUESDAY)]
        assert "15 responses" in errors[(counter.id, TUESDAY)]
        saved, errors = save_served(session, [ServedEntry(counter.id, MONDAY, 12),
                                              ServedEntry(counter.id, TUESDAY, 3)],
                                    today=TODAY, now=CLOCK)
        assert errors == {} and saved is not None and saved.added == 2
        session.commit()
        # Lowering Monday below what the month's responses need is refused too.
        saved, errors = save_served(session, [ServedEntry(counter.id, MONDAY, 5)],
                                    today=TODAY, now=CLOCK)
        assert saved is None and "8 people" in errors[(counter.id, MONDAY)]
    session.rollback()
    assert stored(session) == [("L1", MONDAY, 12, "typed"), ("L1", TUESDAY, 3, "typed")]


def test_the_domain_refuses_what_the_database_would_and_stores_nothing(
    app: Flask, session: Session, world: World
) -> None:
    second = world.second.id
    with app.app_context(), force_locale("en"):
        for entry, words in ((ServedEntry(second, TODAY + timedelta(days=1), 5), "not come yet"),
                             (ServedEntry(second, MONDAY, -1), "cannot be negative"),
                             (ServedEntry(second, MONDAY, 10**20), "at most 100,000"),
                             (ServedEntry(999_999, MONDAY, 5), "no such counter")):
            good = ServedEntry(second, TUESDAY, 4)
            saved, errors = save_served(session, [good, entry], today=TODAY, now=CLOCK)
            assert saved is None and words in errors[(entry.counter_id, entry.day)]
    session.rollback()
    assert stored(session) == []
    assert audit_actions(session) == []


def test_typed_counts_replace_the_same_day_and_are_audited(
    app: Flask, session: Session, world: World
) -> None:
    second = world.second.id
    with app.app_context():
        for served in (40, 40, 0):  # the same count twice changes nothing the second time
            saved, errors = save_served(session, [ServedEntry(second, TODAY, served)],
                                        today=TODAY, now=CLOCK)
            assert errors == {}
        session.commit()
    assert stored(session) == [("L2", TODAY, 0, "typed")]  # 0: closed, or nobody came
    entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    release(session)
    assert [e.action for e in entries] == ["served.set", "served.set"]
    assert json.loads(entries[1].before or "{}") == {"served": 40}
    assert json.loads(entries[1].after or "{}") == {"served": 0}
    assert entries[0].object_id == f"{second}:{TODAY.isoformat()}"


def test_a_units_month_is_the_sum_of_its_rows(session: Session, world: World) -> None:
    unit_id = world.home.unit.id
    add_served(session, unit_id, date(2026, 11, 1), 500, source="migrated")
    add_served(session, unit_id, MONDAY, 30, counter_id=world.home.counter.id)
    # November is the weeks whose Thursday falls in it: Monday 2 to Sunday 29 November;
    # Monday 30 November is December's. A migrated month total stays its month's.
    add_served(session, unit_id, date(2026, 11, 29), 20, counter_id=world.second.id)
    add_served(session, unit_id, date(2026, 11, 30), 4, counter_id=world.second.id)
    add_served(session, unit_id, date(2026, 12, 1), 999, counter_id=world.second.id)
    add_served(session, world.other.unit.id, MONDAY, 7, counter_id=world.other.counter.id)
    assert month_served(session, unit_id, date(2026, 11, 1)) == 550
    assert month_served(session, unit_id, date(2026, 12, 1)) == 1003
    assert month_served(session, unit_id, date(2026, 10, 1)) is None
    assert month_served(session, world.other.unit.id, date(2026, 11, 1)) == 7
    release(session)


# Response rates -------------------------------------------------------------------------------


def test_response_rates_per_counter_and_per_officer(session: Session, world: World) -> None:
    unit_id, l1 = world.home.unit.id, world.home.counter.id
    add_served(session, unit_id, MONDAY, 40, counter_id=l1)
    add_served(session, unit_id, TUESDAY, 10, counter_id=l1)
    add_served(session, unit_id, MONDAY, 0, counter_id=world.second.id)
    counters = counter_rates(session, unit_id, WEEK, WEEK + timedelta(days=6), min_n=10)
    # 15 responses of 50 people at L1; L2 counted nobody and got no response.
    assert (counters[l1].responses, counters[l1].served, counters[l1].rate) == (15, 50, 0.3)
    assert counters[world.second.id].shown is False  # 0 responses: below the minimum
    officers = officer_rates(session, unit_id, WEEK, WEEK + timedelta(days=6), tz=WIB_ZONE,
                             min_n=10)
    # Monday 8-12 covered: 8-10 Ahmad alone (half the day's people), 10-12 both (a quarter
    # each). Tuesday had no duty: its people are nobody's.
    assert officers[world.ahmad.id].served == Fraction(30)
    assert officers[world.rina.id].served == Fraction(10)
    assert officers[world.ahmad.id].responses == 12 and officers[world.ahmad.id].rate == 0.4
    assert officers[world.rina.id].responses == 0 and officers[world.rina.id].rate is None
    assert officers[world.rina.id].as_json() == {"served": None, "responses": None,
                                                 "rate": None}  # below the minimum
    assert officer_rates(session, unit_id, date(2026, 10, 1), date(2026, 10, 31), tz=WIB_ZONE,
                         min_n=10) == {}
    release(session)


def test_the_week_page_shows_counter_and_officer_response_rates(
    app: Flask, session: Session, world: World
) -> None:
    unit_id, l1 = world.home.unit.id, world.home.counter.id
    add_served(session, unit_id, MONDAY, 40, counter_id=l1)
    add_served(session, unit_id, TUESDAY, 10, counter_id=l1)
    release(session)
    client = signed_in(app, "kepala@contoh.go.id")
    url = f"/dashboard/units/DUKCAPIL?week={WEEK.isoformat()}"
    body = client.get(url + "&by=counter").get_data(as_text=True)
    counters = body[body.index('id="rincian"'):body.index('id="tren"')]
    assert "Response rate" in counters and ">50<" in counters and "30" in counters
    body = client.get(url + "&by=officer").get_data(as_text=True)
    officers = body[body.index('id="petugas"'):body.index('id="tren"')]
    assert ">30<" in officers and "40" in officers  # Ahmad: 12 of 30 people
    assert "split evenly between the officers on duty at the same time" in officers


# The back office: the grid --------------------------------------------------------------------


def grid_url(code: str = "DUKCAPIL", week: date = WEEK) -> str:
    return f"/admin/served?unit={code}&week={week.isoformat()}"


def cell(counter_id: int, day: date) -> str:
    return f"c{counter_id}_{day:%Y%m%d}"


def post_grid(client: FlaskClient, world: World, cells: dict[str, str], *,
              code: str = "DUKCAPIL") -> Any:
    page = client.get(grid_url())
    return client.post("/admin/served", data={
        "csrf_token": csrf_token_of(page), "unit": code, "week": WEEK.isoformat(), **cells})


def test_the_grid_shows_a_week_of_counters_and_days(app: Flask, session: Session,
                                                   world: World) -> None:
    add_served(session, world.home.unit.id, MONDAY, 40, counter_id=world.home.counter.id)
    release(session)
    page = signed_in(app, "kepala@contoh.go.id").get(grid_url())
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'name="{cell(world.home.counter.id, MONDAY)}"' in body and 'value="40"' in body
    assert f'name="{cell(world.second.id, WEEK + timedelta(days=6))}"' in body
    assert "Ruang Poli Gigi" not in body  # another unit's counter
    # The unit head's only unit is chosen without asking.
    assert signed_in(app, "kepala@contoh.go.id").get("/admin/served").status_code == 200


def form_fields(page: Any, action: str) -> dict[str, str]:
    """What a browser would send from the page's form posting to ``action`` (its inputs,
    hidden ones included, as rendered)."""
    body = page.get_data(as_text=True)
    start = body.index(f'method="post" action="{action}"')
    form = body[start:body.index("</form>", start)]
    fields = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and "disabled" not in tag:
            fields[name.group(1)] = html_module.unescape(value.group(1)) if value else ""
    return fields


def test_the_grids_own_form_posts_back_as_a_browser_would(app: Flask, session: Session,
                                                         world: World) -> None:
    add_served(session, world.home.unit.id, MONDAY, 40, counter_id=world.home.counter.id)
    release(session)
    client = signed_in(app, "kepala@contoh.go.id")
    page = client.get(grid_url())
    fields = form_fields(page, "/admin/served")
    assert fields["unit"] == "DUKCAPIL" and fields["week"] == WEEK.isoformat()
    assert fields[cell(world.home.counter.id, MONDAY)] == "40"
    later = form_fields(client.get(grid_url(week=TODAY)), "/admin/served")
    assert cell(world.second.id, TODAY) in later
    assert cell(world.second.id, TODAY + timedelta(days=1)) not in later  # disabled: to come
    fields[cell(world.second.id, TUESDAY)] = "7"
    answer = client.post("/admin/served", data=fields)
    assert answer.status_code == 303, answer.get_data(as_text=True)[:2000]
    assert stored(session) == [("L1", MONDAY, 40, "typed"), ("L2", TUESDAY, 7, "typed")]


def test_the_grid_saves_a_good_week_with_prg_and_audit(app: Flask, session: Session,
                                                      world: World) -> None:
    client = signed_in(app, "kepala@contoh.go.id")
    l1, l2 = world.home.counter.id, world.second.id
    answer = post_grid(client, world, {cell(l1, MONDAY): "40", cell(l1, TUESDAY): "1.000",
                                       cell(l2, MONDAY): "0"})
    assert answer.status_code == 303 and answer.headers["Location"] == grid_url()
    assert "3 change(s)" in client.get(answer.headers["Location"]).get_data(as_text=True)
    assert stored(session) == [("L1", MONDAY, 40, "typed"), ("L2", MONDAY, 0, "typed"),
                               ("L1", TUESDAY, 1000, "typed")]
    assert audit_actions(session).count("served.set") == 3
    # Emptying a cell removes its count.
    answer = post_grid(client, world, {cell(l1, MONDAY): "40", cell(l1, TUESDAY): "3",
                                       cell(l2, MONDAY): ""})
    assert answer.status_code == 303
    assert stored(session) == [("L1", MONDAY, 40, "typed"), ("L1", TUESDAY, 3, "typed")]


@pytest.mark.parametrize(("typed", "words"), [
    ("-3", "cannot be negative"), ("1" + "0" * 20, "at most 100,000 a day"),
    ("4\x00", "invisible or control character"), ("\u202e5", "invisible or control"),
    ("lima", "whole number"), ("11", "fewer than its 12 responses")])
def test_one_bad_cell_stores_nothing_and_is_named_beside_it(
    app: Flask, session: Session, world: World, typed: str, words: str
) -> None:
    client = signed_in(app, "kepala@contoh.go.id")
    l1, l2 = world.home.counter.id, world.second.id
    answer = post_grid(client, world, {cell(l2, MONDAY): "25", cell(l1, MONDAY): typed})
    body = answer.get_data(as_text=True)
    assert answer.status_code == 400
    name = cell(l1, MONDAY)
    assert f'id="{name}-error">' in body and words in body.split(f'id="{name}-error">')[1][:400]
    assert 'aria-invalid="true"' in body and "nothing was saved" in body
    assert 'value="25"' in body  # what was typed stays
    assert stored(session) == [] and audit_actions(session) == []


def test_the_grid_refuses_a_future_day_even_when_forced(app: Flask, session: Session,
                                                       world: World) -> None:
    client = signed_in(app, "kepala@contoh.go.id")
    friday = WEEK + timedelta(days=11)  # the week of 23 November: Friday 27 is to come
    page = client.get(grid_url(week=friday))
    assert f'name="{cell(world.second.id, friday)}"' in page.get_data(as_text=True)
    answer = client.post("/admin/served", data={
        "csrf_token": csrf_token_of(page), "unit": "DUKCAPIL", "week": friday.isoformat(),
        cell(world.second.id, friday): "5"})
    assert answer.status_code == 400 and "has not come yet" in answer.get_data(as_text=True)
    assert stored(session) == []


def test_the_grid_speaks_indonesian_by_default(app: Flask, session: Session,
                                              world: World) -> None:
    client = signed_in(app, "kepala@contoh.go.id", lang="id")
    answer = post_grid(client, world, {cell(world.second.id, MONDAY): "-1"})
    assert answer.status_code == 400
    assert "tidak boleh negatif" in answer.get_data(as_text=True)
    assert stored(session) == []


def test_scope_out_of_unit_is_404_and_other_roles_403(app: Flask, session: Session,
                                                     world: World) -> None:
    head = signed_in(app, "kepala@contoh.go.id")
    assert head.get(grid_url("PKM-KTB2")).status_code == 404
    assert head.get(grid_url("NOPE")).status_code == 404
    answer = post_grid(head, world, {cell(world.other.counter.id, MONDAY): "5"},
                       code="PKM-KTB2")
    assert answer.status_code == 404
    officer = signed_in(app, "petugas@contoh.go.id")
    assert officer.get(grid_url()).status_code == 403
    admin = signed_in(app, "admin@contoh.go.id")
    assert admin.get(grid_url("PKM-KTB2")).status_code == 200
    assert stored(session) == []


def test_the_grid_needs_its_csrf_token(app: Flask, session: Session, world: World) -> None:
    client = signed_in(app, "kepala@contoh.go.id")
    answer = client.post("/admin/served", data={
        "unit": "DUKCAPIL", "week": WEEK.isoformat(), cell(world.second.id, MONDAY): "5"})
    assert answer.status_code == 400
    assert stored(session) == []


# The back office: CSV import ------------------------------------------------------------------


def upload(client: FlaskClient, content: bytes, code: str = "DUKCAPIL") -> Any:
    page = client.get(grid_url(code))
    return client.post("/admin/served/import", data={
        "csrf_token": csrf_token_of(page), "unit": code,
        "file": (io.BytesIO(content), "antrian.csv")}, content_type="multipart/form-data")


def test_a_bad_file_lists_every_bad_line_and_imports_nothing(
    app: Flask, session: Session, world: World
) -> None:
    client = signed_in(app, "kepala@contoh.go.id")
    content = ("\ufeffcounter;date;served\n"
               "L1;2026-11-16;40\n"
               "L9;2026-11-16;4\n"            # no such counter
               "L2;2026-11-31;4\n"            # not in the calendar
               "L2;2026-11-30;4\n"            # to come
               "L\x002;2026-11-16;4\n"        # a NUL in a code
               "L2;2026-11-17;-4\n"           # negative
               "L2;2026-11-18;100000000000000000000\n"
               "L2;2026-11-19;4\x00\n"        # NUL
               "L1;2026-11-16;41\n"           # twice
               "L2;2026-11-20\n").encode()    # a column short
    answer = upload(client, content)
    body = answer.get_data(as_text=True)
    assert answer.status_code == 400
    for line, words in ((3, "no counter L9"), (4, "not in the calendar"),
                        (5, "has not come yet"), (6, "no counter L?2"),
                        (7, "cannot be negative"), (8, "at most 100,000"),
                        (9, "invisible or control character"), (10, "already on line 2"),
                        (11, "2 columns instead of 3")):
        assert f'<td class="num">{line}</td><td>' in body and words in body, (line, words)
    assert "nothing was imported" in body and "\x00" not in body
    assert "Import these lines" not in body
    assert stored(session) == []


def test_a_good_file_is_previewed_then_imported_once_confirmed(
    app: Flask, session: Session, world: World
) -> None:
    client = signed_in(app, "kepala@contoh.go.id")
    content = ("\ufeffunit,counter,date,served\r\n"
               "DUKCAPIL,L1,2026-11-16,40\r\n"
               "DUKCAPIL,L1,2026-11-17,12\r\n"
               "DUKCAPIL,L2,2026-11-17,0\r\n").encode()
    preview = upload(client, content)
    body = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "3 lines are ready to import" in body
    assert stored(session) == []  # a preview stores nothing
    fields = form_fields(preview, "/admin/served/import/confirm")
    assert fields["unit"] == "DUKCAPIL"
    confirm = client.post("/admin/served/import/confirm", data=fields)
    assert confirm.status_code == 303
    assert confirm.headers["Location"] == grid_url()
    assert stored(session) == [("L1", MONDAY, 40, "imported"), ("L1", TUESDAY, 12, "imported"),
                               ("L2", TUESDAY, 0, "imported")]
    entries = session.scalars(select(AuditEntry).where(
        AuditEntry.action.not_like("auth.%"))).all()
    release(session)
    assert [e.action for e in entries] == ["served.import"]
    assert json.loads(entries[0].after or "{}")["rows"] == 3


def test_an_import_cannot_reach_another_unit(app: Flask, session: Session,
                                            world: World) -> None:
    client = signed_in(app, "kepala@contoh.go.id")
    answer = upload(client, b"unit,counter,date,served\nPKM-KTB2,GIGI,2026-11-16,4\n")
    assert answer.status_code == 400
    assert "Unknown unit PKM-KTB2" in answer.get_data(as_text=True)
    # Confirming a forged file is read again and refused the same way.
    forged = client.post("/admin/served/import/confirm", data={
        "csrf_token": csrf_token_of(answer), "unit": "DUKCAPIL",
        "content": "unit,counter,date,served\nPKM-KTB2,GIGI,2026-11-16,4\n"})
    assert forged.status_code == 400
    assert stored(session) == []


def test_the_import_reader_tolerates_semicolons_and_a_bom(app: Flask, session: Session,
                                                         world: World) -> None:
    with app.app_context(), force_locale("en"):
        preview = read_import(session, "\ufeffCounter ; Date ; Served\nL2;2026-11-16;5\n",
                              today=TODAY, unit_ids=None, default_unit=world.home.unit)
        assert preview.ok and preview.total == 5
        missing = read_import(session, "counter,day,served\nL2,2026-11-16,5\n", today=TODAY,
                              unit_ids=None, default_unit=world.home.unit)
        assert not missing.ok and "Missing column(s): date" in missing.errors[0][1]
        no_unit = read_import(session, "counter,date,served\nL2,2026-11-16,5\n", today=TODAY,
                              unit_ids=None, default_unit=None)
        assert "no unit column" in no_unit.errors[0][1]
        empty = read_import(session, "counter,date,served\n", today=TODAY, unit_ids=None,
                            default_unit=world.home.unit)
        assert "no lines" in empty.errors[0][1]
    release(session)


# The sample in the API, after the change -------------------------------------------------------


def test_the_api_sample_and_response_rates_come_from_served_days(
    app: Flask, client: FlaskClient, session: Session, world: World
) -> None:
    unit_id, l1 = world.home.unit.id, world.home.counter.id
    add_served(session, unit_id, date(2026, 11, 1), 10, source="migrated")
    add_served(session, unit_id, MONDAY, 40, counter_id=l1)
    add_served(session, unit_id, TUESDAY, 10, counter_id=l1)
    admin = session.scalars(select(User).where(User.email == "admin@contoh.go.id")).one()
    token = create_api_token(session, admin, "test", now=CLOCK, days=3650)  # real clock
    session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    months = client.get("/api/v1/indicators?scope=unit&period=month",
                        headers=headers).get_json()["rows"]
    (november,) = [r for r in months if r["period_start"] == "2026-11-01"]
    # 60 people served (10 carried over + 50 counted): Krejcie-Morgan 52, 15 responses.
    assert november["sample"] == {"served": 60, "required": 52, "adequate": False}
    counters = client.get("/api/v1/indicators?scope=counter&period=month",
                          headers=headers).get_json()["rows"]
    assert [r["response_rate"] for r in counters] == [
        {"served": 50, "responses": 15, "rate": 0.3}]
    officers = client.get("/api/v1/indicators?scope=officer&period=month",
                          headers=headers).get_json()["rows"]
    assert [r["response_rate"] for r in officers] == [
        {"served": 30, "responses": 12, "rate": 0.4}]


# The CLI ----------------------------------------------------------------------------------------


def test_cli_set_list_and_errors(runner: FlaskCliRunner, session: Session,
                                 world: World) -> None:
    ok = runner.invoke(args=["served", "set", "--unit", "DUKCAPIL", "--counter", "L1",
                             "--date", "2026-11-16", "--served", "40"])
    assert ok.exit_code == 0, ok.output
    assert "DUKCAPIL L1 2026-11-16: 40 people served" in ok.output
    for args, words in (
        (["--unit", "NOPE", "--counter", "L1", "--date", "2026-11-16", "--served", "4"],
         "--unit"),
        (["--unit", "DUKCAPIL", "--counter", "L9", "--date", "2026-11-16", "--served", "4"],
         "--counter"),
        (["--unit", "DUKCAPIL", "--counter", "L2", "--date", "2026-12-01", "--served", "4"],
         "--date"),
        (["--unit", "DUKCAPIL", "--counter", "L2", "--date", "2026-11-16", "--served", "-4"],
         "--served"),
        (["--unit", "DUKCAPIL", "--counter", "L2", "--date", "2026-11-16",
          "--served", "1" + "0" * 20], "--served"),
        (["--unit", "DUKCAPIL", "--counter", "L2", "--date", "2026-11-16", "--served", "4\x00"],
         "--served"),
        (["--unit", "DUKCAPIL", "--counter", "L1", "--date", "2026-11-16", "--served", "3"],
         "Loket Satu Perekaman"),  # fewer than Monday's 12 responses
        (["--unit", "DUKCAPIL", "--counter", "L2", "--date", "2026-11-16"], "--served"),
    ):
        result = runner.invoke(args=["served", "set", *args])
        assert result.exit_code != 0, args
        assert words in result.output, (args, result.output)
    listed = runner.invoke(args=["served", "list", "--unit", "DUKCAPIL", "--month", "2026-11"])
    assert listed.exit_code == 0
    assert "2026-11-16  L1" in listed.output and "DUKCAPIL 2026-11: 40 people served" in \
        listed.output
    for bad in ("2026-13", "11-2026", "2026-11\x00"):
        result = runner.invoke(args=["served", "list", "--unit", "DUKCAPIL", "--month", bad])
        assert result.exit_code != 0 and "--month" in result.output
    assert stored(session) == [("L1", MONDAY, 40, "typed")]
    entry = session.scalars(select(AuditEntry)).one()
    release(session)
    assert entry.action == "served.set" and entry.actor.startswith("cli:")


def test_cli_import_dry_run_then_import(runner: FlaskCliRunner, session: Session,
                                       world: World, tmp_path: Path) -> None:
    good = tmp_path / "antrian.csv"
    good.write_text("\ufeffcounter;date;served\nL1;2026-11-16;40\nL2;2026-11-16;0\n",
                    encoding="utf-8")
    missing_unit = runner.invoke(args=["served", "import", str(good)])
    assert missing_unit.exit_code != 0 and "unit" in missing_unit.output
    dry = runner.invoke(args=["served", "import", str(good), "--unit", "DUKCAPIL",
                              "--dry-run"])
    assert dry.exit_code == 0 and "2 line(s) would be imported" in dry.output
    assert stored(session) == []
    done = runner.invoke(args=["served", "import", str(good), "--unit", "DUKCAPIL"])
    assert done.exit_code == 0 and "imported 2 line(s): 2 added" in done.output
    assert stored(session) == [("L1", MONDAY, 40, "imported"), ("L2", MONDAY, 0, "imported")]
    bad = tmp_path / "rusak.csv"
    bad.write_text("unit,counter,date,served\nDUKCAPIL,L1,2026-11-17,x\n"
                   "DUKCAPIL,L1,2026-11-18,5\n", encoding="utf-8")
    refused = runner.invoke(args=["served", "import", str(bad)])
    assert refused.exit_code != 0 and "line 2" in refused.output
    latin = tmp_path / "latin.csv"
    latin.write_bytes("counter,date,served\nLoket é,2026-11-16,4\n".encode("latin-1"))
    assert runner.invoke(args=["served", "import", str(latin)]).exit_code != 0
    assert len(stored(session)) == 2
    count = session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "served.import"))
    release(session)
    assert count == 1
