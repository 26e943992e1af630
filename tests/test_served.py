"""People served in a month: the rule checked and saved in the caller's transaction."""

from __future__ import annotations

from datetime import UTC, date, datetime

from factories import WIB_ZONE, add_response, aggregate, make_unit, release, skm_survey
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import ServedCount
from app.served import ServedInput, record_served_count, served_count

NOVEMBER = date(2026, 11, 1)
NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def test_a_count_is_checked_against_the_months_responses_and_saved_unflushed_to_commit(
    app: Flask, session: Session
) -> None:
    seeded = make_unit(session)
    survey = skm_survey(app)
    for hour in (8, 9, 10):
        add_response(session, survey, seeded.counter, (3,) * 9,
                     datetime(2026, 11, 16, hour, tzinfo=WIB_ZONE))
    session.commit()
    aggregate(app, NOW)
    unit_id = seeded.unit.id
    # The messages are in the application's language (DEFAULT_LOCALE: Bahasa Indonesia).
    with app.app_context():
        entry, errors = record_served_count(session, unit_id, "2026-11", "2", latest=NOVEMBER,
                                            now=NOW)
        assert entry is None
        assert errors == {"served": "Lebih kecil dari jumlah tanggapan warga pada "
                                    "November 2026 (3)."}
        assert served_count(session, unit_id, NOVEMBER) is None
        for month, served, field, words in (("2026-12", "5", "month", "Desember 2026 belum tiba"),
                                            ("2026-11", "0", "served", "paling sedikit 1")):
            entry, errors = record_served_count(session, unit_id, month, served, latest=NOVEMBER,
                                                now=NOW)
            assert entry is None and words in errors[field]
        entry, errors = record_served_count(session, unit_id, "2026-11", "1.250", latest=NOVEMBER,
                                            now=NOW)
        assert (entry, errors) == (ServedInput(NOVEMBER, 1250), {})
        assert served_count(session, unit_id, NOVEMBER) == 1250  # flushed, in this transaction
        session.rollback()  # the caller decides: nothing was committed
        assert served_count(session, unit_id, NOVEMBER) is None
        assert session.scalars(select(ServedCount)).all() == []
    release(session)
