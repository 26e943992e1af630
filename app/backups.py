"""Backups of the whole database and restores into an empty one, on either engine.

SQLite: the online backup API copies a consistent snapshot while the service goes on writing
(WAL readers never block the writer). PostgreSQL: ``pg_dump`` of the server's own major version
in the custom format, taken in a snapshot exported from a transaction that also counts the
rows, so the figures printed are those of the file. Either way the day's address salts
(``daily_salts``) are left out: a backup never lets a hash be linked back to an address.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from psycopg.conninfo import make_conninfo
from sqlalchemy import Connection, func, inspect, make_url, select, text

from app import audit, migrate
from app.db import Database
from app.models import DailySalt, Response

SALTS = DailySalt.__tablename__
RESPONSES = Response.__tablename__
SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"
# Debian and Ubuntu install each major version's client side by side here.
PG_BIN_DIRS = ("/usr/lib/postgresql/{major}/bin",)
_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)")


class BackupError(Exception):
    """A backup or a restore refused or failed; the message is one line for the operator."""


@dataclass(frozen=True)
class BackupInfo:
    """What a backup holds: its file, size in bytes, responses and alembic revision."""

    path: Path
    size: int
    responses: int | None
    revision: str | None


@dataclass(frozen=True)
class RestoreInfo:
    """What a restore did: the backup's revision, the responses restored, the revision now."""

    path: Path
    revision: str
    responses: int | None
    upgraded_to: str | None


# Backup -----------------------------------------------------------------------------------


def backup(database: Database, out: Path) -> BackupInfo:
    """Write a backup of ``database`` to ``out`` (a new file; written aside, then renamed, so
    an interrupted backup never leaves a file that looks whole), leaving out the address
    salts, and record it in the audit log."""
    out = out.absolute()
    if out.exists():
        raise BackupError(f"{out} exists: a backup never overwrites a file, choose a new name")
    if not out.parent.is_dir():
        raise BackupError(f"{out.parent} is not a directory")
    partial = out.with_name(f".{out.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        if database.engine.dialect.name == "sqlite":
            responses, revision = _sqlite_backup(database, partial)
        else:
            responses, revision = _pg_backup(database, partial)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    info = BackupInfo(out, out.stat().st_size, responses, revision)
    _audit(database, "backup.create", info.revision, {
        "file": str(out), "size": info.size, "responses": responses, "revision": revision})
    return info


def _sqlite_backup(database: Database, partial: Path) -> tuple[int | None, str | None]:
    raw = database.engine.raw_connection()
    try:
        source = raw.driver_connection
        if not isinstance(source, sqlite3.Connection):
            raise BackupError("the SQLite engine did not hand out an sqlite3 connection")
        copy = sqlite3.connect(partial, isolation_level=None)
        try:
            # One step (all pages at once): a read transaction on the source, one snapshot.
            source.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal
            if copy.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (SALTS,)).fetchone():
                copy.execute(f"DELETE FROM {SALTS}")  # noqa: S608 (a constant table name)
                copy.execute("VACUUM")  # the salts' pages are rewritten, not left free
            return _sqlite_figures(copy)
        except sqlite3.Error as exc:  # a full disk, an unreadable page
            raise BackupError(f"the backup failed: {exc}") from None
        finally:
            copy.close()
    finally:
        raw.close()


def _sqlite_figures(connection: sqlite3.Connection) -> tuple[int | None, str | None]:
    tables = {row[0] for row in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}
    responses = (connection.execute(f"SELECT count(*) FROM {RESPONSES}").fetchone()[0]  # noqa: S608
                 if RESPONSES in tables else None)
    revision = None
    if "alembic_version" in tables:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        revision = row[0] if row else None
    return responses, revision


def _pg_backup(database: Database, partial: Path) -> tuple[int | None, str | None]:
    with database.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            # The snapshot this transaction sees is the one pg_dump dumps.
            snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            pg_dump = pg_tool("pg_dump", server_major(connection))
            responses = (connection.execute(select(func.count()).select_from(
                Response.__table__)).scalar_one()
                if inspect(connection).has_table(RESPONSES) else None)
            revision = MigrationContext.configure(connection).get_current_revision()
            _run([pg_dump, "--format=custom", f"--snapshot={snapshot}",
                  f"--exclude-table-data={SALTS}", f"--file={partial}",
                  f"--dbname={conninfo(database.url)}"], database.url)
    return responses, revision


# Restore ----------------------------------------------------------------------------------


def restore(database: Database, source: Path) -> RestoreInfo:
    """Restore a backup into ``database``, which must be empty, then migrate it to head and
    record the restore in the audit log; refuses a missing, corrupt or other engine's file
    before anything is written."""
    source = source.absolute()
    engine = database.engine.dialect.name
    kind = backup_kind(source)
    if kind == "unknown":
        raise BackupError(f"{source} is not a Suara Warga backup (neither an SQLite file nor "
                          "a pg_dump archive)")
    if kind != engine:
        raise BackupError(f"{source} is {_KINDS[kind]}; this database is {_ENGINE_NAMES[engine]}")
    if engine == "sqlite":
        revision, responses = _sqlite_check(source)
    else:
        revision, responses = _pg_check(database, source), None
    _known_revision(source, revision)
    _refuse_unless_empty(database)
    if engine == "sqlite":
        _sqlite_restore(database, source)
    else:
        _pg_restore(database, source)
    database.dispose()  # pooled connections knew the empty schema
    migrate.upgrade(database.url)
    head = migrate.current_revision(database.engine)
    if responses is None:
        with database.engine.connect() as connection:
            responses = connection.execute(select(func.count()).select_from(
                Response.__table__)).scalar_one()
    info = RestoreInfo(source, revision, responses, head)
    _audit(database, "backup.restore", head, {
        "file": str(source), "revision": revision, "upgraded_to": head,
        "responses": responses})
    return info


_KINDS = {"sqlite": "an SQLite backup", "postgresql": "a PostgreSQL backup (pg_dump)"}
_ENGINE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def backup_kind(path: Path) -> str:
    """'sqlite', 'postgresql' or 'unknown', from the file's first bytes."""
    try:
        with path.open("rb") as file:
            head = file.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        raise BackupError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise BackupError(f"{path} is a directory, not a backup file") from None
    except OSError as exc:
        raise BackupError(f"{path} cannot be read: {exc.strerror}") from None
    if head == SQLITE_MAGIC:
        return "sqlite"
    if head.startswith(PG_DUMP_MAGIC):
        return "postgresql"
    return "unknown"


def _sqlite_check(source: Path) -> tuple[str, int | None]:
    """The backup's revision and responses, after SQLite's own check of every page."""
    try:
        connection = sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"{source} cannot be opened: {exc}") from None
    try:
        result = connection.execute("PRAGMA quick_check").fetchone()
        if not result or result[0] != "ok":
            raise BackupError(f"{source} is corrupt (SQLite quick_check: {result and result[0]})")
        responses, revision = _sqlite_figures(connection)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{source} is corrupt: {exc}") from None
    finally:
        connection.close()
    if revision is None:
        raise BackupError(f"{source} holds no Suara Warga database (no alembic revision)")
    return revision, responses


def _pg_check(database: Database, source: Path) -> str:
    """The archive's alembic revision, read by pg_restore (which checks the archive too)."""
    with database.engine.connect() as connection:
        pg_restore = pg_tool("pg_restore", server_major(connection))
    listing = _run([pg_restore, "--data-only", "--table=alembic_version", "--file=-",
                    str(source)], database.url, what=f"{source} is not a readable pg_dump archive")
    lines = listing.splitlines()
    for number, line in enumerate(lines[:-1]):
        if line.startswith("COPY ") and "alembic_version" in line and lines[number + 1] != "\\.":
            return lines[number + 1].strip()
    raise BackupError(f"{source} holds no Suara Warga database (no alembic revision)")


def _known_revision(source: Path, revision: str) -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    if revision not in {rev.revision for rev in script.walk_revisions()}:
        raise BackupError(f"{source} is at revision {revision}, unknown to this version of "
                          "Suara Warga (a backup of newer software?)")


_PG_RELATIONS = text(
    "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') "
    "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg\\_toast%' "
    "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')")


def _refuse_unless_empty(database: Database) -> None:
    with database.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            count = connection.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar_one()
        else:
            count = connection.execute(_PG_RELATIONS).scalar_one()
    if count:
        shown = make_url(database.url).render_as_string(hide_password=True)
        raise BackupError(f"refused: the database {shown} is not empty ({count} tables and "
                          "other objects); restore into a new, empty database")


def _sqlite_restore(database: Database, source: Path) -> None:
    backup_file = sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True)
    raw = database.engine.raw_connection()
    try:
        target = raw.driver_connection
        if not isinstance(target, sqlite3.Connection):
            raise BackupError("the SQLite engine did not hand out an sqlite3 connection")
        backup_file.backup(target)
    except sqlite3.Error as exc:
        raise BackupError(f"restoring {source} failed: {exc}") from None
    finally:
        raw.close()
        backup_file.close()


def _pg_restore(database: Database, source: Path) -> None:
    with database.engine.connect() as connection:
        pg_restore = pg_tool("pg_restore", server_major(connection))
    # One transaction: a restore that fails half-way leaves the database empty again.
    # Owners, grants and comments are the old server's (a comment on btree_gist needs its
    # owner): the restoring account owns what it creates.
    _run([pg_restore, "--no-owner", "--no-acl", "--no-comments", "--single-transaction",
          "--exit-on-error", f"--dbname={conninfo(database.url)}", str(source)],
         database.url, what=f"restoring {source} failed")


# PostgreSQL's client programs ---------------------------------------------------------------


def server_major(connection: Connection) -> int:
    """The major version of the PostgreSQL server (15 for 15.4)."""
    number = int(connection.execute(text("SHOW server_version_num")).scalar_one())
    return number // 10000


def tool_major(path: str) -> int | None:
    """The major version a PostgreSQL client program says it is, or None."""
    try:
        done = subprocess.run(  # noqa: S603 (a program found by pg_tool, no shell)
            [path, "--version"], capture_output=True, text=True, check=False, timeout=30)
    except OSError:
        return None
    found = _VERSION.search(done.stdout)
    return int(found.group(1)) if found else None


def pg_tool(name: str, major: int) -> str:
    """The path of ``name`` (pg_dump, pg_restore) of PostgreSQL ``major``: Debian's versioned
    directory first, then the PATH; refuses another major version (an older pg_dump cannot
    dump a newer server, and a newer one writes archives older pg_restore cannot read)."""
    candidates = [str(Path(d.format(major=major)) / name) for d in PG_BIN_DIRS]
    on_path = shutil.which(name)
    if on_path:
        candidates.append(on_path)
    seen = []
    for candidate in candidates:
        if Path(candidate).is_file():
            version = tool_major(candidate)
            if version == major:
                return candidate
            seen.append(f"{candidate} is {version or 'of unknown version'}")
    where = "; ".join(seen) or "none found"
    raise BackupError(f"{name} of PostgreSQL {major} (the server's version) is needed "
                      f"({where}): install postgresql-client-{major}")


def conninfo(url: str) -> str:
    """A libpq connection string for a SQLAlchemy URL, without the password (which goes in
    PGPASSWORD, out of the process list)."""
    parsed = make_url(url)
    params: dict[str, str | int | None] = {
        "host": parsed.host, "port": parsed.port, "user": parsed.username,
        "dbname": parsed.database}
    for key, value in parsed.query.items():
        params[key] = value if isinstance(value, str) else value[-1]
    return make_conninfo("", **{k: v for k, v in params.items() if v is not None})


def _run(args: list[str], url: str, *, what: str = "") -> str:
    env = dict(os.environ)
    password = make_url(url).password
    if password is not None:
        env["PGPASSWORD"] = str(password)
    done = subprocess.run(  # noqa: S603 (a program found by pg_tool, no shell)
        args, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        errors = [line for line in done.stderr.splitlines() if line.strip()]
        detail = errors[0] if errors else f"exit status {done.returncode}"
        raise BackupError(f"{what or Path(args[0]).name + ' failed'}: {detail}")
    return done.stdout


def _audit(database: Database, action: str, revision: str | None,
           after: dict[str, object]) -> None:
    # The audit log is written through today's models: only a database at head has them.
    if revision is None or revision != migrate.head_revision():
        return
    with database.session_scope() as session:
        audit.record(session, action, after=after)
