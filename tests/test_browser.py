"""The citizen survey in a real Chromium on a 360 px phone: works without JavaScript, light."""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import PIL.Image
import pytest
import zxingcpp
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from app.db import utcnow
from app.feedback import DEFAULT_SURVEY_ID
from app.models import Response
from app.org import (
    assign_officer,
    create_counter,
    create_officer,
    create_service,
    create_unit,
    live_token,
)
from app.posters import Poster, render_posters_html
from app.surveys import Survey, latest

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
PHONE = {"width": 360, "height": 640}
MIN_TARGET_PX = 44  # WCAG 2.5.5 target size; the smallest thumb-friendly tap target
# A long unit name and officer name on purpose: the header must still fit 360 px.
UNIT_NAME = "Dinas Kependudukan dan Pencatatan Sipil Kabupaten Lampung Utara"
OFFICER_NAME = "Nurhayati Anggraini Permatasari"
OFFICER_NIP = "198703152010012001"
SCORES = {"U1": 4, "U2": 3, "U3": 2, "U4": 4, "U5": 3, "U6": 4, "U7": 1, "U8": 3, "U9": 2}
WAIT_BAND = "5-15"
COMMENT = "Antrean rapi, petugas ramah. Kursi tunggu kurang."


@dataclass
class LiveSite:
    """The real application served over HTTP, with one counter and its officer on duty."""

    origin: str
    survey_url: str
    engine: str
    survey: Survey
    counter_id: int
    officer_id: int
    service_id: int
    hits: list[str] = field(default_factory=list)  # "METHOD /path" as the server received them




@pytest.fixture
def site(app: Flask, session: Session) -> Iterator[LiveSite]:
    """Seed a unit, counter and officer on duty, then serve the app on a free local port."""
    now = utcnow()
    unit = create_unit(session, "DUKCAPIL", UNIT_NAME, "disdukcapil")
    service = create_service(session, unit, "KK", "Kartu Keluarga", standard_minutes=60)
    create_service(session, unit, "KTP-REKAM", "KTP-el — Perekaman", standard_minutes=30)
    counter = create_counter(session, unit, "L3", "Loket 3", default_service=service, now=now)
    officer = create_officer(session, OFFICER_NIP, OFFICER_NAME, unit, "Petugas Pelayanan")
    assign_officer(session, officer, counter, now - timedelta(hours=1), now + timedelta(hours=8))
    token = live_token(session, counter)
    assert token is not None
    session.commit()

    hits: list[str] = []

    def recording_app(environ: dict[str, Any], start_response: Any) -> Any:
        hits.append(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}")
        return app(environ, start_response)

    server = make_server("127.0.0.1", 0, recording_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    origin = f"http://127.0.0.1:{server.server_port}"
    settings = app.extensions["suara.settings"]
    yield LiveSite(
        origin=origin,
        survey_url=f"{origin}/s/{token.token}",
        engine="sqlite" if settings.is_sqlite else "postgresql",
        survey=latest(app.extensions["suara.surveys"], DEFAULT_SURVEY_ID),
        counter_id=counter.id,
        officer_id=officer.id,
        service_id=service.id,
        hits=hits,
    )
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


@pytest.fixture
def phone(browser: Browser, site: LiveSite) -> Iterator[Callable[..., Page]]:
    """Open a page in a fresh 360×640 touch-phone context, with or without JavaScript."""
    contexts: list[BrowserContext] = []

    def open_page(*, javascript: bool, width: int = PHONE["width"]) -> Page:
        context = browser.new_context(
            viewport={**PHONE, "width": width}, is_mobile=True, has_touch=True,
            java_script_enabled=javascript,
        )
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def artifact(name: str) -> Path:
    """A path in test-artifacts/ (git-ignored) for a screenshot to look at after the run."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


def document_width(page: Page) -> float:
    """The scrollable width of the page.

    Playwright's evaluate runs over the DevTools protocol, which a context created with
    java_script_enabled=False does not block: the page's own scripts stay off.
    """
    width: float = page.evaluate(
        "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
    )
    return width


def option_label(survey: Survey, code: str, score: int) -> str:
    """The Indonesian label of one answer to one element."""
    element = survey.element(code)
    assert element is not None
    return next(o.label.id for o in element.options if o.score == score)


def wait_label(survey: Survey, code: str) -> str:
    """The Indonesian label of one waiting-time band."""
    band = survey.wait_band(code)
    assert band is not None
    return band.label.id


def choose(page: Page, survey: Survey, scores: Mapping[str, int]) -> None:
    """Tap the visible answer labels, the way a citizen does (the radios themselves are hidden)."""
    for code, score in scores.items():
        page.locator(f"#f-{code} label.o").get_by_text(
            option_label(survey, code, score), exact=True
        ).click()


def fill_optional(page: Page, survey: Survey) -> None:
    """Pick a waiting band and write a comment."""
    page.locator("#f-wait_band label.o").get_by_text(
        wait_label(survey, WAIT_BAND), exact=True
    ).click()
    page.get_by_role("textbox", name=re.compile(r"^Saran dan masukan")).fill(COMMENT)


def expect_answers_checked(page: Page, scores: Mapping[str, int]) -> None:
    """Every given answer is the checked radio of its question."""
    for code, score in scores.items():
        expect(page.locator(f'#f-{code} input[type=radio][value="{score}"]')).to_be_checked()


def test_citizen_answers_without_javascript_at_360px(
    site: LiveSite, phone: Callable[..., Page], session: Session
) -> None:
    page = phone(javascript=False)
    page.goto(site.survey_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Loket 3")
    expect(page.get_by_text(f"Petugas yang melayani: {OFFICER_NAME}")).to_be_visible()
    assert document_width(page) <= PHONE["width"], "the survey scrolls sideways at 360 px"

    choose(page, site.survey, SCORES)
    fill_optional(page, site.survey)
    expect_answers_checked(page, SCORES)
    expect(page.locator(f'#f-wait_band input[value="{WAIT_BAND}"]')).to_be_checked()
    assert document_width(page) <= PHONE["width"]
    page.screenshot(path=artifact(f"survey-360x640-{site.engine}.png"), full_page=True)

    page.get_by_role("button", name="Kirim penilaian").click()
    page.wait_for_url(re.compile(r"/terima-kasih$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Terima kasih!")
    assert document_width(page) <= PHONE["width"], "the thank-you page scrolls sideways"
    page.screenshot(path=artifact(f"thanks-360x640-{site.engine}.png"), full_page=True)

    (stored,) = session.scalars(select(Response)).all()
    assert stored.scores() == tuple(SCORES.values())
    assert stored.wait_band == WAIT_BAND
    assert stored.comment == COMMENT
    assert stored.channel == "qr"
    assert stored.counter_id == site.counter_id
    assert stored.officer_id == site.officer_id
    assert stored.service_id == site.service_id  # the counter's service, preselected


def test_missing_answer_comes_back_beside_its_question(
    site: LiveSite, phone: Callable[..., Page], session: Session
) -> None:
    page = phone(javascript=False)
    page.goto(site.survey_url)
    answered = {code: score for code, score in SCORES.items() if code != "U3"}
    choose(page, site.survey, answered)
    fill_optional(page, site.survey)

    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Kirim penilaian").click()
    assert posted.value.status == 303  # Post/Redirect/Get: back to the form by a GET
    page.wait_for_load_state()
    assert page.url == site.survey_url

    # Inside question 3's fieldset, and announced with it by screen readers.
    expect(page.locator("#f-U3 #m-U3")).to_have_text(
        "Mohon pilih salah satu jawaban untuk pertanyaan 3 (Waktu penyelesaian).")
    expect(page.locator("#f-U3")).to_have_attribute("aria-describedby", "q-U3 m-U3")
    summary_link = page.get_by_role("alert").get_by_role("link", name=re.compile("pertanyaan 3 "))
    expect(summary_link).to_have_attribute("href", "#f-U3")
    expect(page.locator("#f-U3 input:checked")).to_have_count(0)
    expect_answers_checked(page, answered)
    expect(page.locator(f'#f-wait_band input[value="{WAIT_BAND}"]')).to_be_checked()
    expect(page.locator("#comment")).to_have_value(COMMENT)
    assert document_width(page) <= PHONE["width"], "the error page scrolls sideways at 360 px"
    page.screenshot(path=artifact(f"survey-error-360x640-{site.engine}.png"), full_page=True)
    assert session.scalar(select(func.count()).select_from(Response)) == 0
    session.rollback()  # end the read: on SQLite it holds the write lock the next POST needs

    # Answering the missing question on the returned page is enough to finish.
    choose(page, site.survey, {"U3": SCORES["U3"]})
    page.get_by_role("button", name="Kirim penilaian").click()
    page.wait_for_url(re.compile(r"/terima-kasih$"))
    (stored,) = session.scalars(select(Response)).all()
    assert stored.scores() == tuple(SCORES.values())
    assert stored.comment == COMMENT


def test_the_language_switch_keeps_the_answers_without_javascript(
    site: LiveSite, phone: Callable[..., Page], session: Session
) -> None:
    page = phone(javascript=False)
    page.goto(site.survey_url)
    answered = {code: score for code, score in SCORES.items() if code != "U9"}
    choose(page, site.survey, answered)
    fill_optional(page, site.survey)

    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="Send my rating")).to_be_visible()
    expect_answers_checked(page, answered)
    expect(page.locator(f'#f-wait_band input[value="{WAIT_BAND}"]')).to_be_checked()
    expect(page.locator("#comment")).to_have_value(COMMENT)
    expect(page.get_by_role("alert")).to_have_count(0)  # switching is not an error
    assert session.scalar(select(func.count()).select_from(Response)) == 0
    session.rollback()  # end the read: on SQLite it holds the write lock the next POST needs

    # Enter on an answer sends the form (its first submit button), not the switch.
    page.locator("#f-U9 label.o").nth(SCORES["U9"] - 1).click()  # in score order, 1 first
    page.locator("#f-U9 input:checked").press("Enter")
    page.wait_for_url(re.compile(r"/terima-kasih$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you!")
    (stored,) = session.scalars(select(Response)).all()
    assert stored.scores() == tuple(SCORES.values())
    assert stored.comment == COMMENT


def test_the_survey_fits_a_phone_at_200_percent_zoom(
    site: LiveSite, phone: Callable[..., Page]
) -> None:
    # A 360 px phone at 200 % zoom lays the page out 180 CSS px wide (WCAG 1.4.4).
    page = phone(javascript=False, width=180)
    page.goto(site.survey_url)
    assert document_width(page) <= 180, "the survey scrolls sideways at 200 % zoom"


def test_controls_are_named_large_and_keyboard_reachable(
    site: LiveSite, phone: Callable[..., Page]
) -> None:
    page = phone(javascript=True)
    page.goto(site.survey_url)
    page.locator("summary").click()  # open the optional profile so its selects are measured too

    expect(page.get_by_role("group", name=re.compile(r"^1\. Persyaratan"))).to_have_count(1)
    expect(page.locator("#f-U1").get_by_role("radio", name="Sangat sesuai", exact=True)
           ).to_have_count(1)
    expect(page.get_by_role("combobox", name=re.compile(r"^Jenis layanan yang Saudara terima"))
           ).to_have_count(1)
    expect(page.get_by_role("textbox", name=re.compile(r"^Saran dan masukan"))).to_have_count(1)
    controls = page.locator("main input[type=radio], main select, main textarea")
    expected = (sum(len(e.options) for e in site.survey.elements)
                + len(site.survey.wait_bands) + 1 + 1 + 1 + len(site.survey.profile))
    assert controls.count() == expected
    for index in range(controls.count()):
        expect(controls.nth(index)).to_have_accessible_name(re.compile(r"\S"))

    too_small: list[str] = []

    def measure(selector: str, *, wide: bool) -> None:
        targets = page.locator(selector)
        assert targets.count() > 0, f"nothing matches {selector}"
        for index in range(targets.count()):
            box = targets.nth(index).bounding_box()
            assert box is not None, f"{selector} #{index} is not rendered"
            if box["height"] < MIN_TARGET_PX or (wide and box["width"] < MIN_TARGET_PX):
                too_small.append(f"{selector} #{index} "
                                 f"({targets.nth(index).inner_text()!r}): "
                                 f"{box['width']:.0f}×{box['height']:.0f}px")

    measure("label.o span", wide=True)
    measure("main button[type=submit]", wide=True)
    measure("button.lang", wide=False)
    measure("select", wide=False)
    measure("summary", wide=False)
    assert not too_small, "tap targets under 44 px: " + "; ".join(too_small)

    page.reload()
    first_choice = page.locator("#f-U1 input[type=radio]").first
    for _ in range(3):  # the language switch, then the first answer
        page.keyboard.press("Tab")
        if first_choice.evaluate("element => element === document.activeElement"):
            break
    else:
        pytest.fail("three Tab presses did not reach the first answer of question 1")
    ring = first_choice.evaluate(
        "element => { const s = getComputedStyle(element.nextElementSibling);"
        " return {style: s.outlineStyle, width: parseFloat(s.outlineWidth)}; }"
    )
    assert ring["style"] != "none" and ring["width"] >= 2, f"no visible focus ring: {ring}"
    page.screenshot(path=artifact(f"survey-focus-360x640-{site.engine}.png"))
    page.keyboard.press("Space")
    expect(first_choice).to_be_checked()
    page.keyboard.press("ArrowDown")
    expect(page.locator('#f-U1 input[value="2"]')).to_be_checked()


def test_survey_page_needs_no_other_host_and_few_requests(
    site: LiveSite, phone: Callable[..., Page]
) -> None:
    page = phone(javascript=False)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    response = page.goto(site.survey_url, wait_until="load")
    assert response is not None and response.status == 200
    assert response.headers.get("content-encoding") == "gzip"
    foreign = [url for url in requested if not url.startswith(site.origin + "/")]
    assert not foreign, f"requests to other hosts: {foreign}"
    assert 1 <= len(requested) <= 2, f"too many requests: {requested}"
    # The browser's own favicon fetch is invisible to page events; the server sees it.
    assert len(site.hits) <= 2, f"the server answered {site.hits}"


# Poster sheets ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["A4", "A5"])
def test_long_names_leave_a_scannable_code_on_the_printed_html_sheet(
    browser: Browser, size: str
) -> None:
    """Names may be 200 characters: the heading gives way, never the QR code (it shrank to
    nothing at 200 characters on A5). Each sheet is printed as Chromium lays it out (print
    media, the page's own size) and its code read back from a screenshot."""
    url = "https://suara.lampungutarakab.go.id/s/AbCdEfGhIjKlMnOp"
    long_unit = ("Unit Pelaksana Teknis Daerah Puskesmas Rawat Inap " * 4)[:200].strip()
    posters = [Poster("counter", "PKM-X", long_unit, f"P{length}",
                      ("Poli Kesehatan Ibu dan Anak serta Keluarga Berencana " * 4)[:length]
                      .strip(), url)
               for length in (20, 160, 190, 200)]
    posters.append(Poster("counter", "PKM-X", long_unit, "PX", "L" * 199, url))  # no spaces
    millimetre = 96 / 25.4
    width, height = (210, 297) if size == "A4" else (148, 210)
    context = browser.new_context(viewport={"width": round(width * millimetre),
                                            "height": round(height * millimetre)})
    page = context.new_page()
    page.emulate_media(media="print")
    page.set_content(render_posters_html(posters, size))
    sheets = page.locator("section.poster")
    assert sheets.count() == len(posters)
    for index, poster in enumerate(posters):
        code = sheets.nth(index).locator("svg")
        box = code.bounding_box()
        assert box is not None
        # At least 60 mm of code on A4 and 42 mm on A5 (the same design scaled by 1/√2).
        smallest = (60 if size == "A4" else 42) * millimetre
        assert box["width"] >= smallest and box["height"] >= smallest, (poster.heading, box)
        image = PIL.Image.open(io.BytesIO(sheets.nth(index).screenshot()))
        assert [r.text for r in zxingcpp.read_barcodes(image)] == [url], poster.heading
    context.close()
