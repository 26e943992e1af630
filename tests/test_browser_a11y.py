"""Every page of the URL map checked by axe-core in a real Chromium (WCAG 2.0–2.2, levels A
and AA; issue 16, point 9): citizen, kiosk, public and staff pages, on a seeded world, each
opened by the first role that may open it and by every other role for which it differs.

Each GET endpoint is either opened or excluded below with its reason, so a new page is
checked from the day it appears: its address is filled from the world by parameter name
(``code``, ``officer_id``, ``case_id``, …), and the test fails naming any endpoint it could
neither fill nor open.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from factories import STAFF_PASSWORD
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page
from site_world import SiteWorld, seed_site
from test_browser import PHONE
from test_browser_admin import sign_in
from test_browser_kiosk_a11y import AXE, WCAG
from werkzeug.serving import make_server

from app import create_app
from app.config import Settings

# The engine is not what this checks (the pages render the same on both).
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

# GET endpoints that serve no page for a person to read, with the reason.
EXCLUDED = {
    # Files
    "static": "styles, scripts and images",
    "kiosk.asset": "the kiosk's script and style files",
    "kiosk.service_worker": "the kiosk's service worker script",
    "admin.audit_export": "a CSV download of the audit log",
    "admin.poster_download": "a poster as PDF, PNG or SVG",
    "home.open_data": "the open data CSV",
    "dashboard.report": "a PDF or XLSX report; its bare address redirects to the unit "
                        "page's report form (checked there)",
    "dashboard.comments_csv": "the comments as CSV",
    # JSON
    "api.openapi": "the OpenAPI document",
    "api_indicators.indicators": "the indicators API",
    "api_kiosk.config": "the kiosk's settings API",
    "health.healthz": "the health check",
    # Redirects only
    "dashboard.home": "sends each role to its start page (each checked)",
    "dashboard.served": "sends to the back office's people-served page (checked)",
    "kiosk.start": "sends to /kiosk/ (checked)",
}

# A page is opened by the first of these roles that gets it (citizens' pages anonymously, on
# a phone; staff pages at a desk), and also by the roles for which it differs (ALSO_AS).
ROLES = ("anonymous", "admin", "officer", "unit_head", "handler", "viewer")
ALSO_AS = {
    "admin.index": ("unit_head",),  # the unit head's own navigation
    "admin.cases_list": ("handler",),  # a complaint handler reaches these pages only
    "admin.case_detail": ("handler",),
    "dashboard.units": ("viewer",),
    "dashboard.unit_week": ("unit_head", "viewer"),  # viewers: no officer detail
    "dashboard.officer": ("officer",),  # the officer's own page
    "dashboard.comments": ("unit_head", "viewer"),  # viewers: words and week only
}
# The unit summary's other views (one breakdown at a time, longer periods, a custom range),
# as the unit head reads them.
SUMMARY_VIEWS = ("by=counter", "by=service", "by=profile", "by=officer", "by=wait",
                 "period=2026-Q4&by=element", "period=2026", "from=2026-10-01&to=2026-11-15")
DESK = {"width": 1280, "height": 900}

# Pages that answer an error, which people read too.
ERROR_PAGES = (
    ("anonymous", "/s/tidak-ada", 404),  # a citizen's "not found"
    ("anonymous", "/akun/sandi/tidak-berlaku", 404),  # a used or expired one-time link
    ("admin", "/dashboard/units/TIDAK-ADA", 404),  # the staff's "not available"
    ("admin", "/tugas", 403),  # the duty page of an account without an officer record
)
# Forms sent as they stand (empty, or a confirmation): the page that answers is checked too,
# with its messages beside the fields, a new pairing code and its QR code, a one-time link.
SENT_FORMS = (
    ("anonymous", "public.survey_page"),
    ("anonymous", "auth.login"),
    ("officer", "account.change_password"),
    ("admin", "admin.unit_new"),
    ("admin", "admin.dialogue_new"),
    ("admin", "admin.kiosk_pair_again"),
    ("admin", "admin.account_reset"),
)


@dataclasses.dataclass
class Live:
    """The application served over HTTP on a free port, with the seeded world."""

    app: Flask
    origin: str
    world: SiteWorld


@pytest.fixture
def live(settings: Settings) -> Iterator[Live]:
    """Serve an application whose public address is the server's own, on a seeded world."""
    holder: dict[str, Flask] = {}

    def dispatch(environ: dict[str, Any], start_response: Any) -> Any:
        return holder["app"](environ, start_response)

    server = make_server("127.0.0.1", 0, dispatch, threaded=True)
    origin = f"http://127.0.0.1:{server.server_port}"
    application = create_app(dataclasses.replace(settings, public_base_url=origin))
    application.config.update(TESTING=True)
    holder["app"] = application
    world = seed_site(application)
    thread = threading.Thread(target=server.serve_forever, name="live-a11y", daemon=True)
    thread.start()
    yield Live(application, origin, world)
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
    application.extensions["suara.db"].dispose()


def addresses(app: Flask, world: SiteWorld) -> tuple[dict[str, str], list[str]]:
    """Every GET endpoint not excluded -> its address filled from the world; and the
    endpoints whose parameters the world cannot fill."""
    adapter = app.url_map.bind("127.0.0.1")
    found: dict[str, str] = {}
    unfilled: list[str] = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint in EXCLUDED:
            continue
        values = {**world.params, **world.by_endpoint.get(rule.endpoint, {})}
        missing = rule.arguments - values.keys()
        if missing:
            unfilled.append(f"{rule.endpoint} ({rule.rule}): no value for "
                            f"{', '.join(sorted(missing))}")
            continue
        found[rule.endpoint] = adapter.build(
            rule.endpoint, {name: values[name] for name in rule.arguments})
    return found, unfilled


def violations(page: Page) -> list[str]:
    """axe's violations on the page as shown: rule, impact, what it says, the elements."""
    results = AXE.run(page, options=WCAG)
    return [f"{v['id']} ({v['impact']}): {v['help']} — "
            + "; ".join(", ".join(node["target"]) for node in v["nodes"])
            for v in results.response["violations"]]


def test_a_new_page_is_filled_by_its_parameters_names_or_named(app: Flask) -> None:
    """A GET endpoint added tomorrow is opened with its address filled by parameter name,
    or named as one the world cannot fill; never left out in silence. Every exclusion
    names an endpoint that is still there."""
    app.add_url_rule("/dashboard/units/<code>/ringkasan", "dashboard.new_summary",
                     lambda code: code)
    app.add_url_rule("/admin/things/<int:thing_id>", "admin.new_thing", lambda thing_id: "")
    found, unfilled = addresses(app, SiteWorld({"code": "DUKCAPIL"}, {}, {}))
    assert found["dashboard.new_summary"] == "/dashboard/units/DUKCAPIL/ringkasan"
    assert "admin.new_thing (/admin/things/<int:thing_id>): no value for thing_id" in unfilled
    gets = {rule.endpoint for rule in app.url_map.iter_rules() if "GET" in (rule.methods or ())}
    assert set(EXCLUDED) <= gets


@pytest.mark.browser
def test_every_page_meets_wcag_aa(live: Live, browser: Browser) -> None:
    """No violation on any page: with ``-s``, the pages checked are listed."""
    contexts: dict[str, BrowserContext] = {}
    pages: dict[str, Page] = {}
    for role in ROLES:
        if role == "anonymous":
            context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                          service_workers="block")
        else:
            context = browser.new_context(viewport=DESK)
        contexts[role] = context
        pages[role] = context.new_page()
        if role != "anonymous":
            sign_in(pages[role], live.origin, live.world.emails[role], STAFF_PASSWORD)
    try:
        checked, problems = check_pages(live, pages)
    finally:
        for context in contexts.values():
            context.close()
    print(f"\n{len(checked)} pages checked:\n" + "\n".join(checked))
    assert not problems, "\n".join(problems)


def opened_by(live: Live, pages: dict[str, Page], path: str) -> str | None:
    """The first role that gets ``path`` as an HTML page (no redirect, 200), if any."""
    for role in ROLES:
        response = pages[role].request.get(live.origin + path, max_redirects=0)
        if response.status == 200 and \
                response.headers.get("content-type", "").startswith("text/html"):
            return role
    return None


def check_pages(live: Live, pages: dict[str, Page]) -> tuple[list[str], list[str]]:
    """Open and check every page; what was checked, and every problem found."""
    found, problems = addresses(live.app, live.world)
    problems = [f"cannot fill the address of {what}: add it to the world or to EXCLUDED"
                for what in problems]
    visits: list[tuple[str, str, str, int]] = []  # (endpoint, role, path, status)
    for endpoint, path in sorted(found.items(), key=lambda item: item[1]):
        first = opened_by(live, pages, path)
        if first is None:
            problems.append(f"{endpoint} ({path}): no role gets an HTML page there; fill it "
                            "differently or add it to EXCLUDED with the reason")
            continue
        roles = dict.fromkeys((first, *ALSO_AS.get(endpoint, ())))
        visits += [(endpoint, role, path, 200) for role in roles]
    visits += [("error page", role, path, status) for role, path, status in ERROR_PAGES]
    code = live.world.params["code"]
    visits += [("unit summary", "unit_head", f"/dashboard/units/{code}?{query}", 200)
               for query in SUMMARY_VIEWS]
    checked = []
    for endpoint, role, path, status in visits:
        page = pages[role]
        response = page.goto(live.origin + path)
        assert response is not None
        where = f"{path} [{role}]"
        if response.status != status or urlsplit(page.url).path != urlsplit(path).path:
            problems.append(f"{where}: {response.status} at {page.url}, expected {status} "
                            "there")
            continue
        checked.append(f"{where} {endpoint}")
        problems += [f"{where}: {line}" for line in violations(page)]
    for role, endpoint in SENT_FORMS:
        if endpoint not in found:
            problems.append(f"SENT_FORMS names {endpoint}, which serves no page")
            continue
        page = pages[role]
        page.goto(live.origin + found[endpoint])
        with page.expect_response(lambda r: r.request.is_navigation_request()
                                  and not 300 <= r.status < 400) as answer:
            page.locator("main form button[type=submit]").last.click()
        page.wait_for_load_state()
        status = answer.value.status
        where = f"{found[endpoint]} [{role}] sent, answered {status} at {urlsplit(page.url).path}"
        if not 200 <= status < 500:
            problems.append(f"{where}: not a page for the person who sent it")
            continue
        checked.append(f"{where} {endpoint}")
        problems += [f"{where}: {line}" for line in violations(page)]
    return checked, problems
