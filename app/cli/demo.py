"""`flask --app app demo`: seed the demo Kotabumi and say where to look."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import with_appcontext

from app.db import utcnow
from app.demo import DemoRefused, refuse_production, report_lines, run_demo
from app.extensions import database, settings, surveys
from app.feedback import DEFAULT_SURVEY_ID
from app.migrate import recreate
from app.surveys import latest


@click.command("demo")
@with_appcontext
@click.option("--reset", is_flag=True,
              help="Drop the whole database, migrate it again and seed the demo.")
@click.option("--weeks", type=click.IntRange(0, 104), default=0, show_default=True,
              help="Also create this many weeks of responses (when there are none yet).")
@click.option("--seed", type=int, default=2017, show_default=True,
              help="Random seed: the same seed gives the same demo.")
def demo_command(reset: bool, weeks: int, seed: int) -> None:
    """Seed the demo Kotabumi when the database is empty (idempotent), then print the
    survey and arrival URLs and the logins."""
    config = settings()
    try:
        refuse_production(config.app_env)
        if reset:
            # The audit log refuses DELETE, so starting over means a new database.
            database().dispose()
            recreate(config.database_url)
        with database().session_scope() as session:
            report = run_demo(session, surveys().values(), latest(surveys(), DEFAULT_SURVEY_ID),
                              app_env=config.app_env, today=datetime.now(config.tz).date(),
                              tz=config.tz, public_base_url=config.public_base_url,
                              weeks=weeks, seed=seed, now=utcnow(),
                              min_n=config.officer_min_n)
    except DemoRefused as exc:
        raise click.ClickException(str(exc)) from None
    # Printed after the commit: a closed pipe (`| head`) must not roll the seed back.
    for line in report_lines(report):
        click.echo(line)
