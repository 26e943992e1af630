"""`flask --app app cases handlers add|remove|list`: the units' complaint handlers (the back
office does the same at /admin/cases/handlers)."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import case_handlers
from app.db import utcnow
from app.extensions import database
from app.models import Unit
from app.org import CODE_PATTERN, FormRefusal

cases_cli = AppGroup("cases", help="Complaint cases.")
handlers_cli = AppGroup("handlers", help="Who handles each unit's complaints.")
cases_cli.add_command(handlers_cli)


def _unit(session: Session, code: str) -> Unit:
    unit = session.scalar(select(Unit).where(Unit.code == code)) \
        if CODE_PATTERN.fullmatch(code) else None
    if unit is None:
        raise click.ClickException(f"--unit: no unit with code {code!r}; nothing changed")
    return unit


@handlers_cli.command("add")
@click.option("--unit", "unit_code", required=True, help="The unit's code.")
@click.option("--email", required=True, help="The staff account's e-mail address.")
def handlers_add(unit_code: str, email: str) -> None:
    """Make a staff account a complaint handler of a unit."""
    try:
        with database().session_scope() as session:
            case_handlers.grant_handler(session, _unit(session, unit_code), email,
                                        manager=None, now=utcnow())
    except FormRefusal as refusal:
        with force_locale("en"):
            message = str(refusal.message).rstrip(".")
        raise click.ClickException(f"--email: {message}; nothing changed") from None
    click.echo(f"{email.strip().lower()} now handles the complaints of {unit_code}")


@handlers_cli.command("remove")
@click.option("--unit", "unit_code", required=True, help="The unit's code.")
@click.option("--email", required=True, help="The staff account's e-mail address.")
def handlers_remove(unit_code: str, email: str) -> None:
    """End a staff account's complaint handler role in a unit (its cases there lose their
    owner)."""
    with database().session_scope() as session:
        row = case_handlers.handler_row(session, _unit(session, unit_code).id, email)
        if row is None:
            raise click.ClickException(
                f"--email: {email!r} does not handle the complaints of {unit_code}; "
                "nothing changed")
        unassigned = case_handlers.revoke_handler(session, row, now=utcnow())
    click.echo(f"{email.strip().lower()} no longer handles the complaints of {unit_code} "
               f"({unassigned} case(s) lost their owner)")


@handlers_cli.command("list")
def handlers_list() -> None:
    """Every unit's complaint handlers."""
    with database().session_scope(write=False) as session:
        units = list(session.scalars(select(Unit).order_by(Unit.code)))
        for row in case_handlers.handlers_of(session, [u.id for u in units]):
            click.echo(f"{row.unit.code:<10} {row.user.email}")
