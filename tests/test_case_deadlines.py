"""The scheduler's case_deadlines job: a new case notifies its unit's handlers once, a day
before a deadline reminds them once per stage, a case past its deadline is marked and
escalated to the unit's heads exactly once per stage, contacts are erased 90 days after a
case closed, a notice the mail server refused is sent on the next run; and the digest
lists the overdue cases."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from email import message_from_bytes
from email.message import Message

import pytest
from case_world import EMAIL, HANDLER, HEAD, NOW, PHONE, WIB, CaseWorld, build_world
from factories import cached_password_hash
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import cases
from app.config import Settings
from app.db import Database
from app.jobs import JobIncomplete, case_deadlines
from app.models import AuditEntry, Case, CaseContact, CaseEvent
from app.scheduler import JobRunner, build_scheduler


@pytest.fixture(autouse=True)
def _cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("app.users.generate_password_hash", cached_password_hash)


@pytest.fixture
def world(app: Flask, session: Session) -> CaseWorld:
    return build_world(app, session)


def outbox(settings: Settings) -> dict[str, Message]:
    folder = settings.instance_dir / "outbox"
    return {path.name: message_from_bytes(path.read_bytes())
            for path in sorted(folder.glob("case-*.eml"))} if folder.exists() else {}


def events(session: Session, kind: str) -> list[CaseEvent]:
    session.expire_all()
    found = list(session.scalars(select(CaseEvent).where(CaseEvent.kind == kind)
                                 .order_by(CaseEvent.id)))
    session.commit()
    return found


def run(app: Flask, at: datetime) -> str:
    db: Database = app.extensions["suara.db"]
    return case_deadlines(db, app.extensions["suara.settings"], now=at)


def at(day: int, hour: int = 8) -> datetime:
    return datetime(2026, 3, day, hour, 0, tzinfo=WIB)


def test_a_new_case_notifies_its_handlers_once(
    app: Flask, session: Session, settings: Settings, world: CaseWorld
) -> None:
    run(app, NOW + timedelta(minutes=15))
    run(app, NOW + timedelta(minutes=30))
    assert len(events(session, "notified")) == 1
    [message] = outbox(settings).values()
    assert message["To"] == HANDLER
    body = message.get_payload()
    assert isinstance(body, str)
    assert world.case.reference in message["Subject"] and f"/admin/cases/{world.case.id}" in body
    for secret in (PHONE, EMAIL, "Antrean lama"):
        assert secret not in body


def test_a_reminder_a_working_day_before_the_deadline_once_per_stage(
    app: Flask, session: Session, settings: Settings, world: CaseWorld
) -> None:
    # Opened Monday 2 March, verification due Thursday 5: Tuesday is too early.
    run(app, at(3))
    assert events(session, "reminded") == []
    run(app, at(4))
    run(app, at(4, 14))
    run(app, at(5))
    assert [e.note for e in events(session, "reminded")] == ["new"]
    case = session.get(Case, world.case.id)
    assert case is not None
    cases.verify(session, case, "", user_id=None, now=at(5, 10), tz=WIB)
    session.commit()
    # Follow-up due 5 working days after Thursday 5: Thursday 12; reminded on Wednesday 11.
    run(app, at(10))
    run(app, at(11))
    run(app, at(11, 16))
    assert [e.note for e in events(session, "reminded")] == ["new", "verified"]
    assert sum("reminder" in name for name in outbox(settings)) == 2


def test_an_overdue_case_escalates_exactly_once_per_stage(
    app: Flask, session: Session, settings: Settings, world: CaseWorld
) -> None:
    # Due Thursday 5 March; past it from Friday 6.
    run(app, at(5, 23))
    assert events(session, "overdue") == []
    run(app, at(6))
    run(app, at(6, 8) + timedelta(minutes=15))  # the job twice
    run(app, at(7))  # and again the next day
    run(app, at(9))
    assert [e.note for e in events(session, "overdue")] == ["new"]
    assert [e.note for e in events(session, "escalated")] == ["new"]
    escalations = [m for name, m in outbox(settings).items() if "-overdue-" in name]
    assert len(escalations) == 1 and escalations[0]["To"] == HEAD
    session.expire_all()
    case = session.get(Case, world.case.id)
    assert case is not None and case.overdue_stage == "new"
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "case.overdue")) == 1
    # Verified late, on Monday 9: the follow-up is due Monday 16, and its own escalation
    # comes once, on Tuesday 17.
    cases.verify(session, case, "", user_id=None, now=at(9, 10), tz=WIB)
    session.commit()
    assert case.follow_up_due_on == at(16).date()
    for day in (16, 17, 17, 18):
        run(app, at(day, 9))
    assert [e.note for e in events(session, "escalated")] == ["new", "verified"]
    assert sum("-overdue-" in name for name in outbox(settings)) == 2


def test_a_notice_the_mail_server_refused_is_sent_on_the_next_run(
    app: Flask, session: Session, settings: Settings, world: CaseWorld
) -> None:
    db: Database = app.extensions["suara.db"]
    unreachable = replace(settings, smtp_host="127.0.0.1", smtp_port=1)
    with pytest.raises(JobIncomplete):
        case_deadlines(db, unreachable, now=at(6))
    assert events(session, "notified") == [] and events(session, "escalated") == []
    assert [e.note for e in events(session, "overdue")] == ["new"]  # marked all the same
    run(app, at(6, 9))
    assert len(events(session, "notified")) == 1 and len(events(session, "escalated")) == 1
    assert len(outbox(settings)) == 2


def test_contacts_are_erased_90_days_after_the_case_closed(
    app: Flask, session: Session, world: CaseWorld
) -> None:
    case = session.get(Case, world.case.id)
    assert case is not None
    cases.verify(session, case, "", user_id=None, now=at(3), tz=WIB)
    cases.follow_up(session, case, "Sudah ditangani.", user_id=None, now=at(4))
    cases.close(session, case, "", user_id=None, now=at(5))
    session.commit()
    run(app, at(5) + timedelta(days=89))
    session.expire_all()
    assert session.get(CaseContact, case.id) is not None
    session.commit()
    run(app, at(5) + timedelta(days=90))
    run(app, at(5) + timedelta(days=91))
    session.expire_all()
    assert session.get(CaseContact, case.id) is None
    assert len(events(session, "contact_erased")) == 1
    entries = list(session.scalars(select(AuditEntry).where(
        AuditEntry.action == "case.contact_erased")))
    assert len(entries) == 1 and PHONE not in (entries[0].after or "")


def test_a_followed_up_case_closes_after_ten_quiet_working_days(
    app: Flask, session: Session, world: CaseWorld
) -> None:
    case = session.get(Case, world.case.id)
    assert case is not None
    cases.verify(session, case, "", user_id=None, now=at(3), tz=WIB)
    cases.follow_up(session, case, "Sudah ditangani.", user_id=None, now=at(11, 10))
    session.commit()

    def state() -> str:
        session.expire_all()
        found = session.get(Case, world.case.id)
        assert found is not None
        value = found.state
        session.commit()
        return value

    # Wednesday 11 March: Thursday 12, Friday 13, Monday 16, Tuesday 17, then joint leave,
    # Nyepi, joint leave, Idul Fitri's weekend and joint leave (18 to 24 March), Wednesday
    # 25 ... the tenth working day is Wednesday 1 April (Thursday 26 without the holidays).
    run(app, at(26, 9))
    run(app, datetime(2026, 4, 1, 23, 50, tzinfo=WIB))
    assert state() == "followed_up"
    run(app, datetime(2026, 4, 2, 0, 5, tzinfo=WIB))
    run(app, datetime(2026, 4, 2, 0, 20, tzinfo=WIB))
    assert state() == "closed"
    closed = events(session, "closed")
    assert len(closed) == 1 and (closed[0].note or "").startswith("closed automatically")
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "case.closed")).one()
    assert entry.actor == "scheduler"
    session.commit()
    # The 90 days of the contact run from that closing.
    closed_at = datetime(2026, 4, 2, 0, 5, tzinfo=WIB)
    run(app, closed_at + timedelta(days=89))
    session.expire_all()
    assert session.get(CaseContact, world.case.id) is not None
    session.commit()
    run(app, closed_at + timedelta(days=90))
    session.expire_all()
    assert session.get(CaseContact, world.case.id) is None
    session.commit()


def test_a_reopened_case_gets_ten_working_days_again(
    app: Flask, session: Session, world: CaseWorld
) -> None:
    case = session.get(Case, world.case.id)
    assert case is not None
    cases.verify(session, case, "", user_id=None, now=at(3), tz=WIB)
    cases.follow_up(session, case, "Sudah ditangani.", user_id=None, now=at(4))
    cases.close(session, case, "", user_id=None, now=at(5))
    cases.reopen(session, case, "Warga belum puas.", user_id=None, now=at(30))
    session.commit()
    run(app, at(31))
    session.expire_all()
    found = session.get(Case, world.case.id)
    assert found is not None and found.state == "followed_up"
    session.commit()


def test_the_digest_and_the_unit_summary_list_overdue_cases(
    app: Flask, session: Session, world: CaseWorld
) -> None:
    from app.summary import weekly_summary

    summary = weekly_summary(session, world.home.unit.id, at(9).date(), officer_min_n=5,
                             cases_as_of=at(9).date())
    [overdue] = summary.cases_overdue
    assert (overdue.reference, overdue.stage, overdue.days_overdue) == (
        world.case.reference, "new", 4)
    assert weekly_summary(session, world.other.unit.id, at(9).date(), officer_min_n=5,
                          cases_as_of=at(9).date()).cases_overdue == ()


def test_the_scheduler_runs_the_job_every_quarter_hour(app: Flask, settings: Settings) -> None:
    runner = JobRunner(app.extensions["suara.db"], settings)
    scheduler = build_scheduler(settings, runner)
    job = scheduler.get_job("case_deadlines")
    assert job is not None and "0:15:00" in str(job.trigger)
