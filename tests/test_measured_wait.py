"""Measured waiting time: the arrival poster's signed cookie and the wait stored on submit."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from factories import (
    NIP,
    Clock,
    SeededUnit,
    form_tokens,
    freeze_public_clock,
    make_officer,
    make_other_unit,
    make_unit,
    put_on_duty,
    response_rows,
    survey_form,
)
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from app.feedback import measured_wait_minutes
from app.models.feedback import MAX_MEASURED_WAIT_MIN
from app.org import create_counter, live_token

WIB = ZoneInfo("Asia/Jakarta")
WIT = ZoneInfo("Asia/Jayapura")
ARRIVAL_COOKIE = "sw_arr"


def utc(hour: int, minute: int = 0, day: int = 5, second: int = 0) -> datetime:
    """An instant in January 2026, given in UTC (WIB is UTC+7)."""
    return datetime(2026, 1, day, hour, minute, second, tzinfo=UTC)


# The rule itself ------------------------------------------------------------------------------


@pytest.mark.parametrize(("arrival_unit", "arrived", "opened", "tz", "expected"), [
    (1, utc(2, 12), utc(2, 47), WIB, 35),
    (1, utc(2, 12), utc(2, 12), WIB, 0),
    (1, utc(2, 12, second=30), utc(2, 47, second=29), WIB, 34),  # whole minutes, rounded down
    (1, utc(0, 0), utc(8, 0), WIB, 480),  # exactly 8 hours is still a wait
    (1, utc(0, 0), utc(8, 1), WIB, None),  # beyond 8 hours
    (2, utc(2, 12), utc(2, 47), WIB, None),  # arrived at another unit
    (1, utc(2, 47), utc(2, 12), WIB, None),  # backwards in time
    (1, utc(16, 50), utc(17, 10), WIB, None),  # 23.50 → 00.10 WIB: across local midnight
    (1, utc(16, 59), utc(17, 1), WIB, None),  # the same UTC day, yet two local days
    (1, utc(23, 30, day=4), utc(0, 10), WIB, 40),  # two UTC days, one local day (06.30–07.10)
    (1, utc(14, 50), utc(15, 10), WIT, None),  # midnight is cut in the zone given (UTC+9)
    (1, utc(14, 50), utc(15, 10), WIB, 20),
])
def test_measured_wait_minutes(
    arrival_unit: int, arrived: datetime, opened: datetime, tz: ZoneInfo, expected: int | None
) -> None:
    assert measured_wait_minutes(arrival_unit, arrived, 1, opened, tz) == expected


def test_measured_wait_minutes_does_not_care_about_the_offsets_given() -> None:
    arrived = datetime(2026, 1, 5, 9, 12, tzinfo=timezone(timedelta(hours=7)))
    opened = utc(2, 47)
    assert measured_wait_minutes(3, arrived, 3, opened, WIB) == 35


def test_the_longest_measured_wait_is_eight_hours() -> None:
    assert MAX_MEASURED_WAIT_MIN == 8 * 60


# Through the pages -----------------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return freeze_public_clock(monkeypatch, utc(2, 0))


@dataclass
class World:
    home: SeededUnit
    other: SeededUnit


@pytest.fixture
def world(session: Session) -> World:
    home = make_unit(session)
    other = make_other_unit(session)
    officer = make_officer(session, home)
    put_on_duty(session, officer, home.counter, utc(4, 0), margin=timedelta(hours=4))
    return World(home, other)


def arrive(client: FlaskClient, clock: Clock, unit: SeededUnit, at: datetime,
           query: str = "") -> TestResponse:
    clock.now = at
    page = client.get(f"/a/{unit.unit.arrival_token}{query}")
    assert page.status_code == 200
    return page


def answer(client: FlaskClient, clock: Clock, token: str, opened: datetime,
           submitted: datetime | None = None) -> None:
    """Open the counter's survey at one instant and send it at another."""
    clock.now = opened
    page = client.get(f"/s/{token}")
    assert page.status_code == 200
    clock.now = submitted or opened + timedelta(minutes=1)
    assert client.post(f"/s/{token}", data=survey_form(page)).status_code == 303


def stored_waits(session: Session) -> list[int | None]:
    return [row.measured_wait_min for row in response_rows(session)]


def test_the_arrival_poster_shows_the_local_time_and_sets_a_signed_cookie(
    client: FlaskClient, clock: Clock, world: World
) -> None:
    page = arrive(client, clock, world.home, utc(2, 12))
    html = page.get_data(as_text=True)
    assert "Anda tercatat datang pukul 09.12" in html
    assert world.home.unit.name in html
    assert NIP not in html
    assert page.headers["Cache-Control"] == "no-store"
    set_cookie = page.headers["Set-Cookie"]
    assert set_cookie.startswith(f"{ARRIVAL_COOKIE}=")
    assert "HttpOnly" in set_cookie
    cookie = client.get_cookie(ARRIVAL_COOKIE)
    assert cookie is not None
    # Signed: the payload can be read but not changed; it holds only the unit and the time.
    payload = cookie.value.split(".")[0]
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert data == {"u": world.home.unit.id, "t": int(utc(2, 12).timestamp())}


def test_the_arrival_poster_speaks_english_on_request(
    client: FlaskClient, clock: Clock, world: World
) -> None:
    html = arrive(client, clock, world.home, utc(13, 5), "?lang=en").get_data(as_text=True)
    # Babel's English short time (CLDR puts a narrow no-break space before PM).
    assert re.search(r"You arrived at 8:05\sPM ", html)


def test_an_unknown_arrival_token_is_a_404_without_a_cookie(
    client: FlaskClient, clock: Clock, world: World
) -> None:
    page = client.get("/a/NoSuchArrivalToken")
    assert page.status_code == 404
    assert "Halaman tidak ditemukan" in page.get_data(as_text=True)
    assert client.get_cookie(ARRIVAL_COOKIE) is None


def test_a_counter_of_the_same_unit_stores_the_measured_wait(
    client: FlaskClient, session: Session, clock: Clock, world: World
) -> None:
    arrive(client, clock, world.home, utc(2, 12))
    # Sent later than it was opened: the wait ends when the citizen scans the counter's code.
    answer(client, clock, world.home.token, utc(2, 47), submitted=utc(2, 58))
    (row,) = response_rows(session)
    assert row.measured_wait_min == 35
    assert row.created_at == utc(2, 58)
    assert row.officer_id is not None


def test_any_counter_of_the_unit_counts(
    client: FlaskClient, session: Session, clock: Clock, world: World
) -> None:
    second = create_counter(session, world.home.unit, "L2", "Loket Dua")
    live = live_token(session, second)
    assert live is not None
    token = live.token
    session.commit()
    arrive(client, clock, world.home, utc(1, 0))
    answer(client, clock, token, utc(2, 30))
    assert stored_waits(session) == [90]


def test_no_arrival_scan_stores_no_measured_wait(
    client: FlaskClient, session: Session, clock: Clock, world: World
) -> None:
    answer(client, clock, world.home.token, utc(2, 47))
    assert stored_waits(session) == [None]


def test_a_counter_of_another_unit_stores_none(
    client: FlaskClient, session: Session, clock: Clock, world: World
) -> None:
    arrive(client, clock, world.other, utc(2, 12))
    answer(client, clock, world.home.token, utc(2, 47))
    assert stored_waits(session) == [None]


def test_a_tampered_cookie_stores_none(
    client: FlaskClient, session: Session, clock: Clock, world: World
) -> None:
    arrive(client, clock, world.home, utc(2, 12))
    cookie = client.get_cookie(ARRIVAL_COOKIE)
    assert cookie is not None
    # Claim an arrival three hours earlier, keeping the original signature.
    forged = base64.urlsafe_b64encode(json.dumps(
        {"u": world.home.unit.id, "t": int(utc(0, 0).timestamp())},
        separators=(",", ":")).encode()).decode().rstrip("=")
    _, stamp, signature = cookie.value.split(".")
    client.set_cookie(ARRIVAL_COOKIE, f"{forged}.{stamp}.{signature}")
    answer(client, clock, world.home.token, utc(2, 47))
    assert stored_waits(session) == [None]


def test_a_cookie_signed_with_another_key_stores_none(
    client: FlaskClient, session: Session, clock: Clock, world: World
) -> None:
    forged = URLSafeTimedSerializer("someone-elses-secret-key", salt="arrival").dumps(
        {"u": world.home.unit.id, "t": int(utc(2, 12).timestamp())})
    client.set_cookie(ARRIVAL_COOKIE, forged)
    answer(client, clock, world.home.token, utc(2, 47))
    assert stored_waits(session) == [None]


@pytest.mark.parametrize("garbage", ["", "not-a-cookie", "a.b.c", "\u00e9\u00e9"])
def test_a_garbled_cookie_stores_none(
    client: FlaskClient, session: Session, clock: Clock, world: World, garbage: str
) -> None:
    client.set_cookie(ARRIVAL_COOKIE, garbage)
    answer(client, clock, world.home.token, utc(2, 47))
    assert stored_waits(session) == [None]


def test_across_local_midnight_stores_none(
    client: FlaskClient, session: Session, clock: Clock, world: World
) -> None:
    arrive(client, clock, world.home, utc(16, 50))  # 23.50 WIB
    answer(client, clock, world.home.token, utc(17, 10))  # 00.10 WIB the next day
    assert stored_waits(session) == [None]


def test_beyond_eight_hours_stores_none(
    client: FlaskClient, session: Session, clock: Clock, world: World
) -> None:
    arrive(client, clock, world.home, utc(0, 0))  # 07.00 WIB
    answer(client, clock, world.home.token, utc(8, 1))  # 15.01 WIB
    assert stored_waits(session) == [None]


def test_exactly_eight_hours_is_stored(
    client: FlaskClient, session: Session, clock: Clock, world: World
) -> None:
    arrive(client, clock, world.home, utc(0, 0))
    answer(client, clock, world.home.token, utc(8, 0))
    assert stored_waits(session) == [480]


def test_a_survey_opened_before_the_arrival_stores_none(
    client: FlaskClient, session: Session, clock: Clock, world: World
) -> None:
    arrive(client, clock, world.home, utc(3, 0))
    answer(client, clock, world.home.token, utc(2, 47))
    assert stored_waits(session) == [None]


def test_a_later_arrival_scan_replaces_the_earlier_one(
    client: FlaskClient, session: Session, clock: Clock, world: World
) -> None:
    arrive(client, clock, world.home, utc(2, 0))
    arrive(client, clock, world.home, utc(2, 30))
    answer(client, clock, world.home.token, utc(2, 47))
    assert stored_waits(session) == [17]


def test_the_measured_wait_survives_a_validation_error(
    client: FlaskClient, session: Session, clock: Clock, world: World
) -> None:
    arrive(client, clock, world.home, utc(2, 12))
    clock.now = utc(2, 47)
    page = client.get(f"/s/{world.home.token}")
    clock.now = utc(2, 50)
    data = survey_form(page)
    del data["U6"]
    failed = client.post(f"/s/{world.home.token}", data=data, follow_redirects=True)
    assert [r.status_code for r in failed.history] == [303]  # back to the form (PRG)
    csrf, ticket = form_tokens(failed)
    clock.now = utc(2, 52)
    fixed = client.post(f"/s/{world.home.token}",
                        data={**data, "U6": "3", "csrf_token": csrf, "t": ticket})
    assert fixed.status_code == 303
    assert stored_waits(session) == [35]


def test_a_forged_ticket_cannot_claim_a_wait(
    client: FlaskClient, session: Session, clock: Clock, world: World
) -> None:
    clock.now = utc(2, 47)
    page = client.get(f"/s/{world.home.token}")
    forged = URLSafeTimedSerializer("someone-elses-secret-key", salt="ticket").dumps(
        {"c": world.home.counter.id, "r": "0" * 32, "w": 5})
    posted = client.post(f"/s/{world.home.token}", data=survey_form(page, t=forged))
    assert posted.status_code == 303
    (row,) = response_rows(session)
    assert row.measured_wait_min is None
    assert row.client_id.hex != "0" * 32


def test_a_ticket_of_another_counter_carries_no_wait(
    client: FlaskClient, session: Session, clock: Clock, world: World
) -> None:
    arrive(client, clock, world.other, utc(2, 12))
    clock.now = utc(2, 47)
    other_page = client.get(f"/s/{world.other.token}")  # its ticket says 35 minutes
    home_page = client.get(f"/s/{world.home.token}")
    _, other_ticket = form_tokens(other_page)
    posted = client.post(f"/s/{world.home.token}", data=survey_form(home_page, t=other_ticket))
    assert posted.status_code == 303
    assert stored_waits(session) == [None]


@pytest.mark.parametrize("token", ["A" * 15 + "%00", "%00", "%C3%A9" * 8])
def test_a_nul_byte_or_odd_characters_in_the_arrival_url_are_a_404_not_a_crash(
    client: FlaskClient, world: World, token: str,
) -> None:
    page = client.get(f"/a/{token}")
    # A NUL is refused before any lookup, for every path alike (tests/test_boundary.py).
    assert page.status_code == (400 if "%00" in token else 404)
    assert client.get_cookie(ARRIVAL_COOKIE) is None
