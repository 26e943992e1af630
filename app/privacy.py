"""Respondents stay anonymous: addresses and devices are kept only as hashes salted per day."""

from __future__ import annotations

import hashlib
import secrets
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import dialect_insert
from app.models import DailySalt


def daily_salt(session: Session, day: date) -> str:
    """The salt of a local day, created on first use (concurrent first uses agree).

    The nightly housekeeping deletes the salts of past days, so hashes of different days
    cannot be linked once it has run.
    """
    salt = session.scalar(select(DailySalt.salt).where(DailySalt.day == day))
    if salt is not None:
        return salt
    session.execute(
        dialect_insert(session, DailySalt)
        .values(day=day, salt=secrets.token_hex(32))
        .on_conflict_do_nothing(index_elements=["day"])
    )
    stored = session.scalar(select(DailySalt.salt).where(DailySalt.day == day))
    assert stored is not None  # noqa: S101 (just inserted or inserted concurrently)
    return stored


def existing_salt(session: Session, day: date) -> str | None:
    """The salt of ``day`` if one was made (none is made for a day that is over)."""
    return session.scalar(select(DailySalt.salt).where(DailySalt.day == day))


def salted_hash(salt: str, value: str) -> str:
    """A hash that can be linked to the value only while the day's salt exists."""
    return hashlib.sha256(f"{salt}:{value}".encode()).hexdigest()
