"""Officers (ASN): search, create, edit, deactivate, moves between units (mutasi), CSV import.

Every change is recorded in the audit log. Refusals carry a ``Problem``: an English message
with named placeholders that the back office shows in the page's language (the msgids are
marked with ``N_`` for extraction) and the CLI shows as it is.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session, joinedload

from app import audit
from app.db import utcnow
from app.models import Assignment, Officer, OfficerMove, Unit
from app.nip import InvalidNip, parse_nip
from app.org import (
    CODE_PATTERN,
    OFFICER_COLUMNS,
    DomainError,
    ImportRejected,
    RowError,
    create_officer,
    invisible_character,
    unit_by_code,
)

NAME_MAX = 200
SEARCH_MAX = 100
PER_PAGE = 50
AUDITED = ("nip", "name", "unit_id", "position", "active")


def N_(message: str) -> str:  # noqa: N802 (the gettext convention for a marked-only msgid)
    """Mark ``message`` for extraction; it is translated where it is shown."""
    return message


@dataclass(frozen=True)
class Problem:
    """Why something was refused: an English msgid with %(name)s placeholders, and its values."""

    message: str
    params: Mapping[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message % dict(self.params) if self.params else self.message


class OfficerError(DomainError):
    """A refused officer operation; ``field`` names the input at fault (for the form)."""

    def __init__(self, problem: Problem, field: str | None = None) -> None:
        self.problem = problem
        self.field = field
        super().__init__(str(problem))


@dataclass(frozen=True)
class LineProblem:
    """One bad line of an import file."""

    line: int
    problem: Problem

    def __str__(self) -> str:
        return f"line {self.line}: {self.problem}"


class ImportRefused(ImportRejected):
    """The file had bad lines (every one is listed); nothing was imported."""

    def __init__(self, problems: Sequence[LineProblem]) -> None:
        self.problems = list(problems)
        super().__init__([RowError(p.line, str(p.problem)) for p in self.problems])


# Checks of one value ---------------------------------------------------------------------------

def text_problem(value: str, what: str) -> Problem | None:
    """Why a name or position is unacceptable (empty, too long, an invisible character)."""
    value = unicodedata.normalize("NFC", value.strip())
    if not value:
        return Problem(N_("%(field)s is empty"), {"field": what})
    if len(value) > NAME_MAX:
        return Problem(N_("%(field)s is longer than %(max)d characters"),
                       {"field": what, "max": NAME_MAX})
    if odd := invisible_character(value):
        # A NUL, a line break or a right-to-left override would reach the citizens' page as
        # the name of the officer on duty.
        return Problem(N_("%(field)s contains the invisible or control character %(char)s; "
                          "remove it"), {"field": what, "char": odd})
    return None


def clean_text(value: str, what: str, field_name: str) -> str:
    """A name or position, trimmed and NFC-normalised; OfficerError when unacceptable."""
    problem = text_problem(value, what)
    if problem is not None:
        raise OfficerError(problem, field_name)
    return unicodedata.normalize("NFC", value.strip())


def nip_problem(raw: str) -> Problem | None:
    """Why a NIP is not valid (the reasons of ``app.nip.parse_nip``), or None."""
    try:
        parse_nip(raw)
    except InvalidNip:
        pass
    else:
        return None
    value = raw.strip().replace(" ", "")
    if odd := invisible_character(value):
        return Problem(N_("NIP contains the invisible or control character %(char)s"),
                       {"char": odd})
    if not value.isascii() or not value.isdigit():
        return Problem(N_("NIP must contain digits only"))
    if len(value) != 18:
        return Problem(N_("NIP must be 18 digits, not %(count)d"), {"count": len(value)})
    if value[14] not in "12":
        return Problem(N_("NIP: digit 15 (sex) must be 1 or 2"))
    try:
        date(int(value[0:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        return Problem(N_("NIP: %(digits)s is not a real birth date"), {"digits": value[0:8]})
    if not 1 <= int(value[12:14]) <= 12:
        return Problem(N_("NIP: %(digits)s is not a real CPNS start month"),
                       {"digits": value[8:14]})
    return Problem(N_("NIP: the birth date or CPNS start it encodes is not plausible"))


def clean_nip(raw: str) -> str:
    """The NIP as stored (18 digits); OfficerError when it is not valid."""
    problem = nip_problem(raw)
    if problem is not None:
        raise OfficerError(problem, "nip")
    return parse_nip(raw).value


# Reading -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OfficerPage:
    """One page of a search."""

    officers: list[Officer]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages the search has (at least one)."""
        return max(1, -(-self.total // self.per_page))


def clean_query(query: str) -> str:
    """A search text without invisible and control characters (they match no officer, and a
    NUL never reaches the database), trimmed, at most SEARCH_MAX characters."""
    return "".join(c for c in query if not invisible_character(c)).strip()[:SEARCH_MAX]


def search_officers(
    session: Session,
    unit_ids: set[int] | None,
    query: str = "",
    *,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> OfficerPage:
    """Officers of ``unit_ids`` (None: every unit) whose name contains ``query``
    (case-insensitive) or whose NIP starts with it, by name, one page at a time."""
    conditions: list[ColumnElement[bool]] = []
    if unit_ids is not None:
        conditions.append(Officer.unit_id.in_(unit_ids or {-1}))
    query = clean_query(query)
    if query:
        digits = query.replace(" ", "")
        matches = [func.lower(Officer.name).contains(query.lower(), autoescape=True)]
        if digits.isascii() and digits.isdigit():
            matches.append(Officer.nip.startswith(digits, autoescape=True))
        conditions.append(or_(*matches))
    total = session.scalar(select(func.count()).select_from(Officer).where(*conditions)) or 0
    page = max(1, page)
    officers = list(session.scalars(
        select(Officer).where(*conditions).options(joinedload(Officer.unit))
        .order_by(Officer.name, Officer.id).limit(per_page).offset((page - 1) * per_page)))
    return OfficerPage(officers, total, page, per_page)


def officer_by_nip(session: Session, nip: str) -> Officer | None:
    """The officer with this NIP (spaces ignored), if any."""
    value = nip.strip().replace(" ", "")
    if len(value) != 18 or not value.isascii() or not value.isdigit():
        return None  # not a NIP (also keeps NUL bytes away from PostgreSQL)
    return session.scalars(select(Officer).where(Officer.nip == value)).one_or_none()


def moves_of(session: Session, officer: Officer) -> list[OfficerMove]:
    """An officer's moves between units, oldest first."""
    return list(session.scalars(select(OfficerMove).where(OfficerMove.officer_id == officer.id)
                                .order_by(OfficerMove.moved_on, OfficerMove.id)))


# Changes -----------------------------------------------------------------------------------------

def _check_unit_in_scope(unit: Unit, scope: set[int] | None, field_name: str) -> None:
    if scope is not None and unit.id not in scope:
        raise OfficerError(Problem(N_("unit %(code)s is outside your units"),
                                   {"code": unit.code}), field_name)


def _check_unit_open(unit: Unit, field_name: str) -> None:
    if not unit.active:
        raise OfficerError(Problem(N_("unit %(code)s is no longer active"),
                                   {"code": unit.code}), field_name)


def create(
    session: Session, nip: str, name: str, unit: Unit, position: str,
    *, scope: set[int] | None = None,
) -> Officer:
    """Register an officer in ``unit`` (which must be in ``scope``, None: anywhere)."""
    _check_unit_in_scope(unit, scope, "unit")
    _check_unit_open(unit, "unit")
    value = clean_nip(nip)
    name = clean_text(name, "name", "name")
    position = clean_text(position, "position", "position")
    if officer_by_nip(session, value) is not None:
        raise OfficerError(Problem(N_("an officer with NIP %(nip)s already exists"),
                                   {"nip": value}), "nip")
    officer = create_officer(session, value, name, unit, position)
    audit.record(session, "officer.create", "officer", officer.id,
                 after=audit.snapshot(officer, AUDITED))
    return officer


def update(
    session: Session, officer: Officer, *, name: str | None = None, position: str | None = None
) -> Officer:
    """Change an officer's name and/or position."""
    before = audit.snapshot(officer, AUDITED)
    if name is not None:
        officer.name = clean_text(name, "name", "name")
    if position is not None:
        officer.position = clean_text(position, "position", "position")
    session.flush()
    after = audit.snapshot(officer, AUDITED)
    if after != before:
        audit.record(session, "officer.update", "officer", officer.id, before=before, after=after)
    return officer


def _end_open_duties(session: Session, officer: Officer, now: datetime) -> list[int]:
    """End the officer's open duties now; their ids."""
    ended = []
    for duty in session.scalars(select(Assignment).where(
            Assignment.officer_id == officer.id, Assignment.ends_at.is_(None))):
        # A duty opened after "now" (clock skew) ends a second after it started.
        duty.ends_at = max(now, duty.starts_at + timedelta(seconds=1))
        ended.append(duty.id)
    session.flush()
    return ended


def set_active(
    session: Session, officer: Officer, active: bool, *, now: datetime | None = None
) -> Officer:
    """Deactivate (cannot check in any more, an open duty ends now; the history stays) or
    reactivate an officer."""
    if officer.active == active:
        message = (N_("officer %(name)s is already active") if active
                   else N_("officer %(name)s is already inactive"))
        raise OfficerError(Problem(message, {"name": officer.name}))
    before = {**audit.snapshot(officer, AUDITED), "ended_duties": None}
    ended = [] if active else _end_open_duties(session, officer, now or utcnow())
    officer.active = active
    session.flush()
    audit.record(session, "officer.reactivate" if active else "officer.deactivate", "officer",
                 officer.id, before=before,
                 after={**audit.snapshot(officer, AUDITED), "ended_duties": ended or None})
    return officer


def move(
    session: Session,
    officer: Officer,
    to_unit: Unit,
    *,
    moved_on: date | None = None,
    scope: set[int] | None = None,
    now: datetime | None = None,
    tz: ZoneInfo | None = None,
) -> OfficerMove:
    """Move an officer to another unit (mutasi) on ``moved_on`` (default: today, local).

    Any open duty ends now; the responses earned so far keep their own unit, so the old unit
    keeps its figures. Both units must be in ``scope`` (None: anywhere).
    """
    now = now or utcnow()
    today = now.astimezone(tz or ZoneInfo("Asia/Jakarta")).date()
    moved_on = moved_on or today
    from_unit = officer.unit
    _check_unit_in_scope(from_unit, scope, "unit")
    _check_unit_in_scope(to_unit, scope, "unit")
    _check_unit_open(to_unit, "unit")
    if to_unit.id == officer.unit_id:
        raise OfficerError(Problem(N_("officer %(name)s already belongs to unit %(code)s"),
                                   {"name": officer.name, "code": to_unit.code}), "unit")
    if moved_on > today:
        raise OfficerError(Problem(N_("the date of a move cannot be in the future")), "moved_on")
    last = session.scalar(select(func.max(OfficerMove.moved_on))
                          .where(OfficerMove.officer_id == officer.id))
    if last is not None and moved_on < last:
        raise OfficerError(Problem(N_("the date of a move cannot precede the officer's last "
                                      "move (%(day)s)"), {"day": last.isoformat()}), "moved_on")
    before = audit.snapshot(officer, AUDITED)
    ended = _end_open_duties(session, officer, now)
    record = OfficerMove(officer_id=officer.id, from_unit_id=from_unit.id,
                         to_unit_id=to_unit.id, moved_on=moved_on, recorded_at=now)
    session.add(record)
    officer.unit = to_unit
    session.flush()
    after = {**audit.snapshot(officer, AUDITED), "moved_on": moved_on.isoformat(),
             "from_unit": from_unit.code, "to_unit": to_unit.code, "ended_duties": ended}
    audit.record(session, "officer.move", "officer", officer.id,
                 before={**before, "moved_on": None, "from_unit": None, "to_unit": None,
                         "ended_duties": None}, after=after)
    return record


# CSV import ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ImportRow:
    """A good line of an import file: what it will create."""

    line: int
    nip: str
    name: str
    unit: Unit
    position: str


@dataclass
class ImportPreview:
    """What importing a file would do: every good row, every bad line."""

    rows: list[ImportRow] = field(default_factory=list)
    problems: list[LineProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the whole file may be imported."""
        return not self.problems and bool(self.rows)


def preview_import(session: Session, text: str, scope: set[int] | None = None) -> ImportPreview:
    """Read CSV text (columns nip, name, unit, position; ',' or ';') and say what importing it
    would do, changing nothing. A row naming a unit outside ``scope`` is a bad line."""
    preview = ImportPreview()
    text = text.removeprefix("\ufeff")  # spreadsheet programs like to add a BOM
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        preview.problems.append(LineProblem(1, _unreadable(exc)))
        return preview
    missing = [c for c in OFFICER_COLUMNS if c not in header]
    if missing:
        preview.problems.append(LineProblem(1, Problem(
            N_("missing column(s): %(missing)s (expected header: %(expected)s)"),
            {"missing": ", ".join(missing), "expected": ",".join(OFFICER_COLUMNS)})))
        return preview
    reader.fieldnames = header
    units = {u.code: u for u in session.scalars(select(Unit))}
    known_nips = set(session.scalars(select(Officer.nip)))
    seen: dict[str, int] = {}
    try:
        for row in reader:
            line = reader.line_num
            if None in row:
                preview.problems.append(LineProblem(line, Problem(N_("too many columns"))))
                continue
            cells = {k: unicodedata.normalize("NFC", (row.get(k) or "").strip())
                     for k in OFFICER_COLUMNS}
            if not any(cells.values()):
                continue
            problem = _row_problem(cells, units, scope, known_nips, seen)
            if problem is not None:
                preview.problems.append(LineProblem(line, problem))
                continue
            seen[cells["nip"]] = line
            preview.rows.append(ImportRow(line, cells["nip"], cells["name"],
                                          units[cells["unit"]], cells["position"]))
    except csv.Error as exc:  # e.g. a field over the csv module's limit (128 KiB)
        preview.problems.append(LineProblem(reader.line_num + 1, _unreadable(exc)))
    if not preview.problems and not preview.rows:
        preview.problems.append(LineProblem(1, Problem(N_("the file has no officer rows"))))
    return preview


def _unreadable(exc: csv.Error) -> Problem:
    return Problem(N_("the file cannot be read from here on as CSV: %(error)s"),
                   {"error": str(exc)})


def _row_problem(
    cells: dict[str, str],
    units: dict[str, Unit],
    scope: set[int] | None,
    known_nips: set[str],
    seen: dict[str, int],
) -> Problem | None:
    for column in OFFICER_COLUMNS:
        if not cells[column]:
            return Problem(N_("%(field)s is empty"), {"field": column})
    if problem := nip_problem(cells["nip"]):
        return problem
    nip = parse_nip(cells["nip"]).value
    cells["nip"] = nip
    if nip in known_nips:
        return Problem(N_("NIP %(nip)s is already registered"), {"nip": nip})
    if nip in seen:
        return Problem(N_("NIP %(nip)s also appears on line %(line)d"),
                       {"nip": nip, "line": seen[nip]})
    unit = units.get(cells["unit"])
    if unit is None or (scope is not None and unit.id not in scope):
        # Out of scope reads as unknown: a unit head learns nothing of other units.
        return Problem(N_("unknown unit code '%(code)s'"), {"code": cells["unit"][:40]})
    if not unit.active:
        return Problem(N_("unit %(code)s is no longer active"), {"code": unit.code})
    for column in ("name", "position"):
        if problem := text_problem(cells[column], column):
            return problem
    return None


def import_officers(session: Session, text: str, scope: set[int] | None = None) -> list[Officer]:
    """Import every row of CSV text, or nothing: ImportRefused lists every bad line."""
    preview = preview_import(session, text, scope)
    if not preview.ok:
        raise ImportRefused(preview.problems)
    # Every row was checked above (the NIPs against the stored ones too): one flush for all.
    officers = [Officer(nip=row.nip, name=row.name, unit=row.unit, position=row.position)
                for row in preview.rows]
    session.add_all(officers)
    session.flush()
    audit.record(session, "officer.import", "officer", None, after={
        "count": len(officers),
        "units": sorted({row.unit.code for row in preview.rows}),
    })
    return officers


def unit_for_code(session: Session, code: str, scope: set[int] | None = None) -> Unit:
    """The unit with this code within ``scope``; OfficerError naming the code otherwise."""
    unit = unit_by_code(session, code) if CODE_PATTERN.fullmatch(code) else None
    if unit is None or (scope is not None and unit.id not in scope):
        raise OfficerError(Problem(N_("unknown unit code '%(code)s'"), {"code": code[:40]}), "unit")
    return unit
