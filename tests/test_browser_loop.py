"""Closing the loop in a real Chromium (issue 15's browser test).

A citizen complains at a counter on their phone and gets a reference; the unit's complaint
handler verifies the case and answers it; the unit head records an improvement action
against the weakest element, shows it on the public page and publishes the last quarter;
anyone then reads the unit's index and the action on `/` and `/publik/<unit>`, and no page
they read carries the citizen's words, their contact, the case reference or the officer.

The set-up (unit, counter, free service, officer on duty, accounts, handler role, a finished
quarter of answers, the aggregation) is done without the browser, through the domain and
the CLI. Dates are the real ones: the published quarter is the one before today's.
"""

from __future__ import annotations

import dataclasses
import re
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from babel.dates import format_date
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select
from test_browser import PHONE, SCORES, choose
from test_browser_admin import sign_in
from werkzeug.serving import make_server

from app import create_app
from app.answers import Answers
from app.config import Settings
from app.db import utcnow
from app.feedback import DEFAULT_SURVEY_ID, Submission, record_response
from app.models import Case, CaseContact
from app.org import (
    assign_officer,
    create_counter,
    create_officer,
    create_service,
    create_unit,
    live_token,
)
from app.periods import first_day, last_day, period_name, period_start, previous_period
from app.surveys import latest

pytestmark = pytest.mark.browser

UNIT_CODE = "DUKCAPIL"
UNIT_NAME = "Disdukcapil Lampung Utara"
COUNTER_NAME = "Loket Dua Kartu Keluarga"
OFFICER_NAME = "Rahmawati Kusumaningtyas"
OFFICER_NIP = "198703152010012001"
ADMIN, HEAD, HANDLER = ("admin@contoh.go.id", "kepala.dukcapil@contoh.go.id",
                        "pengaduan.dukcapil@contoh.go.id")
HANDLER_NIP, HANDLER_NAME = "199203142019031004", "Citra Lestari"
PASSWORD = "kata-sandi-uji-2026"  # noqa: S105 (test accounts)
# The finished quarter: twelve answers, U3 the weakest (IKM 77,78, category B).
QUARTER_SCORES = (3, 3, 2, 4, 3, 3, 4, 3, 3)
QUARTER_N = 12
OFFICER_MIN_N = 10  # the default: the quarter has enough answers as it is


@dataclasses.dataclass
class Live:
    """The application served over HTTP on a free port, its public address pointing there."""

    app: Flask
    origin: str


@pytest.fixture
def live(settings: Settings) -> Iterator[Live]:
    """Serve a fresh application whose PUBLIC_BASE_URL is the server's own address."""
    holder: dict[str, Flask] = {}

    def dispatch(environ: dict[str, Any], start_response: Any) -> Any:
        return holder["app"](environ, start_response)

    server = make_server("127.0.0.1", 0, dispatch, threaded=True)
    origin = f"http://127.0.0.1:{server.server_port}"
    application = create_app(dataclasses.replace(settings, public_base_url=origin,
                                                 officer_min_n=OFFICER_MIN_N))
    application.config.update(TESTING=True)
    holder["app"] = application
    thread = threading.Thread(target=server.serve_forever, name="live-loop", daemon=True)
    thread.start()
    yield Live(application, origin)
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
    application.extensions["suara.db"].dispose()


@dataclasses.dataclass(frozen=True)
class Markers:
    """Unique strings the citizen and the staff write; each page is searched for them."""

    comment: str
    email: str
    answer: str
    who: str
    action: str


def _markers() -> Markers:
    tag = uuid.uuid4().hex[:10].upper()
    return Markers(
        comment=f"Antrean lama, petugas tidak menjelaskan KOMENTAR{tag}",
        email=f"warga.{tag.lower()}@contoh.id",
        answer=f"Petugas sudah ditegur dan antrean diatur ulang JAWABAN{tag}",
        who=f"Kepala Seksi Pelayanan PENANGGUNG{tag}",
        action=f"Nomor antrean dan papan informasi waktu tunggu TINDAKAN{tag}",
    )


def _cli(app: Flask, *args: str) -> None:
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output


def _set_up(app: Flask) -> tuple[str, date]:
    """The unit with its counter, free service and officer on duty, the staff accounts and
    the handler role, a finished quarter of answers, aggregated; the survey address and the
    quarter's label."""
    settings = app.extensions["suara.settings"]
    now = utcnow()
    today = now.astimezone(settings.tz).date()
    quarter = previous_period("quarter", period_start("quarter", today))
    start = first_day("quarter", quarter)
    survey = latest(app.extensions["suara.surveys"], DEFAULT_SURVEY_ID)
    with app.extensions["suara.db"].session_scope() as session:
        unit = create_unit(session, UNIT_CODE, UNIT_NAME, "disdukcapil")
        service = create_service(session, unit, "KK", "Kartu Keluarga", standard_minutes=60,
                                 fee=0)
        counter = create_counter(session, unit, "L2", COUNTER_NAME, default_service=service,
                                 now=now)
        officer = create_officer(session, OFFICER_NIP, OFFICER_NAME, unit, "Petugas Pelayanan")
        create_officer(session, HANDLER_NIP, HANDLER_NAME, unit, "Pengelola Pengaduan")
        # On duty through the finished quarter and today: the quarter's answers are hers.
        assign_officer(session, officer, counter,
                       datetime.combine(start, time(0), settings.tz).astimezone(UTC),
                       now + timedelta(hours=8))
        for i in range(QUARTER_N):
            day = start + timedelta(days=7 * (i // 5) + i % 5)  # weekdays of its first weeks
            at = datetime.combine(day, time(8 + i % 6), settings.tz).astimezone(UTC)
            submission = Submission(client_id=uuid.uuid4(), channel="qr", created_at=at,
                                    received_at=at + timedelta(seconds=5))
            record_response(session, survey, counter,
                            Answers(QUARTER_SCORES, "5-15", None, None), submission,
                            settings.tz)
        token = live_token(session, counter)
        assert token is not None
        survey_path = f"/s/{token.token}"
    _cli(app, "users", "create", "--email", ADMIN, "--role", "admin", "--password", PASSWORD)
    _cli(app, "users", "create", "--email", HEAD, "--role", "unit_head", "--unit", UNIT_CODE,
         "--password", PASSWORD)
    _cli(app, "users", "create", "--email", HANDLER, "--role", "officer", "--unit", UNIT_CODE,
         "--nip", HANDLER_NIP, "--password", PASSWORD)
    _cli(app, "cases", "handlers", "add", "--unit", UNIT_CODE, "--email", HANDLER)
    _cli(app, "aggregate", "--full")
    return survey_path, quarter


def _staff_page(browser: Browser, origin: str, email: str) -> tuple[BrowserContext, Page]:
    """A desktop context signed in through the real form."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, origin, email, PASSWORD)
    return context, page


def _expect_nothing_identifying(page: Page, never: dict[str, str]) -> None:
    """Neither the page's text nor its HTML holds any of ``never``'s values."""
    text, html = page.locator("body").inner_text(), page.content()
    for what, value in never.items():
        assert value not in text, f"{page.url} shows the {what}"
        assert value not in html, f"{page.url} carries the {what} in its HTML"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_complaint_is_answered_and_the_quarter_and_its_action_are_published(
    live: Live, browser: Browser
) -> None:
    app, origin = live.app, live.origin
    marks = _markers()
    survey_path, label = _set_up(app)
    database = app.extensions["suara.db"]
    contexts: list[BrowserContext] = []
    try:
        _walk(browser, app, origin, survey_path, label, marks, contexts)
    finally:
        for context in contexts:
            context.close()
    # What the walk stored: the one case, its reasons and state, the contact kept apart.
    with database.session_scope(write=False) as session:
        (case,) = session.scalars(select(Case)).all()
        assert (case.reasons, case.state, case.answer) == (
            "declared,low_score", "followed_up", marks.answer)
        contact = session.scalars(select(CaseContact)).one()
        assert (contact.case_id, contact.email, contact.phone) == (case.id, marks.email, None)


def _walk(browser: Browser, app: Flask, origin: str, survey_path: str, label: date,
          marks: Markers, contexts: list[BrowserContext]) -> None:
    quarter = period_name("quarter", label)
    # 1. A citizen at the counter, on their phone: nine answers, a comment, "Ini pengaduan",
    #    an e-mail address with consent.
    citizen = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    contexts.append(citizen)
    phone = citizen.new_page()
    phone.goto(origin + survey_path)
    expect(phone.get_by_role("heading", level=1)).to_have_text(COUNTER_NAME)
    expect(phone.get_by_text(f"Petugas yang melayani: {OFFICER_NAME}")).to_be_visible()
    choose(phone, latest(app.extensions["suara.surveys"], DEFAULT_SURVEY_ID), SCORES)
    phone.get_by_role("textbox", name=re.compile(r"^Saran dan masukan")).fill(marks.comment)
    phone.get_by_role("checkbox", name=re.compile(r"^Ini pengaduan")).check()
    phone.get_by_role("textbox", name=re.compile(r"^Nomor HP atau e-mail")).fill(marks.email)
    phone.get_by_role("checkbox", name=re.compile(r"^Saya setuju dihubungi")).check()
    phone.get_by_role("button", name="Kirim penilaian").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Terima kasih!")
    expect(phone.get_by_text("Pengaduan Anda telah dicatat.")).to_be_visible()
    shown_reference = phone.get_by_text(re.compile(r"^[2-9A-Z]{4}-[2-9A-Z]{4}$"))
    expect(shown_reference).to_be_visible()
    reference = shown_reference.inner_text()
    case_link = phone.get_by_role("link", name=re.compile(re.escape(reference)))
    expect(case_link).to_have_attribute("href", f"/pengaduan/{reference}")
    case_link.click()
    expect(phone.get_by_role("heading", level=1)).to_have_text(f"Pengaduan {reference}")
    expect(phone.get_by_text("Status:")).to_have_text("Status: Baru")

    # 2. The unit's complaint handler verifies the case and answers the citizen.
    _context, handler = _staff_page(browser, origin, HANDLER)
    contexts.append(_context)
    handler.goto(f"{origin}/admin/cases")
    handler.get_by_role("link", name=reference, exact=True).click()
    expect(handler.get_by_role("heading", level=1)).to_have_text(f"Pengaduan {reference}")
    expect(handler.get_by_text(marks.comment)).to_be_visible()  # the handler reads it
    expect(handler.get_by_text(OFFICER_NAME)).to_have_count(0)  # a handler sees no officer
    handler.get_by_role("button", name="Tampilkan kontak").click()
    expect(handler.get_by_text(marks.email)).to_be_visible()
    handler.locator("textarea[name=verify-note]").fill("Pengaduan jelas, loket dan waktu tercatat.")
    handler.get_by_role("button", name="Tandai terverifikasi").click()
    expect(handler.get_by_role("row", name=re.compile(r"^Keadaan"))).to_contain_text(
        "Diverifikasi")
    handler.get_by_label("Jawaban kepada warga").fill(marks.answer)
    handler.get_by_role("button", name="Catat tindak lanjut").click()
    expect(handler.get_by_role("row", name=re.compile(r"^Keadaan"))).to_contain_text(
        "Ditindaklanjuti")
    expect(handler.get_by_role("row", name=re.compile(r"^Jawaban kepada warga"))
           ).to_contain_text(marks.answer)

    phone.reload()
    expect(phone.get_by_text("Status:")).to_have_text("Status: Ditindaklanjuti")
    _expect_nothing_identifying(phone, {"comment": marks.comment, "answer": marks.answer,
                                        "contact": marks.email, "officer": OFFICER_NAME})

    # 3. The unit head records an action against the quarter's weakest element (U3), shows it
    #    on the public page and publishes the quarter after its confirmation.
    _context, head = _staff_page(browser, origin, HEAD)
    contexts.append(_context)
    head.goto(f"{origin}/admin/actions")
    head.get_by_role("link", name="Tindak lanjut baru").click()
    head.get_by_label("Unsur").select_option("U3")
    head.get_by_label("Kegiatan yang akan dilakukan").fill(marks.action)
    head.get_by_label("Penanggung jawab").fill(marks.who)
    head.get_by_role("button", name="Catat aksi perbaikan").click()
    expect(head.get_by_role("heading", level=1)).to_have_text("Rencana tindak lanjut")
    expect(head.get_by_text(marks.action)).to_be_visible()
    head.get_by_role("link", name="Tampilkan di halaman publik").click()
    head.get_by_role("button", name="Tampilkan di halaman publik").click()
    expect(head.get_by_role("row", name=re.compile(r"^Di halaman publik"))).to_contain_text(
        "Ya")

    head.goto(f"{origin}/admin/publish")
    row = head.get_by_role("row").filter(
        has=head.get_by_role("rowheader", name=quarter, exact=True))
    expect(row).to_have_count(1)
    row.get_by_role("link", name="Terbitkan", exact=True).click()
    expect(head.get_by_role("heading", level=1)).to_have_text(
        f"Terbitkan {quarter} dari {UNIT_NAME}?")
    head.get_by_role("button", name="Terbitkan", exact=True).click()
    expect(head).to_have_url(re.compile(r"/admin/publish"))
    expect(row).to_contain_text("Revisi 1, terbit")

    # 4. Anyone, without a cookie, reads the index and the action; nothing identifies anyone.
    days = (f"{format_date(first_day('quarter', label), 'long', locale='id')} – "
            f"{format_date(last_day('quarter', label), 'long', locale='id')}")
    never = {"comment": marks.comment, "contact": marks.email, "answer": marks.answer,
             "person responsible": marks.who, "officer's name": OFFICER_NAME,
             "officer's NIP": OFFICER_NIP, "case reference": reference}
    reader = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    contexts.append(reader)
    public = reader.new_page()
    public.goto(origin + "/")
    unit_row = public.get_by_role("row").filter(
        has=public.get_by_role("link", name=UNIT_NAME, exact=True))
    expect(unit_row).to_have_count(1)
    for shown in (quarter, days, "77,78", "B (Baik)", str(QUARTER_N)):
        expect(unit_row).to_contain_text(shown)
    expect(public.get_by_role("heading", name="Anda berkata, kami lakukan")).to_be_visible()
    item = public.get_by_role("listitem").filter(has_text=marks.action)
    expect(item).to_have_count(1)
    expect(item).to_contain_text("U3")
    expect(item).to_contain_text("Direncanakan")
    _expect_nothing_identifying(public, never)

    unit_row.get_by_role("link", name=UNIT_NAME, exact=True).click()
    expect(public).to_have_url(f"{origin}/publik/{UNIT_CODE}")
    expect(public.get_by_role("heading", level=1)).to_have_text(UNIT_NAME)
    quarter_row = public.get_by_role("row").filter(has_text=quarter)
    expect(quarter_row).to_have_count(1)
    for shown in (days, "77,78", "B (Baik)", str(QUARTER_N)):
        expect(quarter_row).to_contain_text(shown)
    expect(public.get_by_role("listitem").filter(has_text=marks.action)).to_have_count(1)
    _expect_nothing_identifying(public, never)
