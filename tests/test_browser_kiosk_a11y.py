"""The kiosk's screens checked by axe-core (WCAG 2.0–2.2, levels A and AA) in a real
Chromium, in both languages and both orientations, and every request the kiosk makes goes
to its own service (issue 14, points 2 and 7)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
import test_browser_kiosk
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect
from test_browser_kiosk import LANDSCAPE, PORTRAIT, KioskSite, expect_screen, tap

pytestmark = [pytest.mark.browser,
              pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                              "wcag22aa"]},
        "resultTypes": ["violations"]}
AXE = Axe()
# The kiosk page's fixtures: a served Puskesmas with a kiosk, and a touch tablet.
site = test_browser_kiosk.site
tablet = test_browser_kiosk.tablet


def violations(page: Page) -> str:
    """axe's report of the page as shown (empty: no violation)."""
    results = AXE.run(page, options=WCAG)
    return results.generate_report() if results.violations_count else ""


def test_axe_finds_what_it_should(site: KioskSite, tablet: Callable[..., Page]) -> None:
    """The check can fail: text of too little contrast is reported."""
    page = tablet()
    page.evaluate("document.querySelector('section[data-screen=pair] h1').style.color = "
                  "'#d0d0d0'")
    assert "color-contrast" in violations(page)


@pytest.mark.parametrize(("viewport", "lang"), [(LANDSCAPE, "id"), (PORTRAIT, "en")],
                         ids=["landscape-id", "portrait-en"])
def test_every_screen_meets_wcag_aa_and_asks_no_other_host(
    site: KioskSite, tablet: Callable[..., Page], viewport: dict[str, int], lang: str
) -> None:
    page = tablet(viewport)
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
    found: dict[str, str] = {}

    def check(name: str) -> None:
        report = violations(page)
        if report:
            found[name] = report

    check("pair")
    for digit in site.code:
        tap(page, f"[data-digit='{digit}']", 0)
    tap(page, "[data-action=pair]", 0)
    expect_screen(page, "welcome")
    if lang == "en":
        tap(page, "[data-action=lang]", 0)
    check("welcome")
    tap(page, "[data-action=start]")
    expect_screen(page, "choose")
    check("choose")
    tap(page, "[data-counter='POLI-UMUM']")
    for number in range(1, 10):
        expect_screen(page, "element")
        if number in (1, 9):
            check(f"element U{number}")
        tap(page, "[data-score='3']")
    expect_screen(page, "wait")
    check("wait")
    page.clock.run_for(31_000)
    expect(page.locator("[data-screen=idle]")).to_be_visible()
    check("idle dialog")
    tap(page, "[data-action=continue]", 0)
    tap(page, "[data-band='5-15']")
    expect_screen(page, "comment")
    check("comment")
    with page.expect_response(lambda r: r.url.endswith("/api/v1/responses")):
        tap(page, "[data-action=send]", 0)
    expect_screen(page, "thanks")
    check("thanks")
    assert not found, "\n".join(f"{name}:\n{report}" for name, report in found.items())
    assert hosts == {urlsplit(site.origin).netloc}
