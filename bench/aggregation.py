"""Aggregation at scale: full rebuild, an incremental run after 1,000 new responses, and the
unit summary page's p95 and compressed size for a week, a month, a quarter, a year and a
custom range of three months, at 100,000 and at 1,000,000 responses (20 units, 120
counters, 300 officers, two years), on SQLite and, with BENCH_PG_URL, on PostgreSQL.

Then the same daily traffic as the largest size over only ``BENCH_SHORT_DAYS`` (61) days:
the incremental run there against the one after two years shows what history costs it.

Run: ``.venv/bin/python -m bench.aggregation`` (``BENCH_SIZES=100000,1000000`` by default;
``BENCH_ENGINES=sqlite,postgresql`` by default, PostgreSQL only with ``BENCH_PG_URL``;
``BENCH_SHORT_DAYS=0`` leaves out the short history).

Floors measured in the same run: one plain scan of the responses table (what any rebuild must
read at least once) and the p95 of ``/healthz`` (what any page costs).

Goals (issue 17): the summary weighs <= 60 KB compressed; its p95 stays <= 150 ms for a week
or a month and <= 500 ms for a year or a custom range; a quarter, summed from its months as
a year is, is held to the year's goal. Pages are asked for as a browser does, with
``Accept-Encoding: gzip``, by the unit head of U00 (who may choose a custom range).
"""

from __future__ import annotations

import gc
import gzip
import os
import random
import re
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask.testing import FlaskClient
from sqlalchemy import func, insert, select, text

from app import create_app, migrate
from app.config import Settings
from app.db import Database
from app.jobs import run_aggregation
from app.models import Officer, Response, SurveyVersion, Unit
from app.org import create_counter, create_service, create_unit
from app.periods import local_periods
from app.survey_versions import sync_survey_versions
from app.surveys import load_surveys
from app.users import create_user

TZ = ZoneInfo("Asia/Jakarta")
UNITS, COUNTERS_PER_UNIT, OFFICERS_PER_UNIT, SERVICES_PER_UNIT = 20, 6, 15, 5
DAYS = 730
NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)  # Monday 10:00 WIB
PASSWORD = "bench-password-123"
INCREMENTAL_RUNS = 3
BANDS = ["lt5", "5-15", "15-30", "30-60", "60-120", "gt120", None]
# The unit summary's periods, all inside the two years before NOW: (what, query, goal in ms).
SUMMARY_PERIODS = (
    ("week 2026-W47", "period=2026-W47", 150),
    ("month 2026-11", "period=2026-11", 150),
    ("quarter 2026-Q3", "period=2026-Q3", 500),
    ("year 2025", "period=2025", 500),
    ("range 1/8-31/10/26", "from=2026-08-01&to=2026-10-31", 500),
)
SUMMARY_KB = 60
GZIP = {"Accept-Encoding": "gzip"}


def seed_organisation(db: Database) -> dict[str, Any]:
    """20 units with counters, services and officers (valid NIPs), one unit head."""
    world: dict[str, Any] = {"counters": [], "officers": {}, "services": {}}
    with db.session_scope() as session:
        surveys = load_surveys(Settings().surveys_dir)
        sync_survey_versions(session, surveys.values())
        world["survey_version_id"] = session.scalar(select(SurveyVersion.id))
        for u in range(UNITS):
            unit = create_unit(session, f"U{u:02d}", f"Unit {u:02d}", "puskesmas" if u else
                               "disdukcapil")
            services = [create_service(session, unit, f"S{s}", f"Layanan {s}")
                        for s in range(SERVICES_PER_UNIT)]
            for c in range(COUNTERS_PER_UNIT):
                counter = create_counter(session, unit, f"C{c}", f"Loket {c}")
                world["counters"].append((counter.id, unit.id))
            officers = []
            for o in range(OFFICERS_PER_UNIT):
                month, day = (o % 12) + 1, (u % 28) + 1
                nip = f"1980{month:02d}{day:02d}2005{month:02d}1{u * 20 + o:03d}"
                officer = Officer(nip=nip, name=f"Petugas {u}-{o}", unit=unit, position="Petugas")
                session.add(officer)
                officers.append(officer)
            session.flush()
            world["officers"][unit.id] = [o.id for o in officers]
            world["services"][unit.id] = [s.id for s in services]
        unit0 = session.scalar(select(Unit).where(Unit.code == "U00"))
        create_user(session, "head@bench.test", PASSWORD, "unit_head", unit=unit0)
    return world


def response_rows(world: dict[str, Any], count: int, rng: random.Random, *,
                  first: datetime, days: int, received: datetime | None = None
                  ) -> list[dict[str, Any]]:
    """``count`` plausible responses answered over ``days`` days from ``first``."""
    rows = []
    for _ in range(count):
        counter_id, unit_id = rng.choice(world["counters"])
        day = first + timedelta(days=rng.randrange(days))
        created = datetime.combine(day.date(), dtime(8), TZ) + timedelta(
            minutes=rng.randrange(480))
        bias = 2.6 + (counter_id % 7) * 0.15
        scores = [max(1, min(4, round(rng.gauss(bias, 0.7)))) for _ in range(9)]
        keys = local_periods(created, TZ)
        flagged = rng.random() < 0.01
        rows.append({
            "client_id": uuid.UUID(int=rng.getrandbits(128), version=4),
            "payload_hash": "0" * 64,
            "survey_version_id": world["survey_version_id"],
            "unit_id": unit_id, "counter_id": counter_id,
            "service_id": rng.choice(world["services"][unit_id]) if rng.random() < .8 else None,
            "officer_id": rng.choice(world["officers"][unit_id]) if rng.random() < .85 else None,
            "channel": "qr", "created_at": created,
            "received_at": received or created + timedelta(seconds=3),
            "local_day": keys.day, "local_week": keys.week, "local_month": keys.month,
            "local_hour": keys.hour,
            **{f"u{i}": s for i, s in enumerate(scores, start=1)},
            "wait_band": rng.choice(BANDS),
            "measured_wait_min": int(rng.lognormvariate(3, .7)) % 480 if rng.random() < .4
            else None,
            "comment": "Pelayanan perlu ditingkatkan" if rng.random() < .05 else None,
            "flag_repeat": flagged, "flag_bot": False,
        })
    return rows


def insert_rows(db: Database, rows: list[dict[str, Any]]) -> None:
    with db.session_scope() as session:
        for start in range(0, len(rows), 5000):
            session.execute(insert(Response), rows[start:start + 5000])
    if db.engine.dialect.name == "postgresql" and len(rows) > 10_000:
        # What autovacuum does to a live database after a bulk load, done at once.
        with db.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE responses")


def timed(action: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def scan_floor(db: Database) -> float:
    with db.session_scope(write=False) as session:
        seconds, _ = timed(lambda: session.execute(
            select(func.count(), func.sum(Response.u1)).select_from(Response)).one())
    return seconds


def signed_in(app: Any) -> FlaskClient:
    """A test client signed in as the unit head of U00, through the real form."""
    client: FlaskClient = app.test_client()
    html = client.get("/masuk").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token is not None
    response = client.post("/masuk", data={"csrf_token": token.group(1),
                                           "email": "head@bench.test", "password": PASSWORD})
    assert response.status_code == 303, response.status_code
    return client


def page_p95(client: FlaskClient, path: str, requests: int = 60) -> float:
    """The p95 in ms of ``requests`` GETs of ``path`` (after one to warm caches), gzip
    accepted as a browser does."""
    client.get(path, headers=GZIP)
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path, headers=GZIP)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return statistics.quantiles(samples, n=20)[18]


def compressed_kb(client: FlaskClient, path: str) -> tuple[float, bool]:
    """The page's body in KB as sent to a browser that accepts gzip, and whether it came
    gzipped (a whole stream, checked by unpacking it)."""
    response = client.get(path, headers=GZIP)
    assert response.status_code == 200, (path, response.status_code)
    body = response.get_data()
    gzipped = response.headers.get("Content-Encoding") == "gzip"
    if gzipped:
        gzip.decompress(body)
    return len(body) / 1024, gzipped


def summary_pages(app: Any) -> list[tuple[str, float, float, bool, int]]:
    """The unit summary of U00 for each of SUMMARY_PERIODS: (what, p95 ms, KB sent, gzipped,
    goal ms)."""
    client = signed_in(app)
    found = []
    for what, query, goal in SUMMARY_PERIODS:
        path = f"/dashboard/units/U00?{query}"
        p95 = page_p95(client, path)
        found.append((what, p95, *compressed_kb(client, path), goal))
    return found


def bench_engine(label: str, url: str, workdir: Path, sizes: list[int],
                 days: int = DAYS) -> None:
    migrate.upgrade(url)
    settings = Settings(app_env="test", secret_key="bench-secret-key-0123456789",
                        database_url=url, instance_dir=workdir / "instance",
                        rate_limit_submit="1000000 per minute")
    app = create_app(settings)
    db: Database = app.extensions["suara.db"]
    world = seed_organisation(db)
    rng = random.Random(14)
    have = 0
    first = NOW - timedelta(days=days)
    for step, size in enumerate(sizes):
        rows = response_rows(world, size - have, rng, first=first, days=days - 1)
        generated, _ = timed(lambda rows=rows: insert_rows(db, rows))
        # The generated rows (a million dicts) would otherwise stay alive and make a full
        # garbage collection, which may fall in any timed run, cost a second.
        del rows
        gc.collect()
        have = size
        # Each size's runs happen later than the previous size's (the watermark only advances).
        now = NOW + timedelta(hours=step)
        full, run = timed(lambda now=now: run_aggregation(db, now=now, full=True))
        # Three incremental runs, each after 1,000 new responses answered over the last day
        # (the scheduler's normal case); the median is reported beside the slowest.
        incrementals = []
        for rep in range(INCREMENTAL_RUNS):
            at = now + timedelta(minutes=10 * (rep + 1))
            new = response_rows(world, 1000, rng, first=at - timedelta(days=1), days=1,
                                received=at - timedelta(minutes=5))
            insert_rows(db, new)
            seconds, inc = timed(lambda at=at: run_aggregation(db, now=at))
            incrementals.append(seconds)
        incremental = statistics.median(incrementals)
        floor = scan_floor(db)
        pages = summary_pages(app)
        health = page_p95(app.test_client(), "/healthz")
        print(f"{label:<10} {size:>9,} responses over {days} days "
              f"(+{generated:5.1f} s to load)")
        print(f"  full rebuild      {full:7.2f} s  ({run.rows:,} indicator rows; floor: one "
              f"scan {floor:.2f} s)   goal <= 60 s: {'PASS' if full <= 60 else 'FAIL'}")
        print(f"  incremental 1,000 {incremental:7.2f} s  median of {INCREMENTAL_RUNS}, slowest "
              f"{max(incrementals):.2f} s ({inc.buckets:,} buckets)"
              f"   goal <= 1 s: {'PASS' if max(incrementals) <= 1 else 'FAIL'}")
        print(f"  unit summary (U00)    p95 ms   KB sent   floor: /healthz p95 {health:.1f} ms")
        for what, p95, kb, gzipped, goal in pages:
            met = p95 <= goal and kb <= SUMMARY_KB and gzipped
            print(f"    {what:<18}{p95:8.1f}  {kb:8.1f} {'gzip' if gzipped else 'PLAIN'}"
                  f"   goal <= {goal} ms, <= {SUMMARY_KB} KB gzip: {'PASS' if met else 'FAIL'}")
    db.dispose()


def postgres_schema(url: str, schema: str) -> str:
    """A fresh, empty schema on the PostgreSQL server; the URL that works in it."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {schema}"))
        connection.execute(text("CREATE EXTENSION IF NOT EXISTS btree_gist SCHEMA public"))
    engine.dispose()
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def main() -> None:
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "100000,1000000").split(",")]
    # The same daily traffic as the largest size, over a short history: an incremental run
    # should cost what it costs after two years (it depends on the traffic, not the history).
    short = int(os.environ.get("BENCH_SHORT_DAYS", "61"))
    short_size = round(max(sizes) * short / DAYS)
    print(f"{UNITS} units, {UNITS * COUNTERS_PER_UNIT} counters, "
          f"{UNITS * OFFICERS_PER_UNIT} officers; {os.cpu_count()} cores")
    engines = os.environ.get("BENCH_ENGINES", "sqlite,postgresql").split(",")
    with tempfile.TemporaryDirectory() as tmp:
        if "sqlite" in engines:
            bench_engine("SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}", Path(tmp), sizes)
            if short:
                bench_engine("SQLite", f"sqlite:///{Path(tmp) / 'short.db'}", Path(tmp),
                             [short_size], days=short)
        pg = os.environ.get("BENCH_PG_URL")
        if pg and "postgresql" in engines:
            bench_engine("PostgreSQL", postgres_schema(pg, "bench"), Path(tmp), sizes)
            if short:
                bench_engine("PostgreSQL", postgres_schema(pg, "bench_short"), Path(tmp),
                             [short_size], days=short)


if __name__ == "__main__":
    main()
