"""Who may see what: staff authentication, unit scopes and officer privacy."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from functools import cache
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from app.models import Officer, Unit, UnitRole, User
from app.users import verify_password


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None (same answer either way)."""
    if not email.isprintable():  # no account has such an address (PostgreSQL refuses NUL)
        check_password_hash(_dummy_hash(), password)
        return None
    user = session.scalars(
        select(User).where(User.email == email.strip().lower())
    ).one_or_none()
    if user is None or not user.active:
        # Spend the same time as a real check so a missing account is not revealed.
        check_password_hash(_dummy_hash(), password)
        return None
    return user if verify_password(user, password) else None


@cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(8))


def unit_scope(session: Session, user: User) -> set[int] | None:
    """The unit ids a user may see: None for all (admin, viewer); a unit head's unit and
    its sub-units (and those of units they head as Plt.); an officer's own unit (their own
    feedback only, see can_view_officer)."""
    if user.role in ("admin", "viewer"):
        return None
    roots = [] if user.unit_id is None else [user.unit_id]
    if user.role == "unit_head":  # an acting head (Plt.) also heads the units named so
        roots.extend(session.scalars(select(UnitRole.unit_id).where(
            UnitRole.user_id == user.id, UnitRole.role == "unit_head")))
    if not roots:
        return set()
    children: dict[int | None, list[int]] = {}
    for unit_id, parent_id in session.execute(select(Unit.id, Unit.parent_id)):
        children.setdefault(parent_id, []).append(unit_id)
    scope: set[int] = set()
    stack = roots
    while stack:
        current = stack.pop()
        if current not in scope:
            scope.add(current)
            stack.extend(children.get(current, []))
    return scope


def can_view_unit(session: Session, user: User, unit_id: int) -> bool:
    """Unit pages: admins and viewers everywhere, unit heads within their scope."""
    if user.role == "officer":
        return False
    scope = unit_scope(session, user)
    return scope is None or unit_id in scope


def sees_officer_detail(user: User) -> bool:
    """Whether ``user`` may read figures finer than a unit's: per officer, and per counter or
    service, whose scores are one officer's where one officer staffs it (the survey page names
    the officer on duty). Admins and unit heads (within their scope) may; viewers read units
    only, as the public does; officers read their own pages only."""
    return user.role in ("admin", "unit_head")


# Figures that name an officer (officer) or point to one (counter: the survey page names
# the officer on duty there, and one officer usually staffs a counter; service: a service
# handled by one officer in a day or a week scores that officer just the same).
OFFICER_SCOPES = ("officer", "counter", "service")


def scores_shown_from(scope: str, officer_min_n: int, *, officer_detail: bool = True) -> int:
    """The one small-sample rule: the fewest responses a figure of ``scope`` needs before
    its scores are shown, on every page, in every API row and in the CLI.

    Officer, counter and service figures need ``officer_min_n`` for every reader: with
    fewer, an officer could tell who gave which score ("data belum cukup"). A unit's
    figures need none for readers who see officer detail (``officer_detail``), and
    ``officer_min_n`` for the others, since a unit or a week served by one officer scores
    that officer (see ``summary.weekly_summary``).
    """
    if scope in OFFICER_SCOPES or not officer_detail:
        return officer_min_n
    return 0


def unit_scores_from(user: User, officer_min_n: int) -> int:
    """The fewest responses a unit's figures need before ``user`` sees their scores."""
    return scores_shown_from("unit", officer_min_n, officer_detail=sees_officer_detail(user))


def shown_rows(rows: list[dict[str, Any]], scope: str, officer_min_n: int, *,
               officer_detail: bool = True) -> tuple[list[dict[str, Any]], int]:
    """Indicator rows (see ``indicators.indicator_rows``) whose scores may be shown, and how
    many were withheld under ``scores_shown_from``."""
    minimum = scores_shown_from(scope, officer_min_n, officer_detail=officer_detail)
    shown = [row for row in rows if row["n"] >= minimum]
    return shown, len(rows) - len(shown)


ROLE_LABELS = {"admin": _l("Administrator"), "unit_head": _l("Unit head"),
               "officer": _l("Officer"), "viewer": _l("Viewer")}


def role_label(role: str) -> str:
    """How a role is named to people (the stored value is a code)."""
    return str(ROLE_LABELS[role]) if role in ROLE_LABELS else role


def end_sessions(session: Session, user_id: int) -> None:
    """End every session of an account, on any device or copied cookie (flushes only): the
    session epoch in each session's id no longer matches (see ``web.auth._load_user``)."""
    session.execute(update(User).where(User.id == user_id)
                    .values(session_epoch=User.session_epoch + 1))
    session.flush()


def can_view_officer(session: Session, user: User, officer: Officer) -> bool:
    """Per-officer feedback is the officer's personal data: only that officer, their unit
    head and administrators see it (viewers do not)."""
    return officer.id in viewable_officers(session, user, {officer.id: officer.unit_id})


def viewable_officers(session: Session, user: User, units_of: Mapping[int, int]) -> set[int]:
    """Which of some officers (officer id -> their unit id) ``user`` may read the feedback
    of, by ``can_view_officer``'s rule, with the user's unit scope read once."""
    if user.role == "admin":
        return set(units_of)
    if user.role == "officer":
        return {oid for oid in units_of if oid == user.officer_id}
    if user.role == "unit_head":
        scope = unit_scope(session, user)
        return {oid for oid, unit_id in units_of.items() if scope is not None and unit_id in scope}
    return set()
