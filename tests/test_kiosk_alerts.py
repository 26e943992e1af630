"""Kiosks that need someone (silent in opening hours, holding an old answer) on the unit
head's summary and in the weekly digest, with the clock injected."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from factories import (
    SeededUnit,
    cached_password_hash,
    make_other_unit,
    make_unit,
    make_user,
    release,
    sign_in,
)
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from app import kiosks
from app.config import Settings
from app.digests import digest_text, prepare_digest
from app.kiosks import KioskSettings, create_kiosk
from app.models import Kiosk, OpeningHours, Unit
from app.summary import weekly_summary

WIB = ZoneInfo("Asia/Jakarta")
NOW = datetime(2026, 3, 18, 10, 0, tzinfo=WIB)  # Wednesday, the unit open since 08:00
WEEK = date(2026, 3, 9)  # the last complete week
HEAD, VIEWER, ADMIN = "kepala@contoh.go.id", "pemantau@contoh.go.id", "admin@contoh.go.id"


@pytest.fixture(autouse=True)
def _cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("app.users.generate_password_hash", cached_password_hash)


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("app.web.dashboard.utcnow", lambda: NOW)


def _kiosk(session: Session, seeded: SeededUnit, name: str, *, seen: datetime,
           placement: str | None = None, queue: int = 0,
           oldest: datetime | None = None) -> Kiosk:
    kiosk, code = create_kiosk(session, seeded.unit, KioskSettings(name=name,
                                                                   placement=placement),
                               now=NOW - timedelta(days=7))
    assert kiosks.pair(session, code, now=NOW - timedelta(days=7)) is not None
    kiosks.record_heartbeat(session, kiosk, kiosks.Heartbeat(
        device_time=seen, queue_length=queue, oldest_unsent_at=oldest), now=seen)
    return kiosk


@dataclass
class World:
    home: SeededUnit
    home_unit: int


@pytest.fixture
def world(session: Session) -> World:
    home, other = make_unit(session), make_other_unit(session)
    for seeded in (home, other):
        session.add_all([OpeningHours(unit_id=seeded.unit.id, weekday=day, opens=time(8),
                                      closes=time(15)) for day in range(5)])
    # Silent since Tuesday 14:00: one open hour on Tuesday and two this morning.
    _kiosk(session, home, "Tablet Sunyi", placement="Lobi",
           seen=datetime(2026, 3, 17, 14, 0, tzinfo=WIB))
    # In touch, but holding four answers, the oldest from 30 hours ago.
    _kiosk(session, home, "Tablet Macet", seen=NOW - timedelta(minutes=5), queue=4,
           oldest=NOW - timedelta(hours=30))
    _kiosk(session, home, "Tablet Sehat", seen=NOW - timedelta(minutes=1), queue=2,
           oldest=NOW - timedelta(minutes=20))
    gone = _kiosk(session, home, "Tablet Dicabut", seen=NOW - timedelta(days=3))
    kiosks.revoke(session, gone, now=NOW - timedelta(days=3))
    _kiosk(session, other, "Tablet Puskesmas Sunyi", seen=NOW - timedelta(days=1))
    session.commit()
    make_user(session, ADMIN, "admin")
    make_user(session, VIEWER, "viewer")
    make_user(session, HEAD, "unit_head", unit=home.unit)
    world = World(home, home.unit.id)
    release(session)
    return world


def signed_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    client.set_cookie("lang", "en")
    assert sign_in(client, email).status_code == 303
    return client


def text(page: TestResponse) -> str:
    """The page's words (tags left out) with white space squeezed."""
    return " ".join(re.sub(r"<[^>]+>", "", page.get_data(as_text=True)).split())


def test_the_unit_heads_summary_lists_the_kiosks_that_need_someone(
    app: Flask, world: World
) -> None:
    page = signed_in(app, HEAD).get("/dashboard/units/DUKCAPIL")
    assert page.status_code == 200
    words = text(page)
    assert "Kiosks needing attention" in words
    assert ("Tablet Sunyi (Lobi): silent since 2026-03-17 14:00, over an hour within "
            "opening hours.") in words
    assert ("Tablet Macet: holding 4 answers unsent since 2026-03-17 04:00 (over 24 "
            "hours).") in words
    for quiet in ("Tablet Sehat", "Tablet Dicabut", "Tablet Puskesmas Sunyi"):
        assert quiet not in words
    body = page.get_data(as_text=True)
    assert 'href="/admin/kiosks?unit=DUKCAPIL"' in body
    # An administrator sees them too; a viewer (no back office) does not.
    assert "Tablet Sunyi" in text(signed_in(app, ADMIN).get("/dashboard/units/DUKCAPIL"))
    assert "Tablet Sunyi" not in text(signed_in(app, VIEWER).get("/dashboard/units/DUKCAPIL"))


def test_no_alert_no_section(app: Flask, session: Session, world: World,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    # Early on Wednesday (before the unit opens) Tablet Sunyi has been silent for one open
    # hour only (Tuesday 14:00-15:00), and Tablet Macet's oldest answer is not a day old.
    early = datetime(2026, 3, 18, 7, 55, tzinfo=WIB)
    monkeypatch.setattr("app.web.dashboard.utcnow", lambda: early)
    stuck = session.scalars(select(Kiosk).where(Kiosk.name == "Tablet Macet")).one()
    stuck.oldest_unsent_at = early - timedelta(hours=23)
    session.commit()
    words = text(signed_in(app, HEAD).get("/dashboard/units/DUKCAPIL"))
    assert "Kiosks needing attention" not in words and "Tablet Sunyi" not in words


def test_the_weekly_digest_lists_them(session: Session, settings: Settings, world: World
                                      ) -> None:
    unit = session.get(Unit, world.home_unit)
    assert unit is not None
    digest = prepare_digest(session, unit, WEEK, settings, now=NOW)
    body = digest.body_text
    # In the service's language (names and times whatever the catalogue says).
    assert "Tablet Sunyi (Lobi)" in body and "17-03-2026 14:00" in body
    assert "Tablet Macet" in body and "17-03-2026 04:00" in body
    for quiet in ("Tablet Sehat", "Tablet Dicabut", "Tablet Puskesmas Sunyi"):
        assert quiet not in body
    session.rollback()


def test_the_digests_kiosk_lines_in_english(session: Session, world: World) -> None:
    summary = weekly_summary(session, world.home_unit, WEEK, officer_min_n=10, tz=WIB)
    needing = kiosks.alerts(session, [world.home_unit], now=NOW, tz=WIB)
    english = digest_text(summary, locale="en", kiosk_alerts=needing, tz=WIB)
    assert ("Kiosks needing attention now:\n"
            "  Tablet Macet: holding 4 answers unsent since 17-03-2026 04:00 (over 24 "
            "hours).\n"
            "  Tablet Sunyi (Lobi): silent since 17-03-2026 14:00, over an hour within "
            "opening hours.\n\n") in english
    assert "Kiosks needing attention" not in digest_text(summary, locale="en")
    release(session)
