"""Back office: a counter's QR posters (downloads, reissue) and counters no longer in use."""

from __future__ import annotations

import io
import json
import uuid
import xml.etree.ElementTree as ET  # noqa: S405 (parses SVG that the code under test wrote)
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import PIL.Image
import pypdfium2
import pytest
import zxingcpp
from factories import (
    SeededUnit,
    cached_password_hash,
    csrf_token_of,
    integration_token,
    make_other_unit,
    make_unit,
    make_user,
    release,
    response_count,
    sign_in,
    survey_form,
)
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from app.config import Settings
from app.models import AuditEntry, Counter, CounterToken, Unit
from app.org import create_counter, live_token

SVG_NS = "http://www.w3.org/2000/svg"
ANSWERS = {f"U{i}": 1 + i % 4 for i in range(1, 10)}
REISSUE_WARNING = "Poster lama berhenti berfungsi"
INACTIVE_ID = "Loket ini tidak digunakan lagi"
INACTIVE_EN = "This counter is no longer in use"


@pytest.fixture(autouse=True)
def _cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("app.users.generate_password_hash", cached_password_hash)


@dataclass
class World:
    home: SeededUnit
    other: SeededUnit
    sub_counter_id: int  # a counter of a sub-unit of home
    # Plain copies: the tests expire the session's objects to read fresh rows.
    home_id: int
    other_id: int
    home_unit_id: int
    home_name: str
    other_name: str


@pytest.fixture
def world(session: Session) -> World:
    home, other = make_unit(session), make_other_unit(session)
    sub = make_unit(session, "DUKCAPIL-KEC", "Layanan Dukcapil Kecamatan",
                    counter=("K1", "Loket Kecamatan"))
    sub.unit.parent_id = home.unit.id
    session.commit()
    make_user(session, "admin@contoh.go.id", "admin")
    make_user(session, "pemantau@contoh.go.id", "viewer")
    make_user(session, "kepala@contoh.go.id", "unit_head", unit=home.unit)
    make_user(session, "kepala.pkm@contoh.go.id", "unit_head", unit=other.unit)
    release(session)
    return World(home, other, sub.counter.id, home.counter.id, other.counter.id, home.unit.id,
                 home.counter.name, other.counter.name)


def signed_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    answer = sign_in(client, email)
    assert answer.status_code == 303, answer.status_code
    return client


def html(page: TestResponse) -> str:
    return page.get_data(as_text=True)


class Live(NamedTuple):
    id: int
    token: str


def live(session: Session, counter_id: int) -> Live:
    """The counter's live token, read fresh (plain values: nothing left to lazy-load)."""
    session.expire_all()
    counter = session.get(Counter, counter_id)
    assert counter is not None
    token = live_token(session, counter)
    assert token is not None
    found = Live(token.id, token.token)
    release(session)
    return found


def audit_entries(session: Session, action: str) -> list[AuditEntry]:
    session.expire_all()
    rows = list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                .order_by(AuditEntry.id)))
    release(session)
    return rows


def decode(image: PIL.Image.Image) -> list[str]:
    found = zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    return [barcode.text for barcode in found]


def pdf_pages(data: bytes) -> list[tuple[str, PIL.Image.Image]]:
    document = pypdfium2.PdfDocument(data)
    try:
        return [(page.get_textpage().get_text_range(), page.render(scale=150 / 72).to_pil())
                for page in document]
    finally:
        document.close()


def download(client: FlaskClient, counter_id: int, fmt: str) -> TestResponse:
    return client.get(f"/admin/posters/{counter_id}/poster.{fmt}")


# Who sees what -------------------------------------------------------------------------------


def test_an_administrator_sees_every_counter_with_its_live_survey_url(
    app: Flask, session: Session, settings: Settings, world: World
) -> None:
    page = signed_in(app, "admin@contoh.go.id").get("/admin/posters")
    body = html(page)
    assert page.status_code == 200
    for seeded in (world.home, world.other):
        assert seeded.counter.name in body
        assert f"{settings.public_base_url}/s/{seeded.token}" in body
    assert "Loket Kecamatan" in body
    assert "Terbitkan kode QR baru" in body and "Lembar PDF (A4)" in body


def test_a_unit_head_sees_their_units_and_sub_units_only(
    app: Flask, world: World
) -> None:
    body = html(signed_in(app, "kepala@contoh.go.id").get("/admin/posters"))
    assert world.home_name in body and "Loket Kecamatan" in body
    assert world.home.token in body
    assert world.other_name not in body and world.other.token not in body
    other = html(signed_in(app, "kepala.pkm@contoh.go.id").get("/admin/posters"))
    assert world.other_name in other and world.home_name not in other


def test_a_viewer_may_not_open_the_posters_page(app: Flask, world: World) -> None:
    client = signed_in(app, "pemantau@contoh.go.id")
    assert client.get("/admin/posters").status_code == 403
    assert download(client, world.home_id, "png").status_code == 403
    assert app.test_client().get("/admin/posters").status_code in (302, 303)


@pytest.mark.parametrize("path", [
    "/admin/posters/{id}/poster.png", "/admin/posters/{id}/poster.svg",
    "/admin/posters/{id}/poster.pdf", "/admin/posters/{id}/reissue",
])
def test_another_units_counter_is_a_404_like_a_missing_one(
    app: Flask, session: Session, world: World, path: str
) -> None:
    client = signed_in(app, "kepala@contoh.go.id")
    assert client.get(path.format(id=world.other_id)).status_code == 404
    assert client.get(path.format(id=987654)).status_code == 404
    assert client.get(path.format(id=world.sub_counter_id)).status_code == 200
    # No token changed and no download was recorded for the foreign counter.
    assert live(session, world.other_id).token == world.other.token
    assert [e.object_id for e in audit_entries(session, "counter.poster_download")
            ] in ([], [str(world.sub_counter_id)])


def test_a_foreign_reissue_post_is_a_404_and_changes_nothing(
    app: Flask, session: Session, world: World
) -> None:
    client = signed_in(app, "kepala@contoh.go.id")
    csrf = csrf_token_of(client.get(f"/admin/posters/{world.home_id}/reissue"))
    refused = client.post(f"/admin/posters/{world.other_id}/reissue",
                          data={"csrf_token": csrf})
    assert refused.status_code == 404
    assert live(session, world.other_id).token == world.other.token
    assert audit_entries(session, "counter.qr_reissue") == []


@pytest.mark.parametrize("path", [
    "/admin/posters/99999999999999999999999/poster.png",
    "/admin/posters/2147483648/reissue",
    "/admin/posters/{id}/poster.gif",
    "/admin/posters/{id}/poster.p%00ng",
    "/admin/posters/{id}/poster." + "x" * 5000,
    "/admin/posters/-1/poster.png",
])
def test_hostile_admin_urls_are_404s(app: Flask, session: Session, world: World,
                                     path: str) -> None:
    client = signed_in(app, "admin@contoh.go.id")
    # A NUL is refused before any lookup, for every path alike (tests/test_boundary.py).
    assert client.get(path.format(id=world.home_id)).status_code == (
        400 if "%00" in path else 404)
    assert audit_entries(session, "counter.poster_download") == []


# Downloads ---------------------------------------------------------------------------------


def test_the_png_decodes_to_the_live_survey_url_and_is_audited(
    app: Flask, session: Session, settings: Settings, world: World
) -> None:
    answer = download(signed_in(app, "kepala@contoh.go.id"), world.home_id, "png")
    assert answer.status_code == 200 and answer.mimetype == "image/png"
    assert "attachment" in answer.headers["Content-Disposition"]
    assert "DUKCAPIL-L1-qr.png" in answer.headers["Content-Disposition"]
    image = PIL.Image.open(io.BytesIO(answer.data))
    assert decode(image) == [f"{settings.public_base_url}/s/{world.home.token}"]
    [entry] = audit_entries(session, "counter.poster_download")
    assert entry.object_type == "counter" and entry.object_id == str(world.home_id)
    assert entry.actor == "user:kepala@contoh.go.id"
    assert json.loads(entry.after or "{}") == {
        "format": "png", "token_id": live(session, world.home_id).id}


def test_the_svg_is_a_valid_svg_of_the_survey_url_only(
    app: Flask, session: Session, world: World
) -> None:
    answer = download(signed_in(app, "admin@contoh.go.id"), world.home_id, "svg")
    assert answer.status_code == 200 and answer.mimetype == "image/svg+xml"
    root = ET.fromstring(answer.data)  # noqa: S314 (our own output)
    assert root.tag == f"{{{SVG_NS}}}svg"
    title = root.find(f"{{{SVG_NS}}}title")
    assert title is not None and world.home_name in (title.text or "")
    assert root.findall(f".//{{{SVG_NS}}}path")
    session.expire_all()
    counter = session.get(Counter, world.home_id)
    assert counter is not None and counter.checkin_token.encode() not in answer.data
    release(session)
    [entry] = audit_entries(session, "counter.poster_download")
    assert json.loads(entry.after or "{}")["format"] == "svg"


def test_the_pdf_sheet_has_the_poster_in_front_and_the_staff_code_behind(
    app: Flask, session: Session, settings: Settings, world: World
) -> None:
    answer = download(signed_in(app, "admin@contoh.go.id"), world.home_id, "pdf")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    assert answer.data.startswith(b"%PDF")
    session.expire_all()
    counter = session.get(Counter, world.home_id)
    assert counter is not None
    staff_url = f"{settings.public_base_url}/tugas/{counter.checkin_token}"
    release(session)
    survey_url = f"{settings.public_base_url}/s/{world.home.token}"
    (front_text, front), (back_text, back) = pdf_pages(answer.data)
    assert decode(front) == [survey_url]
    assert counter.checkin_token not in front_text and "petugas" not in front_text.lower()
    assert decode(back) == [staff_url]
    flat = " ".join(back_text.split())
    assert f"Kode petugas — pindai untuk mulai bertugas di {world.home_name}" in flat
    assert staff_url in flat
    [entry] = audit_entries(session, "counter.poster_download")
    assert json.loads(entry.after or "{}")["format"] == "pdf"


# Reissue ---------------------------------------------------------------------------------


def test_reissue_asks_first_and_changes_nothing_until_confirmed(
    app: Flask, session: Session, world: World
) -> None:
    client = signed_in(app, "kepala@contoh.go.id")
    url = f"/admin/posters/{world.home_id}/reissue"
    page = client.get(url)
    assert page.status_code == 200
    assert REISSUE_WARNING in html(page) and world.home_name in html(page)
    english = client.get(f"{url}?lang=en")
    assert "The old posters stop working" in html(english)
    without_csrf = client.post(url, data={})
    assert without_csrf.status_code in (200, 400)
    assert live(session, world.home_id).token == world.home.token
    assert audit_entries(session, "counter.qr_reissue") == []


def test_reissue_retires_the_old_url_makes_a_new_one_and_is_audited_by_ids(
    app: Flask, session: Session, settings: Settings, world: World
) -> None:
    client = signed_in(app, "kepala@contoh.go.id")
    url = f"/admin/posters/{world.home_id}/reissue"
    old = live(session, world.home_id)
    done = client.post(url, data={"csrf_token": csrf_token_of(client.get(url))})
    assert done.status_code == 303 and done.headers["Location"].endswith("/admin/posters")
    new = live(session, world.home_id)
    assert new.token != old.token
    listing = html(client.get("/admin/posters"))
    assert "mendapat kode QR baru" in listing
    assert f"{settings.public_base_url}/s/{new.token}" in listing and old.token not in listing

    citizen = app.test_client()
    retired = citizen.get(f"/s/{old.token}")
    assert retired.status_code == 410 and "Kode ini sudah tidak berlaku" in html(retired)
    assert 'name="csrf_token"' not in html(retired)
    assert citizen.get(f"/s/{new.token}").status_code == 200

    [entry] = audit_entries(session, "counter.qr_reissue")
    assert entry.actor == "user:kepala@contoh.go.id"
    assert entry.object_type == "counter" and entry.object_id == str(world.home_id)
    assert json.loads(entry.before or "{}") == {"token_id": old.id}
    assert json.loads(entry.after or "{}") == {"token_id": new.id}
    for token in (old.token, new.token):
        assert token not in f"{entry.before}{entry.after}{entry.request}"

    png = download(client, world.home_id, "png")
    assert decode(PIL.Image.open(io.BytesIO(png.data))) == [
        f"{settings.public_base_url}/s/{new.token}"]


# Counters and units no longer in use ---------------------------------------------------------


def deactivate(session: Session, world: World, what: str) -> None:
    if what == "counter":
        session.execute(update(Counter).where(Counter.id == world.home_id)
                        .values(active=False))
    else:
        session.execute(update(Unit).where(Unit.id == world.home_unit_id).values(active=False))
    session.commit()


@pytest.mark.parametrize("what", ["counter", "unit"])
def test_an_inactive_counter_shows_a_kind_410_page_without_a_form(
    client: FlaskClient, session: Session, world: World, what: str
) -> None:
    deactivate(session, world, what)
    page = client.get(f"/s/{world.home.token}")
    assert page.status_code == 410
    body = html(page)
    assert INACTIVE_ID in body
    assert "<form" not in body and 'name="U1"' not in body
    assert "<script" not in body
    thanks = client.get(f"/s/{world.home.token}/terima-kasih")
    assert thanks.status_code == 410 and INACTIVE_ID in html(thanks)
    english = client.get(f"/s/{world.home.token}?lang=en")
    assert english.status_code == 410 and INACTIVE_EN in html(english)
    assert INACTIVE_ID not in html(english)


@pytest.mark.parametrize("what", ["counter", "unit"])
def test_submissions_to_an_inactive_counter_are_refused_and_nothing_is_stored(
    client: FlaskClient, session: Session, world: World, what: str
) -> None:
    opened = client.get(f"/s/{world.home.token}")  # the form was opened before the closure
    assert opened.status_code == 200
    deactivate(session, world, what)
    posted = client.post(f"/s/{world.home.token}", data=survey_form(opened))
    assert posted.status_code == 410 and INACTIVE_ID in html(posted)
    integration = {"Authorization": f"Bearer {integration_token(session)}"}
    api = client.post("/api/v1/responses", headers=integration, json={
        "id": str(uuid.uuid4()), "token": world.home.token, "answers": ANSWERS})
    assert api.status_code == 410
    assert api.get_json() == {"error": "this counter is no longer in use; nothing was stored"}
    indonesian = client.post("/api/v1/responses?lang=id", headers=integration, json={
        "id": str(uuid.uuid4()), "token": world.home.token, "answers": ANSWERS})
    assert indonesian.status_code == 410
    assert indonesian.get_json() == {
        "error": "loket ini tidak digunakan lagi; tidak ada yang disimpan"}
    assert response_count(session) == 0


def test_a_retired_token_of_an_inactive_counter_says_the_counter_is_closed(
    client: FlaskClient, session: Session, world: World
) -> None:
    session.execute(update(CounterToken).where(CounterToken.token == world.home.token)
                    .values(retired_at=CounterToken.issued_at))
    session.commit()
    assert "Kode ini sudah tidak berlaku" in html(client.get(f"/s/{world.home.token}"))
    deactivate(session, world, "counter")
    page = client.get(f"/s/{world.home.token}")
    assert page.status_code == 410 and INACTIVE_ID in html(page)


def test_other_counters_keep_working_when_one_closes(
    client: FlaskClient, session: Session, world: World
) -> None:
    deactivate(session, world, "counter")
    assert client.get(f"/s/{world.other.token}").status_code == 200
    side = create_counter(session, world.home.unit, "L2", "Loket Dua")
    token = live_token(session, side)
    assert token is not None
    session.commit()
    assert client.get(f"/s/{token.token}").status_code == 200  # same unit, still open


@pytest.mark.parametrize("what", ["counter", "unit"])
def test_the_back_office_offers_no_poster_or_new_code_for_an_inactive_counter(
    app: Flask, session: Session, world: World, what: str
) -> None:
    deactivate(session, world, what)
    client = signed_in(app, "admin@contoh.go.id")
    listing = html(client.get("/admin/posters"))
    assert "Tidak digunakan lagi" in listing
    assert f"/admin/posters/{world.home_id}/poster.png" not in listing
    assert f"/admin/posters/{world.other_id}/poster.png" in listing
    for fmt in ("png", "svg", "pdf"):
        assert download(client, world.home_id, fmt).status_code == 404
    url = f"/admin/posters/{world.home_id}/reissue"
    csrf = csrf_token_of(client.get(f"/admin/posters/{world.other_id}/reissue"))
    refused = client.post(url, data={"csrf_token": csrf})
    assert refused.status_code == 303
    assert "tidak mendapat kode QR baru" in html(client.get("/admin/posters"))
    assert live(session, world.home_id).token == world.home.token
    assert audit_entries(session, "counter.qr_reissue") == []
    assert audit_entries(session, "counter.poster_download") == []


@pytest.mark.parametrize("token", [
    "\x00", "A" * 15 + "\x00", "%00" * 8, "A" * 5000, "\u202e" + "A" * 20, "A" * 33,
])
def test_hostile_tokens_in_the_survey_url_are_a_404_not_a_crash(
    client: FlaskClient, session: Session, world: World, token: str
) -> None:
    page = client.get(f"/s/{token}")
    # A NUL is refused before any lookup, for every path alike (tests/test_boundary.py).
    assert page.status_code == (400 if "\x00" in token or "%00" in token else 404)
    posted = client.post(f"/s/{token}", data={"U1": "1"})
    assert posted.status_code in (400, 404)
    assert response_count(session) == 0


# The same actions from the CLI -------------------------------------------------------------


def test_qr_reissue_from_the_cli_asks_first_then_retires_the_old_code(
    runner: FlaskCliRunner, session: Session, settings: Settings, world: World
) -> None:
    args = ["qr-reissue", "--unit", "DUKCAPIL", "--counter", "L1"]
    declined = runner.invoke(args=args, input="n\n")
    assert declined.exit_code != 0 and "stop working" in declined.output
    assert live(session, world.home_id).token == world.home.token
    done = runner.invoke(args=[*args, "--yes"])
    assert done.exit_code == 0, done.output
    new = live(session, world.home_id)
    assert new.token != world.home.token
    assert f"{settings.public_base_url}/s/{new.token}" in done.output
    [entry] = audit_entries(session, "counter.qr_reissue")
    assert entry.actor.startswith("cli:")
    assert json.loads(entry.after or "{}") == {"token_id": new.id}


@pytest.mark.parametrize(("unit", "counter", "message"), [
    ("DUKCAPIL", "L9", "has no counter"),
    ("NOPE", "L1", "has no counter"),
    ("DUKCAPIL", "L1\x00", "--counter"),
    ("DUKCAPIL\u202e", "L1", "--unit"),
    ("D" * 5000, "L1", "--unit"),
])
def test_the_cli_names_what_is_wrong_and_changes_nothing(
    runner: FlaskCliRunner, session: Session, world: World, unit: str, counter: str,
    message: str,
) -> None:
    answer = runner.invoke(args=["qr-reissue", "--unit", unit, "--counter", counter, "--yes"])
    assert answer.exit_code != 0 and message in answer.output
    assert live(session, world.home_id).token == world.home.token
    assert audit_entries(session, "counter.qr_reissue") == []


def test_qr_sheet_writes_the_two_sided_pdf_and_audits_it(
    runner: FlaskCliRunner, session: Session, settings: Settings, world: World,
    tmp_path: Path,
) -> None:
    out = tmp_path / "l1.pdf"
    answer = runner.invoke(args=["qr-sheet", "--unit", "DUKCAPIL", "--counter", "L1",
                                 "--out", str(out)])
    assert answer.exit_code == 0, answer.output
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    [(_, front), (_, back)] = pdf_pages(data)
    assert decode(front) == [f"{settings.public_base_url}/s/{world.home.token}"]
    assert len(decode(back)) == 1 and "/tugas/" in decode(back)[0]
    [entry] = audit_entries(session, "counter.poster_download")
    assert json.loads(entry.after or "{}")["format"] == "pdf"
    png = tmp_path / "l1.png"
    assert runner.invoke(args=["qr-sheet", "--unit", "DUKCAPIL", "--counter", "L1",
                               "--format", "png", "--out", str(png)]).exit_code == 0
    assert decode(PIL.Image.open(png)) == [f"{settings.public_base_url}/s/{world.home.token}"]


def test_qr_sheet_refuses_a_counter_no_longer_in_use(
    runner: FlaskCliRunner, session: Session, world: World, tmp_path: Path
) -> None:
    deactivate(session, world, "unit")
    out = tmp_path / "l1.pdf"
    answer = runner.invoke(args=["qr-sheet", "--unit", "DUKCAPIL", "--counter", "L1",
                                 "--out", str(out)])
    assert answer.exit_code != 0 and "no longer in use" in answer.output
    assert not out.exists()
    refused = runner.invoke(args=["qr-reissue", "--unit", "DUKCAPIL", "--counter", "L1",
                                  "--yes"])
    assert refused.exit_code != 0 and "no longer in use" in refused.output
    assert audit_entries(session, "counter.poster_download") == []


def test_the_arrival_poster_of_an_inactive_unit_says_so_and_sets_no_cookie(
    client: FlaskClient, session: Session, world: World
) -> None:
    arrival = world.home.unit.arrival_token
    assert client.get(f"/a/{arrival}").status_code == 200
    deactivate(session, world, "unit")
    fresh = client.application.test_client()
    page = fresh.get(f"/a/{arrival}")
    assert page.status_code == 410 and "Poster ini tidak digunakan lagi" in html(page)
    assert not [c for c in page.headers.getlist("Set-Cookie") if c.startswith("sw_arr=")]
