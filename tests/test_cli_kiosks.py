"""`flask --app app kiosks …`: list, add (prints the pairing code and URL), pairing-code,
revoke, through the real CLI runner."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from factories import make_other_unit, make_unit, release
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import kiosks
from app.config import Settings
from app.models import AuditEntry, Kiosk

WIB = ZoneInfo("Asia/Jakarta")
NOW = datetime(2026, 3, 16, 10, 0, tzinfo=WIB)
CODE_LINE = re.compile(r"^pairing code: (\d{6}) \(valid until 2026-03-16 10:10, once\)$", re.M)


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("app.cli.kiosks.utcnow", lambda: NOW)


@pytest.fixture
def units(session: Session) -> None:
    make_unit(session)
    make_other_unit(session)
    release(session)


def stored(session: Session) -> list[Kiosk]:
    session.expire_all()
    rows = list(session.scalars(select(Kiosk).order_by(Kiosk.id)))
    release(session)
    return rows


def add(runner: FlaskCliRunner, *args: str) -> tuple[int, str]:
    result = runner.invoke(args=["kiosks", "add", *args])
    return result.exit_code, result.output


def test_add_prints_the_pairing_code_and_url(runner: FlaskCliRunner, session: Session,
                                             settings: Settings, units: None) -> None:
    code, out = add(runner, "--unit", "DUKCAPIL", "--name", "Tablet Lobi", "--placement",
                    "Dekat pintu keluar", "--counter", "L1", "--service", "KTP-REKAM",
                    "--idle-seconds", "45")
    assert code == 0, out
    [kiosk] = stored(session)
    assert out.startswith(f"kiosk {kiosk.id}: Tablet Lobi (DUKCAPIL)\n")
    found = CODE_LINE.search(out)
    assert found is not None, out
    pairing = found.group(1)
    assert f"{settings.public_base_url}/kiosk/#pair={pairing}" in out
    assert (kiosk.placement, kiosk.idle_seconds) == ("Dekat pintu keluar", 45)
    assert [c.code for c in kiosk.counters] == ["L1"] and [s.code for s in kiosk.services] \
        == ["KTP-REKAM"]
    paired = kiosks.pair(session, pairing, now=NOW + timedelta(minutes=5))
    assert paired is not None and paired[0].id == kiosk.id
    session.commit()
    actors = list(session.scalars(select(AuditEntry.actor).where(
        AuditEntry.action == "kiosk.create")))
    assert len(actors) == 1 and actors[0].startswith("cli:")
    release(session)


@pytest.mark.parametrize(("args", "message"), [
    (["--unit", "NOPE", "--name", "T"], "no unit with code 'NOPE'"),
    (["--unit", "DUKC\x00APIL", "--name", "T"], "no unit with code"),
    (["--unit", "DUKCAPIL", "--name", "T" * 81],
     "--name: A name has at most 80 characters; nothing changed"),
    (["--unit", "DUKCAPIL", "--name", "Tab\x00let"],
     "--name: Remove the invisible or control character U+0000; nothing changed"),
    (["--unit", "DUKCAPIL", "--name", " "], "--name: Give the kiosk a name; nothing"),
    (["--unit", "DUKCAPIL", "--name", "T", "--idle-seconds", "5"],
     "--idle-seconds: Enter a number of seconds from 10 to 600; nothing changed"),
    (["--unit", "DUKCAPIL", "--name", "T", "--counter", "GIGI"],
     "unit DUKCAPIL has no counter 'GIGI'"),
    (["--unit", "DUKCAPIL", "--name", "T", "--service", "UMUM"],
     "unit DUKCAPIL has no service 'UMUM'"),
])
def test_add_refuses_bad_input_and_stores_nothing(
    runner: FlaskCliRunner, session: Session, units: None, args: list[str], message: str
) -> None:
    code, out = add(runner, *args)
    assert code != 0
    assert message in out
    assert stored(session) == []


def test_list_shows_each_kiosk_and_narrows_to_a_unit(runner: FlaskCliRunner,
                                                     session: Session, units: None) -> None:
    assert add(runner, "--unit", "DUKCAPIL", "--name", "Tablet Lobi")[0] == 0
    assert add(runner, "--unit", "PKM-KTB2", "--name", "Tablet Poli")[0] == 0
    lobby, poli = stored(session)
    lobby.last_seen_at, lobby.paired_at, lobby.queue_length = NOW - timedelta(minutes=2), \
        NOW - timedelta(hours=1), 2
    session.commit()
    out = runner.invoke(args=["kiosks", "list"]).output
    assert (f"{lobby.id}\tDUKCAPIL\tTablet Lobi\t-\tok\tlast contact 2026-03-16 09:58\t"
            "queue 2\trefused 0\tcalls 0") in out
    assert (f"{poli.id}\tPKM-KTB2\tTablet Poli\t-\tnot paired yet\tlast contact never\t"
            "queue ?\trefused 0\tcalls 0") in out
    narrowed = runner.invoke(args=["kiosks", "list", "--unit", "PKM-KTB2"]).output
    assert "Tablet Poli" in narrowed and "Tablet Lobi" not in narrowed
    assert runner.invoke(args=["kiosks", "list", "--unit", "NOPE"]).exit_code != 0


def test_pairing_code_issues_a_new_code_and_the_old_one_stops(
    runner: FlaskCliRunner, session: Session, units: None
) -> None:
    _, out = add(runner, "--unit", "DUKCAPIL", "--name", "Tablet Lobi")
    first = CODE_LINE.search(out)
    assert first is not None
    [kiosk] = stored(session)
    again = runner.invoke(args=["kiosks", "pairing-code", str(kiosk.id)])
    assert again.exit_code == 0, again.output
    second = CODE_LINE.search(again.output)
    assert second is not None
    assert kiosks.pair(session, first.group(1), now=NOW) is None
    assert kiosks.pair(session, second.group(1), now=NOW) is not None
    session.commit()
    for missing in ("999999", "0", "99999999999999999999"):
        refused = runner.invoke(args=["kiosks", "pairing-code", missing])
        assert refused.exit_code != 0 and "no kiosk with id" in refused.output


def test_revoke_asks_first_then_stops_the_kiosk(runner: FlaskCliRunner, session: Session,
                                                units: None) -> None:
    add(runner, "--unit", "DUKCAPIL", "--name", "Tablet Lobi")
    [kiosk] = stored(session)
    declined = runner.invoke(args=["kiosks", "revoke", str(kiosk.id)], input="n\n")
    assert declined.exit_code != 0 and "stops at once" in declined.output
    assert stored(session)[0].revoked_at is None
    done = runner.invoke(args=["kiosks", "revoke", str(kiosk.id)], input="y\n")
    assert done.exit_code == 0 and "revoked" in done.output
    assert stored(session)[0].revoked_at == NOW
    twice = runner.invoke(args=["kiosks", "revoke", str(kiosk.id), "--yes"])
    assert twice.exit_code == 0 and "already revoked" in twice.output
    # A revoked kiosk gets no new pairing code.
    refused = runner.invoke(args=["kiosks", "pairing-code", str(kiosk.id)])
    assert refused.exit_code != 0
    assert "This kiosk is revoked; add a new kiosk instead; nothing changed" in refused.output
    listed = runner.invoke(args=["kiosks", "list"]).output
    assert "revoked 2026-03-16 10:00" in listed


def test_a_binding_that_leaves_nothing_to_rate_is_refused(
        runner: FlaskCliRunner, session: Session, units: None) -> None:
    """L1's service is KTP-REKAM: bound to L1 and KK only, the kiosk would offer nothing."""
    code, out = add(runner, "--unit", "DUKCAPIL", "--name", "Tablet", "--counter", "L1",
                    "--service", "KK")
    assert code == 1
    assert "offer nothing to rate" in out
    assert stored(session) == []
    release(session)
