"""A lock in the database so that exactly one scheduler process runs the jobs."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, or_, update
from sqlalchemy.orm import Session

from app.db import dialect_insert
from app.models import SchedulerLock


def acquire_lock(session: Session, name: str, holder: str, *, now: datetime,
                 stale_after: timedelta) -> bool:
    """Take or keep the lock; True when ``holder`` has it now.

    One statement each, so two processes cannot both win: the first insert creates the
    lock; afterwards only the holder may refresh it, and anyone may take it over once the
    holder's heartbeat is older than ``stale_after`` (a crashed or frozen process).
    """
    inserted = session.execute(
        dialect_insert(session, SchedulerLock)
        .values(name=name, holder=holder, heartbeat_at=now)
        .on_conflict_do_nothing(index_elements=["name"])
        .returning(SchedulerLock.name)
    ).scalar()
    if inserted is not None:
        return True
    result = session.execute(
        update(SchedulerLock)
        .where(SchedulerLock.name == name,
               or_(SchedulerLock.holder == holder,
                   SchedulerLock.heartbeat_at < now - stale_after))
        .values(holder=holder, heartbeat_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def release_lock(session: Session, name: str, holder: str) -> None:
    """Give the lock up (on a clean shutdown) so a standby takes over at once."""
    session.execute(delete(SchedulerLock).where(SchedulerLock.name == name,
                                                SchedulerLock.holder == holder))


def probe_write(session: Session, *, now: datetime) -> None:
    """Write a row no lock uses (the readiness check's proof that the database takes
    writes); the caller rolls it back."""
    session.execute(insert(SchedulerLock).values(
        name=f"probe-{secrets.token_hex(8)}", holder="healthz", heartbeat_at=now))
