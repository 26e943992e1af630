"""Performance dialogues: a unit head's feedback conversations with an officer (issue 15).

Citizen feedback is evidence for the dialogue (PermenPANRB 6/2022, continuous feedback),
never a grade. A dialogue is the officer's personal data: only the officer, the head(s) of
the officer's unit and administrators see it (``may_see``); everyone else is answered as if
it did not exist. The audit log records ids and dates only, never the conversation's text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import audit
from app.auth import unit_scope
from app.models import Indicator, Officer, User
from app.models.loop import PERIOD_KINDS, TEXT_MAX, Dialogue
from app.org import DomainError, FormRefusal, invisible_character
from app.periods import first_day, last_day, next_period, week_start, weeks_of

QUARTER = timedelta(days=91)  # a dialogue older than this is due again
FIRST_DAY = date(2000, 1, 1)
FOLLOW_UP_MAX = timedelta(days=730)
RECENT_WEEKS = 8  # weeks offered even without figures (a new officer, a quiet counter)
RECENT_MONTHS = 3
OFFERED_SINCE = timedelta(days=366)  # periods with figures offered this far back
AUDITED = ("officer_id", "unit_id", "held_on", "period_kind", "period_start",
           "follow_up_on")  # never the text
TEXT_FIELDS = ("went_well", "to_improve", "agreed_actions")


class DialogueHidden(DomainError):
    """The dialogue or officer is not there or not the user's to see (one answer for both)."""


@dataclass(frozen=True)
class DialogueEntry:
    """What the unit head writes down; text as typed (normalised when recorded)."""

    held_on: date | None
    period_kind: str
    period_start: date | None
    went_well: str
    to_improve: str
    agreed_actions: str
    follow_up_on: date | None = None


@dataclass(frozen=True)
class Period:
    """A week (from its Monday) or a month (from its first day) of an officer's figures,
    with the officer's responses in it (0: none stored)."""

    kind: str
    start: date
    n: int = 0

    @property
    def first(self) -> date:
        """The period's first day (a month's first Monday may lie in the month before)."""
        return first_day(self.kind, self.start)

    @property
    def end(self) -> date:
        """The period's last day."""
        return last_day(self.kind, self.start)

    @property
    def weeks(self) -> list[date]:
        """The Mondays of the weeks whose figures make the period: a month is the weeks
        whose Thursday falls in it (app.periods)."""
        return weeks_of(self.kind, self.start)


@dataclass(frozen=True)
class DialogueStatus:
    """An active officer and their last dialogue; ``due`` when that is older than a
    quarter or there never was one."""

    officer: Officer
    last_held_on: date | None
    due: bool


# Who may do what --------------------------------------------------------------------------


def _heads(session: Session, user: User, officer: Officer) -> bool:
    """Whether ``user`` heads the officer's unit (directly, above it, or as acting head)."""
    if user.role != "unit_head":
        return False
    scope = unit_scope(session, user)
    return scope is not None and officer.unit_id in scope


def may_see(session: Session, user: User, officer: Officer) -> bool:
    """The officer themself, the head(s) of the officer's unit, administrators."""
    return (user.role == "admin" or (user.officer_id is not None
                                     and user.officer_id == officer.id)
            or _heads(session, user, officer))


def may_record(session: Session, user: User, officer: Officer) -> bool:
    """Administrators and the officer's unit head, never about themself."""
    if user.officer_id is not None and user.officer_id == officer.id:
        return False
    return user.role == "admin" or _heads(session, user, officer)


def visible_officer(session: Session, user: User, officer_id: int) -> Officer:
    """The officer whose dialogues ``user`` may see, else DialogueHidden."""
    officer = session.get(Officer, officer_id)
    if officer is None or not may_see(session, user, officer):
        raise DialogueHidden(officer_id)
    return officer


def visible_dialogue(session: Session, user: User, dialogue_id: int) -> Dialogue:
    """The dialogue if ``user`` may see it, else DialogueHidden."""
    dialogue = session.get(Dialogue, dialogue_id)
    if dialogue is None or not may_see(session, user, dialogue.officer):
        raise DialogueHidden(dialogue_id)
    return dialogue


# Recording and acknowledging ----------------------------------------------------------------


def _clean_text(value: str, field: str) -> str:
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise FormRefusal(_l("Write something here."), field)
    if len(text) > TEXT_MAX:
        raise FormRefusal(_l("At most %(max)d characters.", max=TEXT_MAX), field)
    found = invisible_character(text.replace("\n", ""))
    if found is not None:
        raise FormRefusal(_l("The text contains an invisible or control character "
                             "(%(code)s); remove it.", code=found), field)
    return text


def _check_period(kind: str, start: date | None, held_on: date) -> date:
    if kind not in PERIOD_KINDS or start is None:
        raise FormRefusal(_l("Choose the week or month whose figures were discussed."),
                          "period")
    if kind == "week" and start.weekday() != 0:
        raise FormRefusal(_l("A week starts on a Monday."), "period")
    if kind == "month" and start.day != 1:
        raise FormRefusal(_l("A month starts on its first day."), "period")
    if start > held_on:
        raise FormRefusal(_l("The period discussed cannot begin after the dialogue."),
                          "period")
    if start < FIRST_DAY:
        raise FormRefusal(_l("This period is too long ago."), "period")
    return start


def _check_dates(entry: DialogueEntry, today: date) -> date:
    held_on = entry.held_on
    if held_on is None:
        raise FormRefusal(_l("Enter the date of the dialogue."), "held_on")
    if held_on > today:
        raise FormRefusal(_l("A dialogue cannot be recorded before it has taken place."),
                          "held_on")
    if held_on < FIRST_DAY:
        raise FormRefusal(_l("This date is too long ago."), "held_on")
    if entry.follow_up_on is not None and entry.follow_up_on < held_on:
        raise FormRefusal(_l("The follow-up cannot come before the dialogue."),
                          "follow_up_on")
    if entry.follow_up_on is not None and entry.follow_up_on > held_on + FOLLOW_UP_MAX:
        raise FormRefusal(_l("A follow-up is at most two years after the dialogue."),
                          "follow_up_on")
    return held_on


def record_dialogue(session: Session, user: User, officer: Officer, entry: DialogueEntry, *,
                    today: date, now: datetime) -> Dialogue:
    """Record a dialogue of ``user`` (the officer's unit head, or an administrator) with
    ``officer``; ``today`` is the local day of ``now``. Refusals are FormRefusal naming the field
    (nothing is stored then); an officer ``user`` may not record for: DialogueHidden."""
    if not may_record(session, user, officer):
        raise DialogueHidden(officer.id)
    if not officer.active:
        raise FormRefusal(_l("This officer is no longer active."))
    held_on = _check_dates(entry, today)
    start = _check_period(entry.period_kind, entry.period_start, held_on)
    texts = {name: _clean_text(getattr(entry, name), name) for name in TEXT_FIELDS}
    dialogue = Dialogue(officer_id=officer.id, unit_id=officer.unit_id, held_on=held_on,
                        period_kind=entry.period_kind, period_start=start,
                        follow_up_on=entry.follow_up_on, recorded_by=user.id, created_at=now,
                        **texts)
    session.add(dialogue)
    session.flush()
    audit.record(session, "dialogue.record", "performance_dialogue", dialogue.id,
                 after=audit.snapshot(dialogue, AUDITED))
    return dialogue


def acknowledge(session: Session, user: User, dialogue: Dialogue, *, now: datetime) -> None:
    """The officer's note that they have read the dialogue, once; only they may give it
    (anyone else: DialogueHidden, or FormRefusal when they may see it)."""
    if user.officer_id is None or user.officer_id != dialogue.officer_id:
        if may_see(session, user, dialogue.officer):
            raise FormRefusal(_l("Only the officer can acknowledge their dialogue."))
        raise DialogueHidden(dialogue.id)
    if dialogue.acknowledged_at is not None:
        raise FormRefusal(_l("You have already acknowledged this dialogue."))
    dialogue.acknowledged_at = now
    session.flush()
    audit.record(session, "dialogue.acknowledge", "performance_dialogue", dialogue.id,
                 before={"acknowledged_at": None},
                 after={"officer_id": dialogue.officer_id, "acknowledged_at": now})


# Reading ----------------------------------------------------------------------------------


def history(session: Session, officer_id: int) -> list[Dialogue]:
    """An officer's dialogues, the latest first (check ``may_see`` before showing them)."""
    return list(session.scalars(select(Dialogue).where(Dialogue.officer_id == officer_id)
                                .order_by(Dialogue.held_on.desc(), Dialogue.id.desc())))


def unread_count(session: Session, officer_id: int) -> int:
    """How many of an officer's dialogues they have not acknowledged yet."""
    return session.scalar(select(func.count()).select_from(Dialogue).where(
        Dialogue.officer_id == officer_id, Dialogue.acknowledged_at.is_(None))) or 0


def officer_periods(session: Session, officer_id: int, today: date) -> list[Period]:
    """The periods a dialogue may discuss, the latest first: the officer's weeks and months
    with stored figures in the last year, and the recent ones even without figures."""
    counts: dict[tuple[str, date], int] = {}
    for kind in PERIOD_KINDS:
        first = week_start(today) - timedelta(weeks=RECENT_WEEKS - 1) if kind == "week" \
            else _months_back(today.replace(day=1), RECENT_MONTHS - 1)
        start = first
        while start <= today:
            counts[(kind, start)] = 0
            start = next_period(kind, start)
    rows = session.execute(
        select(Indicator.period_kind, Indicator.period_start, func.sum(Indicator.n))
        .where(Indicator.scope == "officer", Indicator.scope_id == officer_id,
               Indicator.period_kind.in_(PERIOD_KINDS),
               Indicator.period_start >= today - OFFERED_SINCE,
               Indicator.period_start <= today)
        .group_by(Indicator.period_kind, Indicator.period_start))
    for kind, start, n in rows:
        counts[(kind, start)] = int(n or 0)
    return sorted((Period(kind, start, n) for (kind, start), n in counts.items()),
                  key=lambda p: (p.start, p.kind == "month"), reverse=True)


def _months_back(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 - count
    return date(index // 12, index % 12 + 1, 1)


def dialogue_statuses(session: Session, unit_ids: Iterable[int] | None, today: date
                      ) -> list[DialogueStatus]:
    """The active officers of ``unit_ids`` (None: every unit) by name, each with the date
    of their last dialogue (wherever it was held) and whether one is due."""
    last = (select(Dialogue.officer_id, func.max(Dialogue.held_on).label("last"))
            .group_by(Dialogue.officer_id).subquery())
    query = (select(Officer, last.c.last).outerjoin(last, last.c.officer_id == Officer.id)
             .where(Officer.active.is_(True)).order_by(Officer.name, Officer.id))
    if unit_ids is not None:
        query = query.where(Officer.unit_id.in_(list(unit_ids) or [-1]))
    return [DialogueStatus(officer, held, held is None or held < today - QUARTER)
            for officer, held in session.execute(query)]


def overdue_dialogues(session: Session, unit_ids: Iterable[int] | None, today: date
                      ) -> list[DialogueStatus]:
    """The active officers of ``unit_ids`` whose last dialogue is older than a quarter
    (91 days before ``today``), or who never had one."""
    return [status for status in dialogue_statuses(session, unit_ids, today) if status.due]
