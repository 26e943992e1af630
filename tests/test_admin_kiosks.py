"""Back office: kiosks (the device list, adding one and its pairing code, editing, a new
code, revoking, the quarantine) and citizens' calls for an officer on the unit's board."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import zxingcpp
from factories import (
    SeededUnit,
    add_response,
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
from test_posters import matrix_image, svg_matrix
from werkzeug.test import TestResponse

from app import kiosks
from app.config import Settings
from app.kiosks import KioskSettings, create_kiosk
from app.models import AuditEntry, Kiosk, KioskCall, OpeningHours
from app.org import create_counter

WIB = ZoneInfo("Asia/Jakarta")
NOW = datetime(2026, 3, 16, 10, 0, tzinfo=WIB)  # a Monday, within opening hours
ADMIN, HEAD, OTHER_HEAD = "admin@contoh.go.id", "kepala@contoh.go.id", "kepala.pkm@contoh.go.id"
CODE_ON_PAGE = re.compile(r'<p class="code"[^>]*>(\d{3})&#8239;(\d{3})</p>')
INLINE_SVG = re.compile(r"<svg.*?</svg>", re.S)


@pytest.fixture(autouse=True)
def _cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("app.users.generate_password_hash", cached_password_hash)


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    for where in ("app.web.admin.kiosks", "app.web.admin.duty", "app.web.dashboard"):
        monkeypatch.setattr(f"{where}.utcnow", lambda: NOW)


@dataclass
class World:
    home: SeededUnit
    other: SeededUnit
    # Plain copies: the tests expire the session's objects to read fresh rows, and a lazy
    # load in the test's session would hold SQLite's write lock against the app.
    home_unit: int
    other_unit: int
    home_counter: int
    second_counter: int  # another counter of home
    home_services: tuple[int, int]
    other_counter: int
    other_service: int
    home_kiosk: int  # paired, a heartbeat five minutes ago
    other_kiosk: int


def _add_kiosk(session: Session, seeded: SeededUnit, name: str, *, paired: bool = True,
               placement: str | None = None) -> Kiosk:
    kiosk, code = create_kiosk(session, seeded.unit, KioskSettings(name=name,
                                                                   placement=placement),
                               now=NOW - timedelta(days=1))
    if paired:
        assert kiosks.pair(session, code, now=NOW - timedelta(days=1)) is not None
    return kiosk


@pytest.fixture
def world(session: Session) -> World:
    home, other = make_unit(session), make_other_unit(session)
    second = create_counter(session, home.unit, "L2", "Loket Dua Kartu Keluarga")
    for seeded in (home, other):
        session.add_all([OpeningHours(unit_id=seeded.unit.id, weekday=day, opens=time(8),
                                      closes=time(15)) for day in range(5)])
    home_kiosk = _add_kiosk(session, home, "Tablet Lobi", placement="Dekat pintu keluar")
    home_kiosk.last_seen_at = NOW - timedelta(minutes=5)
    other_kiosk = _add_kiosk(session, other, "Tablet Poli Gigi Rahasia")
    other_kiosk.last_seen_at = NOW - timedelta(minutes=5)
    session.commit()
    make_user(session, ADMIN, "admin")
    make_user(session, "pemantau@contoh.go.id", "viewer")
    make_user(session, HEAD, "unit_head", unit=home.unit)
    make_user(session, OTHER_HEAD, "unit_head", unit=other.unit)
    world = World(home, other, home.unit.id, other.unit.id, home.counter.id, second.id,
                  (home.services[0].id, home.services[1].id), other.counter.id,
                  other.services[0].id, home_kiosk.id, other_kiosk.id)
    release(session)
    return world


def signed_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    client.set_cookie("lang", "en")
    answer = sign_in(client, email)
    assert answer.status_code == 303, answer.status_code
    return client


def html(page: TestResponse) -> str:
    return page.get_data(as_text=True)


def text(page: TestResponse) -> str:
    """The page's words, tags left out and white space squeezed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html(page)).split())


def fresh_kiosks(session: Session) -> list[Kiosk]:
    session.expire_all()
    rows = list(session.scalars(select(Kiosk).order_by(Kiosk.id)))
    release(session)
    return rows


def audit_actions(session: Session, kiosk_id: int) -> list[str]:
    session.expire_all()
    rows = list(session.scalars(select(AuditEntry.action).where(
        AuditEntry.object_type == "kiosk", AuditEntry.object_id == str(kiosk_id))
        .order_by(AuditEntry.id)))
    release(session)
    return rows


def new_kiosk_form(client: FlaskClient, unit_id: int | None = None, **fields: object
                   ) -> TestResponse:
    """POST the real form (its CSRF token read from the page) with some fields changed."""
    query = f"?unit={unit_id}" if unit_id else ""
    page = client.get(f"/admin/kiosks/new{query}")
    assert page.status_code == 200
    data: dict[str, object] = {"csrf_token": csrf_token_of(page), "name": "Tablet Loket",
                               "placement": "", "idle_seconds": "30",
                               "countdown_seconds": "20", "fast_seconds": "7",
                               "burst_seconds": "5"}
    if unit_id:
        data["unit"] = str(unit_id)
    data.update(fields)
    return client.post(f"/admin/kiosks/new{query}", data=data)


def shown_code(page: TestResponse) -> str | None:
    found = CODE_ON_PAGE.search(html(page))
    return found.group(1) + found.group(2) if found else None


# Adding a kiosk and its pairing code ---------------------------------------------------------


def test_a_unit_head_adds_a_kiosk_and_sees_its_pairing_code_once(
    app: Flask, session: Session, settings: Settings, world: World
) -> None:
    client = signed_in(app, HEAD)
    form = client.get("/admin/kiosks/new")
    # A head of one unit: the unit is fixed, its counters and services are offered.
    assert "DUKCAPIL — Disdukcapil Lampung Utara" in html(form)
    assert 'id="unit-pick"' not in html(form)
    assert "Loket Dua Kartu Keluarga (L2)" in html(form) and "Kartu Keluarga (KK)" in html(form)
    answer = new_kiosk_form(client, name="  Tablet Poli Umum ", placement="Lobi depan",
                            counters=[str(world.second_counter)],
                            services=[str(world.home_services[1])], idle_seconds="45",
                            countdown_seconds="15", fast_seconds="9", burst_seconds="3")
    assert answer.status_code == 303, html(answer)
    kiosk = fresh_kiosks(session)[-1]
    assert answer.headers["Location"] == f"/admin/kiosks/{kiosk.id}/pairing"
    assert (kiosk.name, kiosk.placement, kiosk.unit_id) == (
        "Tablet Poli Umum", "Lobi depan", world.home_unit)
    assert [c.code for c in kiosk.counters] == ["L2"]
    assert [s.code for s in kiosk.services] == ["KK"]
    assert (kiosk.idle_seconds, kiosk.countdown_seconds, kiosk.fast_seconds,
            kiosk.burst_seconds) == (45, 15, 9, 3)

    page = client.get(answer.headers["Location"])
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    code = shown_code(page)
    assert code is not None
    url = f"{settings.public_base_url}/kiosk/#pair={code}"
    body = html(page)
    assert f"<code>{url}</code>" in body
    assert "Valid until 10:10 (10 minutes), for one tablet." in body
    assert f"{settings.public_base_url}/kiosk in Chrome" in body
    # The inline QR code carries the pairing URL.
    svg = INLINE_SVG.search(body)
    assert svg is not None
    found = zxingcpp.read_barcodes(matrix_image(svg_matrix(svg.group(0))),
                                   formats=zxingcpp.BarcodeFormat.QRCode)
    assert [barcode.text for barcode in found] == [url]
    # Shown once: a reload no longer shows it.
    again = client.get(answer.headers["Location"])
    assert shown_code(again) is None and "shown once" in html(again)
    # The code is the kiosk's real one: a tablet pairs with it.
    paired = kiosks.pair(session, code, now=NOW + timedelta(minutes=9))
    assert paired is not None and paired[0].id == kiosk.id
    session.commit()
    assert audit_actions(session, kiosk.id) == ["kiosk.create", "kiosk.pairing_code",
                                                "kiosk.paired"]


def test_an_administrator_picks_the_unit_first(app: Flask, session: Session,
                                               world: World) -> None:
    client = signed_in(app, ADMIN)
    first = html(client.get("/admin/kiosks/new"))
    assert 'id="unit-pick"' in first and '<option value="">Choose a unit</option>' in first
    assert 'name="name"' not in first  # no unit yet: no settings form
    page = html(client.get(f"/admin/kiosks/new?unit={world.other_unit}"))
    assert "Ruang Poli Gigi (GIGI)" in page and "Loket Satu Perekaman" not in page
    answer = new_kiosk_form(client, world.other_unit, name="Tablet Puskesmas",
                            counters=[str(world.other_counter)])
    assert answer.status_code == 303
    kiosk = fresh_kiosks(session)[-1]
    assert kiosk.unit_id == world.other_unit and [c.code for c in kiosk.counters] == ["GIGI"]


BAD_INPUT = [
    pytest.param({"name": ""}, "name", "Give the kiosk a name.", id="missing-name"),
    pytest.param({"name": "   "}, "name", "Give the kiosk a name.", id="blank-name"),
    pytest.param({"name": "T" * 81}, "name", "A name has at most 80 characters.",
                 id="oversized-name"),
    pytest.param({"placement": "P" * 121}, "placement",
                 "A placement has at most 120 characters.", id="oversized-placement"),
    pytest.param({"name": "Tablet\x00Lobi"}, "name",
                 "Remove the invisible or control character U+0000.", id="nul-name"),
    pytest.param({"placement": "Lobi\x00"}, "placement",
                 "Remove the invisible or control character U+0000.", id="nul-placement"),
    pytest.param({"idle_seconds": "5"}, "idle_seconds",
                 "Enter a number of seconds from 10 to 600.", id="idle-too-short"),
    pytest.param({"countdown_seconds": "121"}, "countdown_seconds",
                 "Enter a number of seconds from 5 to 120.", id="countdown-too-long"),
    pytest.param({"fast_seconds": "-1"}, "fast_seconds",
                 "Enter a number of seconds from 0 to 120.", id="fast-negative"),
    pytest.param({"burst_seconds": "9" * 30}, "burst_seconds",
                 "Enter a number of seconds from 0 to 120.", id="burst-huge"),
    pytest.param({"idle_seconds": "thirty"}, "idle_seconds",
                 "Enter a whole number of seconds.", id="idle-not-a-number"),
    pytest.param({"idle_seconds": "3\x000"}, "idle_seconds",
                 "Enter a whole number of seconds.", id="idle-nul"),
    pytest.param({"counters": ["abc\x00"]}, "counters",
                 "Choose counters of this unit that are in use.", id="counter-garbage"),
]


@pytest.mark.parametrize(("fields", "field", "message"), BAD_INPUT)
def test_bad_input_is_refused_beside_its_field_and_nothing_is_stored(
    app: Flask, session: Session, world: World, fields: dict[str, object], field: str,
    message: str
) -> None:
    before = len(fresh_kiosks(session))
    answer = new_kiosk_form(signed_in(app, HEAD), **fields)
    assert answer.status_code == 400
    body = html(answer)
    assert f'<p class="err" id="{field}-error">{message}</p>' in body
    assert "nothing was saved" in body
    assert len(fresh_kiosks(session)) == before


def test_a_counter_or_service_of_another_unit_is_refused(
    app: Flask, session: Session, world: World
) -> None:
    client = signed_in(app, HEAD)
    before = len(fresh_kiosks(session))
    answer = new_kiosk_form(client, counters=[str(world.other_counter)])
    assert answer.status_code == 400
    assert ('<p class="err" id="counters-error">Choose counters of this unit that are in '
            'use.</p>') in html(answer)
    answer = new_kiosk_form(client, services=[str(world.other_service)])
    assert '<p class="err" id="services-error">Choose services of this unit.</p>' in html(answer)
    assert len(fresh_kiosks(session)) == before


def test_a_unit_head_cannot_add_a_kiosk_to_another_unit(
    app: Flask, session: Session, world: World
) -> None:
    client = signed_in(app, HEAD)
    before = len(fresh_kiosks(session))
    page = client.get("/admin/kiosks/new")
    answer = client.post(f"/admin/kiosks/new?unit={world.other_unit}", data={
        "csrf_token": csrf_token_of(page), "unit": str(world.other_unit),
        "name": "Tablet Asing", "idle_seconds": "30", "countdown_seconds": "20",
        "fast_seconds": "7", "burst_seconds": "5"})
    assert answer.status_code == 400
    assert "Choose one of the listed units." in html(answer)
    assert len(fresh_kiosks(session)) == before


def test_a_form_without_its_csrf_token_is_refused(app: Flask, session: Session,
                                                  world: World) -> None:
    before = len(fresh_kiosks(session))
    answer = signed_in(app, HEAD).post("/admin/kiosks/new", data={
        "name": "Tablet", "idle_seconds": "30", "countdown_seconds": "20",
        "fast_seconds": "7", "burst_seconds": "5"})
    assert answer.status_code == 400
    assert len(fresh_kiosks(session)) == before


# Scope ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/admin/kiosks/{id}"), ("POST", "/admin/kiosks/{id}"),
    ("GET", "/admin/kiosks/{id}/pairing"), ("GET", "/admin/kiosks/{id}/pairing/new"),
    ("POST", "/admin/kiosks/{id}/pairing/new"), ("GET", "/admin/kiosks/{id}/revoke"),
    ("POST", "/admin/kiosks/{id}/revoke"),
])
def test_another_units_kiosk_is_a_404_and_is_left_alone(
    app: Flask, session: Session, world: World, method: str, path: str
) -> None:
    client = signed_in(app, HEAD)
    token = csrf_token_of(client.get(f"/admin/kiosks/{world.home_kiosk}"))
    data = {"csrf_token": token, "name": "Dibajak", "idle_seconds": "30",
            "countdown_seconds": "20", "fast_seconds": "7", "burst_seconds": "5"}
    for kiosk_id in (world.other_kiosk, 987654, 2**31, 10**25):
        answer = client.open(path.format(id=kiosk_id), method=method, data=data)
        assert answer.status_code == 404, (kiosk_id, answer.status_code)
    other = next(k for k in fresh_kiosks(session) if k.id == world.other_kiosk)
    assert other.name == "Tablet Poli Gigi Rahasia" and other.revoked_at is None
    assert audit_actions(session, world.other_kiosk) == [
        "kiosk.create", "kiosk.pairing_code", "kiosk.paired"]


def test_the_device_list_shows_a_unit_head_only_their_units_kiosks(
    app: Flask, world: World
) -> None:
    mine = html(signed_in(app, HEAD).get("/admin/kiosks"))
    assert "Tablet Lobi" in mine and "Tablet Poli Gigi Rahasia" not in mine
    # Asking for another unit's code shows nothing, rather than that unit's kiosks.
    foreign = html(signed_in(app, HEAD).get("/admin/kiosks?unit=PKM-KTB2"))
    assert "Tablet Poli Gigi Rahasia" not in foreign and "Tablet Lobi" not in foreign
    every = signed_in(app, ADMIN)
    assert "Tablet Poli Gigi Rahasia" in html(every.get("/admin/kiosks"))
    narrowed = html(every.get("/admin/kiosks?unit=DUKCAPIL"))
    assert "Tablet Lobi" in narrowed and "Tablet Poli Gigi Rahasia" not in narrowed
    assert signed_in(app, "pemantau@contoh.go.id").get("/admin/kiosks").status_code == 403
    assert app.test_client().get("/admin/kiosks").status_code == 302


def test_a_foreign_call_cannot_be_answered(app: Flask, session: Session, world: World
                                          ) -> None:
    other = session.get(Kiosk, world.other_kiosk)
    assert other is not None
    call = kiosks.call_officer(session, other, None, now=NOW - timedelta(minutes=2))
    session.commit()
    call_id = call.id
    client = signed_in(app, HEAD)
    token = csrf_token_of(client.get("/admin/kiosks"))
    answer = client.post(f"/admin/kiosks/calls/{call_id}/answered",
                         data={"csrf_token": token, "back": "list"})
    assert answer.status_code == 404
    session.expire_all()
    assert session.get(KioskCall, call_id).answered_at is None  # type: ignore[union-attr]
    release(session)


# The device list -----------------------------------------------------------------------------


def _row(page: TestResponse, kiosk_id: int) -> str:
    """A kiosk's row of the device list: its cells' words, separated by '|'."""
    found = re.search(rf'<tr[^>]*id="kiosk-{kiosk_id}">(.*?)</tr>', html(page), re.S)
    assert found is not None, f"no row for kiosk {kiosk_id}"
    cells = re.findall(r"<td[^>]*>(.*?)</td>", found.group(1), re.S)
    return "|".join(" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in cells)


def test_the_device_list_shows_each_kiosks_state_and_alerts(
    app: Flask, session: Session, world: World
) -> None:
    home = session.get(Kiosk, world.home_kiosk)
    assert home is not None
    kiosks.record_heartbeat(session, home, kiosks.Heartbeat(
        device_time=NOW - timedelta(minutes=7, seconds=30), app_version="abc123def456",
        queue_length=3, oldest_unsent_at=NOW - timedelta(hours=2, minutes=2), quarantined=1,
        battery=45, charging=True), now=NOW - timedelta(minutes=7))
    silent = _add_kiosk(session, world.home, "Tablet Sunyi")
    silent.last_seen_at = NOW - timedelta(hours=3)  # 07:00: two hours of opening (08–10)
    stuck = _add_kiosk(session, world.home, "Tablet Macet")
    kiosks.record_heartbeat(session, stuck, kiosks.Heartbeat(
        device_time=NOW, queue_length=12, oldest_unsent_at=NOW - timedelta(hours=30)),
        now=NOW - timedelta(minutes=1))
    waiting = _add_kiosk(session, world.home, "Tablet Baru", paired=False)
    gone = _add_kiosk(session, world.home, "Tablet Hilang")
    kiosks.revoke(session, gone, now=NOW - timedelta(hours=1))
    kiosks.quarantine(session, home, uuid.uuid4(), 409, {"id": "conflict"}, {"id": "x"},
                      now=NOW - timedelta(hours=1))
    survey = skm_survey(app)
    for fast, burst in ((True, False), (True, True), (False, True), (False, False)):
        row = add_response(session, survey, world.home.counter, [3] * 9,
                           NOW - timedelta(days=2))
        row.channel, row.kiosk_id, row.flag_fast, row.flag_burst = "kiosk", home.id, fast, burst
    old = add_response(session, survey, world.home.counter, [3] * 9, NOW - timedelta(days=40))
    old.channel, old.kiosk_id, old.flag_fast = "kiosk", home.id, True  # outside 30 days
    kiosks.call_officer(session, home, "L1", now=NOW - timedelta(minutes=4))
    session.commit()
    ids = (silent.id, stuck.id, waiting.id, gone.id)
    release(session)

    page = signed_in(app, HEAD).get("/admin/kiosks")
    assert page.status_code == 200
    lobby = _row(page, world.home_kiosk)
    assert lobby == ("Tablet Lobi Dekat pintu keluar|DUKCAPIL|2026-03-16 09:53 7 minutes ago|"
                     "abc123def456|3 oldest 2 hours old|45 % · charging|1|fast 2 · burst 2|1|OK")
    silent_row, stuck_row, waiting_row, gone_row = (_row(page, i) for i in ids)
    assert "Silent over an hour in opening hours" in silent_row
    assert "Holding an answer" not in silent_row
    assert "unknown · charging unknown" in silent_row  # the browser told nothing
    assert "Holding an answer older than 24 hours" in stuck_row
    assert "|12 oldest 1 day old|" in stuck_row
    assert "Not paired yet" in waiting_row and "never" in waiting_row
    assert "Revoked 2026-03-16 09:00" in gone_row
    # The open call, with its counter and its age, and an "answered" button.
    body = " ".join(html(page).split())
    assert "Loket Satu Perekaman" in body and "09:56 (4 minutes ago)" in text(page)
    assert "/admin/kiosks/calls/" in body and ">Answered</button>" in body


def test_silence_outside_opening_hours_is_no_alert(
    app: Flask, session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = session.get(Kiosk, world.home_kiosk)
    assert home is not None
    home.last_seen_at = datetime(2026, 3, 14, 9, 0, tzinfo=WIB)  # Saturday: closed since
    session.commit()
    monday_early = datetime(2026, 3, 16, 8, 30, tzinfo=WIB)
    monkeypatch.setattr("app.web.admin.kiosks.utcnow", lambda: monday_early)
    client = signed_in(app, HEAD)
    assert "Silent over" not in _row(client.get("/admin/kiosks"), world.home_kiosk)
    monkeypatch.setattr("app.web.admin.kiosks.utcnow",
                        lambda: monday_early + timedelta(minutes=31))
    assert "Silent over an hour" in _row(client.get("/admin/kiosks"), world.home_kiosk)


# One kiosk -----------------------------------------------------------------------------------


def test_editing_a_kiosk_saves_and_is_audited(app: Flask, session: Session, world: World
                                              ) -> None:
    client = signed_in(app, HEAD)
    page = client.get(f"/admin/kiosks/{world.home_kiosk}")
    assert page.status_code == 200 and 'value="Tablet Lobi"' in html(page)
    answer = client.post(f"/admin/kiosks/{world.home_kiosk}", data={
        "csrf_token": csrf_token_of(page), "name": "Tablet Lobi Utama", "placement": "",
        "counters": [str(world.home_counter)], "idle_seconds": "60",
        "countdown_seconds": "30", "fast_seconds": "7", "burst_seconds": "5"})
    assert answer.status_code == 303
    kiosk = next(k for k in fresh_kiosks(session) if k.id == world.home_kiosk)
    assert (kiosk.name, kiosk.placement, kiosk.idle_seconds) == ("Tablet Lobi Utama", None, 60)
    assert [c.code for c in kiosk.counters] == ["L1"]
    assert "Kiosk saved" in html(client.get(answer.headers["Location"]))
    assert audit_actions(session, world.home_kiosk)[-1] == "kiosk.update"
    bad = client.post(f"/admin/kiosks/{world.home_kiosk}", data={
        "csrf_token": csrf_token_of(page), "name": "", "idle_seconds": "60",
        "countdown_seconds": "30", "fast_seconds": "7", "burst_seconds": "5"})
    assert bad.status_code == 400
    assert '<p class="err" id="name-error">Give the kiosk a name.</p>' in html(bad)
    assert next(k for k in fresh_kiosks(session) if k.id == world.home_kiosk
                ).name == "Tablet Lobi Utama"


def test_a_new_pairing_code_asks_first_and_replaces_the_tablet(
    app: Flask, session: Session, world: World
) -> None:
    client = signed_in(app, HEAD)
    confirm = client.get(f"/admin/kiosks/{world.home_kiosk}/pairing/new")
    body = html(confirm)
    assert "pairing replaces the current tablet" in body
    assert "The tablet paired now keeps working until a tablet pairs with the new code" in body
    answer = client.post(f"/admin/kiosks/{world.home_kiosk}/pairing/new",
                         data={"csrf_token": csrf_token_of(confirm)})
    assert answer.status_code == 303
    code = shown_code(client.get(answer.headers["Location"]))
    assert code is not None
    assert kiosks.pair(session, code, now=NOW + timedelta(minutes=1)) is not None
    session.commit()
    assert audit_actions(session, world.home_kiosk)[-2:] == ["kiosk.pairing_code",
                                                             "kiosk.paired"]


def test_revoking_asks_first_then_stops_the_kiosk(app: Flask, session: Session,
                                                  world: World) -> None:
    client = signed_in(app, HEAD)
    confirm = client.get(f"/admin/kiosks/{world.home_kiosk}/revoke")
    body = " ".join(html(confirm).split())
    assert "The tablet stops at once" in body
    assert "Answers it made before now and had reported in a heartbeat are still accepted" \
        in body
    # A GET changes nothing; the confirmed POST revokes.
    assert fresh_kiosks(session)[0].revoked_at is None
    answer = client.post(f"/admin/kiosks/{world.home_kiosk}/revoke",
                         data={"csrf_token": csrf_token_of(confirm)})
    assert answer.status_code == 303
    kiosk = next(k for k in fresh_kiosks(session) if k.id == world.home_kiosk)
    assert kiosk.revoked_at == NOW
    detail = html(client.get(f"/admin/kiosks/{world.home_kiosk}"))
    assert "Revoked 2026-03-16 10:00" in detail and 'name="name"' not in detail
    assert audit_actions(session, world.home_kiosk)[-1] == "kiosk.revoke"
    # Nothing more changes a revoked kiosk: no edit, no new code.
    token = csrf_token_of(client.get("/admin/kiosks/new"))
    client.post(f"/admin/kiosks/{world.home_kiosk}", data={
        "csrf_token": token, "name": "Lagi", "idle_seconds": "30",
        "countdown_seconds": "20", "fast_seconds": "7", "burst_seconds": "5"})
    again = client.post(f"/admin/kiosks/{world.home_kiosk}/pairing/new",
                        data={"csrf_token": token})
    assert again.status_code == 303
    assert "revoked" in html(client.get(again.headers["Location"]))
    assert next(k for k in fresh_kiosks(session) if k.id == world.home_kiosk).name == \
        "Tablet Lobi"
    assert audit_actions(session, world.home_kiosk)[-1] == "kiosk.revoke"


def test_the_kiosk_page_lists_its_refused_answers(app: Flask, session: Session,
                                                  world: World) -> None:
    home = session.get(Kiosk, world.home_kiosk)
    assert home is not None
    client_id = uuid.uuid4()
    sent = {"id": str(client_id), "counter": "L9", "survey": "skm-2017/1",
            "answers": {f"U{i}": 2 for i in range(1, 10)}, "comment": "Antrean lama sekali"}
    kiosks.quarantine(session, home, client_id, 422,
                      {"counter": "Loket L9 tidak dikenal"}, sent, now=NOW - timedelta(hours=2))
    session.commit()
    page = signed_in(app, HEAD).get(f"/admin/kiosks/{world.home_kiosk}")
    body = html(page)
    assert "<code>counter</code>: Loket L9 tidak dikenal" in body
    assert str(client_id) in body and "2026-03-16 08:00" in body and "<td>422</td>" in body
    assert "&#34;L9&#34;" in body or "&quot;L9&quot;" in body
    assert "Antrean lama sekali" in body


# Calls on the board ----------------------------------------------------------------------------


def test_a_call_shows_on_the_board_until_answered(app: Flask, session: Session,
                                                  world: World) -> None:
    home = session.get(Kiosk, world.home_kiosk)
    assert home is not None
    call = kiosks.call_officer(session, home, "L1", now=NOW - timedelta(minutes=3))
    session.commit()
    call_id = call.id
    client = signed_in(app, HEAD)
    board = client.get("/admin/board")
    body = " ".join(html(board).split())
    assert "Citizens waiting for an officer at a kiosk" in body
    assert "<strong>Tablet Lobi</strong>" in body and "Dekat pintu keluar" in body
    assert "Loket Satu Perekaman" in body and "09:57 (3 minutes ago)" in text(board)
    # The button needs its CSRF token.
    refused = client.post(f"/admin/kiosks/calls/{call_id}/answered", data={"back": "board"})
    assert refused.status_code == 400
    answer = client.post(f"/admin/kiosks/calls/{call_id}/answered",
                         data={"csrf_token": csrf_token_of(board), "back": "board"})
    assert answer.status_code == 303
    assert answer.headers["Location"] == f"/admin/board?unit={world.home_unit}"
    session.expire_all()
    stored = session.get(KioskCall, call_id)
    assert stored is not None and stored.answered_at == NOW and stored.answered_by is not None
    logged = session.scalars(select(AuditEntry).where(
        AuditEntry.action == "kiosk.call_answered")).one()
    assert logged.actor == f"user:{HEAD}" and str(call_id) in (logged.after or "")
    release(session)
    after = html(client.get(answer.headers["Location"]))
    assert "Call marked as answered." in after
    assert "Citizens waiting for an officer at a kiosk" not in after


def test_another_units_calls_are_not_on_the_board(app: Flask, session: Session,
                                                  world: World) -> None:
    other = session.get(Kiosk, world.other_kiosk)
    assert other is not None
    kiosks.call_officer(session, other, None, now=NOW)
    session.commit()
    body = html(signed_in(app, HEAD).get("/admin/board"))
    assert "Tablet Poli Gigi Rahasia" not in body
    assert "Tablet Poli Gigi Rahasia" in html(signed_in(app, OTHER_HEAD).get("/admin/board"))


# Audit ---------------------------------------------------------------------------------------


def test_kiosk_changes_appear_in_the_audit_log(app: Flask, session: Session,
                                               world: World) -> None:
    client = signed_in(app, HEAD)
    new_kiosk_form(client, name="Tablet Audit")
    kiosk_id = fresh_kiosks(session)[-1].id
    confirm = client.get(f"/admin/kiosks/{kiosk_id}/revoke")
    client.post(f"/admin/kiosks/{kiosk_id}/revoke", data={"csrf_token": csrf_token_of(confirm)})
    log = html(signed_in(app, ADMIN).get(f"/admin/audit?object_type=kiosk&object_id={kiosk_id}"))
    for action in ("kiosk.create", "kiosk.pairing_code", "kiosk.revoke"):
        assert f"<code>{action}</code>" in log
    assert HEAD in log
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "kiosk.create", AuditEntry.object_id == str(kiosk_id))) == 1
    release(session)


def test_the_navigation_lists_kiosks(app: Flask, world: World) -> None:
    body = html(signed_in(app, HEAD).get("/admin/"))
    assert '<a href="/admin/kiosks">Kiosks</a>' in body


def test_the_pairing_url_keeps_the_code_out_of_the_server_logs() -> None:
    assert kiosks.pairing_url("https://suara.example.id/", "012345") == \
        "https://suara.example.id/kiosk/#pair=012345"
