"""`org apply` and `org export`: the organisation as a TOML file, through the real CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import orgfile
from app.db import Base, Database
from app.demo import DEMO_ORG_FILE
from app.models import AuditEntry, Counter, CounterToken, OpeningHours, Service, Unit

SMALL = """
[[units]]
code = "DINKES"
name = "Dinas Kesehatan"
kind = "other"
opening_hours = { mon = "08:00-15:00" }

[[units]]
code = "PKM-A"
name = "Puskesmas A"
kind = "puskesmas"
parent = "DINKES"
address = "Jl. Merdeka 1"
opening_hours = { mon = "07:30-15:30", sat = "07:30-12:00" }

[[units.services]]
code = "UMUM"
name = "Poli Umum"
standard_minutes = 30
fee = 10000

[[units.services]]
code = "GIGI"
name = "Poli Gigi"

[[units.counters]]
code = "P1"
name = "Poli Umum"
service = "UMUM"

[[units.counters]]
code = "P2"
name = "Poli Gigi"
service = "GIGI"
"""


def db(app: Flask) -> Database:
    database: Database = app.extensions["suara.db"]
    return database


def read(app: Flask, query: Callable[[Session], Any]) -> Any:
    with db(app).session_scope(write=False) as session:
        return query(session)


def counts(app: Flask) -> dict[str, int]:
    def query(session: Session) -> dict[str, int]:
        return {table.name: int(session.scalar(select(func.count()).select_from(table)) or 0)
                for table in Base.metadata.sorted_tables}
    return dict(read(app, query))


def apply(runner: FlaskCliRunner, tmp_path: Path, text: str, *options: str,
          name: str = "org.toml") -> Result:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return runner.invoke(args=["org", "apply", str(path), *options])


def actions(app: Flask) -> list[str]:
    return list(read(app, lambda s: s.scalars(
        select(AuditEntry.action).order_by(AuditEntry.id)).all()))


def test_apply_creates_everything_and_twice_changes_nothing(
        app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    result = apply(runner, tmp_path, SMALL)
    assert result.exit_code == 0, result.output
    assert "create unit PKM-A" in result.output
    assert "create counter PKM-A/P2" in result.output

    def world(s: Session) -> tuple[Any, ...]:
        pkm = s.scalars(select(Unit).where(Unit.code == "PKM-A")).one()
        hours = s.scalars(select(OpeningHours).where(OpeningHours.unit_id == pkm.id)
                          .order_by(OpeningHours.weekday)).all()
        return (pkm.parent.code, pkm.address, [(h.weekday, h.opens.isoformat(),
                                                h.closes.isoformat()) for h in hours],
                {c.code: c.default_service.code for c in pkm.counters},
                {v.code: (v.standard_minutes, v.fee) for v in pkm.services})
    assert read(app, world) == (
        "DINKES", "Jl. Merdeka 1", [(0, "07:30:00", "15:30:00"), (5, "07:30:00", "12:00:00")],
        {"P1": "UMUM", "P2": "GIGI"}, {"UMUM": (30, 10000), "GIGI": (None, 0)})
    # Every created entry is in the audit log, from the CLI.
    logged = actions(app)
    assert logged.count("org.unit.create") == 2
    assert logged.count("org.service.create") == 2
    assert logged.count("org.counter.create") == 2
    actors = read(app, lambda s: set(s.scalars(select(AuditEntry.actor))))
    assert all(actor.startswith("cli:") for actor in actors)
    # Each counter got its public token.
    assert read(app, lambda s: s.scalar(select(func.count()).select_from(CounterToken))) == 2

    before = counts(app)
    again = apply(runner, tmp_path, SMALL)
    assert again.exit_code == 0, again.output
    assert "no change" in again.output
    assert counts(app) == before


def test_dry_run_prints_the_plan_and_changes_nothing(
        app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    dry = apply(runner, tmp_path, SMALL, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "create unit DINKES" in dry.output
    assert "would change 6 entries" in dry.output
    assert counts(app)["units"] == 0
    assert counts(app)["audit_log"] == 0

    assert apply(runner, tmp_path, SMALL).exit_code == 0
    changed = (SMALL.replace('fee = 10000', 'fee = 12500')
               .replace('sat = "07:30-12:00"', 'sat = "08:00-12:00"')
               .replace('service = "GIGI"', 'service = "GIGI"\nactive = false'))
    before = counts(app)
    dry = apply(runner, tmp_path, changed, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "update service PKM-A/UMUM" in dry.output
    assert "fee: 10000 → 12500" in dry.output
    assert "opening_hours:" in dry.output and "sat = 08:00-12:00" in dry.output
    assert "deactivate counter PKM-A/P2" in dry.output
    assert counts(app) == before

    result = apply(runner, tmp_path, changed)
    assert result.exit_code == 0, result.output
    fee = read(app, lambda s: s.scalar(select(Service.fee).where(Service.code == "UMUM")))
    assert fee == 12500
    entry = read(app, lambda s: s.scalars(select(AuditEntry).where(
        AuditEntry.action == "org.service.update")).one())
    assert json.loads(entry.before) == {"fee": 10000}
    assert json.loads(entry.after) == {"fee": 12500}
    assert "org.counter.deactivate" in actions(app)
    assert "org.unit.update" in actions(app)


BAD_HOURS = SMALL.replace('mon = "07:30-15:30"', 'mon = "15:30-07:30"')


@pytest.mark.parametrize(("text", "expected"), [
    (BAD_HOURS, "org.toml: units[2] (PKM-A).opening_hours.mon: The closing time must be after"),
    (SMALL.replace('sat = "07:30-12:00"', 'sat = "7.30"'),
     "units[2] (PKM-A).opening_hours.sat: Write opening hours as HH:MM-HH:MM"),
    (SMALL.replace('sat = "07:30-12:00"', 'sun = 7'),
     "units[2] (PKM-A).opening_hours.sun: must be a string"),
    (SMALL.replace('sat = "07:30-12:00"', 'xyz = "07:30-12:00"'),
     "units[2] (PKM-A).opening_hours.xyz: Unknown weekday"),
    (SMALL.replace("fee = 10000", "fee = -1"),
     "units[2] (PKM-A).services[1] (UMUM).fee: The fee is between 0 and"),
    (SMALL.replace("fee = 10000", 'fee = "gratis"'),
     "units[2] (PKM-A).services[1] (UMUM).fee: must be an integer"),
    (SMALL.replace("fee = 10000", "fee = true"),
     "units[2] (PKM-A).services[1] (UMUM).fee: must be an integer"),
    (SMALL.replace("standard_minutes = 30", "standard_minutes = 0"),
     "units[2] (PKM-A).services[1] (UMUM).standard_minutes: The standard time is between"),
    (SMALL.replace('name = "Poli Gigi"\n\n[[units.counters]]',
                   'name = "Poli Gigi"\nactive = "yes"\n\n[[units.counters]]'),
     "units[2] (PKM-A).services[2] (GIGI).active: must be true or false"),
    (SMALL.replace('name = "Puskesmas A"', 'name = "Puskesmas\\u0000A"'),
     "units[2] (PKM-A).name: Remove the invisible or control character U+0000"),
    (SMALL.replace('name = "Puskesmas A"', 'name = "Puskesmas \\u202eA"'),
     "units[2] (PKM-A).name: Remove the invisible or control character U+202E"),
    (SMALL.replace('name = "Puskesmas A"', 'name = "' + "A" * 10_000 + '"'),
     "units[2] (PKM-A).name: At most 200 characters (this has 10000)"),
    (SMALL.replace('name = "Puskesmas A"', 'name = "   "'), "units[2] (PKM-A).name: This field"),
    (SMALL.replace('code = "PKM-A"', 'code = "PKM A"'), "units[2] (PKM A).code: A code is"),
    (SMALL.replace('kind = "puskesmas"', 'kind = "hospital"'), "units[2] (PKM-A).kind: The kind"),
    (SMALL.replace('parent = "DINKES"', 'parent = "NOPE"'),
     "units[2] (PKM-A).parent: there is no unit with code NOPE"),
    (SMALL.replace('parent = "DINKES"', 'parent = "PKM-A"'),
     "units[2] (PKM-A).parent: A unit cannot be its own parent"),
    (SMALL.replace('kind = "other"', 'kind = "other"\nparent = "PKM-A"'),
     "units[1] (DINKES).parent: a unit cannot be its own ancestor"),
    (SMALL.replace('code = "PKM-A"', 'code = "DINKES"').replace('parent = "DINKES"\n', ''),
     "units[2] (DINKES).code: the code DINKES is already used by units[1] (DINKES)"),
    (SMALL.replace('code = "P2"', 'code = "P1"'),
     "units[2] (PKM-A).counters[2] (P1).code: the counter code P1 is already used"),
    (SMALL.replace('service = "GIGI"', 'service = "MATA"'),
     "units[2] (PKM-A).counters[2] (P2).service: unit PKM-A has no service with code MATA"),
    (SMALL.replace('address = "Jl. Merdeka 1"', 'adress = "Jl. Merdeka 1"'),
     "units[2] (PKM-A).adress: unknown field"),
    (SMALL.replace('name = "Dinas Kesehatan"\n', ''), "units[1] (DINKES).name: is missing"),
    (SMALL + "\n[settings]\nx = 1\n", "org.toml: settings: unknown top-level key"),
    (SMALL.replace("[[units]]", "[[units", 1), "org.toml: not valid TOML"),
])
def test_a_bad_file_names_the_entry_and_field_and_applies_nothing(
        app: Flask, runner: FlaskCliRunner, tmp_path: Path, text: str, expected: str) -> None:
    result = apply(runner, tmp_path, text)
    assert result.exit_code != 0
    assert "nothing applied" in result.output
    assert expected in result.output, result.output
    assert counts(app)["units"] == 0
    assert counts(app)["audit_log"] == 0
    # A dry run reports the same problem and fails too.
    dry = apply(runner, tmp_path, text, "--dry-run")
    assert dry.exit_code != 0
    assert expected in dry.output


def test_every_problem_of_a_file_is_listed_at_once(
        app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    text = BAD_HOURS.replace("fee = 10000", "fee = -5").replace('kind = "other"', 'kind = "x"')
    result = apply(runner, tmp_path, text)
    assert result.exit_code != 0
    assert "units[1] (DINKES).kind" in result.output
    assert "units[2] (PKM-A).opening_hours.mon" in result.output
    assert "units[2] (PKM-A).services[1] (UMUM).fee" in result.output


def test_a_cycle_through_the_stored_organisation_is_refused(
        app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    assert apply(runner, tmp_path, SMALL).exit_code == 0
    # DINKES alone in the file, placed under its own stored child PKM-A.
    text = ('[[units]]\ncode = "DINKES"\nname = "Dinas Kesehatan"\nkind = "other"\n'
            'parent = "PKM-A"\n')
    before = counts(app)
    result = apply(runner, tmp_path, text)
    assert result.exit_code != 0
    assert "units[1] (DINKES).parent: a unit cannot be its own ancestor" in result.output
    assert counts(app) == before


def test_left_out_entries_are_deactivated_only_when_asked(
        app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    assert apply(runner, tmp_path, SMALL).exit_code == 0
    without_p2 = SMALL[:SMALL.index('[[units.counters]]\ncode = "P2"')]
    result = apply(runner, tmp_path, without_p2)
    assert result.exit_code == 0, result.output
    assert "no change" in result.output

    dry = apply(runner, tmp_path, without_p2, "--deactivate-missing", "--dry-run")
    assert "deactivate counter PKM-A/P2" in dry.output
    assert read(app, lambda s: s.scalar(select(Counter.active).where(Counter.code == "P2")))

    result = apply(runner, tmp_path, without_p2, "--deactivate-missing")
    assert result.exit_code == 0, result.output
    assert read(app, lambda s: s.scalar(select(Counter.active).where(Counter.code == "P2"))) \
        is False
    # Nothing is deleted: the counter and its token are kept.
    assert counts(app)["counters"] == 2
    assert actions(app).count("org.counter.deactivate") == 1

    # Back in the file, it is reactivated.
    result = apply(runner, tmp_path, SMALL)
    assert "reactivate counter PKM-A/P2" in result.output
    assert read(app, lambda s: s.scalar(select(Counter.active).where(Counter.code == "P2")))
    assert "org.counter.reactivate" in actions(app)


def test_export_then_apply_reports_no_change(
        app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    assert apply(runner, tmp_path, DEMO_ORG_FILE.read_text(encoding="utf-8")).exit_code == 0
    assert apply(runner, tmp_path, SMALL.replace('service = "GIGI"',
                                                 'service = "GIGI"\nactive = false')
                 .replace('kind = "other"', 'kind = "other"\nactive = false')).exit_code == 0

    out = tmp_path / "export.toml"
    result = runner.invoke(args=["org", "export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "active = false" in text
    assert 'code = "DUKCAPIL"' in text and 'code = "PKM-MDK"' in text
    # No secrets: no public token, arrival token or staff check-in code.
    secrets = read(app, lambda s: [*s.scalars(select(CounterToken.token)),
                                   *s.scalars(select(Unit.arrival_token)),
                                   *s.scalars(select(Counter.checkin_token))])
    assert secrets
    for secret in secrets:
        assert secret not in text
    assert "org.export" in actions(app)

    before = counts(app)
    dry = runner.invoke(args=["org", "apply", str(out), "--dry-run", "--deactivate-missing"])
    assert dry.exit_code == 0, dry.output
    assert "no change" in dry.output
    assert counts(app) == before
    # Standard output gives the same document.
    assert runner.invoke(args=["org", "export"]).output == text


def test_the_demo_file_is_valid_and_applies_on_an_empty_database(
        app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["org", "apply", str(DEMO_ORG_FILE), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "create unit DUKCAPIL" in result.output
    assert "create counter PKM-MDK/APOTEK" in result.output


def test_a_failure_while_applying_leaves_nothing_half_written(
        app: Flask, runner: FlaskCliRunner, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the database went away")

    # Units and services are created, then the first counter fails.
    monkeypatch.setitem(orgfile.OPERATIONS, "counter", (broken, *orgfile.OPERATIONS["counter"][1:]))
    result = apply(runner, tmp_path, SMALL)
    assert result.exit_code != 0
    assert counts(app)["units"] == 0
    assert counts(app)["services"] == 0
    assert counts(app)["audit_log"] == 0


def test_deactivate_and_reactivate_commands(
        app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    assert apply(runner, tmp_path, SMALL).exit_code == 0
    result = runner.invoke(args=["org", "deactivate", "counter", "PKM-A/P1"])
    assert result.exit_code == 0, result.output
    assert "now inactive" in result.output
    assert read(app, lambda s: s.scalar(select(Counter.active).where(Counter.code == "P1"))) \
        is False
    assert runner.invoke(args=["org", "deactivate", "counter", "PKM-A/P1"]).output.endswith(
        "already inactive\n")
    assert runner.invoke(args=["org", "reactivate", "counter", "PKM-A/P1"]).exit_code == 0
    assert runner.invoke(args=["org", "deactivate", "unit", "DINKES"]).exit_code == 0
    assert runner.invoke(args=["org", "deactivate", "service", "PKM-A/GIGI"]).exit_code == 0
    logged = actions(app)
    assert {"org.counter.deactivate", "org.counter.reactivate", "org.unit.deactivate",
            "org.service.deactivate"} <= set(logged)
    before = counts(app)
    for args in (["unit", "NOPE"], ["counter", "PKM-A"], ["counter", "PKM-A/\x00"],
                 ["service", "NOPE/UMUM"], ["table", "PKM-A"]):
        bad = runner.invoke(args=["org", "deactivate", *args])
        assert bad.exit_code != 0, args
    assert "is not a counter reference" in runner.invoke(
        args=["org", "deactivate", "counter", "PKM-A/\x00"]).output
    assert "there is no unit with code 'NOPE'" in runner.invoke(
        args=["org", "deactivate", "unit", "NOPE"]).output
    assert counts(app) == before


def test_export_to_an_unwritable_place_fails_cleanly(
        app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    result = runner.invoke(args=["org", "export", "--out", str(tmp_path / "no" / "such.toml")])
    assert result.exit_code != 0
    assert "cannot be written" in result.output
    assert "org.export" not in actions(app)
