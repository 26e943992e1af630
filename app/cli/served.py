"""`flask --app app served …`: people served per counter and day, for scripts."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.extensions import database, settings
from app.models import Counter, Unit
from app.org import unit_by_code
from app.served import (
    ServedEntry,
    import_served,
    list_month,
    month_served,
    parse_day,
    parse_month,
    parse_served,
    read_import,
    save_served,
)

served_cli = AppGroup("served", help="People served per counter and day.")


def _today() -> date:
    return utcnow().astimezone(settings().tz).date()


def _unit(session: Session, code: str) -> Unit:
    unit = unit_by_code(session, code.strip())
    if unit is None:
        raise click.ClickException(f"--unit: no unit with the code {code!r}")
    return unit


@served_cli.command("set")
@click.option("--unit", "unit_code", required=True, help="Unit code.")
@click.option("--counter", "counter_code", required=True, help="Counter code in that unit.")
@click.option("--date", "day_text", required=True, help="Local day, YYYY-MM-DD.")
@click.option("--served", "served_text", required=True,
              help="People served that day (0 to 100000; 0: closed or nobody).")
def served_set(unit_code: str, counter_code: str, day_text: str, served_text: str) -> None:
    """Set (or replace) how many people a counter served on a day."""
    today = _today()
    day, day_problem = parse_day(day_text, today=today)
    served, served_problem = parse_served(served_text)
    if day_problem:
        raise click.ClickException(f"--date: {day_problem}")
    if served_problem:
        raise click.ClickException(f"--served: {served_problem}")
    assert day is not None and served is not None  # noqa: S101 (no problem: both parsed)
    with database().session_scope() as session:
        unit = _unit(session, unit_code)
        counter = session.scalar(select(Counter).where(
            Counter.unit_id == unit.id, Counter.code == counter_code.strip()))
        if counter is None:
            raise click.ClickException(
                f"--counter: unit {unit.code} has no counter {counter_code!r}")
        saved, errors = save_served(session, [ServedEntry(counter.id, day, served)],
                                    today=today, now=utcnow())
        if saved is None:
            raise click.ClickException("; ".join(errors.values()))
    click.echo(f"{unit.code} {counter.code} {day.isoformat()}: {served} people served"
               + ("" if saved.total else " (unchanged)"))


@served_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--unit", "unit_code", help="The unit of lines without a unit column.")
@click.option("--dry-run", is_flag=True, help="Check the file and print it; store nothing.")
def served_import(path: Path, unit_code: str | None, dry_run: bool) -> None:
    """Import a queue system's CSV (counter,date,served[,unit]); all lines or none."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise click.ClickException(
            f"{path}: not UTF-8 text; save the spreadsheet as CSV UTF-8") from None
    today = _today()
    with database().session_scope() as session:
        unit = _unit(session, unit_code) if unit_code else None
        preview = read_import(session, text, today=today, unit_ids=None, default_unit=unit)
        if not preview.ok:
            raise click.ClickException(f"{path}: nothing imported.\n" + "\n".join(
                f"line {line}: {reason}" for line, reason in preview.errors))
        if dry_run:
            for item in preview.lines:
                click.echo(f"{item.unit_code} {item.counter_code} "
                           f"{item.entry.day.isoformat()} {item.entry.served}")
            click.echo(f"dry run: {len(preview.lines)} line(s) would be imported "
                       f"({preview.total} people served); nothing stored")
            return
        saved, errors = import_served(session, preview, today=today, now=utcnow())
        if saved is None:
            raise click.ClickException(f"{path}: nothing imported.\n" + "\n".join(
                errors.values()))
    click.echo(f"imported {len(preview.lines)} line(s): {saved.added} added, "
               f"{saved.changed} changed ({preview.total} people served)")


@served_cli.command("list")
@click.option("--unit", "unit_code", required=True, help="Unit code.")
@click.option("--month", "month_text", required=True, help="Month, YYYY-MM.")
def served_list(unit_code: str, month_text: str) -> None:
    """A unit's counts in a month, and the month's total (the sample's population)."""
    month, problem = parse_month(month_text)
    if problem or month is None:
        raise click.ClickException(f"--month: {problem}")
    with database().session_scope(write=False) as session:
        unit = _unit(session, unit_code)
        rows = list_month(session, unit.id, month)
        total = month_served(session, unit.id, month)
    for row in rows:
        click.echo(f"{row.day.isoformat()}  {row.counter_code or '(unit total)':<12} "
                   f"{row.served:>7}  {row.source}")
    click.echo(f"{unit.code} {month:%Y-%m}: "
               + (f"{total} people served" if total is not None else "no count"))
