"""A counter's posters in the back office: which counters one may manage, reissue, downloads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import audit
from app.models import Counter, CounterToken, Unit
from app.org import DomainError, issue_token, live_token
from app.posters import Poster, checkin_url, counter_sheet_pdf, qr_png, qr_svg

PosterFormat = Literal["png", "svg", "pdf"]
POSTER_FORMATS: dict[str, tuple[PosterFormat, str]] = {
    "png": ("png", "image/png"),
    "svg": ("svg", "image/svg+xml"),
    "pdf": ("pdf", "application/pdf"),
}


@dataclass(frozen=True)
class CounterPosterRow:
    """One counter of the posters page: its names, whether it is in use, its survey URL."""

    counter_id: int
    unit_code: str
    unit_name: str
    counter_code: str
    counter_name: str
    in_use: bool  # the counter and its unit are both active
    url: str | None  # None without a live token


@dataclass(frozen=True)
class PosterFile:
    """A poster ready to send: its bytes, media type and file name, and the token it shows."""

    content: bytes
    mimetype: str
    filename: str
    token_id: int


def survey_url(token: str, base_url: str) -> str:
    """The address a counter's QR code opens."""
    return f"{base_url.rstrip('/')}/s/{token}"


POSTERS_PAGE = 50


def managed_counters(session: Session, unit_ids: set[int] | None, base_url: str, *,
                     unit_code: str | None = None, counter_code: str | None = None,
                     page: int = 1) -> tuple[list[CounterPosterRow], bool]:
    """One page (``POSTERS_PAGE`` rows) of the counters of the given units (every unit for
    None), optionally of one unit or one counter, by unit and counter code, with their live
    survey URL; and whether a further page exists."""
    query = (
        select(Counter, Unit, CounterToken.token)
        .join(Unit, Counter.unit_id == Unit.id)
        .outerjoin(CounterToken, (CounterToken.counter_id == Counter.id)
                   & CounterToken.retired_at.is_(None))
        .order_by(Unit.code, Counter.code)
    )
    if unit_ids is not None:
        query = query.where(Counter.unit_id.in_(unit_ids))
    if unit_code is not None:
        query = query.where(Unit.code == unit_code)
    if counter_code is not None:
        query = query.where(Counter.code == counter_code)
    found = session.execute(query.offset((page - 1) * POSTERS_PAGE).limit(POSTERS_PAGE + 1))
    rows = [
        CounterPosterRow(counter.id, unit.code, unit.name, counter.code, counter.name,
                         counter.active and unit.active,
                         survey_url(token, base_url) if token else None)
        for counter, unit, token in found
    ]
    return rows[:POSTERS_PAGE], len(rows) > POSTERS_PAGE


def counter_by_id(session: Session, counter_id: int) -> Counter | None:
    """The counter with this id, if any (its unit loaded with it)."""
    return session.get(Counter, counter_id)


def counter_by_codes(session: Session, unit_code: str, counter_code: str) -> Counter | None:
    """The counter coded ``counter_code`` in the unit coded ``unit_code``, if any."""
    return session.scalars(
        select(Counter).join(Unit, Counter.unit_id == Unit.id)
        .where(Unit.code == unit_code, Counter.code == counter_code)
    ).one_or_none()


def in_use(counter: Counter) -> bool:
    """Whether citizens may still rate at this counter: it and its unit are active."""
    return counter.active and counter.unit.active


def reissue_qr(session: Session, counter: Counter, *,
               now: datetime | None = None) -> CounterToken:
    """Issue a new QR token for a counter in use (its old posters stop working at once) and
    record it in the audit log, by token ids only: a token is never written there."""
    if not in_use(counter):
        raise DomainError(f"counter {counter.code} is no longer in use; it gets no new code")
    old = live_token(session, counter)
    new = issue_token(session, counter, now=now)
    audit.record(session, "counter.qr_reissue", "counter", counter.id,
                 before={"token_id": old.id if old is not None else None},
                 after={"token_id": new.id})
    return new


def poster_file(session: Session, counter: Counter, fmt: PosterFormat,
                base_url: str) -> PosterFile | None:
    """A counter's poster in one format, or None when it has none (not in use, or no live
    token). PNG and SVG are the citizens' QR code alone; the PDF is an A4 sheet with the
    poster on the front and the staff check-in code on the back."""
    token = live_token(session, counter)
    if token is None or not in_use(counter):
        return None
    unit = counter.unit
    poster = Poster("counter", unit.code, unit.name, counter.code, counter.name,
                    survey_url(token.token, base_url))
    stem = f"{unit.code}-{counter.code}"
    if fmt == "png":
        return PosterFile(qr_png(poster.url), POSTER_FORMATS["png"][1], f"{stem}-qr.png", token.id)
    if fmt == "svg":
        svg = qr_svg(poster.url, title=poster.qr_title).encode("utf-8")
        return PosterFile(svg, POSTER_FORMATS["svg"][1], f"{stem}-qr.svg", token.id)
    pdf = counter_sheet_pdf(poster, checkin_url(counter.checkin_token, base_url))
    return PosterFile(pdf, POSTER_FORMATS["pdf"][1], f"{stem}-poster-A4.pdf", token.id)


def record_poster_download(session: Session, counter_id: int, fmt: PosterFormat,
                           token_id: int) -> None:
    """Record in the audit log that a counter's poster was downloaded (an export), with the
    id of the token it shows."""
    audit.record(session, "counter.poster_download", "counter", counter_id,
                 after={"format": fmt, "token_id": token_id})
