"""`flask --app app digest preview`: a unit's weekly digest as it would be sent, printed; the
scheduler sends the real ones on Monday mornings."""

from __future__ import annotations

from datetime import date, timedelta

import click
from flask.cli import AppGroup

from app.db import utcnow
from app.digests import compose_digest
from app.extensions import database, settings
from app.org import unit_by_code
from app.summary import last_complete_week

digest_cli = AppGroup("digest", help="The weekly digest of unit heads.")


@digest_cli.command("preview")
@click.option("--unit", "code", required=True, help="The unit's code.")
@click.option("--week", help="A day of the week to summarise, YYYY-MM-DD (default: the last "
                             "complete week).")
def digest_preview(code: str, week: str | None) -> None:
    """Print the subject and text of the unit's digest; nothing is written or sent."""
    now = utcnow()
    tz = settings().tz
    if week is None:
        week_start = last_complete_week(now, tz)
    else:
        try:
            day = date.fromisoformat(week.strip())
        except ValueError:
            raise click.ClickException(
                f"--week: {week!r} is not a date as YYYY-MM-DD; nothing printed") from None
        if not 2000 <= day.year <= 2100:
            raise click.ClickException(
                f"--week: {week!r} is not a year from 2000 to 2100; nothing printed")
        week_start = day - timedelta(days=day.weekday())
    with database().session_scope(write=False) as session:
        unit = unit_by_code(session, code) if code.isascii() and code.isprintable() else None
        if unit is None:
            raise click.ClickException(f"--unit: no unit with code {code!r}; nothing printed")
        subject, body = compose_digest(session, unit, week_start, settings(), now=now)
    click.echo(f"Subject: {subject}\n\n{body}")
