"""GET /api/v1/indicators: the CLI's rows, each user's scope, tokens and their command."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from factories import (
    NIP,
    OTHER_NIP,
    SeededUnit,
    aggregate,
    cached_password_hash,
    csrf_token,
    make_officer,
    make_other_unit,
    make_unit,
    make_user,
    put_on_duty,
    record,
    sign_in,
)
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from i18n_helpers import indonesian_words
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from app.api_tokens import create_api_token
from app.config import Settings
from app.db import Database
from app.indicators import indicator_rows
from app.models import ApiToken, ServedDay, User

URL = "/api/v1/indicators"
WIB = ZoneInfo("Asia/Jakarta")
WEEK_1 = date(2026, 3, 2)  # a Monday
WEEK_2 = date(2026, 3, 9)
FEBRUARY_DAY = date(2026, 2, 26)
NOW = datetime(2026, 3, 16, 3, 0, tzinfo=UTC)
THIRD_NIP = "197512312001121003"
OFFICER_MIN_N = 3
SCOPES = ("unit", "counter", "service", "officer")
PERIODS = ("day", "week", "month")
TOKEN_PATTERN = re.compile(r"^sw_[A-Za-z0-9_-]{43}$")


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A local (WIB) instant."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=WIB)


@pytest.fixture
def settings(settings: Settings, database_url: str) -> Settings:
    """A small officer minimum, so a few responses make an officer's row visible.

    (``database_url`` is named so that pytest still parametrizes the engines through this
    override.)
    """
    return settings.replace(officer_min_n=OFFICER_MIN_N)


@pytest.fixture(autouse=True)
def _cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    # scrypt costs 0.1 s per account; these tests are about scopes, not password hashing.
    monkeypatch.setattr("app.users.generate_password_hash", cached_password_hash)


@dataclass
class World:
    dukcapil: SeededUnit
    kecamatan: SeededUnit  # a sub-unit of dukcapil
    puskesmas: SeededUnit
    tokens: dict[str, str]  # user key -> bearer token


@pytest.fixture
def world(app: Flask, session: Session) -> World:
    """Three units (one a sub-unit), three officers, a month of responses, indicators, users."""
    dukcapil = make_unit(session)
    kecamatan = make_unit(session, "DUKCAPIL-KEC", "Disdukcapil — Layanan Kecamatan",
                          services=(("AKTA", "Akta Kelahiran"), ("PINDAH", "Surat Pindah")),
                          counter=("K1", "Loket Kecamatan"))
    kecamatan.unit.parent_id = dukcapil.unit.id
    session.commit()
    puskesmas = make_other_unit(session)
    ahmad = make_officer(session, dukcapil, NIP, "Ahmad Saputra")
    budi = make_officer(session, dukcapil, THIRD_NIP, "Budi Pratama")
    citra = make_officer(session, puskesmas, OTHER_NIP, "Citra Lestari")
    put_on_duty(session, ahmad, dukcapil.counter, at(WEEK_1, 9))  # 07.00-11.00
    put_on_duty(session, budi, dukcapil.counter, at(WEEK_1, 14))  # 12.00-16.00
    put_on_duty(session, citra, puskesmas.counter, at(WEEK_2, 9))
    for minute in (0, 30, 60, 90):  # Ahmad: four responses
        record(app, session, dukcapil.counter, at(WEEK_1, 8, 0) + timedelta(minutes=minute),
               scores=(4, 3, 4, 3, 4, 3, 4, 3, 4), service="KTP-REKAM")
    for hour in (13, 14):  # Budi: two, below the minimum
        record(app, session, dukcapil.counter, at(WEEK_1, hour), scores=(2,) * 9)
    record(app, session, dukcapil.counter, at(FEBRUARY_DAY, 10), service="KK")
    for day, hour in ((WEEK_1, 10), (WEEK_2, 10), (WEEK_2, 11)):
        record(app, session, kecamatan.counter, at(day, hour), scores=(3, 4) * 4 + (3,),
               service="AKTA")
    for minute in (0, 30, 60):
        record(app, session, puskesmas.counter, at(WEEK_2, 8) + timedelta(minutes=minute),
               scores=(1, 2, 3, 4, 1, 2, 3, 4, 1), service="GIGI", comment="Antre lama")
    aggregate(app, NOW)
    users = {
        "admin": make_user(session, "admin@suara.example.id", "admin"),
        "viewer": make_user(session, "viewer@suara.example.id", "viewer"),
        "head": make_user(session, "kepala.dukcapil@suara.example.id", "unit_head",
                          unit=dukcapil.unit),
        "subhead": make_user(session, "kepala.kec@suara.example.id", "unit_head",
                             unit=kecamatan.unit),
        "otherhead": make_user(session, "kepala.pkm@suara.example.id", "unit_head",
                               unit=puskesmas.unit),
        "ahmad": make_user(session, "ahmad@suara.example.id", "officer", unit=dukcapil.unit,
                           officer=ahmad),
        "budi": make_user(session, "budi@suara.example.id", "officer", unit=dukcapil.unit,
                          officer=budi),
        "citra": make_user(session, "citra@suara.example.id", "officer", unit=puskesmas.unit,
                           officer=citra),
    }
    # Ten years: valid on the real clock the API reads, long after the seed's NOW.
    tokens = {key: create_api_token(session, user, "test", now=NOW, days=3650)
              for key, user in users.items()}
    session.commit()
    return World(dukcapil, kecamatan, puskesmas, tokens)


def api(client: FlaskClient, token: str | None, headers: dict[str, str] | None = None, /,
        **params: str) -> TestResponse:
    """GET the indicators with a bearer token (None: without one)."""
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    return client.get(URL, query_string={k.rstrip("_"): v for k, v in params.items()},
                      headers=sent)


def rows_as(client: FlaskClient, world: World, user: str, **params: str) -> list[dict[str, Any]]:
    response = api(client, world.tokens[user], **params)
    assert response.status_code == 200, response.get_json()
    rows: list[dict[str, Any]] = response.get_json()["rows"]
    return rows


def cli_rows(runner: FlaskCliRunner, *args: str) -> list[dict[str, Any]]:
    result = runner.invoke(args=["indicators", *args, "--json"])
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def units_of(rows: list[dict[str, Any]]) -> set[str]:
    return {row["unit"] for row in rows}


def db(app: Flask) -> Database:
    database: Database = app.extensions["suara.db"]
    return database


# The same rows as the CLI ---------------------------------------------------------------------


@pytest.mark.parametrize("scope", ["unit", "counter", "service"])
def test_rows_are_the_clis_json_rows_for_every_period(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, world: World, scope: str
) -> None:
    for period in PERIODS:
        expected = cli_rows(runner, "--scope", scope, "--period", period)
        assert expected, f"the seed should give {scope}/{period} rows"
        # The CLI speaks the regulation's Indonesian category labels; so does ?lang=id.
        body = api(client, world.tokens["admin"], scope=scope, period=period,
                   lang="id").get_json()
        assert body["rows"] == expected
        with db(app).session_scope(write=False) as session:
            every = indicator_rows(session, scope, period)
        # A counter's or a service's score is its officer's where one serves it: under the
        # minimum, withheld as an officer's.
        small = [row for row in every if row["n"] < OFFICER_MIN_N]
        assert body["withheld"] == (len(small) if scope in ("counter", "service") else 0)
        assert small or scope == "unit", "the seed should try the rule on counters, services"
        assert (body["scope"], body["period"], body["from"], body["to"], body["unit"]) == (
            scope, period, None, None, None)


def test_officer_rows_are_the_clis_and_both_withhold_those_under_the_minimum(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, world: World
) -> None:
    for period in PERIODS:
        with db(app).session_scope(write=False) as session:
            every = indicator_rows(session, "officer", period)
        body = api(client, world.tokens["admin"], scope="officer", period=period,
                   lang="id").get_json()
        assert body["rows"] == [row for row in every if row["n"] >= OFFICER_MIN_N]
        assert body["rows"] == cli_rows(runner, "--scope", "officer", "--period", period)
        assert body["withheld"] == len([row for row in every if row["n"] < OFFICER_MIN_N]) == 1
    assert {row["officer"] for row in body["rows"]} == {NIP, OTHER_NIP}


def test_from_and_to_select_the_same_periods_as_the_cli(
    client: FlaskClient, runner: FlaskCliRunner, world: World
) -> None:
    for first, last in (("2026-03-01", "2026-03-31"), ("2026-02-01", "2026-03-02"),
                        ("2026-03-09", "2026-03-09")):
        expected = cli_rows(runner, "--scope", "unit", "--period", "week",
                            "--from", first, "--to", last)
        body = api(client, world.tokens["admin"], scope="unit", period="week",
                   from_=first, to=last, lang="id").get_json()
        assert body["rows"] == expected
        assert (body["from"], body["to"]) == (first, last)
    only_from = api(client, world.tokens["admin"], scope="unit", period="day",
                    from_="2026-03-09", lang="id").get_json()["rows"]
    assert only_from == cli_rows(runner, "--scope", "unit", "--period", "day",
                                 "--from", "2026-03-09")
    assert {row["period_start"] for row in only_from} == {"2026-03-09"}


def test_a_units_month_says_whether_its_sample_is_adequate(
    client: FlaskClient, session: Session, world: World
) -> None:
    """PermenPANRB 14/2017: an IKM from fewer responses than the Krejcie-Morgan size is shown
    with a visible "sampel belum memenuhi"; the API's month rows carry it."""
    # The month's people served: the sum of its rows, a unit total carried over from the
    # monthly count and a counter's day.
    unit_id, counter_id = world.dukcapil.unit.id, world.dukcapil.counter.id
    session.add_all([
        # March is the weeks whose Thursday falls in it: Monday 2 to Sunday 29 March.
        ServedDay(unit_id=unit_id, counter_id=None, day=date(2026, 3, 2), served=4,
                  source="migrated", updated_at=NOW),
        ServedDay(unit_id=unit_id, counter_id=counter_id, day=date(2026, 3, 10), served=6,
                  updated_at=NOW),
        ServedDay(unit_id=unit_id, counter_id=counter_id, day=date(2026, 4, 1), served=900,
                  updated_at=NOW)])
    session.commit()
    rows = {(r["unit"], r["period_start"]): r for r in rows_as(
        client, world, "admin", scope="unit", period="month")}
    # Six responses in March against K-M(10) = 10.
    assert rows[("DUKCAPIL", "2026-03-01")]["n"] == 6
    assert rows[("DUKCAPIL", "2026-03-01")]["sample"] == {
        "served": 10, "required": 10, "adequate": False}
    assert rows[("PKM-KTB2", "2026-03-01")]["sample"] == {
        "served": None, "required": None, "adequate": None}
    session.execute(update(ServedDay).where(ServedDay.day == date(2026, 3, 10))
                    .values(served=2))
    session.commit()
    march = [r for r in rows_as(client, world, "admin", scope="unit", period="month")
             if r["unit"] == "DUKCAPIL" and r["period_start"] == "2026-03-01"]
    assert march[0]["sample"] == {"served": 6, "required": 6, "adequate": True}
    weeks = rows_as(client, world, "admin", scope="unit", period="week")
    assert weeks and all("sample" not in r for r in weeks)  # served counts are per month


# Each role's scope ------------------------------------------------------------------------------


def test_an_admin_and_a_viewer_see_every_unit(client: FlaskClient, world: World) -> None:
    everything = {"DUKCAPIL", "DUKCAPIL-KEC", "PKM-KTB2"}
    for scope in ("unit", "counter", "service"):
        assert units_of(rows_as(client, world, "admin", scope=scope, period="month")) \
            == everything
    assert units_of(rows_as(client, world, "viewer", scope="unit", period="month")) \
        == everything


def test_a_viewer_gets_unit_rows_only_from_the_minimum_number_of_responses(
    client: FlaskClient, world: World
) -> None:
    """A unit, or a day, served by one officer scores that officer: for a viewer, unit rows
    follow the officers' minimum (the admin sees them all)."""
    for period in ("week", "month"):
        everything = rows_as(client, world, "admin", scope="unit", period=period)
        answer = api(client, world.tokens["viewer"], scope="unit", period=period)
        shown = answer.get_json()["rows"]
        small = [r for r in everything if r["n"] < OFFICER_MIN_N]
        assert small, period  # the world has units and days with few responses
        assert shown == [r for r in everything if r["n"] >= OFFICER_MIN_N]
        assert answer.get_json()["withheld"] == len(small)


def test_a_viewer_is_refused_daily_rows(client: FlaskClient, world: World) -> None:
    """A week minus its published days gives back a withheld day exactly (four-decimal NRRs
    times n): a viewer reads weeks and months only."""
    response = api(client, world.tokens["viewer"], scope="unit", period="day")
    assert response.status_code == 403
    assert response.get_json() == {
        "error": "a viewer account can only read period=week or month: daily figures are "
                 "small enough to single out one officer"}
    assert rows_as(client, world, "admin", scope="unit", period="day")


@pytest.mark.parametrize("scope", ["counter", "service"])
def test_a_viewer_is_refused_counter_and_service_rows(
    client: FlaskClient, world: World, scope: str
) -> None:
    """Where one officer staffs a counter (or alone gives a service), its rows are that
    officer's scores, and the survey page names the officer on duty."""
    for unit in (None, "DUKCAPIL"):
        response = api(client, world.tokens["viewer"], scope=scope, period="week",
                       **({"unit": unit} if unit else {}))
        assert response.status_code == 403
        assert response.get_json() == {
            "error": "a viewer account can only read scope=unit: counter and service figures "
                     "can single out one officer, so they are only for unit heads and "
                     "administrators"}


def test_a_viewer_is_refused_per_officer_rows(client: FlaskClient, world: World) -> None:
    response = api(client, world.tokens["viewer"], scope="officer", period="week")
    assert response.status_code == 403
    assert response.get_json() == {"error": "per-officer data is only for that officer, "
                                            "their unit head and administrators"}
    assert NIP not in response.get_data(as_text=True)


def test_a_unit_head_sees_their_unit_and_its_sub_units_only(
    client: FlaskClient, world: World
) -> None:
    # Months: each unit's counter has OFFICER_MIN_N answers in March (fewer in a week).
    for scope in ("unit", "counter", "service"):
        assert units_of(rows_as(client, world, "head", scope=scope, period="month")) == {
            "DUKCAPIL", "DUKCAPIL-KEC"}
        assert units_of(rows_as(client, world, "subhead", scope=scope, period="month")) == {
            "DUKCAPIL-KEC"}
        assert units_of(rows_as(client, world, "otherhead", scope=scope, period="month")) == {
            "PKM-KTB2"}


def test_counter_rows_under_the_minimum_are_withheld_as_an_officers_are(
    client: FlaskClient, world: World
) -> None:
    """A counter's score is the officer's on duty there: its unit head, who sees officers
    scored only from OFFICER_MIN_N answers, gets no counter row with fewer."""
    body = api(client, world.tokens["head"], scope="counter", period="week").get_json()
    # L1: one February answer, six in the first March week; K1: one, then two.
    assert [(row["counter"], row["period_start"], row["n"]) for row in body["rows"]] == [
        ("L1", "2026-03-02", 6)]
    assert body["withheld"] == 3


def test_service_rows_under_the_minimum_are_withheld_as_a_counters_are(
    client: FlaskClient, world: World
) -> None:
    """A service one officer handled in a week scores that officer just as a counter does."""
    body = api(client, world.tokens["head"], scope="service", period="week").get_json()
    assert body["rows"], "no service row at all: the test data changed"
    assert all(row["n"] >= OFFICER_MIN_N for row in body["rows"])
    assert body["withheld"] > 0


def test_the_category_label_follows_the_language(client: FlaskClient, world: World) -> None:
    labels = {lang: {row["category_label"] for row in api(
        client, world.tokens["admin"], scope="unit", period="month", lang=lang
    ).get_json()["rows"] if row["category_label"]} for lang in ("id", "en")}
    english = {"Very good", "Good", "Poor", "Not good"}
    assert labels["en"] and labels["en"] <= english
    assert labels["id"] and not labels["id"] & english


def test_a_unit_head_sees_their_own_officers_only(client: FlaskClient, world: World) -> None:
    body = api(client, world.tokens["head"], scope="officer", period="week").get_json()
    assert {row["officer"] for row in body["rows"]} == {NIP}
    assert body["withheld"] == 1  # Budi, two responses
    other = rows_as(client, world, "otherhead", scope="officer", period="week")
    assert {row["officer"] for row in other} == {OTHER_NIP}
    assert rows_as(client, world, "subhead", scope="officer", period="week") == []


def test_unit_narrows_to_one_unit_within_the_scope(client: FlaskClient, world: World) -> None:
    rows = rows_as(client, world, "head", scope="unit", period="week", unit="DUKCAPIL-KEC")
    assert units_of(rows) == {"DUKCAPIL-KEC"}
    rows = rows_as(client, world, "admin", scope="counter", period="week", unit="PKM-KTB2")
    assert units_of(rows) == {"PKM-KTB2"}
    assert rows_as(client, world, "viewer", scope="unit", period="week", unit="DUKCAPIL") != []


@pytest.mark.parametrize(("user", "unit"), [
    ("head", "PKM-KTB2"), ("subhead", "DUKCAPIL"), ("otherhead", "DUKCAPIL-KEC"),
    ("ahmad", "PKM-KTB2"),
])
def test_a_unit_outside_the_scope_is_a_403_like_an_unknown_one(
    client: FlaskClient, world: World, user: str, unit: str
) -> None:
    scope = "officer" if user == "ahmad" else "unit"
    outside = api(client, world.tokens[user], scope=scope, period="week", unit=unit)
    unknown = api(client, world.tokens[user], scope=scope, period="week", unit="TIDAK-ADA")
    assert outside.status_code == unknown.status_code == 403
    assert outside.get_json() == unknown.get_json() == {
        "error": "this unit is outside your account's scope"}


def test_an_unknown_unit_is_a_422_for_those_who_see_every_unit(
    client: FlaskClient, world: World
) -> None:
    for user in ("admin", "viewer"):
        response = api(client, world.tokens[user], scope="unit", period="week", unit="NOPE")
        assert response.status_code == 422
        assert response.get_json() == {"errors": {"unit": "unknown unit code"}}


def test_an_officer_sees_only_their_own_rows(client: FlaskClient, world: World) -> None:
    for user, nip in (("ahmad", NIP), ("citra", OTHER_NIP)):
        for period in PERIODS:
            rows = rows_as(client, world, user, scope="officer", period=period)
            assert rows and {row["officer"] for row in rows} == {nip}
    own_unit = rows_as(client, world, "ahmad", scope="officer", period="week", unit="DUKCAPIL")
    assert {row["officer"] for row in own_unit} == {NIP}


def test_an_officer_under_the_minimum_sees_no_scores_of_their_own(
    client: FlaskClient, world: World
) -> None:
    body = api(client, world.tokens["budi"], scope="officer", period="week").get_json()
    assert body["rows"] == []
    assert body["withheld"] == 1


@pytest.mark.parametrize("scope", ["unit", "counter", "service"])
def test_an_officer_is_refused_every_other_scope(
    client: FlaskClient, world: World, scope: str
) -> None:
    response = api(client, world.tokens["ahmad"], scope=scope, period="week")
    assert response.status_code == 403
    assert response.get_json() == {
        "error": "an officer account can only read scope=officer (its own rows)"}


def test_refusals_speak_indonesian_when_asked(client: FlaskClient, world: World) -> None:
    response = api(client, world.tokens["viewer"], {"Accept-Language": "id-ID,id;q=0.9"},
                   scope="officer", period="week")
    assert response.status_code == 403
    assert response.get_json() == {
        "error": "data per petugas hanya untuk petugas itu, kepala unitnya, dan admin"}


# Authentication ------------------------------------------------------------------------------


def test_anonymous_is_a_json_401_not_a_redirect(client: FlaskClient, world: World) -> None:
    response = api(client, None, scope="unit", period="week")
    assert response.status_code == 401
    assert response.mimetype == "application/json"
    assert "Location" not in response.headers
    assert response.get_json() == {
        "error": "sign in first or send an Authorization: Bearer <token> header"}
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="suara-warga"'


def test_anonymous_gets_a_401_even_with_invalid_parameters(
    client: FlaskClient, world: World
) -> None:
    assert api(client, None, scope="nope").status_code == 401


@pytest.mark.parametrize("token", ["sw_" + "x" * 43, "not-a-token", "sw_", "sw_" + "a" * 200,
                                   "sw_\u0000abc"])
def test_an_unknown_token_is_a_401(client: FlaskClient, world: World, token: str) -> None:
    response = api(client, token, scope="unit", period="week")
    assert response.status_code == 401
    assert response.get_json() == {
        "error": "the token is unknown, revoked or expired, or its account is inactive"}
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_a_signed_in_session_reads_the_api_too(client: FlaskClient, world: World) -> None:
    assert sign_in(client, "kepala.dukcapil@suara.example.id").status_code == 303
    response = client.get(URL, query_string={"scope": "unit", "period": "week"})
    assert response.status_code == 200
    assert units_of(response.get_json()["rows"]) == {"DUKCAPIL", "DUKCAPIL-KEC"}
    client.post("/keluar", data={"csrf_token": csrf_token(client)})
    assert client.get(URL, query_string={"scope": "unit", "period": "week"}).status_code == 401


def test_a_bearer_get_passes_csrf_protection_and_sets_no_cookie(
    app: Flask, client: FlaskClient, world: World
) -> None:
    assert app.config.get("WTF_CSRF_ENABLED", True) is True
    assert "csrf" in app.extensions
    response = api(client, world.tokens["head"], scope="unit", period="week")
    assert response.status_code == 200
    # A cookie here would let the token's holder browse the dashboard without the token.
    assert "Set-Cookie" not in response.headers
    assert client.get("/dashboard/units").status_code == 302


def test_a_token_does_not_open_staff_pages(client: FlaskClient, world: World) -> None:
    response = client.get("/dashboard/units",
                          headers={"Authorization": f"Bearer {world.tokens['admin']}"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/masuk")


def test_a_deactivated_users_token_stops_working(
    app: Flask, client: FlaskClient, world: World
) -> None:
    with db(app).session_scope() as session:
        user = session.scalars(select(User).where(User.email == "viewer@suara.example.id")).one()
        user.active = False
    assert api(client, world.tokens["viewer"], scope="unit", period="week").status_code == 401


def _last_used(app: Flask, token: str) -> datetime | None:
    with db(app).session_scope(write=False) as session:
        digest = hashlib.sha256(token.encode()).hexdigest()
        return session.scalars(select(ApiToken.last_used_at)
                               .where(ApiToken.token_hash == digest)).one()


def test_a_tokens_last_use_is_recorded(app: Flask, client: FlaskClient, world: World) -> None:
    assert _last_used(app, world.tokens["admin"]) is None
    before = datetime.now(UTC)
    assert api(client, world.tokens["admin"], scope="unit", period="week").status_code == 200
    used = _last_used(app, world.tokens["admin"])
    assert used is not None and before - timedelta(seconds=1) <= used <= datetime.now(UTC)
    assert _last_used(app, world.tokens["viewer"]) is None


def test_responses_are_not_cached_and_vary_by_credentials(
    client: FlaskClient, world: World
) -> None:
    response = api(client, world.tokens["admin"], scope="unit", period="week")
    assert response.headers["Cache-Control"] == "private, no-store"
    assert {"Authorization", "Cookie"} <= set(response.vary)


def test_other_methods_are_a_json_405(client: FlaskClient, world: World) -> None:
    response = client.post(URL, headers={"Authorization": f"Bearer {world.tokens['admin']}"})
    assert response.status_code == 405
    assert response.mimetype == "application/json"


# Parameters ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("params", "errors"), [
    ({}, {"scope": "required", "period": "required"}),
    ({"scope": "", "period": ""}, {"scope": "required", "period": "required"}),
    ({"scope": "unit"}, {"period": "required"}),
    ({"scope": "year", "period": "week"},
     {"scope": "must be one of: unit, counter, service, officer"}),
    ({"scope": "UNIT", "period": "week"},
     {"scope": "must be one of: unit, counter, service, officer"}),
    ({"scope": "unit", "period": "decade"},
     {"period": "must be one of: day, week, month, quarter, semester, year"}),
    ({"scope": "unit", "period": "week", "from": "2026-3-1"},
     {"from": "must be a date YYYY-MM-DD, e.g. 2026-11-30"}),
    ({"scope": "unit", "period": "week", "from": "20260301"},
     {"from": "must be a date YYYY-MM-DD, e.g. 2026-11-30"}),
    ({"scope": "unit", "period": "week", "to": "2026-02-30"},
     {"to": "must be a date YYYY-MM-DD, e.g. 2026-11-30"}),
    ({"scope": "unit", "period": "week", "from": "\u0662\u0660\u0662\u0666-03-01"},
     {"from": "must be a date YYYY-MM-DD, e.g. 2026-11-30"}),
    ({"scope": "unit", "period": "week", "from": "2026-03-10", "to": "2026-03-01"},
     {"to": "must not be before 'from'"}),
    ({"scope": "unit", "period": "week", "officer": "1"},
     {"officer": "unknown parameter; known ones: scope, period, from, to, unit, lang"}),
    ({"scope": "unit", "period": "week", "unit": "X" * 33}, {"unit": "unknown unit code"}),
])
def test_invalid_parameters_are_a_422_naming_each_one(
    client: FlaskClient, world: World, params: dict[str, str], errors: dict[str, str]
) -> None:
    response = client.get(URL, query_string=params,
                          headers={"Authorization": f"Bearer {world.tokens['admin']}"})
    assert response.status_code == 422
    assert response.get_json() == {"errors": errors}


def test_a_repeated_parameter_is_refused_not_guessed(client: FlaskClient, world: World) -> None:
    response = client.get(f"{URL}?scope=unit&scope=officer&period=week&from=x&from=2026-03-01",
                          headers={"Authorization": f"Bearer {world.tokens['viewer']}"})
    assert response.status_code == 422
    assert response.get_json() == {"errors": {"scope": "may be given only once",
                                              "from": "may be given only once"}}


def test_parameter_messages_speak_indonesian_when_asked(
    client: FlaskClient, world: World
) -> None:
    response = api(client, world.tokens["admin"], {"Accept-Language": "id"}, scope="unit",
                   from_="kemarin")
    assert response.status_code == 422
    assert response.get_json() == {"errors": {
        "period": "wajib diisi", "from": "harus berupa tanggal YYYY-MM-DD, mis. 2026-11-30"}}


def test_parameters_are_checked_before_the_role(client: FlaskClient, world: World) -> None:
    response = api(client, world.tokens["ahmad"], scope="unit", period="decade")
    assert response.status_code == 422
    assert response.get_json() == {"errors": {
        "period": "must be one of: day, week, month, quarter, semester, year"}}


# The tokens command --------------------------------------------------------------------------


def tokens_of(app: Flask, email: str) -> list[ApiToken]:
    with db(app).session_scope(write=False) as session:
        return list(session.scalars(select(ApiToken).join(User, User.id == ApiToken.user_id)
                                    .where(User.email == email).order_by(ApiToken.id)))


def test_tokens_create_prints_the_token_once_and_stores_only_its_hash(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, world: World
) -> None:
    result = runner.invoke(args=["tokens", "create", "--email", " Kepala.PKM@suara.example.id ",
                                 "--label", "spreadsheet Puskesmas"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert TOKEN_PATTERN.match(token), result.stdout
    assert "shown only this once" in result.stderr
    stored = tokens_of(app, "kepala.pkm@suara.example.id")[-1]
    assert stored.label == "spreadsheet Puskesmas"
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (stored.token_hash, stored.label)
    response = api(client, token, scope="unit", period="week")
    assert response.status_code == 200
    assert units_of(response.get_json()["rows"]) == {"PKM-KTB2"}


def test_tokens_create_refuses_an_unknown_or_deactivated_user(
    app: Flask, runner: FlaskCliRunner, world: World, session: Session
) -> None:
    result = runner.invoke(args=["tokens", "create", "--email", "nobody@suara.example.id"])
    assert result.exit_code == 1
    assert "no user with e-mail nobody@suara.example.id" in result.output
    make_user(session, "mantan@suara.example.id", "viewer", active=False)
    result = runner.invoke(args=["tokens", "create", "--email", "mantan@suara.example.id"])
    assert result.exit_code == 1
    assert "deactivated" in result.output
    assert tokens_of(app, "mantan@suara.example.id") == []


def test_tokens_revoke_stops_every_token_of_that_user_only(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, world: World
) -> None:
    created = [runner.invoke(args=["tokens", "create", "--email", "viewer@suara.example.id"]
                             ).stdout.strip() for _ in range(2)]
    for token in [*created, world.tokens["viewer"]]:
        assert api(client, token, scope="unit", period="week").status_code == 200
    result = runner.invoke(args=["tokens", "revoke", "--email", "viewer@suara.example.id"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "revoked 3 token(s) of viewer@suara.example.id"
    for token in [*created, world.tokens["viewer"]]:
        response = api(client, token, scope="unit", period="week")
        assert response.status_code == 401
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert all(row.revoked_at is not None for row in tokens_of(app, "viewer@suara.example.id"))
    assert api(client, world.tokens["admin"], scope="unit", period="week").status_code == 200
    again = runner.invoke(args=["tokens", "revoke", "--email", "viewer@suara.example.id"])
    assert again.stdout.strip() == "revoked 0 token(s) of viewer@suara.example.id"


def test_tokens_revoke_of_an_unknown_user_fails(runner: FlaskCliRunner, world: World) -> None:
    result = runner.invoke(args=["tokens", "revoke", "--email", "nobody@suara.example.id"])
    assert result.exit_code == 1
    assert "no user with e-mail" in result.output


# The language of every message ---------------------------------------------------------------

# (user whose token is sent, or None, or a token; parameters; the status they get)
REFUSALS: list[tuple[str | None, dict[str, str], int]] = [
    (None, {"scope": "unit", "period": "week"}, 401),
    ("sw_" + "x" * 43, {"scope": "unit", "period": "week"}, 401),
    ("ahmad", {"scope": "unit", "period": "week"}, 403),
    ("viewer", {"scope": "officer", "period": "week"}, 403),
    ("viewer", {"scope": "counter", "period": "week"}, 403),
    ("viewer", {"scope": "unit", "period": "day"}, 403),
    ("head", {"scope": "unit", "period": "week", "unit": "PKM-KTB2"}, 403),
    ("admin", {}, 422),
    ("admin", {"scope": "year", "period": "year", "officer": "1"}, 422),
    ("admin", {"scope": "unit", "period": "week", "from": "2026-3-1", "unit": "X" * 33}, 422),
    ("admin", {"scope": "unit", "period": "week", "from": "2026-03-10", "to": "2026-03-01"},
     422),
    ("admin", {"scope": "unit", "period": "week", "unit": "NOPE"}, 422),
]


def test_every_refusal_is_english_with_lang_en_and_indonesian_with_lang_id(
    client: FlaskClient, world: World
) -> None:
    repeated = {"scope": ["unit", "unit"], "period": ["week"]}
    cases = [(world.tokens.get(user, user) if user else None, params, status)
             for user, params, status in REFUSALS]
    cases.append((world.tokens["admin"], repeated, 422))
    for token, params, status in cases:
        answers = {lang: client.get(URL, query_string={**params, "lang": lang}, headers={
            "Authorization": f"Bearer {token}"} if token else {}) for lang in ("en", "id")}
        assert answers["en"].status_code == answers["id"].status_code == status, params
        english, indonesian = (answers[lang].get_json() for lang in ("en", "id"))
        pairs = [(english["error"], indonesian["error"])] if "error" in english \
            else [(english["errors"][key], indonesian["errors"][key])
                  for key in english["errors"]]
        for in_english, in_indonesian in pairs:
            assert indonesian_words(in_english) == [], in_english
            assert in_indonesian != in_english
            assert indonesian_words(in_indonesian) != [], in_indonesian
