"""The audit log: who changed what, when and from where; rows are only ever added.

The actor travels with the session (``session.info``), so domain functions record what they
change without every signature carrying it: the web request's session names the signed-in
account and the request, a job's session names the scheduler, and any other session (the
CLI, a script) names ``cli`` and the operating-system user.
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from itertools import chain
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.export import csv_text, local_day_bounds
from app.models import AuditEntry

ACTOR_KEY = "audit_actor"
REQUEST_MAX = 500


@dataclass(frozen=True)
class Actor:
    """Who acts: ``label`` is 'user:<e-mail>', 'cli:<os user>', 'scheduler' or 'anonymous'."""

    label: str
    user_id: int | None = None
    request: str | None = None


SCHEDULER = Actor("scheduler")


def cli_actor(argv: Iterable[str] | None = None) -> Actor:
    """The CLI's actor: the operating-system user, and the command line as its request."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        user = "unknown"
    words = list(sys.argv if argv is None else argv)
    return Actor(f"cli:{user}", request=" ".join(words)[:REQUEST_MAX] or None)


def set_actor(session: Session, actor: Actor | Callable[[], Actor]) -> None:
    """Name who acts through ``session``; a callable is asked when a change is recorded
    (a web request knows its user only once Flask-Login has loaded it)."""
    session.info[ACTOR_KEY] = actor


def actor_of(session: Session) -> Actor:
    """Who acts through ``session`` (the CLI's actor when nobody was named)."""
    actor = session.info.get(ACTOR_KEY)
    if actor is None:
        return cli_actor()
    found: Actor = actor() if callable(actor) else actor
    return found


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def snapshot(obj: Any, fields: Iterable[str]) -> dict[str, Any]:
    """The named attributes of ``obj`` as JSON-ready values (for ``before`` and ``after``)."""
    return {name: _plain(getattr(obj, name)) for name in fields}


def record(
    session: Session,
    action: str,
    object_type: str | None = None,
    object_id: object = None,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    actor: Actor | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Add one entry in the session's transaction (flushes): it is stored exactly when the
    change it describes is. Of ``before`` and ``after`` only the fields that differ are kept
    when both are given. Never pass a citizen's comment or contact here."""
    actor = actor or actor_of(session)
    if before is not None and after is not None:
        changed = {key for key in set(before) | set(after) if before.get(key) != after.get(key)}
        before = {key: before.get(key) for key in sorted(changed)}
        after = {key: after.get(key) for key in sorted(changed)}
    entry = AuditEntry(
        at=at or utcnow(),
        actor=actor.label[:300],
        user_id=actor.user_id,
        request=(actor.request or None) and actor.request[:REQUEST_MAX],
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id)[:64],
        before=_dumps(before),
        after=_dumps(after),
    )
    session.add(entry)
    session.flush()
    return entry


def _dumps(value: Mapping[str, Any] | None) -> str | None:
    if value is None:
        return None
    return json.dumps({k: _plain(v) for k, v in value.items()}, ensure_ascii=False,
                      sort_keys=True, default=str)


# Reading the log: the administrators' page and its CSV export -------------------------------

PAGE_SIZE = 50
CSV_COLUMNS = ("id", "at", "at_local", "actor", "user_id", "request", "action", "object_type",
               "object_id", "before", "after")


@dataclass(frozen=True)
class AuditFilters:
    """What the reader asks for: ``actor`` is a case-insensitive part of the actor, ``action``
    a prefix ('org.' finds every organisation change), object type and id exact, and the
    first and last local days inclusive. An empty criterion filters nothing."""

    actor: str | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    first: date | None = None
    last: date | None = None

    def described(self) -> dict[str, str]:
        """The criteria given, as JSON-ready text (what an export records)."""
        values = {"actor": self.actor, "action": self.action, "object_type": self.object_type,
                  "object_id": self.object_id,
                  "from": self.first.isoformat() if self.first else None,
                  "to": self.last.isoformat() if self.last else None}
        return {key: value for key, value in values.items() if value}


@dataclass(frozen=True)
class AuditPage:
    """One page of entries, newest first."""

    entries: list[AuditEntry]
    page: int
    has_next: bool


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filtered(filters: AuditFilters, tz: ZoneInfo) -> Select[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if filters.actor:
        query = query.where(AuditEntry.actor.ilike(_like_pattern(filters.actor), escape="\\"))
    if filters.action:
        query = query.where(AuditEntry.action.startswith(filters.action, autoescape=True))
    if filters.object_type:
        query = query.where(AuditEntry.object_type == filters.object_type)
    if filters.object_id:
        query = query.where(AuditEntry.object_id == filters.object_id)
    start, end = local_day_bounds(filters.first, filters.last, tz)
    if start:
        query = query.where(AuditEntry.at >= start)
    if end:
        query = query.where(AuditEntry.at < end)
    return query


def search_entries(session: Session, filters: AuditFilters, page: int, *, tz: ZoneInfo,
                   page_size: int = PAGE_SIZE) -> AuditPage:
    """Page ``page`` (from 1) of the entries matching ``filters``, newest first."""
    query = _filtered(filters, tz).offset((page - 1) * page_size).limit(page_size + 1)
    found = list(session.scalars(query))
    return AuditPage(found[:page_size], page, len(found) > page_size)


def iter_entries(session: Session, filters: AuditFilters, *, tz: ZoneInfo,
                 up_to_id: int | None = None) -> Iterator[AuditEntry]:
    """Every entry matching ``filters``, newest first, streamed from the database; with
    ``up_to_id``, none added after that entry (an export shows the log as it was asked for)."""
    query = _filtered(filters, tz).execution_options(yield_per=500)
    if up_to_id is not None:
        query = query.where(AuditEntry.id <= up_to_id)
    yield from session.scalars(query)


def changes(entry: AuditEntry) -> list[tuple[str, str | None, str | None]]:
    """The entry's fields as (name, before, after) text, for people to read; text that is
    not a JSON object is shown whole under the name '-'."""
    before, after = _loads(entry.before), _loads(entry.after)
    names = sorted(set(before) | set(after))
    return [(name, _shown(before, name), _shown(after, name)) for name in names]


def _loads(raw: str | None) -> dict[str, Any]:
    if raw is None:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {"-": raw}
    return value if isinstance(value, dict) else {"-": value}


def _shown(values: Mapping[str, Any], name: str) -> str | None:
    if name not in values:
        return None
    value = values[name]
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def csv_lines(entries: Iterable[AuditEntry], tz: ZoneInfo) -> Iterator[str]:
    """The entries as CSV text, a header then one line each; cells that a spreadsheet would
    read as a formula (= + - @) are prefixed with a quote."""
    yield from csv_text(chain([CSV_COLUMNS], (
        (entry.id, entry.at.isoformat(), entry.at.astimezone(tz).isoformat(), entry.actor,
         entry.user_id, entry.request, entry.action, entry.object_type, entry.object_id,
         entry.before, entry.after) for entry in entries)))


def record_export(session: Session, what: str, criteria: Mapping[str, Any]) -> AuditEntry:
    """Record an export (``export.<what>``, or ``audit.export`` for the log itself) with the
    criteria that chose its rows: every export is audited, the rows themselves never are."""
    action = "audit.export" if what == "audit" else f"export.{what}"
    return record(session, action, "export", what,
                  after={key: value for key, value in criteria.items() if value is not None})
