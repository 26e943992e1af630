"""A world for the complaint-case tests: two units, their staff of every role, handlers, and
a case with a contact whose values the privacy tests search every page for."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from factories import (
    SeededUnit,
    make_officer,
    make_other_unit,
    make_unit,
    make_user,
    put_on_duty,
    skm_survey,
)
from flask import Flask
from sqlalchemy.orm import Session

from app.answers import Answers
from app.case_contact import Contact
from app.cases import case_of_response
from app.feedback import Submission, record_response
from app.models import Case, CaseHandler, Officer, User

WIB = ZoneInfo("Asia/Jakarta")
# Monday 2 March 2026, 09.00 WIB: a case opened now is due for verification on Thursday 5.
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=WIB)
PHONE = "+6281298765432"  # stored form of "0812-9876-5432"
PHONE_DIGITS = "81298765432"  # the number however it is written
EMAIL = "warga.rahasia@contoh.id"
COMMENT = "Antrean lama sekali dan petugas tidak menjelaskan."
LOW = (1, 2, 2, 3, 2, 2, 2, 2, 2)  # U1 at 1
GOOD = (4, 4, 4, 4, 4, 4, 4, 4, 4)

ADMIN, HEAD, OTHER_HEAD = "admin@contoh.go.id", "kepala@contoh.go.id", "kepala.pkm@contoh.go.id"
HANDLER, OTHER_HANDLER = "pengaduan@contoh.go.id", "pengaduan.pkm@contoh.go.id"
OFFICER, VIEWER = "petugas@contoh.go.id", "pemantau@contoh.go.id"
OFFICER_NAME = "Ahmad Saputra"


@dataclass
class CaseWorld:
    home: SeededUnit
    other: SeededUnit
    officer: Officer
    users: dict[str, User]
    case: Case


def open_complaint(app: Flask, session: Session, seeded: SeededUnit, at: datetime, *,
                   scores: tuple[int, ...] = LOW, comment: str | None = COMMENT,
                   declared: bool = False, contact: Contact | None = None,
                   service: str | None = None, bot: bool = False) -> Case | None:
    """Store a response as the phone form would (flushes only); its case, if it opened one."""
    survey = skm_survey(app)
    submission = Submission(client_id=uuid.uuid4(), channel="qr", created_at=at,
                            received_at=at + timedelta(seconds=5), complaint=declared,
                            contact=contact, honeypot_filled=bot)
    _, row = record_response(session, survey, seeded.counter,
                             Answers(scores, None, service, comment), submission, WIB)
    session.flush()
    return case_of_response(session, row.id)


def build_world(app: Flask, session: Session, *, at: datetime = NOW) -> CaseWorld:
    """Two units; an administrator, each unit's head, a handler of each unit (an officer
    account), an officer who is no handler, a viewer; one case in the home unit with a phone
    contact, answered while the officer was on duty; everything committed."""
    home = make_unit(session)
    other = make_other_unit(session)
    officer = make_officer(session, home, name=OFFICER_NAME)
    handler_officer = make_officer(session, home, "199203142019031004", "Citra Lestari")
    other_officer = make_officer(session, other, "199305162020012005", "Dimas Pratama")
    put_on_duty(session, officer, home.counter, at)
    users = {
        ADMIN: make_user(session, ADMIN, "admin"),
        HEAD: make_user(session, HEAD, "unit_head", unit=home.unit),
        OTHER_HEAD: make_user(session, OTHER_HEAD, "unit_head", unit=other.unit),
        HANDLER: make_user(session, HANDLER, "officer", unit=home.unit,
                           officer=handler_officer),
        OTHER_HANDLER: make_user(session, OTHER_HANDLER, "officer", unit=other.unit,
                                 officer=other_officer),
        OFFICER: make_user(session, OFFICER, "officer", unit=home.unit, officer=officer),
        VIEWER: make_user(session, VIEWER, "viewer"),
    }
    session.add(CaseHandler(user_id=users[HANDLER].id, unit_id=home.unit.id, created_at=at))
    session.add(CaseHandler(user_id=users[OTHER_HANDLER].id, unit_id=other.unit.id,
                            created_at=at))
    case = open_complaint(app, session, home, at, declared=True,
                          contact=Contact(PHONE, None, "purpose as read"))
    assert case is not None
    session.commit()
    return CaseWorld(home, other, officer, users, case)
