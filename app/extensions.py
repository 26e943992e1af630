"""Per-application state: the database, the settings, the loaded surveys and the request session."""

from __future__ import annotations

from flask import current_app, g
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database
from app.surveys import Survey


def database() -> Database:
    """The current application's Database."""
    db: Database = current_app.extensions["suara.db"]
    return db


def settings() -> Settings:
    """The current application's Settings."""
    value: Settings = current_app.extensions["suara.settings"]
    return value


def surveys() -> dict[tuple[str, int], Survey]:
    """The survey definitions validated at start-up."""
    value: dict[tuple[str, int], Survey] = current_app.extensions["suara.surveys"]
    return value


def db_session() -> Session:
    """The request's session, opened on first use; it begins as a reader.

    A view that changes something calls ``start_writing`` once its lookups and checks are
    done, writes, and commits (the boundary); whatever is left uncommitted rolls back at
    teardown, so a failed request stores nothing. Pages that only read (refusals, the
    language switch, a wrong password) never take SQLite's write lock.
    """
    session: Session | None = g.get("db_session")
    if session is None:
        session = database().session(write=False)
        g.db_session = session
    return session


def close_session(_exc: BaseException | None = None) -> None:
    """Teardown: roll back whatever was not committed and return the connection."""
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        session.close()
