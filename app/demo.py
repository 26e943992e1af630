"""A believable demo Kotabumi: Disdukcapil, three Puskesmas, officers, a roster and staff logins."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.db import Base
from app.models import Counter, Officer, Unit, User
from app.org import (
    assign_officer,
    create_counter,
    create_officer,
    create_service,
    create_unit,
)
from app.users import create_user

DUKCAPIL = "DUKCAPIL"
# Shared demo passwords, printed by `flask --app app demo`; the demo refuses to run in production.
DEMO_PASSWORDS = {"admin": "demo-admin-kotabumi", "unit_head": "demo-kepala-kotabumi",
                  "officer": "demo-petugas-kotabumi"}

DUKCAPIL_SERVICES = [
    # code, name, standard minutes, fee
    ("KTP-REKAM", "KTP-el — Perekaman", 30, 0),
    ("KTP-CETAK", "KTP-el — Pencetakan", 60, 0),
    ("KK", "Kartu Keluarga", 60, 0),
    ("KIA", "Kartu Identitas Anak", 60, 0),
    ("AKTA-LAHIR", "Akta Kelahiran", 60, 0),
    ("AKTA-MATI", "Akta Kematian", 60, 0),
    ("AKTA-KAWIN", "Akta Perkawinan/Perceraian", 120, 0),
    ("PINDAH", "Surat Pindah/Datang", 60, 0),
]
DUKCAPIL_COUNTERS = [
    ("L1", "Loket 1", "KTP-REKAM"),
    ("L2", "Loket 2", "KTP-CETAK"),
    ("L3", "Loket 3", "KK"),
    ("L4", "Loket 4", "AKTA-LAHIR"),
    ("L5", "Loket 5", "AKTA-MATI"),
    ("L6", "Loket 6", "PINDAH"),
    ("INFO", "Informasi", None),
]
PUSKESMAS = [
    ("PKM-KTB2", "Puskesmas Kotabumi II"),
    ("PKM-KTBU", "Puskesmas Kotabumi Udik"),
    ("PKM-MDK", "Puskesmas Madukoro"),
]
PUSKESMAS_POLI = [
    # counter/service code, name, standard minutes, fee (Rupiah, general patients)
    ("DAFTAR", "Pendaftaran", 10, 0),
    ("UMUM", "Poli Umum", 30, 10000),
    ("LANSIA", "Poli Lansia", 30, 0),
    ("MTBS", "Poli Anak (MTBS)", 30, 0),
    ("GIGI", "Poli Gigi", 45, 15000),
    ("KIA-KB", "KIA/KB", 30, 0),
    ("LAB", "Laboratorium", 60, 20000),
    ("APOTEK", "Apotek", 15, 0),
]
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


def demo_present(session: Session) -> bool:
    """True when the demo world (or any organisation) is already in the database."""
    return session.scalar(select(Unit.id).limit(1)) is not None


def clear_all(session: Session) -> None:
    """Delete every row of every table, children first (used by ``demo --reset``)."""
    for table in reversed(Base.metadata.sorted_tables):
        session.execute(delete(table))
    session.flush()


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

    def new_officer(unit: Unit, position: str) -> Officer:
        given, sex = next(names)
        full = f"{given} {rng.choice(FAMILY_NAMES)}"
        return create_officer(session, _nip(rng, sex, next(sequence)), full, unit, position)

    dukcapil = create_unit(
        session, DUKCAPIL,
        "Dinas Kependudukan dan Pencatatan Sipil Kabupaten Lampung Utara", "disdukcapil",
    )
    services = {
        code: create_service(session, dukcapil, code, name, standard_minutes=minutes, fee=fee)
        for code, name, minutes, fee in DUKCAPIL_SERVICES
    }
    lokets = [
        create_counter(session, dukcapil, code, name,
                       default_service=services[svc] if svc else None)
        for code, name, svc in DUKCAPIL_COUNTERS
    ]
    heads = {DUKCAPIL: new_officer(dukcapil, "Kepala Dinas")}
    front = [new_officer(dukcapil, "Petugas Pelayanan") for _ in range(6)]
    roster: list[tuple[list[Officer], list[Counter], bool]] = [(front, lokets[:6], True)]

    for code, name in PUSKESMAS:
        unit = create_unit(session, code, name, "puskesmas")
        polis = {}
        for poli_code, poli_name, minutes, fee in PUSKESMAS_POLI:
            service = create_service(session, unit, poli_code, poli_name,
                                     standard_minutes=minutes, fee=fee)
            polis[poli_code] = create_counter(session, unit, poli_code, poli_name,
                                              default_service=service)
        heads[code] = new_officer(unit, "Kepala Puskesmas")
        staff = [new_officer(unit, position) for position in
                 ("Petugas Pendaftaran", "Dokter Umum", "Dokter Gigi", "Bidan", "Apoteker")]
        roster.append((staff, [polis[c] for c in PUSKESMAS_STAFFED], False))

    _build_roster(session, roster, today=today, tz=tz,
                  weeks_back=weeks_back, weeks_ahead=weeks_ahead)
    return _create_logins(session, dukcapil, heads, front[2])


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
    session: Session, dukcapil: Unit, heads: dict[str, Officer], petugas: Officer
) -> list[DemoLogin]:
    logins = [DemoLogin("admin@lampungutara.demo", DEMO_PASSWORDS["admin"], "admin", None)]
    for unit_code in heads:
        local = "kepala." + unit_code.lower().replace("pkm-", "pkm.")
        logins.append(DemoLogin(f"{local}@lampungutara.demo", DEMO_PASSWORDS["unit_head"],
                                "unit_head", unit_code))
    logins.append(DemoLogin("petugas@lampungutara.demo", DEMO_PASSWORDS["officer"],
                            "officer", dukcapil.code))
    units = {u.code: u for u in session.scalars(select(Unit))}
    for login in logins:
        officer = petugas if login.role == "officer" else (
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
