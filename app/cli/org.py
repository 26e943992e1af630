"""`flask --app app counters`: the organisation's public addresses (survey and arrival)."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from app.extensions import database, settings
from app.org import counters_with_urls, units_with_arrival_urls


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
