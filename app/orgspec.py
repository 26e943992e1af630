"""What a unit, service or counter should be: one validation for the TOML file and the forms,
and the audited operations that create, change, deactivate and reactivate them."""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from typing import Any

from flask_babel import gettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from app import audit
from app.models import Counter, OpeningHours, Service, Unit
from app.models.org import UNIT_KINDS
from app.org import CODE_PATTERN, TOKEN_BYTES, DomainError, issue_token

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NAME_MAX = 200
ADDRESS_MAX = 300
MINUTES_MAX = 24 * 60
FEE_MAX = 100_000_000  # Rupiah; far above any public service fee, far below the column's limit
HOURS_PATTERN = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


def _(message: str, **variables: Any) -> str:
    """Flask-Babel's gettext with its type: the request's language, English in the CLI."""
    return str(gettext(message, **variables))


def _odd_character(value: str) -> str | None:
    """The first control, formatting (bidirectional, zero-width), surrogate, private-use or
    line-separator character of ``value`` as U+XXXX, or None."""
    for character in value:
        if unicodedata.category(character) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp"):
            return f"U+{ord(character):04X}"
    return None


def code_problem(code: str) -> str | None:
    """Why ``code`` cannot be a unit, service or counter code, or None."""
    if not code:
        return _("Enter a code.")
    if not CODE_PATTERN.fullmatch(code):
        return _("A code is 1 to 32 letters, digits, '-' or '_', starting with a letter or "
                 "digit.")
    return None


def text_problem(value: str, limit: int, *, required: bool = True) -> str | None:
    """Why ``value`` cannot be stored as a name or address, or None."""
    if not value:
        return _("This field is required.") if required else None
    if len(value) > limit:
        return _("At most %(limit)d characters (this has %(length)d).", limit=limit,
                 length=len(value))
    if odd := _odd_character(value):
        return _("Remove the invisible or control character %(char)s.", char=odd)
    return None


def parse_hours(value: str) -> tuple[time, time]:
    """``"07:30-15:30"`` as (opens, closes); DomainError with a message when it is not."""
    match = HOURS_PATTERN.fullmatch(value.strip())
    if match is None:
        raise DomainError(_("Write opening hours as HH:MM-HH:MM, e.g. 07:30-15:30."))
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise DomainError(_("Hours run from 00:00 to 23:59."))
    opens, closes = time(h1, m1), time(h2, m2)
    if closes <= opens:
        raise DomainError(_("The closing time must be after the opening time."))
    return opens, closes


def format_hours(opens: time, closes: time) -> str:
    """(opens, closes) as ``"07:30-15:30"``."""
    return f"{opens:%H:%M}-{closes:%H:%M}"


def clean(value: str | None) -> str:
    """Surrounding white space off, Unicode in composed form (one spelling per name)."""
    return unicodedata.normalize("NFC", (value or "").strip())


@dataclass(frozen=True)
class UnitSpec:
    """A unit as it should be. ``opening_hours`` maps a weekday (mon … sun) to "HH:MM-HH:MM";
    a weekday left out is closed."""

    code: str
    name: str
    kind: str
    parent: str | None = None
    address: str | None = None
    opening_hours: Mapping[str, str] = field(default_factory=dict)
    active: bool = True

    def problems(self) -> dict[str, str]:
        """{field: message} of everything wrong with the unit on its own (empty when valid)."""
        found: dict[str, str] = {}
        if problem := code_problem(self.code):
            found["code"] = problem
        if problem := text_problem(self.name, NAME_MAX):
            found["name"] = problem
        if self.kind not in UNIT_KINDS:
            found["kind"] = _("The kind must be one of: %(kinds)s.", kinds=", ".join(UNIT_KINDS))
        if self.parent is not None and (problem := code_problem(self.parent)):
            found["parent"] = problem
        elif self.parent is not None and self.parent == self.code:
            found["parent"] = _("A unit cannot be its own parent.")
        if problem := text_problem(self.address or "", ADDRESS_MAX, required=False):
            found["address"] = problem
        for day, hours in self.opening_hours.items():
            if day not in WEEKDAYS:
                found[f"opening_hours.{day}"] = _(
                    "Unknown weekday; use %(days)s.", days=", ".join(WEEKDAYS))
                continue
            try:
                parse_hours(hours)
            except DomainError as exc:
                found[f"opening_hours.{day}"] = str(exc)
        return found

    def state(self) -> dict[str, Any]:
        """The fields compared and audited, in the same shape as ``unit_state``."""
        return {"code": self.code, "name": self.name, "kind": self.kind, "parent": self.parent,
                "address": self.address or None,
                "opening_hours": {day: format_hours(*parse_hours(self.opening_hours[day]))
                                  for day in WEEKDAYS if day in self.opening_hours},
                "active": self.active}


@dataclass(frozen=True)
class ServiceSpec:
    """A service as it should be (fee in Rupiah, standard time in minutes)."""

    code: str
    name: str
    standard_minutes: int | None = None
    fee: int = 0
    active: bool = True

    def problems(self) -> dict[str, str]:
        """{field: message} of everything wrong with the service on its own."""
        found: dict[str, str] = {}
        if problem := code_problem(self.code):
            found["code"] = problem
        if problem := text_problem(self.name, NAME_MAX):
            found["name"] = problem
        if self.standard_minutes is not None and not 1 <= self.standard_minutes <= MINUTES_MAX:
            found["standard_minutes"] = _(
                "The standard time is between 1 and %(max)d minutes.", max=MINUTES_MAX)
        if not 0 <= self.fee <= FEE_MAX:
            found["fee"] = _("The fee is between 0 and %(max)d Rupiah.", max=FEE_MAX)
        return found

    def state(self) -> dict[str, Any]:
        """The fields compared and audited."""
        return {"code": self.code, "name": self.name, "standard_minutes": self.standard_minutes,
                "fee": self.fee, "active": self.active}


@dataclass(frozen=True)
class CounterSpec:
    """A counter as it should be; ``service`` is the code of its unit's default service."""

    code: str
    name: str
    service: str | None = None
    active: bool = True

    def problems(self) -> dict[str, str]:
        """{field: message} of everything wrong with the counter on its own."""
        found: dict[str, str] = {}
        if problem := code_problem(self.code):
            found["code"] = problem
        if problem := text_problem(self.name, NAME_MAX):
            found["name"] = problem
        if self.service is not None and (problem := code_problem(self.service)):
            found["service"] = problem
        return found

    def state(self) -> dict[str, Any]:
        """The fields compared and audited."""
        return {"code": self.code, "name": self.name, "service": self.service,
                "active": self.active}


def unit_state(unit: Unit) -> dict[str, Any]:
    """A stored unit in the shape of ``UnitSpec.state``."""
    return {"code": unit.code, "name": unit.name, "kind": unit.kind,
            "parent": unit.parent.code if unit.parent else None, "address": unit.address,
            "opening_hours": {WEEKDAYS[h.weekday]: format_hours(h.opens, h.closes)
                              for h in sorted(unit.hours, key=lambda h: h.weekday)},
            "active": unit.active}


def service_state(service: Service) -> dict[str, Any]:
    """A stored service in the shape of ``ServiceSpec.state``."""
    return {"code": service.code, "name": service.name,
            "standard_minutes": service.standard_minutes, "fee": service.fee,
            "active": service.active}


def counter_state(counter: Counter) -> dict[str, Any]:
    """A stored counter in the shape of ``CounterSpec.state``."""
    return {"code": counter.code, "name": counter.name,
            "service": counter.default_service.code if counter.default_service else None,
            "active": counter.active}


def unit_spec_of(unit: Unit) -> UnitSpec:
    """The spec a stored unit satisfies (to fill an edit form)."""
    state = unit_state(unit)
    return UnitSpec(**state)


# --- reading ------------------------------------------------------------------------------


def unit_by_code(session: Session, code: str | None) -> Unit | None:
    """The unit with this code, or None."""
    if code is None:
        return None
    return session.scalars(select(Unit).where(Unit.code == code)).one_or_none()


def units_in_scope(session: Session, scope: set[int] | None
                   ) -> list[tuple[Unit, int, int]]:
    """The units of ``scope`` (None: every unit) by code, each with its number of services
    and counters."""
    services = (select(Service.unit_id, func.count().label("n"))
                .group_by(Service.unit_id).subquery())
    counters = (select(Counter.unit_id, func.count().label("n"))
                .group_by(Counter.unit_id).subquery())
    query = (select(Unit, func.coalesce(services.c.n, 0), func.coalesce(counters.c.n, 0))
             .outerjoin(services, services.c.unit_id == Unit.id)
             .outerjoin(counters, counters.c.unit_id == Unit.id)
             .options(joinedload(Unit.parent))
             .order_by(Unit.code))
    if scope is not None:
        query = query.where(Unit.id.in_(scope))
    return [(unit, int(n_services), int(n_counters))
            for unit, n_services, n_counters in session.execute(query)]


# --- checks that need the database ---------------------------------------------------------


def creates_cycle(session: Session, unit: Unit | None, parent: Unit | None) -> bool:
    """True when putting ``unit`` under ``parent`` would make the unit its own ancestor."""
    if unit is None or parent is None:
        return False
    seen: set[int] = set()
    current: Unit | None = parent
    while current is not None and current.id not in seen:
        if current.id == unit.id:
            return True
        seen.add(current.id)
        current = current.parent
    return False


def unit_problems(session: Session, spec: UnitSpec, unit: Unit | None = None) -> dict[str, str]:
    """Everything wrong with saving ``spec`` as a new unit (``unit`` None) or over ``unit``."""
    found = spec.problems()
    if "code" not in found:
        other = unit_by_code(session, spec.code)
        if other is not None and other is not unit:
            found["code"] = _("Another unit already has this code.")
    if spec.parent is not None and "parent" not in found:
        parent = unit_by_code(session, spec.parent)
        if parent is None:
            found["parent"] = _("There is no unit with code %(code)s.", code=spec.parent)
        elif creates_cycle(session, unit, parent):
            found["parent"] = _("A unit cannot be placed under itself or one of its "
                                "sub-units.")
    return found


def service_problems(session: Session, unit: Unit, spec: ServiceSpec,
                     service: Service | None = None) -> dict[str, str]:
    """Everything wrong with saving ``spec`` in ``unit``, new or over ``service``."""
    found = spec.problems()
    if "code" not in found:
        other = session.scalars(select(Service).where(
            Service.unit_id == unit.id, Service.code == spec.code)).one_or_none()
        if other is not None and other is not service:
            found["code"] = _("This unit already has a service with this code.")
    return found


def counter_problems(session: Session, unit: Unit, spec: CounterSpec,
                     counter: Counter | None = None) -> dict[str, str]:
    """Everything wrong with saving ``spec`` in ``unit``, new or over ``counter``."""
    found = spec.problems()
    if "code" not in found:
        other = session.scalars(select(Counter).where(
            Counter.unit_id == unit.id, Counter.code == spec.code)).one_or_none()
        if other is not None and other is not counter:
            found["code"] = _("This unit already has a counter with this code.")
    if spec.service is not None and "service" not in found \
            and _service(session, unit, spec.service) is None:
        found["service"] = _("This unit has no service with code %(code)s.", code=spec.service)
    return found


def _service(session: Session, unit: Unit, code: str) -> Service | None:
    return session.scalars(select(Service).where(
        Service.unit_id == unit.id, Service.code == code)).one_or_none()


def _refuse(found: Mapping[str, str]) -> None:
    if found:
        raise DomainError("; ".join(f"{key}: {message}" for key, message in found.items()))


# --- audited operations (flush, never commit) ----------------------------------------------


def _set_hours(unit: Unit, spec: UnitSpec) -> None:
    wanted = {WEEKDAYS.index(day): parse_hours(hours)
              for day, hours in spec.opening_hours.items()}
    for row in list(unit.hours):
        if row.weekday not in wanted:
            unit.hours.remove(row)
        else:
            row.opens, row.closes = wanted.pop(row.weekday)
    for weekday, (opens, closes) in sorted(wanted.items()):
        unit.hours.append(OpeningHours(weekday=weekday, opens=opens, closes=closes))


def create_unit(session: Session, spec: UnitSpec, *, checked: bool = False) -> Unit:
    """Create a unit from ``spec`` (validated here unless the caller did it for a whole file)."""
    if not checked:
        _refuse(unit_problems(session, spec))
    unit = Unit(code=spec.code, name=spec.name, kind=spec.kind,
                parent=unit_by_code(session, spec.parent), address=spec.address or None,
                active=spec.active, arrival_token=secrets.token_urlsafe(TOKEN_BYTES))
    session.add(unit)
    _set_hours(unit, spec)
    session.flush()
    audit.record(session, "org.unit.create", "unit", unit.id, after=unit_state(unit))
    return unit


def update_unit(session: Session, unit: Unit, spec: UnitSpec, *, checked: bool = False) -> bool:
    """Bring ``unit`` to ``spec``; a change of ``active`` is recorded as a deactivation or
    reactivation of its own. Returns whether anything changed."""
    if not checked:
        _refuse(unit_problems(session, spec, unit))
    before = unit_state(unit)
    unit.code, unit.name, unit.kind = spec.code, spec.name, spec.kind
    unit.parent = unit_by_code(session, spec.parent)
    unit.address = spec.address or None
    _set_hours(unit, spec)
    session.flush()
    after = unit_state(unit)
    changed = before != after
    if changed:
        audit.record(session, "org.unit.update", "unit", unit.id, before=before, after=after)
    return set_unit_active(session, unit, spec.active) or changed


def set_unit_active(session: Session, unit: Unit, active: bool) -> bool:
    """Deactivate or reactivate a unit (nothing is deleted); False when it already was."""
    if unit.active == active:
        return False
    unit.active = active
    session.flush()
    audit.record(session, f"org.unit.{'reactivate' if active else 'deactivate'}", "unit",
                 unit.id, before={"code": unit.code, "active": not active},
                 after={"code": unit.code, "active": active})
    return True


def create_service(session: Session, unit: Unit, spec: ServiceSpec, *,
                   checked: bool = False) -> Service:
    """Add a service to ``unit`` from ``spec``."""
    if not checked:
        _refuse(service_problems(session, unit, spec))
    service = Service(unit=unit, code=spec.code, name=spec.name,
                      standard_minutes=spec.standard_minutes, fee=spec.fee, active=spec.active)
    session.add(service)
    session.flush()
    audit.record(session, "org.service.create", "service", service.id,
                 after={"unit": unit.code, **service_state(service)})
    return service


def update_service(session: Session, service: Service, spec: ServiceSpec, *,
                   checked: bool = False) -> bool:
    """Bring ``service`` to ``spec``; returns whether anything changed."""
    if not checked:
        _refuse(service_problems(session, service.unit, spec, service))
    before = service_state(service)
    service.code, service.name = spec.code, spec.name
    service.standard_minutes, service.fee = spec.standard_minutes, spec.fee
    session.flush()
    after = service_state(service)
    changed = before != after
    if changed:
        audit.record(session, "org.service.update", "service", service.id,
                     before=before, after=after)
    return set_service_active(session, service, spec.active) or changed


def set_service_active(session: Session, service: Service, active: bool) -> bool:
    """Deactivate or reactivate a service; False when it already was."""
    if service.active == active:
        return False
    service.active = active
    session.flush()
    audit.record(session, f"org.service.{'reactivate' if active else 'deactivate'}",
                 "service", service.id,
                 before={"unit": service.unit.code, "code": service.code, "active": not active},
                 after={"unit": service.unit.code, "code": service.code, "active": active})
    return True


def create_counter(session: Session, unit: Unit, spec: CounterSpec, *,
                   checked: bool = False) -> Counter:
    """Add a counter to ``unit`` from ``spec`` and issue its first public token."""
    if not checked:
        _refuse(counter_problems(session, unit, spec))
    counter = Counter(unit=unit, code=spec.code, name=spec.name, active=spec.active,
                      default_service=_service(session, unit, spec.service)
                      if spec.service else None)
    session.add(counter)
    session.flush()
    issue_token(session, counter)
    audit.record(session, "org.counter.create", "counter", counter.id,
                 after={"unit": unit.code, **counter_state(counter)})
    return counter


def update_counter(session: Session, counter: Counter, spec: CounterSpec, *,
                   checked: bool = False) -> bool:
    """Bring ``counter`` to ``spec``; returns whether anything changed."""
    if not checked:
        _refuse(counter_problems(session, counter.unit, spec, counter))
    before = counter_state(counter)
    counter.code, counter.name = spec.code, spec.name
    counter.default_service = (_service(session, counter.unit, spec.service)
                               if spec.service else None)
    session.flush()
    after = counter_state(counter)
    changed = before != after
    if changed:
        audit.record(session, "org.counter.update", "counter", counter.id,
                     before=before, after=after)
    return set_counter_active(session, counter, spec.active) or changed


def set_counter_active(session: Session, counter: Counter, active: bool) -> bool:
    """Deactivate or reactivate a counter (its poster stays recognised); False when it
    already was."""
    if counter.active == active:
        return False
    counter.active = active
    session.flush()
    audit.record(session, f"org.counter.{'reactivate' if active else 'deactivate'}",
                 "counter", counter.id,
                 before={"unit": counter.unit.code, "code": counter.code, "active": not active},
                 after={"unit": counter.unit.code, "code": counter.code, "active": active})
    return True
