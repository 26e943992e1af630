"""`flask --app app officers …`: list, create, update, (de)activate, move and import officers."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from app import officers as domain
from app.extensions import database, settings
from app.models import Officer
from app.org import DomainError

officers_cli = AppGroup("officers", help="Officers (ASN).")


def _officer(session: Session, nip: str) -> Officer:
    found = domain.officer_by_nip(session, nip)
    if found is None:
        raise click.ClickException(f"no officer with NIP {nip!r}")
    return found


@officers_cli.command("list")
@click.option("--unit", "unit_code", help="Only this unit's officers (its code).")
@click.option("--search", default="", help="A part of the name, or the start of the NIP.")
def officers_list(unit_code: str | None, search: str) -> None:
    """List officers (NIP, name, unit, position, status), by name."""
    with database().session_scope(write=False) as session:
        try:
            units = None if unit_code is None else {
                domain.unit_for_code(session, unit_code).id}
        except DomainError as exc:
            raise click.ClickException(str(exc)) from None
        page = 1
        while True:
            found = domain.search_officers(session, units, search, page=page, per_page=500)
            for officer in found.officers:
                status = "active" if officer.active else "inactive"
                click.echo(f"{officer.nip}\t{officer.name}\t{officer.unit.code}\t"
                           f"{officer.position}\t{status}")
            if page >= found.pages:
                break
            page += 1
        click.echo(f"{found.total} officers", err=True)


@officers_cli.command("create")
@click.option("--nip", required=True)
@click.option("--name", required=True)
@click.option("--unit", "unit_code", required=True, help="The unit's code.")
@click.option("--position", required=True)
def officers_create(nip: str, name: str, unit_code: str, position: str) -> None:
    """Register an officer."""
    try:
        with database().session_scope() as session:
            unit = domain.unit_for_code(session, unit_code)
            officer = domain.create(session, nip, name, unit, position)
            click.echo(f"registered {officer.name} ({officer.nip}) in {unit.code}")
    except domain.OfficerError as exc:
        raise click.ClickException(f"--{exc.field or 'nip'}: {exc}") from None


@officers_cli.command("update")
@click.argument("nip")
@click.option("--name")
@click.option("--position")
def officers_update(nip: str, name: str | None, position: str | None) -> None:
    """Change an officer's name and/or position."""
    if name is None and position is None:
        raise click.UsageError("give --name and/or --position")
    try:
        with database().session_scope() as session:
            officer = domain.update(session, _officer(session, nip), name=name,
                                    position=position)
            click.echo(f"updated {officer.nip}: {officer.name}, {officer.position}")
    except domain.OfficerError as exc:
        raise click.ClickException(f"--{exc.field}: {exc}") from None


def _set_active(nip: str, active: bool) -> None:
    try:
        with database().session_scope() as session:
            officer = domain.set_active(session, _officer(session, nip), active)
            click.echo(f"{'reactivated' if active else 'deactivated'} {officer.nip}")
    except domain.OfficerError as exc:
        raise click.ClickException(str(exc)) from None


@officers_cli.command("deactivate")
@click.argument("nip")
def officers_deactivate(nip: str) -> None:
    """Deactivate an officer (no more check-ins; the history stays)."""
    _set_active(nip, False)


@officers_cli.command("reactivate")
@click.argument("nip")
def officers_reactivate(nip: str) -> None:
    """Reactivate an officer."""
    _set_active(nip, True)


@officers_cli.command("move")
@click.argument("nip")
@click.option("--to", "unit_code", required=True, help="The new unit's code.")
@click.option("--on", "moved_on", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="The date of the move (YYYY-MM-DD; default today).")
def officers_move(nip: str, unit_code: str, moved_on: datetime | None) -> None:
    """Move an officer to another unit (mutasi); open duties end now."""
    day = moved_on.date() if moved_on is not None else None
    try:
        with database().session_scope() as session:
            officer = _officer(session, nip)
            move = domain.move(session, officer, domain.unit_for_code(session, unit_code),
                               moved_on=day, tz=settings().tz)
            click.echo(f"moved {officer.nip} to {officer.unit.code} on "
                       f"{move.moved_on.isoformat()}")
    except domain.OfficerError as exc:
        option = {"unit": "--to", "moved_on": "--on"}.get(exc.field or "", "NIP")
        raise click.ClickException(f"{option}: {exc}") from None


@officers_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Print what would be imported; change nothing.")
def officers_import(path: Path, dry_run: bool) -> None:
    """Import officers from a CSV file (nip,name,unit,position); all rows or none."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise click.ClickException(
            f"{path}: not UTF-8 text; save the spreadsheet as CSV UTF-8") from None
    if dry_run:
        with database().session_scope(write=False) as session:
            preview = domain.preview_import(session, text)
            if not preview.ok:
                raise click.ClickException(f"{path}: nothing would be imported.\n" + "\n".join(
                    str(problem) for problem in preview.problems))
            for row in preview.rows:
                click.echo(f"line {row.line}: {row.nip}\t{row.name}\t{row.unit.code}\t"
                           f"{row.position}")
            click.echo(f"would import {len(preview.rows)} officers (dry run: nothing changed)")
            session.rollback()
        return
    try:
        with database().session_scope() as session:
            count = len(domain.import_officers(session, text))
    except DomainError as exc:
        raise click.ClickException(f"{path}: nothing imported.\n{exc}") from None
    click.echo(f"imported {count} officers")
