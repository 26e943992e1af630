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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy.orm import Session

from app.db import utcnow
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
