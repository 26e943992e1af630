"""Scheduled jobs, each a function of its time window: aggregation, digests, housekeeping,
closing open duties, complaint case deadlines."""

from __future__ import annotations

import logging
import smtplib
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from app.aggregation import StaleWatermark, apply_indicators, compute_indicators
from app.audit import SCHEDULER, set_actor
from app.case_notices import (
    build_notice,
    close_quiet_cases,
    erase_contacts,
    plan_notices,
    release,
)
from app.config import Settings
from app.db import Database
from app.digests import (
    DigestOutcome,
    NotSent,
    build_message,
    claim_for_sending,
    deliver,
    mark_sent,
    prepare_digest,
    release_claim,
)
from app.duty import close_open_duties
from app.kiosks import MAX_KIOSK_LATE
from app.models import DailySalt, Digest, JobRun, KioskPairing, KioskPending, Response, Unit
from app.summary import last_complete_week

log = logging.getLogger(__name__)


@contextmanager
def job_scope(db: Database, *, write: bool = True) -> Iterator[Session]:
    """A job's transaction (``Database.session_scope``) whose changes the audit log puts
    down to the scheduler: every job opens its sessions here, never with ``session_scope``."""
    with db.session_scope(write=write) as session:
        set_actor(session, SCHEDULER)
        yield session


@dataclass(frozen=True)
class AggregationRun:
    """What one aggregation run did."""

    full: bool
    buckets: int
    rows: int
    watermark: datetime


def run_aggregation(db: Database, *, now: datetime, full: bool = False,
                    lock_wait: timedelta | None = None) -> AggregationRun:
    """One aggregation pass: compute from a read snapshot, then write in one short transaction.

    Both transactions use one connection, so a full rebuild can be staged in a temporary
    table by the database and copied in at the end; on SQLite the write lock is held only
    for that copy, and citizens keep submitting while the rebuild computes.
    ``lock_wait`` bounds how long PostgreSQL waits for another run's lock on the watermark
    (an OperationalError after it); SQLite waits for its write lock up to the busy timeout.
    Raises StaleWatermark when another run wrote first.
    """
    with db.engine.connect() as connection:
        with Session(bind=connection) as session:
            set_actor(session, SCHEDULER)
            computation = compute_indicators(session, now=now, full=full, stage=True)
            session.commit()
        connection.execution_options(sqlite_begin="IMMEDIATE")
        with Session(bind=connection) as session:
            set_actor(session, SCHEDULER)
            if lock_wait is not None and connection.dialect.name == "postgresql":
                # At least a millisecond: 0 would mean no limit at all.
                milliseconds = max(1, int(lock_wait / timedelta(milliseconds=1)))
                session.execute(text(f"SET LOCAL lock_timeout = {milliseconds}"))
            rows = apply_indicators(session, computation, now=now)
            session.commit()
        if computation.full and connection.dialect.name == "postgresql":
            # Both tables were just rewritten: fresh statistics now, not when autovacuum
            # gets to them, or the next incremental runs plan for empty tables.
            with connection.begin():
                connection.exec_driver_sql("ANALYZE indicators, wait_histogram")
    return AggregationRun(computation.full, computation.bucket_count, rows, computation.until)


class AggregationBusy(Exception):
    """Another aggregation run (the scheduler's) kept the lock, or kept writing first, for
    longer than this run would wait; this run wrote nothing."""


# What another run in progress looks like: SQLite's write lock past the busy timeout,
# PostgreSQL's lock_timeout on the watermark's row, a unique key another first run inserted.
_LOCK_CONTENTION = ("SQLITE_BUSY", "SQLITE_LOCKED", "55P03", "23505")
MAX_OVERTAKEN = 3


def _lock_contention(error: OperationalError | IntegrityError) -> bool:
    original = error.orig
    code = getattr(original, "sqlite_errorname", None) or getattr(original, "sqlstate", None)
    return str(code).startswith(_LOCK_CONTENTION)


def aggregate_when_free(db: Database, *, clock: Callable[[], datetime], wait: timedelta,
                        full: bool = False) -> AggregationRun:
    """One aggregation pass beside the scheduler's: while another run holds the lock, wait
    for it, up to ``wait`` in all; when another run wrote first, compute again from what
    it stored (cheap: it just did the work). Raises AggregationBusy once ``wait`` is spent.

    ``clock`` gives each attempt its instant (a later attempt must not be older than what
    the other run stored). The waiting is the database's (its lock timeouts), never a sleep.
    """
    deadline = time.monotonic() + wait.total_seconds()
    overtaken = 0
    while True:
        try:
            return run_aggregation(db, now=clock(), full=full, lock_wait=timedelta(
                seconds=max(0.0, deadline - time.monotonic())))
        except StaleWatermark as error:
            # Overtaken again and again: another clock ahead of ours, not a run to wait for.
            overtaken += 1
            reason: Exception = error
            given_up = overtaken >= MAX_OVERTAKEN
        except (OperationalError, IntegrityError) as error:
            if not _lock_contention(error):
                raise
            reason, given_up = error, False
        if given_up or time.monotonic() >= deadline:
            raise AggregationBusy(str(reason).splitlines()[0]) from reason
        log.info("aggregation: another run in progress, trying again (%s)", reason)


def send_weekly_digests(db: Database, settings: Settings, *, week_start: date,
                        now: datetime) -> list[DigestOutcome]:
    """Store and send each unit's digest of the week starting ``week_start``, once.

    Each unit has its own transactions, so one unit's failure does not hold up the others,
    and a rerun (or a second process) never sends a digest twice.
    """
    with job_scope(db, write=False) as session:
        units = list(session.execute(select(Unit.id, Unit.code).order_by(Unit.code)))
    outcomes = []
    for unit_id, code in units:
        with job_scope(db) as session:
            unit = session.get(Unit, unit_id)
            assert unit is not None  # noqa: S101 (listed a moment ago; units are not deleted)
            digest = prepare_digest(session, unit, week_start, settings, now=now)
            if not digest.recipients:
                outcomes.append(DigestOutcome(code, "no-recipients"))
                continue
            if not claim_for_sending(session, digest, now=now):
                outcomes.append(DigestOutcome(code, "already-sent"))
                continue
            message = build_message(digest, settings, now=now)
            digest_id = digest.id
        try:
            status = deliver(message, settings, filename=f"{code}-{week_start}.eml")
        except NotSent as exc:
            _end_claim(db, digest_id, sent_at=None)
            log.warning("digest %s %s not sent, tried again next hour: %s", code, week_start,
                        exc)
            outcomes.append(DigestOutcome(code, "failed", str(exc)))
            continue
        except (OSError, smtplib.SMTPException) as exc:
            _end_claim(db, digest_id, sent_at=now)
            log.warning("digest %s %s may or may not have reached the mail server; not sent "
                        "again: %r", code, week_start, exc)
            outcomes.append(DigestOutcome(code, "uncertain", repr(exc)))
            continue
        _end_claim(db, digest_id, sent_at=now)
        outcomes.append(DigestOutcome(code, status))
    return outcomes


def _end_claim(db: Database, digest_id: int, *, sent_at: datetime | None) -> None:
    """Record a send (``sent_at``) or release the claim of one that did not go (None)."""
    with job_scope(db) as session:
        claimed = session.get(Digest, digest_id)
        if claimed is None:
            return
        if sent_at is None:
            release_claim(session, claimed)
        else:
            mark_sent(session, claimed, now=sent_at)


class JobIncomplete(Exception):
    """A job did its work but part of it failed: its run is recorded as failed."""


def digest_job(db: Database, settings: Settings, *, now: datetime) -> str:
    """The scheduler's digest job: the last full week's digests, and what became of them.

    Raises JobIncomplete when a digest failed or may not have arrived, so that the job's
    record says so instead of "ok".
    """
    outcomes = send_weekly_digests(db, settings, week_start=last_complete_week(now, settings.tz),
                                   now=now)
    counts = Counter(outcome.status for outcome in outcomes)
    summary = ", ".join(f"{status} {n}" for status, n in sorted(counts.items()))
    troubled = [f"{o.unit} ({o.status}: {o.detail})" for o in outcomes
                if o.status in ("failed", "uncertain")]
    if troubled:
        raise JobIncomplete(f"{summary}; " + "; ".join(troubled))
    return summary


def housekeeping(db: Database, settings: Settings, *, now: datetime) -> dict[str, int]:
    """Daily: forget salts of past days (their hashes become unlinkable), erase old address
    and device hashes, prune the job-run log. Returns how many rows each step touched."""
    today = now.astimezone(settings.tz).date()
    with job_scope(db) as session:
        salts = session.execute(delete(DailySalt).where(DailySalt.day < today))
        hashes = session.execute(
            update(Response)
            .where(Response.received_at < now - timedelta(days=settings.retention_hash_days),
                   or_(Response.ip_hash.is_not(None), Response.device_hash.is_not(None)))
            .values(ip_hash=None, device_hash=None)
            .execution_options(synchronize_session=False))
        runs = session.execute(delete(JobRun).where(
            JobRun.started_at < now - timedelta(days=settings.retention_job_runs_days)))
        # A kiosk's answers are not taken later than this: their heartbeat reports can go,
        # and so can pairing codes that expired unused.
        pending = session.execute(delete(KioskPending).where(
            KioskPending.reported_at < now - MAX_KIOSK_LATE - timedelta(days=1)))
        pairings = session.execute(delete(KioskPairing).where(
            KioskPairing.used_at.is_(None), KioskPairing.expires_at < now))
    return {"salts": _count(salts), "hashes": _count(hashes), "job_runs": _count(runs),
            "kiosk_pending": _count(pending), "kiosk_pairings": _count(pairings)}


def _count(result: Any) -> int:
    return int(result.rowcount or 0)


def close_duties(db: Database, settings: Settings, *, now: datetime) -> str:
    """End the open duties whose unit has closed since they began, at that closing time
    (``app.duty.close_open_duties``); audited as the scheduler. Idempotent."""
    with job_scope(db) as session:
        closed = close_open_duties(session, now=now, tz=settings.tz)
        return f"closed {len(closed)} open duties"


def case_deadlines(db: Database, settings: Settings, *, now: datetime) -> str:
    """Every 15 minutes: notify the handlers of new complaint cases, remind them a working
    day before a deadline, mark cases past their deadline and escalate them to the unit's
    heads (each once per stage), close followed-up cases the citizen has not answered for
    10 working days, erase contacts 90 days after a case closed
    (``app.case_notices``). The notices are recorded first and sent after the commit; one
    the mail server certainly did not take is released and sent on the next run.

    Raises JobIncomplete when a notice could not be sent.
    """
    with job_scope(db) as session:
        notices = plan_notices(session, settings, now=now)
        closed = close_quiet_cases(session, now=now, tz=settings.tz)
        erased = erase_contacts(session, now=now)
    failed = []
    for notice in notices:
        if not notice.recipients:
            continue
        try:
            deliver(build_notice(notice, settings, now=now), settings,
                    filename=f"case-{notice.reference}-{notice.kind}-{notice.event_id}.eml")
        except NotSent as exc:
            with job_scope(db) as session:
                release(session, notice)
            log.warning("case %s %s notice not sent, tried again next run: %s",
                        notice.reference, notice.kind, exc)
            failed.append(f"{notice.reference} {notice.kind}")
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("case %s %s notice may or may not have reached the mail server; not "
                        "sent again: %r", notice.reference, notice.kind, exc)
    counts = Counter(notice.kind for notice in notices)
    summary = ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items())) or "no notices"
    summary += f"; closed without reply {closed}; contacts erased {erased}"
    if failed:
        raise JobIncomplete(f"{summary}; not sent: " + ", ".join(failed))
    return summary
