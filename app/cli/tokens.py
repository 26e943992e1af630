"""`flask --app app tokens …`: API tokens, personal (a staff user's, to read indicators) and
integration (a system's, to submit responses); shown once, stored hashed, expiring."""

from __future__ import annotations

from datetime import datetime, timedelta

import click
from flask.cli import with_appcontext
from flask_babel import force_locale
from sqlalchemy.orm import Session

from app.api_tokens import (
    TokenError,
    create_api_token,
    create_integration_token,
    list_tokens,
    revoke_api_tokens,
    revoke_integration_token,
)
from app.db import utcnow
from app.extensions import database, settings
from app.models import Unit, User
from app.org import CODE_PATTERN, unit_by_code
from app.users import user_by_email

OPTIONS = {"name": "--integration", "days": "--days"}


@click.group("tokens", help="API tokens: personal (staff, to read) and integration (to submit).")
def tokens_cli() -> None:
    """API tokens: personal (staff, to read) and integration (to submit)."""


def _fail(error: TokenError) -> click.ClickException:
    """The refusal in English (the language of scripts and logs), naming its option."""
    with force_locale("en"):
        message = str(error.message).rstrip(".")
    option = OPTIONS.get(error.field or "")
    return click.ClickException(f"{option + ': ' if option else ''}{message}; nothing changed")


def _user(session: Session, email: str) -> User:
    user = user_by_email(session, email)
    if user is None:
        raise click.ClickException(f"no user with e-mail {email.strip().lower()}")
    return user


def _unit(session: Session, code: str) -> Unit:
    # Checked before the lookup: a NUL byte never reaches the database.
    unit = unit_by_code(session, code) if CODE_PATTERN.fullmatch(code) else None
    if unit is None:
        raise click.BadParameter(f"no unit with code {code!r}", param_hint="--unit")
    if not unit.active:
        raise click.BadParameter(f"unit {unit.code} is deactivated; a token bound to it "
                                 "could submit nothing", param_hint="--unit")
    return unit


def _one_of(email: str | None, integration: str | None) -> None:
    if (email is None) == (integration is None):
        raise click.UsageError("give either --email (a personal token) or --integration "
                               "NAME (an integration token)")


def _local(at: datetime) -> str:
    return at.astimezone(settings().tz).strftime("%Y-%m-%d %H:%M")


@tokens_cli.command("create")
@click.option("--email", default=None, help="A personal token acting as this staff user.")
@click.option("--integration", default=None, metavar="NAME",
              help="An integration token of this name (a queue system, an app), to submit "
                   "responses with.")
@click.option("--unit", "unit_code", default=None, metavar="CODE",
              help="Integration tokens only: submit to this unit's counters only.")
@click.option("--label", default=None,
              help="Personal tokens only: what the token is for (a script, a spreadsheet), "
                   "to recognise it later.  [default: token]")
@click.option("--days", type=int, default=None,
              help="Days the token lasts.  [default: API_TOKEN_DAYS, 90]")
@with_appcontext
def tokens_create(email: str | None, integration: str | None, unit_code: str | None,
                  label: str | None, days: int | None) -> None:
    """Create a token and print it once; only its hash is stored, so it cannot be shown again."""
    _one_of(email, integration)
    if email is not None and unit_code is not None:
        raise click.UsageError("--unit binds an integration token; a personal token reads "
                               "what its user may read")
    if integration is not None and label is not None:
        raise click.UsageError("--label is for personal tokens; an integration token is "
                               "named by --integration")
    lifetime = settings().api_token_days if days is None else days
    now = utcnow()
    with database().session_scope() as session:
        try:
            if email is not None:
                user = _user(session, email)
                if not user.active:
                    raise click.ClickException(
                        f"{user.email} is deactivated; a token would not work")
                token = create_api_token(session, user, label or "token", now=now,
                                         days=lifetime)
                what = f"a personal token for {user.email} ({user.role})"
            else:
                assert integration is not None  # noqa: S101 (_one_of checked it)
                unit = None if unit_code is None else _unit(session, unit_code)
                token = create_integration_token(session, integration, unit=unit, now=now,
                                                 days=lifetime)
                what = (f"the integration token {integration.strip()} for "
                        f"{'the counters of ' + unit.code if unit else 'every counter'}")
        except TokenError as error:
            raise _fail(error) from None
    # Printed after the commit, alone on stdout so that a script can capture it.
    click.echo(token)
    click.echo(f"created {what}, valid until {_local(now + timedelta(days=lifetime))}; it "
               "is shown only this once. Send it as: Authorization: Bearer <token>", err=True)


@tokens_cli.command("revoke")
@click.option("--email", default=None, help="Revoke every personal token of this user.")
@click.option("--integration", default=None, metavar="NAME",
              help="Revoke the integration token of this name.")
@with_appcontext
def tokens_revoke(email: str | None, integration: str | None) -> None:
    """Revoke tokens (they stop working at once)."""
    _one_of(email, integration)
    with database().session_scope() as session:
        if email is not None:
            user = _user(session, email)
            count = revoke_api_tokens(session, user, now=utcnow())
            message = f"revoked {count} token(s) of {user.email}"
        else:
            assert integration is not None  # noqa: S101 (_one_of checked it)
            try:
                revoke_integration_token(session, integration, now=utcnow())
            except TokenError as error:
                raise _fail(error) from None
            message = f"revoked the integration token {integration.strip()}"
    click.echo(message)


@tokens_cli.command("list")
@click.option("--all", "include_revoked", is_flag=True, help="Revoked tokens too.")
@with_appcontext
def tokens_list(include_revoked: bool) -> None:
    """The tokens, newest first: kind, name, owner or unit, expiry and last use."""
    now = utcnow()
    with database().session_scope(write=False) as session:
        rows = list_tokens(session, include_revoked=include_revoked)
        lines = [
            "\t".join((row.token.kind, row.token.label,
                       row.owner or (f"unit {row.unit_code}" if row.unit_code else "all units"),
                       f"expires {_local(row.token.expires_at)}",
                       "last used " + (_local(row.token.last_used_at)
                                       if row.token.last_used_at else "never"),
                       row.state(now)))
            for row in rows]
    for line in lines:
        click.echo(line)
    if not lines:
        click.echo("no tokens", err=True)
