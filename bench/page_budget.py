"""Weight of the citizen survey pages (gzip bytes, requests) against a 14 KB budget.

Run: ``.venv/bin/python -m bench.page_budget``; with ``BENCH_BEFORE=<git revision>`` (e.g.
``0c10c88``) this same benchmark also runs on that revision of the application, exported into a
temporary directory, and the two are printed side by side.

A cheap phone on mobile data should get the whole survey in the first round trip of a new
connection: about ten TCP segments, 14 KB. For the survey page in Indonesian and in English
and for the error page (a POST with question 3 missing, real CSRF token: since issue 12 a
303 back to the form, which shows the answers and the message; the bytes of both count) this
prints the gzip and plain size of the HTML from the Flask test client, then what a real
headless Chromium with JavaScript off fetched from a live server: every request (including
the browser's own favicon fetch, which page events do not show) and the bytes the application
sent for each (status line, headers and body; the web server adds Date/Server on top).
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.serving import make_server

from app import create_app, migrate
from app.config import Settings
from app.db import utcnow
from app.demo import DUKCAPIL, seed_demo
from app.feedback import DEFAULT_SURVEY_ID
from app.models import Counter
from app.org import assign_officer, create_officer, live_token, unit_by_code
from app.surveys import Survey, latest

BUDGET = 14 * 1024
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 360, "height": 640}
# The longest counter name of the demo and a long officer name: the heaviest header.
COUNTER_CODE = "INFO"
OFFICER = ("199001122015032004", "Nurhayati Anggraini Permatasari", "Petugas Informasi")
MISSING = "U3"
MISSING_MESSAGE = "Ada 1 jawaban"  # the error summary of the Indonesian form
# Headless Chromium asks for /favicon.ico after the load event, on its own schedule.
FAVICON_WAIT_S = 2.0


@dataclass(frozen=True)
class Sent:
    """One response as the application handed it to the web server."""

    method: str
    path: str
    status: str
    header_bytes: int
    body_bytes: int

    @property
    def total(self) -> int:
        return self.header_bytes + self.body_bytes


class RecordingApp:
    """WSGI middleware that records every request and the bytes of its response."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.sent: list[Sent] = []
        self.changed = threading.Condition()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        seen: dict[str, Any] = {}

        def recording_start(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            seen["status"] = status
            seen["headers"] = len(f"HTTP/1.1 {status}\r\n") + sum(
                len(f"{name}: {value}\r\n") for name, value in headers) + 2
            return start_response(status, headers, *args)

        chunks = self.app(environ, recording_start)
        try:
            body = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        path = environ["PATH_INFO"] + (f"?{environ['QUERY_STRING']}"
                                       if environ.get("QUERY_STRING") else "")
        with self.changed:
            self.sent.append(Sent(environ["REQUEST_METHOD"], path, seen["status"],
                                  seen["headers"], len(body)))
            self.changed.notify_all()
        return [body]

    def wait_for(self, path: str, timeout: float) -> None:
        """Wait until a request for ``path`` was answered, or give up after ``timeout``."""
        with self.changed:
            self.changed.wait_for(lambda: any(s.path == path for s in self.sent), timeout)


@dataclass(frozen=True)
class Scenario:
    """One page to weigh: how to fetch it with the test client and in the browser."""

    title: str
    path: str
    post_missing: bool = False


def build_app(directory: Path) -> tuple[Flask, str, Survey]:
    """A migrated SQLite database with the demo Kotabumi and an officer on duty at INFO."""
    url = f"sqlite:///{directory / 'bench.db'}"
    migrate.upgrade(url)
    settings = Settings(app_env="test", secret_key=secrets.token_hex(32),
                        database_url=url, instance_dir=directory / "instance",
                        public_base_url="http://127.0.0.1")
    app = create_app(settings)
    now = utcnow()
    with app.extensions["suara.db"].session_scope() as session:
        seed_demo(session, today=now.astimezone(settings.tz).date(), tz=settings.tz)
        unit = unit_by_code(session, DUKCAPIL)
        assert unit is not None
        counter = session.scalars(select(Counter).where(
            Counter.unit_id == unit.id, Counter.code == COUNTER_CODE)).one()
        officer = create_officer(session, *OFFICER[:2], unit, OFFICER[2])
        assign_officer(session, officer, counter, now - timedelta(hours=1),
                       now + timedelta(hours=8))
        token = live_token(session, counter)
        assert token is not None
        survey_path = f"/s/{token.token}"
    return app, survey_path, latest(app.extensions["suara.surveys"], DEFAULT_SURVEY_ID)


def form_fields(html: str) -> dict[str, str]:
    """The hidden CSRF token and ticket of a rendered survey form."""
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
    assert "csrf_token" in fields and "t" in fields, "the survey form lost its hidden fields"
    return fields


def incomplete_answers(survey: Survey) -> dict[str, str]:
    """Answers to every element except the one left out on purpose."""
    return {e.code: "3" for e in survey.elements if e.code != MISSING}


def fetch_with_client(client: FlaskClient, scenario: Scenario, survey: Survey) -> tuple[int, int]:
    """(gzip bytes, plain bytes) of the page's HTML, as a phone asking for gzip receives it."""
    headers = {"Accept-Encoding": "gzip"}
    response = client.get(scenario.path, headers=headers)
    if scenario.post_missing:
        page = gzip.decompress(response.get_data()).decode()
        data = {**form_fields(page), **incomplete_answers(survey)}
        response = client.post(scenario.path, data=data, headers=headers)
        # Post/Redirect/Get: the form comes back from a GET, its answers kept in the session;
        # only answers too large for a cookie come back from the POST itself (422).
        if response.status_code == 303:
            response = client.get(response.headers["Location"], headers=headers)
        elif response.status_code != 422:
            raise AssertionError(f"{scenario.title}: HTTP {response.status_code} to the POST")
        assert MISSING_MESSAGE in gzip.decompress(response.get_data()).decode(), \
            f"{scenario.title}: the page does not say an answer is missing"
    assert response.status_code in (200, 422), f"{scenario.title}: HTTP {response.status_code}"
    assert response.headers.get("Content-Encoding") == "gzip", f"{scenario.title}: not gzipped"
    body = response.get_data()
    return len(body), len(gzip.decompress(body))


@contextmanager
def live_server(app: Flask) -> Iterator[tuple[str, RecordingApp]]:
    """Serve the app on a free local port in a background thread."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    recorder = RecordingApp(app)
    server = make_server("127.0.0.1", 0, recorder, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="bench-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", recorder
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def fetch_with_browser(browser: Any, origin: str, recorder: RecordingApp,
                       scenario: Scenario, survey: Survey) -> tuple[list[Sent], int]:
    """What a fresh phone with JavaScript off fetched for the page, and what page events saw."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                  java_script_enabled=False)
    try:
        page = context.new_page()
        if scenario.post_missing:
            page.goto(origin + scenario.path)
            recorder.wait_for("/favicon.ico", FAVICON_WAIT_S)
            for code in incomplete_answers(survey):
                page.locator(f'#f-{code} input[value="3"] + span').click()
        seen: list[str] = []
        page.on("request", lambda request: seen.append(request.url))
        with recorder.changed:
            recorder.sent.clear()
        if scenario.post_missing:
            page.locator("main button[type=submit]").click()
            page.wait_for_load_state("load")
        else:
            page.goto(origin + scenario.path, wait_until="load")
        recorder.wait_for("/favicon.ico", FAVICON_WAIT_S)
        with recorder.changed:
            return list(recorder.sent), len(seen)
    finally:
        context.close()


def report(scenario: Scenario, html: tuple[int, int], fetched: list[Sent] | None,
           page_events: int) -> tuple[int, int]:
    """Print one scenario's figures; the bytes weighed against the budget and the requests."""
    compressed, plain = html
    print(f"\n{scenario.title}")
    print(f"  HTML, gzip (test client)    {compressed:>7,} B")
    print(f"  HTML, uncompressed          {plain:>7,} B   "
          f"(gzip saves {1 - compressed / plain:.0%})")
    if fetched is None:
        total, requests = compressed, 0
        print("  browser                     skipped: no Chromium, budget on the HTML alone")
    else:
        total, requests = sum(s.total for s in fetched), len(fetched)
        page = scenario.path.split("?")[0]
        other = sorted({s.path for s in fetched if s.path.split("?")[0] != page})
        print(f"  requests (Chromium, no JS)  {len(fetched):>7}     (page events saw {page_events};"
              f" besides the page: {', '.join(other) or 'none'})")
        for sent in fetched:
            print(f"    {sent.status:<24} {sent.method:<4} {sent.path[:32]:<32} "
                  f"{sent.header_bytes:>5,} B headers + {sent.body_bytes:>6,} B body")
        print(f"  all requests, as sent       {total:>7,} B")
    verdict = total <= BUDGET
    print(f"  budget                      {BUDGET:>7,} B   "
          f"{'PASS' if verdict else 'FAIL'} ({BUDGET - total:+,} B to spare)")
    return total, requests


def weigh_before(revision: str) -> dict[str, list[int]]:
    """This benchmark run on ``revision`` of the application (exported to a temporary
    directory, `app` imported from there): each scenario's bytes and requests."""
    from bench.throughput import export_revision

    with tempfile.TemporaryDirectory(prefix="page-budget-before-") as tmp:
        tree = export_revision(revision, Path(tmp) / "tree")
        figures = Path(tmp) / "figures.json"
        launch = ("import runpy, sys; sys.path.insert(0, sys.argv[1]); "
                  "runpy.run_path(sys.argv[2], run_name='__main__')")
        run = subprocess.run(  # noqa: S603 (our own interpreter and arguments)
            [sys.executable, "-c", launch, str(tree), __file__], cwd=tree,
            env={**os.environ, "BENCH_BEFORE": "", "BENCH_PAGE_FIGURES": str(figures)},
            capture_output=True, text=True, check=False)
        if not figures.exists():
            raise RuntimeError(f"bench: the page budget of {revision} failed:\n{run.stderr}")
        weighed: dict[str, list[int]] = json.loads(figures.read_text())
        return weighed


def main() -> int:
    """Weigh the survey page (id, en) and its error page; 0 when all fit in 14 KB."""
    with tempfile.TemporaryDirectory(prefix="page-budget-") as tmp:
        app, survey_path, survey = build_app(Path(tmp))
        scenarios = [
            Scenario("Survey page, Bahasa Indonesia", survey_path),
            Scenario("Survey page, English (?lang=en)", f"{survey_path}?lang=en"),
            Scenario(f"Error page: POST with {MISSING} missing", survey_path,
                     post_missing=True),
        ]
        html = {s.title: fetch_with_client(app.test_client(), s, survey) for s in scenarios}
        browsed: dict[str, tuple[list[Sent], int]] = {}
        if CHROMIUM.exists():
            from playwright.sync_api import sync_playwright

            with live_server(app) as (origin, recorder), sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                     args=CHROMIUM_ARGS)
                for scenario in scenarios:
                    browsed[scenario.title] = fetch_with_browser(
                        browser, origin, recorder, scenario, survey)
                browser.close()
        app.extensions["suara.db"].dispose()

    print(f"Page budget of the citizen survey: {BUDGET:,} B (14 KB), the first round trip "
          "of a new connection")
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} not found: request counts skipped")
    weighed: dict[str, tuple[int, int]] = {}
    for scenario in scenarios:
        fetched, events = browsed.get(scenario.title, (None, 0))
        weighed[scenario.title] = report(scenario, html[scenario.title], fetched, events)
    if os.environ.get("BENCH_PAGE_FIGURES"):  # the run of an older revision, for its caller
        Path(os.environ["BENCH_PAGE_FIGURES"]).write_text(json.dumps(weighed))
    # The survey page itself must come in one request; the error page is a redirect back to
    # the form since issue 12 (Post/Redirect/Get), so there only the bytes count.
    within = sum(total <= BUDGET and (s.post_missing or requests <= 1)
                 for s, (total, requests) in zip(scenarios, weighed.values(), strict=True))
    print(f"\n{within}/{len(weighed)} within budget (the survey page in one request)")
    revision = os.environ.get("BENCH_BEFORE")
    if revision:
        before = weigh_before(revision)
        print(f"\nbefore ({revision}) and after, all requests as sent (B, requests):")
        for title, (total, requests) in weighed.items():
            old_total, old_requests = before.get(title, (0, 0))
            print(f"  {title:<48} before {old_total:>6,} B in {old_requests}   "
                  f"after {total:>6,} B in {requests}")
    return 0 if within == len(weighed) else 1


if __name__ == "__main__":
    raise SystemExit(main())
