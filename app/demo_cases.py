"""The demo's complaint cases: a handler account per unit, and a few cases from the demo's
recent responses in each state, so that the complaint pages are not empty."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import cases
from app.models import CaseHandler, Response, Unit, User

# The steps each demo unit's cases are taken through: one left new (it is overdue by the
# time the demo is opened), one verified, one followed up, one closed.
DEMO_STATES = ("new", "verified", "followed_up", "closed")
# The handlers' given names (the officers' own list is used up by then) and sex digit.
HANDLER_NAMES = [("Ayu", "2"), ("Bayu", "1"), ("Citra", "2"), ("Dimas", "1"), ("Eka", "2"),
                 ("Galih", "1")]
ANSWER = ("Kami sudah menambah petugas pada jam sibuk dan memasang papan informasi antrean. "
          "Terima kasih atas masukan Bapak/Ibu.")
SUMMARY = ("Warga mengeluhkan antrean yang lama tanpa informasi. Unit menambah petugas pada "
           "jam sibuk dan memasang papan informasi antrean.")


def handler_email(unit_code: str) -> str:
    """The demo complaint handler's address of a unit (pengaduan.dukcapil@…)."""
    return "pengaduan." + unit_code.lower().replace("pkm-", "pkm.") + "@lampungutara.demo"


def grant_demo_handlers(session: Session, *, now: datetime) -> None:
    """Make each demo unit's complaint handler account (already created) its handler."""
    for unit in session.scalars(select(Unit).order_by(Unit.code)):
        user = session.scalar(select(User).where(User.email == handler_email(unit.code)))
        if user is not None:
            session.add(CaseHandler(user_id=user.id, unit_id=unit.id, created_at=now))
    session.flush()


def seed_cases(session: Session, *, today: date, tz: ZoneInfo) -> int:
    """Open the demo's cases from each unit's latest responses that give a reason (a low
    score with a comment, a fee reported for a free service), and take them through the
    states of DEMO_STATES; returns how many."""
    opened = 0
    for unit in session.scalars(select(Unit).order_by(Unit.code)):
        handler = session.scalar(select(User).where(User.email == handler_email(unit.code)))
        candidates = session.scalars(
            select(Response).where(Response.unit_id == unit.id, Response.unflagged(),
                                   Response.comment.is_not(None),
                                   Response.local_day < today - timedelta(days=7))
            .order_by(Response.created_at.desc()).limit(40))
        # Low scores with a comment first: they make the more telling demo cases.
        found = [(reasons, response) for response in candidates
                 if (reasons := cases.case_reasons(response, response.service))]
        found.sort(key=lambda pair: "low_score" not in pair[0])
        states = iter(DEMO_STATES)
        for _reasons, response in found:
            state = next(states, None)
            if state is None:
                break
            _take_through(session, response, state, handler, tz)
            opened += 1
    return opened


def _take_through(session: Session, response: Response, state: str, handler: User | None,
                  tz: ZoneInfo) -> None:
    at = response.received_at
    case = cases.open_case(session, response, declared=False, contact=None, now=at, tz=tz)
    assert case is not None  # noqa: S101 (the caller checked its reasons)
    who = handler.id if handler is not None else None
    if handler is not None:
        cases.assign(session, case, handler.id, user_id=who, now=at + timedelta(hours=1))
    if state == "new":
        return
    day = datetime.combine(case.opened_on + timedelta(days=1), time(10), tz)
    cases.categorise(session, case, "waiting", user_id=who, now=day)
    cases.verify(session, case, "", user_id=who, now=day, tz=tz)
    if state == "verified":
        return
    cases.follow_up(session, case, ANSWER, user_id=who, now=day + timedelta(days=2))
    if state == "followed_up":
        return
    cases.close(session, case, "", user_id=who, now=day + timedelta(days=3))
    cases.save_summary(session, case, SUMMARY, user_id=who, now=day + timedelta(days=3))
    cases.set_published(session, case, True, user_id=who, now=day + timedelta(days=3))
