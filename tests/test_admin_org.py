"""The back office's units, services and counters: forms with real CSRF tokens, the same rules
as the organisation file, the unit head's scope, confirmations and the audit log."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from factories import NIP, csrf_token_of, make_user, sign_in
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from app import orgspec
from app.db import Base
from app.models import AuditEntry, Counter, CounterToken, OpeningHours, Service, Unit
from app.org import create_officer
from app.orgspec import CounterSpec, ServiceSpec, UnitSpec

ADMIN = "admin@example.id"
HEAD = "kepala.dinkes@example.id"  # heads DINKES, which holds PKM-A
OTHER_HEAD = "kepala.pkmb@example.id"  # heads PKM-B
OFFICER = "petugas@example.id"


@dataclass(frozen=True)
class World:
    dinkes: int
    pkm_a: int
    pkm_b: int
    service_a: int
    counter_a: int
    counter_b: int


@pytest.fixture
def world(session: Session) -> World:
    dinkes = orgspec.create_unit(session, UnitSpec("DINKES", "Dinas Kesehatan", "other"))
    pkm_a = orgspec.create_unit(session, UnitSpec("PKM-A", "Puskesmas A", "puskesmas",
                                                  parent="DINKES"))
    pkm_b = orgspec.create_unit(session, UnitSpec("PKM-B", "Puskesmas B", "puskesmas"))
    service_a = orgspec.create_service(session, pkm_a, ServiceSpec("UMUM", "Poli Umum", 30))
    counter_a = orgspec.create_counter(session, pkm_a, CounterSpec("P1", "Poli Umum", "UMUM"))
    counter_b = orgspec.create_counter(session, pkm_b, CounterSpec("P1", "Poli Umum"))
    session.commit()
    make_user(session, ADMIN, "admin")
    make_user(session, HEAD, "unit_head", unit=dinkes)
    make_user(session, OTHER_HEAD, "unit_head", unit=pkm_b)
    officer = create_officer(session, NIP, "Ahmad Saputra", pkm_a, "Dokter Umum")
    make_user(session, OFFICER, "officer", unit=pkm_a, officer=officer)
    return World(dinkes.id, pkm_a.id, pkm_b.id, service_a.id, counter_a.id, counter_b.id)


@pytest.fixture
def reader(app: Flask, world: World) -> Iterator[Session]:
    """A read-only session (never holds SQLite's write lock); rollback() to see new commits."""
    session = app.extensions["suara.db"].session(write=False)
    yield session
    session.rollback()
    session.close()


def signed_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    answer = sign_in(client, email)
    assert answer.status_code == 303, answer.status_code
    return client


def html(page: TestResponse) -> str:
    return page.get_data(as_text=True)


def counts(reader: Session) -> dict[str, int]:
    reader.rollback()  # see what the requests committed
    return {table.name: int(reader.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables}


def post_form(client: FlaskClient, path: str, query: str = "", **fields: str) -> TestResponse:
    """Open the form, then post it with its CSRF token and ``fields``."""
    page = client.get(path + query)
    assert page.status_code == 200, (path, page.status_code)
    return client.post(path + query, data={"csrf_token": csrf_token_of(page), **fields})


UNIT_FIELDS = {"code": "PKM-C", "name": "Puskesmas C", "kind": "puskesmas",
               "parent": "DINKES", "address": "Jl. Merdeka 3",
               "hours_mon": "07:30-15:30", "hours_sat": "07:30-12:00"}


def test_an_administrator_creates_a_unit_with_its_opening_hours(
        app: Flask, reader: Session, world: World) -> None:
    client = signed_in(app, ADMIN)
    answer = post_form(client, "/admin/units/new", **UNIT_FIELDS)
    assert answer.status_code == 303, html(answer)
    unit = reader.scalars(select(Unit).where(Unit.code == "PKM-C")).one()
    assert answer.headers["Location"].endswith(f"/admin/units/{unit.id}")
    assert unit.parent_id == world.dinkes
    assert unit.address == "Jl. Merdeka 3"
    hours = reader.scalars(select(OpeningHours).where(OpeningHours.unit_id == unit.id)
                            .order_by(OpeningHours.weekday)).all()
    assert [(h.weekday, h.opens.isoformat(), h.closes.isoformat()) for h in hours] == [
        (0, "07:30:00", "15:30:00"), (5, "07:30:00", "12:00:00")]
    entry = reader.scalars(select(AuditEntry).where(
        AuditEntry.action == "org.unit.create", AuditEntry.object_id == str(unit.id))).one()
    assert entry.actor == f"user:{ADMIN}"
    assert entry.request is not None and "POST /admin/units/new" in entry.request
    assert json.loads(entry.after or "{}")["opening_hours"] == {
        "mon": "07:30-15:30", "sat": "07:30-12:00"}
    # The page it lands on shows the unit.
    page = client.get(answer.headers["Location"])
    assert "Puskesmas C" in html(page)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("name", "Puskesmas\x00C", "Remove the invisible or control character U+0000."),
    ("name", "Puskesmas \u202eC", "Remove the invisible or control character U+202E."),
    ("name", "Puskesmas\u200bC", "Remove the invisible or control character U+200B."),
    ("name", "P" * 10_000, "At most 200 characters (this has 10000)."),
    ("name", "   ", "This field is required."),
    ("address", "Jl.\x00", "Remove the invisible or control character U+0000."),
    ("code", "PKM C", "A code is 1 to 32 letters"),
    ("code", "X" * 33, "A code is 1 to 32 letters"),
    ("code", "PKM-A", "Another unit already has this code."),
    ("kind", "hospital", "The kind must be one of"),
    ("parent", "NOPE", "There is no unit with code NOPE."),
    ("hours_mon", "25:00-26:00", "Hours run from 00:00 to 23:59."),
    ("hours_mon", "15:30-07:30", "The closing time must be after the opening time."),
    ("hours_mon", "pagi", "Write opening hours as HH:MM-HH:MM"),
])
def test_bad_unit_fields_are_refused_beside_the_field_and_nothing_is_stored(
        app: Flask, reader: Session, world: World, field: str, value: str,
        message: str) -> None:
    client = signed_in(app, ADMIN)
    before = counts(reader)
    answer = post_form(client, "/admin/units/new", "?lang=en",
                       **{**UNIT_FIELDS, field: value})
    assert answer.status_code == 400
    page = html(answer)
    assert f'<p class="err" id="{field}-error">{message}' in page, page
    assert counts(reader) == before


def test_messages_are_in_indonesian_by_default(
        app: Flask, reader: Session, world: World) -> None:
    client = signed_in(app, ADMIN)
    answer = post_form(client, "/admin/units/new", **{**UNIT_FIELDS, "hours_mon": "15:30-07:30"})
    assert answer.status_code == 400
    assert "Jam tutup harus setelah jam buka." in html(answer)
    answer = post_form(client, f"/admin/units/{world.pkm_a}/services/new",
                       code="GIGI", name="Poli Gigi", fee="-5")
    assert "Tarif antara 0 dan 100000000 Rupiah." in html(answer)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("fee", "-5", "The fee is between 0 and 100000000 Rupiah."),
    ("fee", "1e9", "Enter a whole number, e.g. 30."),
    ("fee", "100000001", "The fee is between 0 and 100000000 Rupiah."),
    ("standard_minutes", "0", "The standard time is between 1 and 1440 minutes."),
    ("standard_minutes", "tiga puluh", "Enter a whole number, e.g. 30."),
    ("standard_minutes", "9" * 40, "Enter a whole number, e.g. 30."),
    ("code", "UMUM", "This unit already has a service with this code."),
    ("name", "Poli\x00Gigi", "Remove the invisible or control character U+0000."),
])
def test_bad_service_fields_are_refused(app: Flask, reader: Session, world: World,
                                        field: str, value: str, message: str) -> None:
    client = signed_in(app, ADMIN)
    before = counts(reader)
    fields = {"code": "GIGI", "name": "Poli Gigi", "standard_minutes": "45", "fee": "15000"}
    answer = post_form(client, f"/admin/units/{world.pkm_a}/services/new", "?lang=en",
                       **{**fields, field: value})
    assert answer.status_code == 400
    assert f'<p class="err" id="{field}-error">{message}' in html(answer), html(answer)
    assert counts(reader) == before


def test_services_and_counters_are_created_and_edited(
        app: Flask, reader: Session, world: World) -> None:
    client = signed_in(app, HEAD)
    answer = post_form(client, f"/admin/units/{world.pkm_a}/services/new",
                       code="GIGI", name="Poli Gigi", standard_minutes="45", fee="15000")
    assert answer.status_code == 303, html(answer)
    answer = post_form(client, f"/admin/units/{world.pkm_a}/counters/new",
                       code="P2", name="Poli Gigi", service="GIGI")
    assert answer.status_code == 303, html(answer)
    counter = reader.scalars(select(Counter).where(Counter.code == "P2")).one()
    assert counter.default_service is not None and counter.default_service.code == "GIGI"
    assert counter.tokens  # its first QR token is issued with it

    answer = post_form(client, f"/admin/services/{world.service_a}/edit",
                       code="UMUM", name="Poli Umum Dewasa", standard_minutes="", fee="0")
    assert answer.status_code == 303, html(answer)
    reader.rollback()
    service = reader.get(Service, world.service_a)
    assert service is not None and service.name == "Poli Umum Dewasa"
    assert service.standard_minutes is None
    entry = reader.scalars(select(AuditEntry).where(
        AuditEntry.action == "org.service.update")).one()
    assert json.loads(entry.before or "{}") == {"name": "Poli Umum", "standard_minutes": 30}

    answer = post_form(client, f"/admin/counters/{world.counter_a}/edit", "?lang=en",
                       code="P1", name="Poli Umum", service="MATA")
    assert answer.status_code == 400
    assert "This unit has no service with code MATA." in html(answer)


def test_deactivating_a_counter_asks_first_then_keeps_it(
        app: Flask, reader: Session, world: World) -> None:
    client = signed_in(app, HEAD)
    page = client.get(f"/admin/counters/{world.counter_a}/deactivate?lang=en")
    assert page.status_code == 200
    assert "Deactivate counter P1?" in html(page)
    reader.rollback()
    assert reader.get(Counter, world.counter_a).active  # type: ignore[union-attr]

    # Without its CSRF token the confirmation changes nothing.
    refused = client.post(f"/admin/counters/{world.counter_a}/deactivate", data={})
    assert refused.status_code == 400
    reader.rollback()
    assert reader.get(Counter, world.counter_a).active  # type: ignore[union-attr]

    answer = client.post(f"/admin/counters/{world.counter_a}/deactivate",
                         data={"csrf_token": csrf_token_of(page)})
    assert answer.status_code == 303
    reader.rollback()
    counter = reader.get(Counter, world.counter_a)
    assert counter is not None and counter.active is False
    assert reader.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "org.counter.deactivate")) == 1

    unit_page = client.get(f"/admin/units/{world.pkm_a}")
    answer = client.post(f"/admin/counters/{world.counter_a}/reactivate",
                         data={"csrf_token": csrf_token_of(unit_page)})
    assert answer.status_code == 303
    reader.rollback()
    assert reader.get(Counter, world.counter_a).active  # type: ignore[union-attr]


def test_deactivating_a_unit_and_a_service(app: Flask, reader: Session, world: World) -> None:
    client = signed_in(app, ADMIN)
    for path, model, object_id in (
            (f"/admin/units/{world.pkm_b}/deactivate", Unit, world.pkm_b),
            (f"/admin/services/{world.service_a}/deactivate", Service, world.service_a)):
        page = client.get(path)
        answer = client.post(path, data={"csrf_token": csrf_token_of(page)})
        assert answer.status_code == 303
        reader.rollback()
        assert reader.get(model, object_id).active is False  # type: ignore[attr-defined]
    actions = set(reader.scalars(select(AuditEntry.action)))
    assert {"org.unit.deactivate", "org.service.deactivate"} <= actions


def test_a_unit_cannot_become_its_own_ancestor(app: Flask, reader: Session,
                                               world: World) -> None:
    client = signed_in(app, ADMIN)
    before = counts(reader)
    answer = post_form(client, f"/admin/units/{world.dinkes}/edit", "?lang=en",
                       code="DINKES", name="Dinas Kesehatan", kind="other", parent="PKM-A")
    assert answer.status_code == 400
    assert "A unit cannot be placed under itself or one of its sub-units." in html(answer)
    assert counts(reader) == before


def test_the_unit_list_shows_each_user_their_scope(app: Flask, world: World) -> None:
    page = html(signed_in(app, ADMIN).get("/admin/units"))
    assert all(code in page for code in ("DINKES", "PKM-A", "PKM-B"))
    page = html(signed_in(app, HEAD).get("/admin/units"))
    assert "PKM-A" in page and "DINKES" in page and "PKM-B" not in page
    assert signed_in(app, OFFICER).get("/admin/units").status_code == 403


def test_another_units_head_gets_404_everywhere_and_changes_nothing(
        app: Flask, reader: Session, world: World) -> None:
    client = signed_in(app, OTHER_HEAD)
    token = csrf_token_of(client.get(f"/admin/units/{world.pkm_b}"))
    before = counts(reader)
    assert client.get(f"/admin/units/{world.pkm_a}").status_code == 404
    for path in (f"/admin/units/{world.pkm_a}/edit",
                 f"/admin/units/{world.pkm_a}/services/new",
                 f"/admin/units/{world.pkm_a}/counters/new",
                 f"/admin/services/{world.service_a}/edit",
                 f"/admin/counters/{world.counter_a}/edit",
                 f"/admin/counters/{world.counter_a}/deactivate",
                 f"/admin/units/{world.dinkes}/deactivate"):
        assert client.get(path).status_code == 404, path
        assert client.post(path, data={"csrf_token": token, "code": "X", "name": "X"}
                           ).status_code == 404, path
    for path in (f"/admin/counters/{world.counter_a}/reactivate",
                 f"/admin/services/{world.service_a}/reactivate",
                 f"/admin/units/{world.pkm_a}/reactivate"):
        assert client.post(path, data={"csrf_token": token}).status_code == 404, path
    # Out of scope and not there answer alike.
    assert client.get("/admin/units/999999").status_code == 404
    assert counts(reader) == before


def test_a_unit_head_cannot_create_top_level_units_or_move_one_out(
        app: Flask, reader: Session, world: World) -> None:
    client = signed_in(app, HEAD)
    before = counts(reader)
    answer = post_form(client, "/admin/units/new", "?lang=en", **{**UNIT_FIELDS, "parent": ""})
    assert answer.status_code == 400
    assert "Choose one of the units you manage as the parent." in html(answer)
    answer = post_form(client, f"/admin/units/{world.pkm_a}/edit", "?lang=en",
                       code="PKM-A", name="Puskesmas A", kind="puskesmas", parent="PKM-B")
    assert answer.status_code == 400
    assert "Choose one of the units you manage as the parent." in html(answer)
    answer = post_form(client, f"/admin/units/{world.pkm_a}/edit", "?lang=en",
                       code="PKM-A", name="Puskesmas A", kind="puskesmas", parent="PKM\x00B")
    assert answer.status_code == 400
    assert "A code is 1 to 32 letters" in html(answer)
    assert counts(reader) == before

    answer = post_form(client, "/admin/units/new", **UNIT_FIELDS)  # under DINKES: theirs
    assert answer.status_code == 303, html(answer)
    # Their own top unit keeps its place (no parent) when they edit it: the form offers it.
    edit = html(client.get(f"/admin/units/{world.dinkes}/edit"))
    assert '<option selected value="">' in edit or '<option value="" selected>' in edit, edit
    assert not re.search(r'<option[^>]*value=""', html(client.get("/admin/units/new")))
    answer = post_form(client, f"/admin/units/{world.dinkes}/edit",
                       code="DINKES", name="Dinas Kesehatan Kab.", kind="other", parent="")
    assert answer.status_code == 303, html(answer)


def test_citizens_see_what_the_back_office_deactivated(
        app: Flask, reader: Session, world: World) -> None:
    client = signed_in(app, ADMIN)
    token = reader.scalars(select(CounterToken.token).where(
        CounterToken.counter_id == world.counter_a)).one()
    reader.rollback()
    citizen = app.test_client()
    assert 'value="UMUM"' in html(citizen.get(f"/s/{token}"))

    for path in (f"/admin/services/{world.service_a}/deactivate",
                 f"/admin/counters/{world.counter_a}/deactivate"):
        page = client.get(path)
        assert client.post(path, data={"csrf_token": csrf_token_of(page)}).status_code == 303
        if "services" in path:  # a deactivated service is no longer offered
            survey = citizen.get(f"/s/{token}")
            assert survey.status_code == 200
            assert 'value="UMUM"' not in html(survey)
    # The deactivated counter's poster answers with the kind "no longer in use" page.
    assert citizen.get(f"/s/{token}").status_code == 410
