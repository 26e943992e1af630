"""Improvement actions (rencana tindak lanjut, RTL): recording them, the weakest elements
that seed a new one, and their measured effect before and after their start.

An action is against one SKM element of one unit, optionally at one of its counters or for
one of its services. Its effect is read from the unflagged responses of that unit (narrowed
to the counter or service) in the ``weeks`` weeks before ``starts_on`` and the ``weeks``
weeks from it: the element's mean score (1-4, also × 25) and the measured wait in minutes.
Only the measured wait is used: a wait band is a perception, its last band has no upper
end (no midpoint), and the two are never mixed in one number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, ColumnElement, cast, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from app import audit
from app.models import Counter, Indicator, Response, Service, Unit
from app.models.loop import ACTION_STATES, ELEMENT_CODES, TEXT_MAX, ImprovementAction
from app.org import FormRefusal, invisible_character
from app.periods import first_day, last_day, period_start, previous_period
from app.scoring import IKM_SCALE, GroupTotals, MeanDifference, welch_interval

WHO_MAX = 200
FIRST_YEAR, LAST_YEAR = 2000, 2100
OPEN_STATES = ("planned", "in_progress")  # an action in these states past its due date is late
SUGGESTED_COUNT = 3
ACTION_FIELDS = ("element", "counter_id", "service_id", "what", "who", "starts_on", "due_on",
                 "state")


class ActionError(FormRefusal):
    """A refused action: a message for people and the form field it belongs to."""


@dataclass(frozen=True)
class ActionValues:
    """What a form (or a script) sets on an action; dates None when not given."""

    element: str
    what: str
    who: str
    starts_on: date | None
    due_on: date | None
    state: str = "planned"
    counter_id: int | None = None
    service_id: int | None = None


def _clean_text(text: str, field: str, maximum: int, *, lines: bool) -> str:
    """``text`` stripped; line breaks kept as ``\\n`` when ``lines`` (a textarea), every
    other control or invisible character refused beside the field."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip() if lines else text.strip()
    if not text:
        raise ActionError(_l("This field is required."), field)
    if len(text) > maximum:
        raise ActionError(_l("Write at most %(max)d characters.", max=maximum), field)
    if odd := invisible_character(text.replace("\n", "") if lines else text):
        raise ActionError(_l("Remove the invisible or control character %(char)s.",
                             char=odd), field)
    return text


def _check_date(value: date | None, field: str) -> date:
    if value is None:
        raise ActionError(_l("Enter a date."), field)
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ActionError(_l("The year must be between %(first)d and %(last)d.",
                             first=FIRST_YEAR, last=LAST_YEAR), field)
    return value


@dataclass(frozen=True)
class _Checked:
    element: str
    what: str
    who: str
    starts_on: date
    due_on: date
    state: str
    counter: Counter | None
    service: Service | None


def _check(session: Session, unit_id: int, values: ActionValues) -> _Checked:
    if values.element not in ELEMENT_CODES:
        raise ActionError(_l("Choose one of the elements U1 to U9."), "element")
    counter = service = None
    if values.counter_id is not None:
        counter = session.get(Counter, values.counter_id)
        if counter is None or counter.unit_id != unit_id:
            raise ActionError(_l("Choose a counter of this unit."), "counter_id")
    if values.service_id is not None:
        service = session.get(Service, values.service_id)
        if service is None or service.unit_id != unit_id:
            raise ActionError(_l("Choose a service of this unit."), "service_id")
    what = _clean_text(values.what, "what", TEXT_MAX, lines=True)
    who = _clean_text(values.who, "who", WHO_MAX, lines=False)
    starts_on = _check_date(values.starts_on, "starts_on")
    due_on = _check_date(values.due_on, "due_on")
    if due_on < starts_on:
        raise ActionError(_l("The due date cannot be before the start."), "due_on")
    if values.state not in ACTION_STATES:
        raise ActionError(_l("Choose one of the listed states."), "state")
    return _Checked(values.element, what, who, starts_on, due_on, values.state, counter,
                    service)


def _snapshot(action: ImprovementAction) -> dict[str, Any]:
    return audit.snapshot(action, ("unit_id", *ACTION_FIELDS))


def _apply(action: ImprovementAction, checked: _Checked, now: datetime) -> None:
    action.element = checked.element
    action.counter_id = checked.counter.id if checked.counter else None
    action.service_id = checked.service.id if checked.service else None
    action.what = checked.what
    action.who = checked.who
    action.starts_on = checked.starts_on
    action.due_on = checked.due_on
    action.state = checked.state
    action.updated_at = now


def create_action(session: Session, unit: Unit, values: ActionValues, *,
                  user_id: int | None, now: datetime) -> ImprovementAction:
    """Record a new action of ``unit`` (refused with an ``ActionError`` naming the field);
    the audit log keeps what was recorded."""
    checked = _check(session, unit.id, values)
    action = ImprovementAction(unit_id=unit.id, created_by=user_id, created_at=now)
    _apply(action, checked, now)
    session.add(action)
    session.flush()
    audit.record(session, "action.create", "improvement_action", action.id,
                 after=_snapshot(action), at=now)
    return action


def update_action(session: Session, action: ImprovementAction, values: ActionValues, *,
                  now: datetime) -> None:
    """Change an action (its unit stays); the audit log keeps the fields that changed."""
    checked = _check(session, action.unit_id, values)
    before = _snapshot(action)
    _apply(action, checked, now)
    session.flush()
    audit.record(session, "action.update", "improvement_action", action.id, before=before,
                 after=_snapshot(action), at=now)


def unit_actions(session: Session, unit_ids: set[int] | None) -> list[ImprovementAction]:
    """The actions of these units (None: all), latest start first."""
    query = select(ImprovementAction).order_by(
        ImprovementAction.unit_id, ImprovementAction.starts_on.desc(),
        ImprovementAction.id.desc())
    if unit_ids is not None:
        query = query.where(ImprovementAction.unit_id.in_(sorted(unit_ids)))
    return list(session.scalars(query))


def is_overdue(action: ImprovementAction, today: date) -> bool:
    """Past its due date and neither done nor dropped."""
    return action.state in OPEN_STATES and action.due_on < today


def actions_due(session: Session, unit_id: int, today: date, *, within_days: int = 7
                ) -> list[ImprovementAction]:
    """The unit's open actions past their due date or due within ``within_days``, soonest
    first (the weekly digest lists them)."""
    return list(session.scalars(select(ImprovementAction).where(
        ImprovementAction.unit_id == unit_id, ImprovementAction.state.in_(OPEN_STATES),
        ImprovementAction.due_on <= today + timedelta(days=within_days))
        .order_by(ImprovementAction.due_on, ImprovementAction.id)))


# The weakest elements, to seed a new action --------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    """The unit's element scores (NRR) of its last complete period, weakest first."""

    period_kind: str
    first_day: date
    last_day: date
    n: int
    ranked: tuple[tuple[str, Fraction], ...]  # (element, NRR), lowest first, then by code

    @property
    def weakest(self) -> tuple[str, ...]:
        """The elements suggested for an action: the lowest few (all tied at the cut)."""
        if not self.ranked:
            return ()
        cut = self.ranked[min(SUGGESTED_COUNT, len(self.ranked)) - 1][1]
        return tuple(code for code, score in self.ranked if score <= cut)


def suggested_elements(session: Session, unit_id: int, *, now: datetime, tz: ZoneInfo,
                       period: str = "month") -> Suggestion:
    """The elements of ``unit_id`` ranked by NRR over its last complete ``period`` (week or
    month, as the stored unit indicators hold it, summed over survey versions): the
    weakest seed a new action's form. ``n`` is 0 and ``ranked`` empty without responses."""
    if period not in ("week", "month"):
        raise ValueError(f"period must be week or month, got {period!r}")
    first = previous_period(period, period_start(period, now.astimezone(tz).date()))
    rows = session.scalars(select(Indicator).where(
        Indicator.scope == "unit", Indicator.scope_id == unit_id,
        Indicator.period_kind == period, Indicator.period_start == first))
    n, sums = 0, [0] * len(ELEMENT_CODES)
    for row in rows:
        n += row.n
        sums = [s + getattr(row, f"sum_{code.lower()}") for s, code in zip(
            sums, ELEMENT_CODES, strict=True)]
    ranked = sorted(((code, Fraction(total, n)) for code, total in zip(
        ELEMENT_CODES, sums, strict=True)), key=lambda pair: (pair[1], pair[0])) if n else []
    return Suggestion(period, first_day(period, first), last_day(period, first), n,
                      tuple(ranked))


# The measured effect ------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """One measure before and after the start: the counts, and the difference with its
    interval once both sides have ``min_n`` values (``result`` None until then)."""

    before_n: int
    after_n: int
    min_n: int
    result: MeanDifference | None

    @property
    def needed_before(self) -> int:
        """How many more values the period before needs."""
        return max(0, self.min_n - self.before_n)

    @property
    def needed_after(self) -> int:
        """How many more values the period after needs."""
        return max(0, self.min_n - self.after_n)

    @property
    def significant(self) -> bool:
        """Shown, and its 95 % interval excludes no change."""
        return self.result is not None and self.result.significant


@dataclass(frozen=True)
class Effect:
    """An action's measured effect: the windows compared (first and last day of each; the
    after window ends today while it is running) and each measure."""

    before_first: date
    before_last: date
    after_first: date
    after_last: date | None  # None: the action has not started yet
    weeks: int
    score: Comparison  # the element's mean score, 1-4
    wait: Comparison  # the measured wait, minutes

    @property
    def score_index(self) -> MeanDifference | None:
        """The score's comparison on the index scale (× 25)."""
        result = self.score.result
        return result.scaled(IKM_SCALE) if result is not None else None


def _moments(session: Session, column: ColumnElement[Any] | InstrumentedAttribute[Any],
             where: list[ColumnElement[bool]]) -> GroupTotals:
    wide = cast(column, BigInteger)  # smallint squares overflow on PostgreSQL
    n, total, squares = session.execute(
        select(func.count(column), func.coalesce(func.sum(wide), 0),
               func.coalesce(func.sum(wide * wide), 0)).where(*where)).one()
    return GroupTotals(int(n), int(total), int(squares))


def effect(session: Session, action: ImprovementAction, *, weeks: int, min_n: int,
           now: datetime, tz: ZoneInfo) -> Effect:
    """The action's effect from the unflagged responses of its unit (its counter or service
    when set) in the ``weeks`` weeks before ``starts_on`` and the ``weeks`` weeks from it,
    the latter only up to today (local). Each measure is compared once both sides have
    ``min_n`` values (pass ``settings.officer_min_n``; at least 2, for a variance)."""
    if weeks < 1:
        raise ValueError(f"weeks must be positive, got {weeks}")
    min_n = max(min_n, 2)
    today = now.astimezone(tz).date()
    before_first = action.starts_on - timedelta(weeks=weeks)
    after_end = min(action.starts_on + timedelta(weeks=weeks), today + timedelta(days=1))
    scope = [Response.unit_id == action.unit_id, Response.unflagged()]
    if action.counter_id is not None:
        scope.append(Response.counter_id == action.counter_id)
    if action.service_id is not None:
        scope.append(Response.service_id == action.service_id)
    before = [*scope, Response.local_day >= before_first,
              Response.local_day < action.starts_on]
    after = [*scope, Response.local_day >= action.starts_on, Response.local_day < after_end]
    element: ColumnElement[Any] = getattr(Response, action.element.lower())
    comparisons = []
    for column in (element, Response.measured_wait_min):
        first, second = _moments(session, column, before), _moments(session, column, after)
        shown = first.n >= min_n and second.n >= min_n
        comparisons.append(Comparison(first.n, second.n, min_n,
                                      welch_interval(first, second) if shown else None))
    return Effect(before_first, action.starts_on - timedelta(days=1), action.starts_on,
                  after_end - timedelta(days=1) if after_end > action.starts_on else None,
                  weeks, comparisons[0], comparisons[1])
