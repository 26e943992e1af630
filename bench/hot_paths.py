"""CPU per request of the citizens' hot paths, called in-process, against a bare floor.

Run: ``.venv/bin/python -m bench.hot_paths`` (``BENCH_REQUESTS``, default 1500 per path and
round; ``BENCH_PG_URL`` to also run the application on PostgreSQL).

``bench.throughput`` measures rates through gunicorn and a load generator on the same two
cores, which swing with whatever else the machine does. This calls the WSGI applications
directly, one request after another, and prints the process CPU time per request (the best
of three rounds): the API POST, the survey page GET and the form POST (with the CSRF token
and cookies of a GET before it), beside the floor of ``bench.throughput`` (a bare Flask app
doing one SQLite insert with the same durability settings) measured in the same run.
Nothing here has a goal of its own; it says where a submission's time goes.

With ``BENCH_BEFORE=<git revision>`` (e.g. ``0c10c88``) the same figures are then printed for
that revision, exported into a temporary directory and measured by its own ``bench.hot_paths``
in a process of its own (its floor measured again there).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from werkzeug.test import EnvironBuilder

from bench.throughput import FLOOR_APP, export_revision, prepare_app

Environ = dict[str, Any]
WSGI = Callable[[Environ, Callable[..., Any]], Iterable[bytes]]
ROUNDS = 3
CLIENT: dict[str, Any] = {"REMOTE_ADDR": "10.0.0.1"}


def call(app: WSGI, environ: Environ, status: str) -> tuple[bytes, list[tuple[str, str]]]:
    """One request; its body and headers. A status other than ``status`` stops the run."""
    seen: dict[str, Any] = {}

    def start_response(got: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        seen.update(status=got, headers=headers)

    body = b"".join(app(environ, start_response))
    if not seen["status"].startswith(status):
        raise RuntimeError(f"expected {status}, got {seen['status']}: {body[:200]!r}")
    return body, seen["headers"]


def cpu_per_request(app: WSGI, environs: list[Environ], status: str) -> float:
    """Process CPU milliseconds per request over ``environs`` (each used once)."""
    started = time.process_time()
    for environ in environs:
        call(app, environ, status)
    return (time.process_time() - started) / len(environs) * 1000


def best(measure: Callable[[], float]) -> float:
    return min(measure() for _ in range(ROUNDS))


def post_json(path: str, body: object, auth: dict[str, str] | None = None) -> Environ:
    return EnvironBuilder(path=path, method="POST", data=json.dumps(body),
                          headers=[("Content-Type", "application/json"),
                                   *(auth or {}).items()],
                          environ_base=CLIENT).get_environ()


def page_get(token: str) -> Environ:
    return EnvironBuilder(path=f"/s/{token}", headers=[("Accept-Encoding", "gzip")],
                          environ_base=CLIENT).get_environ()


def form_posts(app: WSGI, token: str, count: int) -> list[Environ]:
    """Form POSTs, each with the CSRF token, ticket and cookies of a fresh GET."""
    environs = []
    for i in range(count):
        body, headers = call(app, page_get(token), "200")
        html = gzip.decompress(body).decode()
        cookies = "; ".join(v.split(";", 1)[0] for k, v in headers if k == "Set-Cookie")
        form = {**dict(re.findall(r'name="(csrf_token|t)" value="([^"]+)"', html)),
                **{f"U{k}": str(1 + (i + k) % 4) for k in range(1, 10)}, "wait_band": "5-15"}
        environs.append(EnvironBuilder(
            path=f"/s/{token}", method="POST", data=form, headers=[("Cookie", cookies)],
            environ_base=CLIENT).get_environ())
    return environs


def floor_cpu(workdir: Path, count: int) -> float:
    (workdir / "floor_app.py").write_text(FLOOR_APP)
    os.environ["FLOOR_DB"] = str(workdir / "floor.db")
    sys.path.insert(0, str(workdir))
    import floor_app  # type: ignore[import-not-found]  # written just above

    app: WSGI = floor_app.app
    return best(lambda: cpu_per_request(
        app, [post_json("/insert", {"i": i}) for i in range(count)], "201"))


def app_cpu(label: str, database_url: str, workdir: Path, count: int) -> dict[str, float]:
    env, token, auth = prepare_app(workdir, database_url)
    os.environ.update(env)
    from app import create_app

    app = create_app()
    answers = {f"U{k}": 1 + k % 4 for k in range(1, 10)}

    def api() -> float:
        return cpu_per_request(app, [post_json("/api/v1/responses", {
            "id": str(uuid.uuid4()), "token": token, "answers": answers,
            "wait_band": "15-30"}, auth) for _ in range(count)], "201")

    figures = {
        f"API POST ({label})": best(api),
        f"survey page GET ({label})": best(
            lambda: cpu_per_request(app, [page_get(token) for _ in range(count)], "200")),
        f"form POST ({label})": best(
            lambda: cpu_per_request(app, form_posts(app, token, count), "303")),
    }
    app.extensions["suara.db"].dispose()
    return figures


def main() -> int:
    count = int(os.environ.get("BENCH_REQUESTS", "1500"))
    print(f"process CPU per request, in-process WSGI calls, best of {ROUNDS} rounds of {count}")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        floor = floor_cpu(workdir, count)
        print(f"  {'floor: bare Flask + 1 SQLite insert':<34} {floor:6.3f} ms")
        runs = [("SQLite", f"sqlite:///{workdir / 'bench.db'}", workdir / "sqlite")]
        if os.environ.get("BENCH_PG_URL"):
            runs.append(("PostgreSQL", os.environ["BENCH_PG_URL"], workdir / "pg"))
        for label, url, folder in runs:
            for name, ms in app_cpu(label, url, folder, count).items():
                print(f"  {name:<34} {ms:6.3f} ms  ({ms / floor:4.1f} x floor)", flush=True)
        revision = os.environ.get("BENCH_BEFORE")
        if revision:
            tree = export_revision(revision, workdir / "before-tree")
            print(f"before ({revision}), measured by its own bench.hot_paths:", flush=True)
            subprocess.run(  # noqa: S603 (our own interpreter and arguments)
                [sys.executable, "-m", "bench.hot_paths"], cwd=tree, check=True,
                env={**os.environ, "BENCH_BEFORE": "", "PYTHONPATH": str(tree)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
