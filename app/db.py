"""Database engine, declarative base, column types and transaction scopes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from sqlalchemy import (
    Connection,
    DateTime,
    Dialect,
    Engine,
    MetaData,
    String,
    create_engine,
    event,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC instant on both engines.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so the value is stored as
    naive UTC and made aware again on the way out. Naive datetimes are refused: a local
    wall-clock time without a zone is a bug waiting to happen.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: store timezone-aware UTC instants")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


intpk = Annotated[int, mapped_column(primary_key=True)]
str32 = Annotated[str, mapped_column(String(32))]
str200 = Annotated[str, mapped_column(String(200))]
utc_at = Annotated[datetime, mapped_column(UTCDateTime())]


class Base(DeclarativeBase):
    """Declarative base whose metadata names every constraint predictably."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Address space, not memory: pages stay in the kernel's cache, shared by every process.
SQLITE_MMAP_BYTES = 1 << 30


def refused_character(text: str) -> str | None:
    """The first character of ``text`` that a database refuses, as U+XXXX: a NUL
    (PostgreSQL) or a lone surrogate (no UTF-8 encodes it, so neither driver sends it);
    None when there is none."""
    for character in text:
        if character == "\x00" or "\ud800" <= character <= "\udfff":
            return f"U+{ord(character):04X}"
    return None


def utcnow() -> datetime:
    """The current instant, timezone-aware UTC."""
    return datetime.now(UTC)


def make_engine(url: str, *, busy_timeout_ms: int = 5000, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys, a busy timeout, full sync and
    memory-mapped reads.

    pysqlite's own transaction handling is switched off so that SQLAlchemy emits BEGIN
    itself (the recipe of SQLAlchemy's SQLite documentation, "Serializable isolation /
    Savepoints / Transactional DDL"): a write transaction then asks for ``BEGIN IMMEDIATE``
    (execution option ``sqlite_begin``, see ``Database``) and waits up to the busy timeout
    for the write lock up front, instead of failing when a read transaction upgrades later.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA synchronous=FULL")
            # Reads through memory-mapped pages instead of one read() call per page: a full
            # aggregation scans the responses several times (writes still go through the WAL).
            cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
            cursor.close()

        event.listen(engine, "handle_error", _reconnect_when_read_only)

        @event.listens_for(engine, "begin")
        def _sqlite_on_begin(conn: Connection) -> None:
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            conn.exec_driver_sql(_BEGIN[mode])

        return engine
    # A connection cut (a restart, a failover, pg_terminate_backend) is found by the ping
    # when it is next taken from the pool, and replaced.
    engine = create_engine(url, pool_pre_ping=True, **kwargs)
    event.listen(engine, "handle_error", _reconnect_when_read_only)
    return engine


# SQLite's errors of a database that cannot be written now, by their names' prefixes.
_SQLITE_CANNOT_WRITE = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_READONLY", "SQLITE_IOERR",
                        "SQLITE_FULL", "SQLITE_CANTOPEN", "SQLITE_PROTOCOL", "SQLITE_NOMEM")
_READ_ONLY_TRANSACTION = "25006"  # PostgreSQL's read_only_sql_transaction


# SQLite opens a file it may not write read-only, and the connection stays so after the
# file becomes writable; a PostgreSQL server that became a standby stays one. Such a
# connection is treated as lost: the pool is emptied and the next request connects anew.
def _reconnect_when_read_only(context: ExceptionContext) -> None:
    error = context.original_exception
    if str(getattr(error, "sqlite_errorname", "")).startswith("SQLITE_READONLY") \
            or getattr(error, "sqlstate", None) == _READ_ONLY_TRANSACTION:
        context.is_disconnect = True


def cannot_write(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot be reached or written now (a refused or
    lost connection, a read-only or full file, a lock held past the timeout, a server in
    recovery), rather than a fault of the statement or of the data sent."""
    if isinstance(error, sa_exc.TimeoutError):  # no pooled connection came free in time
        return True
    if not isinstance(error, sa_exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    original = error.orig
    name = getattr(original, "sqlite_errorname", None)
    if name is not None:  # SQLite: by its error code ("no such table" is a defect)
        return str(name).startswith(_SQLITE_CANNOT_WRITE)
    if isinstance(error, sa_exc.OperationalError):  # PostgreSQL: connection, resources
        return True
    return getattr(original, "sqlstate", None) == _READ_ONLY_TRANSACTION


_BEGIN = {mode: f"BEGIN {mode}" for mode in ("DEFERRED", "IMMEDIATE")}


class Database:
    """The engine and session factories of one application or process."""

    def __init__(self, url: str, *, busy_timeout_ms: int = 5000, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, busy_timeout_ms=busy_timeout_ms, **engine_kwargs)
        write_engine = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(write_engine, expire_on_commit=False)

    def session(self, *, write: bool = True) -> Session:
        """A new session; ``write`` takes SQLite's write lock when the transaction begins
        (PostgreSQL locks rows as they are written, so it makes no difference there)."""
        return (self._write if write else self._read)()

    @contextmanager
    def session_scope(self, *, write: bool = True) -> Iterator[Session]:
        """One transaction for a job or a CLI command: commit on success, else roll back."""
        session = self.session(write=write)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def start_writing(session: Session) -> None:
    """Make the rest of ``session``'s work one write transaction that holds SQLite's write
    lock from its start (``BEGIN IMMEDIATE``, waiting up to the busy timeout for it).

    On SQLite the reads done so far are ended first (a read transaction that later writes
    fails at once when another writer committed meanwhile); nothing may be pending then.
    PostgreSQL locks the rows it writes, so its transaction simply goes on.
    """
    if dialect_name(session) != "sqlite":
        return
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("start_writing: flush nothing before the write lock is taken")
    session.commit()  # ends the reads: nothing was written yet
    session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})


def dialect_name(session: Session | Connection) -> str:
    """The name of the database dialect a session or connection talks to."""
    if isinstance(session, Session):
        return session.get_bind().dialect.name
    return session.dialect.name


def dialect_insert(session: Session | Connection, table: Any) -> Any:
    """An INSERT that supports ``on_conflict_do_nothing`` on the session's engine."""
    return insert_for(dialect_name(session), table)


def insert_for(dialect: str, table: Any) -> Any:
    """An INSERT that supports ``on_conflict_do_nothing`` on the dialect named."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)
