"""`flask --app app users …`: staff accounts, one-time password links, roles, Plt. roles."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask.cli import AppGroup
from flask_babel import force_locale
from sqlalchemy.orm import Session

from app import accounts, audit
from app.db import utcnow
from app.extensions import database, settings
from app.models import Officer, Unit, User
from app.models.people import ROLES
from app.org import DomainError, unit_by_code
from app.users import create_user, officer_by_nip, user_by_email

users_cli = AppGroup("users", help="Staff accounts.")


@contextmanager
def _session() -> Iterator[Session]:
    """One transaction; a refusal becomes an error message (in English) and exit code 1."""
    try:
        with force_locale("en"), database().session_scope() as session:
            yield session
    except accounts.AccountHidden as exc:
        raise click.ClickException(f"no account {exc}") from None
    except DomainError as exc:
        with force_locale("en"):
            message = str(exc)
        raise click.ClickException(message) from None


def _unit(session: Session, code: str | None) -> Unit | None:
    if not code:
        return None
    unit = unit_by_code(session, code)
    if unit is None:
        raise DomainError(f"unknown unit code {code!r}")
    return unit


def _officer(session: Session, nip: str | None) -> Officer | None:
    if not nip:
        return None
    officer = officer_by_nip(session, nip)
    if officer is None:
        raise DomainError(f"no officer with NIP {nip}")
    return officer


def _user(session: Session, email: str) -> User:
    user = user_by_email(session, email) if email.isprintable() else None
    if user is None:
        raise DomainError(f"no account with e-mail {email!r}")
    return user


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--unit", "unit_code", help="Unit code (required for unit_head and officer).")
@click.option("--nip", help="The officer's NIP (required for the officer role).")
@click.option("--link", is_flag=True,
              help="Create without a password and print a one-time link to set it.")
@click.option("--password", help="Prompted for (twice) when neither it nor --link is given.")
def users_create(email: str, role: str, unit_code: str | None, nip: str | None, link: bool,
                 password: str | None) -> None:
    """Create a staff account (the very first administrator needs a password)."""
    if link and password is not None:
        raise click.UsageError("give either --link or --password, not both")
    if not link and password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _session() as session:
        unit, officer = _unit(session, unit_code), _officer(session, nip)
        if link:
            issued = accounts.create_account(session, None, email, role, unit=unit,
                                             officer=officer, now=utcnow())
            created = (f"created {issued.user.role} {issued.user.email}; one-time link to set "
                       f"the password (valid 72 hours):\n{issued.url(settings().public_base_url)}")
        else:
            assert password is not None  # noqa: S101 (prompted above)
            user = create_user(session, email, password, role, unit=unit, officer=officer)
            audit.record(session, "user.create", "user", user.id,
                         after=audit.snapshot(user, accounts.ACCOUNT_FIELDS))
            created = f"created {user.role} {user.email}"
    click.echo(created)


@users_cli.command("list")
def users_list() -> None:
    """Every account: e-mail, role, unit, active, acting units."""
    with _session() as session:
        for user in accounts.visible_accounts(session, None):
            acting = ",".join(unit.code for unit in accounts.acting_units(session, user))
            click.echo("\t".join((user.email, user.role, user.unit.code if user.unit else "-",
                                  "active" if user.active else "inactive",
                                  f"plt:{acting}" if acting else "")).rstrip())


@users_cli.command("reset")
@click.argument("email")
def users_reset(email: str) -> None:
    """Print a new one-time link to set the password (older unused links stop working)."""
    with _session() as session:
        issued = accounts.reset_password(session, None, _user(session, email), now=utcnow())
        url = issued.url(settings().public_base_url)
    click.echo(url)


@users_cli.command("set-role")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--unit", "unit_code", help="Unit code (required for unit_head and officer).")
@click.option("--nip", help="The officer's NIP (for the officer role).")
def users_set_role(email: str, role: str, unit_code: str | None, nip: str | None) -> None:
    """Change an account's role and unit (its sessions end)."""
    with _session() as session:
        user = _user(session, email)
        changed = accounts.change_role(session, None, user, role, unit=_unit(session, unit_code),
                                       officer=_officer(session, nip))
        message = f"{user.email}: {user.role}" + (f" of {user.unit.code}" if user.unit else "")
    click.echo(message if changed else f"{email}: nothing to change")


def _set_active(email: str, active: bool) -> None:
    with _session() as session:
        changed = accounts.set_active(session, None, _user(session, email), active,
                                      now=utcnow())
    state = "active" if active else "inactive"
    click.echo(f"{email}: {state}" if changed else f"{email}: already {state}")


@users_cli.command("deactivate")
@click.argument("email")
def users_deactivate(email: str) -> None:
    """Deactivate an account (it cannot sign in; its sessions end)."""
    _set_active(email, False)


@users_cli.command("reactivate")
@click.argument("email")
def users_reactivate(email: str) -> None:
    """Reactivate an account."""
    _set_active(email, True)


@users_cli.command("acting")
@click.argument("email")
@click.option("--unit", "unit_code", required=True, help="The unit headed as Plt.")
@click.option("--revoke", is_flag=True, help="End the acting role instead.")
def users_acting(email: str, unit_code: str, revoke: bool) -> None:
    """Grant (or --revoke) an acting unit-head (Plt.) role in another unit."""
    with _session() as session:
        user, unit = _user(session, email), _unit(session, unit_code)
        assert unit is not None  # noqa: S101 (the code is required)
        if revoke:
            accounts.revoke_acting(session, None, user, unit)
        else:
            accounts.grant_acting(session, None, user, unit, now=utcnow())
    click.echo(f"{email}: {'no longer' if revoke else 'now'} acting head of {unit_code}")
