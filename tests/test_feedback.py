"""Recording feedback: the day's salt a web process remembers, and the one-query lookups."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from factories import make_officer, make_other_unit, make_unit, put_on_duty
from flask import Flask
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.db import Database
from app.feedback import TodaysSalt, daily_salt, lookup_token, resolve_token, survey_version_id
from app.models import DailySalt, SurveyVersion
from app.org import issue_token
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
