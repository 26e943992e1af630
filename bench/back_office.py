"""Back-office list pages at the issue's size, and check-in to the first attributed response.

Run: ``.venv/bin/python -m bench.back_office`` (``BENCH_REQUESTS``, default 40 per page;
``BENCH_PG_URL`` to run on PostgreSQL instead of a temporary SQLite file).

The world (issue 13): 30 units, 500 counters, 3,000 officers and 20,000 duties, plus one
audit entry per duty, written with bulk inserts. An administrator signed in through the real
form opens every back-office page that lists things, in-process (Flask's test client, no
network), and each request's wall time is taken; the floor is ``/healthz`` of the same
application in the same run (one database round trip, nothing rendered). Goal: p95 ≤ 100 ms.

Then the duty path: an officer checks in with one request (the button on ``/tugas``), a citizen
opens the survey (one request) and answers (one request); the stored response already names the
officer (``attribution = 'checkin'``), with no job in between. Printed: each request's time.
"""

from __future__ import annotations

import os
import re
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert, select

from app import create_app, migrate
from app.config import Settings
from app.db import utcnow
from app.models import (
    Assignment,
    AuditEntry,
    Counter,
    CounterToken,
    Officer,
    Response,
    Service,
    Unit,
)
from app.users import create_user

UNITS, COUNTERS, OFFICERS, DUTIES = 30, 500, 3000, 20000
GOAL_P95_MS = 100.0
PASSWORD = "bench-password-123"  # noqa: S105 (a throwaway database)


def nip(n: int) -> str:
    """A valid NIP, unique per ``n`` below 12,000: born 1980–1999, CPNS in 2010 (the month
    from n // 1000), sex alternating, sequence n mod 1000."""
    born = date(1980 + n % 20, 1 + n % 12, 1 + n % 28)
    return f"{born:%Y%m%d}2010{1 + n // 1000 % 12:02d}{1 + n % 2}{n % 1000:03d}"


def seed(app: Flask) -> dict[str, Any]:
    """Write the world with bulk inserts; the ids a run needs."""
    db = app.extensions["suara.db"]
    now = utcnow()
    with db.session_scope() as session:
        session.execute(insert(Unit), [
            {"code": f"U{u:02d}", "name": f"Unit {u:02d}", "kind": "puskesmas",
             "arrival_token": f"arrival-token-{u:06d}", "active": True} for u in range(UNITS)])
        unit_ids = list(session.scalars(select(Unit.id).order_by(Unit.id)))
        session.execute(insert(Service), [
            {"unit_id": uid, "code": f"S{s}", "name": f"Layanan {s}", "fee": 0,
             "active": True} for uid in unit_ids for s in range(2)])
        session.execute(insert(Counter), [
            {"unit_id": unit_ids[c % UNITS], "code": f"L{c:03d}", "name": f"Loket {c:03d}",
             "active": True, "checkin_token": f"checkin-token-{c:08d}"}
            for c in range(COUNTERS)])
        counters = session.execute(select(Counter.id, Counter.unit_id)
                                   .order_by(Counter.id)).all()
        session.execute(insert(CounterToken), [
            {"counter_id": cid, "token": f"survey-token-{cid:08d}", "issued_at": now}
            for cid, _ in counters])
        session.execute(insert(Officer), [
            {"nip": nip(o), "name": f"Petugas {o:04d}", "unit_id": unit_ids[o % UNITS],
             "position": "Staf", "active": True} for o in range(OFFICERS)])
        officers = session.execute(select(Officer.id, Officer.unit_id)
                                   .order_by(Officer.id)).all()
        by_unit: dict[int, list[int]] = {}
        for cid, uid in counters:
            by_unit.setdefault(uid, []).append(cid)
        start = datetime(2026, 1, 5, 1, tzinfo=UTC)
        duties: list[dict[str, Any]] = []
        day = 0
        while len(duties) < DUTIES:  # one 4-hour duty a day per officer, past days only
            for index, (oid, uid) in enumerate(officers):
                if len(duties) == DUTIES:
                    break
                begins = start + timedelta(days=day, hours=index % 3)
                duties.append({"officer_id": oid,
                               "counter_id": by_unit[uid][(day + index) % len(by_unit[uid])],
                               "starts_at": begins, "ends_at": begins + timedelta(hours=4),
                               "source": "admin"})
            day += 1
        session.execute(insert(Assignment), duties)
        session.execute(insert(AuditEntry), [
            {"at": now, "actor": "cli:bench", "action": "duty.correct",
             "object_type": "assignment", "object_id": str(i), "after": "{}"}
            for i in range(DUTIES)])
        create_user(session, "admin@bench.example", PASSWORD, "admin")
        officer = session.get(Officer, officers[0][0])
        assert officer is not None  # noqa: S101
        create_user(session, "petugas@bench.example", PASSWORD, "officer",
                    unit=officer.unit, officer=officer)
        counter_id = by_unit[officer.unit_id][0]
    return {"unit_id": unit_ids[0], "unit_code": "U00", "officer_id": officers[0][0],
            "counter_id": counter_id, "token": f"survey-token-{counter_id:08d}"}


def csrf_of(html: str) -> str:
    """The CSRF token of a page's form."""
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    if found is None:
        raise RuntimeError("no CSRF token on the page")
    return found.group(1)


def sign_in(client: FlaskClient, email: str) -> None:
    """Sign in through the real form (with its CSRF token)."""
    token = csrf_of(client.get("/masuk").get_data(as_text=True))
    reply = client.post("/masuk", data={"csrf_token": token, "email": email,
                                        "password": PASSWORD})
    if reply.status_code != 303:
        raise RuntimeError(f"sign-in failed: {reply.status_code}")


def timed(client: FlaskClient, path: str, rounds: int) -> list[float]:
    """Milliseconds of ``rounds`` GETs of ``path`` (each must answer 200)."""
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        reply = client.get(path)
        times.append((time.perf_counter() - began) * 1000)
        if reply.status_code != 200:
            raise RuntimeError(f"{path}: {reply.status_code}")
    return times


def p95(values: list[float]) -> float:
    """The 95th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def list_pages(ids: dict[str, Any]) -> list[str]:
    """The back-office pages that list things, filled for the first unit."""
    unit, code = ids["unit_id"], ids["unit_code"]
    return ["/admin/", "/admin/units", f"/admin/units/{unit}", "/admin/posters",
            "/admin/officers", "/admin/officers?q=Petugas%2000", "/admin/officers?page=20",
            "/admin/accounts", f"/admin/board?unit={unit}", f"/admin/rosters?unit={unit}",
            f"/admin/duties?unit={unit}&day=2026-01-06", f"/admin/served?unit={code}",
            "/admin/audit", "/admin/audit?page=100"]


def duty_path(app: Flask, ids: dict[str, Any]) -> list[tuple[str, float]]:
    """Check in, open the survey, answer: each request's milliseconds; then the response's
    attribution must already name the officer."""
    officer = app.test_client()
    sign_in(officer, "petugas@bench.example")
    page = officer.get("/tugas").get_data(as_text=True)
    began = time.perf_counter()
    reply = officer.post("/tugas", data={"csrf_token": csrf_of(page),
                                         "counter": str(ids["counter_id"])})
    steps = [("check in (POST /tugas)", (time.perf_counter() - began) * 1000)]
    if reply.status_code not in (200, 303):
        raise RuntimeError(f"check-in: {reply.status_code}")
    citizen = app.test_client()
    citizen.get(f"/s/{ids['token']}")  # warm-up: the survey template compiled once
    began = time.perf_counter()
    survey = citizen.get(f"/s/{ids['token']}")
    steps.append(("open the survey (GET /s/…)", (time.perf_counter() - began) * 1000))
    html = survey.get_data(as_text=True)
    form = {**dict(re.findall(r'name="(csrf_token|t)" value="([^"]+)"', html)),
            **{f"U{k}": "3" for k in range(1, 10)}, "wait_band": "5-15"}
    began = time.perf_counter()
    answered = citizen.post(f"/s/{ids['token']}", data=form)
    steps.append(("answer (POST /s/…)", (time.perf_counter() - began) * 1000))
    if answered.status_code != 303:
        raise RuntimeError(f"answer: {answered.status_code}")
    with app.extensions["suara.db"].session_scope(write=False) as session:
        stored = session.scalars(select(Response)).one()
        if (stored.officer_id, stored.attribution) != (ids["officer_id"], "checkin"):
            raise RuntimeError(f"not attributed: {stored.officer_id} {stored.attribution}")
    return steps


def main() -> int:
    """Seed, measure, print; non-zero when a page misses the goal."""
    rounds = int(os.environ.get("BENCH_REQUESTS", "40"))
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("BENCH_PG_URL") or f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate.upgrade(url)
        app = create_app(Settings(app_env="production", secret_key="bench-" + "k" * 32,
                                  database_url=url, instance_dir=Path(tmp) / "instance",
                                  public_base_url="http://127.0.0.1:5000"))
        began = time.perf_counter()
        ids = seed(app)
        print(f"seeded {UNITS} units, {COUNTERS} counters, {OFFICERS} officers, {DUTIES} duties "
              f"and {DUTIES} audit entries in {time.perf_counter() - began:.1f} s "
              f"({url.split(':')[0]}), {rounds} requests per page")
        client = app.test_client()
        sign_in(client, "admin@bench.example")
        floor = timed(client, "/healthz", rounds)
        print(f"{'page':<44} {'p50 ms':>8} {'p95 ms':>8}  goal p95 ≤ {GOAL_P95_MS:.0f} ms")
        print(f"{'floor: /healthz':<44} {statistics.median(floor):8.1f} {p95(floor):8.1f}")
        missed = []
        for path in list_pages(ids):
            times = timed(client, path, rounds)
            verdict = "ok" if p95(times) <= GOAL_P95_MS else "NOT MET"
            if verdict != "ok":
                missed.append(path)
            print(f"{path:<44} {statistics.median(times):8.1f} {p95(times):8.1f}  {verdict}")
        print("\ncheck-in to the first attributed response (one request each):")
        for label, ms in duty_path(app, ids):
            print(f"  {label:<42} {ms:8.1f} ms")
        print("  the response names the officer (attribution 'checkin') with no job between")
        app.extensions["suara.db"].dispose()
    if missed:
        print(f"not met: {', '.join(missed)}")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
