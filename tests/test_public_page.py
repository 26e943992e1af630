"""The public pages: `/` with every unit's published quarter and "Anda berkata, kami
lakukan", a unit's trend, the A4 notice, the open-data CSV; what they never show, HTTP
caching, weight and bad addresses."""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from factories import (
    NIP,
    SeededUnit,
    add_response,
    aggregate,
    cached_password_hash,
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
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app import publishing
from app.actions import ActionValues, create_action
from app.models import Case, CaseContact, Publication, Response, Unit
from app.publishing import OPEN_DATA_COLUMNS

WIB = ZoneInfo("Asia/Jakarta")
Q3 = date(2026, 7, 1)
NOW = datetime(2026, 10, 5, 10, 0, tzinfo=WIB)
OFFICER = "Rahmat Penandasari"
HEAD = "kepala.penanda@contoh.go.id"
# Marker strings: published ones must appear, hidden ones never.
SHOWN_ACTION = "Kursi tambahan di ruang tunggu TERBIT5521"
HIDDEN_ACTION = "Rencana internal TERSEMBUNYI3318"
WHO = "Bapak Penanggungjawab RAHASIA9912"
COMMENT = "Petugasnya lambat sekali KOMENTAR7781"
SHOWN_CASE = "Antrean dipercepat dengan nomor antrean RINGKASAN4410"
HIDDEN_CASE = "Ringkasan belum terbit TERSEMBUNYI2231"
ANSWER = "Jawaban untuk warga JAWABAN6620"
LAPOR = "LAPOR-RAHASIA-0001"
PHONE, EMAIL = "081299887766", "warga.penanda@contoh.id"
NEVER = (OFFICER, NIP, HEAD, HIDDEN_ACTION, WHO, COMMENT, HIDDEN_CASE, ANSWER, LAPOR, PHONE,
         EMAIL, "REF4-SECR")
PAGES = ("/", "/?lang=en", "/publik/DUKCAPIL", "/publik/DUKCAPIL?lang=en",
         "/publik/DUKCAPIL/2026-Q3/cetak", "/publik/DUKCAPIL/2026-Q3/cetak?lang=en",
         "/publik/data.csv")


@pytest.fixture(autouse=True)
def _cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("app.users.generate_password_hash", cached_password_hash)


@dataclass
class World:
    home: SeededUnit
    unit_id: int


def _at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=WIB)


def seed_responses(app: Flask, session: Session, seeded: SeededUnit, count: int, *,
                   comment: str | None = None, now: datetime = NOW) -> list[Response]:
    survey = skm_survey(app)
    rows = []
    for i in range(count):
        day = date(2026, 7, 6) + timedelta(days=7 * (i // 5) + i % 5)
        rows.append(add_response(session, survey, seeded.counter, (3, 3, 2, 4, 3, 3, 4, 3, 3),
                                 _at(day, 8 + i % 6), comment=comment if i % 3 == 0 else None,
                                 measured=15 + i))
    session.commit()
    aggregate(app, now)
    return rows


def add_case(session: Session, unit_id: int, response: Response, reference: str, *,
             summary: str | None, published: bool, state: str = "closed") -> Case:
    case = Case(reference=reference, response_id=response.id, unit_id=unit_id,
                reasons="declared", state=state, opened_at=datetime(2026, 7, 6, 2, tzinfo=UTC),
                opened_on=date(2026, 7, 6), verify_due_on=date(2026, 7, 9),
                verified_on=date(2026, 7, 8), closed_at=datetime(2026, 7, 20, 3, tzinfo=UTC),
                answer=ANSWER, lapor_number=LAPOR, public_summary=summary, published=published)
    session.add(case)
    session.flush()
    return case


@pytest.fixture
def world(app: Flask, session: Session) -> World:
    """DUKCAPIL with an officer on duty, 12 responses in 2026-Q3 (some with a comment),
    the quarter published, one published and one internal action, three cases of which
    one is published with a summary; every hidden text is a unique marker."""
    home = make_unit(session)
    officer = make_officer(session, home, NIP, OFFICER)
    put_on_duty(session, officer, home.counter, _at(date(2026, 8, 1)), timedelta(days=60))
    make_user(session, HEAD, "unit_head", unit=home.unit)
    rows = seed_responses(app, session, home, 12, comment=COMMENT)
    unit = session.get(Unit, home.unit.id)
    assert unit is not None
    publishing.publish(session, unit, "quarter", Q3, user_id=None, now=NOW, min_n=10, tz=WIB)
    shown = create_action(session, unit, ActionValues(
        "U3", SHOWN_ACTION, WHO, date(2026, 10, 1), date(2026, 11, 30), "in_progress"),
        user_id=None, now=NOW)
    publishing.set_action_published(session, shown, True, now=NOW)
    create_action(session, unit, ActionValues(
        "U7", HIDDEN_ACTION, WHO, date(2026, 10, 1), date(2026, 11, 30)), user_id=None, now=NOW)
    first = add_case(session, unit.id, rows[0], "REF1-PUBL", summary=SHOWN_CASE,
                     published=True)
    session.add(CaseContact(case_id=first.id, phone=PHONE, email=EMAIL, consent_at=NOW,
                            purpose="Dihubungi tentang pengaduan"))
    add_case(session, unit.id, rows[3], "REF2-HIDE", summary=HIDDEN_CASE, published=False)
    add_case(session, unit.id, rows[6], "REF4-SECR", summary=None, published=True,
             state="new")
    session.commit()
    release(session)
    return World(home, unit.id)


def body(client: FlaskClient, path: str, **headers: str) -> str:
    answer = client.get(path, headers=headers)
    assert answer.status_code == 200, (path, answer.status_code)
    return answer.get_data(as_text=True)


# What is shown and what never is -----------------------------------------------------------


def test_the_front_page_shows_each_units_quarter_and_what_was_done(
        client: FlaskClient, world: World) -> None:
    html = body(client, "/?lang=en")
    text = visible_text(html)
    # Still the service's front page ...
    assert "scan the QR code at the counter" in text
    assert '<a href="/masuk">Staff sign-in</a>' in html
    # ... with the published quarter: index, category, responses and the exact dates.
    assert "Disdukcapil Lampung Utara 2026-Q3 June 29, 2026 – September 27, 2026 77.78 " \
        "B (Good) 12" in text
    assert 'href="/publik/DUKCAPIL"' in html
    assert "You said, we did" in text
    assert SHOWN_ACTION in text and "In progress" in text
    assert "U3" in text
    assert SHOWN_CASE in text
    assert "received July 6, 2026" in text and "completed July 20, 2026" in text


def test_the_front_page_speaks_indonesian_first(client: FlaskClient, world: World) -> None:
    html = body(client, "/")
    assert '<html lang="id">' in html
    assert "77,78" in visible_text(html) and "B (Baik)" in visible_text(html)
    assert "29 Juni 2026 – 27 September 2026" in visible_text(html)
    assert '<a class="lang" href="?lang=en" lang="en">English</a>' in html


@pytest.mark.parametrize("path", ["/?lang=en", "/publik/DUKCAPIL?lang=en",
                                  "/publik/DUKCAPIL/2026-Q3/cetak?lang=en"])
def test_english_pages_show_no_indonesian_but_names_and_what_was_written(
        client: FlaskClient, world: World, path: str) -> None:
    html = body(client, path)
    names = ["Disdukcapil Lampung Utara", "Loket Satu Perekaman", SHOWN_ACTION, SHOWN_CASE]
    assert_no_indonesian(html, names)
    # The same check trips on the Indonesian page (once its catalogue holds these texts,
    # on more than the data).
    assert indonesian_words(visible_text(body(client, path.replace("lang=en", "lang=id"))),
                            names)


@pytest.mark.parametrize("path", PAGES)
def test_no_page_shows_an_officer_a_comment_a_contact_or_anything_unpublished(
        client: FlaskClient, world: World, path: str) -> None:
    html = body(client, path)
    for marker in NEVER:
        assert marker not in html, (path, marker)
    assert "<script" not in html  # nothing needs JavaScript
    if path.endswith(".csv"):
        return
    assert SHOWN_ACTION in html
    assert "<form" not in html  # a reader sends nothing


def test_the_unit_page_shows_the_trend_and_what_changed(
        app: Flask, client: FlaskClient, session: Session, world: World) -> None:
    # Ten answers synced late into Q3: nothing changes until the head publishes again
    # (fewer than OFFICER_MIN_N could not be published again: they would be told apart).
    before = body(client, "/publik/DUKCAPIL?lang=en")
    later = NOW + timedelta(days=3)
    seed_responses(app, session, world.home, 10, now=later)
    assert body(client, "/publik/DUKCAPIL?lang=en") == before
    assert "77.78" in visible_text(body(client, "/?lang=en"))
    unit = session.get(Unit, world.unit_id)
    assert unit is not None
    publishing.publish(session, unit, "quarter", Q3, user_id=None, now=later, min_n=10, tz=WIB)
    session.commit()
    release(session)
    text = visible_text(body(client, "/publik/DUKCAPIL?lang=en"))
    assert "2026-Q3" in text and "revision 2" in text
    assert "changed since the previous revision: responses 12 → 22" in text
    assert 'style="width:' in body(client, "/publik/DUKCAPIL")  # the bars, CSS only
    assert "Print for the notice board" in text
    front = visible_text(body(client, "/?lang=en"))
    assert " 22" in front.split("2026-Q3", 1)[1].split("You said")[0]


def test_the_notice_is_an_a4_page_without_names(client: FlaskClient, world: World) -> None:
    html = body(client, "/publik/DUKCAPIL/2026-Q3/cetak?lang=en")
    assert "@page{size:A4" in html and "@media print" in html
    text = visible_text(html)
    assert "Satisfaction index 2026-Q3" in text
    assert "from June 29, 2026 to September 27, 2026" in text
    assert "77.78" in text and "B (Good)" in text
    assert "U3" in text and "2.0000" in text


def test_the_open_data_equals_the_snapshots(client: FlaskClient, session: Session,
                                            world: World) -> None:
    answer = client.get("/publik/data.csv")
    assert answer.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert tuple(rows[0]) == OPEN_DATA_COLUMNS
    stored = session.scalars(select(Publication)).one()
    snapshot = json.loads(stored.snapshot)
    release(session)
    assert len(rows) == 1
    row = rows[0]
    assert (row["unit"], row["period"], row["first_day"], row["last_day"]) == (
        "DUKCAPIL", "2026-Q3", snapshot["first_day"], snapshot["last_day"])
    assert (int(row["n"]), float(row["ikm"]), row["category"]) == (
        snapshot["n"], snapshot["ikm"], snapshot["category"])
    assert {code: float(row[code]) for code in snapshot["elements"]} == snapshot["elements"]
    assert row["revision"] == "1"
    assert datetime.fromisoformat(row["published_at"]) == NOW


def test_a_withdrawn_period_leaves_every_page(client: FlaskClient, session: Session,
                                              world: World) -> None:
    unit = session.get(Unit, world.unit_id)
    assert unit is not None
    publishing.withdraw(session, unit, "quarter", Q3, now=NOW)
    session.commit()
    release(session)
    assert "77" not in visible_text(body(client, "/?lang=en")).split("You said")[0]
    assert len(body(client, "/publik/data.csv").strip().splitlines()) == 1  # the header
    assert client.get("/publik/DUKCAPIL/2026-Q3/cetak").status_code == 404


def test_an_empty_service_says_nothing_is_published_yet(client: FlaskClient,
                                                        session: Session) -> None:
    text = visible_text(body(client, "/?lang=en"))
    assert "No unit has published its figures yet." in text
    assert "Nothing has been published yet." in text


# HTTP: caching, weight, bad addresses -------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/publik/DUKCAPIL", "/publik/DUKCAPIL/2026-Q3/cetak",
                                  "/publik/data.csv"])
def test_pages_are_cacheable_and_answer_304(client: FlaskClient, world: World,
                                            path: str) -> None:
    first = client.get(path)
    assert first.headers["Cache-Control"] in ("public, max-age=300", "max-age=300, public")
    assert "Cookie" in first.headers["Vary"]
    etag = first.headers["ETag"]
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    if len(first.data) < 500:
        return  # too small to compress (COMPRESS_MIN_SIZE)
    # Compressed as Flask-Compress serves it: its own ETag, and a 304 for it too.
    zipped = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.data) == first.data
    assert zipped.headers["ETag"] != etag
    assert client.get(path, headers={"Accept-Encoding": "gzip",
                                     "If-None-Match": zipped.headers["ETag"]}).status_code == 304
    # Another page's validator is not this one's.
    assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200


def test_a_new_publication_changes_the_etag(client: FlaskClient, session: Session,
                                            world: World) -> None:
    etag = client.get("/").headers["ETag"]
    unit = session.get(Unit, world.unit_id)
    assert unit is not None
    publishing.withdraw(session, unit, "quarter", Q3, now=NOW)
    session.commit()
    release(session)
    assert client.get("/", headers={"If-None-Match": etag}).status_code == 200


def test_staff_and_language_switches_are_not_kept_by_shared_caches(
        client: FlaskClient, world: World) -> None:
    assert "private" in client.get("/?lang=en").headers["Cache-Control"]
    sign_in(client, HEAD)
    signed_in = client.get("/")
    assert "private" in signed_in.headers["Cache-Control"]
    assert "public" not in signed_in.headers["Cache-Control"]


def _words(rng: random.Random, vocabulary: list[str], length: int) -> str:
    out: list[str] = []
    while sum(len(w) + 1 for w in out) < length:
        out.append(rng.choice(vocabulary))
    return " ".join(out)[:length]


def test_pages_weigh_at_most_30_kb_compressed_at_a_regencys_size(
        app: Flask, client: FlaskClient, session: Session) -> None:
    """60 units with eight published quarters, two semesters and two years each, and 40
    published actions and 40 case summaries of the longest length allowed (2000
    characters of words drawn from 400 made-up ones, about as compressible as prose)."""
    rng = random.Random(15)  # noqa: S311 (test data)
    vocabulary = ["".join(rng.choice("abcdefghijklmnoprstuwy") for _ in range(rng.randint(
        3, 11))) for _ in range(400)]
    home = make_unit(session)
    session.execute(insert(Unit), [
        {"code": f"PKM-{u:02d}", "name": f"Puskesmas {_words(rng, vocabulary, 40)}",
         "kind": "puskesmas", "arrival_token": f"arrival-token-{u:06d}", "active": True}
        for u in range(59)])
    units = list(session.scalars(select(Unit).order_by(Unit.id)))
    periods = ([("quarter", date(2025 + q // 4, q % 4 * 3 + 1, 1)) for q in range(8)]
               + [("semester", date(2025, 1, 1)), ("semester", date(2025, 7, 1)),
                  ("year", date(2025, 1, 1)), ("year", date(2026, 1, 1))])
    for unit in units:
        for kind, label in periods:
            snapshot = {
                "format": 1, "unit": {"code": unit.code, "name": unit.name}, "kind": kind,
                "label": label.isoformat(), "period": "x", "first_day": "2025-01-01",
                "last_day": "2025-03-30", "n": rng.randint(30, 4000),
                "ikm": rng.randint(6500, 9999) / 100, "category": rng.choice("ABCD"),
                "elements": {f"U{i}": rng.randint(20000, 40000) / 10000 for i in range(1, 10)},
                "wait": {"measured_n": 10, "median": 20},
                "sample": {"served": 3000, "required": 341, "adequate": True}}
            session.add(Publication(unit_id=unit.id, period_kind=kind, period_start=label,
                                    revision=1, snapshot=json.dumps(snapshot),
                                    published_at=NOW))
    survey = skm_survey(app)
    for i in range(40):
        action = create_action(session, home.unit, ActionValues(
            f"U{1 + i % 9}", _words(rng, vocabulary, 2000), "Seksi", date(2026, 10, 1),
            date(2026, 12, 1)), user_id=None, now=NOW)
        action.published = True
        response = add_response(session, survey, home.counter, (3,) * 9,
                                _at(date(2026, 7, 6)))
        session.add(Case(reference=uuid.uuid4().hex[:9], response_id=response.id,
                         unit_id=home.unit.id, reasons="declared", state="closed",
                         opened_at=NOW, opened_on=NOW.date(), verify_due_on=NOW.date(),
                         public_summary=_words(rng, vocabulary, 2000), published=True))
    session.commit()
    release(session)
    for path in ("/", "/?lang=en", "/publik/DUKCAPIL", "/publik/PKM-01",
                 "/publik/PKM-01/2026-Q4/cetak", "/publik/DUKCAPIL?lang=en"):
        answer = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert answer.status_code == 200, path
        assert answer.headers["Content-Encoding"] == "gzip"
        assert len(answer.data) <= 30 * 1024, (path, len(answer.data))
    front = gzip.decompress(client.get("/", headers={"Accept-Encoding": "gzip"}).data)
    assert front.count(b'href="/publik/') >= 60  # every unit is on it


@pytest.mark.parametrize("path", [
    "/publik/NOPE", "/publik/" + "A" * 5000,  # NUL: the boundary rule's 400
    "/publik/DUKCAPIL/2026-Q9/cetak", "/publik/DUKCAPIL/2026-11/cetak",
    "/publik/DUKCAPIL/2026-W40/cetak", "/publik/DUKCAPIL/2026-Q4/cetak",
    "/publik/DUKCAPIL/1999-Q3/cetak",
    "/publik/NOPE/2026-Q3/cetak", "/publik/DUKCAPIL/2026-Q3",
    "/publik/DUKCAPIL/" + "9" * 5000 + "/cetak", "/publik/data.json",
])
def test_unknown_units_and_periods_are_a_kind_404(client: FlaskClient, world: World,
                                                  path: str) -> None:
    answer = client.get(path + ("&" if "?" in path else "?") + "lang=en")
    assert answer.status_code == 404
    html = answer.get_data(as_text=True)
    assert "<script" not in html
    assert 'href="/"' in html or "Page not found" in visible_text(html)


def test_only_get_reads_the_public_pages(client: FlaskClient, world: World) -> None:
    for path in ("/", "/publik/DUKCAPIL", "/publik/data.csv"):
        assert client.post(path).status_code == 405
    assert client.head("/").status_code == 200
