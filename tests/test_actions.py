"""Improvement actions (RTL): Welch's t interval, the domain (recording, refusals, the
weakest elements, the measured effect) and the back-office pages."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from factories import (
    SeededUnit,
    add_response,
    aggregate,
    cached_password_hash,
    csrf_token_of,
    make_other_unit,
    make_unit,
    make_user,
    release,
    sign_in,
    skm_survey,
)
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from app import actions
from app.actions import ActionError, ActionValues, create_action, effect, update_action
from app.models import AuditEntry, Counter
from app.models.loop import ImprovementAction
from app.org import create_counter
from app.scoring import GroupTotals, t_quantile, welch_interval

WIB = ZoneInfo("Asia/Jakarta")
START = date(2026, 3, 2)  # a Monday: the action's start
NOW = datetime(2026, 4, 6, 10, 0, tzinfo=WIB)  # five weeks after it
ADMIN, HEAD, OTHER_HEAD = "admin@contoh.go.id", "kepala@contoh.go.id", "kepala.pkm@contoh.go.id"
VIEWER = "pemantau@contoh.go.id"


def moments(values: Sequence[int]) -> GroupTotals:
    return GroupTotals(len(values), sum(values), sum(v * v for v in values))


# Statistics (app/scoring.py) -----------------------------------------------------------------


@pytest.mark.parametrize(("df", "expected"), [
    # Two-sided 95 % critical values from the printed t tables.
    (1, 12.7062), (2, 4.3027), (6, 2.4469), (9, 2.2622), (30, 2.0423), (120, 1.9799),
])
def test_t_quantile_matches_the_printed_tables(df: float, expected: float) -> None:
    assert t_quantile(0.95, df) == pytest.approx(expected, abs=5e-5)


def test_t_quantile_for_huge_degrees_of_freedom_is_near_the_normal_and_errs_wide() -> None:
    value = t_quantile(0.95, 1e9)
    assert 1.959964 < value < 1.9603


def test_t_quantile_refuses_nonsense() -> None:
    for level, df in ((0.95, 0), (0.95, -1), (1.0, 5), (0.95, math.inf)):
        with pytest.raises(ValueError):
            t_quantile(level, df)


def test_welch_interval_by_hand_equal_spread_not_significant() -> None:
    # before 1,2,2,3: mean 2, variance 2/3; after 2,3,3,4: mean 3, variance 2/3.
    # se^2 = (2/3)/4 + (2/3)/4 = 1/3; df = (1/3)^2 / (2 x (1/6)^2 / 3) = 6; t(6) = 2.446912.
    # 1 +- 2.446912 x sqrt(1/3) = 1 +- 1.412725: the interval holds 0.
    result = welch_interval(moments([1, 2, 2, 3]), moments([2, 3, 3, 4]))
    assert result is not None
    assert (result.before, result.after, result.difference) == (2.0, 3.0, 1.0)
    assert result.df == pytest.approx(6.0)
    assert result.low == pytest.approx(1 - 1.412725, abs=1e-6)
    assert result.high == pytest.approx(1 + 1.412725, abs=1e-6)
    assert not result.significant


def test_welch_interval_by_hand_significant() -> None:
    # before 1,1,2,2 (mean 1.5), after 3,3,4,4 (mean 3.5), variances 1/3: se^2 = 1/6, df 6;
    # 2 +- 2.446912 x 0.408248 = 2 +- 0.998948: the interval (1.001, 2.999) excludes 0.
    result = welch_interval(moments([1, 1, 2, 2]), moments([3, 3, 4, 4]))
    assert result is not None
    assert result.low == pytest.approx(1.001052, abs=1e-6)
    assert result.high == pytest.approx(2.998948, abs=1e-6)
    assert result.significant
    # The same the other way round: a fall is significant too (the interval below 0).
    fall = welch_interval(moments([3, 3, 4, 4]), moments([1, 1, 2, 2]))
    assert fall is not None and fall.high < 0 and fall.significant


def test_welch_degrees_of_freedom_with_unequal_sizes() -> None:
    # before 1,2,3: variance 1, n 3; after 2,2,3,4,4: variance 1, n 5. v1 = 1/3, v2 = 1/5,
    # se^2 = 8/15; df = (8/15)^2 / ((1/3)^2/2 + (1/5)^2/4) = 512/118 = 256/59 (not 6: Welch).
    result = welch_interval(moments([1, 2, 3]), moments([2, 2, 3, 4, 4]))
    assert result is not None
    assert result.df == pytest.approx(float(Fraction(256, 59)), rel=1e-12)
    half = (result.high - result.low) / 2
    assert half == pytest.approx(t_quantile(0.95, 256 / 59) * math.sqrt(8 / 15), rel=1e-12)


def test_welch_interval_edge_cases() -> None:
    assert welch_interval(moments([3]), moments([1, 2, 3])) is None
    assert welch_interval(moments([]), moments([1, 2])) is None
    # No spread at all: the interval is the difference itself, and no claim is made.
    flat = welch_interval(moments([2, 2, 2]), moments([3, 3]))
    assert flat is not None and (flat.low, flat.high, flat.df) == (1.0, 1.0, None)
    assert not flat.significant
    same = welch_interval(moments([2, 2]), moments([2, 2, 2]))
    assert same is not None and not same.significant
    scaled = flat.scaled(25)
    assert (scaled.before, scaled.after, scaled.difference) == (50.0, 75.0, 25.0)
    with pytest.raises(ValueError):
        welch_interval(GroupTotals(3, 9, 1), moments([1, 2]))


# The world -------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("app.users.generate_password_hash", cached_password_hash)


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("app.web.admin.actions.utcnow", lambda: NOW)


@dataclass
class World:
    home: SeededUnit
    other: SeededUnit
    home_unit: int
    other_unit: int
    second_counter: int  # another counter of home


@pytest.fixture
def world(session: Session) -> World:
    home, other = make_unit(session), make_other_unit(session)
    second = create_counter(session, home.unit, "L2", "Loket Dua Kartu Keluarga")
    session.commit()
    make_user(session, ADMIN, "admin")
    make_user(session, VIEWER, "viewer")
    make_user(session, HEAD, "unit_head", unit=home.unit)
    make_user(session, OTHER_HEAD, "unit_head", unit=other.unit)
    world = World(home, other, home.unit.id, other.unit.id, second.id)
    release(session)
    return world


def values(**changes: object) -> ActionValues:
    base: dict[str, object] = {
        "element": "U3", "what": "Tambah satu petugas di Loket 1 pada jam sibuk",
        "who": "Kepala Seksi Pelayanan", "starts_on": START, "due_on": START + timedelta(
            weeks=4), "state": "in_progress"}
    base.update(changes)
    return ActionValues(**base)  # type: ignore[arg-type]


def action_count(session: Session) -> int:
    session.expire_all()
    count = session.scalar(select(func.count()).select_from(ImprovementAction)) or 0
    release(session)
    return count


# Recording -------------------------------------------------------------------------------------


def test_create_and_update_are_audited(session: Session, world: World) -> None:
    action = create_action(session, world.home.unit, values(counter_id=world.home.counter.id),
                           user_id=None, now=NOW)
    session.commit()
    assert (action.element, action.counter_id, action.state) == ("U3", world.home.counter.id,
                                                                 "in_progress")
    update_action(session, action, values(state="done", who="Seksi Pelayanan"), now=NOW)
    session.commit()
    entries = list(session.scalars(select(AuditEntry).where(
        AuditEntry.object_type == "improvement_action").order_by(AuditEntry.id)))
    assert [e.action for e in entries] == ["action.create", "action.update"]
    assert json.loads(entries[0].after or "{}")["what"].startswith("Tambah satu petugas")
    assert json.loads(entries[1].before or "{}") == {
        "counter_id": world.home.counter.id, "state": "in_progress",
        "who": "Kepala Seksi Pelayanan"}
    assert json.loads(entries[1].after or "{}") == {"counter_id": None, "state": "done",
                                                    "who": "Seksi Pelayanan"}


def test_line_breaks_are_kept_in_what(session: Session, world: World) -> None:
    action = create_action(session, world.home.unit, values(what="Satu\r\nDua"), user_id=None,
                           now=NOW)
    assert action.what == "Satu\nDua"


@pytest.mark.parametrize(("changes", "field"), [
    ({"what": "   "}, "what"),
    ({"what": "x" * 2001}, "what"),
    ({"what": "Tambah\x00petugas"}, "what"),
    ({"what": "Tambah\x07petugas"}, "what"),
    ({"what": "Tambah\u202epetugas"}, "what"),
    ({"who": ""}, "who"),
    ({"who": "x" * 201}, "who"),
    ({"who": "Seksi\nPelayanan"}, "who"),
    ({"starts_on": None}, "starts_on"),
    ({"due_on": None}, "due_on"),
    ({"due_on": START - timedelta(days=1)}, "due_on"),
    ({"starts_on": date(1999, 12, 31)}, "starts_on"),
    ({"element": "U10"}, "element"),
    ({"state": "finished"}, "state"),
    ({"counter_id": 0}, "counter_id"),
    ({"service_id": 987654}, "service_id"),
])
def test_bad_input_is_refused_beside_its_field(session: Session, world: World,
                                               changes: dict[str, object], field: str) -> None:
    with pytest.raises(ActionError) as refused:
        create_action(session, world.home.unit, values(**changes), user_id=None, now=NOW)
    assert refused.value.field == field
    session.rollback()
    assert action_count(session) == 0


def test_a_counter_or_service_of_another_unit_is_refused(session: Session,
                                                         world: World) -> None:
    for changes, field in (({"counter_id": world.other.counter.id}, "counter_id"),
                           ({"service_id": world.other.services[0].id}, "service_id")):
        with pytest.raises(ActionError) as refused:
            create_action(session, world.home.unit, values(**changes), user_id=None, now=NOW)
        assert refused.value.field == field
    session.rollback()
    assert action_count(session) == 0


def test_overdue_is_open_and_past_due(session: Session, world: World) -> None:
    action = create_action(session, world.home.unit, values(), user_id=None, now=NOW)
    after_due = action.due_on + timedelta(days=1)
    assert actions.is_overdue(action, after_due)
    assert not actions.is_overdue(action, action.due_on)
    action.state = "done"
    assert not actions.is_overdue(action, after_due)


# The weakest elements and the measured effect ------------------------------------------------


def _at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=WIB)


def _scores(u3: int, u7: int = 3) -> tuple[int, ...]:
    return (3, 3, u3, 4, 3, 3, u7, 3, 4)


def test_suggested_elements_are_the_weakest_of_the_last_complete_month(
        app: Flask, session: Session, world: World) -> None:
    survey = skm_survey(app)
    for day, u3, u7 in ((date(2026, 3, 3), 1, 2), (date(2026, 3, 10), 2, 2),
                        (date(2026, 3, 17), 2, 3), (date(2026, 4, 1), 4, 4)):
        add_response(session, survey, world.home.counter, _scores(u3, u7), _at(day))
    session.commit()
    aggregate(app, NOW)
    found = actions.suggested_elements(session, world.home_unit, now=NOW, tz=WIB)
    # March's whole ISO weeks: Monday 2 to Sunday 29 March.
    assert (found.first_day, found.last_day, found.n) == (date(2026, 3, 2),
                                                         date(2026, 3, 29), 3)
    assert found.ranked[0] == ("U3", Fraction(5, 3))
    assert found.ranked[1] == ("U7", Fraction(7, 3))
    # U1, U2, U5, U6 and U8 tie at 3 with the third place: all of them are suggested.
    assert found.weakest == ("U3", "U7", "U1", "U2", "U5", "U6", "U8")
    empty = actions.suggested_elements(session, world.other_unit, now=NOW, tz=WIB)
    assert (empty.n, empty.ranked, empty.weakest) == (0, (), ())


def _seed_effect(app: Flask, session: Session, world: World) -> None:
    """Ten responses at Loket 1 in each of the four weeks before START (U3: 2 and 1,
    waits 40 and 30), ten in each of the four weeks after (U3: 3 and 4, waits 15 and 25);
    plus noise that must be left out: flagged answers, another counter's, and answers
    outside the windows."""
    survey = skm_survey(app)
    for week in range(4):
        for index in range(10):
            before = START - timedelta(weeks=week + 1) + timedelta(days=index % 5)
            after = START + timedelta(weeks=week) + timedelta(days=index % 5)
            add_response(session, survey, world.home.counter,
                         _scores(2 if index % 2 else 1), _at(before, 8 + index),
                         measured=40 if index % 2 else 30)
            add_response(session, survey, world.home.counter,
                         _scores(3 if index % 2 else 4), _at(after, 8 + index),
                         measured=15 if index % 2 else 25)
    second = session.get(Counter, world.second_counter)
    assert second is not None
    for day in (START - timedelta(days=3), START + timedelta(days=3)):
        add_response(session, survey, world.home.counter, _scores(1), _at(day), bot=True,
                     measured=300)
        add_response(session, survey, second, _scores(4), _at(day), measured=0)
    add_response(session, survey, world.home.counter, _scores(4), _at(START - timedelta(
        weeks=9)), measured=0)
    add_response(session, survey, world.home.counter, _scores(1), _at(NOW.date() + timedelta(
        days=1)), measured=300)
    session.commit()


def test_effect_compares_the_windows_of_the_action(app: Flask, session: Session,
                                                   world: World) -> None:
    _seed_effect(app, session, world)
    action = create_action(session, world.home.unit, values(counter_id=world.home.counter.id),
                           user_id=None, now=NOW)
    found = effect(session, action, weeks=8, min_n=10, now=NOW, tz=WIB)
    assert (found.before_first, found.before_last) == (date(2026, 1, 5), date(2026, 3, 1))
    assert (found.after_first, found.after_last) == (START, NOW.date())
    score, wait = found.score, found.wait
    assert (score.before_n, score.after_n, wait.before_n, wait.after_n) == (40, 40, 40, 40)
    assert score.result is not None and wait.result is not None
    assert (score.result.before, score.result.after) == (1.5, 3.5)
    # Each side: 20 of one value and 20 of the other, one apart: variance 40/156 = 10/39.
    se = math.sqrt(2 * Fraction(10, 39) / 40)
    assert score.result.high - score.result.difference == pytest.approx(
        t_quantile(0.95, 78) * se, rel=1e-9)
    assert score.significant
    assert found.score_index is not None and found.score_index.difference == 50.0
    assert (wait.result.before, wait.result.after, wait.result.difference) == (35.0, 20.0,
                                                                               -15.0)
    assert wait.significant and wait.result.high < 0


def test_effect_of_the_whole_unit_counts_every_counter(app: Flask, session: Session,
                                                       world: World) -> None:
    _seed_effect(app, session, world)
    action = create_action(session, world.home.unit, values(), user_id=None, now=NOW)
    found = effect(session, action, weeks=8, min_n=10, now=NOW, tz=WIB)
    assert (found.score.before_n, found.score.after_n) == (41, 41)


def test_effect_waits_for_enough_responses(app: Flask, session: Session,
                                           world: World) -> None:
    survey = skm_survey(app)
    for index in range(4):
        add_response(session, survey, world.home.counter, _scores(2), _at(
            START - timedelta(days=index + 1)), measured=30)
    add_response(session, survey, world.home.counter, _scores(4), _at(START))
    session.commit()
    action = create_action(session, world.home.unit, values(), user_id=None, now=NOW)
    found = effect(session, action, weeks=8, min_n=10, now=NOW, tz=WIB)
    assert found.score.result is None and not found.score.significant
    assert (found.score.needed_before, found.score.needed_after) == (6, 9)
    assert (found.wait.needed_before, found.wait.needed_after) == (6, 10)
    # An action that has not started: nothing after it yet.
    future = create_action(session, world.home.unit, values(
        starts_on=NOW.date() + timedelta(days=7), due_on=NOW.date() + timedelta(days=30)),
        user_id=None, now=NOW)
    later = effect(session, future, weeks=8, min_n=10, now=NOW, tz=WIB)
    assert later.after_last is None and later.score.after_n == 0


# The pages ---------------------------------------------------------------------------------------


def signed_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    client.set_cookie("lang", "en")
    answer = sign_in(client, email)
    assert answer.status_code == 303, answer.status_code
    return client


def text(page: TestResponse) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", page.get_data(as_text=True)).split())


def effect_rows(page: TestResponse) -> list[str]:
    """The words of each row of the effect table."""
    body = re.search(r'<tbody id="effect-rows">(.*?)</tbody>', page.get_data(as_text=True),
                     re.S)
    assert body is not None
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split())
            for row in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)]


def form_data(**changes: str) -> dict[str, str]:
    data = {"element": "U3", "counter_id": "", "service_id": "",
            "what": "Tambah satu petugas di Loket 1", "who": "Kasi Pelayanan",
            "starts_on": START.isoformat(), "due_on": "2026-03-30", "state": "planned"}
    data.update(changes)
    return data


def post_new(client: FlaskClient, unit_id: int, **changes: str) -> TestResponse:
    url = f"/admin/units/{unit_id}/actions/new"
    page = client.get(url)
    assert page.status_code == 200
    return client.post(url, data={"csrf_token": csrf_token_of(page), **form_data(**changes)})


def test_a_unit_head_records_an_action_and_reads_its_effect(
        app: Flask, session: Session, world: World) -> None:
    _seed_effect(app, session, world)
    client = signed_in(app, HEAD)
    answer = post_new(client, world.home_unit, counter_id=str(world.home.counter.id))
    assert answer.status_code == 303
    action = session.scalars(select(ImprovementAction)).one()
    assert answer.headers["Location"].endswith(f"/admin/actions/{action.id}")
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "action.create")
                            ).one()
    assert entry.actor == f"user:{HEAD}" and entry.object_id == str(action.id)
    release(session)
    page = client.get(f"/admin/actions/{action.id}")
    assert page.status_code == 200
    words = text(page)
    assert "U3 — " in words and "Loket Satu Perekaman" in words
    assert "2026-01-05 to 2026-03-01" in words and "2026-03-02 to 2026-04-06" in words
    rows = effect_rows(page)
    assert len(rows) == 3 and all(row.endswith("significant") for row in rows), rows
    assert "not shown" not in " ".join(rows)
    assert "-15.0" in rows[2] and "+2.00" in rows[0] and "+50.00" in rows[1]


def test_the_effect_page_says_not_shown_or_how_many_more(app: Flask, session: Session,
                                                         world: World) -> None:
    survey = skm_survey(app)
    for index in range(12):  # the same answers on both sides: no change
        for day in (START - timedelta(days=1 + index % 5), START + timedelta(days=index % 5)):
            add_response(session, survey, world.home.counter, _scores(2 + index % 2),
                         _at(day, 8 + index % 8))
    session.commit()
    action = create_action(session, world.home.unit, values(), user_id=None, now=NOW)
    action_id = action.id
    release(session)
    rows = effect_rows(signed_in(app, HEAD).get(f"/admin/actions/{action_id}"))
    # 6 twos and 6 threes a side: variance 3/11, se = sqrt(2 x 3/11 / 12) = 0.2132, df 22,
    # t = 2.0739: 0 +- 0.44.
    assert rows[0] == "U3 score (1–4) 12 2.50 12 2.50 0.00 -0.44 … +0.44 not shown"
    assert rows[1].endswith("not shown")
    assert rows[2].endswith("Not enough responses yet: 10 more before, 10 more after.")
    assert not any("significant" in row for row in rows)
    # The interval's heading reads "95 %", in both languages (the msgid escapes its "%").
    for lang, heading in (("en", "95 % interval"), ("id", "Interval 95 %")):
        page = signed_in(app, HEAD).get(f"/admin/actions/{action_id}?lang={lang}")
        shown = page.get_data(as_text=True)
        assert heading in shown and "%%" not in shown, lang


def test_the_new_form_is_seeded_with_the_weakest_element(app: Flask, session: Session,
                                                         world: World) -> None:
    survey = skm_survey(app)
    add_response(session, survey, world.home.counter, (3, 3, 3, 3, 3, 3, 3, 1, 3),
                 _at(date(2026, 3, 10)))
    session.commit()
    aggregate(app, NOW)
    page = signed_in(app, HEAD).get(f"/admin/units/{world.home_unit}/actions/new")
    assert page.status_code == 200
    assert re.search(r'<option selected value="U8">|<option value="U8" selected>',
                     page.get_data(as_text=True))
    assert "Weakest elements, 2026-03-02 to 2026-03-29" in text(page)


def test_the_new_form_writes_an_element_score_that_is_not_a_whole_number(
    app: Flask, session: Session, world: World
) -> None:
    """Three responses: U8's NRR is 4/3, written to four decimals (was a 500: Babel cannot
    read a Fraction)."""
    survey = skm_survey(app)
    for u8 in (1, 1, 2):
        add_response(session, survey, world.home.counter, (3, 3, 3, 3, 3, 3, 3, u8, 3),
                     _at(date(2026, 3, 10)))
    session.commit()
    aggregate(app, NOW)
    page = signed_in(app, HEAD).get(f"/admin/units/{world.home_unit}/actions/new")
    assert page.status_code == 200
    assert re.search(r"U8 — [^:]+: 1\.3333\b", text(page))


@pytest.mark.parametrize(("changes", "field"), [
    ({"what": ""}, "what"),
    ({"what": "x" * 2001}, "what"),
    ({"what": "Tambah\x00petugas"}, "what"),
    ({"who": "Kasi\x1bPelayanan"}, "who"),
    ({"due_on": "2026-03-01"}, "due_on"),
    ({"starts_on": "2026-02-30"}, "starts_on"),
    ({"element": "U0"}, "element"),
    ({"counter_id": "abc"}, "counter_id"),
])
def test_bad_input_on_the_page_is_shown_beside_the_field(
        app: Flask, session: Session, world: World, changes: dict[str, str],
        field: str) -> None:
    answer = post_new(signed_in(app, HEAD), world.home_unit, **changes)
    assert answer.status_code == 400
    assert f'id="{field}-error"' in answer.get_data(as_text=True)
    assert not re.search("[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f]", answer.get_data(as_text=True))
    assert action_count(session) == 0
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action.startswith("action."))) == 0
    release(session)


def test_a_counter_of_another_unit_is_refused_on_the_page(app: Flask, session: Session,
                                                          world: World) -> None:
    answer = post_new(signed_in(app, HEAD), world.home_unit,
                      counter_id=str(world.other.counter.id))
    assert answer.status_code == 400
    assert 'id="counter_id-error"' in answer.get_data(as_text=True)
    assert "Choose a counter of this unit." in text(answer)
    assert action_count(session) == 0


def test_editing_changes_the_action_and_lists_it_overdue(app: Flask, session: Session,
                                                         world: World) -> None:
    action = create_action(session, world.home.unit, values(), user_id=None, now=NOW)
    action_id = action.id
    release(session)
    client = signed_in(app, HEAD)
    url = f"/admin/actions/{action_id}/edit"
    page = client.get(url)
    assert page.status_code == 200 and "Kepala Seksi Pelayanan" in page.get_data(as_text=True)
    answer = client.post(url, data={"csrf_token": csrf_token_of(page), **form_data(
        due_on="2026-03-20", state="in_progress", service_id=str(world.home.services[1].id))})
    assert answer.status_code == 303
    session.expire_all()
    stored = session.get(ImprovementAction, action_id)
    assert stored is not None
    assert (stored.due_on, stored.state, stored.service_id) == (
        date(2026, 3, 20), "in_progress", world.home.services[1].id)
    release(session)
    listing = client.get("/admin/actions")
    row = re.search(rf'<tr id="action-{action_id}" class="alert">(.*?)</tr>',
                    listing.get_data(as_text=True), re.S)
    assert row is not None and "overdue" in row.group(1) and "Kartu Keluarga" in row.group(1)
    # A refused edit changes nothing.
    page = client.get(url)
    refused = client.post(url, data={"csrf_token": csrf_token_of(page), **form_data(
        due_on="2026-01-01", what="Sesuatu yang lain")})
    assert refused.status_code == 400
    session.expire_all()
    assert session.get(ImprovementAction, action_id).what == "Tambah satu petugas di Loket 1"  # type: ignore[union-attr]


def test_a_post_without_a_valid_csrf_token_stores_nothing(app: Flask, session: Session,
                                                          world: World) -> None:
    client = signed_in(app, HEAD)
    answer = client.post(f"/admin/units/{world.home_unit}/actions/new",
                         data={"csrf_token": "forged", **form_data()})
    assert answer.status_code == 400
    assert action_count(session) == 0


def test_another_units_action_is_404_for_a_unit_head(app: Flask, session: Session,
                                                     world: World) -> None:
    action = create_action(session, world.other.unit, values(), user_id=None, now=NOW)
    action_id = action.id
    release(session)
    client = signed_in(app, HEAD)
    assert client.get(f"/admin/actions/{action_id}").status_code == 404
    page = client.get(f"/admin/units/{world.home_unit}/actions/new")
    edit = client.post(f"/admin/actions/{action_id}/edit",
                       data={"csrf_token": csrf_token_of(page), **form_data()})
    assert edit.status_code == 404
    assert client.get(f"/admin/units/{world.other_unit}/actions/new").status_code == 404
    assert "Tambah satu petugas" not in text(client.get("/admin/actions"))
    # The administrator reaches it; the other unit's head too.
    assert signed_in(app, ADMIN).get(f"/admin/actions/{action_id}").status_code == 200
    assert signed_in(app, OTHER_HEAD).get(f"/admin/actions/{action_id}").status_code == 200


def test_viewers_may_not_read_or_edit_actions(app: Flask, session: Session,
                                              world: World) -> None:
    action = create_action(session, world.home.unit, values(), user_id=None, now=NOW)
    action_id = action.id
    release(session)
    client = signed_in(app, VIEWER)
    for url in ("/admin/actions", f"/admin/actions/{action_id}",
                f"/admin/actions/{action_id}/edit",
                f"/admin/units/{world.home_unit}/actions/new"):
        assert client.get(url).status_code == 403


def test_the_back_office_navigation_lists_the_actions(app: Flask, world: World) -> None:
    page = signed_in(app, HEAD).get("/admin/")
    assert 'href="/admin/actions"' in page.get_data(as_text=True)
    assert "Improvement actions" in text(page)
