"""The tablet kiosk's page in a real Chromium with touch (issue 14, points 2, 3 and 7):
paired through its keypad, a session by taps only, the idle reset, the language switch,
the call for an officer, and the layout at 1280×800 and 800×1280.

Timers run on Playwright's clock (installed before the page loads): ``run_for`` stands for
the 0.4 s after a tap, the idle warning and the thank-you screen. Service workers are
blocked: the offline behaviour is tested with queue.js, not here.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from factories import release
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from app import kiosks
from app.db import utcnow
from app.models import Counter, Kiosk, KioskCall, Response
from app.org import create_counter, create_service, create_unit

pytestmark = [pytest.mark.browser,
              # A browser test on SQLite only: the engine is not what it tests.
              pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

LANDSCAPE = {"width": 1280, "height": 800}
PORTRAIT = {"width": 800, "height": 1280}
MIN_TARGET_PX = 64
MIN_TEXT_PX = 24
# A little over the 0.4 s a tapped choice stays on screen and the 0.3 s in which a new
# screen's choices ignore taps (the second tap of a double tap).
ADVANCE_MS = 800
TAP_GAP_MS = 1500  # a citizen's pace between taps (a session under 7 s is flagged "fast")
SCORES = {"U1": 4, "U2": 3, "U3": 2, "U4": 4, "U5": 3, "U6": 4, "U7": 1, "U8": 3, "U9": 2}
COMMENT = "Antrean poli gigi panjang, tapi dokternya ramah."

@dataclass
class KioskSite:
    """The application served over HTTP, with a Puskesmas of three poli and a kiosk."""

    app: Flask
    origin: str
    unit_name: str
    kiosk_id: int
    code: str  # the kiosk's pairing code
    counters: dict[str, int]  # code -> id
    services: dict[str, int]  # code -> id
    add_kiosk: Callable[..., str]  # another kiosk of the unit: its pairing code


@pytest.fixture
def site(app: Flask, session: Session) -> Iterator[KioskSite]:
    """Seed the unit and its kiosk, then serve the application on a free local port."""
    now = utcnow()
    unit = create_unit(session, "PKM-KOTABUMI", "UPTD Puskesmas Kotabumi", "puskesmas")
    services = {code: create_service(session, unit, code, name, standard_minutes=30)
                for code, name in (("UMUM", "Pemeriksaan Umum"), ("GIGI", "Kesehatan Gigi"),
                                   ("KIA", "Kesehatan Ibu dan Anak"))}
    counters = {code: create_counter(session, unit, code, name, default_service=services[svc],
                                     now=now)
                for code, name, svc in (("POLI-UMUM", "Poli Umum", "UMUM"),
                                        ("POLI-GIGI", "Poli Gigi", "GIGI"),
                                        ("POLI-KIA", "Poli KIA", "KIA"))}
    kiosk, code = kiosks.create_kiosk(session, unit, kiosks.KioskSettings(
        name="Tablet pintu keluar", placement="Dekat apotek"), now=now)
    session.commit()

    def add_kiosk(*counter_codes: str) -> str:
        _, another = kiosks.create_kiosk(session, unit, kiosks.KioskSettings(
            name=f"Tablet {uuid.uuid4().hex[:6]}",
            counter_ids=tuple(counters[c].id for c in counter_codes)), now=utcnow())
        session.commit()
        return another

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-kiosk", daemon=True)
    thread.start()
    yield KioskSite(app, f"http://127.0.0.1:{server.server_port}", unit.name, kiosk.id,
                    code, {c: k.id for c, k in counters.items()},
                    {c: s.id for c, s in services.items()}, add_kiosk)
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


@pytest.fixture
def tablet(browser: Browser, site: KioskSite) -> Iterator[Callable[..., Page]]:
    """Open /kiosk/ on a touch tablet whose clock Playwright drives."""
    contexts: list[BrowserContext] = []

    def open_tablet(viewport: dict[str, int] = LANDSCAPE, path: str = "/kiosk/") -> Page:
        context = browser.new_context(viewport=viewport, has_touch=True,
                                      service_workers="block")
        contexts.append(context)
        page = context.new_page()
        # Ten minutes behind the server, so that no time of the test is in its future.
        page.clock.install(time=utcnow() - timedelta(minutes=10))
        page.goto(site.origin + path)
        return page

    yield open_tablet
    for context in contexts:
        context.close()


def screen(page: Page, name: str) -> Locator:
    """The section of a screen."""
    return page.locator(f"section[data-screen={name}]")


def expect_screen(page: Page, name: str) -> None:
    """``name`` is the one screen shown."""
    expect(page.locator("section[data-screen]:visible")).to_have_count(1)
    expect(screen(page, name)).to_be_visible()


def tap(page: Page, selector: str, wait_ms: int = ADVANCE_MS) -> None:
    """Tap the visible element, then let the page's clock run on."""
    page.locator(f"{selector} >> visible=true").tap()
    page.clock.run_for(wait_ms)


def ui(page: Page, lang: str, key: str) -> str:
    """One of the page's own texts, as the page carries it (the catalogue's translation)."""
    strings: dict[str, dict[str, str]] = json.loads(
        page.locator("#kiosk-ui").text_content() or "{}")
    return strings[lang][key].split("{")[0]


def pair_with_keypad(page: Page, code: str) -> None:
    """Enter the pairing code on the on-screen number pad and pair."""
    expect_screen(page, "pair")
    for digit in code:
        tap(page, f"[data-digit='{digit}']", 0)
    tap(page, "[data-action=pair]", 0)
    expect_screen(page, "welcome")


def answer_elements(page: Page, scores: dict[str, int], gap_ms: int = TAP_GAP_MS) -> None:
    """Tap a face on each element screen, in order."""
    for code, score in scores.items():
        expect(screen(page, "element")).to_have_attribute("data-element", code)
        page.clock.run_for(gap_ms - ADVANCE_MS)
        tap(page, f"[data-score='{score}']")


def responses(session: Session) -> list[Response]:
    """Every stored response, read afresh (the server wrote them)."""
    session.expire_all()
    rows = list(session.scalars(select(Response).order_by(Response.id)))
    release(session)
    return rows


def test_a_session_by_taps_only_is_stored_with_the_kiosk_counter_and_service(
    site: KioskSite, tablet: Callable[..., Page], session: Session
) -> None:
    page = tablet()
    pair_with_keypad(page, site.code)
    expect(page.locator("#unit")).to_have_text(site.unit_name)
    expect(page.locator("[data-action=call]")).to_be_visible()
    expect(page.locator("[data-action=back]")).to_be_hidden()
    expect(page.locator("#status")).to_have_text(ui(page, "id", "online"))

    tap(page, "[data-action=start]")
    expect_screen(page, "choose")
    expect(page.locator("[data-counter]")).to_have_count(3)
    tap(page, "[data-counter='POLI-GIGI']", 0)
    expect(page.locator("[data-counter='POLI-GIGI']")).to_have_attribute("aria-pressed", "true")
    expect_screen(page, "choose")  # the choice shows selected for a moment …
    page.clock.run_for(ADVANCE_MS)
    expect_screen(page, "element")  # … then the first element comes by itself

    first = dict(list(SCORES.items())[:3])
    answer_elements(page, first)
    expect(screen(page, "element")).to_have_attribute("data-element", "U4")
    expect(page.locator("#progress")).to_contain_text("4")
    expect(page.locator("#progress")).to_contain_text("9")
    # Back shows the earlier choice selected; another tap changes it.
    tap(page, "[data-action=back]")
    expect(screen(page, "element")).to_have_attribute("data-element", "U3")
    expect(page.locator("[data-score='2']")).to_have_attribute("aria-pressed", "true")
    expect(screen(page, "element").locator("[aria-pressed=true]")).to_have_count(1)
    tap(page, "[data-score='1']")
    rest = dict(list(SCORES.items())[3:])
    answer_elements(page, rest)

    expect_screen(page, "wait")
    expect(page.locator("[data-band]")).to_have_count(6)
    tap(page, "[data-band='15-30']")
    expect_screen(page, "comment")
    page.locator("textarea#comment").tap()
    page.keyboard.type(COMMENT)
    with page.expect_response(lambda r: r.url.endswith("/api/v1/responses")) as sent:
        tap(page, "[data-action=send]", 0)
    expect_screen(page, "thanks")
    expect(page.locator("[data-action=call]")).to_be_hidden()
    assert sent.value.status == 200

    page.clock.run_for(4000)
    expect_screen(page, "thanks")
    page.clock.run_for(1100)
    expect_screen(page, "welcome")
    expect(page.locator("textarea#comment")).to_have_value("")

    (row,) = responses(session)
    assert row.channel == "kiosk"
    assert row.kiosk_id == site.kiosk_id
    assert row.counter_id == site.counters["POLI-GIGI"]
    assert row.service_id == site.services["GIGI"]
    expected = {**SCORES, "U3": 1}
    assert {code: getattr(row, code.lower()) for code in expected} == expected
    assert row.wait_band == "15-30"
    assert row.comment == COMMENT
    assert row.started_at is not None and row.started_at < row.created_at
    assert not row.flag_fast and not row.flag_burst


def test_a_single_counter_skips_the_who_served_you_screen(
    site: KioskSite, tablet: Callable[..., Page], session: Session
) -> None:
    code = site.add_kiosk("POLI-KIA")
    page = tablet(path=f"/kiosk/#pair={code}")  # the back office's QR code
    expect_screen(page, "welcome")
    assert "#pair" not in page.url, "the pairing code stays in the address"
    # A double tap on Start: its second tap does not answer the first question.
    tap(page, "[data-action=start]", 0)
    expect_screen(page, "element")
    expect(screen(page, "element")).to_have_attribute("data-element", "U1")
    tap(page, "[data-score='1']", 0)
    expect(page.locator("[data-score][aria-pressed=true]")).to_have_count(0)
    answer_elements(page, SCORES)
    tap(page, "[data-action=no-wait]")
    with page.expect_response(lambda r: r.url.endswith("/api/v1/responses")):
        page.locator("textarea#comment").tap()
        page.keyboard.type("tidak terkirim")
        tap(page, "[data-action=send-empty]", 0)
    expect_screen(page, "thanks")
    (row,) = responses(session)
    assert row.counter_id == site.counters["POLI-KIA"]
    assert row.service_id == site.services["KIA"]
    assert row.wait_band is None and row.comment is None


def test_pairing_errors_are_shown_and_a_wrong_code_pairs_nothing(
    site: KioskSite, tablet: Callable[..., Page]
) -> None:
    page = tablet()
    expect_screen(page, "pair")
    tap(page, "[data-digit='1']", 0)
    tap(page, "[data-action=pair]", 0)
    expect(page.locator("#pair-msg")).to_have_text(ui(page, "id", "pair_short"))
    wrong = "000000" if site.code != "000000" else "111111"
    for digit in wrong:
        tap(page, f"[data-digit='{digit}']", 0)
    tap(page, "[data-action=erase]", 0)
    expect(page.locator("#code span").nth(5)).to_have_text("")
    tap(page, f"[data-digit='{wrong[0]}']", 0)
    tap(page, "[data-action=pair]", 0)
    expect(page.locator("#pair-msg")).to_have_text(ui(page, "id", "pair_refused"))
    expect_screen(page, "pair")
    page.route("**/api/v1/kiosk/pair", lambda route: route.abort())
    for digit in site.code:
        tap(page, f"[data-digit='{digit}']", 0)
    tap(page, "[data-action=pair]", 0)
    expect(page.locator("#pair-msg")).to_have_text(ui(page, "id", "pair_offline"))
    page.unroute("**/api/v1/kiosk/pair")
    # Rate-limited: asked to wait (for Retry-After's seconds where the store passes them on).
    page.route("**/api/v1/kiosk/pair", lambda route: route.fulfill(
        status=429, headers={"Retry-After": "42"}, json={"error": "too many requests"}))
    for digit in site.code:
        tap(page, f"[data-digit='{digit}']", 0)
    tap(page, "[data-action=pair]", 0)
    expect(page.locator("#pair-msg")).to_contain_text(
        os.path.commonprefix([ui(page, "id", "pair_wait"), ui(page, "id", "pair_later")]))
    page.unroute("**/api/v1/kiosk/pair")
    page.clock.run_for(43_000)
    pair_with_keypad(page, site.code)


def test_idle_warning_then_reset_discards_a_partial_session_and_keeps_a_complete_one(
    site: KioskSite, tablet: Callable[..., Page], session: Session
) -> None:
    page = tablet()
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.url.endswith("/responses") else None)
    pair_with_keypad(page, site.code)
    dialog = page.locator("[data-screen=idle]")

    # Nobody is warned on the welcome screen.
    page.clock.run_for(120_000)
    expect(dialog).to_be_hidden()

    tap(page, "[data-action=start]")
    tap(page, "[data-counter='POLI-UMUM']")
    answer_elements(page, dict(list(SCORES.items())[:3]))
    page.clock.run_for(29_000)
    expect(dialog).to_be_hidden()
    page.clock.run_for(1_100)
    expect(dialog).to_be_visible()
    expect(page.locator("#idle-help")).to_contain_text("20")
    page.clock.run_for(5_000)
    expect(page.locator("#idle-help")).to_contain_text("15")
    tap(page, "[data-action=continue]", 0)
    expect(dialog).to_be_hidden()
    expect(screen(page, "element")).to_have_attribute("data-element", "U4")
    expect(page.locator("[data-action=lang]")).to_be_visible()

    # Away for good: after 30 s and the 20 s countdown the kiosk starts again, unsaved.
    page.clock.run_for(30_500)
    expect(dialog).to_be_visible()
    page.clock.run_for(20_500)
    expect(dialog).to_be_hidden()
    expect_screen(page, "welcome")
    assert sent == [], "a partial session was sent"
    assert responses(session) == []

    # The next person answers all nine elements, then leaves at the waiting time.
    tap(page, "[data-action=start]")
    expect(page.locator("[aria-pressed=true]")).to_have_count(0)
    tap(page, "[data-counter='POLI-KIA']")
    expect(page.locator("[data-score][aria-pressed=true]")).to_have_count(0)
    answer_elements(page, SCORES)
    expect_screen(page, "wait")
    page.clock.run_for(30_500)
    expect(dialog).to_be_visible()
    with page.expect_response(lambda r: r.url.endswith("/api/v1/responses")):
        page.clock.run_for(20_500)
    expect_screen(page, "welcome")
    (row,) = responses(session)
    assert row.counter_id == site.counters["POLI-KIA"]
    assert {code: getattr(row, code.lower()) for code in SCORES} == SCORES
    assert row.wait_band is None and row.comment is None


def test_the_language_switch_changes_every_text_and_resets_with_the_session(
    site: KioskSite, tablet: Callable[..., Page]
) -> None:
    page = tablet()
    pair_with_keypad(page, site.code)
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "id")
    switch = page.locator("[data-action=lang]")
    expect(switch).to_have_text("English")
    expect(switch).to_have_attribute("lang", "en")

    tap(page, "[data-action=lang]", 0)
    expect(html).to_have_attribute("lang", "en")
    expect(switch).to_have_text("Bahasa Indonesia")
    expect(page.locator("[data-action=start]")).to_have_text("Start")
    expect(page.locator("#unit")).to_have_attribute("lang", "id")  # a name stays Indonesian
    tap(page, "[data-action=start]")
    expect(page.locator("[data-action=back]")).to_have_text("← Back")
    tap(page, "[data-counter='POLI-UMUM']")
    expect(page.locator("#question")).to_have_text(
        "What is your opinion of how well the service requirements match the type of service?")
    expect(page.locator("[data-score='4']")).to_contain_text("Very suitable")
    expect(page.locator("#progress")).to_have_text("1 of 9")

    # Switching back mid-question keeps the answer shown.
    tap(page, "[data-score='3']", 0)
    tap(page, "[data-action=lang]", 0)
    expect(page.locator("#question")).to_contain_text("kesesuaian persyaratan pelayanan")
    expect(page.locator("[data-score='3']")).to_contain_text("Sesuai")
    expect(page.locator("[data-score='3']")).to_have_attribute("aria-pressed", "true")
    page.clock.run_for(ADVANCE_MS)
    tap(page, "[data-action=lang]", 0)
    answer_elements(page, {k: v for k, v in SCORES.items() if k != "U1"})
    expect(page.locator("#wait-label")).to_have_text(
        "How long did you wait before being served?")
    tap(page, "[data-band=lt5]")
    expect(page.locator("#comment-label")).to_have_text("Suggestions and feedback")
    tap(page, "[data-action=send]", 0)
    expect_screen(page, "thanks")
    expect(html).to_have_attribute("lang", "en")
    expect(page.locator("section[data-screen=thanks] h1")).to_have_text("Thank you!")

    page.clock.run_for(5_100)
    expect_screen(page, "welcome")
    expect(html).to_have_attribute("lang", "id")
    expect(switch).to_have_text("English")
    tap(page, "[data-action=start]")
    tap(page, "[data-counter='POLI-UMUM']")
    expect(page.locator("#question")).to_contain_text("kesesuaian persyaratan pelayanan")


def test_call_an_officer_tells_the_citizen_and_reaches_the_unit(
    site: KioskSite, tablet: Callable[..., Page], session: Session
) -> None:
    page = tablet()
    pair_with_keypad(page, site.code)
    message = page.locator("#callmsg")
    expect(message).to_be_hidden()
    tap(page, "[data-action=start]")
    tap(page, "[data-counter='POLI-GIGI']")
    with page.expect_response(lambda r: r.url.endswith("/api/v1/kiosk/calls")):
        tap(page, "[data-action=call]", 0)
    expect(message).to_be_visible()
    expect(message).to_have_text(ui(page, "id", "call_ok"))
    session.expire_all()
    calls = list(session.scalars(select(KioskCall)))
    release(session)
    assert [(c.kiosk_id, c.counter_id) for c in calls] == [
        (site.kiosk_id, site.counters["POLI-GIGI"])]

    # Unreachable: the citizen is told to ask at the counter instead.
    page.clock.run_for(20_500)
    expect(message).to_be_hidden()
    page.route("**/api/v1/kiosk/calls", lambda route: route.abort())
    tap(page, "[data-action=call]", 0)
    expect(message).to_have_text(ui(page, "id", "call_failed"))
    tap(page, "[data-action=lang]", 0)
    expect(message).to_have_text(ui(page, "en", "call_failed"))


def test_a_revoked_kiosk_ends_the_session_and_takes_no_answers(
    site: KioskSite, tablet: Callable[..., Page], session: Session
) -> None:
    page = tablet()
    pair_with_keypad(page, site.code)
    tap(page, "[data-action=start]")
    tap(page, "[data-counter='POLI-UMUM']")
    answer_elements(page, dict(list(SCORES.items())[:2]))
    kiosk = session.get(Kiosk, site.kiosk_id)
    assert kiosk is not None
    kiosks.revoke(session, kiosk, now=utcnow())
    session.commit()

    # The next call to the service (here: the citizen calls an officer) learns it.
    tap(page, "[data-action=call]", 0)
    expect_screen(page, "revoked")
    for hidden in ("call", "back", "start"):
        expect(page.locator(f"[data-action={hidden}]")).to_be_hidden()
    expect(page.locator("[data-score]:visible")).to_have_count(0)
    expect(page.locator("#callmsg")).to_be_hidden()
    page.clock.run_for(60_000)
    expect_screen(page, "revoked")
    expect(page.locator("[data-screen=idle]")).to_be_hidden()
    tap(page, "[data-action=lang]", 0)
    expect_screen(page, "revoked")
    assert responses(session) == []


LAYOUT_CHECK = """([minTarget, minText]) => {
  const width = document.documentElement.clientWidth;
  const problems = [];
  if (document.documentElement.scrollWidth > width) {
    problems.push('the page scrolls sideways: ' + document.documentElement.scrollWidth);
  }
  const label = (el) => el.tagName.toLowerCase() + (el.dataset.action ? '[' +
    el.dataset.action + ']' : '') + ' "' + (el.textContent || '').trim().slice(0, 30) + '"';
  for (const el of document.body.querySelectorAll('*')) {
    if (!el.getClientRects().length || el.closest('.sr')) continue;
    const box = el.getBoundingClientRect();
    if (box.left < -0.5 || box.right > width + 0.5) {
      problems.push(label(el) + ' leaves the screen: ' + box.left + '..' + box.right);
    }
    if ((el.tagName === 'BUTTON' || el.tagName === 'TEXTAREA') &&
        (box.width < minTarget || box.height < minTarget)) {
      problems.push(label(el) + ' is ' + box.width + 'x' + box.height);
    }
    const text = Array.from(el.childNodes).some(
      (n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (text && size < minText) problems.push(label(el) + ' has text of ' + size + 'px');
  }
  return problems;
}"""


@pytest.mark.parametrize("viewport", [LANDSCAPE, PORTRAIT], ids=["1280x800", "800x1280"])
def test_layout_fits_both_orientations_with_big_targets_and_text(
    site: KioskSite, tablet: Callable[..., Page], viewport: dict[str, int]
) -> None:
    page = tablet(viewport)
    seen: list[str] = []

    def check(name: str) -> None:
        problems = page.evaluate(LAYOUT_CHECK, [MIN_TARGET_PX, MIN_TEXT_PX])
        assert problems == [], f"{name} at {viewport}: {problems}"
        seen.append(name)

    expect_screen(page, "pair")
    check("pair")
    pair_with_keypad(page, site.code)
    for lang in ("id", "en"):
        if lang == "en":
            tap(page, "[data-action=lang]", 0)
        check(f"welcome {lang}")
        tap(page, "[data-action=call]", 0)
        expect(page.locator("#callmsg")).to_be_visible()
        check(f"call {lang}")
        tap(page, "[data-action=start]")
        check(f"choose {lang}")
        tap(page, "[data-counter='POLI-UMUM']")
        for code, score in SCORES.items():
            expect(screen(page, "element")).to_have_attribute("data-element", code)
            check(f"{code} {lang}")
            tap(page, f"[data-score='{score}']")
        check(f"wait {lang}")
        page.clock.run_for(30_500)
        expect(page.locator("[data-screen=idle]")).to_be_visible()
        check(f"idle {lang}")
        tap(page, "[data-action=continue]", 0)
        tap(page, "[data-band='60-120']")
        check(f"comment {lang}")
        tap(page, "[data-action=send]", 0)
        expect_screen(page, "thanks")
        check(f"thanks {lang}")
        page.clock.run_for(5_100)
        expect_screen(page, "welcome")
    assert len(seen) == 1 + 2 * 16


def test_a_kiosk_with_no_counter_in_use_says_so_instead_of_starting(
    site: KioskSite, tablet: Callable[..., Page], session: Session
) -> None:
    for counter_id in site.counters.values():
        counter = session.get(Counter, counter_id)
        assert counter is not None
        counter.active = False
    session.commit()
    page = tablet()
    expect_screen(page, "pair")
    for digit in site.code:
        tap(page, f"[data-digit='{digit}']", 0)
    tap(page, "[data-action=pair]", 0)
    expect_screen(page, "unset")
    expect(page.locator("[data-action=start]")).to_be_hidden()
    expect(page.locator("[data-action=call]")).to_be_visible()


def test_english_left_on_the_welcome_screen_goes_back_to_indonesian(
    site: KioskSite, tablet: Callable[..., Page]
) -> None:
    page = tablet()
    pair_with_keypad(page, site.code)
    tap(page, "[data-action=lang]", 0)
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "en")
    page.clock.run_for(29_000)
    expect(html).to_have_attribute("lang", "en")
    page.clock.run_for(2_000)
    expect(html).to_have_attribute("lang", "id")
    expect_screen(page, "welcome")
