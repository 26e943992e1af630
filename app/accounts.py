"""Staff accounts managed: one-time password links, roles and units, deactivation, Plt. roles.

Every function takes the session first, flushes, never commits, and records what it changes in
the audit log. ``actor`` is the account acting (its rights are checked here); ``None`` is the
CLI, which has an administrator's rights (it runs on the server).

Rights of a unit head (decided for issue 13): they manage only accounts whose unit is in their
scope (``auth.unit_scope``), may give only the ``officer`` role (``admin`` and ``unit_head``
are an administrator's to grant, and ``viewer`` reads the whole regency, beyond any unit's
scope), may not change the role of a unit head's account nor their own role, may not move an
account to a unit outside their scope, and may not grant or revoke acting (Plt.) roles, which
make someone a unit head. Nobody deactivates their own account, and the last active
administrator can be neither demoted nor deactivated.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from app import audit
from app.api_tokens import revoke_api_tokens
from app.auth import ROLE_LABELS, end_sessions, unit_scope
from app.models import Officer, PasswordLink, Unit, UnitRole, User
from app.models.people import ROLES
from app.org import DomainError, FormRefusal
from app.users import EMAIL_PATTERN, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, verify_password

LINK_LIFETIME = timedelta(hours=72)
UNUSABLE_PASSWORD = "!"  # noqa: S105 (not a password: a stored hash starting so never matches (no method, no salt)
UNIT_HEAD_GRANTS = ("officer",)
ACCOUNT_FIELDS = ("email", "role", "unit_id", "officer_id", "active")


class AccountError(FormRefusal):
    """A refused change: a message for people (translated when shown) and the form field it
    belongs to (None: the whole form)."""


class AccountHidden(DomainError):
    """The account is not there or not the actor's to manage (one answer for both)."""


@dataclass(frozen=True)
class IssuedLink:
    """A one-time link just issued: the plain token exists only here, never in storage."""

    user: User
    token: str
    expires_at: datetime

    def url(self, public_base_url: str) -> str:
        """The address to give the account's owner."""
        return f"{public_base_url.rstrip('/')}/akun/sandi/{self.token}"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _scope(session: Session, actor: User | None) -> set[int] | None:
    if actor is None or actor.role == "admin":
        return None
    if actor.role != "unit_head":
        return set()
    return unit_scope(session, actor) or set()


def may_manage(session: Session, actor: User | None, user: User) -> bool:
    """Whether ``actor`` may see and manage ``user`` at all."""
    scope = _scope(session, actor)
    return scope is None or (user.unit_id is not None and user.unit_id in scope)


def account_for(session: Session, actor: User | None, user_id: int) -> User:
    """The account ``user_id`` if ``actor`` may manage it, else AccountHidden."""
    user = session.get(User, user_id)
    if user is None or not may_manage(session, actor, user):
        raise AccountHidden(user_id)
    return user


def visible_accounts(session: Session, actor: User | None) -> list[User]:
    """The accounts ``actor`` manages, by e-mail."""
    query = select(User).order_by(User.email)
    scope = _scope(session, actor)
    if scope is not None:
        query = query.where(User.unit_id.in_(scope))
    return list(session.scalars(query))


def grantable_roles(actor: User | None) -> tuple[str, ...]:
    """The roles ``actor`` may give."""
    if actor is None or actor.role == "admin":
        return ROLES
    return UNIT_HEAD_GRANTS if actor.role == "unit_head" else ()


def clean_email(email: str) -> str:
    """The e-mail as stored (trimmed, lower case), or AccountError on the ``email`` field."""
    email = email.strip().lower()
    if not email:
        raise AccountError(_l("Enter the account's e-mail address."), "email")
    if len(email) > 254:
        raise AccountError(_l("An e-mail address has at most %(max)d characters.", max=254),
                           "email")
    if not email.isprintable() or not EMAIL_PATTERN.match(email):
        raise AccountError(_l("This is not a valid e-mail address."), "email")
    return email


def check_password(password: str, field: str = "password") -> None:
    """The length rules of ``app.users``, and no control or invisible characters."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(_l("A password has at least %(min)d characters.",
                              min=MIN_PASSWORD_LENGTH), field)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(_l("A password has at most %(max)d characters.",
                              max=MAX_PASSWORD_LENGTH), field)
    if not password.isprintable():
        raise AccountError(_l("A password cannot contain control or invisible characters."),
                           field)


def _check_placement(session: Session, actor: User | None, role: str, unit: Unit | None,
                     officer: Officer | None, account_id: int | None = None) -> None:
    """Role, unit and officer fit together and are the actor's to give (``account_id``:
    the account being changed, which may keep its own officer record)."""
    if role not in ROLES:
        raise AccountError(_l("Choose one of the listed roles."), "role")
    if role not in grantable_roles(actor):
        raise AccountError(_l("You may not give the role %(role)s.",
                                 role=ROLE_LABELS.get(role, role)), "role")
    if role in ("unit_head", "officer") and unit is None:
        raise AccountError(_l("This role needs a unit."), "unit")
    scope = _scope(session, actor)
    if scope is not None and (unit is None or unit.id not in scope):
        raise AccountError(_l("Choose a unit within your own units."), "unit")
    if role == "officer" and officer is None:
        raise AccountError(_l("An officer's account needs the officer's NIP."), "nip")
    if officer is not None and unit is not None and officer.unit_id != unit.id:
        raise AccountError(_l("This officer belongs to another unit."), "nip")
    if officer is not None and session.scalar(
            select(func.count()).select_from(User).where(User.officer_id == officer.id,
                                                         User.id != (account_id or 0))):
        raise AccountError(_l("This officer already has an account."), "nip")


def _issue(session: Session, user: User, purpose: str, now: datetime) -> IssuedLink:
    """A new link for ``user``; the account's older unused links stop working."""
    session.execute(delete(PasswordLink).where(PasswordLink.user_id == user.id,
                                               PasswordLink.used_at.is_(None)))
    token = secrets.token_urlsafe(32)
    link = PasswordLink(user_id=user.id, token_hash=_token_hash(token), purpose=purpose,
                        created_at=now, expires_at=now + LINK_LIFETIME)
    session.add(link)
    session.flush()
    audit.record(session, "user.link_issued", "user", user.id,
                 after={"purpose": purpose, "link_id": link.id, "expires_at": link.expires_at})
    return IssuedLink(user, token, link.expires_at)


def create_account(session: Session, actor: User | None, email: str, role: str, *,
                   unit: Unit | None, officer: Officer | None, now: datetime) -> IssuedLink:
    """Create an account without a password, and a one-time link to set it (it cannot sign
    in before): the link is returned, only its hash is stored."""
    email = clean_email(email)
    _check_placement(session, actor, role, unit, officer)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise AccountError(_l("An account with this e-mail address already exists."), "email")
    user = User(email=email, role=role, unit_id=None if unit is None else unit.id,
                officer_id=None if officer is None else officer.id, created_at=now,
                password_hash=UNUSABLE_PASSWORD + secrets.token_hex(16))
    session.add(user)
    session.flush()
    audit.record(session, "user.create", "user", user.id,
                 after=audit.snapshot(user, ACCOUNT_FIELDS))
    return _issue(session, user, "set", now)


def reset_password(session: Session, actor: User | None, user: User, *,
                   now: datetime) -> IssuedLink:
    """A new one-time link to set ``user``'s password (the current one keeps working until
    the link is used; older unused links stop working now)."""
    if not may_manage(session, actor, user):
        raise AccountHidden(user.id)
    return _issue(session, user, "reset", now)


def valid_link(session: Session, token: str, *, now: datetime) -> PasswordLink | None:
    """The unused, unexpired link of an active account this token opens, else None (one
    answer for unknown, used and expired)."""
    if not token or len(token) > 100 or not token.isascii():
        return None
    link = session.scalars(select(PasswordLink).where(
        PasswordLink.token_hash == _token_hash(token))).one_or_none()
    if link is None or link.used_at is not None or now >= link.expires_at:
        return None
    user = session.get(User, link.user_id)
    return link if user is not None and user.active else None


def set_password_with_link(session: Session, token: str, password: str, *,
                           now: datetime) -> User | None:
    """Set the password through a one-time link: the link is used up, the account's other
    unused links stop working and its sessions end. None when the link is not valid."""
    link = valid_link(session, token, now=now)
    if link is None:
        return None
    check_password(password)
    # Conditional: of two requests racing with one link, only one finds it unused.
    used = session.execute(update(PasswordLink).where(
        PasswordLink.id == link.id, PasswordLink.used_at.is_(None)).values(used_at=now))
    if used.rowcount != 1:  # type: ignore[attr-defined]  # (a CursorResult for an UPDATE)
        return None
    user = session.get(User, link.user_id)
    assert user is not None  # noqa: S101 (valid_link checked it)
    _store_password(session, user, password, via=link.purpose, now=now)
    session.execute(delete(PasswordLink).where(PasswordLink.user_id == user.id,
                                               PasswordLink.used_at.is_(None)))
    session.flush()
    return user


def change_own_password(session: Session, user: User, current: str, new: str, *,
                        now: datetime) -> None:
    """Change one's own password: the current one is needed; every session ends and every
    personal API token is revoked."""
    if not verify_password(user, current):
        raise AccountError(_l("The current password is wrong."), "current")
    check_password(new, "new")
    if new == current:
        raise AccountError(_l("Choose a password different from the current one."), "new")
    _store_password(session, user, new, via="own", now=now)


def _store_password(session: Session, user: User, password: str, *, via: str,
                    now: datetime) -> None:
    """A new password ends the account's sessions and revokes its personal API tokens:
    whoever knew the old password may have made one."""
    user.password_hash = generate_password_hash(password)
    session.flush()
    audit.record(session, "user.password_set", "user", user.id, after={"via": via})
    end_sessions(session, user.id)
    revoke_api_tokens(session, user, now=now)


def _active_admins(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User).where(
        User.role == "admin", User.active.is_(True))) or 0


def change_role(session: Session, actor: User | None, user: User, role: str, *,
                unit: Unit | None, officer: Officer | None = None) -> bool:
    """Give ``user`` a role and a unit (and, for an officer, the officer record); their
    sessions end. False when nothing changed."""
    if not may_manage(session, actor, user):
        raise AccountHidden(user.id)
    if actor is not None and actor.id == user.id and role != user.role:
        raise AccountError(_l("You cannot change your own role."), "role")
    if actor is not None and actor.role != "admin" and user.role not in grantable_roles(actor):
        raise AccountError(_l("Only an administrator may change this account's role."),
                           "role")
    if officer is None and role == "officer" and user.officer_id is not None:
        officer = session.get(Officer, user.officer_id)
    if role != "officer":
        officer = None
    unit_id = None if unit is None else unit.id
    officer_id = None if officer is None else officer.id
    before = audit.snapshot(user, ("role", "unit_id", "officer_id"))
    if before == {"role": role, "unit_id": unit_id, "officer_id": officer_id}:
        return False
    _check_placement(session, actor, role, unit, officer, account_id=user.id)
    if user.role == "admin" and role != "admin" and user.active and _active_admins(session) <= 1:
        raise AccountError(_l("This is the last active administrator: make another "
                              "administrator first."), "role")
    user.role, user.unit_id, user.officer_id = role, unit_id, officer_id
    session.flush()
    if role != "unit_head":  # acting (Plt.) roles count only for unit heads
        session.execute(delete(UnitRole).where(UnitRole.user_id == user.id))
    audit.record(session, "user.role_change", "user", user.id, before=before,
                 after=audit.snapshot(user, ("role", "unit_id", "officer_id")))
    end_sessions(session, user.id)
    return True


def set_active(session: Session, actor: User | None, user: User, active: bool, *,
               now: datetime) -> bool:
    """Deactivate (its sessions end, its personal API tokens are revoked, it cannot sign
    in) or reactivate an account (its tokens stay revoked). False when it already was so."""
    if not may_manage(session, actor, user):
        raise AccountHidden(user.id)
    if user.active == active:
        return False
    if not active:
        if actor is not None and actor.id == user.id:
            raise AccountError(_l("You cannot deactivate your own account."))
        if user.role == "admin" and _active_admins(session) <= 1:
            raise AccountError(_l("This is the last active administrator: make another "
                                  "administrator first."))
    user.active = active
    session.flush()
    audit.record(session, "user.reactivate" if active else "user.deactivate", "user", user.id,
                 before={"active": not active}, after={"active": active})
    if not active:
        end_sessions(session, user.id)
        revoke_api_tokens(session, user, now=now)
    return True


def acting_units(session: Session, user: User) -> list[Unit]:
    """The units ``user`` heads as Plt. besides their own, by code."""
    return list(session.scalars(select(Unit).join(UnitRole, UnitRole.unit_id == Unit.id)
                                .where(UnitRole.user_id == user.id).order_by(Unit.code)))


def grant_acting(session: Session, actor: User | None, user: User, unit: Unit, *,
                 now: datetime) -> None:
    """Make a unit head also the acting head (Plt.) of another unit (administrators only)."""
    if not may_manage(session, actor, user):
        raise AccountHidden(user.id)
    if actor is not None and actor.role != "admin":
        raise AccountError(_l("Only an administrator may grant an acting role."), "unit")
    if user.role != "unit_head":
        raise AccountError(_l("Only a unit head's account can act as head of another unit."),
                           "unit")
    if unit.id == user.unit_id or session.scalar(select(UnitRole.id).where(
            UnitRole.user_id == user.id, UnitRole.unit_id == unit.id)) is not None:
        raise AccountError(_l("This account already heads that unit."), "unit")
    session.add(UnitRole(user_id=user.id, unit_id=unit.id, role="unit_head", acting=True,
                         created_at=now))
    session.flush()
    audit.record(session, "user.acting_grant", "user", user.id,
                 after={"unit": unit.code, "role": "unit_head"})
    end_sessions(session, user.id)


def revoke_acting(session: Session, actor: User | None, user: User, unit: Unit) -> None:
    """End an acting (Plt.) role (administrators only)."""
    if not may_manage(session, actor, user):
        raise AccountHidden(user.id)
    if actor is not None and actor.role != "admin":
        raise AccountError(_l("Only an administrator may revoke an acting role."), "unit")
    removed = session.execute(delete(UnitRole).where(UnitRole.user_id == user.id,
                                                     UnitRole.unit_id == unit.id))
    if removed.rowcount != 1:  # type: ignore[attr-defined]  # (a CursorResult for a DELETE)
        raise AccountError(_l("This account holds no acting role in that unit."), "unit")
    audit.record(session, "user.acting_revoke", "user", user.id,
                 before={"unit": unit.code, "role": "unit_head"})
    end_sessions(session, user.id)
