"""Alembic driven from the application's settings (`flask --app app db …`)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, create_engine, text

from app.config import PROJECT_ROOT

MIGRATIONS_DIR = PROJECT_ROOT / "migrations"


def alembic_config(database_url: str) -> Config:
    """An Alembic Config pointing at our migrations and the given database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision``."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "-1") -> None:
    """Revert migrations down to ``revision`` (one step by default)."""
    command.downgrade(alembic_config(database_url), revision)


def check(database_url: str) -> None:
    """Raise if the models and the migrated schema differ (alembic's drift check)."""
    command.check(alembic_config(database_url))


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The single head revision of the migrations directory."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


# Functions of the current schema that no extension owns (the audit log's trigger function).
_OWN_FUNCTIONS = text(
    "SELECT p.oid::regprocedure::text FROM pg_proc p "
    "JOIN pg_namespace n ON n.oid = p.pronamespace "
    "WHERE n.nspname = current_schema() AND NOT EXISTS ("
    "SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')")


def recreate(database_url: str) -> None:
    """Drop every table (and on PostgreSQL every function of ours), then migrate to head:
    a new, empty database at the same address (``demo --reset``; the audit log refuses
    DELETE, so this is the only way to start over)."""
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            tables = MetaData()
            tables.reflect(connection)
            tables.drop_all(connection)
            if connection.dialect.name == "postgresql":
                for (function,) in connection.execute(_OWN_FUNCTIONS).all():
                    connection.execute(text(f"DROP FUNCTION {function}"))
    finally:
        engine.dispose()
    upgrade(database_url)
