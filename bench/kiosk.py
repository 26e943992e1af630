"""The kiosk after a day offline: how long 500 queued answers take to reach the service, and
what the kiosk weighs against its 50 KB budget.

Run: ``.venv/bin/python -m bench kiosk`` (or ``-m bench.kiosk``).

(1) A real headless Chromium pairs with a live server (SQLite), goes offline and queues 500
answers in IndexedDB (through ``KioskStore.save``), dated over the previous day; then the
network comes back and the time is taken until the database holds all 500. The floor, in the
same run and against the same server: the same 500 answers (new ids) POSTed by a plain Python
client with another kiosk's credential, in batches of 100 over one connection.

(2) The bytes of the kiosk as served to that Chromium (its Accept-Encoding): the page,
kiosk.js, queue.js and kiosk.css, plus sw.js, against 50 KB; and queue.js + sw.js (the
offline machinery) against its own 8 KB.
"""

from __future__ import annotations

import http.client
import json
import logging
import secrets
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, select
from werkzeug.serving import make_server

from app import create_app, kiosks, migrate
from app.config import Settings
from app.db import utcnow
from app.models import Kiosk, Response
from app.org import create_counter, create_service, create_unit

QUEUED = 500
BATCH = 100
BUDGET = 50 * 1024
OFFLINE_BUDGET = 8 * 1024  # queue.js + sw.js
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
FILES = ("/kiosk/", "/kiosk/kiosk.js", "/kiosk/queue.js", "/kiosk/kiosk.css", "/kiosk/sw.js")
DRAIN_TIMEOUT_S = 300.0
SCORES = {f"U{i}": 1 + i % 4 for i in range(1, 10)}


def build_app(directory: Path) -> tuple[Flask, list[str]]:
    """A migrated SQLite database with one unit, two counters and two kiosks; their pairing
    codes (one for Chromium, one for the floor's plain client)."""
    url = f"sqlite:///{directory / 'bench.db'}"
    migrate.upgrade(url)
    app = create_app(Settings(app_env="test", secret_key=secrets.token_hex(32),
                              database_url=url, instance_dir=directory / "instance",
                              public_base_url="http://127.0.0.1"))
    now = utcnow()
    with app.extensions["suara.db"].session_scope() as session:
        unit = create_unit(session, "PKM-BENCH", "Puskesmas Bench", "puskesmas")
        umum = create_service(session, unit, "UMUM", "Poli Umum", standard_minutes=30)
        gigi = create_service(session, unit, "GIGI", "Poli Gigi", standard_minutes=30)
        create_counter(session, unit, "POLI-UMUM", "Poli Umum", default_service=umum, now=now)
        create_counter(session, unit, "POLI-GIGI", "Poli Gigi", default_service=gigi, now=now)
        codes = [kiosks.create_kiosk(session, unit, kiosks.KioskSettings(name=name),
                                     now=now)[1] for name in ("Kiosk Chromium", "Kiosk floor")]
    return app, codes


@contextmanager
def live_server(app: Flask) -> Iterator[str]:
    """Serve the app on a free local port in a background thread."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="bench-kiosk", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def answers_of_yesterday(now: datetime) -> list[dict[str, Any]]:
    """500 answers as a kiosk queues them, dated evenly over the day before ``now``."""
    step = timedelta(days=1) / QUEUED
    out = []
    for i in range(QUEUED):
        submitted = now - timedelta(days=1) + i * step
        out.append({"id": str(uuid.uuid4()), "counter": "POLI-UMUM" if i % 2 else "POLI-GIGI",
                    "service": None, "survey": "skm-2017/1", "answers": SCORES,
                    "wait_band": "5-15", "comment": None,
                    "started_at": (submitted - timedelta(seconds=70)).isoformat(),
                    "submitted_at": submitted.isoformat()})
    return out


def stored(app: Flask) -> dict[str, int]:
    """Stored responses by kiosk name."""
    with app.extensions["suara.db"].session_scope(write=False) as session:
        rows = session.execute(select(Kiosk.name, func.count(Response.id))
                               .join(Response, Response.kiosk_id == Kiosk.id)
                               .group_by(Kiosk.name)).all()
    return {name: int(count) for name, count in rows}


def json_call(conn: http.client.HTTPConnection, method: str, path: str, body: Any,
              credential: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if credential:
        headers["Authorization"] = f"Bearer {credential}"
    conn.request(method, path, body=json.dumps(body), headers=headers)
    reply = conn.getresponse()
    return reply.status, json.loads(reply.read() or b"null")


def floor(app: Flask, origin: str, code: str) -> float:
    """Seconds for a plain client to POST the 500 answers in batches of 100."""
    conn = http.client.HTTPConnection(origin.removeprefix("http://"), timeout=60)
    status, paired = json_call(conn, "POST", "/api/v1/kiosk/pair", {"code": code})
    if status != 201:
        raise RuntimeError(f"pairing the floor's kiosk: {status} {paired}")
    credential = paired["credential"]
    now = utcnow()
    json_call(conn, "POST", "/api/v1/kiosk/heartbeat", {"device_time": now.isoformat()},
              credential)
    answers = answers_of_yesterday(now)
    began = time.perf_counter()
    for start in range(0, QUEUED, BATCH):
        status, body = json_call(conn, "POST", "/api/v1/responses",
                                 {"responses": answers[start:start + BATCH]}, credential)
        if status != 200 or {r["status"] for r in body["results"]} != {201}:
            raise RuntimeError(f"floor batch at {start}: {status} {body}")
    took = time.perf_counter() - began
    conn.close()
    if stored(app).get("Kiosk floor") != QUEUED:
        raise RuntimeError("the floor's answers are not all stored")
    return took


def drain(app: Flask, origin: str, code: str, browser: Any) -> tuple[float, int, str]:
    """Seconds from the network's return until the service holds the tablet's 500 answers,
    how many batches the tablet sent, and the Accept-Encoding it asks for pages with."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, has_touch=True)
    try:
        page = context.new_page()
        opened = page.goto(f"{origin}/kiosk/")
        if opened is None:
            raise RuntimeError("no answer for /kiosk/")
        accept = opened.request.all_headers().get("accept-encoding", "gzip")
        page.evaluate("KioskStore.init()")
        paired = page.evaluate("code => KioskStore.pair(code)", code)
        if not paired["ok"]:
            raise RuntimeError(f"pairing the tablet: {paired}")
        page.evaluate("navigator.serviceWorker.ready.then(function () { return true; })")
        context.set_offline(True)
        page.evaluate("""async answers => {
            for (const answer of answers) await KioskStore.save(answer);
        }""", answers_of_yesterday(utcnow()))
        queued = page.evaluate("KioskStore.status().queued")
        if queued != QUEUED or stored(app).get("Kiosk Chromium"):
            raise RuntimeError(f"{queued} answers queued offline")
        batches: list[str] = []

        def count(request: Any) -> None:
            if request.url.endswith("/api/v1/responses"):
                batches.append(request.url)

        page.on("request", count)
        began = time.perf_counter()
        context.set_offline(False)
        while stored(app).get("Kiosk Chromium", 0) < QUEUED:
            if time.perf_counter() - began > DRAIN_TIMEOUT_S:
                raise RuntimeError(f"not drained after {DRAIN_TIMEOUT_S:.0f} s")
            time.sleep(0.01)
        took = time.perf_counter() - began
        page.wait_for_function("KioskStore.status().queued === 0", polling=50)
        return took, len(batches), accept
    finally:
        context.close()


def weights(origin: str, accept_encoding: str) -> list[tuple[str, int, int, str]]:
    """(path, body bytes as served, header bytes, content encoding) of each kiosk file."""
    out = []
    host = origin.removeprefix("http://")
    for path in FILES:
        conn = http.client.HTTPConnection(host, timeout=30)
        conn.request("GET", path, headers={"Accept-Encoding": accept_encoding})
        reply = conn.getresponse()
        body = reply.read()
        if reply.status != 200:
            raise RuntimeError(f"{path}: {reply.status}")
        headers = len(f"HTTP/1.1 {reply.status} {reply.reason}\r\n") + sum(
            len(f"{k}: {v}\r\n") for k, v in reply.getheaders()) + 2
        out.append((path, len(body), headers, reply.getheader("Content-Encoding") or "none"))
        conn.close()
    return out


def main() -> int:
    """Measure and print; non-zero when the kiosk is over its budget."""
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is missing: the kiosk bench needs Debian's Chromium")
        return 1
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        app, (tablet_code, floor_code) = build_app(Path(tmp))
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            with live_server(app) as origin:
                floor_s = floor(app, origin, floor_code)
                drain_s, batches, accept = drain(app, origin, tablet_code, browser)
                sizes = weights(origin, accept)
        finally:
            browser.close()
        app.extensions["suara.db"].dispose()

    print(f"\nDrain of {QUEUED} answers queued offline, dated over the previous day")
    print(f"  kiosk (Chromium, IndexedDB, {batches} batches)  {drain_s * 1000:>8,.0f} ms")
    print(f"  floor (Python client, {QUEUED // BATCH} batches of {BATCH})   "
          f"{floor_s * 1000:>8,.0f} ms")
    print(f"  kiosk / floor                             {drain_s / floor_s:>8.2f} x")

    print(f"\nWeight as served (Accept-Encoding: {accept})")
    for path, body, headers, encoding in sizes:
        print(f"  {path:<18} {body:>7,} B body ({encoding:<4}) + {headers:>4} B headers")
    total = sum(body + headers for _, body, headers, _ in sizes)
    offline = sum(body for path, body, _, _ in sizes if path.endswith(("queue.js", "sw.js")))
    verdict = total <= BUDGET
    print(f"  all five, with headers   {total:>7,} B of {BUDGET:,} B   "
          f"{'PASS' if verdict else 'FAIL'} ({BUDGET - total:+,} B to spare)")
    print(f"  queue.js + sw.js bodies  {offline:>7,} B of {OFFLINE_BUDGET:,} B   "
          f"{'PASS' if offline <= OFFLINE_BUDGET else 'FAIL'}")
    return 0 if verdict and offline <= OFFLINE_BUDGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
