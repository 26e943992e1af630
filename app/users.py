"""Staff accounts: creation with a hashed password, and checking a password."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from app.db import utcnow
from app.models import Officer, Unit, User
from app.models.people import ROLES
from app.org import DomainError

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200  # what the sign-in form reads of a password (hashing stays cheap)


def create_user(
    session: Session,
    email: str,
    password: str,
    role: str,
    *,
    unit: Unit | None = None,
    officer: Officer | None = None,
) -> User:
    """Create a staff user; refuses a weak password, an unknown role or a missing scope."""
    email = email.strip().lower()
    if not EMAIL_PATTERN.match(email) or len(email) > 254:
        raise DomainError(f"{email!r} is not a valid e-mail address")
    if role not in ROLES:
        raise DomainError(f"role {role!r} must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        # The sign-in form reads at most this much: a longer one could never sign in.
        raise DomainError(f"the password must be at most {MAX_PASSWORD_LENGTH} characters")
    if role in ("unit_head", "officer") and unit is None:
        raise DomainError(f"a {role} needs a unit")
    if role == "officer" and officer is None:
        raise DomainError("an officer account needs the officer's NIP")
    if officer is not None and unit is not None and officer.unit_id != unit.id:
        raise DomainError(f"officer {officer.name} does not belong to unit {unit.code}")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise DomainError(f"a user with e-mail {email} already exists")
    user = User(
        email=email,
        password_hash=generate_password_hash(password),
        role=role,
        unit=unit,
        officer=officer,
        created_at=utcnow(),
    )
    session.add(user)
    session.flush()
    return user


def user_by_email(session: Session, email: str) -> User | None:
    """The user with this e-mail address (compared as stored: trimmed, lower case)."""
    return session.scalars(select(User).where(User.email == email.strip().lower())
                           ).one_or_none()


def officer_by_nip(session: Session, nip: str) -> Officer | None:
    """The officer with this NIP, if any."""
    return session.scalars(select(Officer).where(Officer.nip == nip)).one_or_none()


def verify_password(user: User, password: str) -> bool:
    """True when the password matches the stored hash."""
    return check_password_hash(user.password_hash, password)
