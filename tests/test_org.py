"""Tests for app.org and app.users against both engines: domain checks and database invariants."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from app.db import Base
from app.models import Assignment, Counter, CounterToken, Officer, Service, Unit, User
from app.org import (
    DomainError,
    assign_officer,
    create_counter,
    create_officer,
    create_service,
    create_unit,
    find_token,
    issue_token,
    live_token,
    officer_on_duty,
)
from app.users import create_user, verify_password

WIB = ZoneInfo("Asia/Jakarta")
NIP_A = "198609262015051001"
NIP_B = "199001152016032002"
NIP_C = "197512312001121003"


def at(hour: int, day: int = 5) -> datetime:
    """An instant on a January 2026 day, in local time (WIB)."""
    return datetime(2026, 1, day, hour, 0, tzinfo=WIB)


def count(session: Session, model: type[Base]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def flush_refused(session: Session, *reasons: str) -> None:
    """Flush, expect the DATABASE to refuse it naming one of ``reasons``, and roll back."""
    with pytest.raises(IntegrityError) as excinfo:
        session.flush()
    session.rollback()
    message = str(excinfo.value.orig)
    assert any(reason in message for reason in reasons), message


def unit_row(**fields: str) -> Unit:
    """A Unit built directly, bypassing create_unit; other required text columns get fillers."""
    values: dict[str, str] = {"code": "X", "name": "X", "kind": "other", **fields}
    for column in Unit.__table__.columns:
        if not (column.nullable or column.primary_key or column.default is not None
                or column.server_default is not None or column.key in values):
            values[column.key] = secrets.token_hex(10)
    return Unit(**values)


@pytest.fixture
def unit(session: Session) -> Unit:
    unit = create_unit(session, "DUKCAPIL", "Disdukcapil Lampung Utara", "disdukcapil")
    session.commit()
    return unit


@pytest.fixture
def counter(session: Session, unit: Unit) -> Counter:
    counter = create_counter(session, unit, "L1", "Loket 1")
    session.commit()
    return counter


@pytest.fixture
def officers(session: Session, unit: Unit) -> tuple[Officer, Officer]:
    first = create_officer(session, NIP_A, "Ahmad Saputra", unit, "Petugas Pelayanan")
    second = create_officer(session, NIP_B, "Siti Lestari", unit, "Petugas Pelayanan")
    session.commit()
    return first, second


# Units, services, counters -------------------------------------------------------------------


def test_create_unit_stores_the_row(session: Session) -> None:
    unit = create_unit(session, "PKM-KTB2", "  Puskesmas Kotabumi II ", "puskesmas")
    session.commit()
    stored = session.scalars(select(Unit)).one()
    assert stored.id == unit.id
    assert (stored.code, stored.name, stored.kind) == (
        "PKM-KTB2", "Puskesmas Kotabumi II", "puskesmas"
    )


def test_create_unit_refuses_a_duplicate_code(session: Session, unit: Unit) -> None:
    with pytest.raises(DomainError, match="already exists"):
        create_unit(session, "DUKCAPIL", "Another", "other")
    session.commit()
    assert count(session, Unit) == 1
    assert session.scalars(select(Unit.name)).one() == "Disdukcapil Lampung Utara"


@pytest.mark.parametrize("code", ["", "-LEADING", "has space", "a/b", "x" * 33, "Ünit"])
def test_create_unit_refuses_a_bad_code(session: Session, code: str) -> None:
    with pytest.raises(DomainError, match="code"):
        create_unit(session, code, "Some unit", "other")
    assert count(session, Unit) == 0


@pytest.mark.parametrize("kind", ["xyz", "", "Puskesmas"])
def test_create_unit_refuses_an_unknown_kind(session: Session, kind: str) -> None:
    with pytest.raises(DomainError, match="kind"):
        create_unit(session, "U1", "Some unit", kind)
    assert count(session, Unit) == 0


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_create_unit_refuses_a_bad_name(session: Session, name: str) -> None:
    with pytest.raises(DomainError, match="name"):
        create_unit(session, "U1", name, "other")
    assert count(session, Unit) == 0


def test_create_service_checks_fee_time_and_duplicates(session: Session, unit: Unit) -> None:
    create_service(session, unit, "KTP", "KTP-el", standard_minutes=30, fee=0)
    with pytest.raises(DomainError, match="negative"):
        create_service(session, unit, "KK", "Kartu Keluarga", fee=-1)
    with pytest.raises(DomainError, match="positive"):
        create_service(session, unit, "KK", "Kartu Keluarga", standard_minutes=0)
    with pytest.raises(DomainError, match="already has a service"):
        create_service(session, unit, "KTP", "KTP again")
    session.commit()
    assert session.scalars(select(Service.code)).all() == ["KTP"]


def test_create_counter_issues_a_live_unguessable_token(session: Session, unit: Unit) -> None:
    counter = create_counter(session, unit, "L1", "Loket 1")
    session.commit()
    tokens = session.scalars(select(CounterToken)).all()
    assert len(tokens) == 1
    token = tokens[0]
    assert token.counter_id == counter.id
    assert token.retired_at is None
    # secrets.token_urlsafe(12): 96 bits in 16 URL-safe characters.
    assert len(token.token) >= 16
    assert all(c.isalnum() or c in "-_" for c in token.token)
    assert live_token(session, counter) == token
    assert find_token(session, token.token) == token


def test_tokens_of_different_counters_differ(session: Session, unit: Unit) -> None:
    for i in range(5):
        create_counter(session, unit, f"L{i}", f"Loket {i}")
    session.commit()
    tokens = session.scalars(select(CounterToken.token)).all()
    assert len(set(tokens)) == 5


def test_create_counter_refuses_duplicates_and_foreign_services(
    session: Session, unit: Unit, counter: Counter
) -> None:
    other = create_unit(session, "PKM-MDK", "Puskesmas Madukoro", "puskesmas")
    foreign_service = create_service(session, other, "UMUM", "Poli Umum")
    with pytest.raises(DomainError, match="already has a counter"):
        create_counter(session, unit, "L1", "Loket 1 again")
    with pytest.raises(DomainError, match="does not belong"):
        create_counter(session, unit, "L2", "Loket 2", default_service=foreign_service)
    # The same counter code in another unit is fine.
    create_counter(session, other, "L1", "Loket 1")
    session.commit()
    assert count(session, Counter) == 2
    assert count(session, CounterToken) == 2


def test_issue_token_retires_the_old_token(session: Session, counter: Counter) -> None:
    old = live_token(session, counter)
    assert old is not None
    old_value = old.token
    reissued_at = datetime.now(UTC) + timedelta(minutes=1)
    new = issue_token(session, counter, now=reissued_at)
    session.commit()
    session.expire_all()

    rows = session.scalars(
        select(CounterToken).where(CounterToken.counter_id == counter.id)
        .order_by(CounterToken.issued_at)
    ).all()
    assert [r.token for r in rows] == [old_value, new.token]
    assert new.token != old_value
    assert rows[0].retired_at == reissued_at
    assert rows[1].retired_at is None
    assert live_token(session, counter) == rows[1]

    found_old = find_token(session, old_value)
    assert found_old is not None and found_old.retired_at is not None
    found_new = find_token(session, new.token)
    assert found_new is not None and found_new.retired_at is None


@pytest.mark.parametrize("token", ["", "short", "x" * 15, "x" * 33, "unknown-token-value"])
def test_find_token_returns_none_for_unknown_or_malformed(
    session: Session, counter: Counter, token: str
) -> None:
    assert find_token(session, token) is None


def test_database_refuses_two_live_tokens_for_one_counter(
    session: Session, counter: Counter
) -> None:
    session.add(
        CounterToken(counter_id=counter.id, token="second-live-token-x", issued_at=at(9))
    )
    flush_refused(session, "uq_counter_tokens_live", "counter_tokens.counter_id")
    assert count(session, CounterToken) == 1


def test_database_refuses_a_short_token(session: Session, counter: Counter) -> None:
    session.add(
        CounterToken(counter_id=counter.id, token="tooshort", issued_at=at(8), retired_at=at(9))
    )
    flush_refused(session, "token_long_enough")
    assert count(session, CounterToken) == 1


# Assignments ---------------------------------------------------------------------------------


@pytest.fixture
def counter2(session: Session, unit: Unit) -> Counter:
    """A second counter of the unit."""
    return create_counter(session, unit, "L2", "Loket 2")


def test_assign_officer_refuses_an_officer_at_two_counters_at_once(
    session: Session, counter: Counter, counter2: Counter, officers: tuple[Officer, Officer]
) -> None:
    ahmad, _siti = officers
    assign_officer(session, ahmad, counter, at(8), at(12))
    session.commit()
    for starts, ends in [(at(11), at(13)), (at(7), at(9)), (at(9), at(10)), (at(7), at(13)),
                         (at(8), at(12)), (at(11), None)]:
        with pytest.raises(DomainError, match="Ahmad Saputra is already on duty at Loket 1"):
            assign_officer(session, ahmad, counter2, starts, ends)
    session.commit()
    assert count(session, Assignment) == 1


def test_several_officers_may_be_on_duty_at_one_counter(
    session: Session, counter: Counter, officers: tuple[Officer, Officer]
) -> None:
    ahmad, siti = officers
    assign_officer(session, ahmad, counter, at(8), at(12))
    assign_officer(session, siti, counter, at(9), at(11))
    session.commit()
    assert count(session, Assignment) == 2


def test_assign_officer_compares_instants_not_wall_clocks(
    session: Session, counter: Counter, counter2: Counter, officers: tuple[Officer, Officer]
) -> None:
    ahmad, _siti = officers
    assign_officer(session, ahmad, counter, at(8), at(12))  # 01:00–05:00 UTC
    session.commit()
    with pytest.raises(DomainError):
        assign_officer(session, ahmad, counter2, datetime(2026, 1, 5, 4, 0, tzinfo=UTC),
                       datetime(2026, 1, 5, 6, 0, tzinfo=UTC))
    # 05:00 UTC is exactly 12:00 WIB: back to back.
    assign_officer(session, ahmad, counter2, datetime(2026, 1, 5, 5, 0, tzinfo=UTC),
                   datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    session.commit()
    assert count(session, Assignment) == 2


def test_assign_officer_refuses_an_empty_or_reversed_interval(
    session: Session, counter: Counter, officers: tuple[Officer, Officer]
) -> None:
    with pytest.raises(DomainError, match="end after it starts"):
        assign_officer(session, officers[0], counter, at(12), at(12))
    with pytest.raises(DomainError, match="end after it starts"):
        assign_officer(session, officers[0], counter, at(12), at(8))
    assert count(session, Assignment) == 0


def test_database_refuses_a_reversed_interval(
    session: Session, counter: Counter, officers: tuple[Officer, Officer]
) -> None:
    session.add(Assignment(officer=officers[0], counter=counter, starts_at=at(12), ends_at=at(8)))
    flush_refused(session, "ends_after_start")
    assert count(session, Assignment) == 0


OVERLAP_REFUSED = ("two counters at once", "ex_assignments_no_overlap")


@pytest.mark.parametrize(
    ("starts", "ends"),
    [(9, 10), (11, 13), (7, 9), (7, 13), (8, 12), (11, None)],
    ids=["inside", "tail", "head", "around", "same", "open-ended"],
)
def test_database_refuses_an_officer_at_two_counters_at_once(
    session: Session,
    counter: Counter,
    counter2: Counter,
    officers: tuple[Officer, Officer],
    starts: int,
    ends: int | None,
) -> None:
    ahmad, _siti = officers
    assign_officer(session, ahmad, counter, at(8), at(12))
    session.commit()
    # Bypass assign_officer: the exclusion constraint (PostgreSQL) or trigger (SQLite) decides.
    session.add(Assignment(officer=ahmad, counter=counter2, starts_at=at(starts),
                           ends_at=at(ends) if ends is not None else None))
    flush_refused(session, *OVERLAP_REFUSED)
    assert count(session, Assignment) == 1


def test_database_refuses_an_update_into_an_overlap(
    session: Session, counter: Counter, counter2: Counter, officers: tuple[Officer, Officer]
) -> None:
    ahmad, _siti = officers
    assign_officer(session, ahmad, counter, at(8), at(12))
    later = assign_officer(session, ahmad, counter2, at(12), at(16))
    session.commit()
    with pytest.raises(IntegrityError) as excinfo:
        session.execute(
            update(Assignment).where(Assignment.id == later.id).values(starts_at=at(11))
        )
    session.rollback()
    assert any(r in str(excinfo.value.orig) for r in OVERLAP_REFUSED)
    session.expire_all()
    assert session.get(Assignment, later.id).starts_at == at(12)  # type: ignore[union-attr]


def test_database_refuses_an_overlap_with_an_open_ended_assignment(
    session: Session, counter: Counter, counter2: Counter, officers: tuple[Officer, Officer]
) -> None:
    ahmad, _siti = officers
    assign_officer(session, ahmad, counter, at(8))
    session.commit()
    session.add(Assignment(officer=ahmad, counter=counter2, starts_at=at(8, day=20),
                           ends_at=at(9, day=20)))
    flush_refused(session, *OVERLAP_REFUSED)
    assert count(session, Assignment) == 1


def test_overlaps_of_different_officers_at_one_counter_are_allowed(
    session: Session, counter: Counter, officers: tuple[Officer, Officer]
) -> None:
    assign_officer(session, officers[0], counter, at(8), at(12))
    assign_officer(session, officers[1], counter, at(8), at(12))
    session.add(Assignment(officer=officers[1], counter=counter, starts_at=at(12),
                           ends_at=at(13)))
    session.commit()
    assert count(session, Assignment) == 3


def test_back_to_back_assignments_are_allowed(
    session: Session, counter: Counter, officers: tuple[Officer, Officer]
) -> None:
    ahmad, siti = officers
    assign_officer(session, ahmad, counter, at(8), at(12))
    assign_officer(session, siti, counter, at(12), at(16))
    # Directly too: [16, 18) touches [12, 16) without overlapping.
    session.add(Assignment(officer=ahmad, counter=counter, starts_at=at(16), ends_at=at(18)))
    session.commit()
    rows = session.execute(
        select(Assignment.officer_id, Assignment.starts_at, Assignment.ends_at)
        .order_by(Assignment.starts_at)
    ).all()
    assert [tuple(r) for r in rows] == [
        (ahmad.id, at(8), at(12)),
        (siti.id, at(12), at(16)),
        (ahmad.id, at(16), at(18)),
    ]


def test_officer_on_duty(
    session: Session, counter: Counter, officers: tuple[Officer, Officer]
) -> None:
    ahmad, siti = officers
    assign_officer(session, ahmad, counter, at(8), at(12))
    session.commit()
    assert officer_on_duty(session, counter.id, at(7)) is None
    assert officer_on_duty(session, counter.id, at(8)) == ahmad
    assert officer_on_duty(session, counter.id, at(10)) == ahmad
    assert officer_on_duty(session, counter.id, at(12) - timedelta(microseconds=1)) == ahmad
    # The end is exclusive: nobody at 12:00 until the next shift is added.
    assert officer_on_duty(session, counter.id, at(12)) is None
    assign_officer(session, siti, counter, at(12), at(16))
    session.commit()
    assert officer_on_duty(session, counter.id, at(12)) == siti
    assert officer_on_duty(session, counter.id, at(16)) is None
    # The same instant in another zone gives the same answer.
    assert officer_on_duty(session, counter.id, datetime(2026, 1, 5, 3, 30, tzinfo=UTC)) == ahmad


def test_officer_on_duty_with_an_open_ended_assignment(
    session: Session, counter: Counter, officers: tuple[Officer, Officer]
) -> None:
    ahmad, siti = officers
    assign_officer(session, siti, counter, at(6), at(8))
    assign_officer(session, ahmad, counter, at(8))
    session.commit()
    assert officer_on_duty(session, counter.id, at(7)) == siti
    assert officer_on_duty(session, counter.id, at(8)) == ahmad
    assert officer_on_duty(session, counter.id, datetime(2030, 12, 31, tzinfo=UTC)) == ahmad
    with pytest.raises(DomainError, match="open-ended"):
        assign_officer(session, ahmad, counter, at(9, day=6), at(10, day=6))


def test_officer_on_duty_is_per_counter(
    session: Session, unit: Unit, counter: Counter, officers: tuple[Officer, Officer]
) -> None:
    other_counter = create_counter(session, unit, "L2", "Loket 2")
    assign_officer(session, officers[0], counter, at(8), at(12))
    session.commit()
    assert officer_on_duty(session, other_counter.id, at(9)) is None


def test_assign_officer_refuses_an_officer_from_another_unit(
    session: Session, counter: Counter
) -> None:
    other = create_unit(session, "PKM-KTB2", "Puskesmas Kotabumi II", "puskesmas")
    outsider = create_officer(session, NIP_C, "Budi Pratama", other, "Dokter Umum")
    session.commit()
    with pytest.raises(DomainError, match="does not belong to unit DUKCAPIL"):
        assign_officer(session, outsider, counter, at(8), at(12))
    assert count(session, Assignment) == 0


# Officers ------------------------------------------------------------------------------------


def test_create_officer_validates_the_nip(session: Session, unit: Unit) -> None:
    with pytest.raises(DomainError, match="not a real birth date"):
        create_officer(session, "198613262015051001", "Bad Date", unit, "Staf")
    officer = create_officer(session, " 19860926 201505 1 001 ", "Ahmad", unit, "Staf")
    assert officer.nip == NIP_A
    with pytest.raises(DomainError, match="already exists"):
        create_officer(session, NIP_A, "Ahmad again", unit, "Staf")
    session.commit()
    assert session.scalars(select(Officer.nip)).all() == [NIP_A]


# Check constraints ---------------------------------------------------------------------------


def test_database_refuses_a_negative_fee(session: Session, unit: Unit) -> None:
    session.add(Service(unit_id=unit.id, code="X", name="X", fee=-1))
    flush_refused(session, "fee_not_negative")
    assert count(session, Service) == 0


def test_database_refuses_an_unknown_unit_kind(session: Session) -> None:
    session.add(unit_row(kind="xyz"))
    flush_refused(session, "kind_known")
    assert count(session, Unit) == 0


def test_database_refuses_a_short_nip(session: Session, unit: Unit) -> None:
    session.add(Officer(nip="12345", name="X", unit_id=unit.id, position="Staf"))
    flush_refused(session, "nip_18_digits")
    assert count(session, Officer) == 0


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"email": "Upper@Example.id", "role": "admin"}, "email_lowercase"),
        ({"email": "head@example.id", "role": "unit_head"}, "scoped_role_has_unit"),
        ({"email": "x@example.id", "role": "superuser"}, "role_known"),
    ],
    ids=["uppercase-email", "scoped-role-without-unit", "unknown-role"],
)
def test_database_refuses_bad_users(
    session: Session, fields: dict[str, str], reason: str
) -> None:
    session.add(User(password_hash="x", created_at=at(8), **fields))
    flush_refused(session, reason)
    assert count(session, User) == 0


# Users ---------------------------------------------------------------------------------------


def test_create_user_stores_only_a_hash(session: Session, unit: Unit) -> None:
    user = create_user(session, " Kepala@Dukcapil.Example.ID ", "correct horse battery",
                       "unit_head", unit=unit)
    session.commit()
    session.expire_all()
    stored = session.scalars(select(User)).one()
    assert stored.id == user.id
    assert stored.email == "kepala@dukcapil.example.id"
    assert stored.role == "unit_head"
    assert stored.unit_id == unit.id
    assert "correct horse battery" not in stored.password_hash
    assert stored.password_hash.startswith(("scrypt:", "pbkdf2:"))
    assert verify_password(stored, "correct horse battery")
    assert not verify_password(stored, "Correct horse battery")
    assert not verify_password(stored, "")
    assert stored.created_at.tzinfo is not None


def test_create_user_refuses_a_duplicate_email(session: Session) -> None:
    create_user(session, "admin@example.id", "long-enough-pw", "admin")
    session.commit()
    with pytest.raises(DomainError, match="already exists"):
        create_user(session, "ADMIN@example.id", "another-long-pw", "admin")
    session.commit()
    assert count(session, User) == 1


@pytest.mark.parametrize(
    ("email", "password", "role", "message"),
    [
        ("head@example.id", "long-enough-pw", "unit_head", "needs a unit"),
        ("officer@example.id", "long-enough-pw", "officer", "needs a unit"),
        ("admin@example.id", "short-pw1", "admin", "at least 10 characters"),
        ("not-an-email", "long-enough-pw", "admin", "not a valid e-mail"),
        ("root@example.id", "long-enough-pw", "root", "must be one of"),
    ],
)
def test_create_user_refusals(
    session: Session, email: str, password: str, role: str, message: str
) -> None:
    with pytest.raises(DomainError, match=message):
        create_user(session, email, password, role)
    assert count(session, User) == 0


def test_create_user_password_of_exactly_ten_characters(session: Session) -> None:
    create_user(session, "admin@example.id", "0123456789", "admin")
    session.commit()
    assert count(session, User) == 1


def test_officer_user_needs_an_officer_of_the_same_unit(
    session: Session, unit: Unit, officers: tuple[Officer, Officer]
) -> None:
    with pytest.raises(DomainError, match="NIP"):
        create_user(session, "petugas@example.id", "long-enough-pw", "officer", unit=unit)
    other = create_unit(session, "PKM-MDK", "Puskesmas Madukoro", "puskesmas")
    with pytest.raises(DomainError, match="does not belong"):
        create_user(session, "petugas@example.id", "long-enough-pw", "officer", unit=other,
                    officer=officers[0])
    user = create_user(session, "petugas@example.id", "long-enough-pw", "officer", unit=unit,
                       officer=officers[0])
    session.commit()
    assert session.scalars(select(User.officer_id)).all() == [officers[0].id]
    assert user.role == "officer"


# UTCDateTime ---------------------------------------------------------------------------------


def test_utc_datetime_refuses_a_naive_datetime(session: Session, counter: Counter) -> None:
    session.add(CounterToken(counter_id=counter.id, token="naive-issued-token",
                             issued_at=datetime(2026, 1, 5, 8, 0),  # noqa: DTZ001 (on purpose)
                             retired_at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC)))
    with pytest.raises(StatementError, match="naive datetime") as excinfo:
        session.flush()
    assert isinstance(excinfo.value.orig, ValueError)
    session.rollback()
    assert count(session, CounterToken) == 1


def test_utc_datetime_refuses_a_naive_datetime_in_a_query(session: Session) -> None:
    naive = datetime(2026, 1, 5, 8, 0)  # noqa: DTZ001 (on purpose)
    with pytest.raises(StatementError, match="naive datetime"):
        session.scalars(select(Assignment).where(Assignment.starts_at < naive)).all()


def test_utc_datetime_round_trips_as_aware_utc(session: Session, unit: Unit) -> None:
    local = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=WIB)
    counter = create_counter(session, unit, "L9", "Loket 9", now=local)
    session.commit()
    token = live_token(session, counter)
    assert token is not None
    token_id = token.id
    session.expire_all()

    stored = session.get(CounterToken, token_id)
    assert stored is not None
    assert stored.issued_at.utcoffset() == timedelta(0)
    assert stored.issued_at.tzinfo == UTC
    assert stored.issued_at == datetime(2026, 3, 1, 2, 30, 15, 123456, tzinfo=UTC)
    # Filtering with the same instant expressed in another zone finds the row.
    found = session.scalars(
        select(CounterToken.id).where(CounterToken.issued_at == local)
    ).all()
    assert found == [token_id]
