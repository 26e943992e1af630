"""`flask --app app tokens …`: personal API tokens of staff users (shown once, stored hashed)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from app.auth import create_api_token, revoke_api_tokens
from app.db import utcnow
from app.extensions import database
from app.models import User
from app.users import user_by_email


@click.group("tokens", help="Personal API tokens of staff users.")
def tokens_cli() -> None:
    """Personal API tokens of staff users."""


def _user(session: Session, email: str) -> User:
    user = user_by_email(session, email)
    if user is None:
        raise click.ClickException(f"no user with e-mail {email.strip().lower()}")
    return user


@tokens_cli.command("create")
@click.option("--email", required=True, help="The staff user the token acts as.")
@click.option("--label", default="token", show_default=True,
              help="What the token is for (a script, a spreadsheet), to recognise it later.")
@with_appcontext
def tokens_create(email: str, label: str) -> None:
    """Create a token and print it once; only its hash is stored, so it cannot be shown again."""
    with database().session_scope() as session:
        user = _user(session, email)
        if not user.active:
            raise click.ClickException(f"{user.email} is deactivated; a token would not work")
        token = create_api_token(session, user, label, now=utcnow())
        role, address = user.role, user.email
    # Printed after the commit, alone on stdout so that a script can capture it.
    click.echo(token)
    click.echo(f"created a token for {address} ({role}); it is shown only this once. "
               "Send it as: Authorization: Bearer <token>", err=True)


@tokens_cli.command("revoke")
@click.option("--email", required=True, help="Revoke every token of this user.")
@with_appcontext
def tokens_revoke(email: str) -> None:
    """Revoke all live tokens of a user (they stop working at once)."""
    with database().session_scope() as session:
        user = _user(session, email)
        count = revoke_api_tokens(session, user, now=utcnow())
        address = user.email
    click.echo(f"revoked {count} token(s) of {address}")
