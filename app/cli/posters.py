"""`flask --app app qr`, `qr-reissue`, `qr-sheet`: posters, a new QR code, one sheet."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from app.audit import record_export
from app.counter_posters import (
    POSTER_FORMATS,
    counter_by_codes,
    poster_file,
    record_poster_download,
    reissue_qr,
    survey_url,
)
from app.extensions import database, settings
from app.models import Counter
from app.org import CODE_PATTERN, DomainError, unit_by_code
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
        unit_id = unit.id
    # Posters are an export: recorded once written (a failed run wrote nothing to record).
    with database().session_scope() as session:
        record_export(session, "posters", {"unit": unit_code, "unit_id": unit_id,
                                           "files": len(paths)})
    for path in paths:
        click.echo(str(path))
    for counter in skipped:
        click.echo(f"note: no poster for counter {counter.code} ({counter.name}): {counter.reason}")


def _counter(session: Session, unit_code: str, counter_code: str) -> Counter:
    # Codes are checked before the lookup: a NUL byte never reaches the database.
    for option, code in (("--unit", unit_code), ("--counter", counter_code)):
        if not CODE_PATTERN.fullmatch(code):
            raise click.BadParameter(f"{code!r} is not a code (1–32 letters, digits, '-' "
                                     "or '_')", param_hint=option)
    counter = counter_by_codes(session, unit_code, counter_code)
    if counter is None:
        raise click.ClickException(f"unit {unit_code!r} has no counter {counter_code!r}")
    return counter


@click.command("qr-reissue")
@click.option("--unit", "unit_code", required=True, help="Code of the counter's unit.")
@click.option("--counter", "counter_code", required=True, help="Code of the counter.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def qr_reissue_command(unit_code: str, counter_code: str, yes: bool) -> None:
    """Issue a counter a new QR code: its old posters stop working at once."""
    with database().session_scope() as session:
        counter = _counter(session, unit_code, counter_code)
        if not yes:
            click.confirm(f"The old posters of {counter.name} ({unit_code}) stop working. "
                          "Issue a new QR code?", abort=True)
        try:
            token = reissue_qr(session, counter)
        except DomainError as exc:
            raise click.ClickException(str(exc)) from None
        url = survey_url(token.token, settings().public_base_url)
    click.echo(url)
    click.echo("print and hang the new poster: the old ones no longer work", err=True)


@click.command("qr-sheet")
@click.option("--unit", "unit_code", required=True, help="Code of the counter's unit.")
@click.option("--counter", "counter_code", required=True, help="Code of the counter.")
@click.option("--format", "fmt", type=click.Choice(sorted(POSTER_FORMATS)), default="pdf",
              show_default=True,
              help="png or svg: the QR code alone; pdf: an A4 sheet with the staff code on "
                   "the back.")
@click.option("--out", "out_file", required=True,
              type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="File to write.")
@with_appcontext
def qr_sheet_command(unit_code: str, counter_code: str, fmt: str, out_file: Path) -> None:
    """Write one counter's poster (an export: recorded in the audit log)."""
    kind = POSTER_FORMATS[fmt][0]
    with database().session_scope() as session:
        counter = _counter(session, unit_code, counter_code)
        made = poster_file(session, counter, kind, settings().public_base_url)
        if made is None:
            raise click.ClickException(f"counter {counter_code} of {unit_code} has no poster: "
                                       "it is no longer in use or has no live QR code")
        try:
            out_file.write_bytes(made.content)
        except OSError as exc:
            raise click.ClickException(f"cannot write {out_file}: {exc.strerror or exc}") \
                from None
        record_poster_download(session, counter.id, kind, made.token_id)
    click.echo(str(out_file))
