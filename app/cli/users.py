"""`flask --app app users create`: staff accounts."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.extensions import database
from app.org import DomainError, unit_by_code
from app.users import create_user, officer_by_nip

users_cli = AppGroup("users", help="Staff accounts.")


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
                raise DomainError(f"unknown unit code {unit_code!r}")
            officer = officer_by_nip(session, nip) if nip else None
            if nip and officer is None:
                raise DomainError(f"no officer with NIP {nip}")
            user = create_user(session, email, password, role, unit=unit, officer=officer)
            created = f"created {user.role} {user.email}"
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(created)
