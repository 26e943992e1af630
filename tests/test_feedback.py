"""Recording feedback: the one-query lookups and the survey version on first use."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from factories import WIB_ZONE as WIB
from factories import make_officer, make_other_unit, make_unit, put_on_duty
from flask import Flask
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.db import Database
from app.feedback import (
    lookup_token,
    resolve_token,
    survey_version_id,
)
from app.models import SurveyVersion
from app.org import assign_officer, issue_token
from app.surveys import latest

DAY = date(2026, 1, 5)
AT = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


def test_a_token_lookup_finds_counter_service_officer_and_version_in_one_go(
    app: Flask, session: Session
) -> None:
    home = make_unit(session)
    other = make_other_unit(session)
    officer = make_officer(session, home)
    put_on_duty(session, officer, home.counter, AT)
    survey = latest(app.extensions["suara.surveys"], "skm-2017")

    found = lookup_token(session, home.token, survey, "KK", AT, WIB)
    assert found.counter is not None and found.counter.id == home.counter.id
    assert (found.service_id, found.officer_id) == (home.services[1].id, officer.id)
    assert found.service_codes("KK") == {"KK"}
    # Another unit's service, a forged code or none: no service id, so no valid code.
    for code in ("GIGI", "KK\x00", None, 7):
        found_code = lookup_token(session, home.token, survey, code, AT, WIB)
        assert found_code.service_codes(code) == set()
    assert lookup_token(session, other.token, survey, "KK", AT, WIB).officer_id is None
    assert lookup_token(session, home.token, survey, None, AT + timedelta(hours=3),
                        WIB).officer_id is None
    assert lookup_token(session, "NoSuchTokenAtAllHere", survey, None, AT, WIB).retired is False

    issue_token(session, home.counter)
    session.commit()
    gone = lookup_token(session, home.token, survey, "KK", AT, WIB)
    assert (gone.counter, gone.retired) == (None, True)
    assert resolve_token(session, home.token, AT).retired is True


def test_a_new_survey_version_is_recorded_in_the_callers_transaction(app: Flask) -> None:
    db: Database = app.extensions["suara.db"]
    survey = latest(app.extensions["suara.surveys"], "skm-2017")
    with db.session_scope() as session:
        session.execute(delete(SurveyVersion))

    class Abandon(Exception):
        pass

    with pytest.raises(Abandon), db.session_scope() as session:
        survey_version_id(session, survey)
        raise Abandon  # the version goes with the transaction
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(SurveyVersion)) == 0
    with db.session_scope() as session:
        recorded = survey_version_id(session, survey)
        assert survey_version_id(session, survey) == recorded
    with db.session() as session:
        row = session.get(SurveyVersion, recorded)
        assert row is not None and (row.survey_id, row.version) == (survey.survey_id,
                                                                    survey.version)


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
    at_handover = lookup_token(session, home.token, survey, None, handover, WIB)
    assert at_handover.officer_id == arriving.id
    before = handover - timedelta(microseconds=1)
    assert lookup_token(session, home.token, survey, None, before, WIB).officer_id == leaving.id
