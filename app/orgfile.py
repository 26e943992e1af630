"""The organisation as a TOML file: read and check it whole, plan the changes, apply them
in the caller's transaction, and write the stored organisation back (docs/organisation.md)."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import tomli_w
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app import orgspec
from app.models import Counter, Service, Unit
from app.org import CODE_PATTERN, DomainError
from app.orgspec import CounterSpec, ServiceSpec, UnitSpec


class OrgFileError(DomainError):
    """The file cannot be applied; every problem names the file, the entry and the field."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("\n".join(errors))


@dataclass
class FileUnit:
    """One ``[[units]]`` entry with its services and counters, and where it is in the file."""

    path: str
    spec: UnitSpec
    services: list[tuple[str, ServiceSpec]] = field(default_factory=list)
    counters: list[tuple[str, CounterSpec]] = field(default_factory=list)


@dataclass(frozen=True)
class Change:
    """One thing applying the file does: ``action`` is create, update, deactivate or
    reactivate; ``diffs`` lists (field, old, new) of an update."""

    action: str
    kind: str  # unit, service, counter
    label: str  # PKM-KTB2, PKM-KTB2/GIGI
    diffs: tuple[tuple[str, Any, Any], ...] = ()
    run: Callable[[Session], object] | None = field(default=None, compare=False, repr=False)

    def describe(self) -> list[str]:
        """The lines --dry-run prints for this change."""
        head = f"{self.action} {self.kind} {self.label}"
        return [head] + [f"    {name}: {_show(old)} → {_show(new)}"
                         for name, old, new in self.diffs]


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {v}" for k, v in value.items()) + "}"
    return repr(value) if isinstance(value, str) else str(value).lower() \
        if isinstance(value, bool) else str(value)


# --- reading -------------------------------------------------------------------------------

UNIT_FIELDS = {"code": str, "name": str, "kind": str, "parent": str, "address": str,
               "opening_hours": dict, "active": bool, "services": list, "counters": list}
SERVICE_FIELDS = {"code": str, "name": str, "standard_minutes": int, "fee": int,
                  "active": bool}
COUNTER_FIELDS = {"code": str, "name": str, "service": str, "active": bool}
REQUIRED = ("code", "name")
TYPE_NAMES = {str: "a string", int: "an integer", bool: "true or false", dict: "a table",
              list: "an array of tables"}


class _Reader:
    """Collects every problem of a file instead of stopping at the first."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.errors: list[str] = []

    def error(self, where: str, message: str) -> None:
        self.errors.append(f"{self.filename}: {where}: {message}")

    def entry(self, table: object, where: str, fields: Mapping[str, type],
              required: tuple[str, ...]) -> dict[str, Any] | None:
        if not isinstance(table, dict):
            self.error(where, "must be a table")
            return None
        where = _label(where, table)
        values: dict[str, Any] = {}
        for key, value in table.items():
            wanted = fields.get(key)
            if wanted is None:
                self.error(f"{where}.{key}", f"unknown field (known: {', '.join(fields)})")
            elif type(value) is not wanted:  # exact: a bool is not an integer here
                self.error(f"{where}.{key}", f"must be {TYPE_NAMES[wanted]}")
            else:
                values[key] = value
        for key in required:
            if key not in table:
                self.error(f"{where}.{key}", "is missing")
        return values

    def problems(self, where: str, found: Mapping[str, str]) -> None:
        for key, message in found.items():
            self.error(f"{where}.{key}", message)


def _label(where: str, values: Mapping[str, Any]) -> str:
    code = values.get("code")
    return f"{where} ({code})" if isinstance(code, str) and code else where


def read_file(text: str, filename: str) -> list[FileUnit]:
    """Parse and check an organisation file on its own; OrgFileError lists every problem."""
    reader = _Reader(filename)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise OrgFileError([f"{filename}: not valid TOML: {exc}"]) from None
    for key in document:
        if key != "units":
            reader.error(key, "unknown top-level key (an organisation file holds [[units]])")
    entries = document.get("units", [])
    if not isinstance(entries, list):
        reader.error("units", "must be an array of tables ([[units]])")
        entries = []
    units: list[FileUnit] = []
    for number, table in enumerate(entries, start=1):
        values = reader.entry(table, f"units[{number}]", UNIT_FIELDS, (*REQUIRED, "kind"))
        if values is None:
            continue
        where = _label(f"units[{number}]", values)
        unit = _read_unit(reader, where, values)
        if unit is not None:
            units.append(unit)
    if reader.errors:
        raise OrgFileError(reader.errors)
    return units


def _text(values: Mapping[str, Any], key: str) -> str:
    return orgspec.clean(values.get(key))


def _optional(values: Mapping[str, Any], key: str) -> str | None:
    return orgspec.clean(values[key]) or None if key in values else None


def _read_unit(reader: _Reader, where: str, values: dict[str, Any]) -> FileUnit | None:
    hours = values.get("opening_hours", {})
    for day, value in hours.items():
        if not isinstance(value, str):
            reader.error(f"{where}.opening_hours.{day}", 'must be a string like "07:30-15:30"')
    spec = UnitSpec(code=_text(values, "code"), name=_text(values, "name"),
                    kind=_text(values, "kind"), parent=_optional(values, "parent"),
                    address=_optional(values, "address"),
                    opening_hours={d: v for d, v in hours.items() if isinstance(v, str)},
                    active=values.get("active", True))
    reader.problems(where, spec.problems())
    unit = FileUnit(where, spec)
    for number, table in enumerate(values.get("services", []), start=1):
        found = reader.entry(table, f"{where}.services[{number}]", SERVICE_FIELDS, REQUIRED)
        if found is None:
            continue
        path = _label(f"{where}.services[{number}]", found)
        service = ServiceSpec(code=_text(found, "code"), name=_text(found, "name"),
                              standard_minutes=found.get("standard_minutes"),
                              fee=found.get("fee", 0), active=found.get("active", True))
        reader.problems(path, service.problems())
        unit.services.append((path, service))
    for number, table in enumerate(values.get("counters", []), start=1):
        found = reader.entry(table, f"{where}.counters[{number}]", COUNTER_FIELDS, REQUIRED)
        if found is None:
            continue
        path = _label(f"{where}.counters[{number}]", found)
        counter = CounterSpec(code=_text(found, "code"), name=_text(found, "name"),
                              service=_optional(found, "service"),
                              active=found.get("active", True))
        reader.problems(path, counter.problems())
        unit.counters.append((path, counter))
    return unit


# --- planning ------------------------------------------------------------------------------


def _stored_units(session: Session) -> dict[str, Unit]:
    return {unit.code: unit for unit in session.scalars(
        select(Unit).options(
            selectinload(Unit.hours),
            selectinload(Unit.services),
            selectinload(Unit.counters).selectinload(Counter.default_service)))}


def plan(session: Session, units: list[FileUnit], filename: str, *,
         deactivate_missing: bool = False) -> list[Change]:
    """What applying ``units`` would change, in a safe order; OrgFileError when the file does
    not fit the stored organisation (unknown parent, a cycle, an unknown default service)."""
    reader = _Reader(filename)
    stored = _stored_units(session)
    _check_against(reader, units, stored)
    if reader.errors:
        raise OrgFileError(reader.errors)
    changes: list[Change] = []
    for unit in _parents_first(units):
        changes += _unit_changes(unit, stored.get(unit.spec.code))
    if deactivate_missing:
        changes += _missing(units, stored)
    return changes


def _check_against(reader: _Reader, units: list[FileUnit], stored: dict[str, Unit]) -> None:
    first: dict[str, str] = {}
    for unit in units:
        code = unit.spec.code
        if code in first:
            reader.error(f"{unit.path}.code", f"the code {code} is already used by {first[code]}")
        first.setdefault(code, unit.path)
        for entries, kind in ((unit.services, "service"), (unit.counters, "counter")):
            seen: dict[str, str] = {}
            for path, spec in entries:
                if spec.code in seen:
                    reader.error(f"{path}.code", f"the {kind} code {spec.code} is already used "
                                                 f"by {seen[spec.code]}")
                seen.setdefault(spec.code, path)
        services = {spec.code for _, spec in unit.services}
        if code in stored:
            services |= {service.code for service in stored[code].services}
        for path, counter in unit.counters:
            if counter.service is not None and counter.service not in services:
                reader.error(f"{path}.service",
                             f"unit {code} has no service with code {counter.service}")
    parents = {code: (unit.parent.code if unit.parent else None)
               for code, unit in stored.items()}
    parents.update({unit.spec.code: unit.spec.parent for unit in units})
    for unit in units:
        parent = unit.spec.parent
        if parent is None:
            continue
        if parent not in parents:
            reader.error(f"{unit.path}.parent", f"there is no unit with code {parent} "
                                                "in the file or the database")
            continue
        visited = {unit.spec.code}
        while parent is not None and parent not in visited:
            visited.add(parent)
            parent = parents.get(parent)
        if parent == unit.spec.code:
            reader.error(f"{unit.path}.parent", "a unit cannot be its own ancestor "
                                                "(the parents form a cycle)")


def _parents_first(units: list[FileUnit]) -> list[FileUnit]:
    by_code = {unit.spec.code: unit for unit in units}

    def depth(unit: FileUnit) -> int:
        steps, parent = 0, unit.spec.parent
        while parent in by_code and steps <= len(units):
            steps, parent = steps + 1, by_code[parent].spec.parent
        return steps

    return sorted(units, key=depth)  # stable: the file's order within one depth


def _diffs(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[tuple[str, Any, Any], ...]:
    return tuple((key, old[key], new[key]) for key in new
                 if key != "active" and old[key] != new[key])


def _activity(kind: str, label: str, was: bool, wanted: bool,
              run: Callable[[Session], object]) -> list[Change]:
    if was == wanted:
        return []
    return [Change("reactivate" if wanted else "deactivate", kind, label, run=run)]


def _unit_changes(unit: FileUnit, stored: Unit | None) -> list[Change]:
    spec, code = unit.spec, unit.spec.code
    changes: list[Change] = []
    if stored is None:
        changes.append(Change("create", "unit", code, run=lambda s: orgspec.create_unit(
            s, spec, checked=True)))
    else:
        diffs = _diffs(orgspec.unit_state(stored), spec.state())
        if diffs:
            changes.append(Change("update", "unit", code, diffs, run=lambda s: orgspec.update_unit(
                s, _unit(s, code), spec, checked=True)))
        changes += _activity("unit", code, stored.active, spec.active,
                             lambda s: orgspec.set_unit_active(s, _unit(s, code), spec.active))
    services = {s.code: s for s in stored.services} if stored else {}
    for _, service in unit.services:
        changes += _member_changes("service", code, service, services.get(service.code))
    counters = {c.code: c for c in stored.counters} if stored else {}
    for _, counter in unit.counters:
        changes += _member_changes("counter", code, counter, counters.get(counter.code))
    return changes


def _unit(session: Session, code: str) -> Unit:
    return session.scalars(select(Unit).where(Unit.code == code)).one()


def _member(session: Session, kind: str, unit_code: str, code: str) -> Any:
    model = Service if kind == "service" else Counter
    return session.scalars(select(model).join(Unit).where(
        Unit.code == unit_code, model.code == code)).one()


OPERATIONS: dict[str, tuple[Callable[..., Any], Callable[..., Any], Callable[..., Any],
                            Callable[[Any], dict[str, Any]]]] = {
    "service": (orgspec.create_service, orgspec.update_service, orgspec.set_service_active,
                orgspec.service_state),
    "counter": (orgspec.create_counter, orgspec.update_counter, orgspec.set_counter_active,
                orgspec.counter_state),
}


def _member_changes(kind: str, unit_code: str, spec: ServiceSpec | CounterSpec,
                    stored: Service | Counter | None) -> list[Change]:
    create, update, set_active, state = OPERATIONS[kind]
    label = f"{unit_code}/{spec.code}"
    if stored is None:
        return [Change("create", kind, label, run=lambda s: create(
            s, _unit(s, unit_code), spec, checked=True))]
    changes: list[Change] = []
    diffs = _diffs(state(stored), spec.state())
    if diffs:
        changes.append(Change("update", kind, label, diffs, run=lambda s: update(
            s, _member(s, kind, unit_code, spec.code), spec, checked=True)))
    changes += _activity(kind, label, stored.active, spec.active, lambda s: set_active(
        s, _member(s, kind, unit_code, spec.code), spec.active))
    return changes


def _missing(units: list[FileUnit], stored: dict[str, Unit]) -> list[Change]:
    listed = {unit.spec.code: unit for unit in units}
    changes: list[Change] = []
    for code, unit in sorted(stored.items()):
        entry = listed.get(code)
        if entry is None and unit.active:
            changes.append(Change("deactivate", "unit", code,
                                  run=partial(_deactivate, kind="unit", unit_code=code)))
        for kind, members, in_file in (
                ("service", unit.services, {spec.code for _, spec in entry.services}
                 if entry else set()),
                ("counter", unit.counters, {spec.code for _, spec in entry.counters}
                 if entry else set())):
            for member in members:
                if member.active and member.code not in in_file:
                    changes.append(Change(
                        "deactivate", kind, f"{code}/{member.code}",
                        run=partial(_deactivate, kind=kind, unit_code=code, code=member.code)))
    return changes


def _deactivate(session: Session, *, kind: str, unit_code: str, code: str = "") -> bool:
    if kind == "unit":
        return orgspec.set_unit_active(session, _unit(session, unit_code), False)
    set_active = OPERATIONS[kind][2]
    return bool(set_active(session, _member(session, kind, unit_code, code), False))


def apply(session: Session, changes: list[Change]) -> None:
    """Make every planned change in the caller's transaction (flushes, never commits)."""
    for change in changes:
        assert change.run is not None  # noqa: S101 (every planned change carries its action)
        change.run(session)


def apply_text(session: Session, text: str, filename: str, *,
               deactivate_missing: bool = False, dry_run: bool = False) -> list[Change]:
    """Read, check and (unless ``dry_run``) apply an organisation file; the changes made or
    that would be made. Raises OrgFileError, having changed nothing, when the file is bad."""
    changes = plan(session, read_file(text, filename), filename,
                   deactivate_missing=deactivate_missing)
    if not dry_run:
        apply(session, changes)
    return changes


def set_active(session: Session, kind: str, ref: str, active: bool) -> bool:
    """(De)activate the unit ``CODE`` or the service or counter ``UNIT/CODE``, as the file
    names them; False when it already was. DomainError names what does not exist."""
    unit_code, _, code = ref.partition("/")
    parts = [ref] if kind == "unit" else [unit_code, code]
    if not all(CODE_PATTERN.fullmatch(part) for part in parts):
        raise DomainError(f"{ref!r} is not a {kind} reference "
                          f"({'CODE' if kind == 'unit' else 'UNIT/CODE'})")
    if kind == "unit":
        unit = orgspec.unit_by_code(session, ref)
        if unit is None:
            raise DomainError(f"there is no unit with code {ref!r}")
        return orgspec.set_unit_active(session, unit, active)
    model = Service if kind == "service" else Counter
    found = session.scalars(select(model).join(Unit).where(
        Unit.code == unit_code, model.code == code)).one_or_none()
    if found is None:
        raise DomainError(f"there is no {kind} {ref!r} (write it as UNIT/CODE)")
    return bool(OPERATIONS[kind][2](session, found, active))


# --- writing -------------------------------------------------------------------------------


def export_document(session: Session) -> dict[str, Any]:
    """The stored organisation as the file's structure: parents before children, inactive
    entries included, no tokens."""
    stored = _stored_units(session)
    depth: dict[str, int] = {}

    def depth_of(unit: Unit) -> int:
        if unit.code not in depth:
            depth[unit.code] = 0 if unit.parent is None else depth_of(unit.parent) + 1
        return depth[unit.code]

    units = sorted(stored.values(), key=lambda u: (depth_of(u), u.code))
    return {"units": [_unit_entry(unit) for unit in units]}


def _without_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None and value != {}}


def _unit_entry(unit: Unit) -> dict[str, Any]:
    entry = _without_none(orgspec.unit_state(unit))
    entry["services"] = [_without_none(orgspec.service_state(s)) for s in unit.services]
    entry["counters"] = [_without_none(orgspec.counter_state(c)) for c in unit.counters]
    return entry


def export_text(session: Session) -> str:
    """The stored organisation as TOML text, ready for ``org apply``."""
    header = ("# Suara Warga organisation file: `flask --app app org apply FILE`.\n"
              "# Format: docs/organisation.md\n\n")
    return header + tomli_w.dumps(export_document(session))
