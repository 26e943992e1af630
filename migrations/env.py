"""Alembic environment: the URL comes from the application's settings, not alembic.ini."""

from __future__ import annotations

from alembic import context

import app.models  # noqa: F401  (registers every table on Base.metadata)
from app.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=sqlite,
        compare_type=True,
        compare_server_default=False,
    )
    if not sqlite:
        with context.begin_transaction():
            context.run_migrations()
        return
    # A rebuild drops the old table. With foreign keys enforced (as every application
    # connection has them) that drop deletes or nulls every row pointing at it: rebuilding
    # users deleted every API token. SQLite's own recipe for altering a table: foreign keys
    # off around the change (outside a transaction, or the pragma does nothing), then
    # foreign_key_check before trusting the result.
    # A caller that hands over a connection inside its own transaction keeps it: the pragma
    # could not act there, and rolling back would undo the caller's work.
    own = not connection.in_transaction()
    driver = connection.connection.driver_connection
    if own:
        driver.execute("PRAGMA foreign_keys=OFF")
        if driver.execute("PRAGMA foreign_keys").fetchone()[0] != 0:
            raise RuntimeError("SQLite kept foreign keys on: a table rebuild would cascade")
    try:
        with context.begin_transaction():
            context.run_migrations()
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"the migration left rows pointing at nothing: {broken[:5]}")
    finally:
        if own:
            if connection.in_transaction():
                connection.rollback()
            driver.execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
