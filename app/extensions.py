"""Per-application state: the database, the settings, the loaded surveys and the request session."""

from __future__ import annotations

from flask import current_app, g
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database
from app.feedback import TodaysSalt
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


def todays_salt() -> TodaysSalt:
    """This process's memory of the day's salt (see ``TodaysSalt``)."""
    value: TodaysSalt = current_app.extensions["suara.salts"]
    return value


def db_session() -> Session:
    """The request's session for lookups, opened on first use and closed at teardown.

    Its transaction is deferred: on SQLite it takes no write lock. A view writes in a short
    ``database().session_scope()`` of its own after the lookups, so concurrent writers hold
    the lock only for the insert; anything left uncommitted rolls back at teardown.
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
