"""`flask --app app aggregate` and `indicators`: compute and read the stored indicators."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from app.auth import scores_shown_from, shown_rows
from app.db import cannot_write, utcnow
from app.extensions import database, settings
from app.indicators import indicator_rows
from app.periods import PERIOD_KINDS


@click.command("aggregate")
@click.option("--full", is_flag=True, help="Rebuild every indicator instead of the new ones.")
@click.option("--wait", "wait_seconds", type=click.IntRange(0, 3600), default=30,
              show_default=True,
              help="Seconds to wait while another run (the scheduler's) holds the lock; "
                   "then exit 1 with a message (on SQLite at least its busy timeout).")
@with_appcontext
def aggregate_command(full: bool, wait_seconds: int) -> None:
    """Run one aggregation pass now (incremental unless --full)."""
    # The job modules stay out of the web processes.
    from app.jobs import AggregationBusy, aggregate_when_free

    started = time.perf_counter()
    try:
        run = aggregate_when_free(database(), clock=utcnow, full=full,
                                  wait=timedelta(seconds=wait_seconds))
    except AggregationBusy as busy:
        raise click.ClickException(
            f"another aggregation run (the scheduler's?) was in progress for more than "
            f"{wait_seconds} s; nothing was written: run again later or give --wait more "
            f"seconds ({busy})") from None
    except SQLAlchemyError as error:
        if not cannot_write(error):
            raise
        first_line = str(getattr(error, "orig", None) or error).splitlines()[0]
        raise click.ClickException(
            f"the database cannot be reached or written: {first_line}") from None
    click.echo(f"{'full rebuild' if run.full else 'incremental'}: {run.buckets} buckets, "
               f"{run.rows} rows written in {time.perf_counter() - started:.2f} s; "
               f"responses received up to {run.watermark.isoformat()} are included")


@click.command("indicators")
@click.option("--scope", type=click.Choice(["unit", "counter", "service", "officer"]),
              required=True)
@click.option("--period", type=click.Choice(list(PERIOD_KINDS)), required=True,
              help="A month, quarter, semester or year is the ISO weeks whose Thursday "
                   "falls in it.")
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]),
              help="First period start (local date), inclusive.")
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]),
              help="Last period start (local date), inclusive.")
@click.option("--json", "as_json", is_flag=True, help="JSON array (default: a table).")
@with_appcontext
def indicators_command(scope: str, period: str, first: datetime | None,
                       last: datetime | None, as_json: bool) -> None:
    """Print stored indicators whose period starts in the range (all without a range)."""
    if first and last and first > last:
        raise click.ClickException("--from is after --to")
    with database().session_scope(write=False) as session:
        rows = indicator_rows(session, scope, period, first=first.date() if first else None,
                              last=last.date() if last else None,
                              rates_min_n=scores_shown_from(scope, settings().officer_min_n),
                              tz=settings().tz)
    rows, withheld = shown_rows(rows, scope, settings().officer_min_n)
    if withheld:
        click.echo(f"{withheld} row(s) withheld: fewer than OFFICER_MIN_N="
                   f"{settings().officer_min_n} responses", err=True)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        who = row.get(scope, "") if scope != "unit" else ""
        click.echo(f"{row['period_start']} ({row['first_day']} to {row['last_day']})  "
                   f"{row['unit']:<9} {who:<20} n={row['n']:<5} "
                   f"IKM {row['ikm'] if row['ikm'] is not None else '-':>6} "
                   f"{row['category'] or '-'}" + _rate_text(row))


def _rate_text(row: dict[str, object]) -> str:
    """The row's sample (unit months) or response rate (counter and officer months)."""
    sample = row.get("sample")
    if isinstance(sample, dict) and sample.get("served") is not None:
        adequate = "adequate" if sample["adequate"] else "not adequate"
        return f"  served {sample['served']} sample {sample['required']} {adequate}"
    rate = row.get("response_rate")
    if isinstance(rate, dict) and rate.get("rate") is not None:
        return f"  served {rate['served']} response rate {float(str(rate['rate'])):.1%}"
    return ""
