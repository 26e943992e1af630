"""`flask --app app db …`: Alembic migrations and the drift check."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app import migrate
from app.extensions import database, settings

db_cli = AppGroup("db", help="Database migrations (Alembic).")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    migrate.upgrade(settings().database_url, revision)


@db_cli.command("downgrade")
@click.argument("revision", default="-1")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (default: one step)."""
    migrate.downgrade(settings().database_url, revision)


@db_cli.command("check")
def db_check() -> None:
    """Fail when the database is not at head or the models drifted from the migrations."""
    current = migrate.current_revision(database().engine)
    head = migrate.head_revision()
    if current != head:
        raise click.ClickException(f"database is at revision {current or '(empty)'}, head is "
                                   f"{head}: run `flask --app app db upgrade`")
    try:
        migrate.check(settings().database_url)
    except Exception as exc:  # alembic raises a bare util.CommandError with the diff
        raise click.ClickException(f"models and migrations differ: {exc}") from None
    click.echo(f"database at head ({head}); no drift between models and migrations")
