"""`flask --app app workdays …`: the working-day calendar (the back office does the same at
/admin/calendar)."""

from __future__ import annotations

from datetime import date

import click
from flask.cli import AppGroup
from flask_babel import force_locale

from app import workdays
from app.db import utcnow
from app.extensions import database, settings
from app.org import FormRefusal

workdays_cli = AppGroup("workdays", help="Working days: national days off and days set apart.")

OPTIONS = {"day": "DATE", "note": "--note"}


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise click.ClickException(f"DATE: {text!r} is not a date as YYYY-MM-DD") from None


@workdays_cli.command("list")
@click.option("--year", type=click.IntRange(workdays.FIRST_YEAR, workdays.LAST_YEAR),
              help="The year (default: this year).")
def workdays_list(year: int | None) -> None:
    """The year's public holidays, joint leave days and days set apart, by date."""
    year = year or utcnow().astimezone(settings().tz).year
    with database().session_scope(write=False) as session:
        days = {row.day: row for row in workdays.calendar_days(session, year)}
        lines = {h.day: f"{h.day.isoformat()} {h.day:%a}  {h.kind:<11}  {h.name}"
                 for h in workdays.national_holidays(year, "en")}
        national = len(lines)
        for day, row in days.items():
            state = "working" if row.working else "off"
            lines[day] = (lines.get(day, f"{day.isoformat()} {day:%a}  {'-':<11}  -")
                          + f"  [set apart: {state}: {row.note}]")
    for day in sorted(lines):
        click.echo(lines[day])
    click.echo(f"{year}: {national} public holiday(s) and joint leave day(s), "
               f"{len(days)} day(s) set apart")


@workdays_cli.command("add")
@click.argument("day_text", metavar="DATE")
@click.option("--off", is_flag=True, help="An extra day off.")
@click.option("--working", is_flag=True,
              help="A working day on a day the national calendar has off.")
@click.option("--note", required=True, help="Why (at most 200 characters).")
def workdays_add(day_text: str, off: bool, working: bool, note: str) -> None:
    """Set a day apart: an extra day off (--off) or a working day (--working)."""
    if off == working:
        raise click.UsageError("give one of --off or --working")
    kind = "off" if off else "working"
    day = _day(day_text)
    try:
        with database().session_scope() as session:
            workdays.set_day(session, day, kind == "working", note, user_id=None,
                             now=utcnow())
    except FormRefusal as refusal:
        with force_locale("en"):
            message = str(refusal.message).rstrip(".")
        option = OPTIONS.get(refusal.field or "")
        raise click.ClickException(
            f"{option + ': ' if option else ''}{message}; nothing changed") from None
    state = "a working day" if kind == "working" else "a day off"
    click.echo(f"{day.isoformat()}: set apart as {state}")


@workdays_cli.command("remove")
@click.argument("day_text", metavar="DATE")
def workdays_remove(day_text: str) -> None:
    """Remove a day set apart: the national calendar applies to it again."""
    day = _day(day_text)
    with database().session_scope() as session:
        removed = workdays.remove_day(session, day)
    if removed is None:
        raise click.ClickException(f"{day.isoformat()} is not set apart; nothing changed")
    click.echo(f"{day.isoformat()}: removed; the national calendar applies again")
