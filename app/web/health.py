"""Liveness and readiness for load balancers and `make run`: the database answers, and takes
a write."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.db import utcnow
from app.extensions import database
from app.locks import probe_write

bp = Blueprint("health", __name__)

# What a failed write says, by SQLite's error name or PostgreSQL's SQLSTATE.
_WRITE_FAILURES = {"SQLITE_READONLY": "read-only", "25006": "read-only",
                   "SQLITE_BUSY": "locked", "SQLITE_LOCKED": "locked", "55P03": "locked",
                   "SQLITE_FULL": "full", "53100": "full", "SQLITE_IOERR": "io-error"}


def _write_failure(error: SQLAlchemyError) -> str:
    original = getattr(error, "orig", None)
    code = str(getattr(original, "sqlite_errorname", None) or getattr(original, "sqlstate", ""))
    for prefix, meaning in _WRITE_FAILURES.items():
        if code.startswith(prefix):
            return meaning
    return "failed"


def _can_connect() -> bool:
    try:
        with database().engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        current_app.logger.exception("health check: database unreachable")
        return False
    return True


def _write_check() -> str:
    """Insert a row (in a write transaction: SQLite's write lock) and roll it back."""
    session = database().session()
    try:
        probe_write(session, now=utcnow())
    except SQLAlchemyError as error:
        current_app.logger.exception("health check: the database cannot be written")
        return _write_failure(error)
    finally:
        session.rollback()
        session.close()
    return "ok"


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """200 when the database answers and takes a write (rolled back), else 503 naming the
    check that failed: ``database`` (unreachable) or ``database_write`` (read-only, locked,
    full, io-error, failed; skipped when the database is unreachable)."""
    if not _can_connect():
        return jsonify(status="error", database="unreachable", database_write="skipped"), 503
    written = _write_check()
    if written != "ok":
        return jsonify(status="error", database="ok", database_write=written), 503
    return jsonify(status="ok", database="ok", database_write="ok")
