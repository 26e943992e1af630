"""`flask --app app officers import`: officers (ASN) from a CSV file."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from app.extensions import database
from app.org import DomainError, import_officers

officers_cli = AppGroup("officers", help="Officers (ASN).")


@officers_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def officers_import(path: Path) -> None:
    """Import officers from a CSV file (nip,name,unit,position); all rows or none."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise click.ClickException(
            f"{path}: not UTF-8 text; save the spreadsheet as CSV UTF-8") from None
    try:
        with database().session_scope() as session:
            count = len(import_officers(session, text))
    except DomainError as exc:
        raise click.ClickException(f"{path}: nothing imported.\n{exc}") from None
    click.echo(f"imported {count} officers")
