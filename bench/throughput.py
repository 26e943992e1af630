"""Submissions per second and latency under gunicorn (2 workers, 16 clients) against a floor.

Run: ``.venv/bin/python -m bench.throughput`` (``BENCH_REQUESTS`` per scenario, default 1600;
``BENCH_ROUNDS``, default 3; ``BENCH_PG_URL`` to also run the application on PostgreSQL).

The floor is a bare Flask app doing one SQLite INSERT per request with the same durability
settings (WAL, synchronous=FULL, busy_timeout), served the same way and loaded by the same
client. This machine's speed drifts by a third within minutes, so each round measures the
floor again just before each application, and the verdict is the median of the rounds' ratios.
The goal is at least half the floor's throughput. Beside each rate: the CPU the server's
workers and this load generator spent per operation, steadier than the rates.

A form submission is two requests (the GET that issues the CSRF token, the POST), each with
gunicorn's cost of a new connection, against the floor's one. So the run also serves a
reference with no goal of its own: the floor app with Flask-WTF's CSRF token issued by a GET
and checked by the POST, which does the floor's one insert. It is the least any form with a
CSRF round trip can cost on this server; where it lands near half the floor, the application's
form, which also validates, looks up the counter and officer and stores a whole response,
cannot reach that goal.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 16
WORKERS = 2
FLOOR_APP = '''
import sqlite3, os
from flask import Flask, request
app = Flask(__name__)
DB = os.environ["FLOOR_DB"]
def connect():
    c = sqlite3.connect(DB, isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL"); c.execute("PRAGMA synchronous=FULL")
    c.execute("PRAGMA busy_timeout=5000")
    return c
with connect() as c:
    c.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
conn = None
@app.post("/insert")
def insert():
    global conn
    conn = conn or connect()
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO t (body) VALUES (?)", (request.get_data(as_text=True),))
    conn.execute("COMMIT")
    return "", 201
'''
def derive(text: str, *changes: tuple[str, str]) -> str:
    """``text`` with each (old, new) replaced; an old part that is missing stops the run."""
    for old, new in changes:
        if old not in text:
            raise RuntimeError(f"bench: {old!r} is no longer in the floor app")
        text = text.replace(old, new)
    return text


# The least a form with a CSRF round trip can cost here: the floor app with Flask-WTF's CSRF
# token issued by a GET and checked on the POST, which does the floor's one insert. It runs
# beside the application's form as a reference and has no goal of its own.
BARE_FORM_APP = derive(
    FLOOR_APP,
    ("app = Flask(__name__)\n", '''app = Flask(__name__)
app.secret_key = "bench-secret-key-0123456789"
from flask_wtf.csrf import CSRFProtect, generate_csrf
CSRFProtect(app)
@app.get("/form")
def page():
    return f'<form method=post><input name="csrf_token" value="{generate_csrf()}"></form>'
'''),
    ('@app.post("/insert")', '@app.post("/form")'),
    ('return "", 201', 'return "", 303, {"Location": "/thanks"}'),
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(port: int, path: str = "/healthz", timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server on port {port} did not start")


def gunicorn(app_spec: str, port: int, env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        [sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--bind",
         f"127.0.0.1:{port}", "--log-level", "warning", app_spec],
        cwd=cwd, env={**os.environ, **env},
    )


def workers(server: subprocess.Popen[bytes]) -> list[str]:
    """The process ids of a gunicorn master's workers."""
    return Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()


def cpu_seconds(server: subprocess.Popen[bytes]) -> float:
    """CPU time (user + system) used so far by a gunicorn master's worker processes."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in workers(server):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / ticks


def load(port: int, total: int, one: Callable[[http.client.HTTPConnection, int], None],
         server: subprocess.Popen[bytes] | None = None) -> Load:
    """Run ``total`` operations from CLIENTS threads; measure rate, latencies and CPU."""
    latencies: list[float] = []
    lock = threading.Lock()
    per_client = total // CLIENTS
    errors: list[BaseException] = []

    def client(index: int) -> None:
        mine = []
        try:
            for i in range(per_client):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                started = time.perf_counter()
                one(conn, index * per_client + i)
                mine.append((time.perf_counter() - started) * 1000)
                conn.close()
        except BaseException as exc:  # reported below; a failed run must not look fast
            errors.append(exc)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    pids = workers(server) if server else []
    workers_before = cpu_seconds(server) if server else 0.0
    client_before = time.process_time()
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    client_cpu = time.process_time() - client_before
    workers_cpu = cpu_seconds(server) - workers_before if server else 0.0
    if server and set(workers(server)) != set(pids):
        # A worker that died took its CPU time with it: the figure would flatter.
        raise RuntimeError("a gunicorn worker was replaced during the run; run again")
    if errors:
        raise RuntimeError(f"{len(errors)} client(s) failed: {errors[0]!r}")
    n = len(latencies)
    return Load(n / elapsed, latencies, workers_cpu / n * 1000, client_cpu / n * 1000)


@dataclass(frozen=True)
class Load:
    """One scenario's run: operations per second, latencies (ms), CPU ms per operation of
    the server's workers and of this load generator."""

    rate: float
    latencies: list[float]
    worker_cpu_ms: float
    client_cpu_ms: float


def expect(response: http.client.HTTPResponse, status: int) -> bytes:
    body = response.read()
    if response.status != status:
        raise RuntimeError(f"expected {status}, got {response.status}: {body[:200]!r}")
    return body


def floor_op(conn: http.client.HTTPConnection, i: int) -> None:
    conn.request("POST", "/insert", body=json.dumps({"i": i}),
                 headers={"Content-Type": "application/json"})
    expect(conn.getresponse(), 201)


def api_op(token: str) -> Callable[[http.client.HTTPConnection, int], None]:
    def op(conn: http.client.HTTPConnection, i: int) -> None:
        body = {"id": str(uuid.uuid4()), "token": token,
                "answers": {f"U{k}": 1 + (i + k) % 4 for k in range(1, 10)},
                "wait_band": "15-30", "comment": None}
        conn.request("POST", "/api/v1/responses", body=json.dumps(body),
                     headers={"Content-Type": "application/json"})
        expect(conn.getresponse(), 201)
    return op


def form_op(path: str) -> Callable[[http.client.HTTPConnection, int], None]:
    """GET the page (CSRF token, ticket if any, cookies), then POST the answers: one
    submission, on a new connection each (gunicorn's sync workers keep none alive)."""
    def op(conn: http.client.HTTPConnection, i: int) -> None:
        conn.request("GET", path)
        response = conn.getresponse()
        html = expect(response, 200).decode()
        cookies = "; ".join(c.split(";", 1)[0] for c in response.headers.get_all("Set-Cookie")
                            or [])
        fields = dict(re.findall(r'name="(csrf_token|t)" value="([^"]+)"', html))
        if "csrf_token" not in fields:
            raise RuntimeError(f"no CSRF token in the page at {path}")
        form = {**fields, **{f"U{k}": str(1 + (i + k) % 4) for k in range(1, 10)},
                "wait_band": "5-15"}
        body = "&".join(f"{k}={v}" for k, v in form.items())
        conn.close()
        conn.connect()
        conn.request("POST", path, body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookies})
        expect(conn.getresponse(), 303)
    return op


def report(name: str, run: Load, floor: float | None) -> None:
    ordered = sorted(run.latencies)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    versus = f"  {run.rate / floor:5.0%} of floor" if floor else ""
    print(f"  {name:<32} {run.rate:8.1f}/s  p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  "
          f"cpu/op workers {run.worker_cpu_ms:5.2f} ms client {run.client_cpu_ms:5.2f} ms"
          f"{versus}", flush=True)


def prepare_app(workdir: Path, database_url: str) -> tuple[dict[str, str], str]:
    env = {"DATABASE_URL": database_url, "INSTANCE_DIR": str(workdir / "instance"),
           "SECRET_KEY": "bench-secret-key-0123456789", "APP_ENV": "production",
           "RATE_LIMIT_SUBMIT": "1000000 per minute"}
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    run_env = {**os.environ, **env, "APP_ENV": "development"}
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=run_env, check=True,  # noqa: S603
                   capture_output=True)
    subprocess.run([*flask, "demo"], cwd=ROOT, env=run_env, check=True,  # noqa: S603
                   capture_output=True)
    counters = json.loads(subprocess.run(  # noqa: S603
        [*flask, "counters", "--json"], cwd=ROOT, env=run_env, check=True,
        capture_output=True).stdout)
    token = counters[0]["url"].rsplit("/", 1)[1]
    return env, token


@dataclass
class Served:
    """One gunicorn server under test and the scenarios run against it."""

    label: str
    server: subprocess.Popen[bytes]
    port: int
    scenarios: list[tuple[str, Callable[[http.client.HTTPConnection, int], None], int]]
    goal: bool = True  # False: a reference printed beside the others, with no verdict


def serve_app(label: str, database_url: str, workdir: Path, total: int) -> Served:
    env, token = prepare_app(workdir, database_url)
    port = free_port()
    server = gunicorn("app:create_app()", port, env, ROOT)
    wait_for(port)
    return Served(label, server, port, [
        (f"API POST ({label})", api_op(token), total),
        (f"form GET+POST ({label})", form_op(f"/s/{token}"), total // 2)])


def serve_bare_form(workdir: Path, total: int) -> Served:
    (workdir / "bare_form_app.py").write_text(BARE_FORM_APP)
    port = free_port()
    server = gunicorn("bare_form_app:app", port, {"FLOOR_DB": str(workdir / "bare_form.db")},
                      workdir)
    wait_for(port, "/")
    return Served("reference", server, port, [
        ("reference: bare form GET+POST", form_op("/form"), total // 2)], goal=False)


def main() -> int:
    """Run the rounds and print the verdicts; non-zero when a scenario misses the goal."""
    total = int(os.environ.get("BENCH_REQUESTS", "1600"))
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    print(f"gunicorn {WORKERS} sync workers, {CLIENTS} concurrent clients, {total} requests "
          f"per scenario (form: {total // 2} submissions); {os.cpu_count()} cores; {rounds} "
          f"rounds, each measuring the floor again just before the application")
    ratios: dict[str, list[float]] = {}
    goals: dict[str, bool] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (workdir / "floor_app.py").write_text(FLOOR_APP)
        port = free_port()
        floor_server = gunicorn("floor_app:app", port, {"FLOOR_DB": str(workdir / "floor.db")},
                                workdir)
        served: list[Served] = []
        try:
            wait_for(port, "/")
            served.append(serve_app("SQLite", f"sqlite:///{workdir / 'bench.db'}", workdir,
                                    total))
            served.append(serve_bare_form(workdir, total))
            pg = os.environ.get("BENCH_PG_URL")
            if pg:
                served.append(serve_app("PostgreSQL", pg, workdir / "pg", total))
            for number in range(1, rounds + 1):
                print(f"round {number}")
                for app in served:
                    floor = load(port, total, floor_op, floor_server)
                    report("floor: bare Flask + 1 SQLite insert", floor, None)
                    for name, op, count in app.scenarios:
                        run = load(app.port, count, op, app.server)
                        report(name, run, floor.rate)
                        ratios.setdefault(name, []).append(run.rate / floor.rate)
                        goals[name] = app.goal
        finally:
            for server in [floor_server, *(app.server for app in served)]:
                server.terminate()
                server.wait()
    print(f"median of {rounds} rounds, each against the floor measured just before it "
          "(goal: at least 50%)")
    missed = 0
    for name, values in ratios.items():
        median = statistics.median(values)
        spread = ", ".join(f"{v:.0%}" for v in values)
        verdict = ("PASS" if median >= 0.5 else "FAIL") if goals[name] else "no goal"
        missed += goals[name] and median < 0.5
        print(f"  {name:<32} {median:5.0%} of floor  ({verdict}; rounds: {spread})")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
