"""A world in which every page has something to show, dated from today (the pages default to
the last complete week and the last finished quarter): two units, staff of every role, a
quarter of answers published, a week of answers aggregated, cases, an action, a dialogue, a
kiosk, a roster, people served and a day set apart in the calendar."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from case_world import COMMENT, LOW, PHONE, open_complaint
from factories import (
    add_response,
    add_served,
    aggregate,
    make_officer,
    make_other_unit,
    make_unit,
    make_user,
    skm_survey,
)
from flask import Flask
from report_world import store
from sqlalchemy import select

from app import cases, dialogues, kiosks, publishing, rosters, workdays
from app.accounts import create_account, grant_acting
from app.actions import ActionValues, create_action
from app.api_tokens import create_api_token
from app.case_contact import Contact
from app.db import utcnow
from app.models import ApiToken, CaseHandler
from app.org import assign_officer
from app.periods import first_day, period_name, period_start, previous_period
from app.summary import last_complete_week

ADMIN, HEAD, OTHER_HEAD = "admin@contoh.go.id", "kepala@contoh.go.id", "kepala.pkm@contoh.go.id"
OFFICER, HANDLER, VIEWER = ("petugas@contoh.go.id", "pengaduan@contoh.go.id",
                            "pemantau@contoh.go.id")
# The answers of the week shown by default: varied scores, some words, wait bands.
WEEK_ANSWERS = [((4, 3, 3, 4, 3, 4, 4, 3, 2), "Petugas ramah, antrean agak lama.", "15-30"),
                ((3, 3, 2, 4, 3, 3, 4, 3, 3), None, "5-15"),
                ((4, 4, 4, 4, 4, 4, 4, 4, 4), "Cepat sekali, terima kasih.", "lt5"),
                ((3, 2, 2, 4, 3, 3, 3, 3, 2), "Kursi tunggu kurang.", "30-60"),
                ((3, 3, 3, 3, 3, 3, 3, 3, 3), None, "15-30"),
                ((4, 3, 4, 4, 4, 4, 4, 3, 3), None, "5-15")] * 2
QUARTER_PROFILES = [{"sex": "L", "age_band": "20-29", "education": "SMA", "occupation": "Swasta"},
                    {"sex": "P", "age_band": "30-39", "education": "S1", "occupation": "PNS"},
                    {"sex": "P", "age_band": "40-49", "education": "D3"}]


@dataclass(frozen=True)
class SiteWorld:
    """What fills the pages' addresses: values by parameter name, and the few endpoints
    whose parameter of a common name means something else."""

    params: dict[str, str | int]
    by_endpoint: dict[str, dict[str, str | int]]
    emails: dict[str, str]  # role -> the e-mail of an account of that role


def seed_site(app: Flask) -> SiteWorld:
    """Seed the world through the domain functions and the test factories; committed and
    aggregated, the last finished quarter published."""
    settings = app.extensions["suara.settings"]
    tz, min_n = settings.tz, settings.officer_min_n
    now = utcnow()
    today = now.astimezone(tz).date()
    week = last_complete_week(now, tz)
    quarter = previous_period("quarter", period_start("quarter", today))
    quarter_start = datetime.combine(first_day("quarter", quarter), time(0), tz)
    session = app.extensions["suara.db"].session()
    try:
        home, other = make_unit(session), make_other_unit(session)
        officer = make_officer(session, home)
        head_officer = make_officer(session, home, "197805122003121002", "Hendra Wijaya")
        handler_officer = make_officer(session, home, "199203142019031004", "Citra Lestari")
        duty = assign_officer(session, officer, home.counter, quarter_start.astimezone(UTC),
                              now + timedelta(hours=8))
        users = {
            "admin": make_user(session, ADMIN, "admin"),
            "unit_head": make_user(session, HEAD, "unit_head", unit=home.unit,
                                   officer=head_officer),
            "other_head": make_user(session, OTHER_HEAD, "unit_head", unit=other.unit),
            "officer": make_user(session, OFFICER, "officer", unit=home.unit, officer=officer),
            "handler": make_user(session, HANDLER, "officer", unit=home.unit,
                                 officer=handler_officer),
            "viewer": make_user(session, VIEWER, "viewer"),
        }
        admin_id = users["admin"].id
        handler = CaseHandler(user_id=users["handler"].id, unit_id=home.unit.id, created_at=now)
        session.add(handler)
        grant_acting(session, None, users["other_head"], home.unit, now=now)

        # A finished quarter of answers (published below) and the week shown by default.
        for i in range(12):
            at = quarter_start + timedelta(days=7 * i + i % 5, hours=8 + i % 6)
            store(app, session, home, at, WEEK_ANSWERS[i][0],
                  profile=QUARTER_PROFILES[i % len(QUARTER_PROFILES)],
                  service=home.services[i % 2].code)
        survey = skm_survey(app)
        for i, (scores, comment, band) in enumerate(WEEK_ANSWERS):
            at = datetime.combine(week + timedelta(days=i % 5), time(8 + i % 7), tz)
            add_response(session, survey, home.counter, scores, at, comment=comment,
                         wait_band=band)
        for day in range(5):
            add_served(session, home.unit.id, week + timedelta(days=day), 40 + day,
                       counter_id=home.counter.id)

        # A complaint left new (with a contact) and one taken through to a published summary.
        opened_at = datetime.combine(week + timedelta(days=2), time(10), tz)
        case = open_complaint(app, session, home, opened_at, declared=True,
                              contact=Contact(PHONE, None, "purpose as read"))
        closed = open_complaint(app, session, home, quarter_start + timedelta(days=15, hours=9),
                                scores=LOW, comment=COMMENT)
        assert case is not None and closed is not None
        step = closed.opened_at
        handler_id = users["handler"].id
        cases.assign(session, closed, handler_id, user_id=handler_id, now=step)
        cases.categorise(session, closed, "waiting", user_id=handler_id, now=step)
        cases.verify(session, closed, "", user_id=handler_id, now=step + timedelta(hours=2),
                     tz=tz)
        cases.follow_up(session, closed, "Petugas ditambah pada jam sibuk.",
                        user_id=handler_id, now=step + timedelta(days=2))
        cases.close(session, closed, "", user_id=handler_id, now=step + timedelta(days=3))
        cases.save_summary(session, closed, "Antrean lama; petugas ditambah pada jam sibuk.",
                           user_id=handler_id, now=step + timedelta(days=3))
        cases.set_published(session, closed, True, user_id=handler_id,
                            now=step + timedelta(days=3))

        action = create_action(session, home.unit, ActionValues(
            element="U3", what="Nomor antrean daring", who="Seksi Pelayanan",
            starts_on=week - timedelta(weeks=4), due_on=today + timedelta(weeks=4),
            state="in_progress"), user_id=admin_id, now=now)
        publishing.set_action_published(session, action, True, now=now)
        dialogue = dialogues.record_dialogue(
            session, users["unit_head"], officer, dialogues.DialogueEntry(
                held_on=today, period_kind="week", period_start=week,
                went_well="Ramah kepada warga lanjut usia.",
                to_improve="Menjelaskan persyaratan sejak awal.",
                agreed_actions="Membawa daftar persyaratan di meja loket.",
                follow_up_on=today + timedelta(weeks=4)), today=today, now=now)
        kiosk, _code = kiosks.create_kiosk(session, home.unit, kiosks.KioskSettings(
            name="Tablet pintu keluar", placement="Dekat pintu keluar"), now=now)
        monday = week + timedelta(weeks=2)  # a shift from the week after this one
        shift = rosters.add_shift(session, home.counter, head_officer, 0, time(8), time(12),
                                  monday)
        leave = rosters.add_exception(session, shift, monday + timedelta(weeks=1), "leave",
                                      note="Cuti tahunan")
        extra_day_off = today + timedelta(days=30)
        while not workdays.is_working_day(extra_day_off, {}):  # else nothing would change
            extra_day_off += timedelta(days=1)
        day_off = workdays.set_day(session, extra_day_off, False, "Cuti bersama",
                                   user_id=admin_id, now=now)
        link = create_account(session, None, "baru@contoh.go.id", "viewer", unit=None,
                              officer=None, now=now)
        session.commit()
        aggregate(app, now)
        publishing.publish(session, home.unit, "quarter", quarter, user_id=admin_id, now=now,
                           min_n=min_n, tz=tz)
        create_api_token(session, users["admin"], "uji", now=now)
        session.commit()
        token_id = session.scalars(select(ApiToken.id)).first()
        return SiteWorld(
            params={
                "code": home.unit.code, "unit_id": home.unit.id, "officer_id": officer.id,
                # The other unit's head, acting head (Plt.) of this one.
                "user_id": users["other_head"].id,
                "case_id": case.id, "reference": closed.reference, "action_id": action.id,
                "dialogue_id": dialogue.id, "kiosk_id": kiosk.id,
                "counter_id": home.counter.id, "service_id": home.services[0].id,
                "duty_id": duty.id, "shift_id": shift.id, "exception_id": leave.id,
                "handler_id": handler.id, "day": day_off.day.isoformat(),
                "period": period_name("quarter", quarter),
                "period_name": period_name("quarter", quarter),
                "token": home.token, "checkin_token": home.counter.checkin_token,
                "token_id": token_id or 0,
            },
            by_endpoint={"public.arrival": {"token": home.unit.arrival_token},
                         "account.set_password": {"token": link.token}},
            emails={role: user.email for role, user in users.items()})
    finally:
        session.close()
