"""Per-application state: the database, the settings, the loaded surveys and the request session."""

from __future__ import annotations

from flask import current_app, g, has_request_context, request
from sqlalchemy.orm import Session

from app.audit import Actor, set_actor
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
        set_actor(session, request_actor)
        g.db_session = session
    return session


def request_actor() -> Actor:
    """The audit log's actor of a web request: the signed-in account (or ``anonymous``) and
    the request's method, path and client address."""
    from flask_login import current_user

    where = None
    if has_request_context():
        where = f"{request.method} {request.path} from {request.remote_addr or '?'}"
    if has_request_context() and current_user and current_user.is_authenticated:
        return Actor(f"user:{current_user.email}", user_id=current_user.id, request=where)
    return Actor("anonymous", request=where)


def close_session(_exc: BaseException | None = None) -> None:
    """Teardown: roll back whatever was not committed and return the connection."""
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        session.close()


def audit_apart(action: str, object_type: str | None = None, object_id: object = None, *,
                after: dict[str, object] | None = None) -> None:
    """Record a security event in a transaction of its own, so that it is kept even when the
    request itself fails or stores nothing (a refused sign-in)."""
    from app.audit import record

    actor = request_actor()
    with database().session_scope() as session:
        record(session, action, object_type, object_id, after=after, actor=actor)
