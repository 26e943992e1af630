"""`flask --app app backup` and `restore`: the whole database to a file and back."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from app import backups
from app.extensions import database


@click.command("backup")
@with_appcontext
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="The backup file to write (a new file): an SQLite database on SQLite, a "
                   "pg_dump archive (custom format) on PostgreSQL.")
def backup_command(out: Path) -> None:
    """Back up the database while the service runs, without the day's address salts."""
    try:
        info = backups.backup(database(), out)
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"file: {info.path}")
    click.echo(f"size: {info.size} bytes")
    click.echo(f"responses: {_shown(info.responses)}")
    click.echo(f"revision: {info.revision or '(none)'}")


@click.command("restore")
@with_appcontext
@click.argument("source", type=click.Path(path_type=Path))
def restore_command(source: Path) -> None:
    """Restore a backup into this EMPTY database, then migrate it to head (db upgrade)."""
    try:
        info = backups.restore(database(), source)
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"restored: {info.path} (revision {info.revision}, "
               f"{_shown(info.responses)} responses)")
    click.echo(f"upgraded to: {info.upgraded_to}")


def _shown(count: int | None) -> str:
    return "(no responses table)" if count is None else str(count)
