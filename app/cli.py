"""`flask --app app …` commands: thin wrappers over the domain modules."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import IO

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import delete, select
from werkzeug.serving import run_simple

from app import migrate
from app.aggregation import STATE_NAME as AGGREGATION_STATE
from app.db import utcnow
from app.demo import clear_all, demo_logins, demo_present, seed_demo, seed_history
from app.export import export_rows, write_csv, write_jsonl
from app.extensions import database, settings, surveys
from app.feedback import DEFAULT_SURVEY_ID
from app.models import AggregationState, Officer, Response
from app.org import DomainError, counters_with_urls, import_officers, unit_by_code
from app.survey_versions import SurveyVersionChanged, sync_survey_versions
from app.surveys import latest
from app.users import create_user

db_cli = AppGroup("db", help="Database migrations (Alembic).")
surveys_cli = AppGroup("surveys", help="Survey definitions in surveys/.")
officers_cli = AppGroup("officers", help="Officers (ASN).")
users_cli = AppGroup("users", help="Staff accounts.")


def _fail(message: str) -> None:
    raise click.ClickException(message)


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    migrate.upgrade(settings().database_url, revision)


@db_cli.command("downgrade")
@click.argument("revision", default="-1")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (default: one step)."""
    migrate.downgrade(settings().database_url, revision)


@db_cli.command("check")
def db_check() -> None:
    """Fail when the database is not at head or the models drifted from the migrations."""
    current = migrate.current_revision(database().engine)
    head = migrate.head_revision()
    if current != head:
        _fail(f"database is at revision {current or '(empty)'}, head is {head}: "
              "run `flask --app app db upgrade`")
    try:
        migrate.check(settings().database_url)
    except Exception as exc:  # alembic raises a bare util.CommandError with the diff
        _fail(f"models and migrations differ: {exc}")
    click.echo(f"database at head ({head}); no drift between models and migrations")


@surveys_cli.command("sync")
def surveys_sync() -> None:
    """Record new survey versions; stop if a published version's file was edited."""
    try:
        with database().session_scope() as session:
            added = sync_survey_versions(session, surveys().values())
    except SurveyVersionChanged as exc:
        _fail(str(exc))
    for row in added:
        click.echo(f"published survey {row.survey_id} version {row.version}")


@click.command("demo")
@with_appcontext
@click.option("--reset", is_flag=True, help="Delete everything and seed the demo again.")
@click.option("--weeks", type=click.IntRange(0, 104), default=0, show_default=True,
              help="Also create this many weeks of responses (when there are none yet).")
@click.option("--seed", type=int, default=2017, show_default=True,
              help="Random seed: the same seed gives the same demo.")
def demo_command(reset: bool, weeks: int, seed: int) -> None:
    """Seed the demo Kotabumi when the database is empty (idempotent), then print the logins."""
    config = settings()
    if config.app_env == "production":
        _fail("the demo world is not for production (APP_ENV=production)")
    today = datetime.now(config.tz).date()
    with database().session_scope() as session:
        if reset:
            clear_all(session)
        sync_survey_versions(session, surveys().values())
        if demo_present(session):
            click.echo("The database already holds an organisation; nothing seeded "
                       "(use --reset to start over).")
        else:
            seed_demo(session, today=today, tz=config.tz, weeks_back=max(weeks, 8), seed=seed)
            click.echo("Seeded the demo Kotabumi.")
        if weeks and session.scalar(select(Response.id).limit(1)) is None:
            count = seed_history(session, latest(surveys(), DEFAULT_SURVEY_ID), today=today,
                                 tz=config.tz, weeks=weeks, seed=seed)
            # The history was received in the past, behind any aggregation watermark:
            # the next aggregation run must be a full rebuild to see it.
            session.execute(delete(AggregationState).where(
                AggregationState.name == AGGREGATION_STATE))
            click.echo(f"Created {count} demo responses over {weeks} weeks.")
    # Printed after the commit: a closed pipe (`| head`) must not roll the seed back.
    with database().session_scope(write=False) as session:
        _print_where_to_look(session)


def _print_where_to_look(session) -> None:  # type: ignore[no-untyped-def]
    counters = counters_with_urls(session, settings().public_base_url)
    click.echo("\nCounter survey URLs (QR codes point here):")
    for row in counters:
        click.echo(f"  {row['unit']:<9} {row['name']:<18} {row['url']}")
    logins = demo_logins(session)
    if logins:
        click.echo("\nDemo staff logins (demo passwords, never for production):")
        for login in logins:
            scope = f" ({login.unit})" if login.unit else ""
            click.echo(f"  {login.role:<10} {login.email:<38} {login.password}{scope}")


@click.command("counters")
@with_appcontext
@click.option("--json", "as_json", is_flag=True, help="One JSON object per counter.")
def counters_command(as_json: bool) -> None:
    """List every counter with its public survey URL."""
    with database().session_scope(write=False) as session:
        rows = counters_with_urls(session, settings().public_base_url)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(f"{row['unit']:<9} {row['counter']:<8} {row['name']:<18} {row['url']}")


@officers_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def officers_import(path: Path) -> None:
    """Import officers from a CSV file (nip,name,unit,position); all rows or none."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        _fail(f"{path}: not UTF-8 text; save the spreadsheet as CSV UTF-8")
    try:
        with database().session_scope() as session:
            officers = import_officers(session, text)
    except DomainError as exc:
        _fail(f"{path}: nothing imported.\n{exc}")
    click.echo(f"imported {len(officers)} officers")


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice(["admin", "unit_head", "officer",
                                                          "viewer"]))
@click.option("--unit", "unit_code", help="Unit code (required for unit_head and officer).")
@click.option("--nip", help="The officer's NIP (required for the officer role).")
@click.password_option(help="Prompted for (twice) when not given.")
def users_create(email: str, role: str, unit_code: str | None, nip: str | None,
                 password: str) -> None:
    """Create a staff account."""
    try:
        with database().session_scope() as session:
            unit = unit_by_code(session, unit_code) if unit_code else None
            if unit_code and unit is None:
                _fail(f"unknown unit code {unit_code!r}")
            officer = None
            if nip:
                officer = session.scalars(select(Officer).where(Officer.nip == nip)).one_or_none()
                if officer is None:
                    _fail(f"no officer with NIP {nip}")
            user = create_user(session, email, password, role, unit=unit, officer=officer)
            click.echo(f"created {user.role} {user.email}")
    except DomainError as exc:
        _fail(str(exc))


export_cli = AppGroup("export", help="Back-office exports.")


@export_cli.command("responses")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv",
              show_default=True)
@click.option("--unit", "unit_code", help="Only this unit (code).")
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]),
              help="First local day (YYYY-MM-DD), inclusive.")
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]),
              help="Last local day (YYYY-MM-DD), inclusive.")
@click.option("--out", type=click.File("w", encoding="utf-8", lazy=True), default="-",
              help="Output file (default: standard output).")
def export_responses(fmt: str, unit_code: str | None, first: datetime | None,
                     last: datetime | None, out: IO[str]) -> None:
    """Raw responses, one row each, columns in the order the README documents."""
    if first and last and first > last:
        _fail("--from is after --to")
    with database().session_scope(write=False) as session:
        if unit_code and unit_by_code(session, unit_code) is None:
            _fail(f"unknown unit code {unit_code!r}")
        rows = export_rows(session, settings().tz, unit_code=unit_code,
                           first=first.date() if first else None,
                           last=last.date() if last else None)
        count = (write_csv if fmt == "csv" else write_jsonl)(rows, out)
    click.echo(f"exported {count} responses", err=True)


@click.command("aggregate")
@click.option("--full", is_flag=True, help="Rebuild every indicator instead of the new ones.")
@with_appcontext
def aggregate_command(full: bool) -> None:
    """Run one aggregation pass now (incremental unless --full)."""
    from app.jobs import run_aggregation

    started = time.perf_counter()
    run = run_aggregation(database(), now=utcnow(), full=full)
    click.echo(f"{'full rebuild' if run.full else 'incremental'}: {run.buckets} buckets, "
               f"{run.rows} rows written in {time.perf_counter() - started:.2f} s; "
               f"responses received up to {run.watermark.isoformat()} are included")


@click.command("indicators")
@click.option("--scope", type=click.Choice(["unit", "counter", "service", "officer"]),
              required=True)
@click.option("--period", type=click.Choice(["day", "week", "month"]), required=True)
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]),
              help="First period start (local date), inclusive.")
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]),
              help="Last period start (local date), inclusive.")
@click.option("--json", "as_json", is_flag=True, help="JSON array (default: a table).")
@with_appcontext
def indicators_command(scope: str, period: str, first: datetime | None,
                       last: datetime | None, as_json: bool) -> None:
    """Print stored indicators whose period starts in the range (all without a range)."""
    from app.auth import shown_rows
    from app.indicators import indicator_rows

    if first and last and first > last:
        _fail("--from is after --to")
    with database().session_scope(write=False) as session:
        rows = indicator_rows(session, scope, period, first=first.date() if first else None,
                              last=last.date() if last else None)
    rows, withheld = shown_rows(rows, scope, settings().officer_min_n)
    if withheld:
        click.echo(f"{withheld} row(s) withheld: fewer than OFFICER_MIN_N="
                   f"{settings().officer_min_n} responses", err=True)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        who = row.get(scope, "") if scope != "unit" else ""
        click.echo(f"{row['period_start']}  {row['unit']:<9} {who:<20} n={row['n']:<5} "
                   f"IKM {row['ikm'] if row['ikm'] is not None else '-':>6} "
                   f"{row['category'] or '-'}")


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run the job scheduler in this process until interrupted."""
    from app.scheduler import run_scheduler

    run_scheduler(settings())


@click.command("serve")
@with_appcontext
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--no-scheduler", is_flag=True, help="Serve the web only.")
def serve_command(host: str, no_scheduler: bool) -> None:
    """Development server with the scheduler beside it; Ctrl-C stops both."""
    from flask import current_app

    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM too stops the server and then the scheduler

    signal.signal(signal.SIGTERM, interrupt)
    child = None
    if not no_scheduler:
        child = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            [sys.executable, "-m", "flask", "--app", "app", "scheduler"]
        )
    try:
        click.echo(f"Suara Warga on http://{host}:{settings().port}  (Ctrl-C stops)")
        # app.run() refuses to block inside the flask CLI; werkzeug's server is what it wraps.
        run_simple(host, settings().port, app, threaded=True)
    finally:
        if child is not None:
            child.send_signal(signal.SIGINT)
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()


def register_cli(app: Flask) -> None:
    """Attach every command group to the application."""
    from app.cli_posters import qr_command
    from app.cli_tokens import tokens_cli

    for command in (db_cli, surveys_cli, officers_cli, users_cli, export_cli, demo_command,
                    counters_command, scheduler_command, serve_command, qr_command,
                    aggregate_command, indicators_command, tokens_cli):
        app.cli.add_command(command)

