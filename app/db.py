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

        @event.listens_for(engine, "begin")
        def _sqlite_on_begin(conn: Connection) -> None:
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            conn.exec_driver_sql(_BEGIN[mode])

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


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
