"""The dashboard through its public surface: real sign-in, every role, scopes, the served form."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pytest
from factories import (
    NIP,
    OTHER_NIP,
    WIB_ZONE,
    SeededUnit,
    add_response,
    aggregate,
    csrf_token_of,
    make_officer,
    make_other_unit,
    make_unit,
    make_user,
    put_on_duty,
    release,
    sign_in,
    skm_survey,
)
from flask import Flask
from flask.testing import FlaskClient
from i18n_helpers import visible_text
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from app.models import Counter, Officer, ServedDay
from app.org import create_counter

WEEK = date(2026, 11, 16)  # Monday; the last complete week on CLOCK
CLOCK = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # Wednesday 10.00 WIB of the next week
AGGREGATED = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
THIRD_NIP = "198512302010011003"
HOSTILE = '<script>alert("loket")</script>'
LOW_COMMENT = "Petugas kurang ramah, antre lama."
OTHER_COMMENT = "Komentar rahasia Puskesmas."


@dataclass
class World:
    home: SeededUnit
    other: SeededUnit
    officer: Officer  # home unit, 12 answers on duty: scored
    newcomer: Officer  # home unit, 2 answers: "data belum cukup"
    stranger: Officer  # the other unit
    newcomer_counter_id: int  # L2, where the newcomer works


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), WIB_ZONE)


@pytest.fixture
def world(app: Flask, session: Session, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setattr("app.web.dashboard.utcnow", lambda: CLOCK)
    home, other = make_unit(session), make_other_unit(session)
    officer = make_officer(session, home)
    newcomer = make_officer(session, home, THIRD_NIP, "Rina Baru")
    stranger = make_officer(session, other, OTHER_NIP, "Siti Puskesmas")
    side = create_counter(session, home.unit, "L2", HOSTILE)
    session.commit()
    put_on_duty(session, officer, home.counter, local(WEEK, 12), margin=timedelta(days=5))
    put_on_duty(session, newcomer, side, local(WEEK, 12), margin=timedelta(days=5))
    put_on_duty(session, stranger, other.counter, local(WEEK, 12), margin=timedelta(days=5))
    survey = skm_survey(app)
    for minute in range(11):
        add_response(session, survey, home.counter, (3,) * 9, local(WEEK, 8, minute),
                     wait_band="15-30", measured=20 + minute)
    add_response(session, survey, home.counter, (1,) * 9, local(WEEK, 9),
                 comment=LOW_COMMENT)
    for minute in range(2):
        add_response(session, survey, side, (4,) * 9, local(WEEK, 10, minute),
                     comment=f"Cepat {minute}")
    for minute in range(3):
        add_response(session, survey, other.counter, (2,) * 9, local(WEEK, 8, minute),
                     comment=OTHER_COMMENT)
    session.commit()
    aggregate(app, AGGREGATED)
    make_user(session, "admin@contoh.go.id", "admin")
    make_user(session, "pemantau@contoh.go.id", "viewer")
    make_user(session, "kepala@contoh.go.id", "unit_head", unit=home.unit)
    make_user(session, "kepala.pkm@contoh.go.id", "unit_head", unit=other.unit)
    make_user(session, "petugas@contoh.go.id", "officer", unit=home.unit, officer=officer)
    make_user(session, "petugas.pkm@contoh.go.id", "officer", unit=other.unit,
              officer=stranger)
    release(session)
    return World(home, other, officer, newcomer, stranger, side.id)


def signed_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    answer = sign_in(client, email)
    assert answer.status_code == 303, answer.status_code
    return client


def html(page: TestResponse) -> str:
    return page.get_data(as_text=True)


def no_nip(page: TestResponse) -> None:
    body = html(page)
    for nip in (NIP, OTHER_NIP, THIRD_NIP):
        assert nip not in body


def served_rows(session: Session) -> int:
    # A fresh count, without expiring the world's objects: reloading one later would begin a
    # write transaction on this session and hold SQLite's lock against the next request.
    count = session.scalar(select(func.count()).select_from(ServedDay)) or 0
    release(session)
    return count


def unit_url(world: World, code: str | None = None, week: date | None = WEEK) -> str:
    url = f"/dashboard/units/{code or world.home.unit.code}"
    return f"{url}?week={week.isoformat()}" if week else url


# Anonymous -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/dashboard/", "/dashboard/units", "/dashboard/me",
                                  "/dashboard/units/DUKCAPIL", "/dashboard/officers/1"])
def test_anonymous_visitors_are_sent_to_sign_in(
    client: FlaskClient, world: World, path: str
) -> None:
    answer = client.get(path)
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/masuk")


def test_anonymous_served_post_is_refused_and_stores_nothing(
    client: FlaskClient, session: Session, world: World
) -> None:
    answer = client.post("/dashboard/units/DUKCAPIL/served",
                         data={"month": "2026-11", "served": "100"})
    assert answer.status_code in (302, 400)
    assert served_rows(session) == 0


# Unit head ------------------------------------------------------------------------------------


def test_a_unit_head_lands_on_their_units_last_complete_week(app: Flask, world: World) -> None:
    client = signed_in(app, "kepala@contoh.go.id")
    home = client.get("/dashboard/")
    assert home.status_code == 302
    assert home.headers["Location"] == "/dashboard/units/DUKCAPIL"
    page = client.get(home.headers["Location"])
    body = html(page)
    assert page.status_code == 200
    assert "16–22 November 2026" in body  # the default week is the last complete one
    assert "Disdukcapil Lampung Utara" in body
    # 11 answers of 3s and one of 1s and two of 4s: 25 x (297 + 9 + 72) / (9 x 14) = 75.00.
    assert "75,00" in body and "Kurang baik" in body
    assert LOW_COMMENT in body and OTHER_COMMENT not in body
    assert body.index(LOW_COMMENT) < body.index("Cepat 0")  # lowest score first
    assert 'class="score"' in body[body.index('id="komentar"'):]
    assert "bukan penilaian atau predikat" in body
    assert "Siti Puskesmas" not in body
    # Charts are inline SVG with a text equivalent; no script on the page at all.
    assert body.count('role="img"') == 1 and "<title" in body and "<desc" in body
    assert "<script" not in body
    # Counters scored from OFFICER_MIN_N answers, as officers: L1 (12 answers)
    # 25 x (297 + 9) / 108 = 70.83; L2's two all-4 answers (100.00) are its officer's.
    counters = html(client.get("/dashboard/units/DUKCAPIL?by=counter"))
    counters = counters[counters.index('id="rincian"'):counters.index('id="tren"')]
    assert "70,83" in counters and "Unsur terlemah" in counters
    assert "100,00" not in counters and "data belum cukup (kurang dari 10" in counters
    # The officer table, with the fairness rules and the method in plain Indonesian.
    officers = html(client.get("/dashboard/units/DUKCAPIL?by=officer"))
    assert "Cara membaca angka petugas" in officers
    assert "Ahmad Saputra" in officers and "Rina Baru" in officers
    assert "data belum cukup" in officers
    assert f'href="/dashboard/officers/{world.officer.id}?week=2026-11-16"' in officers
    assert "Siti Puskesmas" not in officers
    no_nip(page)


def test_a_unit_head_cannot_see_another_unit(app: Flask, session: Session, world: World) -> None:
    client = signed_in(app, "kepala@contoh.go.id")
    assert client.get(unit_url(world, "PKM-KTB2")).status_code in (403, 404)
    assert client.get(f"/dashboard/officers/{world.stranger.id}").status_code in (403, 404)
    page = client.get("/dashboard/units/DUKCAPIL")
    answer = client.post("/dashboard/units/PKM-KTB2/served",
                         data={"csrf_token": csrf_token_of(page), "month": "2026-11",
                               "served": "100", "week": "2026-11-16"})
    assert answer.status_code in (403, 404)
    assert served_rows(session) == 0
    units = html(client.get("/dashboard/units"))
    assert "Disdukcapil Lampung Utara" in units and "Puskesmas Kotabumi II" not in units


def test_another_units_page_answers_exactly_as_a_unit_that_does_not_exist(
    app: Flask, world: World
) -> None:
    client = signed_in(app, "kepala@contoh.go.id")
    hidden = client.get(unit_url(world, "PKM-KTB2"))
    missing = client.get(unit_url(world, "TIDAK-ADA"))
    assert hidden.status_code == missing.status_code == 404
    # Identical but for the address typed, which the language switch link repeats, and the
    # sign-out form's CSRF token (it carries the second it was made in).
    def page(text: str) -> str:
        return re.sub(r'value="[^"]*"(?=><button)', 'value=""', text)

    assert page(html(hidden).replace("PKM-KTB2", "TIDAK-ADA")) == page(html(missing))
    assert "Puskesmas" not in html(hidden)


def test_a_unit_head_sees_their_officers_page_with_the_nip(app: Flask, world: World) -> None:
    client = signed_in(app, "kepala@contoh.go.id")
    page = client.get(f"/dashboard/officers/{world.officer.id}?week=2026-11-18")
    body = html(page)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "private, no-store"  # not kept after signing out
    assert client.get(unit_url(world)).headers["Cache-Control"] == "private, no-store"
    assert "Ahmad Saputra" in body and NIP in body  # back office: the NIP may appear here
    assert LOW_COMMENT in body and "Cepat 0" not in body  # only while this officer was on duty
    comments = body[body.index('id="komentar"'):]
    assert NIP not in comments
    newcomer = html(client.get(f"/dashboard/officers/{world.newcomer.id}?week=2026-11-16"))
    assert "data belum cukup" in newcomer


def test_the_bad_week_is_a_400_in_indonesian(app: Flask, world: World) -> None:
    client = signed_in(app, "kepala@contoh.go.id")
    for bad in ("2026-02-30", "kemarin", "0001-01-01", "2026-11-1"):
        page = client.get(f"/dashboard/units/DUKCAPIL?week={bad}")
        assert page.status_code == 400
        body = html(page)
        assert "Permintaan tidak dapat diproses" in body
        assert "Tanggal" in body or "Minggu" in body or "Tahun" in body
    assert client.get("/dashboard/units/TIDAK-ADA").status_code == 404


def test_any_day_of_the_week_shows_that_week(app: Flask, world: World) -> None:
    client = signed_in(app, "kepala@contoh.go.id")
    body = html(client.get("/dashboard/units/DUKCAPIL?week=2026-11-22"))
    assert "16–22 November 2026" in body and "75,00" in body
    earlier = html(client.get("/dashboard/units/DUKCAPIL?week=2026-11-09"))
    assert "9–15 November 2026" in earlier and LOW_COMMENT not in earlier


def test_hostile_counter_names_are_escaped(app: Flask, world: World) -> None:
    client = signed_in(app, "kepala@contoh.go.id")
    body = html(client.get(unit_url(world)))
    assert HOSTILE not in body
    assert "&lt;script&gt;alert(" in body


# Served count form ----------------------------------------------------------------------------


def test_the_unit_page_sends_the_head_to_the_people_served_grid(
    app: Flask, session: Session, world: World
) -> None:
    """The monthly form is gone: people served are entered per counter and day in the back
    office; the page links there, and the old form's address leads there too."""
    client = signed_in(app, "kepala@contoh.go.id")
    page = client.get(unit_url(world))
    body = html(page)
    assert 'name="month"' not in body
    assert "/admin/served?unit=DUKCAPIL&amp;week=2026-11-16" in body
    old = client.post("/dashboard/units/DUKCAPIL/served",
                      data={"csrf_token": csrf_token_of(page), "month": "2026-11",
                            "served": "100", "week": "2026-11-16"})
    assert old.status_code == 303
    assert old.headers["Location"] == "/admin/served?unit=DUKCAPIL&week=2026-11-16"
    assert client.get(old.headers["Location"]).status_code == 200
    assert served_rows(session) == 0  # the old form stores nothing any more


def test_refused_staff_forms_answer_in_staff_words(app: Flask, session: Session,
                                                  world: World) -> None:
    """A stale CSRF token or an oversized body on a staff form gets a page for staff, not
    the citizens' "scan the QR code again" or "shorten your comment"."""
    client = signed_in(app, "kepala@contoh.go.id")
    stale = client.post("/dashboard/units/DUKCAPIL/served",
                        data={"csrf_token": "kedaluwarsa", "month": "2026-11", "served": "9"})
    huge = client.post("/dashboard/units/DUKCAPIL/served",
                       data={"month": "2026-11", "served": "9", "x": "9" * (1024 * 1024)})
    unknown = client.get("/dashboard/tidak-ada")
    for page, status, words in ((stale, 400, "Formulir kedaluwarsa"),
                                (huge, 413, "Kiriman terlalu besar"),
                                (unknown, 404, "Halaman tidak tersedia")):
        # The words people read: the page's random CSRF token may hold "QR" by chance.
        body = visible_text(html(page))
        assert page.status_code == status
        assert words in body and "QR" not in body and "komentar" not in body
        assert "Kembali ke ringkasan" in body
    assert served_rows(session) == 0


def test_the_served_form_needs_its_csrf_token(
    app: Flask, session: Session, world: World
) -> None:
    client = signed_in(app, "kepala@contoh.go.id")
    answer = client.post("/dashboard/units/DUKCAPIL/served",
                         data={"month": "2026-11", "served": "100", "week": "2026-11-16"})
    assert answer.status_code == 400
    assert served_rows(session) == 0


# Officer ----------------------------------------------------------------------------------------


def test_an_officer_sees_only_their_own_feedback(app: Flask, session: Session,
                                                  world: World) -> None:
    client = signed_in(app, "petugas@contoh.go.id")
    home = client.get("/dashboard/")
    assert home.status_code == 302 and home.headers["Location"] == "/dashboard/me"
    page = client.get("/dashboard/me")
    body = html(page)
    assert page.status_code == 200
    assert "Umpan balik warga untuk Anda" in body and "16–22 November 2026" in body
    assert "bukan penilaian atau predikat" in body
    assert LOW_COMMENT in body and "Cepat 0" not in body and OTHER_COMMENT not in body
    assert "Rina Baru" not in body  # nothing about colleagues
    assert "Mutu pelayanan" not in body  # the unit's categories are never an officer's grade
    # Comments carry the day but no time, so the officer cannot tell who wrote them.
    comments = body[body.index('id="komentar"'):]
    assert LOW_COMMENT in comments and " pukul " not in comments
    assert client.get(f"/dashboard/officers/{world.officer.id}").status_code == 200
    for forbidden in (f"/dashboard/officers/{world.newcomer.id}",
                      f"/dashboard/officers/{world.stranger.id}",
                      "/dashboard/officers/999999",
                      unit_url(world), unit_url(world, "PKM-KTB2"), "/dashboard/units"):
        assert client.get(forbidden).status_code in (403, 404), forbidden
    answer = client.post("/dashboard/units/DUKCAPIL/served",
                         data={"csrf_token": csrf_token_of(page), "month": "2026-11",
                               "served": "100"})
    assert answer.status_code in (403, 404)
    assert served_rows(session) == 0


def test_an_officer_below_the_minimum_sees_no_score(app: Flask, session: Session,
                                                     world: World) -> None:
    make_user(session, "baru@contoh.go.id", "officer", unit=world.home.unit,
              officer=world.newcomer)
    release(session)
    client = signed_in(app, "baru@contoh.go.id")
    body = html(client.get("/dashboard/me?week=2026-11-16"))
    assert "data belum cukup" in body
    assert "100,00" not in body  # their two all-4 answers are not scored


def test_below_the_minimum_comments_come_in_time_order_not_by_hidden_score(
    app: Flask, session: Session, world: World
) -> None:
    survey = skm_survey(app)
    side = session.get(Counter, world.newcomer_counter_id)
    assert side is not None
    add_response(session, survey, side, (1,) * 9, local(WEEK, 10, 5), comment="Lambat sekali")
    make_user(session, "baru@contoh.go.id", "officer", unit=world.home.unit,
              officer=world.newcomer)
    release(session)
    body = html(signed_in(app, "baru@contoh.go.id").get("/dashboard/me?week=2026-11-16"))
    assert "data belum cukup" in body
    # Sorted by score, the all-1 answer would come first and give its score away.
    assert body.index("Cepat 0") < body.index("Cepat 1") < body.index("Lambat sekali")
    # The unit head, who sees scores, gets the lowest first.
    head = html(signed_in(app, "kepala@contoh.go.id").get(unit_url(world)))
    assert head.index(LOW_COMMENT) < head.index("Lambat sekali") < head.index("Cepat 0")


# Viewer ------------------------------------------------------------------------------------------


def test_a_viewer_sees_every_unit_but_no_officer(app: Flask, session: Session,
                                                 world: World) -> None:
    client = signed_in(app, "pemantau@contoh.go.id")
    home = client.get("/dashboard/")
    assert home.headers["Location"] == "/dashboard/units"
    units = client.get("/dashboard/units?week=2026-11-16")
    assert "Disdukcapil Lampung Utara" in html(units) and "Puskesmas Kotabumi II" in html(units)
    no_nip(units)
    for code in ("DUKCAPIL", "PKM-KTB2"):
        page = client.get(unit_url(world, code))
        body = html(page)
        assert page.status_code == 200
        assert "Cara membaca angka petugas" not in body and 'id="petugas"' not in body
        assert 'id="dialog-ajakan"' not in body and "by=officer" not in body
        refused = client.get(f"/dashboard/units/{code}?by=officer")  # no officer breakdown
        assert 'id="petugas"' not in html(refused) and "Ahmad Saputra" not in html(refused)
        ranged = client.get(f"/dashboard/units/{code}?from=2026-11-01&to=2026-11-20")
        assert ranged.status_code == 400 and "kepala unit" in visible_text(html(ranged))
        for name in ("Ahmad Saputra", "Rina Baru", "Siti Puskesmas"):
            assert name not in body
        assert "/dashboard/officers/" not in body
        assert '/served"' not in body  # no served form
        no_nip(page)
    # Nothing finer than the unit is scored for a viewer: a counter's score is its officer's
    # where one officer staffs it, and the survey page names the officer on duty.
    body = html(client.get(unit_url(world)))
    assert "75,00" in body and "Kurang baik" in body  # the unit's own figures
    assert "70,83" not in body and "100,00" not in body
    counters = html(client.get(unit_url(world) + "&by=counter"))
    counters = counters[counters.index('id="rincian"'):counters.index('id="tren"')]
    assert "&lt;script&gt;alert(" in counters and "70,83" not in counters
    assert "100,00" not in counters
    assert "Unsur terlemah" not in counters and "hanya untuk kepala unit dan admin" in counters
    comments = body[body.index('id="komentar"'):]
    assert LOW_COMMENT in comments and "Cepat 0" in comments  # the citizens' words stay
    assert 'class="score"' not in comments and " pukul " not in comments
    assert "menurut kata" in comments
    # The Puskesmas had three responses (all 2s: 50,00): too few to show a viewer, since so
    # few may be one officer's; its own head sees the score.
    small = html(client.get(unit_url(world, "PKM-KTB2")))
    assert "Data belum cukup: kurang dari 10 tanggapan" in small and "50,00" not in small
    units = html(client.get("/dashboard/units?week=2026-11-16"))
    assert "75,00" in units and "50,00" not in units
    head = signed_in(app, "kepala.pkm@contoh.go.id")
    assert "50,00" in html(head.get(unit_url(world, "PKM-KTB2")))
    for officer in (world.officer, world.stranger):
        assert client.get(f"/dashboard/officers/{officer.id}").status_code in (403, 404)
    assert client.get("/dashboard/me").status_code in (403, 404)
    page = client.get(unit_url(world))
    answer = client.post("/dashboard/units/DUKCAPIL/served",
                         data={"csrf_token": csrf_token_of(page), "month": "2026-11",
                               "served": "100"})
    assert answer.status_code in (403, 404)
    assert served_rows(session) == 0


# Admin -----------------------------------------------------------------------------------------


def test_an_admin_sees_everything_and_is_sent_to_record_people_served(
    app: Flask, session: Session, world: World
) -> None:
    client = signed_in(app, "admin@contoh.go.id")
    assert client.get("/dashboard/").headers["Location"] == "/dashboard/units"
    other = client.get(unit_url(world, "PKM-KTB2"))
    assert OTHER_COMMENT in html(other)
    assert "Siti Puskesmas" in html(client.get(unit_url(world, "PKM-KTB2") + "&by=officer"))
    no_nip(other)
    assert client.get(f"/dashboard/officers/{world.stranger.id}").status_code == 200
    page = client.get(unit_url(world, "PKM-KTB2"))
    answer = client.post("/dashboard/units/PKM-KTB2/served",
                         data={"csrf_token": csrf_token_of(page), "month": "2026-11",
                               "served": "50", "week": "2026-11-16"})
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/admin/served?unit=PKM-KTB2&week=2026-11-16"
    assert served_rows(session) == 0
    assert client.get("/dashboard/me").status_code == 404  # an admin is not an officer


# Defects of issue 12 -------------------------------------------------------------------------


def test_viewers_get_comments_without_counter_or_day(app: Flask, world: World) -> None:
    """The counter and the day of a comment tell who was on duty; a viewer gets the week."""
    viewer = html(signed_in(app, "pemantau@contoh.go.id").get(unit_url(world)))
    comments = viewer[viewer.index('id="komentar"'):viewer.index('id="sampel"')]
    assert LOW_COMMENT in comments and "Cepat 0" in comments
    assert world.home.counter.name not in comments and "&lt;script&gt;" not in comments
    assert "<time" not in comments
    assert not any(day in comments for day in ("Senin", "Selasa", "16/11"))
    head = html(signed_in(app, "kepala@contoh.go.id").get(unit_url(world)))
    comments = head[head.index('id="komentar"'):head.index('id="sampel"')]
    assert world.home.counter.name in comments and "Senin 16/11" in comments


def test_the_health_service_standard_is_cited_for_health_units_only(
    app: Flask, world: World
) -> None:
    client = signed_in(app, "admin@contoh.go.id")
    dukcapil = html(client.get(unit_url(world)))
    puskesmas = html(client.get(unit_url(world, "PKM-KTB2")))
    assert "menunggu paling lama 60 menit" in dukcapil
    assert "layanan kesehatan" not in dukcapil
    assert "Acuan indikator mutu nasional layanan kesehatan: paling sedikit 80" in puskesmas


def test_a_future_week_is_refused_kindly_and_the_picker_is_bounded(
    app: Flask, world: World
) -> None:
    client = signed_in(app, "kepala@contoh.go.id")
    this_week = "2026-11-23"  # CLOCK is Wednesday 25 November
    for path in (unit_url(world), f"/dashboard/officers/{world.officer.id}",
                 "/dashboard/units"):
        base = path.split("?")[0]
        answer = client.get(f"{base}?week=2026-11-30")
        assert answer.status_code == 303, path
        assert answer.headers["Location"] == f"{base}?week={this_week}"
        page = html(client.get(answer.headers["Location"]))
        assert "Minggu 30 November – 6 Desember 2026 belum tiba" in page
        assert "23–29 November 2026" in page
    far = client.get("/dashboard/units/DUKCAPIL?week=2027-03-01")
    assert far.headers["Location"] == f"/dashboard/units/DUKCAPIL?week={this_week}"
    assert "Minggu 1–7 Maret 2027 belum tiba" in html(client.get(far.headers["Location"]))
    # The week in progress itself is shown, with its warning; the picker stops at its Sunday.
    current = html(client.get(f"/dashboard/units/DUKCAPIL?week={this_week}"))
    assert "Periode ini belum selesai" in current and "belum tiba" not in current
    assert 'min="2000-01-01" max="2026-11-29"' in current


def test_a_viewer_is_not_told_to_fill_in_a_form_they_are_not_shown(
    app: Flask, world: World
) -> None:
    viewer = html(signed_in(app, "pemantau@contoh.go.id").get(unit_url(world)))
    assert "belum diisi" in viewer and "/admin/served" not in viewer
    head = html(signed_in(app, "kepala@contoh.go.id").get(unit_url(world)))
    assert "/admin/served?unit=DUKCAPIL" in head
