"""Recording feedback: the day's salt a web process remembers, and the one-query lookups."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from factories import make_officer, make_other_unit, make_unit, put_on_duty
from flask import Flask
from psycopg.pq import TransactionStatus
from sqlalchemy import Connection, delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import Database
from app.feedback import (
    _INSERT_RESPONSE,
    TodaysSalt,
    daily_salt,
    lookup_token,
    resolve_token,
    survey_version_id,
)
from app.models import DailySalt, Response, SurveyVersion
from app.org import assign_officer, issue_token
from app.surveys import latest

DAY = date(2026, 1, 5)
AT = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


def test_a_salt_is_remembered_only_once_it_is_committed(app: Flask) -> None:
    db: Database = app.extensions["suara.db"]
    salts = TodaysSalt()
    with db.session() as first:
        uncommitted = salts.get(first, DAY)  # created by this transaction, then rolled back
        first.rollback()
    with db.session_scope() as other:
        committed = daily_salt(other, DAY)
    assert committed != uncommitted
    with db.session() as session:
        assert salts.get(session, DAY) == committed
        session.rollback()


def test_the_remembered_salt_is_today_s_and_a_new_day_replaces_it(app: Flask) -> None:
    db: Database = app.extensions["suara.db"]
    salts = TodaysSalt()
    with db.session_scope() as session:
        today = daily_salt(session, DAY)
    with db.session() as session:
        assert salts.get(session, DAY) == today
        session.rollback()
    with db.session_scope() as session:  # remembered: no longer read from the database
        session.execute(delete(DailySalt))
    with db.session() as session:
        assert salts.get(session, DAY) == today
        session.rollback()
    with db.session_scope() as session:
        tomorrow = daily_salt(session, DAY + timedelta(days=1))
    with db.session() as session:
        assert salts.get(session, DAY + timedelta(days=1)) == tomorrow != today
        # An older day never displaces the newer one in memory.
        yesterday = salts.get(session, DAY - timedelta(days=1))
        session.commit()
    with db.session() as session:
        assert salts.get(session, DAY + timedelta(days=1)) == tomorrow
        assert salts.get(session, DAY - timedelta(days=1)) == yesterday
        session.rollback()


def test_a_token_lookup_finds_counter_service_officer_and_version_in_one_go(
    app: Flask, session: Session
) -> None:
    home = make_unit(session)
    other = make_other_unit(session)
    officer = make_officer(session, home)
    put_on_duty(session, officer, home.counter, AT)
    survey = latest(app.extensions["suara.surveys"], "skm-2017")

    found = lookup_token(session, home.token, survey, "KK", AT)
    assert found.counter is not None and found.counter.id == home.counter.id
    assert (found.service_id, found.officer_id) == (home.services[1].id, officer.id)
    assert found.service_codes("KK") == {"KK"}
    # Another unit's service, a forged code or none: no service id, so no valid code.
    for code in ("GIGI", "KK\x00", None, 7):
        assert lookup_token(session, home.token, survey, code, AT).service_codes(code) == set()
    assert lookup_token(session, other.token, survey, "KK", AT).officer_id is None
    assert lookup_token(session, home.token, survey, None, AT + timedelta(hours=3)
                        ).officer_id is None
    assert lookup_token(session, "NoSuchTokenAtAllHere", survey, None, AT).retired is False

    issue_token(session, home.counter)
    session.commit()
    gone = lookup_token(session, home.token, survey, "KK", AT)
    assert (gone.counter, gone.retired) == (None, True)
    assert resolve_token(session, home.token, AT).retired is True


def test_a_plain_write_connection_records_a_new_survey_version_in_its_own_transaction(
    app: Flask,
) -> None:
    db: Database = app.extensions["suara.db"]
    survey = latest(app.extensions["suara.surveys"], "skm-2017")
    with db.session_scope() as session:
        session.execute(delete(SurveyVersion))

    class Abandon(Exception):
        pass

    with pytest.raises(Abandon), db.writing() as connection:
        survey_version_id(connection, survey)
        raise Abandon  # the version goes with the transaction
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(SurveyVersion)) == 0
    with db.writing() as connection:
        recorded = survey_version_id(connection, survey)
        assert survey_version_id(connection, survey) == recorded
    with db.session() as session:
        row = session.get(SurveyVersion, recorded)
        assert row is not None and (row.survey_id, row.version) == (survey.survey_id,
                                                                    survey.version)


def test_the_driver_insert_stores_exactly_what_sqlalchemy_stores(app: Flask) -> None:
    """The submission insert runs on the driver's cursor; its row, as the driver reads it
    back, is the one a plain SQLAlchemy insert of the same values stores."""
    db: Database = app.extensions["suara.db"]
    with db.session_scope() as session:
        home = make_unit(session)
        officer = make_officer(session, home)
        put_on_duty(session, officer, home.counter, AT)
        survey_version = survey_version_id(session, latest(app.extensions["suara.surveys"],
                                                           "skm-2017"))
    base = {
        "payload_hash": "ab" * 32, "survey_version_id": survey_version,
        "unit_id": home.unit.id, "counter_id": home.counter.id,
        "service_id": home.services[0].id, "officer_id": officer.id, "channel": "kiosk",
        "created_at": datetime(2026, 1, 5, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=7))),
        "received_at": datetime(2026, 1, 5, 3, 0, 1, tzinfo=UTC),
        "local_day": date(2026, 1, 5), "local_week": date(2026, 1, 5),
        "local_month": date(2026, 1, 1), "local_hour": 9, "wait_band": "15-30",
        "measured_wait_min": 17, "comment": "Pelayanan ramah 'sekali' — 👍", "flag_repeat": True,
        "flag_bot": False, "ip_hash": "cd" * 32, "device_hash": None,
        **{f"u{i}": 1 + i % 4 for i in range(1, 10)},
        "sex": "P", "age_band": "30-39", "education": None, "occupation": None,
    }
    by_driver, by_sqlalchemy = uuid.uuid4(), uuid.uuid4()
    with db.writing() as connection:
        (stored,) = _INSERT_RESPONSE.rows(connection, {**base, "client_id": by_driver})
        assert _INSERT_RESPONSE.rows(connection, {**base, "client_id": by_driver}) == []
        connection.execute(insert(Response), {**base, "client_id": by_sqlalchemy})
    with db.reading() as connection:
        raw = connection.exec_driver_sql(
            "SELECT * FROM responses ORDER BY id").mappings().all()
    assert [row["id"] for row in raw][0] == stored[0]
    driver_row, sqlalchemy_row = ({k: v for k, v in row.items() if k not in ("id", "client_id")}
                                  for row in raw)
    assert driver_row == sqlalchemy_row
    assert [str(row["client_id"]).replace("-", "") for row in raw] == [by_driver.hex,
                                                                         by_sqlalchemy.hex]


def test_at_a_handover_instant_the_lookup_finds_the_officer_who_starts(
    app: Flask, session: Session
) -> None:
    """Shifts are half-open: at the exact instant of a handover (whole seconds, as a shift
    planner writes them) the next officer is on duty, not the one who just left."""
    home = make_unit(session)
    leaving = make_officer(session, home)
    arriving = make_officer(session, home, "199001152016032002", "Rina Pengganti")
    handover = datetime(2026, 1, 5, 5, 0, tzinfo=UTC)
    assign_officer(session, leaving, home.counter, handover - timedelta(hours=4), handover)
    assign_officer(session, arriving, home.counter, handover, handover + timedelta(hours=4))
    session.commit()
    survey = latest(app.extensions["suara.surveys"], "skm-2017")
    assert lookup_token(session, home.token, survey, None, handover).officer_id == arriving.id
    before = handover - timedelta(microseconds=1)
    assert lookup_token(session, home.token, survey, None, before).officer_id == leaving.id


def _base_values(app: Flask, session: Session) -> dict[str, object]:
    home = make_unit(session)
    version = survey_version_id(session, latest(app.extensions["suara.surveys"], "skm-2017"))
    session.commit()
    return {
        "client_id": uuid.uuid4(), "payload_hash": "ab" * 32, "survey_version_id": version,
        "unit_id": home.unit.id, "counter_id": home.counter.id, "service_id": None,
        "officer_id": None, "channel": "api", "created_at": AT, "received_at": AT,
        "local_day": DAY, "local_week": DAY, "local_month": date(2026, 1, 1), "local_hour": 9,
        "wait_band": None, "measured_wait_min": None, "comment": None, "flag_repeat": False,
        "flag_bot": False, "ip_hash": None, "device_hash": None,
        **{f"u{i}": 3 for i in range(1, 10)},
        "sex": None, "age_band": None, "education": None, "occupation": None,
    }


def test_a_driver_statement_is_part_of_the_callers_transaction(
    app: Flask, session: Session
) -> None:
    db: Database = app.extensions["suara.db"]
    values = _base_values(app, session)
    with db.engine.connect() as connection:  # no transaction begun yet
        assert _INSERT_RESPONSE.rows(connection, values)
        connection.rollback()
    with db.reading() as connection:
        assert connection.scalar(select(func.count()).select_from(Response)) == 0
    with db.engine.connect() as connection:
        assert _INSERT_RESPONSE.rows(connection, values)
        connection.commit()
    with db.reading() as connection:
        assert connection.scalar(select(func.count()).select_from(Response)) == 1


def test_a_driver_statement_raises_sqlalchemy_errors(app: Flask, session: Session) -> None:
    db: Database = app.extensions["suara.db"]
    values = {**_base_values(app, session), "u1": 7}  # outside 1-4: the CHECK refuses it
    with pytest.raises(IntegrityError), db.writing() as connection:
        _INSERT_RESPONSE.rows(connection, values)
    with db.reading() as connection:
        assert connection.scalar(select(func.count()).select_from(Response)) == 0


def test_a_driver_lookup_sees_the_sessions_pending_changes(
    app: Flask, session: Session
) -> None:
    home = make_unit(session)
    survey = latest(app.extensions["suara.surveys"], "skm-2017")
    assert lookup_token(session, home.token, survey, None, AT).counter is not None
    home.counter.active = False  # not flushed: the lookup flushes, as execute() would
    assert lookup_token(session, home.token, survey, None, AT).retired is True
    session.rollback()


def _driver_in_transaction(connection: Connection) -> bool:
    driver = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        return bool(driver.info.transaction_status != TransactionStatus.IDLE)  # type: ignore[union-attr]
    return bool(driver.in_transaction)  # type: ignore[union-attr]


def test_writing_refuses_an_autocommit_connection(app: Flask) -> None:
    db: Database = app.extensions["suara.db"]
    with db.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT")
        with pytest.raises(ValueError, match="transactional"), db.writing(connection):
            pass


def test_autocommit_reads_open_no_transaction_on_postgresql_and_leave_none_behind(
    app: Flask, session: Session
) -> None:
    home = make_unit(session)
    session.commit()
    db: Database = app.extensions["suara.db"]
    survey = latest(app.extensions["suara.surveys"], "skm-2017")
    postgresql = db.engine.dialect.name == "postgresql"
    with db.reading(autocommit=True) as connection:
        first = connection.connection.driver_connection
        assert lookup_token(connection, home.token, survey, None, AT).counter is not None
        # PostgreSQL: the read was its own transaction, already over (no BEGIN, no ROLLBACK).
        assert _driver_in_transaction(connection) is not postgresql
    with db.reading() as connection:  # the same pooled connection, transactional again
        assert connection.connection.driver_connection is first
        assert lookup_token(connection, home.token, survey, None, AT).counter is not None
        assert _driver_in_transaction(connection)
