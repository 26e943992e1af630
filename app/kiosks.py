"""Tablet kiosks: enrolment with a pairing code, the device credential, heartbeats, the
kiosk flags (fast, burst), quarantine, calls for an officer and the device list's alerts.

A kiosk belongs to one unit and may be bound to some of its counters or services (none
bound: all of them). The tablet pairs once with a six-digit code shown in the back office
(10 minutes, single use) and keeps the credential it gets; only hashes are stored. A revoked
kiosk is refused at once, except for answers it made before the revocation and had named
in a heartbeat before it (a stolen tablet cannot keep adding answers dated in the past).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, delete, func, select
from sqlalchemy.orm import Session

from app import audit
from app.db import dialect_insert
from app.models import (
    Counter,
    Kiosk,
    KioskCall,
    KioskPairing,
    KioskPending,
    KioskQuarantine,
    OpeningHours,
    Response,
    Service,
    Unit,
)
from app.models.kiosk import BURST_RANGE, COUNTDOWN_RANGE, FAST_RANGE, IDLE_RANGE
from app.org import FormRefusal, invisible_character

PAIRING_LIFETIME = timedelta(minutes=10)
PAIRING_DIGITS = 6
CREDENTIAL_PREFIX = "ksk_"
CREDENTIAL_BYTES = 32
# A kiosk's answers are accepted up to this late (a tablet offline for a long holiday).
MAX_KIOSK_LATE = timedelta(days=30)
# A kiosk silent this long within its unit's opening hours, or holding an answer this old,
# is an alert on the unit head's summary and in the weekly digest.
SILENT_AFTER = timedelta(hours=1)
STUCK_AFTER = timedelta(hours=24)
# Client ids a heartbeat may name (a full queue is at most a few hundred answers).
MAX_PENDING_IDS = 1000
KIOSK_FIELDS = ("name", "placement", "idle_seconds", "countdown_seconds", "fast_seconds",
                "burst_seconds", "counter_codes", "service_codes", "revoked_at")
# The thank-you screen stays this long before the welcome screen returns (kiosk.js).
THANK_YOU_SECONDS = 5
# A tablet clock further than this from the server's is refused, not corrected.
MAX_CLOCK_OFFSET = timedelta(days=3650)
NAME_MAX = 80
PLACEMENT_MAX = 120


class KioskError(FormRefusal):
    """A refused change: a message for people and the form field it belongs to."""


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _code_hash(code: str) -> str:
    return _hash(f"pairing:{code}")


def _snapshot(kiosk: Kiosk) -> dict[str, Any]:
    values = audit.snapshot(kiosk, ("name", "placement", "idle_seconds", "countdown_seconds",
                                    "fast_seconds", "burst_seconds", "revoked_at"))
    values["counter_codes"] = [c.code for c in kiosk.counters]
    values["service_codes"] = [s.code for s in kiosk.services]
    return values


# Setting up --------------------------------------------------------------------------------


@dataclass(frozen=True)
class KioskSettings:
    """What the back office sets for a kiosk (seconds for the times)."""

    name: str
    placement: str | None = None
    counter_ids: tuple[int, ...] = ()
    service_ids: tuple[int, ...] = ()
    idle_seconds: int = 30
    countdown_seconds: int = 20
    fast_seconds: int = 7
    burst_seconds: int = 5


def _check_settings(session: Session, unit: Unit, values: KioskSettings
                    ) -> tuple[list[Counter], list[Service]]:
    name = values.name.strip()
    if not name:
        raise KioskError(_l("Give the kiosk a name."), "name")
    if len(name) > NAME_MAX:
        raise KioskError(_l("A name has at most %(max)d characters.", max=NAME_MAX), "name")
    if values.placement is not None and len(values.placement.strip()) > PLACEMENT_MAX:
        raise KioskError(_l("A placement has at most %(max)d characters.",
                            max=PLACEMENT_MAX), "placement")
    # A NUL is refused by PostgreSQL itself; no name needs a control or invisible character.
    for field, text in (("name", name), ("placement", values.placement or "")):
        if odd := invisible_character(text):
            raise KioskError(_l("Remove the invisible or control character %(char)s.",
                                char=odd), field)
    for field, value, (low, high) in (
            ("idle_seconds", values.idle_seconds, IDLE_RANGE),
            ("countdown_seconds", values.countdown_seconds, COUNTDOWN_RANGE),
            ("fast_seconds", values.fast_seconds, FAST_RANGE),
            ("burst_seconds", values.burst_seconds, BURST_RANGE)):
        if not low <= value <= high:
            raise KioskError(_l("Enter a number of seconds from %(low)d to %(high)d.",
                                low=low, high=high), field)
    counters = list(session.scalars(select(Counter).where(
        Counter.id.in_(values.counter_ids), Counter.unit_id == unit.id,
        Counter.active.is_(True)).order_by(Counter.code))) if values.counter_ids else []
    if len(counters) != len(set(values.counter_ids)):
        raise KioskError(_l("Choose counters of this unit that are in use."), "counter_ids")
    services = list(session.scalars(select(Service).where(
        Service.id.in_(values.service_ids), Service.unit_id == unit.id
    ).order_by(Service.code))) if values.service_ids else []
    if len(services) != len(set(values.service_ids)):
        raise KioskError(_l("Choose services of this unit."), "service_ids")
    offered = counters or list(session.scalars(select(Counter).where(
        Counter.unit_id == unit.id).order_by(Counter.code)))
    if not _choices(offered, services):
        if not any(c.active for c in offered):
            raise KioskError(_l("This unit has no counter in use yet: add one first, so "
                                "that the kiosk has something to rate."))
        raise KioskError(_l("None of these counters provides the chosen services: the "
                            "kiosk would offer nothing to rate."), "service_ids")
    return counters, services


def create_kiosk(session: Session, unit: Unit, values: KioskSettings, *, now: datetime
                 ) -> tuple[Kiosk, str]:
    """Add a kiosk to ``unit`` and issue its first pairing code (returned, shown once)."""
    counters, services = _check_settings(session, unit, values)
    kiosk = Kiosk(unit=unit, name=values.name.strip(),
                  placement=(values.placement or "").strip() or None, created_at=now,
                  idle_seconds=values.idle_seconds, countdown_seconds=values.countdown_seconds,
                  fast_seconds=values.fast_seconds, burst_seconds=values.burst_seconds,
                  counters=counters, services=services)
    session.add(kiosk)
    session.flush()
    audit.record(session, "kiosk.create", "kiosk", kiosk.id, after=_snapshot(kiosk), at=now)
    return kiosk, issue_pairing(session, kiosk, now=now)


def update_kiosk(session: Session, kiosk: Kiosk, values: KioskSettings, *, now: datetime
                 ) -> None:
    """Change a kiosk's name, placement, binding or times (the tablet picks them up at its
    next heartbeat)."""
    counters, services = _check_settings(session, kiosk.unit, values)
    before = _snapshot(kiosk)
    kiosk.name = values.name.strip()
    kiosk.placement = (values.placement or "").strip() or None
    kiosk.counters = counters
    kiosk.services = services
    kiosk.idle_seconds = values.idle_seconds
    kiosk.countdown_seconds = values.countdown_seconds
    kiosk.fast_seconds = values.fast_seconds
    kiosk.burst_seconds = values.burst_seconds
    session.flush()
    audit.record(session, "kiosk.update", "kiosk", kiosk.id, before=before,
                 after=_snapshot(kiosk), at=now)


def issue_pairing(session: Session, kiosk: Kiosk, *, now: datetime) -> str:
    """A new six-digit pairing code for ``kiosk`` (earlier unused codes of it stop working).

    The code is unique among the codes valid now, so that pairing finds one kiosk.
    """
    if kiosk.revoked:
        raise KioskError(_l("This kiosk is revoked; add a new kiosk instead."))
    session.execute(delete(KioskPairing).where(KioskPairing.kiosk_id == kiosk.id,
                                               KioskPairing.used_at.is_(None)))
    while True:
        code = f"{secrets.randbelow(10 ** PAIRING_DIGITS):0{PAIRING_DIGITS}d}"
        taken = session.scalar(select(KioskPairing.id).where(
            KioskPairing.code_hash == _code_hash(code), KioskPairing.used_at.is_(None),
            KioskPairing.expires_at > now))
        if taken is None:
            break
    session.add(KioskPairing(kiosk_id=kiosk.id, code_hash=_code_hash(code), created_at=now,
                             expires_at=now + PAIRING_LIFETIME))
    session.flush()
    audit.record(session, "kiosk.pairing_code", "kiosk", kiosk.id, at=now)
    return code


def pending_pairing(session: Session, kiosk: Kiosk, *, now: datetime) -> KioskPairing | None:
    """The kiosk's pairing code still waiting for a tablet (unused, not expired), if any:
    its expiry is shown beside the code (the code itself is never stored)."""
    return session.scalars(select(KioskPairing).where(
        KioskPairing.kiosk_id == kiosk.id, KioskPairing.used_at.is_(None),
        KioskPairing.expires_at > now).order_by(KioskPairing.id.desc())).first()


def pairing_url(base_url: str, code: str) -> str:
    """What the pairing code's QR code carries: the kiosk page, which reads the code from
    the fragment (never sent to the server, so never in an access log)."""
    return f"{base_url.rstrip('/')}/kiosk/#pair={code}"


def pair(session: Session, code: str, *, now: datetime) -> tuple[Kiosk, str] | None:
    """Exchange a valid pairing code for the kiosk's new device credential (returned once;
    any credential it had before stops working). None for a wrong, used or expired code."""
    if len(code) != PAIRING_DIGITS or not code.isascii() or not code.isdigit():
        return None
    pairing = session.scalars(select(KioskPairing).where(
        KioskPairing.code_hash == _code_hash(code), KioskPairing.used_at.is_(None),
        KioskPairing.expires_at > now).with_for_update()).first()
    if pairing is None:
        return None
    kiosk = session.get(Kiosk, pairing.kiosk_id)
    if kiosk is None or kiosk.revoked:
        return None
    pairing.used_at = now
    credential = CREDENTIAL_PREFIX + secrets.token_urlsafe(CREDENTIAL_BYTES)
    kiosk.credential_hash = _hash(credential)
    kiosk.paired_at = now
    session.flush()
    audit.record(session, "kiosk.paired", "kiosk", kiosk.id, actor=audit.Actor(
        f"kiosk:{kiosk.id}"), at=now)
    return kiosk, credential


def authenticate(session: Session, credential: str) -> Kiosk | None:
    """The kiosk holding ``credential``, revoked or not (None: no such credential)."""
    if not credential.startswith(CREDENTIAL_PREFIX) or len(credential) > 100 or \
            not credential.isascii():
        return None
    return session.scalars(select(Kiosk).where(
        Kiosk.credential_hash == _hash(credential))).one_or_none()


def revoke(session: Session, kiosk: Kiosk, *, now: datetime) -> bool:
    """Stop ``kiosk`` at once (False: it already was). Its unused pairing codes go too."""
    if kiosk.revoked:
        return False
    before = _snapshot(kiosk)
    kiosk.revoked_at = now
    session.execute(delete(KioskPairing).where(KioskPairing.kiosk_id == kiosk.id,
                                               KioskPairing.used_at.is_(None)))
    session.flush()
    audit.record(session, "kiosk.revoke", "kiosk", kiosk.id, before=before,
                 after=_snapshot(kiosk), at=now)
    return True


# What the tablet shows -----------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """A button of the kiosk's "who served you" screen: a counter (poli) and its service."""

    counter_code: str
    counter_name: str
    service_code: str | None
    service_name: str | None


def choices(session: Session, kiosk: Kiosk) -> list[Choice]:
    """The counters the kiosk offers, in code order: its bound counters (else the unit's
    counters in use), each with its default service; bound to services, only counters whose
    default service is one of them (the first bound service stands in for a counter without
    a default one)."""
    counters = kiosk.counters or list(session.scalars(select(Counter).where(
        Counter.unit_id == kiosk.unit_id).order_by(Counter.code)))
    return _choices(counters, kiosk.services)


def _choices(counters: Sequence[Counter], services: Sequence[Service]) -> list[Choice]:
    bound = {s.id: s for s in services}
    out: list[Choice] = []
    for counter in counters:
        if not counter.active:
            continue
        service = counter.default_service
        if bound:
            if service is None:
                service = services[0]
            elif service.id not in bound:
                continue
        out.append(Choice(counter.code, counter.name, service.code if service else None,
                          service.name if service else None))
    return out


# Heartbeats ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Heartbeat:
    """What a kiosk reports every minute (validated by app.api_schemas)."""

    device_time: datetime
    app_version: str | None = None
    queue_length: int | None = None
    oldest_unsent_at: datetime | None = None  # device clock
    quarantined: int | None = None
    battery: int | None = None  # percent
    charging: bool | None = None
    pending_ids: Sequence[uuid.UUID] = ()


def record_heartbeat(session: Session, kiosk: Kiosk, beat: Heartbeat, *, now: datetime
                     ) -> None:
    """Store a heartbeat: the state shown in the device list, the tablet's clock offset
    (server minus device, added to every time it reports) and the ids of the answers it
    holds. A revoked kiosk's heartbeat is refused by the caller before this."""
    offset = now - beat.device_time
    kiosk.clock_offset_ms = int(offset / timedelta(milliseconds=1))
    kiosk.last_seen_at = now
    kiosk.app_version = beat.app_version
    kiosk.queue_length = beat.queue_length
    kiosk.oldest_unsent_at = (beat.oldest_unsent_at + offset
                              if beat.oldest_unsent_at is not None else None)
    kiosk.quarantined = beat.quarantined
    kiosk.battery = beat.battery
    kiosk.charging = beat.charging
    ids = list(dict.fromkeys(beat.pending_ids))[:MAX_PENDING_IDS]
    if ids:
        session.execute(dialect_insert(session, KioskPending).values(
            [{"kiosk_id": kiosk.id, "client_id": i, "reported_at": now} for i in ids]
        ).on_conflict_do_nothing(index_elements=["kiosk_id", "client_id"]))
    session.flush()


def device_time_to_server(kiosk: Kiosk, at: datetime) -> datetime:
    """A time the tablet reported, on the server's clock (its last known offset)."""
    return at + timedelta(milliseconds=kiosk.clock_offset_ms or 0)


def accepts(session: Session, kiosk: Kiosk, client_id: uuid.UUID, created_at: datetime
            ) -> bool:
    """Whether an answer from ``kiosk`` may be stored: always while it is enrolled; once
    revoked, only one made before the revocation and named in a heartbeat before it."""
    if kiosk.revoked_at is None:
        return True
    return created_at < kiosk.revoked_at and reported_before_revocation(session, kiosk,
                                                                        client_id)


def reported_before_revocation(session: Session, kiosk: Kiosk, client_id: uuid.UUID) -> bool:
    """Whether a heartbeat named ``client_id`` before the kiosk was revoked."""
    if kiosk.revoked_at is None:
        return False
    reported = session.scalar(select(KioskPending.reported_at).where(
        KioskPending.kiosk_id == kiosk.id, KioskPending.client_id == client_id))
    return reported is not None and reported < kiosk.revoked_at


def forget_pending(session: Session, kiosk_id: int, client_ids: Iterable[uuid.UUID]) -> None:
    """The answers have arrived: their heartbeat reports are no longer needed."""
    ids = list(client_ids)
    if ids:
        session.execute(delete(KioskPending).where(KioskPending.kiosk_id == kiosk_id,
                                                   KioskPending.client_id.in_(ids)))


# Flags and quarantine ------------------------------------------------------------------------


def session_flags(session: Session, kiosk: Kiosk, started_at: datetime | None,
                  completed_at: datetime) -> tuple[bool, bool]:
    """(fast, burst) of a kiosk session: completed in under the kiosk's fast_seconds, or
    started within its burst_seconds of the kiosk being ready for the next person, that is
    of the welcome screen's return THANK_YOU_SECONDS after the previous stored session.

    The tablet sends its queue oldest first, so the previous session is stored before.
    Without a start time neither can be told, and neither is set.
    """
    if started_at is None:
        return False, False
    fast = (completed_at - started_at) < timedelta(seconds=kiosk.fast_seconds)
    window = timedelta(seconds=THANK_YOU_SECONDS + kiosk.burst_seconds)
    previous = session.scalar(select(func.max(Response.created_at)).where(
        Response.kiosk_id == kiosk.id, Response.created_at <= started_at,
        Response.created_at > started_at - window)) if kiosk.burst_seconds else None
    return fast, previous is not None


def quarantine(session: Session, kiosk: Kiosk, client_id: uuid.UUID | None, status: int,
               reason: Mapping[str, str], payload: Any, *, now: datetime) -> None:
    """Keep an answer the service refused (409 or 422) for the device list; the same id
    again is kept once."""
    session.execute(dialect_insert(session, KioskQuarantine).values(
        kiosk_id=kiosk.id, client_id=client_id, status=status,
        # ASCII: a lone surrogate a client sent stays text the database takes.
        reason=json.dumps(dict(reason)),
        payload=json.dumps(payload, default=str)[:20000],
        received_at=now,
    ).on_conflict_do_nothing(index_elements=["kiosk_id", "client_id"]))


def quarantined(session: Session, kiosk_id: int) -> list[KioskQuarantine]:
    """The kiosk's refused answers, newest first."""
    return list(session.scalars(select(KioskQuarantine).where(
        KioskQuarantine.kiosk_id == kiosk_id).order_by(KioskQuarantine.received_at.desc(),
                                                       KioskQuarantine.id.desc())))


# Calls for an officer ------------------------------------------------------------------------


def call_officer(session: Session, kiosk: Kiosk, counter_code: str | None, *, now: datetime
                 ) -> KioskCall:
    """A citizen asked for an officer at the kiosk (one open call per kiosk: pressing again
    keeps the first)."""
    call = session.scalars(select(KioskCall).where(
        KioskCall.kiosk_id == kiosk.id, KioskCall.answered_at.is_(None))).first()
    if call is not None:
        return call
    counter = session.scalars(select(Counter).where(
        Counter.unit_id == kiosk.unit_id, Counter.code == counter_code)).first() \
        if counter_code else None
    call = KioskCall(kiosk_id=kiosk.id, unit_id=kiosk.unit_id,
                     counter_id=counter.id if counter else None, created_at=now)
    session.add(call)
    session.flush()
    return call


def open_calls(session: Session, unit_ids: Iterable[int] | None) -> list[KioskCall]:
    """Calls nobody has answered yet, oldest first (``unit_ids`` None: every unit)."""
    query = select(KioskCall).where(KioskCall.answered_at.is_(None))
    if unit_ids is not None:
        query = query.where(KioskCall.unit_id.in_(list(unit_ids)))
    return list(session.scalars(query.order_by(KioskCall.created_at, KioskCall.id)))


def answer_call(session: Session, call: KioskCall, user_id: int | None, *, now: datetime
                ) -> None:
    """Mark a call answered (an officer went to the kiosk); the audit log keeps who and when."""
    if call.answered_at is None:
        call.answered_at = now
        call.answered_by = user_id
        session.flush()
        audit.record(session, "kiosk.call_answered", "kiosk", call.kiosk_id,
                     after={"call": call.id, "called_at": call.created_at.isoformat()},
                     at=now)


# The device list and its alerts --------------------------------------------------------------


def open_time_between(session: Session, unit_id: int, since: datetime, until: datetime,
                      tz: ZoneInfo) -> timedelta:
    """How much of (since, until] falls within the unit's opening hours (local days; looks
    back at most 31 days)."""
    if until <= since:
        return timedelta(0)
    hours = {h.weekday: h for h in session.scalars(select(OpeningHours).where(
        OpeningHours.unit_id == unit_id))}
    start = max(since, until - timedelta(days=31)).astimezone(tz)
    end = until.astimezone(tz)
    total = timedelta(0)
    day = start.date()
    while day <= end.date():
        h = hours.get(day.weekday())
        if h is not None:
            opens = datetime.combine(day, h.opens, tz)
            closes = datetime.combine(day, h.closes, tz)
            lo, hi = max(opens, start), min(closes, end)
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return total


@dataclass(frozen=True)
class KioskStatus:
    """One row of the device list."""

    kiosk: Kiosk
    silent: bool  # silent over SILENT_AFTER within opening hours (paired, not revoked)
    stuck: bool  # holds an answer older than STUCK_AFTER
    quarantined: int  # refused answers the service keeps for it
    fast: int  # responses flagged fast / burst in the last 30 days
    burst: int
    calls: int  # open calls for an officer

    @property
    def alert(self) -> bool:
        return self.silent or self.stuck


def statuses(session: Session, unit_ids: Iterable[int] | None, *, now: datetime,
             tz: ZoneInfo, include_revoked: bool = True) -> list[KioskStatus]:
    """The device list: every kiosk of the units (None: all), by unit then name."""
    query = select(Kiosk).join(Unit, Unit.id == Kiosk.unit_id)
    if unit_ids is not None:
        query = query.where(Kiosk.unit_id.in_(list(unit_ids)))
    if not include_revoked:
        query = query.where(Kiosk.revoked_at.is_(None))
    kiosks = list(session.scalars(query.order_by(Unit.name, Kiosk.name, Kiosk.id)))
    ids = [k.id for k in kiosks]
    if not ids:
        return []
    since = now - timedelta(days=30)
    flags = {row[0]: (int(row[1] or 0), int(row[2] or 0)) for row in session.execute(
        select(Response.kiosk_id,
               func.sum(case((Response.flag_fast.is_(True), 1), else_=0)),
               func.sum(case((Response.flag_burst.is_(True), 1), else_=0)))
        .where(Response.kiosk_id.in_(ids), Response.created_at > since)
        .group_by(Response.kiosk_id))}
    # (Result.tuples() is deprecated in SQLAlchemy 2.1: rows unpack as they are.)
    held = {kiosk_id: count for kiosk_id, count in session.execute(
        select(KioskQuarantine.kiosk_id, func.count())
        .where(KioskQuarantine.kiosk_id.in_(ids)).group_by(KioskQuarantine.kiosk_id))}
    calls = {kiosk_id: count for kiosk_id, count in session.execute(
        select(KioskCall.kiosk_id, func.count())
        .where(KioskCall.kiosk_id.in_(ids), KioskCall.answered_at.is_(None))
        .group_by(KioskCall.kiosk_id))}
    out = []
    for kiosk in kiosks:
        fast, burst = flags.get(kiosk.id, (0, 0))
        out.append(KioskStatus(kiosk, is_silent(session, kiosk, now=now, tz=tz),
                               is_stuck(kiosk, now=now), held.get(kiosk.id, 0), fast, burst,
                               calls.get(kiosk.id, 0)))
    return out


def is_silent(session: Session, kiosk: Kiosk, *, now: datetime, tz: ZoneInfo) -> bool:
    """Paired, not revoked, and silent for over SILENT_AFTER of its unit's opening hours."""
    if kiosk.revoked or kiosk.paired_at is None:
        return False
    since = kiosk.last_seen_at or kiosk.paired_at
    return open_time_between(session, kiosk.unit_id, since, now, tz) > SILENT_AFTER


def is_stuck(kiosk: Kiosk, *, now: datetime) -> bool:
    """It said it holds an unsent answer older than STUCK_AFTER."""
    return (not kiosk.revoked and bool(kiosk.queue_length)
            and kiosk.oldest_unsent_at is not None
            and now - kiosk.oldest_unsent_at > STUCK_AFTER)


def alerts(session: Session, unit_ids: Iterable[int] | None, *, now: datetime,
           tz: ZoneInfo) -> list[KioskStatus]:
    """Kiosks that need someone: silent in opening hours, or holding an old answer."""
    return [s for s in statuses(session, unit_ids, now=now, tz=tz, include_revoked=False)
            if s.alert]


__all__ = [
    "Choice", "Heartbeat", "KioskError", "KioskSettings", "KioskStatus", "accepts", "alerts",
    "answer_call", "authenticate", "call_officer", "choices", "create_kiosk",
    "device_time_to_server", "forget_pending", "is_silent", "is_stuck", "issue_pairing",
    "open_calls", "open_time_between", "pair", "pairing_url", "pending_pairing", "quarantine",
    "quarantined", "record_heartbeat", "revoke", "session_flags", "statuses", "update_kiosk",
]
