"""`flask --app app qr`: write a unit's printable QR posters."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from app.extensions import database, settings
from app.org import DomainError, unit_by_code
from app.posters import render_posters_html, skipped_counters, write_unit_posters


@click.command("qr")
@click.option("--unit", "unit_code", required=True, help="Code of the unit whose posters to write.")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write into (created if missing).",
)
@with_appcontext
def qr_command(unit_code: str, out_dir: Path) -> None:
    """Write a unit's QR codes (PNG, SVG) and poster sheets (HTML, PDF; A4 and A5)."""
    with database().session_scope(write=False) as session:
        unit = unit_by_code(session, unit_code)
        if unit is None:
            raise click.ClickException(f"unknown unit code {unit_code!r}")
        try:
            paths = write_unit_posters(
                session, unit, out_dir, settings().public_base_url, render_posters_html
            )
        except DomainError as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:  # a folder that cannot be made or written, a name taken
            where = exc.filename or out_dir
            raise click.ClickException(f"cannot write the posters: {where}: "
                                       f"{exc.strerror or exc}") from None
        skipped = skipped_counters(session, unit)
    for path in paths:
        click.echo(str(path))
    for counter in skipped:
        click.echo(f"note: no poster for counter {counter.code} ({counter.name}): {counter.reason}")
