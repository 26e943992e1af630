"""`flask --app app export responses`: raw responses for the back office."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import AppGroup

from app.audit import record_export
from app.export import export_rows, write_csv, write_jsonl
from app.extensions import database, settings
from app.org import unit_by_code

export_cli = AppGroup("export", help="Back-office exports.")


@export_cli.command("responses")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv",
              show_default=True)
@click.option("--unit", "unit_code", help="Only this unit (code).")
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]),
              help="First local day (YYYY-MM-DD), inclusive.")
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]),
              help="Last local day (YYYY-MM-DD), inclusive.")
@click.option("--out", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              help="Output file (default: standard output).")
def export_responses(fmt: str, unit_code: str | None, first: datetime | None,
                     last: datetime | None, out: str) -> None:
    """Raw responses, one row each, columns in the order the README documents."""
    if first and last and first > last:
        raise click.ClickException("--from is after --to")
    with database().session_scope() as session:
        if unit_code and unit_by_code(session, unit_code) is None:
            raise click.ClickException(f"unknown unit code {unit_code!r}")
        # Recorded before a row is written, in its own transaction: an export cut short
        # (an error, Ctrl-C) has handed out data all the same.
        record_export(session, "responses", {
            "format": fmt, "unit": unit_code, "from": first.date() if first else None,
            "to": last.date() if last else None, "out": out})
    with database().session_scope(write=False) as session:
        rows = export_rows(session, settings().tz, unit_code=unit_code,
                           first=first.date() if first else None,
                           last=last.date() if last else None)
        # Opened once the arguments are known good, and always: an export of nothing is an
        # empty file (JSON Lines) or a header (CSV), which a script can rely on.
        with click.open_file(out, "w", encoding="utf-8") as stream:
            count = (write_csv if fmt == "csv" else write_jsonl)(rows, stream)
    click.echo(f"exported {count} responses", err=True)
