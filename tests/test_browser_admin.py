"""From an empty database to an officer reading a citizen's answer, in a real Chromium.

Issue 13's walk-through: no demo; the first administrator comes from `users create`; the
administrator sets up a Puskesmas with a service and a counter, imports two officers from CSV,
creates an officer account whose owner sets a password through the one-time link, downloads
the counter's poster (the QR code is decoded here), the officer checks in, a citizen answers
through the poster's address, the response is attributed to that officer, `aggregate` runs and
the officer sees the response on their page. The audit log lists every step.
"""

from __future__ import annotations

import dataclasses
import io
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import PIL.Image
import pytest
import time_machine
import zxingcpp
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from test_browser import PHONE, SCORES, choose
from werkzeug.serving import make_server

from app import create_app
from app.config import Settings
from app.db import utcnow
from app.feedback import DEFAULT_SURVEY_ID
from app.models import AuditEntry, Officer, Response
from app.surveys import latest

pytestmark = pytest.mark.browser

ADMIN = "admin@lampungutarakab.go.id"
ADMIN_PASSWORD = "sandi-admin-2026-panjang"  # noqa: S105 (a test account)
OFFICER_EMAIL = "siti.rahma@lampungutarakab.go.id"
OFFICER_PASSWORD = "sandi-petugas-2026"  # noqa: S105
OFFICER_NIP = "198905122014022003"
OFFICER_NAME = "Siti Rahmawati"
CSV = (f"nip,name,unit,position\n{OFFICER_NIP},{OFFICER_NAME},PKM-UDIK,Perawat\n"
       "198201032008011004,Andi Saputra,PKM-UDIK,Dokter Umum\n")
COMMENT = "Pelayanan cepat, perawatnya ramah."


@dataclasses.dataclass
class Live:
    """The application served over HTTP on a free port, its public address pointing there."""

    app: Flask
    origin: str


@pytest.fixture
def live(settings: Settings) -> Iterator[Live]:
    """Serve a fresh application whose PUBLIC_BASE_URL is the server's own address (the
    one-time link and the poster's QR code must open here); figures from one response."""
    holder: dict[str, Flask] = {}

    def dispatch(environ: dict[str, Any], start_response: Any) -> Any:
        return holder["app"](environ, start_response)

    server = make_server("127.0.0.1", 0, dispatch, threaded=True)
    origin = f"http://127.0.0.1:{server.server_port}"
    application = create_app(dataclasses.replace(settings, public_base_url=origin,
                                                 officer_min_n=1))
    application.config.update(TESTING=True)
    holder["app"] = application
    thread = threading.Thread(target=server.serve_forever, name="live-admin", daemon=True)
    thread.start()
    yield Live(application, origin)
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
    application.extensions["suara.db"].dispose()


def sign_in(page: Page, origin: str, email: str, password: str) -> None:
    """The real sign-in form."""
    page.goto(f"{origin}/masuk")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.locator("form button[type=submit]").last.click()
    expect(page).not_to_have_url(re.compile(r"/masuk"))


def choose_option(page: Page, select: str, text: str) -> None:
    """Pick the option of ``select`` whose label contains ``text``."""
    value = page.locator(f"select[name={select}] option", has_text=text).get_attribute("value")
    assert value is not None
    page.locator(f"select[name={select}]").select_option(value)


def submit_form(page: Page) -> None:
    """Press the page's main form button (the one inside <main>)."""
    page.locator("main form button[type=submit]").last.click()


# A browser test on SQLite only: the engine is not what it tests (both engines run the
# domain tests of every step).
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_from_an_empty_database_to_an_officer_reading_a_citizens_answer(
    live: Live, browser: Browser, tmp_path: Path
) -> None:
    app, origin = live.app, live.origin
    database = app.extensions["suara.db"]
    runner = app.test_cli_runner()
    created = runner.invoke(args=["users", "create", "--email", ADMIN, "--role", "admin",
                                  "--password", ADMIN_PASSWORD])
    assert created.exit_code == 0, created.output

    admin = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = admin.new_page()
    sign_in(page, origin, ADMIN, ADMIN_PASSWORD)

    # A Puskesmas with a service and a counter.
    page.goto(f"{origin}/admin/units/new")
    page.locator("input[name=code]").fill("PKM-UDIK")
    page.locator("input[name=name]").fill("Puskesmas Kotabumi Udik")
    page.locator("select[name=kind]").select_option("puskesmas")
    page.locator("textarea[name=address]").fill("Jl. Soekarno-Hatta, Kotabumi Udik")
    page.locator("input[name=hours_mon]").fill("07:30-15:30")
    submit_form(page)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Puskesmas Kotabumi Udik")
    page.get_by_role("link", name="Layanan baru").click()
    page.locator("input[name=code]").fill("UMUM")
    page.locator("input[name=name]").fill("Pemeriksaan Umum")
    page.locator("input[name=standard_minutes]").fill("30")
    page.locator("input[name=fee]").fill("0")
    submit_form(page)
    page.get_by_role("link", name="Loket baru").click()
    page.locator("input[name=code]").fill("POLI-UMUM")
    page.locator("input[name=name]").fill("Poli Umum")
    choose_option(page, "service", "UMUM")
    submit_form(page)
    expect(page.get_by_role("cell", name="Poli Umum", exact=True)).to_be_visible()

    # Two officers from CSV: a preview first, then the import.
    page.goto(f"{origin}/admin/officers/import")
    page.locator("input[name=file]").set_input_files(
        {"name": "petugas.csv", "mimeType": "text/csv", "buffer": CSV.encode()})
    submit_form(page)
    expect(page.get_by_role("cell", name=OFFICER_NAME)).to_be_visible()
    page.get_by_role("button", name=re.compile("Impor")).click()
    expect(page.get_by_text(OFFICER_NAME)).to_be_visible()

    # The officer's account, and its one-time link.
    page.goto(f"{origin}/admin/accounts/new")
    page.locator("input[name=email]").fill(OFFICER_EMAIL)
    page.locator("select[name=role]").select_option("officer")
    choose_option(page, "unit", "PKM-UDIK")
    page.locator("input[name=nip]").fill(OFFICER_NIP)
    submit_form(page)
    link = page.locator("input#link").input_value()
    assert link.startswith(f"{origin}/akun/sandi/")

    # The poster, downloaded from the browser; its QR code is the survey's address.
    page.goto(f"{origin}/admin/posters")
    with page.expect_download() as download:
        page.get_by_role("link", name="PNG").click()
    png = Path(download.value.path()).read_bytes()
    decoded = zxingcpp.read_barcodes(PIL.Image.open(io.BytesIO(png)))
    assert len(decoded) == 1
    survey_url = decoded[0].text
    assert re.fullmatch(rf"{re.escape(origin)}/s/[A-Za-z0-9_-]{{16,32}}", survey_url)

    # The officer sets a password through the link, signs in and checks in.
    officer_context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    phone = officer_context.new_page()
    phone.goto(link)
    phone.locator("input[name=password]").fill(OFFICER_PASSWORD)
    phone.locator("input[name=confirm]").fill(OFFICER_PASSWORD)
    submit_form(phone)
    sign_in(phone, origin, OFFICER_EMAIL, OFFICER_PASSWORD)
    phone.goto(f"{origin}/tugas")
    phone.get_by_role("button", name="Saya bertugas di Poli Umum").click()
    expect(phone.get_by_role("status")).to_contain_text("bertugas di Poli Umum sejak")

    # A citizen answers through the poster's address, on their own phone.
    citizen = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    form = citizen.new_page()
    form.goto(survey_url)
    expect(form.get_by_text(OFFICER_NAME)).to_be_visible()  # the page names who serves here
    survey = latest(app.extensions["suara.surveys"], DEFAULT_SURVEY_ID)
    choose(form, survey, SCORES)
    form.get_by_role("textbox", name=re.compile(r"^Saran dan masukan")).fill(COMMENT)
    form.get_by_role("button", name="Kirim penilaian").click()
    form.wait_for_url(re.compile(r"/terima-kasih$"))

    with database.session_scope(write=False) as session:
        officer = session.scalars(select(Officer).where(Officer.nip == OFFICER_NIP)).one()
        (response,) = session.scalars(select(Response)).all()
        assert response.officer_id == officer.id
        assert response.attribution == "checkin"
        officer_id = officer.id

    # The scheduler's pass, run by hand once the response has settled (time is injected).
    with time_machine.travel(utcnow() + timedelta(minutes=3), tick=True):
        aggregated = runner.invoke(args=["aggregate"])
    assert aggregated.exit_code == 0, aggregated.output

    today = utcnow().astimezone(app.extensions["suara.settings"].tz).date()
    phone.goto(f"{origin}/dashboard/me?week={today.isoformat()}")
    expect(phone.get_by_text(COMMENT)).to_be_visible()
    responses_card = phone.locator(".card", has_text="Tanggapan saat bertugas")
    expect(responses_card.locator(".big")).to_have_text("1")

    # The audit log names every step, and its page shows them to the administrator.
    with database.session_scope(write=False) as session:
        actions = set(session.scalars(select(AuditEntry.action)))
        cli_create = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "user.create").order_by(AuditEntry.id)).first()
    expected = {"user.create", "auth.sign_in", "org.unit.create", "org.service.create",
                "org.counter.create", "officer.import", "user.link_issued", "user.password_set",
                "counter.poster_download", "duty.check_in"}
    assert expected <= actions, expected - actions
    assert cli_create is not None and cli_create.actor.startswith("cli:")
    assert officer_id
    page.goto(f"{origin}/admin/audit")
    for action in ("org.unit.create", "officer.import", "duty.check_in", "user.password_set"):
        expect(page.get_by_text(action, exact=True).first).to_be_visible()
    assert COMMENT not in page.content()  # a citizen's words never enter the log
