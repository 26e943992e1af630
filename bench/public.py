"""The public page under 200 concurrent readers, beside ``/healthz`` in the same run.

Run: ``.venv/bin/python -m bench public`` (or ``-m bench.public``). Settings: ``BENCH_READERS``
(default 200), ``BENCH_REQUESTS`` (requests per reader and target, default 10),
``BENCH_ROUNDS`` (default 2), ``BENCH_WEEKS`` (demo history, default 16, so that the last
complete quarter has responses to publish).

A temporary SQLite database gets the demo Kotabumi with its history; the demo publishes
each unit's last complete quarter and two improvement actions, so ``/`` shows what a
regency's front page shows. The application then runs under gunicorn (2 sync workers, as
the container starts it). ``BENCH_READERS`` threads start together (a barrier) and each
sends ``BENCH_REQUESTS`` GETs, one new connection each (sync workers keep none alive), with
``Accept-Encoding: gzip`` as browsers send it; every latency counts, queueing included.
Per round: ``/healthz`` (the floor: one database round trip, nothing rendered), ``/``, and
``/`` revalidated with its ETag (the 304 a browser or proxy gets after ``max-age``).
Printed: p50/p95/p99/max, requests per second, errors, and the page's compressed bytes.
No goal is asserted: the figures are for reading beside the floor.
"""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.throughput import ROOT, WORKERS, free_port, gunicorn, percentile, wait_for


@dataclass
class Run:
    """One target's run: latencies (ms) of the answers with the expected status, the
    failures, and the wall time of the whole run."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""
    seconds: float = 0.0


def settings() -> dict[str, int]:
    return {"readers": int(os.environ.get("BENCH_READERS", "200")),
            "requests": int(os.environ.get("BENCH_REQUESTS", "10")),
            "rounds": int(os.environ.get("BENCH_ROUNDS", "2")),
            "weeks": int(os.environ.get("BENCH_WEEKS", "16"))}


def prepare(workdir: Path, weeks: int) -> dict[str, str]:
    """A migrated SQLite database with the demo and its published quarter; the server's
    environment."""
    env = {"DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
           "INSTANCE_DIR": str(workdir / "instance"),
           "SECRET_KEY": "bench-secret-key-0123456789", "APP_ENV": "production",
           "PYTHONPATH": str(ROOT)}
    run_env = {**os.environ, **env, "APP_ENV": "development"}
    for args in (("db", "upgrade"), ("demo", "--weeks", str(weeks))):
        subprocess.run(  # noqa: S603 (our own interpreter and arguments)
            [sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=run_env,
            check=True, capture_output=True)
    return env


def get(port: int, path: str, headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, response.read(), dict(response.getheaders())
    finally:
        conn.close()


def readers(port: int, path: str, headers: dict[str, str], expected: int, count: int,
            each: int) -> Run:
    """``count`` threads released together, ``each`` GETs of ``path`` apiece."""
    run, lock = Run(), threading.Lock()
    gate = threading.Barrier(count + 1)

    def reader() -> None:
        mine: list[float] = []
        failed, first = 0, ""
        gate.wait()
        for _ in range(each):
            started = time.perf_counter()
            try:
                status, _body, _headers = get(port, path, headers)
            except OSError as exc:
                failed, first = failed + 1, first or repr(exc)
                continue
            if status != expected:
                failed, first = failed + 1, first or f"HTTP {status}"
                continue
            mine.append((time.perf_counter() - started) * 1000)
        with lock:
            run.latencies.extend(mine)
            run.errors += failed
            run.first_error = run.first_error or first

    threads = [threading.Thread(target=reader) for _ in range(count)]
    for thread in threads:
        thread.start()
    gate.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    run.seconds = time.perf_counter() - began
    return run


def report(name: str, run: Run) -> None:
    ordered = sorted(run.latencies)
    if not ordered:
        print(f"  {name:<28} no answers; errors {run.errors}: {run.first_error}")
        return
    figures = "  ".join(f"{label} {percentile(ordered, q):7.1f} ms" for label, q in
                        (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)))
    print(f"  {name:<28} {figures}  max {ordered[-1]:7.1f} ms  "
          f"{len(ordered) / run.seconds:7.1f}/s  errors {run.errors}"
          + (f" ({run.first_error})" if run.errors else ""), flush=True)


def main() -> int:
    """Seed, serve, and print the rounds."""
    chosen = settings()
    count, each = chosen["readers"], chosen["requests"]
    gzip_only = {"Accept-Encoding": "gzip"}
    print(f"gunicorn {WORKERS} sync workers; {os.cpu_count()} cores; SQLite. "
          f"BENCH_READERS={count} concurrent readers x BENCH_REQUESTS={each} GETs each, "
          f"BENCH_ROUNDS={chosen['rounds']}, demo BENCH_WEEKS={chosen['weeks']}.", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        began = time.monotonic()
        env = prepare(Path(tmp), chosen["weeks"])
        print(f"demo seeded and published in {time.monotonic() - began:.0f} s", flush=True)
        port = free_port()
        server = gunicorn("app:create_app()", port, env, ROOT)
        try:
            wait_for(port)
            status, page, headers = get(port, "/", gzip_only)
            front = get(port, "/", {})[1]
            units = front.count(b'href="/publik/') - front.count(b'href="/publik/data.csv')
            print(f"/: HTTP {status}, {len(page):,} bytes as sent "
                  f"({headers.get('Content-Encoding', 'identity')}), {units} published "
                  f"units; Cache-Control: {headers.get('Cache-Control')}", flush=True)
            revalidate = {**gzip_only, "If-None-Match": headers.get("ETag", "")}
            for path, hdrs in (("/healthz", gzip_only), ("/", gzip_only)):
                readers(port, path, hdrs, 200, min(count, 16), 4)  # warm every worker
            for round_number in range(1, chosen["rounds"] + 1):
                print(f"round {round_number}:", flush=True)
                report("/healthz (floor)", readers(port, "/healthz", gzip_only, 200, count,
                                                   each))
                report("/", readers(port, "/", gzip_only, 200, count, each))
                report("/ with its ETag (304)", readers(port, "/", revalidate, 304, count,
                                                        each))
        finally:
            server.terminate()
            server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
