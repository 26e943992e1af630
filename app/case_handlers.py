"""Case handlers (pengelola pengaduan): granting and revoking the role per unit.

An administrator grants it for any unit to any active account that is not an
administrator (they work every case already); a unit head for the units they head, to the
accounts of those units, never to themselves (a head does not see contacts by office).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import audit
from app.auth import unit_scope
from app.models import Case, CaseEvent, CaseHandler, Unit, User
from app.org import FormRefusal


class HandlerError(FormRefusal):
    """A refused grant or revocation: a message for people and the field it belongs to."""


def may_manage_handlers(session: Session, manager: User, unit_id: int) -> bool:
    """Administrators for every unit; unit heads for the units they head."""
    if manager.role == "admin":
        return True
    if manager.role != "unit_head":
        return False
    scope = unit_scope(session, manager)
    return scope is not None and unit_id in scope


def managed_units(session: Session, manager: User) -> list[Unit]:
    """The units whose handlers ``manager`` grants, by code."""
    query = select(Unit).order_by(Unit.code)
    if manager.role != "admin":
        scope = unit_scope(session, manager) if manager.role == "unit_head" else set()
        query = query.where(Unit.id.in_(sorted(scope or set()) or [-1]))
    return list(session.scalars(query))


@dataclass(frozen=True)
class HandlerRow:
    """One grant: the handler's account and unit."""

    id: int
    unit: Unit
    user: User


def handlers_of(session: Session, unit_ids: list[int]) -> list[HandlerRow]:
    """The grants of these units, by unit and e-mail."""
    rows = session.execute(select(CaseHandler, Unit, User)
                           .join(Unit, Unit.id == CaseHandler.unit_id)
                           .join(User, User.id == CaseHandler.user_id)
                           .where(CaseHandler.unit_id.in_(unit_ids or [-1]))
                           .order_by(Unit.code, User.email))
    return [HandlerRow(handler.id, unit, user) for handler, unit, user in rows]


def unit_handler_emails(session: Session, unit_id: int) -> list[str]:
    """The active handlers' addresses of a unit (who is told of its cases)."""
    return list(session.scalars(select(User.email).join(
        CaseHandler, CaseHandler.user_id == User.id).where(
        CaseHandler.unit_id == unit_id, User.active.is_(True)).order_by(User.email)))


def grant_handler(session: Session, unit: Unit, email: str, *, manager: User | None,
                  now: datetime) -> CaseHandler:
    """Make the account with ``email`` a handler of ``unit`` (``manager`` may manage the
    unit's handlers: the caller checked ``may_manage_handlers``; None: the CLI's
    operator)."""
    address = email.strip().lower()
    user = session.scalar(select(User).where(User.email == address)) \
        if address.isprintable() and len(address) <= 254 else None
    if user is None or not user.active:
        raise HandlerError(_l("No active staff account has this e-mail address."), "email")
    if user.role == "admin":
        raise HandlerError(_l("Administrators work every unit's cases already."), "email")
    if manager is not None and manager.role != "admin":
        if user.id == manager.id:
            raise HandlerError(_l("Ask an administrator to make you a handler."), "email")
        scope = unit_scope(session, manager) or set()
        if user.unit_id not in scope:
            raise HandlerError(_l("You can only choose accounts of the units you head."),
                               "email")
    if session.scalar(select(CaseHandler.id).where(CaseHandler.unit_id == unit.id,
                                                   CaseHandler.user_id == user.id)):
        raise HandlerError(_l("This account already handles the unit's cases."), "email")
    row = CaseHandler(user_id=user.id, unit_id=unit.id, created_at=now)
    session.add(row)
    session.flush()
    audit.record(session, "case_handler.grant", "case_handler", row.id,
                 after={"unit": unit.code, "user": user.email}, at=now)
    return row


def revoke_handler(session: Session, row: CaseHandler, *, now: datetime) -> int:
    """End a grant; the unit's open cases the handler owned lose their owner (an owner
    must handle the unit). Returns how many cases were unassigned."""
    user = session.get(User, row.user_id)
    unit = session.get(Unit, row.unit_id)
    owned = list(session.scalars(select(Case).where(
        Case.unit_id == row.unit_id, Case.owner_id == row.user_id)))
    for case in owned:
        case.owner_id = None
        session.add(CaseEvent(case_id=case.id, at=now, kind="assigned", user_id=None))
    audit.record(session, "case_handler.revoke", "case_handler", row.id,
                 before={"unit": unit.code if unit else None,
                         "user": user.email if user else None,
                         "unassigned": [case.reference for case in owned]}, at=now)
    session.delete(row)
    session.flush()
    return len(owned)


def handler_row(session: Session, unit_id: int, email: str) -> CaseHandler | None:
    """The grant of the account with ``email`` in a unit, if any."""
    address = email.strip().lower()
    if not address.isprintable():
        return None
    return session.scalar(select(CaseHandler).join(User, User.id == CaseHandler.user_id)
                          .where(CaseHandler.unit_id == unit_id, User.email == address))
