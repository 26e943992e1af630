"""API tokens: personal ones (a staff user's, to read) and integration ones (to submit).

Only a token's hash is stored; the plain token is returned once, at creation. Every token
expires (API_TOKEN_DAYS after creation unless told otherwise), records when it was last
used, and stops at once when revoked. Functions take the session first, flush, never
commit, and record what they change in the audit log.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from app import audit
from app.models import ApiToken, Unit, User
from app.org import FormRefusal

PERSONAL_PREFIX = "sw_"  # noqa: S105 (prefixes that make leaked tokens greppable)
INTEGRATION_PREFIX = "swi_"  # noqa: S105
MAX_TOKEN_LENGTH = 100
MAX_DAYS = 3650
# A token's last use is written at most this often: one small write a minute per token.
TOKEN_USE_RESOLUTION = timedelta(minutes=1)
INTEGRATION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
TOKEN_FIELDS = ("kind", "label", "user_id", "unit_id", "expires_at", "revoked_at")


class TokenError(FormRefusal):
    """A refused token operation: a message for people (translated when shown)."""


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _lifetime(days: int) -> timedelta:
    if not 1 <= days <= MAX_DAYS:
        raise TokenError(_l("A token lasts from 1 to %(max)d days.", max=MAX_DAYS), "days")
    return timedelta(days=days)


def _created(session: Session, row: ApiToken) -> None:
    session.add(row)
    session.flush()
    audit.record(session, "token.create", "api_token", row.id,
                 after=audit.snapshot(row, TOKEN_FIELDS))


def create_api_token(session: Session, user: User, label: str, *, now: datetime,
                     days: int = 90) -> str:
    """Create a personal API token of ``user`` lasting ``days``; the plain token is
    returned once and never stored."""
    lifetime = _lifetime(days)
    token = PERSONAL_PREFIX + secrets.token_urlsafe(32)
    _created(session, ApiToken(kind="personal", user_id=user.id, token_hash=_token_hash(token),
                               label=label.strip()[:100] or "token", created_at=now,
                               expires_at=now + lifetime))
    return token


def check_integration_name(name: str) -> str:
    """The name as stored, or TokenError: 1 to 64 letters, digits, '.', '-' or '_'."""
    name = name.strip()
    if not INTEGRATION_NAME.fullmatch(name):
        raise TokenError(_l("An integration's name is 1 to 64 letters, digits, '.', '-' or "
                            "'_', starting with a letter or digit (e.g. antrian-dukcapil)."),
                         "name")
    return name


def live_integration(session: Session, name: str) -> ApiToken | None:
    """The integration token named ``name`` that is not revoked (expired or not)."""
    if not INTEGRATION_NAME.fullmatch(name):
        return None
    return session.scalars(select(ApiToken).where(
        ApiToken.kind == "integration", ApiToken.label == name,
        ApiToken.revoked_at.is_(None))).one_or_none()


def create_integration_token(session: Session, name: str, *, unit: Unit | None,
                             now: datetime, days: int = 90) -> str:
    """Create the integration token ``name`` (bound to ``unit``'s counters when given)
    lasting ``days``; the plain token is returned once and never stored. Refused
    (TokenError) while a token of that name is not revoked."""
    name = check_integration_name(name)
    lifetime = _lifetime(days)
    if live_integration(session, name) is not None:
        raise TokenError(_l("An integration token named %(name)s already exists; revoke it "
                            "first.", name=name), "name")
    token = INTEGRATION_PREFIX + secrets.token_urlsafe(32)
    _created(session, ApiToken(kind="integration", user_id=None,
                               unit_id=None if unit is None else unit.id,
                               token_hash=_token_hash(token), label=name, created_at=now,
                               expires_at=now + lifetime))
    return token


def revoke_token(session: Session, token: ApiToken, *, now: datetime) -> bool:
    """Revoke one token (it stops working at once); False when it already was."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = now
    session.flush()
    audit.record(session, "token.revoke", "api_token", token.id,
                 before={"revoked_at": None}, after={"revoked_at": now, "kind": token.kind,
                                                     "label": token.label})
    return True


def revoke_integration_token(session: Session, name: str, *, now: datetime) -> ApiToken:
    """Revoke the integration token ``name``; TokenError when there is no live one."""
    token = live_integration(session, name.strip())
    if token is None:
        raise TokenError(_l("No integration token named %(name)s is in use.",
                            name=name.strip()), "name")
    revoke_token(session, token, now=now)
    return token


def revoke_api_tokens(session: Session, user: User, *, now: datetime) -> int:
    """Revoke every live personal token of a user (they stop working at once); return how
    many."""
    live = session.scalars(select(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))).all()
    for token in live:
        token.revoked_at = now
    session.flush()
    if live:
        audit.record(session, "token.revoke", "user", user.id,
                     after={"revoked": [token.id for token in live]})
    return len(live)


def _valid(session: Session, token: str, kind: str, prefix: str, now: datetime
           ) -> ApiToken | None:
    if not token.startswith(prefix) or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        return None
    return session.scalars(select(ApiToken).where(
        ApiToken.token_hash == _token_hash(token), ApiToken.kind == kind,
        ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)).one_or_none()


def user_for_token(session: Session, token: str, *, now: datetime
                   ) -> tuple[User, ApiToken] | None:
    """The active user a personal bearer token belongs to, with the token's row; None for
    an unknown, revoked or expired token or an inactive user. Reads only."""
    row = _valid(session, token, "personal", PERSONAL_PREFIX, now)
    if row is None or row.user_id is None:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return user, row


def integration_for_token(session: Session, token: str, *, now: datetime) -> ApiToken | None:
    """The live integration token ``token`` is; None for an unknown, revoked or expired
    one. Reads only."""
    return _valid(session, token, "integration", INTEGRATION_PREFIX, now)


def use_is_stale(token: ApiToken, now: datetime) -> bool:
    """Whether ``token``'s last use is worth writing again (at most once a minute)."""
    return token.last_used_at is None or now - token.last_used_at >= TOKEN_USE_RESOLUTION


def record_token_use(session: Session, token_id: int, *, now: datetime) -> None:
    """Note when a token was last used (callers check ``use_is_stale`` first, to spare
    writes); an older instant never overwrites a newer one."""
    session.execute(update(ApiToken).where(
        ApiToken.id == token_id,
        or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now),
    ).values(last_used_at=now).execution_options(synchronize_session=False))


# Listing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenRow:
    """A token as the back office and the account page list it."""

    token: ApiToken
    owner: str | None  # a personal token's user's e-mail
    unit_code: str | None  # an integration token's unit, when bound to one

    def state(self, now: datetime) -> str:
        """'revoked', 'expired' or 'live'."""
        if self.token.revoked_at is not None:
            return "revoked"
        return "expired" if self.token.expires_at <= now else "live"


def list_tokens(session: Session, *, user: User | None = None,
                include_revoked: bool = False) -> list[TokenRow]:
    """The tokens (``user``: only that user's personal ones), newest first; revoked ones
    only with ``include_revoked``."""
    query = (select(ApiToken, User.email, Unit.code)
             .outerjoin(User, User.id == ApiToken.user_id)
             .outerjoin(Unit, Unit.id == ApiToken.unit_id)
             .order_by(ApiToken.created_at.desc(), ApiToken.id.desc()))
    if user is not None:
        query = query.where(ApiToken.user_id == user.id)
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    return [TokenRow(token, email, code) for token, email, code in session.execute(query)]
