"""The citizen survey behind the QR code: the page, the real form with CSRF, and stored rows."""

from __future__ import annotations

import gzip
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

import pytest
from factories import (
    NIP,
    OTHER_NIP,
    SCORES,
    Clock,
    SeededUnit,
    form_tokens,
    freeze_public_clock,
    make_officer,
    make_other_unit,
    make_unit,
    open_and_submit,
    post_chunked,
    put_on_duty,
    release,
    response_count,
    response_rows,
    survey_form,
)
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from app import create_app
from app.config import Settings
from app.db import utcnow
from app.models import Counter, DailySalt, Officer, Response
from app.org import assign_officer, issue_token
from app.privacy import salted_hash
from app.web.public import DRAFT_MAX_BYTES

PRIVACY_ID = "Anonim — kami tidak meminta nama atau NIK"
PRIVACY_EN = "Anonymous — we do not ask for your name or NIK"
CSRF_NOTICE_ID = "Halaman ini sudah terlalu lama terbuka"
CSRF_NOTICE_EN = "This page was open for too long"
WIB_OFFSET = timedelta(hours=7)


@dataclass
class World:
    home: SeededUnit
    other: SeededUnit
    officer: Officer


@pytest.fixture
def world(session: Session) -> World:
    """Disdukcapil (two services, Loket 1) with an officer, and a Puskesmas beside it."""
    home = make_unit(session)
    other = make_other_unit(session)
    officer = make_officer(session, home)
    return World(home, other, officer)


@pytest.fixture
def on_duty(session: Session, world: World) -> Officer:
    """The officer is on duty at Loket 1 for two hours either side of the real clock."""
    put_on_duty(session, world.officer, world.home.counter, utcnow())
    return world.officer


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Freeze the citizen pages' clock at Monday 5 January 2026, 09.00 WIB."""
    return freeze_public_clock(monkeypatch, datetime(2026, 1, 5, 2, 0, tzinfo=UTC))


def html_of(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def post_back(client: FlaskClient, url: str, data: dict[str, str],
              **kwargs: object) -> TestResponse:
    """POST a form that has errors: Post/Redirect/Get sends the browser back to the form
    (303), which then shows the answers and their messages; returns that page. Answers too
    large for a cookie come back at once from the POST (422)."""
    posted = client.post(url, data=data, **kwargs)  # type: ignore[arg-type]
    if posted.status_code == 422:
        assert len(json.dumps(data)) > DRAFT_MAX_BYTES / 2
        return posted
    assert posted.status_code == 303, posted.status_code
    assert posted.headers["Location"] == url.split("?")[0]
    page = client.get(posted.headers["Location"], **kwargs)  # type: ignore[arg-type]
    assert page.status_code == 200
    return page


def fieldset(html: str, name: str) -> str:
    """The markup of one question's fieldset (where its message must appear)."""
    found = re.search(rf'<fieldset id="f-{re.escape(name)}"[^>]*>(.*?)</fieldset>', html, re.S)
    assert found is not None, f"no fieldset for {name}"
    return found.group(0)


def checked(html: str, name: str) -> list[str]:
    """Values of the checked radio buttons of one field."""
    return re.findall(rf'name="{re.escape(name)}" value="([^"]*)" checked', html)


def selected(html: str, select_name: str) -> list[str]:
    """Selected option values of one <select>."""
    found = re.search(rf'<select id="[^"]*" name="{re.escape(select_name)}">(.*?)</select>',
                      html, re.S)
    assert found is not None, f"no select {select_name}"
    return re.findall(r'<option value="([^"]*)"[^>]* selected[ >]', found.group(1))


# The QR token -------------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["ThisTokenDoesNotExist", "short", "x" * 40])
def test_an_unknown_token_gets_a_404_page_that_reveals_nothing(
    client: FlaskClient, world: World, token: str
) -> None:
    page = client.get(f"/s/{token}")
    html = html_of(page)
    assert page.status_code == 404
    assert "Halaman tidak ditemukan" in html
    assert world.home.unit.name not in html
    assert world.home.counter.name not in html
    assert 'name="csrf_token"' not in html


def test_a_revoked_token_gets_a_friendly_410_page_that_reveals_nothing(
    client: FlaskClient, session: Session, world: World, on_duty: Officer
) -> None:
    old = world.home.token
    issue_token(session, world.home.counter)
    session.commit()
    page = client.get(f"/s/{old}")
    html = html_of(page)
    assert page.status_code == 410
    assert "Kode ini sudah tidak berlaku" in html
    for secret in (world.home.unit.name, world.home.counter.name, on_duty.name, NIP):
        assert secret not in html
    assert 'name="csrf_token"' not in html
    english = client.get(f"/s/{old}?lang=en")
    assert english.status_code == 410 and "This code is no longer valid" in html_of(english)
    assert world.home.counter.name not in html_of(english)
    unknown = client.get("/s/ThisTokenDoesNotExist?lang=en")
    assert unknown.status_code == 404 and "Page not found" in html_of(unknown)


def test_a_form_opened_before_the_token_was_revoked_stores_nothing(
    client: FlaskClient, session: Session, world: World
) -> None:
    page = client.get(f"/s/{world.home.token}")
    issue_token(session, world.home.counter)
    session.commit()
    posted = client.post(f"/s/{world.home.token}", data=survey_form(page))
    assert posted.status_code == 410
    assert "Kode ini sudah tidak berlaku" in html_of(posted)
    assert response_count(session) == 0


def test_the_new_token_works_after_a_revocation(
    client: FlaskClient, session: Session, world: World
) -> None:
    new = issue_token(session, world.home.counter).token
    session.commit()
    assert client.get(f"/s/{new}").status_code == 200
    posted = open_and_submit(client, new)
    assert posted.status_code == 303
    assert [r.counter_id for r in response_rows(session)] == [world.home.counter.id]


def test_an_inactive_counter_answers_like_a_revoked_token(
    client: FlaskClient, session: Session, world: World
) -> None:
    session.execute(update(Counter).where(Counter.id == world.home.counter.id)
                    .values(active=False))
    session.commit()
    page = client.get(f"/s/{world.home.token}")
    assert page.status_code == 410
    assert world.home.counter.name not in html_of(page)


# The page -------------------------------------------------------------------------------------


def test_the_page_names_unit_counter_and_officer_but_never_the_nip(
    client: FlaskClient, world: World, on_duty: Officer
) -> None:
    page = client.get(f"/s/{world.home.token}")
    html = html_of(page)
    assert page.status_code == 200
    assert world.home.unit.name in html
    assert world.home.counter.name in html
    assert f"Petugas yang melayani: {on_duty.name}" in html
    assert NIP not in html
    assert page.headers["Cache-Control"] == "no-store"


def test_without_an_officer_on_duty_no_officer_line_is_shown(
    client: FlaskClient, world: World
) -> None:
    html = html_of(client.get(f"/s/{world.home.token}"))
    assert "Petugas yang melayani" not in html
    assert world.officer.name not in html


def test_the_page_has_nine_questions_u1_to_u9_with_four_answers_each(
    client: FlaskClient, world: World
) -> None:
    html = html_of(client.get(f"/s/{world.home.token}"))
    radios = re.findall(r'<input type="radio" name="(U\d+)" value="([^"]*)"', html)
    codes = list(dict.fromkeys(code for code, _ in radios))
    assert codes == [f"U{i}" for i in range(1, 10)]
    for code in codes:
        assert [v for c, v in radios if c == code] == ["1", "2", "3", "4"]
    assert checked(html, "U1") == []  # nothing is pre-answered for the citizen
    # Indonesian wording of the regulation by default.
    assert "kesesuaian persyaratan pelayanan" in html
    assert "Sangat sesuai" in html


def test_the_page_offers_the_waiting_bands_and_only_this_units_services(
    client: FlaskClient, world: World
) -> None:
    html = html_of(client.get(f"/s/{world.home.token}"))
    bands = re.findall(r'name="wait_band" value="([^"]*)"', html)
    assert bands == ["lt5", "5-15", "15-30", "30-60", "60-120", "gt120", ""]
    service_select = re.search(r'<select id="service" name="service">(.*?)</select>', html, re.S)
    assert service_select is not None
    offered = re.findall(r'<option value="([^"]*)"', service_select.group(1))
    assert offered == ["", "KK", "KTP-REKAM"]
    assert "GIGI" not in html and "Poli Gigi" not in html
    # The counter's default service is preselected.
    assert selected(html, "service") == ["KTP-REKAM"]


def test_the_page_has_a_bounded_comment_a_folded_profile_and_the_privacy_line(
    client: FlaskClient, world: World
) -> None:
    html = html_of(client.get(f"/s/{world.home.token}"))
    assert re.search(r'<textarea id="comment" name="comment"[^>]* maxlength="1000"', html)
    details = re.search(r"<details>(.*?)</details>", html, re.S)
    assert details is not None, "the profile is not folded in a closed <details>"
    for name in ("profile.sex", "profile.age_band", "profile.education", "profile.occupation"):
        assert f'name="{name}"' in details.group(1)
    assert PRIVACY_ID in html
    assert '<html lang="id">' in html
    assert 'name="website"' in html  # the honeypot exists


def test_lang_en_switches_to_english_and_a_cookie_remembers_it(
    client: FlaskClient, world: World
) -> None:
    english = client.get(f"/s/{world.home.token}?lang=en")
    html = html_of(english)
    assert '<html lang="en">' in html
    assert PRIVACY_EN in html
    assert "how well the service requirements match" in html
    assert PRIVACY_ID not in html
    cookie = client.get_cookie("lang")
    assert cookie is not None and cookie.value == "en"

    remembered = html_of(client.get(f"/s/{world.home.token}"))
    assert PRIVACY_EN in remembered

    back = html_of(client.get(f"/s/{world.home.token}?lang=id"))
    assert PRIVACY_ID in back
    assert PRIVACY_ID in html_of(client.get(f"/s/{world.home.token}"))


def test_names_stay_marked_indonesian_on_the_english_page(
    client: FlaskClient, world: World
) -> None:
    """A screen reader reads unit, counter and service names, which are Indonesian, as such."""
    english = html_of(client.get(f"/s/{world.home.token}?lang=en"))
    assert f'<p lang="id">{world.home.unit.name}</p>' in english
    assert f'<h1 lang="id">{world.home.counter.name}</h1>' in english
    select = english.split('<select id="service"', 1)[1].split("</select>", 1)[0]
    services = re.findall(r'<option value="[^"]+"([^>]*)>', select)
    assert services and all(' lang="id"' in attributes for attributes in services)
    indonesian = html_of(client.get(f"/s/{world.home.token}?lang=id"))
    assert ' lang="id"' not in indonesian.split("<html", 1)[1].split(">", 1)[1]


def test_the_language_switch_sends_the_answers_and_shows_them_again(
    client: FlaskClient, session: Session, world: World
) -> None:
    page = client.get(f"/s/{world.home.token}")
    html = html_of(page)
    assert ('name="switch_lang" value="en" formaction="?lang=en" formnovalidate lang="en"'
            in html)
    data = survey_form(page, service="KK", comment="Ruang tunggu panas", switch_lang="en")
    del data["U4"]  # unanswered yet: switching is not sending, so no message about it
    switched = client.post(f"/s/{world.home.token}?lang=en", data=data)
    html = html_of(switched)
    assert switched.status_code == 200
    assert '<html lang="en">' in html
    assert checked(html, "U4") == [] and checked(html, "U5") == [data["U5"]]
    assert selected(html, "service") == ["KK"]
    assert "Ruang tunggu panas</textarea>" in html
    assert 'class="err"' not in html
    assert form_tokens(switched)[1] == data["t"]  # the same ticket: the same response id
    assert client.get_cookie("lang").value == "en"  # type: ignore[union-attr]
    assert response_count(session) == 0


def test_a_form_with_errors_redirects_to_itself_and_shows_the_answers_once(
    client: FlaskClient, session: Session, world: World
) -> None:
    """Post/Redirect/Get: Back or reload after a corrected form never resends the POST."""
    url = f"/s/{world.home.token}"
    data = survey_form(client.get(url), U3="", comment="Antrean panjang", wait_band="30-60")
    posted = client.post(url, data=data)
    assert posted.status_code == 303 and posted.headers["Location"] == url
    shown = html_of(client.get(url))
    assert "Antrean panjang</textarea>" in shown
    assert "Ada 1 jawaban" in fieldset(shown, "U3") or "Ada 1 jawaban" in shown
    assert 'value="30-60" checked' in shown
    assert form_tokens(client.get(url))[1] != data["t"]  # a later visit: a fresh form
    assert "Antrean panjang" not in html_of(client.get(url))
    assert response_count(session) == 0
    # Answers too large for a cookie are shown from the POST itself, nothing lost.
    big = {**data, "comment": "é" * 900 + "👨‍👩‍👧" * 100}
    posted = client.post(url, data=big)
    assert posted.status_code == 422
    assert big["comment"] in html_of(posted)


def test_an_error_page_says_so_in_its_title_and_takes_the_focus(
    client: FlaskClient, world: World
) -> None:
    page = client.get(f"/s/{world.home.token}")
    posted = post_back(client, f"/s/{world.home.token}", survey_form(page, U2="", U7=""))
    html = html_of(posted)
    assert "<title>2 jawaban perlu diperbaiki — " in html
    assert '<div class="box alert" role="alert" tabindex="-1" autofocus>' in html
    assert "<title>Survei" in html_of(client.get(f"/s/{world.home.token}"))  # fresh: as before


@pytest.mark.parametrize("path", ["/s/{token}/terima-kasih", "/a/{arrival}", "/s/nope-nope-nope"])
def test_pages_without_a_form_switch_language_with_a_link(
    client: FlaskClient, world: World, path: str
) -> None:
    url = path.format(token=world.home.token, arrival=world.home.unit.arrival_token)
    html = html_of(client.get(url))
    assert '<a class="lang" href="?lang=en" lang="en">English</a>' in html
    english = html_of(client.get(f"{url}?lang=en"))
    assert '<a class="lang" href="?lang=id" lang="id">Bahasa Indonesia</a>' in english


def test_an_unknown_language_falls_back_to_indonesian(
    client: FlaskClient, world: World
) -> None:
    page = client.get(f"/s/{world.home.token}?lang=fr")
    assert PRIVACY_ID in html_of(page)
    assert client.get_cookie("lang") is None


# CSRF ------------------------------------------------------------------------------------------


def _answers_are_kept(html: str, data: dict[str, str]) -> None:
    for i in range(1, 10):
        assert checked(html, f"U{i}") == [data[f"U{i}"]]
    assert checked(html, "wait_band") == [data["wait_band"]]
    assert selected(html, "service") == [data["service"]]


def test_a_post_without_a_csrf_token_stores_nothing_and_keeps_the_answers(
    client: FlaskClient, session: Session, world: World
) -> None:
    page = client.get(f"/s/{world.home.token}")
    data = survey_form(page, service="KK", comment="Ruang tunggu panas")
    del data["csrf_token"]
    posted = client.post(f"/s/{world.home.token}", data=data)
    html = html_of(posted)
    assert posted.status_code == 400
    assert CSRF_NOTICE_ID in html
    _answers_are_kept(html, data)
    assert "Ruang tunggu panas</textarea>" in html
    assert response_count(session) == 0


def test_a_forged_csrf_token_stores_nothing(
    client: FlaskClient, session: Session, world: World
) -> None:
    page = client.get(f"/s/{world.home.token}")
    posted = client.post(f"/s/{world.home.token}",
                         data=survey_form(page, csrf_token="IjEyMzQ1Ig.forged.token"))
    assert posted.status_code == 400
    assert CSRF_NOTICE_ID in html_of(posted)
    assert response_count(session) == 0


class _FiveHoursAgo(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) - 5 * 3600


def test_an_expired_csrf_token_reshows_the_form_then_the_resend_is_stored_once(
    app: Flask, client: FlaskClient, session: Session, world: World
) -> None:
    page = client.get(f"/s/{world.home.token}?lang=en")
    with client.session_transaction() as browser_session:
        raw = browser_session["csrf_token"]
    expired = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token",  # type: ignore[arg-type]
                                     signer=_FiveHoursAgo).dumps(raw)
    data = survey_form(page, csrf_token=expired, service="KK", wait_band="30-60",
                       comment="Bagus <b>sekali</b>", **{"profile.sex": "P"})
    posted = client.post(f"/s/{world.home.token}", data=data)
    html = html_of(posted)
    assert posted.status_code == 400
    assert CSRF_NOTICE_EN in html
    _answers_are_kept(html, data)
    assert selected(html, "profile.sex") == ["P"]
    assert "Bagus &lt;b&gt;sekali&lt;/b&gt;</textarea>" in html
    assert response_count(session) == 0

    # The page came back with a fresh token and the same ticket: pressing Send again works.
    fresh_csrf, ticket = form_tokens(posted)
    assert ticket == data["t"]
    resent = client.post(f"/s/{world.home.token}", data={**data, "csrf_token": fresh_csrf})
    assert resent.status_code == 303
    rows = response_rows(session)
    assert len(rows) == 1
    assert (rows[0].comment, rows[0].sex, rows[0].wait_band) == (
        "Bagus <b>sekali</b>", "P", "30-60")


def test_an_expired_csrf_notice_is_indonesian_by_default(
    app: Flask, client: FlaskClient, session: Session, world: World
) -> None:
    page = client.get(f"/s/{world.home.token}")
    with client.session_transaction() as browser_session:
        raw = browser_session["csrf_token"]
    expired = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token",  # type: ignore[arg-type]
                                     signer=_FiveHoursAgo).dumps(raw)
    posted = client.post(f"/s/{world.home.token}", data=survey_form(page, csrf_token=expired))
    assert posted.status_code == 400
    assert CSRF_NOTICE_ID in html_of(posted)
    assert response_count(session) == 0


# Validation ------------------------------------------------------------------------------------

LONG = "1" * 20_000

# name, form changes (None removes the field), field in error, Indonesian and English message
VALIDATION_CASES = [
    ("missing-U3", {"U3": None}, "U3",
     "Mohon pilih salah satu jawaban untuk pertanyaan 3 (Waktu penyelesaian).",
     "Please choose one answer for question 3 (Completion time)."),
    ("blank-U3", {"U3": "  "}, "U3",
     "Mohon pilih salah satu jawaban untuk pertanyaan 3 (Waktu penyelesaian).",
     "Please choose one answer for question 3 (Completion time)."),
    ("zero-U3", {"U3": "0"}, "U3",
     "Nilai U3 harus antara 1 dan 4.", "The value of U3 must be between 1 and 4."),
    ("five-U9", {"U9": "5"}, "U9",
     "Nilai U9 harus antara 1 dan 4.", "The value of U9 must be between 1 and 4."),
    ("negative-U1", {"U1": "-1"}, "U1",
     "Nilai U1 harus antara 1 dan 4.", "The value of U1 must be between 1 and 4."),
    ("text-U3", {"U3": "abc"}, "U3",
     "Nilai U3 harus antara 1 dan 4.", "The value of U3 must be between 1 and 4."),
    ("decimal-U3", {"U3": "3.5"}, "U3",
     "Nilai U3 harus antara 1 dan 4.", "The value of U3 must be between 1 and 4."),
    ("long-U3", {"U3": LONG}, "U3",
     "Nilai U3 harus antara 1 dan 4.", "The value of U3 must be between 1 and 4."),
    ("superscript-U3", {"U3": "\u00b2"}, "U3",  # '²'.isdigit() is True, int('²') fails
     "Nilai U3 harus antara 1 dan 4.", "The value of U3 must be between 1 and 4."),
    ("arabic-indic-U3", {"U3": "\u0663"}, "U3",  # '٣' is a digit three, but not ours
     "Nilai U3 harus antara 1 dan 4.", "The value of U3 must be between 1 and 4."),
    ("unknown-wait-band", {"wait_band": "3-hari"}, "wait_band",
     "Pilihan waktu tunggu tidak dikenal.", "Unknown waiting-time choice."),
    ("other-units-service", {"service": "GIGI"}, "service",
     "Layanan ini tidak tersedia di unit ini.", "This service is not offered by this unit."),
    ("unknown-service", {"service": "PASPOR"}, "service",
     "Layanan ini tidak tersedia di unit ini.", "This service is not offered by this unit."),
    ("comment-too-long", {"comment": "a" * 1001}, "comment",
     "Komentar paling banyak 1000 karakter (sekarang 1001).",
     "The comment can have at most 1000 characters (now 1001)."),
    ("unknown-profile-option", {"profile.sex": "X"}, "profile.sex",
     "Pilihan tidak dikenal.", "Unknown choice."),
    ("unknown-education", {"profile.education": "S9"}, "profile.education",
     "Pilihan tidak dikenal.", "Unknown choice."),
]


@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.parametrize(("changes", "field", "message_id", "message_en"),
                         [case[1:] for case in VALIDATION_CASES],
                         ids=[case[0] for case in VALIDATION_CASES])
def test_an_invalid_field_comes_back_with_its_message_and_the_other_answers_kept(
    client: FlaskClient, session: Session, world: World, on_duty: Officer,
    lang: str, changes: dict[str, str | None], field: str, message_id: str, message_en: str,
) -> None:
    page = client.get(f"/s/{world.home.token}?lang={lang}")
    data = survey_form(page, service="KK", wait_band="5-15",
                       comment='Petugas "ramah" & <i>cepat</i>',
                       **{"profile.age_band": "30-39"})
    for name, value in changes.items():
        if value is None:
            del data[name]
        else:
            data[name] = value
    posted = post_back(client, f"/s/{world.home.token}", data)  # language from the cookie
    html = html_of(posted)
    message = message_id if lang == "id" else message_en
    other_message = message_en if lang == "id" else message_id

    assert f'<html lang="{lang}">' in html
    assert message in fieldset(html, field), "the message is not beside its question"
    assert other_message not in html
    summary = "Ada 1 jawaban" if lang == "id" else "1 answer needs fixing"
    assert summary in html
    # Every other answer is still on the page.
    for i in range(1, 10):
        code = f"U{i}"
        if code != field:
            assert checked(html, code) == [data[code]]
        else:
            assert checked(html, code) == []
    if field != "wait_band":
        assert checked(html, "wait_band") == ["5-15"]
    if field != "service":
        assert selected(html, "service") == ["KK"]
    if field != "comment":
        assert ("Petugas &#34;ramah&#34; &amp; &lt;i&gt;cepat&lt;/i&gt;</textarea>" in html)
    if field.startswith("profile."):
        assert "<details open>" in html
    else:
        assert selected(html, "profile.age_band") == ["30-39"]
    assert on_duty.name in html and NIP not in html
    # The same signed ticket comes back, so the corrected answer keeps its identity.
    assert form_tokens(posted)[1] == data["t"]
    assert response_count(session) == 0


def test_several_invalid_fields_are_all_reported_at_once(
    client: FlaskClient, session: Session, world: World
) -> None:
    page = client.get(f"/s/{world.home.token}")
    data = survey_form(page, U2="9", wait_band="?", comment="x" * 1500)
    del data["U7"]
    html = html_of(post_back(client, f"/s/{world.home.token}", data))
    assert "Ada 4 jawaban yang perlu diperbaiki" in html
    assert "Nilai U2 harus antara 1 dan 4." in fieldset(html, "U2")
    assert "pertanyaan 7 (Perilaku pelaksana)." in fieldset(html, "U7")
    assert "Pilihan waktu tunggu tidak dikenal." in fieldset(html, "wait_band")
    assert "(sekarang 1500)" in fieldset(html, "comment")
    assert response_count(session) == 0


def test_a_corrected_form_is_stored_once_after_an_error(
    client: FlaskClient, session: Session, world: World
) -> None:
    page = client.get(f"/s/{world.home.token}")
    data = survey_form(page, U4="7")
    first = post_back(client, f"/s/{world.home.token}", data)
    csrf, ticket = form_tokens(first)
    fixed = client.post(f"/s/{world.home.token}", data={**data, "U4": "4", "csrf_token": csrf,
                                                        "t": ticket})
    assert fixed.status_code == 303
    rows = response_rows(session)
    assert len(rows) == 1
    assert rows[0].u4 == 4


def test_a_comment_of_exactly_the_limit_is_accepted(
    client: FlaskClient, session: Session, world: World
) -> None:
    comment = "é" * 1000  # one character each, however many bytes
    assert open_and_submit(client, world.home.token, comment=f"  {comment}\n").status_code == 303
    (row,) = response_rows(session)
    assert row.comment == comment


# A stored response -----------------------------------------------------------------------------


def test_a_valid_submission_stores_one_complete_row_and_redirects_to_thanks(
    client: FlaskClient, session: Session, world: World, on_duty: Officer
) -> None:
    before = utcnow()
    posted = open_and_submit(
        client, world.home.token, service="KK", wait_band="30-60",
        comment="Pelayanan cepat, terima kasih.",
        **{"profile.sex": "P", "profile.age_band": "30-39", "profile.education": "S1",
           "profile.occupation": "Wirausaha"},
    )
    after = utcnow()
    assert posted.status_code == 303
    assert posted.headers["Location"].endswith(f"/s/{world.home.token}/terima-kasih")

    rows = response_rows(session)
    assert len(rows) == 1
    row = rows[0]
    assert row.channel == "qr"
    assert row.unit_id == world.home.unit.id
    assert row.counter_id == world.home.counter.id
    assert row.service_id == world.home.services[1].id
    assert row.officer_id == on_duty.id
    assert row.created_at.tzinfo == UTC
    assert before <= row.created_at <= after
    assert before <= row.received_at <= after
    assert row.scores() == tuple(int(SCORES[f"U{i}"]) for i in range(1, 10))
    assert row.wait_band == "30-60"
    assert row.measured_wait_min is None
    assert row.comment == "Pelayanan cepat, terima kasih."
    assert (row.sex, row.age_band, row.education, row.occupation) == (
        "P", "30-39", "S1", "Wirausaha")
    assert (row.flag_repeat, row.flag_bot) == (False, False)
    assert row.survey_version_id is not None

    # The address is kept only as a salted hash of the local day; never the address itself.
    salt = session.scalar(select(DailySalt.salt).where(
        DailySalt.day == (row.received_at + WIB_OFFSET).date()))
    release(session)
    assert salt is not None
    assert row.ip_hash == salted_hash(salt, "127.0.0.1")
    device = client.get_cookie("sw_d")
    assert device is not None
    assert row.device_hash == salted_hash(salt, device.value)
    for column in Response.__table__.columns:
        stored = str(getattr(row, column.key))
        assert "127.0.0.1" not in stored, column.key
        assert device.value not in stored, column.key

    thanks = client.get(posted.headers["Location"])
    html = html_of(thanks)
    assert thanks.status_code == 200
    assert "Terima kasih!" in html
    assert world.home.unit.name in html
    assert NIP not in html


def test_a_submission_without_optional_answers_stores_nulls(
    client: FlaskClient, session: Session, world: World
) -> None:
    posted = open_and_submit(client, world.home.token, wait_band="", service="", comment="  ")
    assert posted.status_code == 303
    (row,) = response_rows(session)
    assert (row.wait_band, row.service_id, row.comment, row.officer_id) == (
        None, None, None, None)
    assert (row.sex, row.age_band, row.education, row.occupation) == (None, None, None, None)


def hand_over(session: Session, world: World, at: datetime) -> Officer:
    """World's officer serves the home counter until ``at``, a second officer from then."""
    second = make_officer(session, world.home, OTHER_NIP, "Siti Lestari")
    assign_officer(session, world.officer, world.home.counter, at - timedelta(hours=3), at)
    assign_officer(session, second, world.home.counter, at, at + timedelta(hours=3))
    session.commit()
    return second


def test_the_officer_is_the_one_on_duty_when_the_page_was_opened(
    client: FlaskClient, session: Session, world: World, clock: Clock
) -> None:
    """The page names who served the citizen; a handover while they answer does not move
    the response to the officer who came after (issue 13: attribution at opening)."""
    handover = clock.now
    second = hand_over(session, world, handover)

    clock.now = handover - timedelta(minutes=2)
    page = client.get(f"/s/{world.home.token}")
    html = html_of(page)
    assert world.officer.name in html and second.name not in html
    assert NIP not in html and OTHER_NIP not in html
    clock.now = handover + timedelta(minutes=1)
    assert client.post(f"/s/{world.home.token}", data=survey_form(page)).status_code == 303
    (row,) = response_rows(session)
    assert (row.officer_id, row.attribution) == (world.officer.id, "checkin")
    assert row.created_at == handover + timedelta(minutes=1)


def test_a_double_tap_on_send_stores_one_row(
    client: FlaskClient, session: Session, world: World
) -> None:
    page = client.get(f"/s/{world.home.token}")
    data = survey_form(page, comment="sekali saja")
    first = client.post(f"/s/{world.home.token}", data=data)
    second = client.post(f"/s/{world.home.token}", data=data)
    assert (first.status_code, second.status_code) == (303, 303)
    rows = response_rows(session)
    assert len(rows) == 1
    assert rows[0].flag_repeat is False


def test_going_back_and_changing_answers_stores_a_second_flagged_row(
    client: FlaskClient, session: Session, world: World
) -> None:
    page = client.get(f"/s/{world.home.token}")
    assert client.post(f"/s/{world.home.token}", data=survey_form(page, U1="1")).status_code == 303
    assert client.post(f"/s/{world.home.token}", data=survey_form(page, U1="4")).status_code == 303
    rows = response_rows(session)
    assert [(r.u1, r.flag_repeat) for r in rows] == [(1, False), (4, True)]
    assert rows[0].client_id != rows[1].client_id


def test_a_second_response_from_one_device_within_ten_minutes_is_kept_but_flagged(
    app: Flask, client: FlaskClient, session: Session, world: World, clock: Clock
) -> None:
    start = clock.now
    assert open_and_submit(client, world.home.token).status_code == 303
    clock.now = start + timedelta(minutes=9)
    assert open_and_submit(client, world.home.token, U1="1").status_code == 303
    clock.now = start + timedelta(minutes=25)  # more than 10 minutes after the last one
    assert open_and_submit(client, world.home.token, U1="3").status_code == 303
    # Another phone at the same counter a minute later is not a repeat.
    clock.now = start + timedelta(minutes=26)
    assert open_and_submit(app.test_client(), world.home.token).status_code == 303
    # The same phone at another counter is not a repeat either.
    assert open_and_submit(client, world.other.token).status_code == 303

    rows = response_rows(session)
    assert [(r.counter_id, r.flag_repeat) for r in rows] == [
        (world.home.counter.id, False),
        (world.home.counter.id, True),
        (world.home.counter.id, False),
        (world.home.counter.id, False),
        (world.other.counter.id, False),
    ]
    assert rows[0].device_hash == rows[1].device_hash == rows[4].device_hash
    assert rows[3].device_hash != rows[0].device_hash


@pytest.mark.parametrize(("after", "repeat"), [
    (timedelta(minutes=9, seconds=59), True),
    (timedelta(minutes=10), False),
    (timedelta(minutes=10, seconds=1), False),
], ids=["9m59s", "10m00s", "10m01s"])
def test_the_repeat_window_is_ten_minutes_exactly(
    client: FlaskClient, session: Session, world: World, clock: Clock, after: timedelta,
    repeat: bool
) -> None:
    start = clock.now
    assert open_and_submit(client, world.home.token).status_code == 303
    clock.now = start + after
    assert open_and_submit(client, world.home.token, U1="1").status_code == 303
    assert [r.flag_repeat for r in response_rows(session)] == [False, repeat]


def test_a_form_sent_again_with_other_answers_is_a_repeat_however_late(
    client: FlaskClient, session: Session, world: World, clock: Clock
) -> None:
    # The same form (one ticket, so one citizen), sent again with a changed answer after the
    # 10 minutes of the device rule: kept, but only the first counts.
    page = client.get(f"/s/{world.home.token}")
    assert client.post(f"/s/{world.home.token}", data=survey_form(page, U1="1")).status_code == 303
    clock.now += timedelta(minutes=11)
    assert client.post(f"/s/{world.home.token}", data=survey_form(page, U1="4")).status_code == 303
    assert [(r.u1, r.flag_repeat) for r in response_rows(session)] == [(1, False), (4, True)]


def test_a_repeat_across_local_midnight_is_flagged(
    client: FlaskClient, session: Session, world: World, clock: Clock
) -> None:
    clock.now = datetime(2026, 1, 5, 16, 58, tzinfo=UTC)  # 23.58 WIB
    assert open_and_submit(client, world.home.token).status_code == 303
    clock.now += timedelta(minutes=4)  # 00.02 WIB: another day, another salt
    assert open_and_submit(client, world.home.token, U1="1").status_code == 303
    clock.now += timedelta(minutes=1)  # another phone: not a repeat
    assert open_and_submit(client.application.test_client(), world.home.token).status_code == 303
    rows = response_rows(session)
    assert [r.local_day for r in rows] == [date(2026, 1, 5), date(2026, 1, 6), date(2026, 1, 6)]
    assert [r.flag_repeat for r in rows] == [False, True, False]


def test_just_after_midnight_no_salt_is_made_for_the_day_before(
    client: FlaskClient, session: Session, world: World, clock: Clock
) -> None:
    clock.now = datetime(2026, 1, 5, 17, 2, tzinfo=UTC)  # 00.02 WIB on 6 January
    assert open_and_submit(client, world.home.token).status_code == 303
    assert session.scalars(select(DailySalt.day)).all() == [date(2026, 1, 6)]


def test_a_filled_honeypot_is_stored_but_flagged_as_a_bot(
    client: FlaskClient, session: Session, world: World
) -> None:
    posted = open_and_submit(client, world.home.token, website="http://spam.example")
    assert posted.status_code == 303
    (row,) = response_rows(session)
    assert (row.flag_bot, row.flag_repeat) == (True, False)


# Kept pages and remembered salts (what makes the hot paths fast must not make them stale) -----


def test_a_page_seen_many_times_still_answers_410_at_once_after_a_revocation(
    client: FlaskClient, session: Session, world: World
) -> None:
    pages = [client.get(f"/s/{world.home.token}") for _ in range(3)]
    assert [p.status_code for p in pages] == [200, 200, 200]
    issue_token(session, world.home.counter)
    session.commit()
    again = client.get(f"/s/{world.home.token}")
    assert again.status_code == 410
    assert world.home.counter.name not in html_of(again)
    assert client.post(f"/s/{world.home.token}", data=survey_form(pages[0])).status_code == 410
    assert response_count(session) == 0


def test_every_page_view_carries_its_own_ticket_and_a_valid_csrf_token(
    app: Flask, session: Session, world: World
) -> None:
    phones = [app.test_client() for _ in range(3)]
    pages = [phone.get(f"/s/{world.home.token}") for phone in phones]
    tickets = {form_tokens(page)[1] for page in pages}
    assert len(tickets) == 3
    for phone, page in zip(phones, pages, strict=True):
        assert phone.post(f"/s/{world.home.token}", data=survey_form(page)).status_code == 303
    rows = response_rows(session)
    assert len({r.client_id for r in rows}) == 3
    assert not any(r.flag_repeat for r in rows)


def test_the_page_follows_a_handover_between_two_views(
    client: FlaskClient, session: Session, world: World, clock: Clock
) -> None:
    handover = clock.now
    second = hand_over(session, world, handover)
    clock.now = handover - timedelta(minutes=1)
    for _ in range(2):
        html = html_of(client.get(f"/s/{world.home.token}"))
        assert world.officer.name in html and second.name not in html
    clock.now = handover
    html = html_of(client.get(f"/s/{world.home.token}"))
    assert second.name in html and world.officer.name not in html
    clock.now = handover + timedelta(hours=3)
    assert "Petugas yang melayani" not in html_of(client.get(f"/s/{world.home.token}"))


def test_an_officer_on_duty_at_another_counter_is_not_shown(
    client: FlaskClient, session: Session, world: World
) -> None:
    elsewhere = make_officer(session, world.other, OTHER_NIP, "Siti Lestari")
    put_on_duty(session, elsewhere, world.other.counter, utcnow())
    html = html_of(client.get(f"/s/{world.home.token}"))
    assert "Petugas yang melayani" not in html
    assert elsewhere.name in html_of(client.get(f"/s/{world.other.token}"))


def test_the_page_follows_a_renamed_counter_and_a_new_service(
    client: FlaskClient, session: Session, world: World
) -> None:
    assert "Loket Satu Perekaman" in html_of(client.get(f"/s/{world.home.token}"))
    from app.org import create_service

    create_service(session, world.home.unit, "AKTA", "Akta Kelahiran")
    session.execute(update(Counter).where(Counter.id == world.home.counter.id)
                    .values(name="Loket Tiga"))
    session.commit()
    html = html_of(client.get(f"/s/{world.home.token}"))
    assert "Loket Tiga" in html and "Loket Satu Perekaman" not in html
    assert '<option value="AKTA">Akta Kelahiran</option>' in html
    assert selected(html, "service") == ["KTP-REKAM"]  # the counter's default service


def test_a_new_local_day_hashes_with_the_new_days_salt(
    app: Flask, session: Session, world: World, clock: Clock
) -> None:
    clock.now = datetime(2026, 1, 5, 16, 58, tzinfo=UTC)  # 23.58 WIB
    phones = [app.test_client() for _ in range(4)]
    assert open_and_submit(phones[0], world.home.token).status_code == 303
    assert open_and_submit(phones[1], world.home.token).status_code == 303
    clock.now = datetime(2026, 1, 5, 17, 1, tzinfo=UTC)  # 00.01 WIB, the next day
    assert open_and_submit(phones[2], world.home.token).status_code == 303
    assert open_and_submit(phones[3], world.home.token).status_code == 303
    salts = {day: salt for day, salt in session.execute(select(DailySalt.day, DailySalt.salt))}
    rows = response_rows(session)
    first, second = date(2026, 1, 5), date(2026, 1, 6)
    assert sorted(salts) == [first, second] and salts[first] != salts[second]
    assert [r.ip_hash for r in rows] == [
        salted_hash(salts[day], "127.0.0.1") for day in (first, first, second, second)]


# Hostile input ---------------------------------------------------------------------------------


def test_script_in_a_comment_is_escaped_on_the_error_page_and_stored_as_text(
    client: FlaskClient, session: Session, world: World
) -> None:
    script = "<script>alert('x')</script>"
    page = client.get(f"/s/{world.home.token}")
    data = survey_form(page, comment=script, U5="")
    failed = post_back(client, f"/s/{world.home.token}", data)
    html = html_of(failed)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</textarea>" in html
    csrf, _ = form_tokens(failed)
    stored = client.post(f"/s/{world.home.token}", data={**data, "U5": "2", "csrf_token": csrf})
    assert stored.status_code == 303
    (row,) = response_rows(session)
    assert row.comment == script


def test_nul_and_control_characters_in_a_comment_are_removed(
    client: FlaskClient, session: Session, world: World
) -> None:
    comment = "Antri\x00an lama\x07\x1b[0m,\tpetugas\r\nramah\u200b\x7f"
    posted = open_and_submit(client, world.home.token, comment=comment)
    assert posted.status_code == 303
    (row,) = response_rows(session)
    assert row.comment == "Antrian lama[0m,\tpetugas\nramah"


def test_nul_bytes_in_other_fields_are_refused_without_a_crash(
    client: FlaskClient, session: Session, world: World
) -> None:
    page = client.get(f"/s/{world.home.token}")
    data = survey_form(page, U2="2\x00", wait_band="\x00", service="KK\x00",
                       **{"profile.sex": "L\x00"})
    posted = post_back(client, f"/s/{world.home.token}", data)
    html = html_of(posted)
    assert "Ada 4 jawaban" in html
    assert response_count(session) == 0


@pytest.mark.parametrize("token", ["A" * 15 + "%00", "%00" * 16, "A" * 16 + "%00",
                                   "%C3%A9" * 8])
def test_a_nul_byte_or_odd_characters_in_the_survey_url_are_a_404_not_a_crash(
    client: FlaskClient, session: Session, world: World, token: str
) -> None:
    # A NUL is refused before any lookup, for every path alike (tests/test_boundary.py).
    refused = 400 if "%00" in token else 404
    assert client.get(f"/s/{token}").status_code == refused
    page = client.get(f"/s/{world.home.token}")
    assert client.post(f"/s/{token}", data=survey_form(page)).status_code == refused
    assert response_count(session) == 0


def test_an_oversized_form_gets_a_friendly_413_and_stores_nothing(
    client: FlaskClient, session: Session, world: World
) -> None:
    page = client.get(f"/s/{world.home.token}")
    posted = client.post(f"/s/{world.home.token}",
                         data=survey_form(page, comment="a" * (65 * 1024)))
    html = html_of(posted)
    assert posted.status_code == 413
    assert "Kiriman terlalu besar" in html
    assert "Persingkat komentar" in html
    assert response_count(session) == 0


def _chunked_form(client: FlaskClient, token: str, data: dict[str, str],
                  padding: str = "") -> TestResponse:
    """POST the form as a chunked body (no Content-Length)."""
    return post_chunked(client, f"/s/{token}", (urlencode(data) + padding).encode(),
                        "application/x-www-form-urlencoded")


def test_a_chunked_form_is_read_whole_and_stored(
    client: FlaskClient, session: Session, world: World
) -> None:
    page = client.get(f"/s/{world.home.token}")
    posted = _chunked_form(client, world.home.token, survey_form(page, comment="lewat chunked"))
    assert posted.status_code == 303
    (row,) = response_rows(session)
    assert row.comment == "lewat chunked"


def test_an_oversized_chunked_form_gets_the_413_even_when_its_start_is_valid(
    client: FlaskClient, session: Session, world: World
) -> None:
    page = client.get(f"/s/{world.home.token}")
    # Complete, valid answers first; 100 KB of padding after them.
    posted = _chunked_form(client, world.home.token, survey_form(page),
                           padding="&zz=" + "a" * (100 * 1024))
    assert posted.status_code == 413
    assert "Kiriman terlalu besar" in html_of(posted)
    assert response_count(session) == 0


def test_a_comment_keeps_its_emoji_and_loses_bidirectional_controls(
    client: FlaskClient, session: Session, world: World
) -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # joined by zero-width joiners
    shaking = "\U0001fae8"  # Unicode 15: unassigned in Python 3.11's tables
    comment = f"Keluarga {family} senang {shaking} \u202eharga\u202c \u2066ok\u2069"
    posted = open_and_submit(client, world.home.token, comment=comment)
    assert posted.status_code == 303
    (row,) = response_rows(session)
    assert row.comment == f"Keluarga {family} senang {shaking} harga ok"


@pytest.mark.parametrize("invisible", ["\u200d", "\u200b\u200d \u2066\u2069", "\ufeff\n\t"])
def test_a_comment_that_shows_nothing_is_no_comment(
    client: FlaskClient, session: Session, world: World, invisible: str
) -> None:
    assert open_and_submit(client, world.home.token, comment=invisible).status_code == 303
    (row,) = response_rows(session)
    assert row.comment is None


PAGE_BUDGET = 14 * 1024  # what the first round trip of a new connection carries


def _sent_bytes(response: TestResponse) -> int:
    """The bytes on the wire: status line, headers (cookies included), blank line, body."""
    status = f"HTTP/1.1 {response.status}\r\n"
    headers = "".join(f"{name}: {value}\r\n" for name, value in response.headers.items())
    return len((status + headers + "\r\n").encode()) + len(response.get_data())


def test_the_page_fits_the_first_round_trip_even_with_the_longest_names(
    client: FlaskClient, session: Session
) -> None:
    """Issue 3: the whole page at most 14 KB compressed, in one request. Every name is at the
    200 characters a name may have, and the 422 page carries all nine messages."""
    long = "Pelayanan Administrasi Kependudukan dan Pencatatan Sipil Kabupaten Lampung Utara "
    seeded = make_unit(session, "LONG", (long * 3)[:200],
                       services=(("S1", (long * 3)[1:201]), ("S2", (long * 3)[2:202])),
                       counter=("L1", (long * 3)[3:203]))
    officer = make_officer(session, seeded, NIP, (long * 3)[4:204])
    put_on_duty(session, officer, seeded.counter, utcnow())
    gzip_please = {"Accept-Encoding": "gzip, deflate, br"}
    url = f"/s/{seeded.token}"
    pages = {language: client.get(f"{url}?lang={language}", headers=gzip_please)
             for language in ("id", "en")}
    form = survey_form(client.get(url))
    for code in SCORES:
        form.pop(code)
    pages["errors"] = post_back(client, url, {**form, "comment": "x" * 1000},
                                headers=gzip_please)
    for name, page in pages.items():
        assert page.status_code == 200, name
        assert page.headers["Content-Encoding"] == "gzip", name
        html = gzip.decompress(page.get_data()).decode()
        assert seeded.counter.name in html and officer.name in html, name
        # Nothing more to fetch (the icon is an inline data: URL, so no /favicon.ico either).
        assert not re.search(r'(?:href|src)="(?!data:|#|\?lang=)', html), name
        assert _sent_bytes(page) <= PAGE_BUDGET, (name, _sent_bytes(page))


@pytest.mark.parametrize(("accept", "gzipped"), [
    ("gzip", True), ("gzip, deflate, br", True), ("*", True), ("gzip;q=0, identity", False),
    ("identity", False), ("", False),
])
def test_the_page_is_gzipped_only_for_clients_that_accept_it(
    client: FlaskClient, world: World, accept: str, gzipped: bool
) -> None:
    page = client.get(f"/s/{world.home.token}", headers={"Accept-Encoding": accept})
    assert page.status_code == 200
    assert (page.headers.get("Content-Encoding") == "gzip") is gzipped
    assert "Accept-Encoding" in page.headers["Vary"]  # either way it depended on it
    body = gzip.decompress(page.get_data()) if gzipped else page.get_data()
    assert b'name="csrf_token"' in body


def test_every_page_view_is_compressed_with_tokens_of_its_own(
    client: FlaskClient, world: World
) -> None:
    pages = [client.get(f"/s/{world.home.token}", headers={"Accept-Encoding": "gzip"})
             for _ in range(2)]
    plain = client.get(f"/s/{world.home.token}", headers={"Accept-Encoding": "identity"})
    texts = [gzip.decompress(page.get_data()).decode() for page in pages]  # checks CRC, size
    texts.append(plain.get_data(as_text=True))
    holes = re.compile(r'(name="(?:csrf_token|t)" value=")([^"]+)')
    tokens = [tuple(value for _name, value in holes.findall(text)) for text in texts]
    assert all(len(found) == 2 for found in tokens) and len(set(tokens)) == 3
    assert len({holes.sub(r"\1", text) for text in texts}) == 1  # the same page otherwise


def test_a_long_comment_under_the_body_limit_is_a_422_with_the_count(
    client: FlaskClient, session: Session, world: World
) -> None:
    page = client.get(f"/s/{world.home.token}?lang=en")
    posted = client.post(f"/s/{world.home.token}",
                         data=survey_form(page, comment="b" * 30_000))
    assert posted.status_code == 422
    assert "at most 1000 characters (now 30000)" in fieldset(html_of(posted), "comment")
    assert response_count(session) == 0


# Rate limiting ---------------------------------------------------------------------------------


@pytest.fixture
def limited_app(settings: Settings) -> Iterator[Flask]:
    """The application with three submissions per minute and address."""
    application = create_app(settings.replace(rate_limit_submit="3 per minute"))
    application.config.update(TESTING=True)
    yield application
    application.extensions["suara.db"].dispose()


def test_switching_the_language_never_uses_up_the_submissions(
    limited_app: Flask, session: Session, world: World
) -> None:
    client = limited_app.test_client()
    page = client.get(f"/s/{world.home.token}")
    for lang in ("en", "id", "en"):
        switched = client.post(f"/s/{world.home.token}?lang={lang}",
                               data=survey_form(page, switch_lang=lang))
        assert switched.status_code == 200
    assert client.post(f"/s/{world.home.token}", data=survey_form(page)).status_code == 303
    assert response_count(session) == 1


def test_the_fourth_submission_in_a_minute_gets_a_friendly_429_with_its_answers(
    limited_app: Flask, session: Session, world: World
) -> None:
    client = limited_app.test_client()
    for _ in range(3):
        assert open_and_submit(client, world.home.token).status_code == 303
    page = client.get(f"/s/{world.home.token}")
    data = survey_form(page, U3="1", service="KK", comment="Antrean panjang", wait_band="30-60")
    blocked = client.post(f"/s/{world.home.token}", data=data)
    html = html_of(blocked)
    assert blocked.status_code == 429
    wait = int(blocked.headers["Retry-After"])
    assert 1 <= wait <= 60
    # The form again, every answer still in it (Back after an error page would lose them).
    assert f"mohon tunggu {wait} detik, lalu tekan Kirim sekali lagi" in html
    _answers_are_kept(html, data)
    assert response_count(session) == 3

    # Switching the language is counted apart from submissions.
    for _ in range(3):
        assert client.post(f"/s/{world.home.token}?lang=en",
                           data={**data, "switch_lang": "en"}).status_code == 200
    assert response_count(session) == 3

    # Another address is not held back by this one.
    elsewhere = client.post(f"/s/{world.home.token}", data=survey_form(page),
                            environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert elsewhere.status_code == 303
    assert response_count(session) == 4


# Attribution at the survey's opening (issue 13): checked in, the pick, the roster, nobody ---

PICK_NAME = "Rina Lestari"


def attribution_of(session: Session) -> tuple[int | None, str]:
    """The officer and the source of the one stored response."""
    (row,) = response_rows(session)
    return row.officer_id, row.attribution


def sign_ticket(secret: str, counter_id: int, opened: datetime) -> str:
    """A ticket as the page signs it, with ``secret`` (the app's own, or a forger's)."""
    return URLSafeTimedSerializer(secret, salt="ticket").dumps(
        {"c": counter_id, "r": "0" * 32, "o": opened.isoformat(), "w": None})


@pytest.fixture
def pair(session: Session, world: World, clock: Clock) -> tuple[Officer, Officer]:
    """Two officers checked in at Loket 1 around the frozen clock (a poli's doctor and
    nurse): both on duty at one counter."""
    second = make_officer(session, world.home, OTHER_NIP, PICK_NAME)
    put_on_duty(session, world.officer, world.home.counter, clock.now)
    put_on_duty(session, second, world.home.counter, clock.now)
    return world.officer, second


def test_with_two_on_duty_the_page_offers_both_names_and_the_pick_counts(
    client: FlaskClient, session: Session, world: World, pair: tuple[Officer, Officer]
) -> None:
    first, second = pair
    page = client.get(f"/s/{world.home.token}")
    html = html_of(page)
    assert f"Petugas yang bertugas: {first.name}, {second.name}" in html
    assert "Siapa yang melayani Anda?" in html and "Tidak tahu / lewati" in html
    assert re.findall(r'name="officer" value="([^"]*)"', html) == [
        str(first.id), str(second.id), ""]
    assert checked(html, "officer") == [""]  # "don't know" unless the citizen says
    assert NIP not in html and OTHER_NIP not in html
    assert client.post(f"/s/{world.home.token}",
                       data=survey_form(page, officer=str(second.id))).status_code == 303
    assert attribution_of(session) == (second.id, "picked")


def test_with_two_on_duty_and_no_pick_the_response_counts_for_the_counter_only(
    client: FlaskClient, session: Session, world: World, pair: tuple[Officer, Officer]
) -> None:
    assert open_and_submit(client, world.home.token).status_code == 303
    assert attribution_of(session) == (None, "none")


@pytest.mark.parametrize("pick", ["stranger", "99999999999999999999", "1\x00", "-1", "abc",
                                  "\u202e1", "1" * 5000])
def test_a_pick_of_an_officer_not_on_duty_is_ignored(
    client: FlaskClient, session: Session, world: World, pair: tuple[Officer, Officer],
    clock: Clock, pick: str,
) -> None:
    if pick == "stranger":  # on duty, but at another unit's counter
        stranger = make_officer(session, world.other, "198512302010011003", "Dewi Lain")
        put_on_duty(session, stranger, world.other.counter, clock.now)
        pick = str(stranger.id)
    assert open_and_submit(client, world.home.token, officer=pick).status_code == 303
    assert attribution_of(session) == (None, "none")


def test_a_corrected_form_keeps_the_pick(
    client: FlaskClient, session: Session, world: World, pair: tuple[Officer, Officer]
) -> None:
    page = client.get(f"/s/{world.home.token}")
    again = post_back(client, f"/s/{world.home.token}",
                      survey_form(page, U1="", officer=str(pair[1].id)))
    assert checked(html_of(again), "officer") == [str(pair[1].id)]
    assert response_count(session) == 0


def test_with_one_officer_checked_in_the_page_names_them_and_no_pick_is_asked(
    client: FlaskClient, session: Session, world: World, clock: Clock
) -> None:
    put_on_duty(session, world.officer, world.home.counter, clock.now)
    page = client.get(f"/s/{world.home.token}")
    assert f"Petugas yang melayani: {world.officer.name}" in html_of(page)
    assert 'name="officer"' not in html_of(page)
    assert client.post(f"/s/{world.home.token}", data=survey_form(page)).status_code == 303
    assert attribution_of(session) == (world.officer.id, "checkin")


def test_nobody_checked_in_but_rostered_counts_for_the_roster(
    client: FlaskClient, session: Session, world: World, clock: Clock
) -> None:
    from datetime import time as clock_time

    from app.models import RosterShift

    # Monday 5 January 2026, 08.00–12.00 local; the frozen clock says 09.00 WIB.
    session.add(RosterShift(counter_id=world.home.counter.id, officer_id=world.officer.id,
                            weekday=0, starts=clock_time(8), ends=clock_time(12),
                            valid_from=date(2026, 1, 1)))
    session.commit()
    page = client.get(f"/s/{world.home.token}")
    assert "Petugas yang melayani" not in html_of(page)  # only who checked in is named
    assert client.post(f"/s/{world.home.token}", data=survey_form(page)).status_code == 303
    assert attribution_of(session) == (world.officer.id, "roster")


def test_nobody_on_duty_nor_rostered_counts_for_nobody(
    client: FlaskClient, session: Session, world: World, clock: Clock
) -> None:
    assert open_and_submit(client, world.home.token).status_code == 303
    assert attribution_of(session) == (None, "none")


def test_the_officer_checked_in_at_opening_counts_even_after_checking_out(
    client: FlaskClient, session: Session, world: World, clock: Clock
) -> None:
    assign_officer(session, world.officer, world.home.counter, clock.now - timedelta(hours=1),
                   clock.now + timedelta(minutes=5))
    session.commit()
    page = client.get(f"/s/{world.home.token}")
    clock.now += timedelta(minutes=20)  # the citizen answers slowly; the officer left
    assert client.post(f"/s/{world.home.token}", data=survey_form(page)).status_code == 303
    assert attribution_of(session) == (world.officer.id, "checkin")


@pytest.mark.parametrize("stamp", ["forged", "old", "future", "other-counter", "naive"])
def test_a_forged_or_old_opening_stamp_is_ignored(
    app: Flask, client: FlaskClient, session: Session, world: World, clock: Clock, stamp: str
) -> None:
    """The officer was on duty an hour ago (or will be in an hour), not now: a stamp that
    claims the form was opened then must not credit them."""
    secret = app.config["SECRET_KEY"]
    page = client.get(f"/s/{world.home.token}")
    counter_id = world.home.counter.id
    if stamp == "future":
        opened = clock.now + timedelta(hours=1)
        assign_officer(session, world.officer, world.home.counter, opened - timedelta(
            minutes=5), opened + timedelta(minutes=5))
    else:
        opened = clock.now - timedelta(hours=3)  # beyond the two hours a stamp is good for
        if stamp in ("forged", "other-counter", "naive"):
            opened = clock.now - timedelta(minutes=30)
        assign_officer(session, world.officer, world.home.counter, opened - timedelta(
            minutes=5), opened + timedelta(minutes=5))
    session.commit()
    ticket = {
        "forged": lambda: sign_ticket("not-the-secret", counter_id, opened),
        "old": lambda: sign_ticket(secret, counter_id, opened),
        "future": lambda: sign_ticket(secret, counter_id, opened),
        "other-counter": lambda: sign_ticket(secret, world.other.counter.id, opened),
        "naive": lambda: sign_ticket(secret, counter_id, opened.replace(tzinfo=None)),
    }[stamp]()
    posted = client.post(f"/s/{world.home.token}", data=survey_form(page, t=ticket))
    assert posted.status_code == 303
    assert attribution_of(session) == (None, "none")


def test_a_genuine_stamp_signed_like_the_page_does_is_honoured(
    app: Flask, client: FlaskClient, session: Session, world: World, clock: Clock
) -> None:
    """The counterpart of the forged-stamp test: the same construction with the app's own
    key and a recent instant does attribute (so the refusals above are not accidental)."""
    opened = clock.now - timedelta(minutes=30)
    assign_officer(session, world.officer, world.home.counter, opened - timedelta(minutes=5),
                   opened + timedelta(minutes=5))
    session.commit()
    page = client.get(f"/s/{world.home.token}")
    ticket = sign_ticket(app.config["SECRET_KEY"], world.home.counter.id, opened)
    assert client.post(f"/s/{world.home.token}",
                       data=survey_form(page, t=ticket)).status_code == 303
    assert attribution_of(session) == (world.officer.id, "checkin")


def test_the_pick_speaks_english_too(
    client: FlaskClient, world: World, pair: tuple[Officer, Officer]
) -> None:
    html = html_of(client.get(f"/s/{world.home.token}?lang=en"))
    assert "Who served you?" in html and "t know / skip" in html
    assert f"Officers on duty: {pair[0].name}, {pair[1].name}" in html
