"""Database engine, declarative base, column types and transaction scopes."""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext, suppress
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
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

logger = logging.getLogger(__name__)

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
    itself: a write transaction can then ask for ``BEGIN IMMEDIATE`` (see ``Database``)
    and wait for the write lock up front instead of failing when it upgrades later.
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
        def _sqlite_on_begin(conn: Any) -> None:
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            # On the driver's connection: a statement through SQLAlchemy's execution
            # machinery costs several times what SQLite takes to begin.
            conn.connection.driver_connection.execute(_BEGIN[mode])

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


_BEGIN = {mode: f"BEGIN {mode}" for mode in ("DEFERRED", "IMMEDIATE", "EXCLUSIVE")}


class WriterQueue:
    """Hands SQLite's write lock from one short writer to the next without sleeping.

    SQLite lets one connection write at a time. A writer that finds the lock taken waits in
    SQLite's busy handler, which sleeps 1, 2, 5, 10… ms between tries however soon the lock is
    free again: with two web workers submitting steadily, a fifth of the writes slept and a
    third of the workers' time went to sleeping (measured with ``bench.throughput``).

    Short writers (the citizens' submissions) queue here instead, blocking on a thread lock
    within the process and on an flock of a file beside the database across processes; both
    hand over the moment the holder is done. SQLite's own locking still decides who writes:
    writers outside the queue (jobs, commands) keep the busy timeout, and a queued writer that
    meets one of them waits for it as before. A turn lasts one short transaction only.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._thread_lock = threading.Lock()
        self._descriptor: int | None = None
        self._unusable = False
        _QUEUES.add(self)

    def _after_fork(self) -> None:
        # The child inherits the parent's lock states: a descriptor shares its flock with
        # the parent's, and the thread lock may be held by a thread the child doesn't have.
        self._thread_lock = threading.Lock()
        if self._descriptor is not None:
            os.close(self._descriptor)  # the parent's flock stays: its own descriptor holds it
            self._descriptor = None

    def _open(self) -> int | None:
        if self._descriptor is None and not self._unusable:
            try:  # flock needs no write access: any user who can read the folder can queue
                self._descriptor = os.open(self.path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC,
                                           0o644)
            except OSError as error:
                self._unusable = True  # a speed-up only: fall back to the busy timeout
                logger.warning("writer queue off, %s cannot be opened: %s", self.path, error)
        return self._descriptor

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Wait for this writer's turn (blocking, no polling) and hold it for the block.

        A turn is waited for as long as the writers before it take: each holds it for one
        short transaction, whose BEGIN gives up after SQLite's busy timeout. Not re-entrant:
        a writer that asks again while holding a turn would wait for itself, so it is an error.
        """
        held: set[str] = _HELD.__dict__.setdefault("paths", set())
        if self.path in held:
            raise RuntimeError(f"nested write transaction on {self.path}: it would wait for "
                               "itself; finish the outer one first")
        with self._thread_lock:
            descriptor = self._open()
            if descriptor is not None:
                fcntl.flock(descriptor, fcntl.LOCK_EX)
            held.add(self.path)
            try:
                yield
            finally:
                held.discard(self.path)
                if descriptor is not None:
                    fcntl.flock(descriptor, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close this process's descriptor (the lock file stays for other processes)."""
        with self._thread_lock:
            if self._descriptor is not None:
                os.close(self._descriptor)
            self._descriptor = None


_QUEUES: weakref.WeakSet[WriterQueue] = weakref.WeakSet()
_HELD = threading.local()  # per thread: the paths whose turn it holds


def _after_fork_in_child() -> None:
    _HELD.__dict__.pop("paths", None)  # the parent's turns stay the parent's
    for queue in list(_QUEUES):
        queue._after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _writer_queue(engine: Engine) -> WriterQueue | None:
    """The queue of a file-backed SQLite database; None elsewhere (PostgreSQL blocks a
    writer in the server until the row it waits for is free)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:" \
            or database.startswith("file:"):
        return None
    return WriterQueue(f"{database}.writers")


class Database:
    """The engine and session factories of one application or process."""

    def __init__(self, url: str, *, busy_timeout_ms: int = 5000, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, busy_timeout_ms=busy_timeout_ms, **engine_kwargs)
        write_engine = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        self.writer_queue = _writer_queue(self.engine)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(write_engine, expire_on_commit=False)

    def session(self, *, write: bool = True) -> Session:
        """A new session; ``write`` takes SQLite's write lock when the transaction begins."""
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

    @contextmanager
    def reading(self, *, autocommit: bool = False) -> Iterator[Connection]:
        """A plain connection for a few prepared reads, given back (rolled back) at the end.

        Cheaper than a Session for the citizens' hot paths, whose lookups need no ORM.
        ``autocommit``: on PostgreSQL each read is its own transaction, which saves the BEGIN
        and ROLLBACK round trips; for reads that need no common snapshot, never before a
        write on the same connection. SQLite's reads are in-process: it changes nothing there.
        """
        with self.engine.connect() as connection:
            if autocommit and connection.dialect.name == "postgresql":
                connection.execution_options(isolation_level="AUTOCOMMIT")
            yield connection

    @contextmanager
    def writing(self, connection: Connection | None = None) -> Iterator[Connection]:
        """One short write transaction on a plain connection: committed on success, else
        rolled back. Cheaper than a Session for the citizens' hot paths, whose single insert
        needs no ORM.

        On ``connection`` when given, so that a request's reads and its write share one
        checkout (on PostgreSQL one transaction too: fewer round trips); only reads may be
        pending on it. On SQLite that read transaction is ended first, and the write waits
        its turn in the ``WriterQueue`` and then takes the write lock as it begins; keep the
        block short and free of other waits.
        """
        if connection is None:
            with self.engine.connect() as own, self.writing(own) as write:
                yield write
            return
        if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            # Each statement would commit on its own: no transaction to roll back.
            raise ValueError("writing() needs a transactional connection, not an autocommit one")
        if connection.dialect.name == "sqlite":
            if connection.in_transaction():
                connection.rollback()
            connection.execution_options(sqlite_begin="IMMEDIATE")
        queue = self.writer_queue
        try:
            with queue.turn() if queue else nullcontext():
                if not connection.in_transaction():
                    connection.begin()
                try:
                    yield connection
                except BaseException:
                    connection.rollback()
                    raise
                connection.commit()
        finally:
            if connection.dialect.name == "sqlite":
                connection.execution_options(sqlite_begin="DEFERRED")  # later reads: no lock

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
        if self.writer_queue is not None:
            self.writer_queue.close()


class DriverStatement:
    """A hot statement compiled once per dialect and run on the driver's own cursor.

    SQLAlchemy's execution path (execution context, parameter and result processing) costs
    more than SQLite takes to run a small statement: on a citizen's submission it was about
    a fifth of the request's CPU (``bench.hot_paths``). The SQL is SQLAlchemy's compilation
    of the statement, and every parameter goes through its type's bind processor for the
    dialect, so values are stored exactly as SQLAlchemy stores them. Like ``execute``, it
    flushes a Session, runs in the caller's transaction (beginning one if none), and raises
    SQLAlchemy's exceptions (invalidating a connection the database dropped). Rows come back
    as the driver returns them (no result processing): use it only where the result columns
    need none (integers, text, NULL checks). Statement events do not see it.
    """

    def __init__(self, build: Callable[[str], Any]) -> None:
        self._build = build  # dialect name -> the statement for that dialect
        self._compiled: dict[tuple[str, str, str], tuple[
            Any, str, tuple[str, ...] | None, dict[str, Callable[[Any], Any]]]] = {}

    def _for(self, dialect: Dialect) -> tuple[Any, str, tuple[str, ...] | None,
                                              dict[str, Callable[[Any], Any]]]:
        key = (dialect.name, dialect.driver, dialect.paramstyle)
        found = self._compiled.get(key)
        if found is None:
            compiled = self._build(dialect.name).compile(dialect=dialect)
            # Parameters rendered into the SQL at execution time would need SQLAlchemy's
            # own execution: such a statement does not belong here.
            assert not compiled.literal_execute_params and not compiled.post_compile_params  # noqa: S101
            processors = {}
            for bind, name in compiled.bind_names.items():
                # The dialect's implementation of the type, as SQLAlchemy's own execution uses
                # (a TypeDecorator's generic impl would leave e.g. SQLite datetimes to the
                # driver's adapter, which formats them differently).
                processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
                if processor is not None:
                    processors[name] = processor
            order = tuple(compiled.positiontup) if compiled.positional else None
            found = self._compiled[key] = (compiled, str(compiled), order, processors)
        return found

    def rows(self, session: Session | Connection, params: Mapping[str, Any]) -> list[Any]:
        """Run with ``params`` (by bind name) and fetch every row (the statement is then
        finished: on SQLite an unfinished one would keep its read snapshot open)."""
        if isinstance(session, Session):
            if session.autoflush:
                session.flush()
            connection = session.connection()
        else:
            connection = session
            if not connection.in_transaction():
                connection.begin()  # as execute() would: the statement is the caller's
        dialect = connection.dialect
        compiled, sql, order, processors = self._for(dialect)
        values = compiled.construct_params(params)
        for name, processor in processors.items():
            values[name] = processor(values[name])
        arguments = tuple(values[name] for name in order) if order else values
        driver = connection.connection.driver_connection
        assert driver is not None  # noqa: S101 (a checked-out connection has its driver's)
        cursor = driver.cursor()
        try:
            cursor.execute(sql, arguments)
            return list(cursor.fetchall())
        except dialect.loaded_dbapi.Error as error:
            gone = dialect.is_disconnect(error, driver, cursor)
            with suppress(dialect.loaded_dbapi.Error):
                cursor.close()
            if gone:
                connection.invalidate(error)
            raise DBAPIError.instance(sql, arguments, error, dialect.loaded_dbapi.Error,
                                      connection_invalidated=gone, dialect=dialect) from error
        finally:
            if not connection.invalidated:
                cursor.close()


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
