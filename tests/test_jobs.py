"""Scheduled jobs: the weekly digest (sent once per unit and week) and nightly housekeeping."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from factories import make_other_unit, make_unit, make_user, record
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import app.digests as digests
from app import kiosks
from app.config import Settings
from app.db import Database
from app.digests import claim_for_sending, prepare_digest
from app.jobs import (
    JobIncomplete,
    digest_job,
    housekeeping,
    run_aggregation,
    send_weekly_digests,
)
from app.models import DailySalt, Digest, JobRun, KioskPairing, KioskPending, Response, Unit, User
from app.privacy import daily_salt
from app.summary import last_complete_week

WIB = timedelta(hours=7)
WEEK = date(2026, 11, 23)  # Monday
MONDAY_7AM = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)  # 07:00 WIB on the next Monday


def _seed_week(app: Flask, session: Session) -> None:
    dukcapil = make_unit(session)
    make_other_unit(session)  # a unit without a head: its digest has nobody to go to
    make_user(session, "kepala@dukcapil.test", "unit_head", unit=dukcapil.unit)
    make_user(session, "wakil@dukcapil.test", "unit_head", unit=dukcapil.unit)
    for day in range(5):
        at = datetime(2026, 11, 23, 2, tzinfo=UTC) + timedelta(days=day)
        record(app, session, dukcapil.counter, at, scores=(4, 4, 3, 4, 4, 4, 2, 4, 4),
               comment="Petugas loket kurang ramah" if day == 0 else None)
    run_aggregation(app.extensions["suara.db"], now=MONDAY_7AM)


def _outbox_messages(settings: Settings) -> dict[str, Message]:
    outbox = settings.instance_dir / "outbox"
    return {path.name: message_from_bytes(path.read_bytes())
            for path in sorted(outbox.glob("*.eml"))} if outbox.exists() else {}


def _seed_week_and_fail_to_send(app: Flask, session: Session, settings: Settings) -> Database:
    """The seeded week, its digests tried once with the mail server down."""
    _seed_week(app, session)
    db: Database = app.extensions["suara.db"]
    unreachable = replace(settings, smtp_host="127.0.0.1", smtp_port=1)
    failed = send_weekly_digests(db, unreachable, week_start=WEEK, now=MONDAY_7AM)
    assert {o.unit: o.status for o in failed} == {"DUKCAPIL": "failed",
                                                  "PKM-KTB2": "no-recipients"}
    return db


def test_last_complete_week_is_cut_in_local_time() -> None:
    # 06:30 WIB on Monday 30 Nov is still 29 Nov in UTC: the last full week began on 23 Nov.
    assert last_complete_week(datetime(2026, 11, 29, 23, 30, tzinfo=UTC),
                              Settings().tz) == WEEK
    assert last_complete_week(datetime(2026, 11, 29, 16, 0, tzinfo=UTC),
                              Settings().tz) == date(2026, 11, 16)


@pytest.fixture
def email_templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder standing in for app/templates/email/ (the cached environment is rebuilt)."""
    monkeypatch.setattr(digests, "EMAIL_TEMPLATES", tmp_path)
    digests.email_templates.cache_clear()
    yield tmp_path
    digests.email_templates.cache_clear()


def test_the_digest_text_and_subject_come_from_the_email_templates(
    app: Flask, session: Session, settings: Settings, email_templates: Path
) -> None:
    (email_templates / "digest.txt").write_text(
        "{{ s.unit.code }}: IKM {{ s.ikm | number }}, {{ s.n }} tanggapan\n", encoding="utf-8")
    (email_templates / "digest_subject.txt").write_text(
        "SKM {{ unit.code }} {{ week_start.isoformat() }}\n", encoding="utf-8")
    _seed_week(app, session)
    unit = session.scalars(select(Unit).where(Unit.code == "DUKCAPIL")).one()
    digest = prepare_digest(session, unit, WEEK, settings, now=MONDAY_7AM)
    assert digest.subject == f"SKM DUKCAPIL {WEEK.isoformat()}"
    assert digest.body_text.startswith("DUKCAPIL: IKM ") and "tanggapan" in digest.body_text
    session.rollback()


def test_the_weekly_digest_is_written_once_per_unit_and_week(
    app: Flask, session: Session, settings: Settings
) -> None:
    _seed_week(app, session)
    db: Database = app.extensions["suara.db"]

    first = send_weekly_digests(db, settings, week_start=WEEK, now=MONDAY_7AM)
    assert {o.unit: o.status for o in first} == {"DUKCAPIL": "written",
                                                 "PKM-KTB2": "no-recipients"}
    messages = _outbox_messages(settings)
    assert list(messages) == ["DUKCAPIL-2026-11-23.eml"]
    mail = messages["DUKCAPIL-2026-11-23.eml"]
    assert mail["To"] == "kepala@dukcapil.test, wakil@dukcapil.test"
    assert "Ringkasan mingguan SKM" in mail["Subject"] and "23-11-2026" in mail["Subject"]
    body = mail.get_payload(decode=True).decode()
    assert "IKM" in body and "198609262015051001" not in body

    again = send_weekly_digests(db, settings, week_start=WEEK, now=MONDAY_7AM + timedelta(hours=1))
    assert {o.unit: o.status for o in again}["DUKCAPIL"] == "already-sent"
    assert list(_outbox_messages(settings)) == ["DUKCAPIL-2026-11-23.eml"]
    with db.session_scope(write=False) as check:
        digests = list(check.scalars(select(Digest)))
        assert len(digests) == 2
        sent = {d.unit_id: d.sent_at for d in digests}
        assert sorted(v is not None for v in sent.values()) == [False, True]


def test_a_failed_send_is_retried_and_then_sent_once(
    app: Flask, session: Session, settings: Settings
) -> None:
    db = _seed_week_and_fail_to_send(app, session, settings)
    with db.session_scope(write=False) as check:
        assert check.scalar(select(func.count()).select_from(Digest)
                            .where(Digest.sent_at.is_not(None))) == 0

    retried = send_weekly_digests(db, settings, week_start=WEEK,
                                  now=MONDAY_7AM + timedelta(hours=1))
    assert {o.unit: o.status for o in retried}["DUKCAPIL"] == "written"
    assert len(_outbox_messages(settings)) == 1


def test_a_retry_goes_to_the_heads_of_the_moment_not_those_of_the_failed_try(
    app: Flask, session: Session, settings: Settings
) -> None:
    db = _seed_week_and_fail_to_send(app, session, settings)
    with db.session_scope() as change:
        deputy = change.scalars(select(User).where(User.email == "wakil@dukcapil.test")).one()
        deputy.active = False  # left the office between the two tries
        health_centre = change.scalars(select(Unit).where(Unit.code == "PKM-KTB2")).one()
        make_user(change, "kepala@pkm.test", "unit_head", unit=health_centre)  # appointed

    retried = send_weekly_digests(db, settings, week_start=WEEK,
                                  now=MONDAY_7AM + timedelta(hours=1))
    assert {o.unit: o.status for o in retried} == {"DUKCAPIL": "written",
                                                   "PKM-KTB2": "written"}
    messages = _outbox_messages(settings)
    assert messages["DUKCAPIL-2026-11-23.eml"]["To"] == "kepala@dukcapil.test"
    assert messages["PKM-KTB2-2026-11-23.eml"]["To"] == "kepala@pkm.test"
    with db.session_scope(write=False) as check:
        assert set(check.scalars(select(Digest.recipients))) == {"kepala@dukcapil.test",
                                                                 "kepala@pkm.test"}


def test_a_digest_left_claimed_by_a_process_that_died_is_sent_later(
    app: Flask, session: Session, settings: Settings
) -> None:
    # The scheduler was killed while sending (after its claim, before the server had it).
    _seed_week(app, session)
    db: Database = app.extensions["suara.db"]
    with db.session_scope() as claiming:
        unit = claiming.scalars(select(Unit).where(Unit.code == "DUKCAPIL")).one()
        digest = prepare_digest(claiming, unit, WEEK, settings, now=MONDAY_7AM)
        assert claim_for_sending(claiming, digest, now=MONDAY_7AM)
    # Ten minutes later the claim may still be a send in progress: left alone.
    soon = send_weekly_digests(db, settings, week_start=WEEK,
                               now=MONDAY_7AM + timedelta(minutes=10))
    assert {o.unit: o.status for o in soon}["DUKCAPIL"] == "already-sent"
    assert _outbox_messages(settings) == {}
    # An hour later it is a claim nobody will finish: sent, once.
    later = send_weekly_digests(db, settings, week_start=WEEK,
                                now=MONDAY_7AM + timedelta(hours=1))
    again = send_weekly_digests(db, settings, week_start=WEEK,
                                now=MONDAY_7AM + timedelta(hours=2))
    assert {o.unit: o.status for o in later}["DUKCAPIL"] == "written"
    assert {o.unit: o.status for o in again}["DUKCAPIL"] == "already-sent"
    assert list(_outbox_messages(settings)) == ["DUKCAPIL-2026-11-23.eml"]
    with db.session_scope(write=False) as check:
        sent = check.scalars(select(Digest).where(Digest.unit_id == unit.id)).one()
        assert sent.sent_at == MONDAY_7AM + timedelta(hours=1)


class FakeSMTP:
    """A mail server on a local port that can refuse recipients, hang up right after the
    message (before its reply) or answer QUIT with an error; it keeps what it received."""

    def __init__(self, *, refuse_rcpt: bool = False, drop_after_data: bool = False,
                 quit_reply: str = "221 bye") -> None:
        self.refuse_rcpt, self.drop_after_data = refuse_rcpt, drop_after_data
        self.quit_reply = quit_reply
        self.messages: list[bytes] = []
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._server.accept()
            except OSError:
                return  # closed
            with connection, connection.makefile("rb") as lines:
                self._talk(connection, lines)

    def _talk(self, connection: socket.socket, lines: Any) -> None:
        def say(reply: str) -> None:
            connection.sendall(reply.encode() + b"\r\n")
        say("220 fake")
        for raw in lines:
            command = raw.decode().strip().upper()
            if command.startswith(("EHLO", "HELO")):
                say("250 fake")
            elif command.startswith("RCPT"):
                say("550 no such mailbox" if self.refuse_rcpt else "250 ok")
            elif command == "DATA":
                say("354 go ahead")
                body = b"".join(iter(lines.readline, b".\r\n"))
                self.messages.append(body)
                if self.drop_after_data:
                    return  # accepted, but the reply never leaves
                say("250 queued")
            elif command == "QUIT":
                say(self.quit_reply)
                return
            else:  # MAIL, RSET, NOOP
                say("250 ok")

    def close(self) -> None:
        self._server.close()


@pytest.fixture
def smtp_server() -> Iterator[type[FakeSMTP]]:
    started: list[FakeSMTP] = []

    def start(**behaviour: Any) -> FakeSMTP:
        server = FakeSMTP(**behaviour)
        started.append(server)
        return server

    yield start  # type: ignore[misc]
    for server in started:
        server.close()


def _through(settings: Settings, server: FakeSMTP) -> Settings:
    return replace(settings, smtp_host="127.0.0.1", smtp_port=server.port, smtp_starttls=False)


@pytest.mark.parametrize(("behaviour", "status"), [
    ({"quit_reply": "421 closing"}, "sent"),  # accepted; only the goodbye failed
    # Accepted, but the reply was lost: the server may have it. Sending it again every hour
    # would flood the heads; the job's record says it is uncertain instead.
    ({"drop_after_data": True}, "uncertain"),
])
def test_a_digest_the_server_may_have_is_never_sent_again(
    app: Flask, session: Session, settings: Settings, smtp_server: type[FakeSMTP],
    behaviour: dict[str, Any], status: str,
) -> None:
    _seed_week(app, session)
    db: Database = app.extensions["suara.db"]
    server = smtp_server(**behaviour)
    through = _through(settings, server)
    first = send_weekly_digests(db, through, week_start=WEEK, now=MONDAY_7AM)
    again = send_weekly_digests(db, through, week_start=WEEK, now=MONDAY_7AM + timedelta(hours=1))
    assert [o.status for o in first if o.unit == "DUKCAPIL"] == [status]
    assert [o.status for o in again if o.unit == "DUKCAPIL"] == ["already-sent"]
    assert len(server.messages) == 1
    if status == "uncertain":
        with pytest.raises(JobIncomplete, match="uncertain"):
            digest_job(db, through, now=MONDAY_7AM + timedelta(weeks=1))


def test_a_digest_the_server_refused_is_tried_again(
    app: Flask, session: Session, settings: Settings, smtp_server: type[FakeSMTP]
) -> None:
    _seed_week(app, session)
    db: Database = app.extensions["suara.db"]
    refusing = smtp_server(refuse_rcpt=True)
    with pytest.raises(JobIncomplete, match=r"DUKCAPIL \(failed: mail server refused"):
        digest_job(db, _through(settings, refusing), now=MONDAY_7AM)
    assert refusing.messages == []
    willing = smtp_server()
    assert digest_job(db, _through(settings, willing), now=MONDAY_7AM + timedelta(hours=1)) \
        == "no-recipients 1, sent 1"
    assert len(willing.messages) == 1
    assert b"Ringkasan mingguan SKM" in willing.messages[0]


def test_housekeeping_forgets_old_salts_and_hashes_but_keeps_answers(
    app: Flask, session: Session, settings: Settings
) -> None:
    seeded = make_unit(session)
    old = datetime(2026, 10, 1, 3, tzinfo=UTC)
    recent = datetime(2026, 11, 29, 3, tzinfo=UTC)
    for at in (old, recent):
        row = record(app, session, seeded.counter, at)
        row.ip_hash, row.device_hash = "a" * 64, "b" * 64
    daily_salt(session, date(2026, 11, 28))
    daily_salt(session, date(2026, 11, 29))
    ancient = datetime(2026, 8, 1, tzinfo=UTC)  # beyond the 90 days job runs are kept
    for started in (ancient, recent):
        session.add(JobRun(job="aggregate", holder="h", started_at=started,
                           finished_at=started, outcome="ok"))
    # A kiosk: a heartbeat report older than the 30 days answers are taken late (and one
    # recent), a pairing code that expired unused (and one still valid).
    kiosk, _ = kiosks.create_kiosk(session, seeded.unit, kiosks.KioskSettings(name="Tablet"),
                                   now=datetime(2026, 11, 29, 17, 10, tzinfo=UTC))
    for reported in (datetime(2026, 10, 28, tzinfo=UTC), recent):
        session.add(KioskPending(kiosk_id=kiosk.id, client_id=uuid.uuid4(),
                                 reported_at=reported))
    session.add(KioskPairing(kiosk_id=kiosk.id, code_hash="c" * 64, created_at=old,
                             expires_at=old + timedelta(minutes=10)))
    session.commit()

    done = housekeeping(app.extensions["suara.db"], settings,
                        now=datetime(2026, 11, 29, 17, 15, tzinfo=UTC))  # 00:15 WIB, 30 Nov
    assert done == {"salts": 3, "hashes": 1, "job_runs": 1,  # 1 Oct, 28 and 29 Nov
                    "kiosk_pending": 1, "kiosk_pairings": 1}
    session.expire_all()
    assert list(session.scalars(select(KioskPending.reported_at))) == [recent]
    assert len(list(session.scalars(select(KioskPairing)))) == 1  # the valid one
    session.expire_all()
    assert list(session.scalars(select(DailySalt.day))) == []
    rows = {r.created_at: r for r in session.scalars(select(Response))}
    assert (rows[old].ip_hash, rows[old].device_hash) == (None, None)
    assert (rows[recent].ip_hash, rows[recent].device_hash) == ("a" * 64, "b" * 64)
    assert rows[old].u1 == 3  # the answers themselves are kept
    assert list(session.scalars(select(JobRun.started_at))) == [recent]
    session.commit()  # the test session holds SQLite's write lock while its transaction is open
    # Running again changes nothing more.
    assert housekeeping(app.extensions["suara.db"], settings,
                        now=datetime(2026, 11, 29, 17, 16, tzinfo=UTC)) == {
        "salts": 0, "hashes": 0, "job_runs": 0, "kiosk_pending": 0, "kiosk_pairings": 0}
