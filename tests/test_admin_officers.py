"""Officers in the back office and the CLI: search, create, edit, (de)activate, mutasi, import."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from factories import (
    NIP,
    OTHER_NIP,
    SeededUnit,
    add_response,
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
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from app import officers as domain
from app.models import Assignment, AuditEntry, Indicator, Officer, OfficerMove, Response, Unit
from app.org import assign_officer

THIRD_NIP = "198512302010011003"
FOURTH_NIP = "197703122005011004"
HEADER = "nip,name,unit,position\n"


@pytest.fixture
def home(session: Session) -> SeededUnit:
    return make_unit(session)


@pytest.fixture
def other(session: Session, home: SeededUnit) -> SeededUnit:
    return make_other_unit(session)


def as_admin(client: FlaskClient, session: Session) -> None:
    make_user(session, "admin@kotabumi.go.id", "admin")
    assert sign_in(client, "admin@kotabumi.go.id").status_code == 303


def as_head_of(client: FlaskClient, session: Session, unit: Unit) -> None:
    email = f"kepala-{unit.code.lower()}@kotabumi.go.id"
    make_user(session, email, "unit_head", unit=unit)
    assert sign_in(client, email).status_code == 303


def audit_entries(session: Session, action: str) -> list[AuditEntry]:
    session.expire_all()
    rows = list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                .order_by(AuditEntry.id)))
    release(session)
    return rows


def officers_count(session: Session) -> int:
    session.expire_all()
    count = session.scalar(select(func.count()).select_from(Officer)) or 0
    release(session)
    return count


def error_beside(page: TestResponse, field: str) -> str:
    found = re.search(rf'<p class="err" id="{field}-error">([^<]*)</p>',
                      page.get_data(as_text=True))
    assert found is not None, f"no error beside {field}"
    return found.group(1)


def post_form(client: FlaskClient, path: str, **fields: str) -> TestResponse:
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    return client.post(path, data={"csrf_token": csrf_token_of(page), **fields})


# Search -------------------------------------------------------------------------------------

def test_search_by_name_or_nip_case_insensitive_within_scope(
    client: FlaskClient, session: Session, home: SeededUnit, other: SeededUnit
) -> None:
    make_officer(session, home, NIP, "Ahmad Saputra")
    make_officer(session, home, OTHER_NIP, "Siti Rahmawati")
    make_officer(session, other, THIRD_NIP, "Ahmad Kurniawan")
    as_head_of(client, session, home.unit)

    page = client.get("/admin/officers?q=AHMAD").get_data(as_text=True)
    assert "Ahmad Saputra" in page and "Siti" not in page
    assert "Kurniawan" not in page  # another unit's officer is not in this head's scope
    by_nip = client.get("/admin/officers?q=199001").get_data(as_text=True)
    assert "Siti Rahmawati" in by_nip and "Ahmad" not in by_nip
    everyone = client.get("/admin/officers").get_data(as_text=True)
    assert "Ahmad Saputra" in everyone and "Siti Rahmawati" in everyone
    assert NIP in everyone  # the NIP shows on the staff page
    assert client.get("/admin/officers?q=%25&page=x").status_code == 200  # LIKE escaped
    hostile = client.get("/admin/officers?q=ahmad%E2%80%AE&page=99999999999")
    assert hostile.status_code == 200 and "Ahmad Saputra" in hostile.get_data(as_text=True)
    # A NUL is refused before any page reads the query (tests/test_boundary.py).
    assert client.get("/admin/officers?q=ah%00mad").status_code == 400


def test_search_pages(session: Session, home: SeededUnit, other: SeededUnit) -> None:
    for nip, name in ((NIP, "Budi"), (OTHER_NIP, "Ani"), (THIRD_NIP, "Citra")):
        make_officer(session, home, nip, name)
    first = domain.search_officers(session, {home.unit.id}, "", page=1, per_page=2)
    second = domain.search_officers(session, {home.unit.id}, "", page=2, per_page=2)
    assert [o.name for o in first.officers] == ["Ani", "Budi"]
    assert [o.name for o in second.officers] == ["Citra"]
    assert first.total == 3 and first.pages == 2
    assert domain.search_officers(session, {other.unit.id}, "").total == 0
    assert domain.search_officers(session, set(), "").total == 0


# Create and edit ----------------------------------------------------------------------------

def test_create_officer_through_the_form(
    client: FlaskClient, session: Session, home: SeededUnit
) -> None:
    as_admin(client, session)
    answer = post_form(client, "/admin/officers/new", nip=NIP, name="  Ahmad Saputra ",
                       position="Petugas Pelayanan", unit=str(home.unit.id))
    assert answer.status_code == 303
    officer = session.scalars(select(Officer)).one()
    assert (officer.nip, officer.name, officer.unit_id) == (NIP, "Ahmad Saputra", home.unit.id)
    release(session)
    [entry] = audit_entries(session, "officer.create")
    assert entry.actor == "user:admin@kotabumi.go.id" and entry.object_id == str(officer.id)
    assert json.loads(entry.after or "{}")["nip"] == NIP
    assert "Petugas Ahmad Saputra terdaftar." in client.get(answer.location).get_data(
        as_text=True)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("name", "Ahmad\x00Saputra", "nama memuat karakter tak terlihat atau karakter kontrol U+0000"),
    ("name", "\u202eartupaS", "nama memuat karakter tak terlihat atau karakter kontrol U+202E"),
    ("position", "Petugas\u200b", "jabatan memuat karakter tak terlihat atau karakter kontrol "
                                  "U+200B"),
    ("name", "A" * 5000, "nama lebih dari 200 karakter"),
    ("name", "   ", "nama kosong"),
    ("nip", "198609262015053001", "NIP: angka ke-15 (jenis kelamin) harus 1 atau 2"),
    ("nip", "198602302015051001", "NIP: 19860230 bukan tanggal lahir yang ada"),
    ("nip", "198609262015131001", "NIP: 201513 bukan bulan TMT CPNS yang ada"),
    ("nip", "19860926201505100", "NIP harus 18 angka, bukan 17"),
    ("nip", "1986O9262015051001", "NIP hanya boleh berisi angka"),
    ("nip", "198609262015051001\x00", "NIP memuat karakter tak terlihat atau karakter kontrol "
                                      "U+0000"),
])
def test_create_refuses_bad_input_beside_the_field(
    client: FlaskClient, session: Session, home: SeededUnit, field: str, value: str,
    message: str,
) -> None:
    as_admin(client, session)
    fields = {"nip": NIP, "name": "Ahmad Saputra", "position": "Petugas Pelayanan",
              "unit": str(home.unit.id), field: value}
    answer = post_form(client, "/admin/officers/new", **fields)
    assert answer.status_code == 400
    assert error_beside(answer, field).startswith(message)
    assert officers_count(session) == 0
    assert audit_entries(session, "officer.create") == []


def test_create_errors_in_english_and_refuses_a_duplicate_or_foreign_unit(
    client: FlaskClient, session: Session, home: SeededUnit, other: SeededUnit
) -> None:
    make_officer(session, home)
    as_head_of(client, session, home.unit)
    page = client.get("/admin/officers/new?lang=en")
    answer = client.post("/admin/officers/new?lang=en", data={
        "csrf_token": csrf_token_of(page), "nip": OTHER_NIP, "name": "B\u202eudi",
        "position": "Staf", "unit": str(home.unit.id)})
    assert error_beside(answer, "name") == (
        "name contains the invisible or control character U+202E; remove it")
    duplicate = post_form(client, "/admin/officers/new?lang=id", nip=NIP, name="Budi",
                          position="Staf", unit=str(home.unit.id))
    assert error_beside(duplicate, "nip") == f"petugas dengan NIP {NIP} sudah terdaftar"
    foreign = post_form(client, "/admin/officers/new", nip=OTHER_NIP, name="Budi",
                        position="Staf", unit=str(other.unit.id))
    assert foreign.status_code == 400 and "unit-error" in foreign.get_data(as_text=True)
    assert officers_count(session) == 1


def test_edit_name_and_position_records_before_and_after(
    client: FlaskClient, session: Session, home: SeededUnit
) -> None:
    officer = make_officer(session, home)
    as_admin(client, session)
    path = f"/admin/officers/{officer.id}"
    bad = post_form(client, path, name="x" * 201, position="Kepala Seksi")
    assert bad.status_code == 400 and error_beside(bad, "name") == "nama lebih dari 200 karakter"
    answer = post_form(client, path, name="Ahmad Saputra, S.Kom.", position="Kepala Seksi")
    assert answer.status_code == 303
    session.expire_all()
    stored = session.get_one(Officer, officer.id)
    assert (stored.name, stored.position) == ("Ahmad Saputra, S.Kom.", "Kepala Seksi")
    release(session)
    [entry] = audit_entries(session, "officer.update")
    assert json.loads(entry.before or "{}") == {"name": "Ahmad Saputra",
                                                "position": "Petugas Pelayanan"}
    assert json.loads(entry.after or "{}")["position"] == "Kepala Seksi"


def test_deactivate_asks_first_then_reactivate(
    client: FlaskClient, session: Session, home: SeededUnit
) -> None:
    officer = make_officer(session, home)
    as_admin(client, session)
    path = f"/admin/officers/{officer.id}/deactivate"
    question = client.get(path)
    assert "Nonaktifkan Ahmad Saputra?" in question.get_data(as_text=True)
    session.expire_all()
    assert session.get_one(Officer, officer.id).active  # asking changes nothing
    release(session)
    assert client.post(path, data={"csrf_token": "forged"}).status_code == 400
    assert client.post(path, data={"csrf_token": csrf_token_of(question)}).status_code == 303
    session.expire_all()
    assert not session.get_one(Officer, officer.id).active
    release(session)
    assert post_form(client, f"/admin/officers/{officer.id}/reactivate").status_code == 303
    session.expire_all()
    assert session.get_one(Officer, officer.id).active
    release(session)
    assert len(audit_entries(session, "officer.deactivate")) == 1
    [back] = audit_entries(session, "officer.reactivate")
    assert json.loads(back.after or "{}") == {"active": True}  # no duty was open


# Scope ----------------------------------------------------------------------------------------

def test_a_unit_head_of_another_unit_gets_404(
    client: FlaskClient, session: Session, home: SeededUnit, other: SeededUnit
) -> None:
    officer = make_officer(session, home)
    as_head_of(client, session, other.unit)
    for suffix in ("", "/deactivate", "/reactivate", "/move"):
        assert client.get(f"/admin/officers/{officer.id}{suffix}").status_code == 404
    token = csrf_token_of(client.get("/admin/officers/new"))
    answer = client.post(f"/admin/officers/{officer.id}/deactivate", data={"csrf_token": token})
    assert answer.status_code == 404
    assert client.get("/admin/officers/999999").status_code == 404
    session.expire_all()
    assert session.get_one(Officer, officer.id).active
    release(session)


@pytest.mark.parametrize("role", ["officer", "viewer"])
def test_officers_and_viewers_get_403(
    client: FlaskClient, session: Session, home: SeededUnit, role: str
) -> None:
    officer = make_officer(session, home)
    make_user(session, "staf@kotabumi.go.id", role, unit=home.unit,
              officer=officer if role == "officer" else None)
    sign_in(client, "staf@kotabumi.go.id")
    for path in ("/admin/officers", "/admin/officers/new", "/admin/officers/import",
                 f"/admin/officers/{officer.id}/move"):
        assert client.get(path).status_code == 403


# Moves (mutasi) ---------------------------------------------------------------------------------

def test_a_move_keeps_history_where_it_was_earned(
    app: Flask, client: FlaskClient, session: Session, home: SeededUnit, other: SeededUnit
) -> None:
    officer = make_officer(session, home)
    served_at = datetime(2026, 11, 18, 3, 0, tzinfo=UTC)
    assign_officer(session, officer, home.counter, served_at - timedelta(hours=1))
    add_response(session, skm_survey(app), home.counter, (3,) * 9, served_at)
    session.commit()
    as_admin(client, session)
    answer = post_form(client, f"/admin/officers/{officer.id}/move",
                       unit=str(other.unit.id), moved_on="2026-11-20")
    assert answer.status_code == 303
    session.expire_all()
    assert session.get_one(Officer, officer.id).unit_id == other.unit.id
    move = session.scalars(select(OfficerMove)).one()
    assert (move.from_unit_id, move.to_unit_id, move.moved_on) == (
        home.unit.id, other.unit.id, date(2026, 11, 20))
    duty = session.scalars(select(Assignment)).one()
    assert duty.ends_at is not None  # the open duty ended at the move
    response = session.scalars(select(Response)).one()
    assert (response.unit_id, response.officer_id) == (home.unit.id, officer.id)
    release(session)

    aggregate(app, datetime(2026, 11, 25, 3, 0, tzinfo=UTC))
    session.expire_all()
    home_n = session.scalar(select(func.max(Indicator.n)).where(
        Indicator.scope == "unit", Indicator.scope_id == home.unit.id))
    other_n = session.scalar(select(func.max(Indicator.n)).where(
        Indicator.scope == "unit", Indicator.scope_id == other.unit.id))
    release(session)
    assert home_n == 1 and other_n is None  # the old unit keeps its figures
    [entry] = audit_entries(session, "officer.move")
    after = json.loads(entry.after or "{}")
    assert (after["from_unit"], after["to_unit"], after["unit_id"]) == (
        "DUKCAPIL", "PKM-KTB2", other.unit.id)
    assert after["ended_duties"] == [duty.id]
    page = client.get(f"/admin/officers/{officer.id}").get_data(as_text=True)
    assert "2026-11-20" in page and "PKM-KTB2" in page


def test_move_refuses_future_dates_and_units_outside_scope(
    client: FlaskClient, session: Session, home: SeededUnit, other: SeededUnit
) -> None:
    officer = make_officer(session, home)
    as_head_of(client, session, home.unit)
    path = f"/admin/officers/{officer.id}/move"
    foreign = post_form(client, path, unit=str(other.unit.id))
    assert foreign.status_code == 400 and "unit-error" in foreign.get_data(as_text=True)
    sub = domain_unit(session, "DUKCAPIL-KEC", parent=home.unit)
    future = post_form(client, path, unit=str(sub.id), moved_on="2999-01-01")
    assert error_beside(future, "moved_on") == "tanggal mutasi tidak boleh di masa depan"
    garbage = post_form(client, path, unit=str(sub.id), moved_on="kemarin\x00")
    assert garbage.status_code == 400 and "moved_on-error" in garbage.get_data(as_text=True)
    assert post_form(client, path, unit=str(sub.id)).status_code == 303  # a sub-unit: in scope
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(OfficerMove)) == 1
    release(session)


def domain_unit(session: Session, code: str, parent: Unit) -> Unit:
    from app.org import create_unit

    unit = create_unit(session, code, "Layanan Kecamatan", "disdukcapil", parent=parent)
    session.commit()
    return unit


# CSV import -------------------------------------------------------------------------------------

def upload(client: FlaskClient, text: str | bytes, *, query: str = "") -> TestResponse:
    page = client.get("/admin/officers/import")
    body = text.encode("utf-8") if isinstance(text, str) else text
    return client.post(f"/admin/officers/import{query}", data={
        "csrf_token": csrf_token_of(page), "file": (io.BytesIO(body), "petugas.csv")},
        content_type="multipart/form-data")


def confirm(client: FlaskClient, preview: TestResponse) -> TestResponse:
    html = preview.get_data(as_text=True)
    payload = re.search(r'name="payload" type="hidden" value="([^"]+)"', html)
    assert payload is not None, "no confirmation form"
    return client.post("/admin/officers/import/confirm", data={
        "csrf_token": csrf_token_of(preview), "payload": payload.group(1)})


def test_the_preview_lists_every_bad_line_and_stores_nothing(
    client: FlaskClient, session: Session, home: SeededUnit, other: SeededUnit
) -> None:
    make_officer(session, home, FOURTH_NIP, "Sudah Ada")
    as_head_of(client, session, home.unit)
    text = (HEADER
            + f"{NIP},Ahmad Saputra,DUKCAPIL,Petugas\n"           # 2: good
            + "198609262015053001,Salah NIP,DUKCAPIL,Petugas\n"   # 3: sex digit
            + f"{OTHER_NIP},Siti,PKM-KTB2,Perawat\n"              # 4: another unit's
            + f"{NIP},Dua Kali,DUKCAPIL,Petugas\n"                # 5: repeated NIP
            + f"{THIRD_NIP},B\u202eudi,DUKCAPIL,Petugas\n"        # 6: bidi override
            + f"{FOURTH_NIP},Sudah Ada,DUKCAPIL,Petugas\n"        # 7: already registered
            + "\n"
            + f"198703032012012001,{'x' * 5000},DUKCAPIL,Petugas\n"  # 9: too long
            + "198703032012012002,,DUKCAPIL,Petugas\n")           # 10: empty name
    answer = upload(client, text)
    assert answer.status_code == 400
    html = answer.get_data(as_text=True)
    rows = re.findall(r'<tr><td class="num">(\d+)</td><td>([^<]*)</td></tr>', html)
    assert rows == [
        ("3", "NIP: angka ke-15 (jenis kelamin) harus 1 atau 2"),
        ("4", "kode unit &#39;PKM-KTB2&#39; tidak dikenal"),
        ("5", f"NIP {NIP} juga ada di baris 2"),
        ("6", "nama memuat karakter tak terlihat atau karakter kontrol U+202E; hapus karakter itu"),
        ("7", f"NIP {FOURTH_NIP} sudah terdaftar"),
        ("9", "nama lebih dari 200 karakter"),
        ("10", "nama kosong"),
    ]
    assert "7 baris salah" in html and 'name="payload"' not in html
    assert officers_count(session) == 1
    assert audit_entries(session, "officer.import") == []


def test_a_good_file_is_previewed_then_imported_whole(
    client: FlaskClient, session: Session, home: SeededUnit, other: SeededUnit
) -> None:
    as_admin(client, session)
    text = ("\ufeffnip;name;unit;position\n"
            f"{NIP};Ahmad Saputra;DUKCAPIL;Petugas\n{OTHER_NIP};Siti;PKM-KTB2;Perawat\n")
    preview = upload(client, text)
    assert preview.status_code == 200
    assert "2 petugas akan diimpor" in preview.get_data(as_text=True)
    assert officers_count(session) == 0  # the preview stores nothing
    answer = confirm(client, preview)
    assert answer.status_code == 303 and answer.location.endswith("/admin/officers")
    assert officers_count(session) == 2
    [entry] = audit_entries(session, "officer.import")
    assert json.loads(entry.after or "{}") == {"count": 2, "units": ["DUKCAPIL", "PKM-KTB2"]}
    again = confirm(client, preview)  # a replayed confirmation imports nothing twice
    assert again.status_code == 303 and again.location.endswith("/admin/officers/import")
    assert officers_count(session) == 2


def test_the_confirmation_refuses_an_altered_payload(
    client: FlaskClient, session: Session, home: SeededUnit
) -> None:
    as_admin(client, session)
    preview = upload(client, HEADER + f"{NIP},Ahmad,DUKCAPIL,Petugas\n")
    token = csrf_token_of(preview)
    forged = client.post("/admin/officers/import/confirm", data={
        "csrf_token": token, "payload": "eyJ0ZXh0IjoibmlwIn0.forged"})
    assert forged.status_code == 303
    no_csrf = client.post("/admin/officers/import/confirm", data={"payload": "x"})
    assert no_csrf.status_code == 400
    assert officers_count(session) == 0


def test_a_large_import_fits_and_an_oversized_or_binary_file_is_refused(
    client: FlaskClient, session: Session, home: SeededUnit
) -> None:
    as_admin(client, session)
    lines = [f"{date(1970, 1, 1) + timedelta(days=i):%Y%m%d}2000011{i % 1000:03d},"
             f"Petugas Nomor {i:04d} dengan nama panjang,DUKCAPIL,Pengadministrasi Umum\n"
             for i in range(900)]
    text = HEADER + "".join(lines)
    assert len(text.encode()) > 64 * 1024  # over the application's own limit
    preview = upload(client, text)
    assert preview.status_code == 200, re.findall(r"<td>([^<]*)</td></tr>",
                                                  preview.get_data(as_text=True))[:3]
    assert confirm(client, preview).status_code == 303
    assert officers_count(session) == 900
    # A raw body: the test client would spool a multipart one this large to a temporary file.
    oversized = client.post("/admin/officers/import", data=b"x" * (1024 * 1024 + 1),
                            content_type="multipart/form-data; boundary=b")
    assert oversized.status_code == 413
    binary = upload(client, b"\xff\xfe\x00n\x00i\x00p")
    assert binary.status_code == 400
    assert "bukan teks UTF-8" in error_beside(binary, "file")
    assert "1024 KB" in client.get("/admin/officers/import").get_data(as_text=True)


# CLI --------------------------------------------------------------------------------------------

def test_cli_create_update_deactivate_reactivate_move_and_list(
    runner: FlaskCliRunner, session: Session, home: SeededUnit, other: SeededUnit
) -> None:
    def run(*args: str) -> str:
        result = runner.invoke(args=["officers", *args])
        assert result.exit_code == 0, result.output
        return result.output

    run("create", "--nip", NIP, "--name", "Ahmad Saputra", "--unit", "DUKCAPIL",
        "--position", "Petugas")
    run("update", NIP, "--position", "Kepala Seksi")
    run("deactivate", NIP)
    run("reactivate", NIP)
    assert "on 2026-11-20" in run("move", NIP, "--to", "PKM-KTB2", "--on", "2026-11-20")
    listed = run("list", "--unit", "PKM-KTB2", "--search", "ahmad")
    assert f"{NIP}\tAhmad Saputra\tPKM-KTB2\tKepala Seksi\tactive" in listed
    assert NIP not in run("list", "--unit", "DUKCAPIL")
    actions = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    release(session)
    assert actions == ["officer.create", "officer.update", "officer.deactivate",
                       "officer.reactivate", "officer.move"]
    entry = session.scalars(select(AuditEntry)).first()
    assert entry is not None and entry.actor.startswith("cli:")
    release(session)


@pytest.mark.parametrize(("args", "message"), [
    (["create", "--nip", "198609262015053001", "--name", "A", "--unit", "DUKCAPIL",
      "--position", "P"], "--nip: NIP: digit 15 (sex) must be 1 or 2"),
    (["create", "--nip", NIP, "--name", "A\x00", "--unit", "DUKCAPIL", "--position", "P"],
     "--name: name contains the invisible or control character U+0000"),
    (["create", "--nip", NIP, "--name", "A" * 5000, "--unit", "DUKCAPIL", "--position", "P"],
     "--name: name is longer than 200 characters"),
    (["create", "--nip", NIP, "--name", "A", "--unit", "NOWHERE", "--position", "P"],
     "--unit: unknown unit code 'NOWHERE'"),
    (["update", OTHER_NIP, "--name", "B"], f"no officer with NIP '{OTHER_NIP}'"),
    (["update", NIP, "--position", "\u202e"], "--position: position contains the invisible"),
    (["update", NIP], "give --name and/or --position"),
    (["reactivate", NIP], "officer Ahmad Saputra is already active"),
    (["move", NIP, "--to", "DUKCAPIL"], "--to: officer Ahmad Saputra already belongs to unit"),
    (["move", NIP, "--to", "PKM-KTB2", "--on", "2999-01-01"],
     "--on: the date of a move cannot be in the future"),
    (["move", NIP, "--to", "PKM-KTB2", "--on", "kemarin"], "'kemarin' does not match"),
    (["list", "--unit", "NOWHERE"], "unknown unit code 'NOWHERE'"),
    (["list", "--unit", "DUKCAPIL\x00"], "unknown unit code 'DUKCAPIL\x00'"),
    (["deactivate", NIP + "\x00"], "no officer with NIP"),
    (["move", NIP, "--to", "PKM\u202e"], "--to: unknown unit code"),
])
def test_cli_errors_exit_non_zero_naming_the_problem(
    runner: FlaskCliRunner, session: Session, home: SeededUnit, other: SeededUnit,
    args: list[str], message: str,
) -> None:
    if args[0] != "create":
        make_officer(session, home)
    before = officers_count(session)
    result = runner.invoke(args=["officers", *args])
    assert result.exit_code != 0
    assert message in result.output
    assert officers_count(session) == before
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0
    release(session)


def test_cli_import_dry_run_prints_the_preview_and_changes_nothing(
    runner: FlaskCliRunner, session: Session, home: SeededUnit, tmp_path: object
) -> None:
    from pathlib import Path

    good = Path(str(tmp_path)) / "good.csv"
    good.write_text(HEADER + f"{NIP},Ahmad,DUKCAPIL,Petugas\n", encoding="utf-8")
    bad = Path(str(tmp_path)) / "bad.csv"
    bad.write_text(HEADER + f"{NIP},Ahmad,NOWHERE,Petugas\n{NIP},A,DUKCAPIL,P\n",
                   encoding="utf-8")
    dry = runner.invoke(args=["officers", "import", "--dry-run", str(good)])
    assert dry.exit_code == 0 and f"line 2: {NIP}\tAhmad\tDUKCAPIL" in dry.output
    assert "would import 1 officers" in dry.output
    assert officers_count(session) == 0
    refused = runner.invoke(args=["officers", "import", "--dry-run", str(bad)])
    assert refused.exit_code != 0
    assert "line 2: unknown unit code 'NOWHERE'" in refused.output
    real = runner.invoke(args=["officers", "import", str(good)])
    assert real.exit_code == 0 and "imported 1 officers" in real.output
    assert officers_count(session) == 1
    assert len(audit_entries(session, "officer.import")) == 1


def test_an_inactive_unit_takes_no_new_officers(
    runner: FlaskCliRunner, session: Session, home: SeededUnit, other: SeededUnit,
    tmp_path: object,
) -> None:
    from pathlib import Path

    make_officer(session, home)
    session.get_one(Unit, other.unit.id).active = False
    session.commit()
    created = runner.invoke(args=["officers", "create", "--nip", OTHER_NIP, "--name", "Siti",
                                  "--unit", "PKM-KTB2", "--position", "Perawat"])
    assert created.exit_code != 0 and "unit PKM-KTB2 is no longer active" in created.output
    moved = runner.invoke(args=["officers", "move", NIP, "--to", "PKM-KTB2"])
    assert moved.exit_code != 0 and "--to: unit PKM-KTB2 is no longer active" in moved.output
    csv_file = Path(str(tmp_path)) / "inactive.csv"
    csv_file.write_text(HEADER + f"{OTHER_NIP},Siti,PKM-KTB2,Perawat\n", encoding="utf-8")
    imported = runner.invoke(args=["officers", "import", str(csv_file)])
    assert imported.exit_code != 0
    assert "line 2: unit PKM-KTB2 is no longer active" in imported.output
    assert officers_count(session) == 1


def test_a_deactivated_officer_cannot_check_in_and_their_open_duty_ends(
    client: FlaskClient, session: Session, home: SeededUnit
) -> None:
    from app.duty import check_in
    from app.org import DomainError

    officer = make_officer(session, home)
    started = datetime(2026, 11, 18, 1, 0, tzinfo=UTC)
    check_in(session, officer, home.counter, started)
    session.commit()
    as_admin(client, session)
    assert post_form(client, f"/admin/officers/{officer.id}/deactivate").status_code == 303
    session.expire_all()
    duty = session.scalars(select(Assignment)).one()
    assert duty.ends_at is not None and duty.ends_at > started
    stored = session.get_one(Officer, officer.id)
    with pytest.raises(DomainError, match="not active"):
        check_in(session, stored, session.get_one(type(home.counter), home.counter.id),
                 datetime(2026, 11, 19, 1, 0, tzinfo=UTC))
    session.rollback()
    [entry] = audit_entries(session, "officer.deactivate")
    assert json.loads(entry.after or "{}") == {"active": False, "ended_duties": [duty.id]}
