"""Running the proof on each engine: the database, the kiosk, the faults, the verdict
(see bench/proof/__init__.py)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, func, make_url, select, text

from app.db import Database
from app.models import Response
from bench.proof.load import Target, account, post, run_clients
from bench.proof.server import Server
from bench.throughput import ROOT, WORKERS, cli_env, flask_cli, free_port, prepare_app

ENGINES = ("sqlite", "postgresql")
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
FAULT_AT = (0.2, 0.45, 0.7)  # worker, master, database: fractions of PROOF_SECONDS
FAULT_GAP = 2.0  # seconds of serving at least between two faults
PG_CUTS = 3
SQLITE_BUSY_MS = 5000  # the application's default busy timeout (SQLITE_BUSY_TIMEOUT_MS)


@dataclass(frozen=True)
class Options:
    engines: tuple[str, ...]
    clients: int
    seconds: float
    grace: float
    pg_url: str

    @classmethod
    def from_env(cls) -> Options:
        engines = tuple(e.strip() for e in os.environ.get("PROOF_ENGINES", ",".join(ENGINES))
                        .split(",") if e.strip())
        unknown = sorted(set(engines) - set(ENGINES))
        if unknown or not engines:
            raise SystemExit(f"PROOF_ENGINES: expected some of {', '.join(ENGINES)}, "
                             f"got {', '.join(unknown) or 'nothing'}")
        return cls(engines=engines,
                   clients=int(os.environ.get("PROOF_CLIENTS", "50")),
                   seconds=float(os.environ.get("PROOF_SECONDS", "30")),
                   grace=float(os.environ.get("PROOF_GRACE", "30")),
                   pg_url=os.environ.get("PROOF_PG_URL") or os.environ.get(
                       "TEST_DATABASE_URL") or DEFAULT_PG_URL)


@dataclass
class Outcome:
    """One engine's run: the faults done, the clients' figures, the verdict."""

    engine: str
    faults: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


@contextmanager
def pg_database(base_url: str) -> Iterator[str]:
    """A database of this run's own on the server of ``base_url``; dropped afterwards."""
    name = f"suara_proof_{os.getpid()}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(base_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def cut_postgresql(base_url: str, database_url: str) -> str:
    """Terminate every connection to the run's database, PG_CUTS times a second apart."""
    name = make_url(database_url).database
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    cut = []
    try:
        for number in range(PG_CUTS):
            if number:
                time.sleep(1)
            with admin.connect() as connection:
                cut.append(int(connection.execute(text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name}
                ).scalar_one()))
    finally:
        admin.dispose()
    if not sum(cut):
        raise RuntimeError("pg_terminate_backend found no connection of the app to cut")
    return f"pg_terminate_backend on the app's connections, {PG_CUTS} times 1 s apart: " \
           f"{'+'.join(map(str, cut))} connections cut"


def lock_sqlite(database_url: str) -> str:
    """Hold SQLite's write lock from another process a second past the busy timeout."""
    path = make_url(database_url).database
    assert path
    busy = int(os.environ.get("SQLITE_BUSY_TIMEOUT_MS", SQLITE_BUSY_MS)) / 1000
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        started = time.monotonic()
        connection.execute("BEGIN EXCLUSIVE")
        waited = time.monotonic() - started
        time.sleep(busy + 1)
        connection.execute("ROLLBACK")
    finally:
        connection.close()
    return f"write lock held by another process (BEGIN EXCLUSIVE) for {busy + 1:.0f} s, " \
           f"past the {busy:.0f} s busy timeout (got it after {waited:.1f} s)"


def first_counter(env: dict[str, str]) -> tuple[str, str]:
    """The unit and code of the demo's first counter in use."""
    counters = json.loads(flask_cli(ROOT, cli_env(env), "counters", "--json"))
    chosen = next(c for c in counters if c["active"])
    return chosen["unit"], chosen["counter"]


def add_kiosk(env: dict[str, str], unit: str, counter: str) -> tuple[int, str]:
    """A kiosk at ``counter``, added as an administrator does: its id and pairing code."""
    printed = flask_cli(ROOT, cli_env(env), "kiosks", "add", "--unit", unit, "--name",
                        "Proof kiosk", "--counter", counter).decode()
    kiosk = re.search(r"^kiosk (\d+):", printed, re.MULTILINE)
    code = re.search(r"^pairing code: (\d+)", printed, re.MULTILINE)
    if not kiosk or not code:
        raise RuntimeError(f"proof: unexpected output of `flask kiosks add`: {printed!r}")
    return int(kiosk.group(1)), code.group(1)


def pair(port: int, code: str) -> str:
    """Pair the kiosk through the API, as its tablet does: the device credential."""
    status, body = post(port, "/api/v1/kiosk/pair", {"code": code})
    if status != 201:
        raise RuntimeError(f"proof: pairing answered {status}: {body[:200]!r}")
    credential: str = json.loads(body)["credential"]
    return credential


def stored_rows(database_url: str, kiosk_id: int) -> tuple[list[uuid.UUID], int]:
    """The client ids of the kiosk's stored responses, and how many responses there are."""
    database = Database(database_url)
    try:
        with database.session_scope(write=False) as session:
            ids = list(session.scalars(select(Response.client_id)
                                       .where(Response.kiosk_id == kiosk_id)))
            total = session.scalar(select(func.count()).select_from(Response)) or 0
    finally:
        database.dispose()
    return ids, total


def faults(server: Server, engine: str, options: Options, database_url: str, began: float,
           outcome: Outcome, done: threading.Event) -> None:
    """Do the three faults at their times, recording what was done; then set ``done``."""
    def cut() -> str:
        if engine == "postgresql":
            return cut_postgresql(options.pg_url, database_url)
        return lock_sqlite(database_url)

    steps = (server.kill_worker, server.kill_master, cut)
    previous = began
    try:
        for at, step in zip(FAULT_AT, steps, strict=True):
            # At its time, and never right after the previous fault: each one meets a
            # service that has been serving again for a while.
            wait = max(began + at * options.seconds, previous + FAULT_GAP) - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            when = time.monotonic() - began
            try:
                outcome.faults.append(f"{when:5.1f} s  {step()}")
            except Exception as error:  # reported: a fault not done proves nothing
                outcome.failures.append(f"fault at {when:.1f} s failed: {error!r}")
            previous = time.monotonic()
    finally:
        done.set()


def run_engine(engine: str, database_url: str, options: Options, workdir: Path) -> Outcome:
    """Prepare, serve, load with faults, count; the outcome."""
    outcome = Outcome(engine)
    env, _token, _integration = prepare_app(workdir, database_url)
    unit, counter = first_counter(env)
    kiosk_id, code = add_kiosk(env, unit, counter)
    _ids, baseline = stored_rows(database_url, kiosk_id)
    port = free_port()
    with (workdir / "gunicorn.log").open("wb") as log:
        server = Server(port, env, log)
        try:
            server.wait_ready()
            target = Target(port, pair(port, code), counter)
            began = time.monotonic()
            done = threading.Event()
            faulting = threading.Thread(target=faults, args=(
                server, engine, options, database_url, began, outcome, done))
            faulting.start()
            record = run_clients(target, options.clients, began + options.seconds, done,
                                 options.grace)
            faulting.join()
            outcome.lines.append(f"load: {options.clients} clients for "
                                 f"{time.monotonic() - began:.0f} s (retries included)")
        finally:
            server.stop()
    outcome.lines += record.lines()
    if record.refused:
        outcome.failures.append(f"{len(record.refused)} submission(s) refused")
    ids, total = stored_rows(database_url, kiosk_id)
    tally = account(record.sent, record.acknowledged, record.created, ids,
                    other_new_rows=total - baseline - len(ids))
    outcome.lines.append(
        f"acknowledged {tally.acknowledged}  stored {tally.stored}  lost {tally.lost}  "
        f"doubled {tally.doubled}")
    outcome.lines.append(
        f"(ids sent {tally.sent}; stored but never acknowledged, the answer lost in a "
        f"fault: {tally.stored_unacknowledged}; ids answered 201 twice: {tally.created_twice})")
    if not tally.ok:
        outcome.failures.append(f"lost {tally.lost}, doubled {tally.doubled}, answered as "
                                f"new twice {tally.created_twice}")
    if tally.acknowledged == 0:
        outcome.failures.append("nothing was acknowledged: the proof proved nothing")
    return outcome


def report(outcome: Outcome) -> None:
    print(f"\n{outcome.engine}:")
    for fault in outcome.faults:
        print(f"  fault {fault}")
    for line in outcome.lines:
        print(f"  {line}")
    for failure in outcome.failures:
        print(f"  FAIL: {failure}")
    print(f"  {outcome.engine}: {'PASS' if outcome.passed else 'FAIL'}", flush=True)


def main() -> int:
    """Run the proof on each engine; non-zero on any loss, double or failure."""
    options = Options.from_env()
    print(f"proof: PROOF_ENGINES={','.join(options.engines)} PROOF_CLIENTS={options.clients} "
          f"PROOF_SECONDS={options.seconds:g} PROOF_GRACE={options.grace:g}; gunicorn "
          f"{WORKERS} sync workers; kiosk answers through POST /api/v1/responses", flush=True)
    outcomes: list[Outcome] = []
    for engine in options.engines:
        began = time.monotonic()
        with tempfile.TemporaryDirectory(prefix=f"proof-{engine}-") as tmp:
            workdir = Path(tmp)
            try:
                if engine == "sqlite":
                    outcome = run_engine(engine, f"sqlite:///{workdir / 'proof.db'}", options,
                                         workdir)
                else:
                    with pg_database(options.pg_url) as url:
                        outcome = run_engine(engine, url, options, workdir)
            except Exception as error:  # the other engine still runs
                outcome = Outcome(engine, failures=[f"the run failed: {error!r}"])
                log = workdir / "gunicorn.log"
                if log.exists():
                    outcome.lines.extend(log.read_text(errors="replace").splitlines()[-20:])
        outcome.lines.append(f"run took {time.monotonic() - began:.0f} s")
        report(outcome)
        outcomes.append(outcome)
    verdicts = ", ".join(f"{o.engine} {'PASS' if o.passed else 'FAIL'}" for o in outcomes)
    print(f"\nproof: {verdicts}")
    return 0 if all(o.passed for o in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
