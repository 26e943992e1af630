"""Domain operations on the organisation: units, services, counters, tokens, officers, rosters."""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from flask_babel import LazyString
from sqlalchemy import ColumnElement, Select, bindparam, or_, select
from sqlalchemy.orm import Session, joinedload

from app.db import utcnow
from app.models import Assignment, Counter, CounterToken, Officer, Service, Unit
from app.models.org import UNIT_KINDS
from app.nip import InvalidNip, parse_nip

CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
# 12 random bytes = 96 bits, 16 URL-safe characters: unguessable yet a small QR code.
TOKEN_BYTES = 12
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,32}$")


class DomainError(ValueError):
    """An operation was refused; the message is meant for the person who asked."""


class FormRefusal(DomainError):
    """A refused change from a form: a message for people (translated when shown) and the
    form field it belongs to (None: the whole form)."""

    def __init__(self, message: LazyString, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return str(self.message)


def _check_code(kind: str, code: str) -> str:
    if not CODE_PATTERN.fullmatch(code):
        raise DomainError(
            f"{kind} code {code!r} must be 1–32 letters, digits, '-' or '_', "
            "starting with a letter or digit"
        )
    return code


def _check_name(kind: str, name: str) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise DomainError(f"{kind} name must be 1–200 characters")
    return name


def unit_by_code(session: Session, code: str) -> Unit | None:
    """The unit with this code, if any (none for what no code can be: a NUL byte, which
    PostgreSQL refuses, never reaches the database)."""
    if not CODE_PATTERN.fullmatch(code):
        return None
    return session.scalars(select(Unit).where(Unit.code == code)).one_or_none()


def create_unit(
    session: Session, code: str, name: str, kind: str, parent: Unit | None = None
) -> Unit:
    """Create a unit; the code must be new and the kind one of UNIT_KINDS."""
    _check_code("Unit", code)
    if kind not in UNIT_KINDS:
        raise DomainError(f"unit kind {kind!r} must be one of {', '.join(UNIT_KINDS)}")
    if unit_by_code(session, code) is not None:
        raise DomainError(f"a unit with code {code!r} already exists")
    unit = Unit(code=code, name=_check_name("Unit", name), kind=kind, parent=parent,
                arrival_token=secrets.token_urlsafe(TOKEN_BYTES))
    session.add(unit)
    session.flush()
    return unit


def create_service(
    session: Session,
    unit: Unit,
    code: str,
    name: str,
    *,
    standard_minutes: int | None = None,
    fee: int = 0,
) -> Service:
    """Add a service to a unit, with its published standard time (minutes) and fee (Rupiah)."""
    _check_code("Service", code)
    if standard_minutes is not None and standard_minutes <= 0:
        raise DomainError("standard time must be a positive number of minutes")
    if fee < 0:
        raise DomainError("fee cannot be negative")
    exists = session.scalar(
        select(Service.id).where(Service.unit_id == unit.id, Service.code == code)
    )
    if exists is not None:
        raise DomainError(f"unit {unit.code} already has a service with code {code!r}")
    service = Service(
        unit=unit, code=code, name=_check_name("Service", name),
        standard_minutes=standard_minutes, fee=fee,
    )
    session.add(service)
    session.flush()
    return service


def create_counter(
    session: Session,
    unit: Unit,
    code: str,
    name: str,
    *,
    default_service: Service | None = None,
    now: datetime | None = None,
) -> Counter:
    """Add a counter to a unit and issue its first public token."""
    _check_code("Counter", code)
    exists = session.scalar(
        select(Counter.id).where(Counter.unit_id == unit.id, Counter.code == code)
    )
    if exists is not None:
        raise DomainError(f"unit {unit.code} already has a counter with code {code!r}")
    if default_service is not None and default_service.unit_id != unit.id:
        raise DomainError(f"service {default_service.code} does not belong to unit {unit.code}")
    counter = Counter(
        unit=unit, code=code, name=_check_name("Counter", name), default_service=default_service
    )
    session.add(counter)
    session.flush()
    issue_token(session, counter, now=now)
    return counter


def live_token(session: Session, counter: Counter) -> CounterToken | None:
    """The counter's current public token, or None if every token was retired."""
    return session.scalars(
        select(CounterToken).where(
            CounterToken.counter_id == counter.id, CounterToken.retired_at.is_(None)
        )
    ).one_or_none()


def issue_token(session: Session, counter: Counter, *, now: datetime | None = None) -> CounterToken:
    """Issue a new public token for a counter, retiring the live one (old posters stop working).

    Retired tokens are kept so that a scanned old poster is told apart from a forged code.
    """
    now = now or utcnow()
    current = live_token(session, counter)
    if current is not None and now < current.issued_at:
        raise DomainError(f"{counter.name}: a new token cannot predate the live one "
                          f"(issued {current.issued_at.isoformat()})")
    if current is not None:
        current.retired_at = now
        session.flush()
    token = CounterToken(counter=counter, token=secrets.token_urlsafe(TOKEN_BYTES), issued_at=now)
    session.add(token)
    session.flush()
    return token


def find_token(session: Session, token: str) -> CounterToken | None:
    """Look up a token, live or retired (the caller tells a retired one from an unknown one)."""
    if not TOKEN_PATTERN.fullmatch(token):
        return None  # not a token we could have issued (also keeps NUL bytes off the wire)
    return session.scalars(
        select(CounterToken)
        .where(CounterToken.token == token)
        .options(joinedload(CounterToken.counter).joinedload(Counter.unit))
    ).one_or_none()


def counters_with_urls(session: Session, public_base_url: str) -> list[dict[str, object]]:
    """Every counter with its unit and public survey URL, ordered by unit and counter code."""
    rows = session.execute(
        select(Counter, Unit, CounterToken.token)
        .join(Unit, Counter.unit_id == Unit.id)
        .outerjoin(
            CounterToken,
            (CounterToken.counter_id == Counter.id) & CounterToken.retired_at.is_(None),
        )
        .order_by(Unit.code, Counter.code)
    )
    return [
        {
            "unit": unit.code,
            "unit_name": unit.name,
            "counter": counter.code,
            "name": counter.name,
            "active": counter.active,
            "url": f"{public_base_url.rstrip('/')}/s/{token}" if token else None,
            "arrival_url": arrival_url(unit, public_base_url),
        }
        for counter, unit, token in rows
    ]


def arrival_url(unit: Unit, public_base_url: str) -> str:
    """The address of a unit's arrival poster (scanned on arrival, for the measured wait)."""
    return f"{public_base_url.rstrip('/')}/a/{unit.arrival_token}"


def units_with_arrival_urls(session: Session, public_base_url: str) -> list[dict[str, str]]:
    """Every unit with its arrival poster's URL, ordered by code."""
    return [{"unit": unit.code, "unit_name": unit.name,
             "arrival_url": arrival_url(unit, public_base_url)}
            for unit in session.scalars(select(Unit).order_by(Unit.code))]


def create_officer(
    session: Session, nip: str, name: str, unit: Unit, position: str
) -> Officer:
    """Register an officer; the NIP must be valid and new."""
    try:
        parsed = parse_nip(nip)
    except InvalidNip as exc:
        raise DomainError(str(exc)) from None
    if session.scalar(select(Officer.id).where(Officer.nip == parsed.value)) is not None:
        raise DomainError(f"an officer with NIP {parsed.value} already exists")
    officer = Officer(
        nip=parsed.value, name=_check_name("Officer", name), unit=unit,
        position=_check_name("Position", position),
    )
    session.add(officer)
    session.flush()
    return officer


@dataclass(frozen=True)
class RowError:
    """One bad line of an import file."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class ImportRejected(DomainError):
    """The file had bad rows; nothing was imported."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


OFFICER_COLUMNS = ("nip", "name", "unit", "position")


def invisible_character(value: str) -> str | None:
    """The first control, formatting (bidirectional, zero-width), surrogate, private-use or
    line/paragraph-separator character of ``value``, as U+XXXX; None when there is none."""
    for character in value:
        if unicodedata.category(character) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp"):
            return f"U+{ord(character):04X}"
    return None


def assign_officer(
    session: Session,
    officer: Officer,
    counter: Counter,
    starts_at: datetime,
    ends_at: datetime | None = None,
) -> Assignment:
    """Put an officer on duty at a counter for [starts_at, ends_at); refuse a duty that
    overlaps another of the same officer (one officer is never at two counters at once;
    several officers may share a counter).

    The database refuses overlaps too (exclusion constraint / trigger); checking here first
    gives the person a clear message instead of an integrity error.
    """
    if ends_at is not None and ends_at <= starts_at:
        raise DomainError("an assignment must end after it starts")
    if officer.unit_id != counter.unit_id:
        raise DomainError(f"officer {officer.name} does not belong to unit {counter.unit.code}")
    overlap = [Assignment.officer_id == officer.id,
               or_(Assignment.ends_at.is_(None), Assignment.ends_at > starts_at)]
    if ends_at is not None:
        overlap.append(Assignment.starts_at < ends_at)
    clash = session.scalars(select(Assignment).where(*overlap)).first()
    if clash is not None:
        until = clash.ends_at.isoformat() if clash.ends_at else "(open-ended)"
        raise DomainError(
            f"{officer.name} is already on duty at {clash.counter.name} from "
            f"{clash.starts_at.isoformat()} to {until}"
        )
    assignment = Assignment(
        officer=officer, counter=counter, starts_at=starts_at, ends_at=ends_at
    )
    session.add(assignment)
    session.flush()
    return assignment


def on_duty_query(
    counter_id: int | ColumnElement[int], at: datetime | ColumnElement[datetime]
) -> Select[int]:
    """The id of the officer on duty at a counter at an instant (at most one row).

    On the table rather than the entity, so that statements embedding it stay plain Core;
    ``counter_id`` and ``at`` may be columns or bound parameters of an enclosing statement.
    """
    assignments = Assignment.__table__
    return select(assignments.c.officer_id).where(
        assignments.c.counter_id == counter_id,
        assignments.c.starts_at <= at,
        or_(assignments.c.ends_at.is_(None), assignments.c.ends_at > at),
    ).limit(1)


def officer_on_duty(session: Session, counter_id: int, at: datetime) -> Officer | None:
    """The officer on duty at a counter at an instant, or None (a single query)."""
    return session.scalars(
        select(Officer).where(Officer.id == on_duty_query(counter_id, at).scalar_subquery())
    ).first()


class ServiceChoice(NamedTuple):
    """A service as a citizen picks it: its code and name."""

    code: str
    name: str


def unit_by_arrival_token(session: Session, token: str) -> Unit | None:
    """The unit whose arrival poster carries ``token``, or None."""
    if not TOKEN_PATTERN.fullmatch(token):  # also keeps NUL bytes away from PostgreSQL
        return None
    return session.scalars(select(Unit).where(Unit.arrival_token == token)).one_or_none()


# Built once, run with the unit's id: every survey page view asks it.
_SERVICES_OF = (select(Service.code, Service.name)
                .where(Service.unit_id == bindparam("unit_id"), Service.active)
                .order_by(Service.code))


def services_of(session: Session, unit_id: int) -> list[ServiceChoice]:
    """A unit's active services in code order, as the survey page offers them."""
    return [ServiceChoice(code, name)
            for code, name in session.execute(_SERVICES_OF, {"unit_id": unit_id})]
