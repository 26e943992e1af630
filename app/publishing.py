"""Publication: a unit head publishes a quarter, semester or year as a snapshot of its
figures; the public page reads only published snapshots, RTL items and case summaries.

A snapshot is taken when a period is published (``publish``) and kept as a numbered
revision in ``publications`` (JSON, ``SNAPSHOT_FORMAT``); responses synced later change
the public figures only when the period is published again, and ``changes`` says what
moved between two revisions. Figures come only from ``app.indicators.period_indicators``
and ``indicator_rows`` (scope unit, summed over survey versions), so the public page, the
report and ``indicators --json`` agree.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session, joinedload

from app import audit
from app.indicators import DEFAULT_TZ, NRR_PLACES, indicator_rows, period_indicators
from app.models import Case, ImprovementAction, Publication, Unit
from app.models.cases import PUBLISHED_KINDS
from app.models.loop import ELEMENT_CODES
from app.org import FormRefusal
from app.periods import first_day, last_day, period_name, period_start, previous_period
from app.scoring import (
    CATEGORY_A,
    CATEGORY_B,
    CATEGORY_C,
    CATEGORY_D,
    Category,
    category_of_hundredths,
    ikm_hundredths,
    round_half_up,
)
from app.suppression import viewer_periods

SNAPSHOT_FORMAT = 1
# The figures ``changes`` compares, in the order a page lists them.
COMPARED = ("n", "ikm", "category", *ELEMENT_CODES, "wait_median")
# A snapshot's category letter to the category (its names in both languages).
CATEGORIES: dict[str, Category] = {c.letter: c for c in (CATEGORY_A, CATEGORY_B, CATEGORY_C,
                                                         CATEGORY_D)}


# Any select on publications (whatever its columns): _live keeps its type.
_Query = TypeVar("_Query", bound="Select[*tuple[Any, ...]]")


class PublishError(FormRefusal):
    """A refused publication or withdrawal: a message for people."""


# Figures of a unit's period, summed over survey versions ------------------------------------


@dataclass(frozen=True)
class Figures:
    """A unit's period summed over survey versions: responses, each element's score sum,
    and the measured wait (its median only when one version holds measured waits: medians
    of several versions do not add up)."""

    n: int = 0
    sums: tuple[int, ...] = (0,) * len(ELEMENT_CODES)
    measured_n: int = 0
    medians: tuple[int | None, ...] = ()

    @property
    def ikm_hundredths(self) -> int | None:
        """The IKM in hundredths, computed from the sums as the aggregation does."""
        return ikm_hundredths(sum(self.sums), self.n) if self.n else None

    @property
    def ikm(self) -> float | None:
        """The IKM (25-100) with two decimals."""
        hundredths = self.ikm_hundredths
        return hundredths / 100 if hundredths is not None else None

    @property
    def category(self) -> str | None:
        """The category's letter (A-D)."""
        hundredths = self.ikm_hundredths
        return category_of_hundredths(hundredths).letter if hundredths is not None else None

    def nrr(self) -> dict[str, float | None]:
        """Each element's NRR, rounded half up to 4 decimals (as ``indicators.nrr_values``)."""
        return {code: (float(round_half_up(Fraction(total, self.n), NRR_PLACES))
                       if self.n else None)
                for code, total in zip(ELEMENT_CODES, self.sums, strict=True)}

    @property
    def wait_median(self) -> int | None:
        """The measured wait's median in minutes, when one survey version measured it."""
        return self.medians[0] if len(self.medians) == 1 else None


def period_figures(session: Session, kind: str, first: date, last: date,
                   unit_ids: Collection[int] | None = None
                   ) -> dict[tuple[int, date], Figures]:
    """Each unit's periods of ``kind`` labelled within [first, last], summed over survey
    versions, by (unit id, label)."""
    found: dict[tuple[int, date], Figures] = {}
    for row in period_indicators(session, "unit", kind, first=first, last=last,
                                 unit_ids=unit_ids):
        key = (row.scope_id, row.period_start)
        had = found.get(key, Figures())
        found[key] = Figures(
            n=had.n + row.n,
            sums=tuple(total + getattr(row, f"sum_{code.lower()}")
                       for total, code in zip(had.sums, ELEMENT_CODES, strict=True)),
            measured_n=had.measured_n + row.measured_n,
            medians=had.medians + ((row.measured_median,) if row.measured_n else ()))
    return found


def take_snapshot(session: Session, unit: Unit, kind: str, label: date) -> dict[str, Any]:
    """The unit's figures of the period now, as a JSON-ready snapshot."""
    figures = period_figures(session, kind, label, label, [unit.id]).get(
        (unit.id, label), Figures())
    rows = indicator_rows(session, "unit", kind, first=label, last=label, unit_ids=[unit.id])
    sample = rows[0].get("sample") if rows else None
    return {
        "format": SNAPSHOT_FORMAT,
        "unit": {"code": unit.code, "name": unit.name},
        "kind": kind, "label": label.isoformat(), "period": period_name(kind, label),
        "first_day": first_day(kind, label).isoformat(),
        "last_day": last_day(kind, label).isoformat(),
        "n": figures.n, "ikm": figures.ikm, "category": figures.category,
        "elements": figures.nrr(),
        "wait": {"measured_n": figures.measured_n, "median": figures.wait_median},
        "sample": sample or {"served": None, "required": None, "adequate": None},
    }


# What changed between two revisions -----------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One figure that differs: ``field`` is n, ikm, category, U1-U9 or wait_median."""

    field: str
    before: Any
    after: Any


def _compared(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    elements = snapshot.get("elements") or {}
    return {"n": snapshot.get("n"), "ikm": snapshot.get("ikm"),
            "category": snapshot.get("category"),
            **{code: elements.get(code) for code in ELEMENT_CODES},
            "wait_median": (snapshot.get("wait") or {}).get("median")}


def changes(previous: Mapping[str, Any] | None, current: Mapping[str, Any]) -> list[Change]:
    """The figures that differ from ``previous`` to ``current`` (none without a previous
    revision), in ``COMPARED`` order."""
    if previous is None:
        return []
    before, after = _compared(previous), _compared(current)
    return [Change(field, before[field], after[field]) for field in COMPARED
            if before[field] != after[field]]


# Publishing and withdrawing ---------------------------------------------------------------------


def _check_period(kind: str, label: date) -> str:
    if kind not in PUBLISHED_KINDS:
        raise PublishError(_l("Only a quarter, a semester or a year can be published."))
    try:
        return period_name(kind, label)
    except ValueError:
        raise PublishError(_l("This is not the start of a quarter, semester or year.")) \
            from None


def revisions(session: Session, unit_id: int, kind: str, label: date) -> list[Publication]:
    """Every revision of a unit's period, the first first."""
    return list(session.scalars(select(Publication).where(
        Publication.unit_id == unit_id, Publication.period_kind == kind,
        Publication.period_start == label).order_by(Publication.revision)))


def snapshot_of(publication: Publication) -> dict[str, Any]:
    """A stored revision's snapshot."""
    loaded: dict[str, Any] = json.loads(publication.snapshot)
    return loaded


@dataclass(frozen=True)
class Preview:
    """What publishing a period now would publish: the snapshot, the last revision (None
    before the first) and what changed since it, or why it is refused."""

    snapshot: dict[str, Any]
    last: Publication | None
    changes: list[Change]
    refusal: PublishError | None


def preview(session: Session, unit: Unit, kind: str, label: date, *, now: datetime,
            min_n: int, tz: ZoneInfo = DEFAULT_TZ) -> Preview:
    """The snapshot ``publish`` would take ``now``, compared with the period's last
    revision, and why publishing it would be refused (``refusal``), if it would."""
    name = _check_period(kind, label)
    today = now.astimezone(tz).date()
    snapshot = take_snapshot(session, unit, kind, label)
    previous = revisions(session, unit.id, kind, label)
    last = previous[-1] if previous else None
    last_snapshot = snapshot_of(last) if last is not None else None
    refusal = None
    ends = last_day(kind, label)
    if today <= ends:
        refusal = PublishError(_l("%(period)s runs until %(last)s: it can be published once "
                                  "it has ended.", period=name, last=ends.isoformat()))
    elif snapshot["n"] < min_n:
        refusal = PublishError(_l("%(period)s has %(n)d responses; at least %(min)d are "
                                  "needed to publish it.", period=name, n=snapshot["n"],
                                  min=min_n))
    elif min_n > 0 and not viewer_periods(session, [unit.id], first_day(kind, label), ends,
                                          min_n=min_n).shown(unit.id, kind, label):
        # The public sees what a viewer sees: with the periods around it, this one would
        # give back fewer than min_n responses (app/suppression.py).
        refusal = PublishError(_l("%(period)s cannot be published: with the periods around "
                                  "it, its figures would give back fewer than %(min)d "
                                  "responses.", period=name, min=min_n))
    elif last_snapshot is not None and min_n > 0 \
            and 0 < abs(snapshot["n"] - last_snapshot["n"]) < min_n:
        # The public reads what changed between revisions: a few responses more or fewer
        # would be had by subtraction.
        refusal = PublishError(_l("Since revision %(revision)d, %(period)s has %(change)d "
                                  "responses more or fewer: publish again once at least "
                                  "%(min)d have changed, so that no few responses can be "
                                  "told apart.", revision=last.revision if last else 0,
                                  period=name, change=abs(snapshot["n"] - last_snapshot["n"]),
                                  min=min_n))
    elif last is not None and last.withdrawn_at is None and last_snapshot is not None \
            and not changes(last_snapshot, snapshot):
        refusal = PublishError(_l("Revision %(revision)d of %(period)s already shows these "
                                  "figures.", revision=last.revision, period=name))
    return Preview(snapshot, last, changes(last_snapshot, snapshot), refusal)


def publish(session: Session, unit: Unit, kind: str, label: date, *, user_id: int | None,
            now: datetime, min_n: int, tz: ZoneInfo = DEFAULT_TZ) -> Publication:
    """Publish the unit's period (a quarter, semester or year that has ended by ``now`` in
    ``tz``) as a new revision holding a snapshot of its figures now. Refused with a
    ``PublishError`` below ``min_n`` responses, before the period's end, or when the live
    revision already shows the same figures. Audited."""
    # Two heads publishing at once must not both take the next revision number: the unit's
    # row is the lock (SQLite's writer already holds the database).
    session.execute(select(Unit.id).where(Unit.id == unit.id).with_for_update())
    found = preview(session, unit, kind, label, now=now, min_n=min_n, tz=tz)
    if found.refusal is not None:
        raise found.refusal
    revision = found.last.revision + 1 if found.last is not None else 1
    publication = Publication(unit_id=unit.id, period_kind=kind, period_start=label,
                              revision=revision, published_at=now, published_by=user_id,
                              snapshot=json.dumps(found.snapshot, sort_keys=True))
    session.add(publication)
    session.flush()
    snapshot = found.snapshot
    audit.record(session, "publication.publish", "publication", publication.id, after={
        "unit": unit.code, "period": snapshot["period"], "revision": revision,
        "n": snapshot["n"], "ikm": snapshot["ikm"], "category": snapshot["category"]}, at=now)
    return publication


def withdraw(session: Session, unit: Unit, kind: str, label: date, *, now: datetime
             ) -> Publication:
    """Take a published period off the public page (every revision is kept, marked
    withdrawn; publishing again makes a new revision). Audited."""
    name = _check_period(kind, label)
    live = [p for p in revisions(session, unit.id, kind, label) if p.withdrawn_at is None]
    if not live:
        raise PublishError(_l("%(period)s is not published.", period=name))
    for publication in live:
        publication.withdrawn_at = now
    session.flush()
    audit.record(session, "publication.withdraw", "publication", live[-1].id, after={
        "unit": unit.code, "period": name, "revision": live[-1].revision}, at=now)
    return live[-1]


def set_action_published(session: Session, action: ImprovementAction, published: bool, *,
                         now: datetime) -> None:
    """Show an improvement action on the public page ("Anda berkata, kami lakukan") or
    take it off. Audited."""
    if action.published == published:
        return
    action.published = published
    action.updated_at = now
    session.flush()
    audit.record(session, "action.publish" if published else "action.unpublish",
                 "improvement_action", action.id, before={"published": not published},
                 after={"published": published}, at=now)


# Reading what is published ----------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    """A period as the public sees it: the latest revision, when it is not withdrawn."""

    id: int
    unit_id: int
    unit_code: str
    unit_name: str
    kind: str
    label: date
    revision: int
    published_at: datetime
    snapshot: dict[str, Any]

    @property
    def name(self) -> str:
        """The period's name (2026-Q4)."""
        return period_name(self.kind, self.label)

    @property
    def first_day(self) -> date:
        """The period's first day (a Monday)."""
        return first_day(self.kind, self.label)

    @property
    def last_day(self) -> date:
        """The period's last day (a Sunday)."""
        return last_day(self.kind, self.label)


def _live(query: _Query, kinds: Collection[str]) -> _Query:
    """``query`` on publications narrowed to the latest revision of each period, unless
    withdrawn, of the given kinds."""
    latest = (select(Publication.unit_id, Publication.period_kind, Publication.period_start,
                     func.max(Publication.revision).label("revision"))
              .group_by(Publication.unit_id, Publication.period_kind,
                        Publication.period_start).subquery())
    return (query.join(latest, and_(Publication.unit_id == latest.c.unit_id,
                                    Publication.period_kind == latest.c.period_kind,
                                    Publication.period_start == latest.c.period_start,
                                    Publication.revision == latest.c.revision))
            .where(Publication.withdrawn_at.is_(None),
                   Publication.period_kind.in_(sorted(kinds))))


def published_periods(session: Session, *, unit_ids: Iterable[int] | None = None,
                      kinds: Collection[str] = PUBLISHED_KINDS,
                      ids: Iterable[int] | None = None) -> list[Published]:
    """The periods on the public page: each one's latest revision unless withdrawn (of
    these units, or these publications), by unit code, kind and period."""
    query = _live(select(Publication, Unit.code, Unit.name)
                  .join(Unit, Unit.id == Publication.unit_id), kinds).order_by(
        Unit.code, Publication.period_kind, Publication.period_start)
    if unit_ids is not None:
        query = query.where(Publication.unit_id.in_(sorted(unit_ids)))
    if ids is not None:
        query = query.where(Publication.id.in_(sorted(ids)))
    return [Published(p.id, p.unit_id, code, name, p.period_kind, p.period_start, p.revision,
                      p.published_at, snapshot_of(p))
            for p, code, name in session.execute(query)]


def changes_since_previous(session: Session, shown: Collection[Published]
                           ) -> dict[int, list[Change]]:
    """For each shown period published more than once (by its publication id), what
    changed since the revision before it."""
    again = [p for p in shown if p.revision > 1]
    if not again:
        return {}
    wanted = {(p.unit_id, p.kind, p.label, p.revision - 1): p for p in again}
    found: dict[int, list[Change]] = {}
    for before in session.scalars(select(Publication).where(
            Publication.unit_id.in_(sorted({p.unit_id for p in again})))):
        key = (before.unit_id, before.period_kind, before.period_start, before.revision)
        if key in wanted:
            found[wanted[key].id] = changes(snapshot_of(before), wanted[key].snapshot)
    return found


def latest_quarters(session: Session) -> list[Published]:
    """Every unit's latest published quarter, by unit code (only those snapshots are read:
    years of history cost the front page nothing)."""
    latest: dict[int, int] = {}
    for publication_id, unit_id in session.execute(_live(
            select(Publication.id, Publication.unit_id), ("quarter",))
            .order_by(Publication.period_start)):
        latest[unit_id] = publication_id  # ordered by period: the last one wins
    return published_periods(session, kinds=("quarter",), ids=latest.values()) \
        if latest else []


def published_actions(session: Session, *, unit_id: int | None = None,
                      limit: int | None = None) -> list[ImprovementAction]:
    """Published improvement actions, the latest start first."""
    query = (select(ImprovementAction).where(ImprovementAction.published.is_(True))
             .options(joinedload(ImprovementAction.unit),
                      joinedload(ImprovementAction.counter),
                      joinedload(ImprovementAction.service))
             .order_by(ImprovementAction.starts_on.desc(), ImprovementAction.id.desc())
             .limit(limit))
    if unit_id is not None:
        query = query.where(ImprovementAction.unit_id == unit_id)
    return list(session.scalars(query))


@dataclass(frozen=True)
class PublicCase:
    """What the public sees of a case: the handler's published summary, its state and
    dates, nothing else."""

    summary: str
    state: str
    opened_on: date
    verified_on: date | None
    followed_up_at: datetime | None
    closed_at: datetime | None


def published_cases(session: Session, *, unit_id: int | None = None,
                    limit: int | None = None) -> list[PublicCase]:
    """Cases a handler published with a summary, the latest opened first."""
    query = (select(Case.public_summary, Case.state, Case.opened_on, Case.verified_on,
                    Case.followed_up_at, Case.closed_at)
             .where(Case.published.is_(True), Case.public_summary.is_not(None),
                    Case.public_summary != "")
             .order_by(Case.opened_on.desc(), Case.id.desc()).limit(limit))
    if unit_id is not None:
        query = query.where(Case.unit_id == unit_id)
    return [PublicCase(summary or "", state, opened, verified, followed, closed)
            for summary, state, opened, verified, followed, closed in session.execute(query)]


# The back office's list: recent periods of each unit -------------------------------------------

# How many periods of each kind the back office lists: the current one and those before it.
RECENT = {"quarter": 5, "semester": 3, "year": 2}


@dataclass(frozen=True)
class PeriodStatus:
    """A unit's recent period in the back office: its figures now, whether it has ended,
    and its latest revision (None before the first)."""

    unit_id: int
    kind: str
    label: date
    figures: Figures
    ended: bool
    last: Publication | None

    @property
    def name(self) -> str:
        """The period's name (2026-Q4)."""
        return period_name(self.kind, self.label)

    @property
    def first_day(self) -> date:
        """The period's first day."""
        return first_day(self.kind, self.label)

    @property
    def last_day(self) -> date:
        """The period's last day."""
        return last_day(self.kind, self.label)

    @property
    def live(self) -> bool:
        """Published and not withdrawn."""
        return self.last is not None and self.last.withdrawn_at is None

    @property
    def changed(self) -> bool:
        """Published, and the responses or the index differ from the live revision now."""
        if not self.live or self.last is None:
            return False
        shown = snapshot_of(self.last)
        return (shown.get("n"), shown.get("ikm")) != (self.figures.n, self.figures.ikm)


def period_statuses(session: Session, unit_ids: Collection[int], *, now: datetime,
                    tz: ZoneInfo = DEFAULT_TZ) -> dict[int, list[PeriodStatus]]:
    """Each unit's recent quarters, semesters and years (the current one first), with
    their figures and latest revision."""
    today = now.astimezone(tz).date()
    units = sorted(unit_ids)
    latest: dict[tuple[int, str, date], Publication] = {}
    for publication in session.scalars(select(Publication).where(
            Publication.unit_id.in_(units or [-1])).order_by(Publication.revision)):
        latest[(publication.unit_id, publication.period_kind,
                publication.period_start)] = publication
    found: dict[int, list[PeriodStatus]] = {unit_id: [] for unit_id in units}
    for kind in PUBLISHED_KINDS:
        labels = [period_start(kind, today)]
        for _ in range(RECENT[kind] - 1):
            labels.append(previous_period(kind, labels[-1]))
        figures = period_figures(session, kind, labels[-1], labels[0], units)
        for unit_id in units:
            found[unit_id] += [
                PeriodStatus(unit_id, kind, label, figures.get((unit_id, label), Figures()),
                             last_day(kind, label) < today, latest.get((unit_id, kind, label)))
                for label in labels]
    return found


# Open data ------------------------------------------------------------------------------------

OPEN_DATA_COLUMNS = ("unit", "period", "first_day", "last_day", "n", "ikm", "category",
                     *ELEMENT_CODES, "published_at", "revision")


def open_data_rows(session: Session) -> list[dict[str, Any]]:
    """One row per unit and published period (its live revision), as the snapshot holds
    it: the open data CSV."""
    rows = []
    for found in published_periods(session):
        snapshot, elements = found.snapshot, found.snapshot.get("elements") or {}
        rows.append({"unit": found.unit_code, "period": found.name,
                     "first_day": snapshot["first_day"], "last_day": snapshot["last_day"],
                     "n": snapshot["n"], "ikm": snapshot["ikm"],
                     "category": snapshot["category"],
                     **{code: elements.get(code) for code in ELEMENT_CODES},
                     "published_at": found.published_at.isoformat(timespec="seconds"),
                     "revision": found.revision})
    return rows
