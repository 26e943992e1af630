"""Submissions per second, and latency at a fixed arrival rate, under gunicorn (2 workers).

Run: ``.venv/bin/python -m bench.throughput``. Settings (environment variables; the run prints
the ones it used):

- ``BENCH_REQUESTS`` (default 600): requests per closed-loop scenario (form: half as many
  submissions); ``BENCH_ROUNDS`` (default 3);
- ``BENCH_OPEN_RATE`` (default 50 per second) and ``BENCH_OPEN_SECONDS`` (default 20): the
  open-loop phase; ``BENCH_OPEN_SECONDS=0`` skips it;
- ``BENCH_BEFORE=<git revision>`` (e.g. ``0c10c88``): also serve that revision of the
  application, exported into a temporary directory and run with this interpreter, so before
  and after are measured in the same run, interleaved, against the same floors;
- ``BENCH_PG_URL``: also run the current application on PostgreSQL.

Throughput (closed loop, 16 clients, each sending its next request when the last one is
answered). The floor is a bare Flask app doing one SQLite INSERT per request with the same
durability settings (WAL, synchronous=FULL, busy_timeout). A form submission is two requests
(the GET that issues the CSRF token, the POST), each on a new connection (gunicorn's sync
workers keep none alive), so the form is compared with its own reference: the floor app with
Flask-WTF's CSRF token issued by a GET and checked by the POST, which does the floor's one
insert. This machine's speed drifts by a third within minutes, so each round measures the
floor again just before each application's API and the reference just before its form; the
verdict is the median of the rounds' ratios. Goals (issue 12): the API at least 25% of the
floor, the form at least 60% of the bare form. Beside each rate: the CPU the server's workers
and this load generator spent per operation, steadier than the rates.

Latency (open loop): submissions are sent on a fixed schedule (``BENCH_OPEN_RATE`` a second)
whatever the server answers, from a pool of threads, and each latency is counted from the
time the submission was due, not from when a free thread sent it, so queueing counts (no
coordinated omission). A form submission is the GET and the POST. Goal: p99 at most 50 ms for
the API and for the form, with every submission answered; the floor and the bare form at the
same rate are printed beside them.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import queue
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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 16
WORKERS = 2
API_GOAL = 0.25  # of the floor's rate
FORM_GOAL = 0.6  # of the bare form's rate
OPEN_P99_GOAL_MS = 50.0
OPEN_POOL = 64  # threads sending the open loop's submissions; idle ones wait for the next due
OPEN_TIMEOUT_S = 10
WARM_UP = CLIENTS * 2  # operations of each kind before anything is timed
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


def gunicorn(app_spec: str, port: int, env: dict[str, str], cwd: Path,
             log: IO[bytes] | None = None) -> subprocess.Popen[bytes]:
    """``app_spec`` served by gunicorn with WORKERS sync workers, as the container starts it;
    its messages go to ``log`` when one is given."""
    return subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        [sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--bind",
         f"127.0.0.1:{port}", "--log-level", "warning", app_spec],
        cwd=cwd, env={**os.environ, **env}, stdout=log,
        stderr=subprocess.STDOUT if log is not None else None,
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


def api_op(token: str, auth: dict[str, str]
           ) -> Callable[[http.client.HTTPConnection, int], None]:
    """POST one answer to the API at ``token``'s counter, as an integration (``auth``)."""
    def op(conn: http.client.HTTPConnection, i: int) -> None:
        body = {"id": str(uuid.uuid4()), "token": token,
                "answers": {f"U{k}": 1 + (i + k) % 4 for k in range(1, 10)},
                "wait_band": "15-30", "comment": None}
        conn.request("POST", "/api/v1/responses", body=json.dumps(body),
                     headers={"Content-Type": "application/json", **auth})
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


def percentile(ordered: list[float], q: float) -> float:
    """The nearest-rank ``q`` quantile (0 < q <= 1) of sorted values."""
    return ordered[max(0, min(len(ordered) - 1, math.ceil(len(ordered) * q) - 1))]


def report(name: str, run: Load, reference: float | None, against: str = "floor") -> None:
    ordered = sorted(run.latencies)
    versus = f"  {run.rate / reference:5.0%} of {against}" if reference else ""
    print(f"  {name:<34} {run.rate:8.1f}/s  p50 {percentile(ordered, 0.5):7.1f} ms  "
          f"p99 {percentile(ordered, 0.99):7.1f} ms  cpu/op workers {run.worker_cpu_ms:5.2f} ms "
          f"client {run.client_cpu_ms:5.2f} ms{versus}", flush=True)


@dataclass(frozen=True)
class OpenLoop:
    """One open-loop run: what was due, answered and failed, latencies (ms) from the due time."""

    sent: int
    latencies: list[float]
    errors: int
    first_error: str | None
    max_send_lag_ms: float  # how late a free thread picked up a due submission, at worst


def open_loop(port: int, rate: float, seconds: float,
              one: Callable[[http.client.HTTPConnection, int], None]) -> OpenLoop:
    """Send ``rate`` operations a second for ``seconds`` on a fixed schedule, whatever the
    answers; each latency counts from the operation's due time."""
    total = max(1, round(rate * seconds))
    due_queue: queue.SimpleQueue[tuple[int, float] | None] = queue.SimpleQueue()
    latencies: list[float] = []
    lags: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = time.perf_counter() + 0.2

    def dispatcher() -> None:
        for i in range(total):
            due = start + i / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            due_queue.put((i, due))
        for _ in range(OPEN_POOL):
            due_queue.put(None)

    def worker() -> None:
        while (job := due_queue.get()) is not None:
            i, due = job
            lag = time.perf_counter() - due
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=OPEN_TIMEOUT_S)
            try:
                one(conn, i)
                done = (time.perf_counter() - due) * 1000
                with lock:
                    latencies.append(done)
                    lags.append(lag * 1000)
            except Exception as exc:  # counted and shown: a failed submission is not fast
                with lock:
                    errors.append(repr(exc))
                    lags.append(lag * 1000)
            finally:
                conn.close()

    threads = [threading.Thread(target=worker) for _ in range(OPEN_POOL)]
    threads.append(threading.Thread(target=dispatcher))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return OpenLoop(total, latencies, len(errors), errors[0] if errors else None,
                    max(lags, default=0.0))


def report_open(name: str, run: OpenLoop) -> None:
    ordered = sorted(run.latencies)
    if ordered:
        figures = "  ".join(f"{label} {percentile(ordered, q):7.1f}" for label, q in
                            (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))) + \
            f"  max {ordered[-1]:7.1f} ms"
    else:
        figures = "no answers"
    print(f"  {name:<34} {figures}  sent {run.sent} completed {len(ordered)} errors "
          f"{run.errors}  (worst send lag {run.max_send_lag_ms:.1f} ms)", flush=True)
    if run.first_error:
        print(f"    first error: {run.first_error[:200]}")


def open_loop_met(run: OpenLoop) -> bool:
    """The latency goal: every submission answered, p99 at most OPEN_P99_GOAL_MS."""
    ordered = sorted(run.latencies)
    return (not run.errors and len(ordered) == run.sent
            and percentile(ordered, 0.99) <= OPEN_P99_GOAL_MS)


def export_revision(revision: str, target: Path) -> Path:
    """The tracked files of ``revision`` of this repository, unpacked into ``target``."""
    target.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision],  # noqa: S603,S607
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive,  # noqa: S603,S607
                   check=True)
    return target


def cli_env(env: dict[str, str]) -> dict[str, str]:
    """The environment of a ``flask`` command beside a server started with ``env``."""
    return {**os.environ, **env, "APP_ENV": "development"}


def flask_cli(tree: Path, run_env: dict[str, str], *args: str) -> bytes:
    """``flask --app app ARGS`` run with the code of ``tree``; what it printed."""
    return subprocess.run(  # noqa: S603 (our own interpreter and arguments)
        [sys.executable, "-m", "flask", "--app", "app", *args], cwd=tree, env=run_env,
        check=True, capture_output=True).stdout


def prepare_app(workdir: Path, database_url: str, tree: Path = ROOT
                ) -> tuple[dict[str, str], str, dict[str, str]]:
    """Migrate and seed a database with the code of ``tree``; its server's environment, the
    demo's first counter token and the headers of an integration that submits through the
    API. ``app`` resolves to ``tree`` (cwd and PYTHONPATH)."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {"DATABASE_URL": database_url, "INSTANCE_DIR": str(workdir / "instance"),
           "SECRET_KEY": "bench-secret-key-0123456789", "APP_ENV": "production",
           "RATE_LIMIT_SUBMIT": "1000000 per minute", "PYTHONPATH": str(tree)}
    run_env = cli_env(env)

    def flask(*args: str) -> bytes:
        return flask_cli(tree, run_env, *args)

    where = subprocess.run(  # noqa: S603
        [sys.executable, "-c", "import app; print(app.__file__)"], cwd=tree, env=run_env,
        check=True, capture_output=True, text=True).stdout.strip()
    if not Path(where).resolve().is_relative_to(tree.resolve()):
        raise RuntimeError(f"bench: `app` resolves to {where}, not to {tree}")
    flask("db", "upgrade")
    flask("demo")
    counters = json.loads(flask("counters", "--json"))
    token = counters[0]["url"].rsplit("/", 1)[1]
    return env, token, integration_headers(tree, run_env)


def integration_headers(tree: Path, run_env: dict[str, str]) -> dict[str, str]:
    """The Authorization header of a new integration token; none for a revision before
    integration tokens (its API took submissions without a credential)."""
    made = subprocess.run(  # noqa: S603 (our own interpreter and arguments)
        [sys.executable, "-m", "flask", "--app", "app", "tokens", "create", "--integration",
         "bench"], cwd=tree, env=run_env, check=False, capture_output=True, text=True)
    if made.returncode != 0 and "no such option" in made.stderr.lower():
        return {}
    if made.returncode != 0:
        raise RuntimeError(f"bench: tokens create --integration failed: {made.stderr}")
    return {"Authorization": f"Bearer {made.stdout.strip()}"}


@dataclass
class Served:
    """One application under test: its server, port and the operations run against it."""

    label: str
    server: subprocess.Popen[bytes]
    port: int
    api: Callable[[http.client.HTTPConnection, int], None]
    form: Callable[[http.client.HTTPConnection, int], None]
    goal: bool  # False: printed beside the others (the revision before), with no verdict


def serve_app(label: str, database_url: str, workdir: Path, tree: Path = ROOT,
              goal: bool = True) -> Served:
    env, token, auth = prepare_app(workdir, database_url, tree)
    port = free_port()
    server = gunicorn("app:create_app()", port, env, tree)
    wait_for(port)
    return Served(label, server, port, api_op(token, auth), form_op(f"/s/{token}"), goal)


def warm_up(port: int, *ops: Callable[[http.client.HTTPConnection, int], None]) -> None:
    """A few operations of each kind first, so every worker has imported, connected and
    compiled its templates before anything is timed."""
    for op in ops:
        load(port, WARM_UP, op)


def serve_plain(source: str, module: str, workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """A one-file app (the floor or the bare form) under gunicorn, on its own database."""
    (workdir / f"{module}.py").write_text(source)
    port = free_port()
    server = gunicorn(f"{module}:app", port, {"FLOOR_DB": str(workdir / f"{module}.db")},
                      workdir)
    wait_for(port, "/")
    return server, port


def settings() -> dict[str, str]:
    return {
        "requests": os.environ.get("BENCH_REQUESTS", "600"),
        "rounds": os.environ.get("BENCH_ROUNDS", "3"),
        "open_rate": os.environ.get("BENCH_OPEN_RATE", "50"),
        "open_seconds": os.environ.get("BENCH_OPEN_SECONDS", "20"),
        "before": os.environ.get("BENCH_BEFORE", ""),
    }


def main() -> int:
    """Run the rounds and the open loop, print before and after; non-zero when a goal is missed."""
    chosen = settings()
    total, rounds = int(chosen["requests"]), int(chosen["rounds"])
    rate, seconds = float(chosen["open_rate"]), float(chosen["open_seconds"])
    before = chosen["before"]
    began = time.monotonic()
    print(f"gunicorn {WORKERS} sync workers; {os.cpu_count()} cores. Closed loop: {CLIENTS} "
          f"clients, BENCH_REQUESTS={total} requests per scenario (form: {total // 2} "
          f"submissions), BENCH_ROUNDS={rounds}. Open loop: BENCH_OPEN_RATE={rate:g}/s for "
          f"BENCH_OPEN_SECONDS={seconds:g} s, {OPEN_POOL} sending threads. "
          f"BENCH_BEFORE={before or '(not set: after only)'}", flush=True)
    api_ratios: dict[str, list[float]] = {}
    form_ratios: dict[str, list[float]] = {}
    rates: dict[str, list[float]] = {}
    open_runs: dict[str, OpenLoop] = {}
    servers: list[subprocess.Popen[bytes]] = []
    apps: list[Served] = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        try:
            floor_server, floor_port = serve_plain(FLOOR_APP, "floor_app", workdir)
            servers.append(floor_server)
            bare_server, bare_port = serve_plain(BARE_FORM_APP, "bare_form_app", workdir)
            servers.append(bare_server)
            wanted = [("after", workdir / "after", ROOT, True)]
            if before:
                wanted.append((f"before {before}", workdir / "before",
                               export_revision(before, workdir / "before-tree"), False))
            with ThreadPoolExecutor() as pool:  # migrating and seeding take a while: at once
                started = [pool.submit(serve_app, label, f"sqlite:///{folder / 'bench.db'}",
                                       folder, tree, goal)
                           for label, folder, tree, goal in wanted]
                for future in started:
                    apps.append(future.result())
                    servers.append(apps[-1].server)
            pg = os.environ.get("BENCH_PG_URL")
            if pg:
                apps.append(serve_app("after, PostgreSQL", pg, workdir / "pg"))
                servers.append(apps[-1].server)
            warm_up(floor_port, floor_op)
            warm_up(bare_port, form_op("/form"))
            for app in apps:
                warm_up(app.port, app.api, app.form)
            print(f"set up in {time.monotonic() - began:.0f} s", flush=True)

            for number in range(1, rounds + 1):
                print(f"round {number}")
                for app in apps:
                    floor = load(floor_port, total, floor_op, floor_server)
                    report("floor: bare Flask + 1 insert", floor, None)
                    api = load(app.port, total, app.api, app.server)
                    report(f"API POST ({app.label})", api, floor.rate)
                    bare = load(bare_port, total // 2, form_op("/form"), bare_server)
                    report("bare form GET+POST", bare, None)
                    form = load(app.port, total // 2, app.form, app.server)
                    report(f"form GET+POST ({app.label})", form, bare.rate, "bare form")
                    api_ratios.setdefault(app.label, []).append(api.rate / floor.rate)
                    form_ratios.setdefault(app.label, []).append(form.rate / bare.rate)
                    for key, value in (("floor", floor.rate), ("bare form", bare.rate),
                                       (f"API {app.label}", api.rate),
                                       (f"form {app.label}", form.rate)):
                        rates.setdefault(key, []).append(value)

            if seconds > 0:
                print(f"open loop: {rate:g} submissions/s for {seconds:g} s each, latency from "
                      "the due time", flush=True)
                plan: list[tuple[str, int, Callable[[http.client.HTTPConnection, int], None]]]
                plan = [("floor: bare Flask + 1 insert", floor_port, floor_op),
                        ("bare form GET+POST", bare_port, form_op("/form"))]
                for app in apps:
                    plan += [(f"API POST ({app.label})", app.port, app.api),
                             (f"form GET+POST ({app.label})", app.port, app.form)]
                for name, port, op in plan:
                    open_runs[name] = open_loop(port, rate, seconds, op)
                    report_open(name, open_runs[name])
        finally:
            for server in servers:
                server.terminate()
                server.wait()

    missed = summary(apps, api_ratios, form_ratios, rates, open_runs, rounds)
    print(f"whole run: {time.monotonic() - began:.0f} s")
    return 1 if missed else 0


def summary(apps: list[Served], api_ratios: dict[str, list[float]],
            form_ratios: dict[str, list[float]], rates: dict[str, list[float]],
            open_runs: dict[str, OpenLoop], rounds: int) -> int:
    """Print the side-by-side verdicts; the number of goals missed."""
    missed = 0
    print(f"\nthroughput, median of {rounds} round(s); goals: API >= {API_GOAL:.0%} of the "
          f"floor, form >= {FORM_GOAL:.0%} of the bare form (median rates: floor "
          f"{statistics.median(rates['floor']):.1f}/s, bare form "
          f"{statistics.median(rates['bare form']):.1f}/s)")
    for app in apps:
        for kind, ratios, goal, against in (("API", api_ratios, API_GOAL, "floor"),
                                            ("form", form_ratios, FORM_GOAL, "bare form")):
            values = ratios[app.label]
            median = statistics.median(values)
            verdict = ("PASS" if median >= goal else "FAIL") if app.goal else "no goal"
            missed += app.goal and median < goal
            spread = ", ".join(f"{v:.0%}" for v in values)
            name = f"{kind} ({app.label})"
            print(f"  {name:<34} {statistics.median(rates[f'{kind} {app.label}']):8.1f}/s  "
                  f"{median:5.0%} of {against:<9}  {verdict}  (rounds: {spread})")
    if open_runs:
        print(f"open loop, p99 goal <= {OPEN_P99_GOAL_MS:.0f} ms with every submission answered")
        for name, run in open_runs.items():
            ordered = sorted(run.latencies)
            p99 = f"{percentile(ordered, 0.99):7.1f} ms" if ordered else "   none"
            owner = next((a for a in apps if name.endswith(f"({a.label})")), None)
            if owner is None or not owner.goal:
                verdict = "no goal"
            else:
                verdict = "PASS" if open_loop_met(run) else "FAIL"
                missed += verdict == "FAIL"
            print(f"  {name:<34} p99 {p99}  completed {len(ordered)}/{run.sent}  {verdict}")
    return missed


if __name__ == "__main__":
    raise SystemExit(main())
