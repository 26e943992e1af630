"""`flask --app app org …` (the organisation as a file) and `counters` (public addresses)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import AppGroup, with_appcontext
from flask_babel import force_locale

from app import audit
from app.extensions import database, settings
from app.org import DomainError, counters_with_urls, units_with_arrival_urls
from app.orgfile import OrgFileError, apply_text, export_text, set_active

org_cli = AppGroup("org", help="The organisation (units, services, counters) as a TOML file.")


@org_cli.command("apply")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Print what would change; change nothing.")
@click.option("--deactivate-missing", is_flag=True,
              help="Deactivate units, services and counters the file leaves out.")
def org_apply(path: Path, dry_run: bool, deactivate_missing: bool) -> None:
    """Make the organisation what FILE declares: all of it or, on any error, nothing."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise click.ClickException(f"{path.name}: not UTF-8 text") from None
    try:
        # Messages shared with the (Indonesian by default) forms: the CLI speaks English.
        with force_locale("en"), database().session_scope(write=not dry_run) as session:
            changes = apply_text(session, text, path.name, dry_run=dry_run,
                                 deactivate_missing=deactivate_missing)
            if dry_run:
                session.rollback()
    except OrgFileError as exc:
        raise click.ClickException(f"nothing applied.\n{exc}") from None
    for change in changes:
        for line in change.describe():
            click.echo(line)
    verb = "would change" if dry_run else "changed"
    click.echo(f"{path.name}: {verb} {len(changes)} entries" if changes
               else f"{path.name}: no change")


@org_cli.command("export")
@click.option("--out", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Write to this file instead of standard output.")
def org_export(out: Path | None) -> None:
    """Write the organisation as a TOML file (inactive entries included, no tokens)."""
    try:
        with database().session_scope() as session:
            text = export_text(session)
            audit.record(session, "org.export", after={"out": str(out) if out else "-"})
            if out is not None:  # inside the transaction: no audit entry for a failed write
                out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"{out}: cannot be written ({exc.strerror})") from None
    if out is None:
        click.echo(text, nl=False)
    else:
        click.echo(f"wrote {out}", err=True)


KINDS = ("unit", "service", "counter")


def _set_active(kind: str, ref: str, active: bool) -> None:
    try:
        with database().session_scope() as session:
            changed = set_active(session, kind, ref, active)
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None
    state = "active" if active else "inactive"
    click.echo(f"{kind} {ref}: now {state}" if changed else f"{kind} {ref}: already {state}")


@org_cli.command("deactivate")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("ref", metavar="CODE|UNIT/CODE")
def org_deactivate(kind: str, ref: str) -> None:
    """Deactivate a unit (CODE) or a service or counter (UNIT/CODE); nothing is deleted."""
    _set_active(kind, ref, False)


@org_cli.command("reactivate")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("ref", metavar="CODE|UNIT/CODE")
def org_reactivate(kind: str, ref: str) -> None:
    """Reactivate a unit (CODE) or a service or counter (UNIT/CODE)."""
    _set_active(kind, ref, True)


@click.command("counters")
@with_appcontext
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object per counter (with its unit's arrival URL).")
def counters_command(as_json: bool) -> None:
    """List every unit's arrival URL and every counter with its public survey URL."""
    base = settings().public_base_url
    with database().session_scope(write=False) as session:
        units = units_with_arrival_urls(session, base)
        rows = counters_with_urls(session, base)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for unit in units:
        click.echo(f"{unit['unit']:<9} {'arrival':<8} {'(arrival poster)':<18} "
                   f"{unit['arrival_url']}")
    for row in rows:
        click.echo(f"{row['unit']!s:<9} {row['counter']!s:<8} {row['name']!s:<18} {row['url']}")
