"""`flask --app app duty …`: officers' duties (closing the open ones at closing time)."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import AppGroup

from app.db import utcnow
from app.duty import close_open_duties
from app.extensions import database, settings

duty_cli = AppGroup("duty", help="Officers' duties at the counters.")


def _instant(value: str | None) -> datetime:
    """``--now`` as an aware instant: ISO 8601, local time (the configured zone) when it
    names no offset; the real clock when absent."""
    if value is None:
        return utcnow()
    if len(value) > 64 or not value.isprintable():
        raise click.BadParameter("expected an ISO 8601 date and time such as "
                                 "2026-12-04T16:30+07:00", param_hint="--now")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 date and time, e.g. 2026-12-04T16:30+07:00",
            param_hint="--now") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=settings().tz)


@duty_cli.command("close-open")
@click.option("--now", "now_text", metavar="ISO",
              help="Close as of this instant (default: now); without an offset, local time.")
def close_open(now_text: str | None) -> None:
    """End every open duty whose unit has closed since it began, at that closing time."""
    now = _instant(now_text)
    tz = settings().tz
    with database().session_scope() as session:
        closed = close_open_duties(session, now=now, tz=tz)
        for duty in closed:
            assert duty.ends_at is not None  # noqa: S101 (just closed)
            click.echo(f"{duty.officer.name} at {duty.counter.name}: "
                       f"{duty.starts_at.astimezone(tz):%Y-%m-%d %H:%M} – "
                       f"{duty.ends_at.astimezone(tz):%H:%M}")
    click.echo(f"closed {len(closed)} open duties as of {now.astimezone(tz).isoformat()}")
