"""The job scheduler process (`flask --app app scheduler`), never run inside web workers.

Any number of scheduler processes may be started; a lock in the database lets exactly one of
them run jobs, and a standby takes over when the holder stops beating.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import threading
from collections.abc import Callable
from datetime import timedelta
from types import FrameType

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import SQLAlchemyError

from app.config import Settings
from app.db import Database, utcnow
from app.jobs import case_deadlines, close_duties, digest_job, housekeeping, run_aggregation
from app.locks import acquire_lock, release_lock
from app.models import JobRun

log = logging.getLogger(__name__)
LOCK_NAME = "scheduler"


class JobRunner:
    """Runs jobs only while this process holds the lock, and records every run."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.stale_after = timedelta(seconds=settings.scheduler_lock_stale_seconds)
        self.holding = False
        self.stopping = False
        self._running = 0
        self._idle = threading.Condition()

    def heartbeat(self) -> bool:
        """Take or refresh the lock; log when this process becomes active or standby."""
        with self.db.session_scope() as session:
            holding = acquire_lock(session, LOCK_NAME, self.holder, now=utcnow(),
                                   stale_after=self.stale_after)
        if holding != self.holding:
            log.info("scheduler %s: %s", self.holder,
                     "holds the lock, running jobs" if holding else "standby (lock held)")
        self.holding = holding
        return holding

    def guarded(self, name: str, job: Callable[[], object]) -> Callable[[], None]:
        """Wrap a job: skip it unless the lock is held, record its run and outcome."""
        def run() -> None:
            with self._idle:
                if self.stopping:
                    return
                self._running += 1
            try:
                if not self.heartbeat():
                    return
                started = utcnow()
                outcome, detail = "ok", None
                try:
                    detail = str(job())[:2000]
                except Exception as exc:  # a failed job is recorded and retried next time
                    log.exception("job %s failed", name)
                    outcome, detail = "failed", repr(exc)[:2000]
                with self.db.session_scope() as session:
                    session.add(JobRun(job=name, holder=self.holder, started_at=started,
                                       finished_at=utcnow(), outcome=outcome, detail=detail))
            finally:
                with self._idle:
                    self._running -= 1
                    self._idle.notify_all()
        return run

    def stop_and_wait(self, beat_seconds: float) -> None:
        """Start no more jobs and wait for those running, beating meanwhile: the lock is
        theirs until they end (a standby must not start the same job beside them)."""
        with self._idle:
            self.stopping = True
            while self._running:
                if not self._idle.wait(timeout=beat_seconds):
                    self.beat_quietly()

    def beat_quietly(self) -> None:
        """A heartbeat whose database error is logged, not raised."""
        try:
            self.heartbeat()
        except SQLAlchemyError:
            log.exception("scheduler %s: heartbeat failed (database unavailable?)", self.holder)

    def release(self) -> None:
        """Give the lock up on a clean shutdown."""
        if self.holding:
            with self.db.session_scope() as session:
                release_lock(session, LOCK_NAME, self.holder)
            self.holding = False


def beat_seconds(settings: Settings) -> int:
    """How often the holder refreshes the lock: three times within the stale timeout."""
    return max(1, settings.scheduler_lock_stale_seconds // 3)


def build_scheduler(settings: Settings, runner: JobRunner) -> BlockingScheduler:
    """The jobs in local time; each coalesces missed runs and never overlaps itself."""
    scheduler = BlockingScheduler(
        timezone=settings.tz,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
    )
    db = runner.db
    beat = beat_seconds(settings)
    scheduler.add_job(runner.heartbeat, IntervalTrigger(seconds=beat), id="heartbeat")
    scheduler.add_job(
        runner.guarded("aggregate", lambda: run_aggregation(db, now=utcnow())),
        IntervalTrigger(seconds=settings.aggregate_every_seconds), id="aggregate",
        next_run_time=utcnow(),
    )
    # Monday 07:00 local; the later hours of each day catch up a digest missed while the
    # scheduler was down (sending is idempotent per unit and week).
    scheduler.add_job(
        runner.guarded("weekly_digest", lambda: digest_job(db, settings, now=utcnow())),
        CronTrigger(hour="7-20", minute=0, timezone=settings.tz), id="weekly_digest",
    )
    # Nightly, and at start-up: a machine that was off or asleep at 00:15 still forgets the
    # past days' salts and the old hashes (the job is idempotent).
    scheduler.add_job(
        runner.guarded("housekeeping", lambda: housekeeping(db, settings, now=utcnow())),
        CronTrigger(hour=0, minute=15, timezone=settings.tz), id="housekeeping",
        next_run_time=utcnow(), misfire_grace_time=23 * 3600,
    )
    # Open duties end at their unit's closing time (the job sets that instant, not its own):
    # every quarter of an hour, and at start-up to catch up after a night switched off.
    scheduler.add_job(
        runner.guarded("close_duties", lambda: close_duties(db, settings, now=utcnow())),
        IntervalTrigger(minutes=15), id="close_duties", next_run_time=utcnow(),
    )
    # Complaint cases: new ones told the same day, reminders, overdue escalations, contacts
    # erased after 90 days (idempotent: the cases' events record what was sent).
    scheduler.add_job(
        runner.guarded("case_deadlines", lambda: case_deadlines(db, settings, now=utcnow())),
        IntervalTrigger(minutes=15), id="case_deadlines", next_run_time=utcnow(),
    )
    return scheduler


def configure_logging() -> None:
    """Our job lines at INFO; APScheduler's own chatter ("Adding job tentatively", "Running
    job …") only from WARNING, where its misfires and errors are."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def run_scheduler(settings: Settings) -> None:
    """Run until SIGINT or SIGTERM, then release the lock and shut down cleanly."""
    configure_logging()
    db = Database(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    runner = JobRunner(db, settings)
    scheduler = build_scheduler(settings, runner)

    def stop(signum: int, _frame: FrameType | None) -> None:
        # Ctrl-C under `flask serve` arrives twice (terminal and parent): stop once, and
        # ignore the rest until the running job has ended and the lock is released.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if scheduler.running:
            log.info("scheduler: signal %s, shutting down after the running jobs", signum)
            scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    runner.beat_quietly()  # the database may be down at start-up: the heartbeat job retries
    log.info("scheduler %s: started with %d job(s)", runner.holder, len(scheduler.get_jobs()))
    try:
        scheduler.start()
    finally:
        runner.stop_and_wait(beat_seconds(settings))
        runner.release()
        db.dispose()
