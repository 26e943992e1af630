"""The kiosk offline, in a real Chromium (issue 14, points 5 and 6): nothing lost, nothing
doubled.

The tablet pairs, the network goes (``set_offline`` does not cut a service worker's own
requests, so the server is stopped too), citizens answer, the page is reloaded from the
service worker, the network comes back and the service holds each answer once; the same
with the server stopped while a sync is under way; a revoked kiosk stops and still delivers
what it had named in a heartbeat; a refused answer lands in the quarantine. Time on the
tablet is Playwright's clock (paused after pairing): the 60 s timers, the 0.4 s and 5 s
screen delays run only when a test runs them.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from factories import SCORES, STAFF_PASSWORD, make_unit, release, sign_in
from flask import Flask
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Request,
    Route,
    ViewportSize,
    expect,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from app import kiosks
from app.db import utcnow
from app.models import Kiosk, KioskPending, KioskQuarantine, Response
from app.org import create_counter
from app.users import create_user
from app.web import kiosk as kiosk_pages

pytestmark = pytest.mark.browser

TABLET: ViewportSize = {"width": 1280, "height": 800}
COUNTER = "L1"  # make_unit's counter
OTHER_COUNTER = "L2"  # a second one, so that the kiosk asks which served the citizen
SESSIONS = 50
ANSWER_DELAY_MS = 400  # the element screens go on by themselves this long after a tap
SETTLE_MS = 300  # a screen ignores taps this long after it shows (a double tap's second half)
THANKS_MS = 5000
HEARTBEAT_MS = 60_000
RESPONSES = "**/api/v1/responses"
HEARTBEAT = "/api/v1/kiosk/heartbeat"


class _OneRequestPerConnection(WSGIRequestHandler):
    """HTTP/1.0: once the server is stopped no kept-alive connection still answers."""

    protocol_version = "HTTP/1.0"


class Server:
    """The application on one local port, which a test stops and starts again."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.port = 0
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True,
                                   request_handler=_OneRequestPerConnection)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name=f"kiosk-server-{self.port}")
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._server is not None

    def stop(self) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()
        self._server = None


@dataclasses.dataclass
class World:
    """A unit with two counters, a kiosk waiting for its tablet, and the server."""

    app: Flask
    server: Server
    kiosk_id: int
    code: str  # the pairing code

    def rows(self) -> list[Response]:
        """The kiosk's stored responses, read fresh."""
        with self.app.extensions["suara.db"].session_scope(write=False) as session:
            rows = list(session.scalars(select(Response).where(
                Response.kiosk_id == self.kiosk_id).order_by(Response.id)))
            session.expunge_all()
            return rows

    def distinct_ids(self) -> int:
        with self.app.extensions["suara.db"].session_scope(write=False) as session:
            return session.scalar(select(func.count(func.distinct(Response.client_id)))
                                  .where(Response.kiosk_id == self.kiosk_id)) or 0


# A browser test on SQLite only: the engine is not what it tests.
@pytest.fixture
def world(app: Flask, session: Session) -> Iterator[World]:
    seeded = make_unit(session)
    create_counter(session, seeded.unit, OTHER_COUNTER, "Loket Dua Kartu Keluarga",
                   default_service=seeded.services[1], now=utcnow())
    kiosk, code = kiosks.create_kiosk(session, seeded.unit, kiosks.KioskSettings(
        name="Kiosk pintu keluar", placement="Dekat apotek"), now=utcnow())
    release(session)
    server = Server(app)
    server.start()
    yield World(app, server, kiosk.id, code)
    if server.running:
        server.stop()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A landscape touch tablet."""
    made = browser.new_context(viewport=TABLET, has_touch=True, locale="id-ID")
    yield made
    made.close()


def open_and_pair(context: BrowserContext, world: World) -> Page:
    """Open /kiosk, pair with the keypad, wait for the questionnaire and the service worker;
    then stop the tablet's clock (it moves only when a test runs it)."""
    page = context.new_page()
    page.clock.install()
    page.goto(f"{world.server.origin}/kiosk/")
    expect(page.locator("[data-screen=pair]")).to_be_visible()
    for digit in world.code:
        page.locator(f"[data-digit='{digit}']").tap()
    page.locator("[data-action=pair]").tap()
    expect(page.locator("[data-screen=welcome]")).to_be_visible()
    page.wait_for_function("() => KioskStore.config() !== null", polling=100)
    page.evaluate("navigator.serviceWorker.ready.then(function () { return true; })")
    tablet_now = datetime.fromtimestamp(page.evaluate("Date.now()") / 1000, UTC)
    page.clock.pause_at(tablet_now + timedelta(seconds=1))
    return page


def tap(page: Page, selector: str) -> None:
    """A citizen's tap (a touch, not a click) on a screen that has settled."""
    page.clock.run_for(SETTLE_MS)
    page.locator(selector).tap()


def answer_session(page: Page, scores: dict[str, str] = SCORES, band: str = "5-15",
                   comment: str | None = None) -> None:
    """One citizen, by taps only: start, the counter, nine faces, the wait, the comment,
    send; the thank-you screen shows once the answer is in IndexedDB, then the welcome."""
    tap(page, "[data-screen=welcome] [data-action=start]")
    tap(page, f"[data-screen=choose] [data-counter='{COUNTER}']")
    page.clock.run_for(ANSWER_DELAY_MS)
    for code in sorted(scores, key=lambda c: int(c[1:])):
        expect(page.locator("[data-screen=element]")).to_be_visible()
        tap(page, f"[data-screen=element] [data-score='{scores[code]}']")
        page.clock.run_for(ANSWER_DELAY_MS)
    tap(page, f"[data-screen=wait] [data-band='{band}']")
    page.clock.run_for(ANSWER_DELAY_MS)
    expect(page.locator("[data-screen=comment]")).to_be_visible()
    if comment:
        page.locator("textarea#comment").fill(comment)
    tap(page, "[data-screen=comment] [data-action=send]")
    expect(page.locator("[data-screen=thanks]")).to_be_visible()
    page.clock.run_for(THANKS_MS)
    expect(page.locator("[data-screen=welcome]")).to_be_visible()


def page_version(page: Page) -> str:
    """The version the server rendered into the page (the service worker's too)."""
    version: str = page.evaluate("document.documentElement.dataset.version")
    assert version
    return version


def status(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate("KioskStore.status()")
    return result


def queued_ids(page: Page) -> list[str]:
    """The client ids in the tablet's IndexedDB queue."""
    ids: list[str] = page.evaluate("""() => new Promise((resolve, reject) => {
        const opening = indexedDB.open('suara-kiosk');
        opening.onerror = () => reject(opening.error);
        opening.onsuccess = () => {
            const all = opening.result.transaction('queue').objectStore('queue').getAllKeys();
            all.onsuccess = () => { opening.result.close(); resolve(all.result); };
        };
    })""")
    return ids


def wait_for_status(page: Page, condition: str) -> None:
    """Wait (on network events, not on the clock) until KioskStore.status() meets it.

    A function, not an expression: Playwright evaluates an expression with eval(), which
    the pages' Content-Security-Policy (script-src 'self') refuses."""
    page.wait_for_function(f"() => (s => {condition})(KioskStore.status())", polling=100)


# Ask the browser to look for a new service worker; resolves once it is installed.
INSTALL_UPDATE = """async () => {
    const registration = await navigator.serviceWorker.getRegistration('/kiosk/');
    await registration.update();
    const worker = registration.installing || registration.waiting;
    while (worker.state === 'installing') {
        await new Promise(resolve => worker.addEventListener('statechange', resolve));
    }
    return worker.state;
}"""


# What the service worker keeps, by path.
CACHED = """async () => {
    const paths = [];
    for (const name of await caches.keys()) {
        const cache = await caches.open(name);
        for (const request of await cache.keys()) paths.push(new URL(request.url).pathname);
    }
    return paths.sort();
}"""


def cut_network(context: BrowserContext, world: World) -> None:
    context.set_offline(True)
    world.server.stop()


def back_online(context: BrowserContext) -> None:
    """The network drops and comes back: the tablet syncs at once (the 'online' event)."""
    context.set_offline(True)
    context.set_offline(False)


def is_responses(url: str) -> bool:
    return url.endswith("/api/v1/responses")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("killed_mid_sync", [False, True], ids=["offline", "killed-mid-sync"])
def test_answers_made_offline_arrive_once(world: World, context: BrowserContext,
                                          killed_mid_sync: bool) -> None:
    page = open_and_pair(context, world)
    cut_network(context, world)
    half = SESSIONS // 2
    for _ in range(half):
        answer_session(page)
    assert status(page)["queued"] == half

    # A reload with no network: the service worker serves the page, IndexedDB the answers.
    page.reload()
    expect(page.locator("[data-screen=welcome]")).to_be_visible()
    assert status(page)["queued"] == half
    assert page.evaluate(CACHED) == ["/kiosk/", "/kiosk/kiosk.css", "/kiosk/kiosk.js",
                                     "/kiosk/queue.js"]  # never the API
    for _ in range(SESSIONS - half):
        answer_session(page, comment="Antre lama, tapi ramah.")
    made = set(queued_ids(page))
    assert len(made) == SESSIONS
    assert status(page)["queued"] == SESSIONS and not status(page)["online"]
    assert world.rows() == []

    if killed_mid_sync:
        # The batch reaches the service, which stores it; the server then stops before the
        # answer gets back to the tablet, which keeps every answer queued.
        def deliver_then_kill(route: Route) -> None:
            route.fetch()
            world.server.stop()
            route.abort("connectionreset")

        context.route(RESPONSES, deliver_then_kill)
        world.server.start()
        with page.expect_event("requestfailed", lambda r: is_responses(r.url)):
            context.set_offline(False)
        assert {str(r.client_id) for r in world.rows()} == made
        wait_for_status(page, f"s.queued === {SESSIONS} && !s.online")
        context.unroute(RESPONSES)
        world.server.start()
        # The next try comes with the back-off's first step, 60 s: every answer is a
        # duplicate, answered 200, and leaves the queue.
        with page.expect_response(lambda r: is_responses(r.url)) as retried:
            page.clock.run_for(HEARTBEAT_MS)
        results = retried.value.json()["results"]
        assert len(results) == SESSIONS
        assert {(r["status"], r["duplicate"]) for r in results} == {(200, True)}
    else:
        world.server.start()
        context.set_offline(False)

    wait_for_status(page, "s.queued === 0 && s.online")
    rows = world.rows()
    assert len(rows) == SESSIONS and world.distinct_ids() == SESSIONS
    assert {str(r.client_id) for r in rows} == made
    assert {r.channel for r in rows} == {"kiosk"}
    assert status(page)["quarantined"] == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_revoked_kiosk_stops_and_its_earlier_answers_still_arrive(
        world: World, context: BrowserContext) -> None:
    page = open_and_pair(context, world)
    # The answers cannot be sent, the heartbeats can: the service learns their ids.
    context.route(RESPONSES, lambda route: route.abort())
    answer_session(page)
    answer_session(page)
    made = set(queued_ids(page))
    with page.expect_response(lambda r: r.url.endswith(HEARTBEAT) and r.status == 200):
        page.clock.run_for(HEARTBEAT_MS)
    with world.app.extensions["suara.db"].session_scope() as session:
        assert {str(i) for i in session.scalars(select(KioskPending.client_id).where(
            KioskPending.kiosk_id == world.kiosk_id))} == made
        kiosk = session.get(Kiosk, world.kiosk_id)
        assert kiosk is not None
        assert (kiosk.queue_length, kiosk.quarantined, kiosk.app_version) == (
            2, 0, page_version(page))
        assert kiosk.oldest_unsent_at is not None
        kiosks.revoke(session, kiosk, now=utcnow())

    with page.expect_response(lambda r: r.url.endswith(HEARTBEAT) and r.status == 403):
        page.clock.run_for(HEARTBEAT_MS)
    expect(page.locator("[data-screen=revoked]")).to_be_visible()
    expect(page.locator("[data-action=start]")).to_be_hidden()
    assert status(page)["revoked"] is True
    page.reload()
    expect(page.locator("[data-screen=revoked]")).to_be_visible()

    context.unroute(RESPONSES)
    back_online(context)
    wait_for_status(page, "s.queued === 0")
    assert {str(r.client_id) for r in world.rows()} == made


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_paired_again_as_another_kiosk_the_earlier_answers_go_out_as_the_earlier_kiosks(
        world: World, context: BrowserContext, session: Session) -> None:
    """A revoked tablet paired again as a kiosk of another unit, which has a counter of the
    same code: the answers it made before go out with the first kiosk's credential, so they
    count for the first unit (reported before the revocation: accepted), never the new."""
    page = open_and_pair(context, world)
    context.route(RESPONSES, lambda route: route.abort())
    answer_session(page)
    made = set(queued_ids(page))
    with page.expect_response(lambda r: r.url.endswith(HEARTBEAT) and r.status == 200):
        page.clock.run_for(HEARTBEAT_MS)
    other = make_unit(session, "PKM-LAIN", "Puskesmas Lain", kind="puskesmas",
                      services=(("UMUM", "Poli Umum"), ("GIGI", "Poli Gigi")),
                      counter=(COUNTER, "Loket di unit lain"))
    second, code = kiosks.create_kiosk(session, other.unit, kiosks.KioskSettings(
        name="Tablet unit lain"), now=utcnow())
    first = session.get(Kiosk, world.kiosk_id)
    assert first is not None
    kiosks.revoke(session, first, now=utcnow())
    release(session)
    with page.expect_response(lambda r: r.url.endswith(HEARTBEAT) and r.status == 403):
        page.clock.run_for(HEARTBEAT_MS)
    expect(page.locator("[data-screen=revoked]")).to_be_visible()
    page.locator("[data-action=repair]").tap()
    context.unroute(RESPONSES)
    for digit in code:
        page.locator(f"[data-digit='{digit}']").tap()
    page.locator("[data-action=pair]").tap()
    expect(page.locator("[data-screen=welcome]")).to_be_visible()
    page.evaluate("KioskStore.sync()")
    wait_for_status(page, "s.queued === 0")
    assert {str(r.client_id) for r in world.rows()} == made
    assert {r.unit_id for r in world.rows()} == {first.unit_id}
    with world.app.extensions["suara.db"].session_scope(write=False) as check:
        assert check.scalar(select(func.count()).select_from(Response).where(
            Response.kiosk_id == second.id)) == 0
    assert status(page)["quarantined"] == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_conflicting_answer_lands_in_the_quarantine(world: World,
                                                      context: BrowserContext) -> None:
    page = open_and_pair(context, world)
    context.route(RESPONSES, lambda route: route.abort())
    answer_session(page)
    (client_id,) = queued_ids(page)
    # Another answer under the same client id reaches the service first.
    other = {f"U{i}": 4 for i in range(1, 10)}
    now = utcnow().isoformat()
    stored = world.app.test_client().post("/api/v1/responses", json={
        "id": client_id, "counter": COUNTER, "survey": page.evaluate(
            "KioskStore.config().survey.id"), "answers": other, "started_at": now,
        "submitted_at": now}, headers={
        "Authorization": f"Bearer {page.evaluate('KioskStore.credential()')}"})
    assert stored.status_code == 201, stored.get_json()

    context.unroute(RESPONSES)
    back_online(context)
    wait_for_status(page, "s.queued === 0 && s.quarantined === 1")
    with world.app.extensions["suara.db"].session_scope(write=False) as session:
        held = session.scalars(select(KioskQuarantine).where(
            KioskQuarantine.kiosk_id == world.kiosk_id)).one()
        assert (str(held.client_id), held.status) == (client_id, 409)
        assert json.loads(held.payload)["answers"] == {
            code: int(score) for code, score in SCORES.items()}
    (row,) = world.rows()
    assert row.client_id == uuid.UUID(client_id)

    # The device list shows it, and the kiosk's page the answer and why it was refused.
    with world.app.extensions["suara.db"].session_scope() as session:
        create_user(session, "admin@example.id", STAFF_PASSWORD, "admin")
    staff = world.app.test_client()
    assert sign_in(staff, "admin@example.id").status_code == 303
    listing = staff.get("/admin/kiosks").get_data(as_text=True)
    assert f'/admin/kiosks/{world.kiosk_id}#refused"><strong class="err">1</strong>' in listing
    detail = staff.get(f"/admin/kiosks/{world.kiosk_id}").get_data(as_text=True)
    assert client_id in detail and "409" in detail


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_new_service_worker_waits_for_an_empty_queue(
        world: World, context: BrowserContext, monkeypatch: pytest.MonkeyPatch) -> None:
    page = open_and_pair(context, world)
    page.reload()  # now under the service worker's control
    expect(page.locator("[data-screen=welcome]")).to_be_visible()
    old = page_version(page)
    context.route(RESPONSES, lambda route: route.abort())
    answer_session(page)

    monkeypatch.setattr(kiosk_pages, "app_version", lambda: "next-release")
    registration = "navigator.serviceWorker.getRegistration('/kiosk/')"
    assert page.evaluate(INSTALL_UPDATE) == "installed"
    page.clock.run_for(HEARTBEAT_MS)
    assert page.evaluate(f"{registration}.then(r => !!r.waiting)") is True
    assert f"kiosk-{old}" in page.evaluate("caches.keys()")

    context.unroute(RESPONSES)
    with page.expect_event("load"):
        back_online(context)  # the sync empties the queue: the new worker takes over
    expect(page.locator("[data-screen=welcome]")).to_be_visible()
    assert page.evaluate("caches.keys()") == ["kiosk-next-release"]
    assert len(world.rows()) == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_one_sync_at_a_time(world: World, context: BrowserContext) -> None:
    page = open_and_pair(context, world)
    held: list[Route] = []

    def hold_the_first(route: Route) -> None:
        if held:
            route.continue_()
        else:
            held.append(route)  # the first sync's request hangs until the test lets it go

    context.route(RESPONSES, hold_the_first)
    sent: list[int] = []  # the answers in each request, in order

    def count(request: Request) -> None:
        body = request.post_data_json
        if is_responses(request.url) and body is not None:
            sent.append(len(body["responses"]))

    page.on("request", count)
    answer_session(page)  # its answer starts a sync, which hangs
    # Two more citizens while it hangs: each asks for a sync; none starts beside it.
    answer_session(page)
    answer_session(page)
    assert len(held) == 1 and sent == [1] and status(page)["queued"] == 3
    held[0].continue_()
    # The sync asked for meanwhile runs once the first ends, with the two left.
    wait_for_status(page, "s.queued === 0")
    assert sent == [1, 2]
    assert len(world.rows()) == 3 and world.distinct_ids() == 3


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_changed_configuration_reaches_the_tablet_with_the_next_heartbeat(
        world: World, context: BrowserContext) -> None:
    page = open_and_pair(context, world)
    assert page.evaluate("KioskStore.config().settings.idle_seconds") == 30
    with world.app.extensions["suara.db"].session_scope() as session:
        kiosk = session.get(Kiosk, world.kiosk_id)
        assert kiosk is not None
        kiosks.update_kiosk(session, kiosk, kiosks.KioskSettings(
            name=kiosk.name, placement=kiosk.placement, idle_seconds=45), now=utcnow())
    with page.expect_response(lambda r: r.url.endswith("/api/v1/kiosk/config")):
        page.clock.run_for(HEARTBEAT_MS)
    page.wait_for_function("() => KioskStore.config().settings.idle_seconds === 45",
                           polling=100)
    page.reload()  # kept in IndexedDB
    page.wait_for_function("() => KioskStore.config().settings.idle_seconds === 45",
                           polling=100)
