"""The staff pages in English: sign-in, unit list, officer pages, staff errors, the served
form's messages; the language switch keeps the page; the choice is remembered."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pytest
from factories import (
    NIP,
    WIB_ZONE,
    SeededUnit,
    add_response,
    aggregate,
    csrf_token_of,
    make_officer,
    make_unit,
    make_user,
    put_on_duty,
    release,
    sign_in,
    skm_survey,
)
from flask import Flask
from flask.testing import FlaskClient
from i18n_helpers import assert_no_indonesian, indonesian_words, visible_text
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from app.models import Officer

WEEK = date(2026, 11, 16)  # Monday; the last complete week on CLOCK
CLOCK = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
COMMENT = "Petugas kurang ramah, antre lama."
# Data, not messages: the unit, its counter and services, the officer and a citizen's words.
NAMES = ["Disdukcapil Lampung Utara", "Loket Satu Perekaman", "KTP-el — Perekaman",
         "Kartu Keluarga", "Ahmad Saputra", "Petugas Pelayanan", COMMENT, "DUKCAPIL",
         "petugas@contoh.go.id", "pemantau@contoh.go.id", "kepala@contoh.go.id"]


@dataclass
class World:
    home: SeededUnit
    officer: Officer


@pytest.fixture
def world(app: Flask, session: Session, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setattr("app.web.dashboard.utcnow", lambda: CLOCK)
    home = make_unit(session)
    officer = make_officer(session, home)
    put_on_duty(session, officer, home.counter, datetime.combine(WEEK, time(12), WIB_ZONE),
                margin=timedelta(days=5))
    survey = skm_survey(app)
    for minute in range(11):  # enough responses for the officer's scores to be shown
        add_response(session, survey, home.counter, (3,) * 9,
                     datetime.combine(WEEK, time(8, minute), WIB_ZONE))
    add_response(session, survey, home.counter, (1,) * 9,
                 datetime.combine(WEEK, time(9), WIB_ZONE), comment=COMMENT)
    session.commit()
    aggregate(app, CLOCK - timedelta(days=1))
    make_user(session, "admin@contoh.go.id", "admin")
    make_user(session, "pemantau@contoh.go.id", "viewer")
    make_user(session, "kepala@contoh.go.id", "unit_head", unit=home.unit)
    make_user(session, "petugas@contoh.go.id", "officer", unit=home.unit, officer=officer)
    release(session)
    return World(home, officer)


def english_client(app: Flask, email: str | None = None) -> FlaskClient:
    """A browser that chose English once (?lang=en, remembered in the cookie), signed in."""
    client = app.test_client()
    assert client.get("/masuk?lang=en").status_code == 200
    if email is not None:
        answer = sign_in(client, email)
        assert answer.status_code == 303, answer.status_code
    return client


def html(page: TestResponse) -> str:
    return page.get_data(as_text=True)


# The sign-in page -----------------------------------------------------------------------------


def test_the_sign_in_page_and_its_errors_are_in_english(app: Flask, world: World) -> None:
    client = english_client(app)
    page = client.get("/masuk?lang=en")
    assert 'lang="en"' in html(page) and "Sign in" in html(page)
    assert_no_indonesian(html(page))
    token = csrf_token_of(page)
    wrong = client.post("/masuk?lang=en", data={"csrf_token": token,
                                                 "email": "admin@contoh.go.id",
                                                 "password": "not the password"})
    assert wrong.status_code == 401 and "Wrong e-mail or password." in html(wrong)
    assert_no_indonesian(html(wrong), NAMES)
    empty = client.post("/masuk?lang=en", data={"csrf_token": token, "email": "",
                                                 "password": ""})
    assert empty.status_code == 400
    assert "Enter your account's e-mail address." in visible_text(html(empty))
    assert "Enter the password." in html(empty)
    assert_no_indonesian(html(empty), NAMES)
    too_long = client.post("/masuk?lang=en", data={"csrf_token": token, "email": "a@b.id",
                                                    "password": "x" * 201})
    assert "A password has at most 200 characters." in html(too_long)
    assert_no_indonesian(html(too_long), NAMES)


def test_the_sign_in_page_stays_indonesian_by_default(app: Flask, world: World) -> None:
    client = app.test_client()
    page = html(client.get("/masuk"))
    assert "Masuk — petugas dan pimpinan unit" in page and "Kata sandi" in page
    wrong = client.post("/masuk", data={"csrf_token": csrf_token_of(client.get("/masuk")),
                                        "email": "admin@contoh.go.id", "password": "salah"})
    assert "Email atau kata sandi salah." in html(wrong)


def test_a_page_behind_sign_in_asks_to_sign_in_in_english(app: Flask, world: World) -> None:
    client = english_client(app)
    answer = client.get("/dashboard/units")
    assert answer.status_code == 302
    page = html(client.get(answer.headers["Location"]))
    assert "Please sign in to open this page." in page
    assert_no_indonesian(page)


# Signed-in pages -------------------------------------------------------------------------------


@pytest.mark.parametrize(("email", "role"), [("admin@contoh.go.id", "Administrator"),
                                             ("pemantau@contoh.go.id", "Viewer")])
def test_the_unit_list_is_in_english(app: Flask, world: World, email: str, role: str) -> None:
    client = english_client(app, email)
    page = client.get(f"/dashboard/units?week={WEEK.isoformat()}")
    body = html(page)
    assert page.status_code == 200 and f"{email} · {role}" in body
    assert "Service units" in body and "Disdukcapil Lampung Utara" in body
    assert "Poor" in body  # the unit's quality category (IKM 70.83: C), in English
    assert_no_indonesian(body, NAMES)


@pytest.mark.parametrize(("email", "path"), [
    ("admin@contoh.go.id", "/dashboard/officers/{id}"),
    ("petugas@contoh.go.id", "/dashboard/me"),
])
def test_an_officer_page_with_enough_responses_is_in_english(
    app: Flask, world: World, email: str, path: str
) -> None:
    client = english_client(app, email)
    page = client.get(path.format(id=world.officer.id) + f"?week={WEEK.isoformat()}")
    body = html(page)
    assert page.status_code == 200
    assert "Adjusted score" in body and "95% interval:" in body and COMMENT in body
    assert "Citizens' feedback" in visible_text(body) and NIP in body
    assert_no_indonesian(body, NAMES)


def test_an_officer_page_without_enough_responses_is_in_english(
    app: Flask, world: World
) -> None:
    client = english_client(app, "petugas@contoh.go.id")
    body = html(client.get("/dashboard/me?week=2026-11-09"))
    assert "not enough data" in body and "Scores are shown from 10 responses in a week." in body
    assert_no_indonesian(body, NAMES)


# Errors ----------------------------------------------------------------------------------------


def test_staff_error_pages_are_in_english(app: Flask, world: World) -> None:
    officer = english_client(app, "petugas@contoh.go.id")
    pages = {
        404: officer.get("/dashboard/no-such-page"),
        403: officer.get("/dashboard/units"),  # an officer sees their own page only
        405: officer.get("/keluar"),
    }
    for status, page in pages.items():
        assert page.status_code == status
        assert "Back to the overview" in html(page)
        assert_no_indonesian(html(page), NAMES)
    assert "Page not available" in html(pages[404]) and "Page not available" in html(pages[403])
    assert "Use the buttons and links on the page." in html(pages[405])
    refused = html(officer.post("/keluar", data={"csrf_token": "stale"}))
    assert "Form expired" in refused
    assert_no_indonesian(refused, NAMES)
    for bad, words in (("2026-02-30", "The date 2026-02-30 is not in the calendar."),
                       ("kemarin", "Write the week as a date YYYY-MM-DD"),
                       ("0001-01-01", "The year must be between")):
        page = officer.get(f"/dashboard/me?week={bad}")
        assert page.status_code == 400 and words in html(page)
        assert_no_indonesian(html(page).replace(bad, ""), NAMES)
    future = officer.get("/dashboard/me?week=2027-03-01", follow_redirects=True)
    assert "has not come yet" in html(future)
    assert_no_indonesian(html(future), NAMES)


def test_the_served_grids_errors_are_in_english(app: Flask, world: World,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("app.web.admin.served.utcnow", lambda: CLOCK)
    client = english_client(app, "kepala@contoh.go.id")
    url = f"/admin/served?unit=DUKCAPIL&week={WEEK.isoformat()}"
    page = client.get(url)
    assert_no_indonesian(html(page), NAMES)
    counter = world.home.counter.id
    errors = []
    for served in ("-5", "12,5", "200.000", "1\u200b2", "3"):
        answer = client.post("/admin/served", data={
            "csrf_token": csrf_token_of(page), "unit": "DUKCAPIL", "week": WEEK.isoformat(),
            f"c{counter}_{WEEK:%Y%m%d}": served})
        assert answer.status_code == 400
        assert_no_indonesian(html(answer), NAMES)
        errors += re.findall(r'<p class="err" id="[\w-]+">(.*?)</p>', html(answer))
    text = visible_text(" ".join(errors)).replace("Loket Satu Perekaman", "")
    assert text.count("fewer than its 12 responses") == 1  # beside the cell changed only
    assert "The number of people served cannot be negative." in text
    assert "must be a whole number, for example 120." in text
    assert "at most 100,000 a day." in text
    assert "invisible or control character" in text
    assert "fewer than its 12 responses" in text
    assert not indonesian_words(text), text
    saved = client.post("/admin/served", data={
        "csrf_token": csrf_token_of(page), "unit": "DUKCAPIL", "week": WEEK.isoformat(),
        f"c{counter}_{WEEK:%Y%m%d}": "1.250"}, follow_redirects=True)
    assert "People served saved for the week of 16–22 November 2026: 1 change(s)." in html(saved)


def test_the_indonesian_staff_pages_are_caught_by_the_same_check(
    app: Flask, world: World
) -> None:
    """The check can fail: the same pages in Bahasa Indonesia are full of Indonesian."""
    client = app.test_client()
    sign_in(client, "admin@contoh.go.id", query="?lang=id")
    for path in ("/masuk", "/dashboard/units", f"/dashboard/officers/{world.officer.id}",
                 "/dashboard/no-such-page"):
        body = html(client.get(f"{path}?week={WEEK.isoformat()}"))
        assert indonesian_words(visible_text(body), NAMES), path
        with pytest.raises(AssertionError, match="Indonesian words"):
            assert_no_indonesian(body, NAMES)


# The language switch ---------------------------------------------------------------------------


def test_the_language_switch_keeps_the_page_and_the_cookie_remembers_it(
    app: Flask, world: World
) -> None:
    client = app.test_client()
    sign_in(client, "admin@contoh.go.id")
    path = f"/dashboard/officers/{world.officer.id}?week={WEEK.isoformat()}"
    indonesian = html(client.get(path))
    link = re.search(r'<a class="lang" href="([^"]+)" lang="en"[^>]*>English</a>', indonesian)
    assert link is not None, "no switch to English"
    target = link.group(1).replace("&amp;", "&")
    assert target == f"/dashboard/officers/{world.officer.id}?week=2026-11-16&lang=en"
    english = html(client.get(target))
    assert "Adjusted score" in english and '<html lang="en">' in english
    back = re.search(r'<a class="lang" href="([^"]+)" lang="id"[^>]*>Bahasa Indonesia</a>',
                     english)
    assert back is not None and back.group(1).replace("&amp;", "&") == (
        f"/dashboard/officers/{world.officer.id}?week=2026-11-16&lang=id")
    # Remembered: the next page without ?lang= is English too, until Indonesian is chosen.
    assert "Service units" in html(client.get("/dashboard/units"))
    assert "Unit layanan" in html(client.get("/dashboard/units?lang=id"))
    assert "Unit layanan" in html(client.get("/dashboard/units"))


def test_the_switch_replaces_an_earlier_choice_in_the_query(app: Flask, world: World) -> None:
    client = english_client(app)
    page = html(client.get("/masuk?next=%2Fdashboard%2Funits&lang=en"))
    assert 'href="/masuk?next=%2Fdashboard%2Funits&amp;lang=id"' in page
