"""The scheduler process: its lock (one of two processes runs the jobs), start-up, shutdown."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import PROJECT_ROOT, Settings
from app.db import Database
from app.locks import acquire_lock, release_lock
from app.models import DailySalt, JobRun, SchedulerLock
from app.privacy import daily_salt
from app.scheduler import JobRunner

T = TypeVar("T")
T0 = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
STALE = timedelta(seconds=90)


def test_the_first_process_takes_the_lock_and_the_second_waits(session: Session) -> None:
    assert acquire_lock(session, "scheduler", "a", now=T0, stale_after=STALE)
    assert not acquire_lock(session, "scheduler", "b", now=T0 + timedelta(seconds=5),
                            stale_after=STALE)
    # The holder refreshes its heartbeat; the other still waits.
    assert acquire_lock(session, "scheduler", "a", now=T0 + timedelta(seconds=60),
                        stale_after=STALE)
    assert not acquire_lock(session, "scheduler", "b", now=T0 + timedelta(seconds=120),
                            stale_after=STALE)
    lock = session.get(SchedulerLock, "scheduler")
    assert lock is not None and lock.holder == "a"


def test_a_stale_holder_loses_the_lock_to_a_standby(session: Session) -> None:
    assert acquire_lock(session, "scheduler", "a", now=T0, stale_after=STALE)
    later = T0 + STALE + timedelta(seconds=1)
    assert acquire_lock(session, "scheduler", "b", now=later, stale_after=STALE)
    assert not acquire_lock(session, "scheduler", "a", now=later, stale_after=STALE)


def test_release_lets_a_standby_take_over_at_once(session: Session) -> None:
    assert acquire_lock(session, "scheduler", "a", now=T0, stale_after=STALE)
    release_lock(session, "scheduler", "b")  # not the holder: nothing happens
    assert not acquire_lock(session, "scheduler", "b", now=T0, stale_after=STALE)
    release_lock(session, "scheduler", "a")
    assert acquire_lock(session, "scheduler", "b", now=T0, stale_after=STALE)


def _wait_for(check: Callable[[], T | None], what: str, timeout: float = 60.0) -> T:
    """Poll until ``check`` returns a value (a real process needs real time to act)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def schedulers(settings: Settings, app: Flask, tmp_path: Path
               ) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """Start real `flask --app app scheduler` processes on the test database."""
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "INSTANCE_DIR": str(tmp_path / "instance"),
        "SECRET_KEY": "scheduler-test-secret-key",
        "APP_ENV": "test",
        "AGGREGATE_EVERY_SECONDS": "1",
        "SCHEDULER_LOCK_STALE_SECONDS": "3",
    }
    started: list[subprocess.Popen[bytes]] = []

    def start(database_url: str | None = None) -> subprocess.Popen[bytes]:
        log = tmp_path / f"scheduler-{len(started)}.log"
        with log.open("wb") as output:  # the child keeps its own copy of the descriptor
            process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
                [sys.executable, "-m", "flask", "--app", "app", "scheduler"],
                cwd=PROJECT_ROOT, env={**env, "DATABASE_URL": database_url or env["DATABASE_URL"]},
                stdout=output, stderr=subprocess.STDOUT)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in started:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _runs(db: Database) -> list[JobRun]:
    with db.session_scope(write=False) as session:
        return list(session.scalars(select(JobRun).where(JobRun.job == "aggregate")
                                    .order_by(JobRun.id)))


def test_two_scheduler_processes_run_each_job_only_once(
    app: Flask, schedulers: Callable[[], subprocess.Popen[bytes]]
) -> None:
    db: Database = app.extensions["suara.db"]
    first, second = schedulers(), schedulers()
    runs = _wait_for(lambda: (r if len(r := _runs(db)) >= 4 else None),
                     "four aggregation runs")
    assert first.poll() is None and second.poll() is None, "both processes must be alive"
    holders = {run.holder for run in runs}
    assert len(holders) == 1, f"jobs ran in more than one process: {holders}"
    pids = {int(h.split(":")[1]) for h in holders}
    assert pids <= {first.pid, second.pid}
    # Runs never overlap: each starts after the previous one finished.
    for before, after in zip(runs, runs[1:], strict=False):
        assert before.finished_at is not None and before.finished_at <= after.started_at

    # The holder dies without releasing the lock: the standby takes over once it is stale.
    holder = first if first.pid in pids else second
    standby = second if holder is first else first
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    taken_over = _wait_for(
        lambda: [r for r in _runs(db) if int(r.holder.split(":")[1]) == standby.pid] or None,
        "the standby to take over")
    assert taken_over[0].outcome == "ok"


def test_a_stopping_runner_starts_no_job_and_keeps_the_lock_until_its_jobs_end(
    app: Flask, settings: Settings
) -> None:
    db: Database = app.extensions["suara.db"]
    runner = JobRunner(db, settings)
    release = threading.Event()
    ran: list[str] = []

    def slow() -> str:
        ran.append("slow")
        release.wait(timeout=30)
        return "done"

    job = threading.Thread(target=runner.guarded("slow", slow))
    job.start()
    _wait_for(lambda: ran or None, "the slow job to start", timeout=10)
    stopper = threading.Thread(target=runner.stop_and_wait, args=(0.05,))
    stopper.start()
    time.sleep(0.3)
    assert stopper.is_alive(), "stop_and_wait returned while a job was still running"
    runner.guarded("late", lambda: ran.append("late"))()  # after the stop: never runs
    with db.session_scope(write=False) as session:
        lock = session.get(SchedulerLock, "scheduler")
        assert lock is not None and lock.holder == runner.holder
    release.set()
    job.join(timeout=10)
    stopper.join(timeout=10)
    assert not stopper.is_alive() and ran == ["slow"]
    runner.release()
    with db.session_scope(write=False) as session:
        assert [(r.job, r.outcome) for r in session.scalars(select(JobRun))] == [("slow", "ok")]


def test_ctrl_c_twice_stops_the_scheduler_cleanly(
    app: Flask, schedulers: Callable[[], subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    db: Database = app.extensions["suara.db"]
    process = schedulers()
    _wait_for(lambda: _runs(db) or None, "a first aggregation run")
    # `flask serve` passes the terminal's Ctrl-C on: the scheduler gets SIGINT twice.
    process.send_signal(signal.SIGINT)
    time.sleep(0.3)  # two signals sent at once arrive as one
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
    log = (tmp_path / "scheduler-0.log").read_text()
    assert "Traceback" not in log, log
    # Our own lines at INFO; APScheduler's internal chatter below WARNING is not shown (its
    # warnings are, e.g. a run skipped because the one before it was still going on a
    # loaded machine).
    assert "holds the lock, running jobs" in log, log
    assert "started with 6 job(s)" in log, log
    for chatter in ("Adding job tentatively", "Scheduler started", "Added job",
                    "Running job", "executed successfully"):
        assert chatter not in log, log
    with db.session_scope(write=False) as session:
        assert session.scalar(select(SchedulerLock.holder)) is None  # released at the end


def test_the_scheduler_forgets_old_salts_at_start_up(
    app: Flask, session: Session, schedulers: Callable[[], subprocess.Popen[bytes]]
) -> None:
    # It was not running at 00:15 (an office PC switched off at night).
    daily_salt(session, date(2026, 1, 1))
    session.commit()
    db: Database = app.extensions["suara.db"]
    schedulers()
    _wait_for(lambda: [r for r in _all_runs(db) if r.job == "housekeeping"] or None,
              "a housekeeping run")
    with db.session_scope(write=False) as check:
        assert check.scalar(select(DailySalt.day).where(DailySalt.day == date(2026, 1, 1))) \
            is None


def test_a_scheduler_started_while_the_database_is_down_keeps_trying(
    schedulers: Callable[..., subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    process = schedulers(database_url="postgresql+psycopg://postgres@127.0.0.1:1/nothing")
    log = tmp_path / "scheduler-0.log"
    # Start-up can take seconds on a loaded machine: wait for the failed heartbeat itself.
    _wait_for(lambda: "heartbeat failed" in log.read_text() or process.poll() is not None,
              "the first heartbeat to fail", timeout=30)
    time.sleep(2)  # and a little longer: still there, trying
    assert process.poll() is None, f"the scheduler exited: {log.read_text()}"


def _all_runs(db: Database) -> list[JobRun]:
    with db.session_scope(write=False) as session:
        return list(session.scalars(select(JobRun).order_by(JobRun.id)))


def test_stopping_flask_serve_with_sigterm_stops_its_scheduler_too(
    app: Flask, settings: Settings, tmp_path: Path
) -> None:
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": settings.database_url, "APP_ENV": "test",
           "INSTANCE_DIR": str(tmp_path / "instance"), "PORT": str(port),
           "SECRET_KEY": "scheduler-test-secret-key"}
    with (tmp_path / "serve.log").open("wb") as output:
        serve = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            [sys.executable, "-m", "flask", "--app", "app", "serve"],
            cwd=PROJECT_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    children: list[int] = []
    try:
        children = _wait_for(lambda: _children(serve.pid) or None, "the scheduler to start")
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=30) == 0
        for pid in children:
            assert not Path(f"/proc/{pid}").exists() or _zombie(pid), \
                f"scheduler {pid} outlived flask serve"
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
        for pid in children:  # an orphan left by a failure must not outlive the test
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True
