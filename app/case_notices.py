"""What the scheduler's ``case_deadlines`` job does to complaint cases: tell the handlers of
a new case, remind them once per stage a working day before its deadline, mark a case past
its deadline and escalate it to the unit's heads once per stage, and erase contacts 90 days
after a case closed.

Each notice is recorded (an event, and the case's ``reminded_stage`` or ``overdue_stage``)
before it is sent, so a rerun never sends it again; a notice the mail server certainly did
not take is released (``release``) and sent on the next run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app import audit, workdays
from app.case_handlers import unit_handler_emails
from app.cases import AUDITED, OPEN_STAGES, current_deadline
from app.config import Settings
from app.digests import digest_recipients, email_templates
from app.models import Case, CaseContact, CaseEvent, Unit, UnitRole, User

CONTACT_KEPT = timedelta(days=90)  # after the case closed
# SP4N-LAPOR!: a followed-up report closes when the reporter has not replied for this many
# working days (counted from the local day of the follow-up, or of its last reopening).
QUIET_CLOSE_DAYS = 10
QUIET_CLOSE_NOTE = ("closed automatically: no reply from the citizen within "
                    f"{QUIET_CLOSE_DAYS} working days of the follow-up")


@dataclass(frozen=True)
class Notice:
    """One e-mail about one case, recorded as sent: ``event_id`` is its event; a reminder
    also set ``reminded_stage`` (``previous_reminded`` is what to put back on release)."""

    kind: str  # "new", "reminder", "overdue"
    case_id: int
    reference: str
    stage: str | None
    recipients: tuple[str, ...]
    subject: str
    body: str
    event_id: int
    previous_reminded: str | None = None


def unit_heads(session: Session, unit_id: int) -> list[str]:
    """The active heads of a unit, acting heads (Plt.) included."""
    acting = session.scalars(select(User.email).join(UnitRole, UnitRole.user_id == User.id)
                             .where(UnitRole.unit_id == unit_id, UnitRole.role == "unit_head",
                                    User.active.is_(True)))
    return sorted({*digest_recipients(session, unit_id), *acting})


def _administrators(session: Session) -> list[str]:
    return list(session.scalars(select(User.email).where(
        User.role == "admin", User.active.is_(True)).order_by(User.email)))


def _render(kind: str, case: Case, unit: Unit, stage: str | None, due: date | None,
            settings: Settings) -> tuple[str, str]:
    env = email_templates(settings.default_locale, settings.translations_dir)
    values = {"kind": kind, "case": case, "unit": unit, "stage": stage, "due": due,
              "url": f"{settings.public_base_url}/admin/cases/{case.id}"}
    return (env.get_template("case_subject.txt").render(**values).strip(),
            env.get_template("case_notice.txt").render(**values))


def _notice(session: Session, kind: str, event_kind: str, case: Case, stage: str | None,
            recipients: list[str], settings: Settings, now: datetime, *,
            previous_reminded: str | None = None) -> Notice:
    event = CaseEvent(case_id=case.id, at=now, kind=event_kind, note=stage)
    session.add(event)
    session.flush()
    unit = session.get(Unit, case.unit_id)
    assert unit is not None  # noqa: S101 (a case's unit is never deleted: RESTRICT)
    subject, body = _render(kind, case, unit, stage, current_deadline(case), settings)
    return Notice(kind, case.id, case.reference, stage, tuple(recipients), subject, body,
                  event.id, previous_reminded)


def plan_notices(session: Session, settings: Settings, *, now: datetime) -> list[Notice]:
    """Record the notices due at ``now`` for the open cases and return them to be sent:
    new cases (once), one working day left (once per stage), past the deadline (marked and
    escalated to the unit's heads once per stage). Handlers are told, or the unit's heads
    when it has none, or the administrators when it has neither."""
    today = workdays.local_day(now, settings.tz)
    overrides = workdays.overrides(session, today)
    open_cases = list(session.scalars(select(Case).where(Case.state.in_(OPEN_STAGES))
                                      .order_by(Case.opened_at, Case.id)))
    sent = {(case_id, kind, note) for case_id, kind, note in session.execute(
        select(CaseEvent.case_id, CaseEvent.kind, CaseEvent.note).where(
            CaseEvent.case_id.in_([c.id for c in open_cases] or [-1]),
            CaseEvent.kind.in_(("notified", "escalated"))))}
    notices = []
    for case in open_cases:
        handlers = unit_handler_emails(session, case.unit_id)
        heads = unit_heads(session, case.unit_id)
        told = handlers or heads or _administrators(session)
        stage, due = case.state, current_deadline(case)
        assert due is not None  # noqa: S101 (open stages have a deadline)
        if not any(c == case.id and k == "notified" for c, k, _n in sent):
            notices.append(_notice(session, "new", "notified", case, None, told, settings,
                                   now))
        if due < today:
            if case.overdue_stage != stage:
                case.overdue_stage, case.overdue_at = stage, now
                session.add(CaseEvent(case_id=case.id, at=now, kind="overdue", note=stage))
                audit.record(session, "case.overdue", "case", case.id,
                             after={"reference": case.reference, "stage": stage,
                                    "due_on": due}, at=now)
            if (case.id, "escalated", stage) not in sent:
                notices.append(_notice(session, "overdue", "escalated", case, stage,
                                       heads or _administrators(session), settings, now))
        elif case.reminded_stage != stage and \
                workdays.add_working_days(today, 1, overrides) >= due:
            previous = case.reminded_stage
            case.reminded_stage = stage
            notices.append(_notice(session, "reminder", "reminded", case, stage, told,
                                   settings, now, previous_reminded=previous))
    session.flush()
    return notices


def release(session: Session, notice: Notice) -> None:
    """Undo the record of a notice the mail server certainly did not take: the next run
    sends it again."""
    session.execute(delete(CaseEvent).where(CaseEvent.id == notice.event_id))
    if notice.kind == "reminder":
        case = session.get(Case, notice.case_id)
        if case is not None and case.reminded_stage == notice.stage:
            case.reminded_stage = notice.previous_reminded
    session.flush()


def build_notice(notice: Notice, settings: Settings, *, now: datetime) -> EmailMessage:
    """The e-mail of a notice (plain text, no contact, no comment)."""
    message = EmailMessage()
    message["Subject"] = notice.subject
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(notice.recipients)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain="suara-warga.local")
    message.set_content(notice.body)
    return message


def close_quiet_cases(session: Session, *, now: datetime, tz: ZoneInfo) -> int:
    """Close the followed-up cases whose citizen has not replied (the case was not
    reopened) for QUIET_CLOSE_DAYS working days after the local day of the follow-up (or of
    its last reopening), from the day after the last of them: an event ``closed`` with
    QUIET_CLOSE_NOTE and an audit entry by the scheduler, so their contact is erased
    CONTACT_KEPT later. Returns how many."""
    today = workdays.local_day(now, tz)
    reopened = (select(CaseEvent.case_id, func.max(CaseEvent.at).label("at"))
                .where(CaseEvent.kind == "reopened").group_by(CaseEvent.case_id).subquery())
    rows = session.execute(
        select(Case, reopened.c.at).outerjoin(reopened, reopened.c.case_id == Case.id)
        .where(Case.state == "followed_up", Case.followed_up_at.is_not(None))
        .order_by(Case.id)).all()
    closed = 0
    for case, reopened_at in rows:
        assert case.followed_up_at is not None  # noqa: S101 (the query's condition)
        since = max(case.followed_up_at, reopened_at) if reopened_at is not None \
            else case.followed_up_at
        first = workdays.local_day(since, tz)
        due = workdays.add_working_days(first, QUIET_CLOSE_DAYS,
                                        workdays.overrides(session, first))
        if today <= due:  # its last day to reply is not over
            continue
        before = audit.snapshot(case, AUDITED)
        case.state = "closed"
        case.closed_at = now
        session.flush()
        session.add(CaseEvent(case_id=case.id, at=now, kind="closed", note=QUIET_CLOSE_NOTE))
        audit.record(session, "case.closed", "case", case.id, before=before,
                     after={**audit.snapshot(case, AUDITED), "automatic": True},
                     actor=audit.SCHEDULER, at=now)
        closed += 1
    session.flush()
    return closed


def erase_contacts(session: Session, *, now: datetime) -> int:
    """Delete the contacts of cases closed CONTACT_KEPT ago or longer (an event and an
    audit entry each, without the value); returns how many."""
    due = list(session.scalars(select(Case).join(CaseContact, CaseContact.case_id == Case.id)
                               .where(Case.state == "closed",
                                      Case.closed_at <= now - CONTACT_KEPT)))
    for case in due:
        session.execute(delete(CaseContact).where(CaseContact.case_id == case.id))
        session.add(CaseEvent(case_id=case.id, at=now, kind="contact_erased"))
        audit.record(session, "case.contact_erased", "case", case.id,
                     after={"reference": case.reference}, at=now)
    session.flush()
    return len(due)
