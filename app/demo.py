"""A believable demo Kotabumi: Disdukcapil, three Puskesmas, officers, a roster and staff logins."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app import publishing
from app.actions import ActionValues, create_action
from app.aggregation import STATE_NAME as AGGREGATION_STATE
from app.aggregation import apply_indicators, compute_indicators
from app.answers import Answers
from app.config import PROJECT_ROOT
from app.demo_cases import HANDLER_NAMES, grant_demo_handlers, handler_email, seed_cases
from app.feedback import Submission, record_response
from app.kiosks import KioskSettings, create_kiosk
from app.models import AggregationState, Counter, Officer, Response, Unit, User
from app.org import (
    assign_officer,
    counters_with_urls,
    create_officer,
    officer_on_duty,
    units_with_arrival_urls,
)
from app.orgfile import apply_text
from app.periods import period_start, previous_period
from app.survey_versions import sync_survey_versions
from app.surveys import Survey
from app.users import create_user

DUKCAPIL = "DUKCAPIL"
# Shared demo passwords, printed by `flask --app app demo`; the demo refuses to run in production.
DEMO_PASSWORDS = {"admin": "demo-admin-kotabumi", "unit_head": "demo-kepala-kotabumi",
                  "officer": "demo-petugas-kotabumi", "viewer": "demo-pemantau-kotabumi"}

# The demo's units, services and counters: an organisation file, applied like any other.
DEMO_ORG_FILE = PROJECT_ROOT / "org" / "kotabumi.toml"
DUKCAPIL_LOKETS = ("L1", "L2", "L3", "L4", "L5", "L6")  # rostered, rotating weekly
# Polis staffed on the weekday roster in each Puskesmas (the others have no fixed officer).
PUSKESMAS_STAFFED = ("DAFTAR", "UMUM", "GIGI", "KIA-KB", "APOTEK")

GIVEN_NAMES = [
    ("Ahmad", "1"), ("Siti", "2"), ("Budi", "1"), ("Dewi", "2"), ("Rahmat", "1"),
    ("Nurhayati", "2"), ("Agus", "1"), ("Sri", "2"), ("Hendra", "1"), ("Yuliana", "2"),
    ("Fajar", "1"), ("Rina", "2"), ("Dedi", "1"), ("Wulan", "2"), ("Irfan", "1"),
    ("Maya", "2"), ("Joko", "1"), ("Lestari", "2"), ("Taufik", "1"), ("Ratna", "2"),
    ("Eko", "1"), ("Indah", "2"), ("Rudi", "1"), ("Fitri", "2"), ("Yusuf", "1"),
]
FAMILY_NAMES = ["Saputra", "Lestari", "Pratama", "Handayani", "Hidayat", "Susanti",
                "Kurniawan", "Wati", "Gunawan", "Anggraini", "Setiawan", "Permata"]

SHIFT_START = time(7, 30)
SHIFT_END = time(15, 30)


@dataclass(frozen=True)
class DemoLogin:
    """A demo staff account to print for the newcomer."""

    email: str
    password: str
    role: str
    unit: str | None


class DemoRefused(Exception):
    """The demo may not run here; the message says why."""


@dataclass(frozen=True)
class DemoReport:
    """What a demo run did, and where to look: printed once the transaction has committed."""

    seeded: bool
    responses: int | None  # demo responses created now; None when none were asked or due
    weeks: int
    arrival_urls: tuple[dict[str, str], ...]
    counter_urls: tuple[dict[str, object], ...]
    logins: tuple[DemoLogin, ...]
    published: tuple[str, ...] = ()  # units whose last complete quarter was published now
    public_url: str = ""


def run_demo(
    session: Session,
    surveys: Iterable[Survey],
    survey: Survey,
    *,
    app_env: str,
    today: date,
    tz: ZoneInfo,
    public_base_url: str,
    weeks: int = 0,
    seed: int = 2017,
    now: datetime | None = None,
    min_n: int = 10,
) -> DemoReport:
    """Seed the demo Kotabumi unless an organisation exists, and ``weeks`` of responses when
    there are none yet, then publish what they allow (``publish_demo``). Refused in
    production (``demo --reset`` recreates the database first).

    ``surveys`` are recorded as published versions first; ``survey`` is the one answered.
    ``now`` (default: the start of ``today``) is when the demo's figures are published;
    ``min_n`` the least responses a published period has (``OFFICER_MIN_N``).
    """
    refuse_production(app_env)
    sync_survey_versions(session, surveys)
    seeded = not demo_present(session)
    if seeded:
        seed_demo(session, today=today, tz=tz, weeks_back=max(weeks, 8), seed=seed)
    responses, published = None, []
    if weeks and session.scalar(select(Response.id).limit(1)) is None:
        responses = seed_history(session, survey, today=today, tz=tz, weeks=weeks, seed=seed)
        seed_cases(session, today=today, tz=tz)
        published = publish_demo(session, now=now or datetime.combine(today, time(0), tz),
                                 tz=tz, min_n=min_n)
        # The history was received in the past, behind any watermark a scheduler holds: its
        # next aggregation run must be a full rebuild to see it (the demo's own pass above
        # only served the publication).
        session.execute(delete(AggregationState).where(
            AggregationState.name == AGGREGATION_STATE))
        session.flush()
    return DemoReport(
        seeded, responses, weeks,
        tuple(units_with_arrival_urls(session, public_base_url)),
        tuple(counters_with_urls(session, public_base_url)),
        tuple(demo_logins(session)), tuple(published), public_base_url.rstrip("/") + "/")


def report_lines(report: DemoReport) -> list[str]:
    """What the demo command prints: what it did, the posters' URLs and the demo logins."""
    lines = ["Seeded the demo Kotabumi." if report.seeded else
             "The database already holds an organisation; nothing seeded "
             "(use --reset to start over)."]
    if report.responses is not None:
        lines.append(f"Created {report.responses} demo responses over {report.weeks} weeks.")
    if report.published:
        lines.append(f"Published the last complete quarter of {', '.join(report.published)} "
                     f"and two improvement actions on the public page: {report.public_url}")
    lines += ["", "Arrival poster URLs (scanned on arrival, to measure the wait):"]
    lines += [f"  {row['unit']:<9} {row['arrival_url']}" for row in report.arrival_urls]
    lines += ["", "Counter survey URLs (QR codes point here):"]
    lines += [f"  {row['unit']!s:<9} {row['name']!s:<18} {row['url']}"
              for row in report.counter_urls]
    lines += ["", "Kiosk tablets: open /kiosk on the tablet and enter the pairing code that "
              "/admin/kiosks shows (Kiosks, a kiosk, then New pairing code)."]
    if report.logins:
        lines += ["", "Demo staff logins (demo passwords, never for production):"]
        lines += [f"  {login.role:<10} {login.email:<38} {login.password}"
                  + (f" ({login.unit})" if login.unit else "") for login in report.logins]
    return lines


def demo_present(session: Session) -> bool:
    """True when the demo world (or any organisation) is already in the database."""
    return session.scalar(select(Unit.id).limit(1)) is not None


def refuse_production(app_env: str) -> None:
    """DemoRefused in production: the demo world (and its reset) is never for real data."""
    if app_env == "production":
        raise DemoRefused("the demo world is not for production (APP_ENV=production)")


def _nip(rng: random.Random, sex: str, seq: int) -> str:
    birth = date(1968, 1, 1) + timedelta(days=rng.randrange(0, 365 * 27))
    start_year = min(birth.year + rng.randint(22, 30), 2024)
    return f"{birth:%Y%m%d}{start_year}{rng.randint(1, 12):02d}{sex}{seq:03d}"


def seed_demo(
    session: Session,
    *,
    today: date,
    tz: ZoneInfo,
    weeks_back: int = 8,
    weeks_ahead: int = 4,
    seed: int = 2017,
) -> list[DemoLogin]:
    """Create the demo Kotabumi and a weekday roster around ``today``; return the logins.

    Deterministic for a given seed and day. The caller checks ``demo_present`` first.
    """
    rng = random.Random(seed)  # noqa: S311 (fictional demo data must be reproducible)
    names = iter(rng.sample(GIVEN_NAMES, len(GIVEN_NAMES)))
    sequence = iter(range(1, 1000))

    def new_officer(unit: Unit, position: str, given_name: tuple[str, str] | None = None
                    ) -> Officer:
        given, sex = given_name or next(names)
        full = f"{given} {rng.choice(FAMILY_NAMES)}"
        return create_officer(session, _nip(rng, sex, next(sequence)), full, unit, position)

    apply_text(session, DEMO_ORG_FILE.read_text(encoding="utf-8"), DEMO_ORG_FILE.name)
    units = {unit.code: unit for unit in session.scalars(select(Unit))}
    dukcapil = units[DUKCAPIL]
    counters = {(c.unit.code, c.code): c for c in session.scalars(select(Counter))}
    lokets = [counters[DUKCAPIL, code] for code in DUKCAPIL_LOKETS]
    heads = {DUKCAPIL: new_officer(dukcapil, "Kepala Dinas")}
    front = [new_officer(dukcapil, "Petugas Pelayanan") for _ in range(6)]
    roster: list[tuple[list[Officer], list[Counter], bool]] = [(front, lokets, True)]

    for unit in sorted((u for u in units.values() if u.kind == "puskesmas"),
                       key=lambda u: u.code):
        heads[unit.code] = new_officer(unit, "Kepala Puskesmas")
        staff = [new_officer(unit, position) for position in
                 ("Petugas Pendaftaran", "Dokter Umum", "Dokter Gigi", "Bidan", "Apoteker")]
        roster.append((staff, [counters[unit.code, c] for c in PUSKESMAS_STAFFED], False))

    _build_roster(session, roster, today=today, tz=tz,
                  weeks_back=weeks_back, weeks_ahead=weeks_ahead)
    # A tablet kiosk in each Puskesmas' waiting room, to be paired from the back office.
    for unit in sorted((u for u in units.values() if u.kind == "puskesmas"),
                       key=lambda u: u.code):
        create_kiosk(session, unit, KioskSettings(
            name="Tablet ruang tunggu", placement="Dekat pintu keluar"),
            now=datetime.combine(today, time(7), tz))
    # A complaint handler (pengelola pengaduan) in each unit, with an account of its own.
    handlers = {code: new_officer(units[code], "Pengelola Pengaduan", given)
                for code, given in zip(heads, HANDLER_NAMES, strict=False)}
    logins = _create_logins(session, dukcapil, heads, front[2], handlers)
    grant_demo_handlers(session, now=datetime.combine(today, time(7), tz))
    return logins


def _build_roster(
    session: Session,
    roster: list[tuple[list[Officer], list[Counter], bool]],
    *,
    today: date,
    tz: ZoneInfo,
    weeks_back: int,
    weeks_ahead: int,
) -> None:
    """Weekday shifts 07.30–15.30 local; Disdukcapil's front office rotates lokets weekly."""
    monday = today - timedelta(days=today.weekday())
    first = monday - timedelta(weeks=weeks_back)
    for day_index in range((weeks_back + weeks_ahead + 1) * 7):
        day = first + timedelta(days=day_index)
        if day.weekday() >= 5:
            continue
        week = (day - first).days // 7
        starts = datetime.combine(day, SHIFT_START, tz)
        ends = datetime.combine(day, SHIFT_END, tz)
        for officers, counters, rotates in roster:
            for i, counter in enumerate(counters):
                officer = officers[(i + week) % len(officers)] if rotates else officers[i]
                assign_officer(session, officer, counter, starts, ends)


def _create_logins(
    session: Session, dukcapil: Unit, heads: dict[str, Officer], petugas: Officer,
    handlers: dict[str, Officer],
) -> list[DemoLogin]:
    logins = [DemoLogin("admin@lampungutara.demo", DEMO_PASSWORDS["admin"], "admin", None)]
    for unit_code in heads:
        local = "kepala." + unit_code.lower().replace("pkm-", "pkm.")
        logins.append(DemoLogin(f"{local}@lampungutara.demo", DEMO_PASSWORDS["unit_head"],
                                "unit_head", unit_code))
    logins.append(DemoLogin("petugas@lampungutara.demo", DEMO_PASSWORDS["officer"],
                            "officer", dukcapil.code))
    logins.append(DemoLogin("pemantau@lampungutara.demo", DEMO_PASSWORDS["viewer"],
                            "viewer", None))
    logins += [DemoLogin(handler_email(code), DEMO_PASSWORDS["officer"], "officer", code)
               for code in handlers]
    units = {u.code: u for u in session.scalars(select(Unit))}
    for login in logins:
        officer = (handlers[login.unit] if login.unit and login.email == handler_email(login.unit)
                   else petugas) if login.role == "officer" else (
            heads[login.unit] if login.unit else None)
        create_user(session, login.email, login.password, login.role,
                    unit=units[login.unit] if login.unit else None, officer=officer)
    return logins


def demo_logins(session: Session) -> list[DemoLogin]:
    """The demo logins that exist in the database (to print them again on a later run)."""
    users = session.scalars(
        select(User).where(User.email.like("%@lampungutara.demo")).order_by(User.id)
    )
    return [DemoLogin(u.email, DEMO_PASSWORDS[u.role], u.role, u.unit.code if u.unit else None)
            for u in users if u.role in DEMO_PASSWORDS]


# The story the dashboards tell: Loket 3 is slow on Monday mornings, one Disdukcapil officer
# gets low courtesy (U7) scores, and Puskesmas Kotabumi Udik improves week by week.
SLOW_COUNTER = (DUKCAPIL, "L3")
IMPROVING_UNIT = "PKM-KTBU"
# The share of answers to a free service that report a fee (U4 not "Gratis").
FEE_REPORTED = 0.01
COMMENTS_LOW = [
    "Antrean sangat lama, tidak ada informasi kapan dipanggil.",
    "Petugas kurang ramah, saya dibentak waktu bertanya.",
    "Persyaratan berubah-ubah, saya harus bolak-balik.",
    "Ruang tunggu panas dan kursinya kurang.",
    "Tidak jelas ke mana harus mengadu.",
]
COMMENTS_HIGH = [
    "Pelayanan cepat dan petugasnya ramah. Terima kasih!",
    "Prosesnya mudah, selesai hari ini juga.",
    "Tempatnya bersih dan nyaman.",
    "Petugas menjelaskan dengan sabar.",
]


def seed_history(
    session: Session,
    survey: Survey,
    *,
    today: date,
    tz: ZoneInfo,
    weeks: int,
    seed: int = 2017,
) -> int:
    """Create ``weeks`` weeks of weekday responses before ``today``; return how many.

    Responses go through ``record_response``, the function the web form and the API use, so
    the officer on duty, the flags and the constraints are exactly what real traffic gets.
    Deterministic for a given seed, day and organisation.
    """
    rng = random.Random(seed)  # noqa: S311 (fictional demo data must be reproducible)
    counters = list(session.scalars(select(Counter).join(Unit).order_by(Unit.code, Counter.code)))
    rude = session.scalars(
        select(Officer).join(Unit).where(Unit.code == DUKCAPIL,
                                         Officer.position == "Petugas Pelayanan")
        .order_by(Officer.id).offset(1).limit(1)
    ).one_or_none()
    services = {c.id: [s.code for s in c.unit.services] for c in counters}
    # Free services (fee 0) are answered "Gratis" on U4 nearly always; a rare citizen says
    # they paid (the illegal-fee signal). Without a service, a unit whose services are all
    # free is free.
    fees = {(c.id, s.code): s.fee for c in counters for s in c.unit.services}
    all_free = {c.id: all(s.fee == 0 for s in c.unit.services) for c in counters}
    defaults = {c.id: c.default_service.code if c.default_service else None for c in counters}
    # The last of the ``weeks`` is the current week once it has a weekday before today (from
    # Tuesday on); on a Monday it is the week just ended, so that every week has responses.
    this_monday = today - timedelta(days=today.weekday())
    last = this_monday if today.weekday() > 0 else this_monday - timedelta(weeks=1)
    first = last - timedelta(weeks=weeks - 1)
    created = 0
    for day_index in range(weeks * 7):
        day = first + timedelta(days=day_index)
        if day.weekday() >= 5 or day >= today:
            continue
        week = day_index // 7
        for counter in counters:
            for _ in range(_daily_volume(rng, counter)):
                at = datetime.combine(day, time(8), tz) + timedelta(minutes=rng.randrange(420))
                service = defaults[counter.id] if rng.random() < 0.7 else None
                if service is None and services[counter.id] and rng.random() < 0.6:
                    service = rng.choice(services[counter.id])
                free = (fees[(counter.id, service)] == 0 if service is not None
                        else all_free[counter.id])
                created += _one_response(session, survey, rng, counter, service,
                                         at, week, weeks, rude, tz, free=free)
    return created


# What the demo's units did about it, shown on the public page ("Anda berkata, kami lakukan").
DEMO_ACTIONS = (
    (DUKCAPIL, "U3", "L3", "Satu petugas tambahan di Loket 3 pada Senin pagi, dan papan nomor "
     "antrean yang terlihat dari ruang tunggu.", "Kepala Bidang Pelayanan", "in_progress"),
    (IMPROVING_UNIT, "U7", None, "Pelatihan pelayanan prima untuk seluruh petugas pendaftaran "
     "dan poli.", "Kepala Puskesmas", "done"),
)


def publish_demo(session: Session, *, now: datetime, tz: ZoneInfo, min_n: int) -> list[str]:
    """Compute the indicators of the demo history, publish the last complete quarter of
    each unit that has ``min_n`` responses in it, and record and publish the demo's
    improvement actions; the units whose quarter was published, by code."""
    apply_indicators(session, compute_indicators(session, now=now, full=True), now=now)
    today = now.astimezone(tz).date()
    quarter = previous_period("quarter", period_start("quarter", today))
    published = []
    for unit in session.scalars(select(Unit).order_by(Unit.code)):
        try:
            publishing.publish(session, unit, "quarter", quarter, user_id=None, now=now,
                               min_n=min_n, tz=tz)
        except publishing.PublishError:
            continue  # too few responses: left unpublished, as a head would have to
        published.append(unit.code)
    units = {unit.code: unit for unit in session.scalars(select(Unit))}
    started = period_start("week", today) - timedelta(weeks=3)
    for code, element, counter_code, what, who, state in DEMO_ACTIONS:
        acting = units.get(code)
        if acting is None:
            continue
        counter = next((c for c in acting.counters if c.code == counter_code), None)
        action = create_action(session, acting, ActionValues(
            element, what, who, started, started + timedelta(weeks=8), state,
            counter_id=counter.id if counter else None), user_id=None, now=now)
        publishing.set_action_published(session, action, True, now=now)
    return published


def _daily_volume(rng: random.Random, counter: Counter) -> int:
    if counter.unit.code == DUKCAPIL:
        return rng.randint(2, 9) if counter.code != "INFO" else rng.randint(0, 3)
    return rng.randint(1, 5) if counter.code in PUSKESMAS_STAFFED else rng.randint(0, 2)


def _one_response(
    session: Session,
    survey: Survey,
    rng: random.Random,
    counter: Counter,
    service: str | None,
    at: datetime,
    week: int,
    weeks: int,
    rude: Officer | None,
    tz: ZoneInfo,
    *,
    free: bool,
) -> int:
    local = at.astimezone(tz)
    mean = 3.3
    if counter.unit.code == IMPROVING_UNIT:
        mean = 2.4 + 1.1 * week / max(weeks - 1, 1)
    slow = (counter.unit.code, counter.code) == SLOW_COUNTER and local.weekday() == 0 \
        and local.hour < 12
    wait = int(rng.lognormvariate(3.0, 0.6))  # median about 20 minutes
    if slow:
        wait = rng.randint(70, 170)
        mean -= 0.6
    scores = [_score(rng, mean) for _ in survey.elements]
    if slow:
        scores[2] = _score(rng, 1.8)  # U3, speed
    if free and rng.random() >= FEE_REPORTED:
        scores[3] = 4  # U4, cost: "Gratis"
    on_duty = officer_on_duty(session, counter.id, at)
    if rude is not None and on_duty is not None and on_duty.id == rude.id:
        scores[6] = _score(rng, 1.7)  # U7, courtesy
    band = next((b.code for b in survey.wait_bands
                 if b.min_minutes <= wait * 1.2 and (b.max_minutes is None
                                                     or wait * 1.2 < b.max_minutes)), None)
    low = sum(scores) / len(scores) < 2.5
    comment = None
    if rng.random() < (0.5 if low else 0.08):
        comment = rng.choice(COMMENTS_LOW if low else COMMENTS_HIGH)
    profile = {item.code: rng.choice(item.options).code for item in survey.profile
               if rng.random() < 0.6}
    measured = wait if rng.random() < 0.4 and wait <= 480 else None
    answers = Answers(tuple(scores), band if rng.random() < 0.85 else None, service, comment,
                      profile)
    submission = Submission(
        client_id=uuid.UUID(int=rng.getrandbits(128), version=4), channel="qr", created_at=at,
        received_at=at + timedelta(seconds=rng.randint(1, 5)),
        device=f"demo-device-{rng.getrandbits(40)}", measured_wait_min=measured,
        honeypot_filled=rng.random() < 0.005,
    )
    # The past opens no complaint case by itself: seed_cases opens a few, in each state.
    record_response(session, survey, counter, answers, submission, tz, open_cases=False)
    if rng.random() < 0.01:
        # The same phone again a few minutes later: kept, flagged as a repeat.
        again = replace(submission, client_id=uuid.UUID(int=rng.getrandbits(128), version=4),
                        created_at=at + timedelta(minutes=rng.randint(2, 6)))
        record_response(session, survey, counter, answers, again, tz, open_cases=False)
        return 2
    return 1


def _score(rng: random.Random, mean: float) -> int:
    return max(1, min(4, round(rng.gauss(mean, 0.65))))
