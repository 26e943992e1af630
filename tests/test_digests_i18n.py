"""The weekly digest e-mail in the service's language (DEFAULT_LOCALE): its messages from the
catalogues, its numbers, dates and counts written the way that language writes them."""

from __future__ import annotations

import email.policy
import shutil
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from factories import (
    SeededUnit,
    add_response,
    add_served,
    aggregate,
    make_unit,
    make_user,
    release,
    skm_survey,
)
from flask import Flask
from flask_babel import force_locale
from i18n_helpers import assert_no_indonesian, indonesian_words
from sqlalchemy.orm import Session

from app.config import PROJECT_ROOT, Settings
from app.db import Database
from app.digests import digest_subject, digest_text
from app.jobs import send_weekly_digests
from app.summary import NOT_A_GRADE, WeeklySummary, weekly_summary
from app.surveys import reference_survey

WEEK = date(2026, 11, 23)  # Monday
NOW = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)  # 07:00 WIB on the next Monday
COMMENT = "Petugas loket kurang ramah"  # a citizen's words: data, never translated
SERVED = 1250  # people served in November: a number with a thousands separator


def _seed(app: Flask, session: Session) -> SeededUnit:
    """A unit with a head, two weeks of responses (one flagged, one commented, waits
    measured) and the number of people it served in the digest's month."""
    seeded = make_unit(session)
    make_user(session, "kepala@dukcapil.test", "unit_head", unit=seeded.unit)
    survey = skm_survey(app)
    for day in range(5):
        add_response(session, survey, seeded.counter, (4, 4, 3, 4, 4, 4, 2, 4, 4),
                     datetime(2026, 11, 23, 2, tzinfo=UTC) + timedelta(days=day),
                     wait_band="15-30", measured=20 + day, comment=COMMENT if day == 0 else None)
    add_response(session, survey, seeded.counter, (4,) * 9, datetime(2026, 11, 24, 3, tzinfo=UTC),
                 bot=True)
    add_response(session, survey, seeded.counter, (3,) * 9, datetime(2026, 11, 17, 2, tzinfo=UTC))
    session.commit()
    add_served(session, seeded.unit.id, date(2026, 11, 1), SERVED, source="migrated")
    session.commit()
    aggregate(app, NOW)
    return seeded


def _summary(session: Session, seeded: SeededUnit) -> WeeklySummary:
    summary = weekly_summary(session, seeded.unit.id, WEEK, officer_min_n=10)
    release(session)  # the job writes through sessions of its own
    return summary


def _sent_digest(app: Flask, settings: Settings) -> str:
    """The digest the job writes to the outbox with these settings: subject, then body."""
    db: Database = app.extensions["suara.db"]
    outcomes = send_weekly_digests(db, settings, week_start=WEEK, now=NOW)
    assert [o.status for o in outcomes] == ["written"]
    mail = message_from_bytes((settings.instance_dir / "outbox" / "DUKCAPIL-2026-11-23.eml")
                              .read_bytes(), policy=email.policy.default)
    assert isinstance(mail, EmailMessage)
    return f"{mail['Subject']}\n{mail.get_content()}"


def _names(seeded: SeededUnit) -> list[str]:
    return [seeded.unit.name, seeded.counter.name, COMMENT]


def test_with_default_locale_en_the_digest_shows_no_indonesian_but_names(
    app: Flask, session: Session, settings: Settings
) -> None:
    seeded = _seed(app, session)
    summary = _summary(session, seeded)
    text = _sent_digest(app, replace(settings, default_locale="en"))
    assert_no_indonesian(text, _names(seeded))
    assert summary.ikm is not None and summary.delta is not None and summary.category
    assert (f"IKM: {summary.ikm} — quality {summary.category.letter} "
            f"({summary.category.label_en}); +{summary.delta} from the previous week.") in text
    assert f"{SERVED:,} served" in text  # 1,250
    assert "Responses: 5 (not counting 1 flagged response)." in text
    assert "Sample adequacy November 2026" in text
    assert "week of 23-11-2026" in text


def test_the_indonesian_digest_is_caught_by_the_same_check_and_writes_a_decimal_comma(
    app: Flask, session: Session, settings: Settings
) -> None:
    seeded = _seed(app, session)
    summary = _summary(session, seeded)
    text = _sent_digest(app, settings)  # DEFAULT_LOCALE is id
    assert indonesian_words(text, _names(seeded))
    assert summary.ikm is not None and summary.delta is not None and summary.category
    ikm, delta = (str(value).replace(".", ",") for value in (summary.ikm, summary.delta))
    assert (f"IKM: {ikm} — mutu {summary.category.letter} ({summary.category.label_id}); "
            f"+{delta} dari minggu sebelumnya.") in text
    assert "dilayani 1.250" in text
    assert "Tanggapan: 5 (di luar 1 yang ditandai)." in text
    assert "Ringkasan mingguan SKM — Disdukcapil Lampung Utara — minggu 23-11-2026" in text


@pytest.mark.parametrize(("locale", "one", "two"), [
    ("en", "(not counting 1 flagged response)", "(not counting 2 flagged responses)"),
    ("id", "(di luar 1 yang ditandai)", "(di luar 2 yang ditandai)"),
])
def test_counts_take_the_plural_form_of_their_language(
    app: Flask, session: Session, locale: str, one: str, two: str
) -> None:
    summary = _summary(session, _seed(app, session))
    assert one in digest_text(replace(summary, flagged=1), locale=locale)
    assert two in digest_text(replace(summary, flagged=2), locale=locale)


def test_numbers_dates_and_survey_texts_follow_the_language(
    app: Flask, session: Session
) -> None:
    summary = _summary(session, _seed(app, session))
    english, indonesian = (digest_text(summary, locale=locale) for locale in ("en", "id"))
    assert summary.measured.within_60 == 1.0
    assert "100% waited ≤ 60 min" in english and "100% menunggu ≤ 60 menit" in indonesian
    u7 = summary.elements[6]
    assert u7.weakest and u7.exact is not None
    name = reference_survey().element_names("en")["U7"]
    assert f"U7 {name}: {float(u7.exact):.2f}  <- weakest" in english
    assert f"{float(u7.exact):.2f}".replace(".", ",") + "  <- terlemah" in indonesian
    assert "Week Nov 23" in english and "Minggu 23–29 Nov 2026" in indonesian


def test_the_closing_line_is_the_dashboards_note_in_each_language(
    app: Flask, session: Session
) -> None:
    summary = _summary(session, _seed(app, session))
    notes = []
    for locale in ("en", "id"):
        with app.app_context(), force_locale(locale):
            notes.append(str(NOT_A_GRADE))
        assert notes[-1] in digest_text(summary, locale=locale)
    assert notes[0] != notes[1]


def test_a_deployment_rewords_the_digest_in_its_own_translations_dir(
    app: Flask, session: Session, settings: Settings, tmp_path: Path
) -> None:
    seeded = _seed(app, session)
    shipped = digest_subject(seeded.unit, WEEK, locale="id")
    own = tmp_path / "translations"
    shutil.copytree(PROJECT_ROOT / "translations", own)
    po_path = own / "id" / "LC_MESSAGES" / "messages.po"
    with po_path.open("rb") as po:
        catalog = read_po(po, locale="id")
    message = catalog.get("SKM weekly summary — %(unit)s — week of %(date)s")
    assert message is not None
    message.string = "Laporan SKM %(unit)s, pekan %(date)s"
    with (own / "id" / "LC_MESSAGES" / "messages.mo").open("wb") as mo:
        write_mo(mo, catalog)
    reworded = digest_subject(seeded.unit, WEEK, locale="id", translations_dir=own)
    assert shipped.startswith("Ringkasan mingguan SKM — ")
    assert reworded == "Laporan SKM Disdukcapil Lampung Utara, pekan 23-11-2026"
