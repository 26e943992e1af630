"""Tests for the `flask --app app …` commands through the real CLI runner, on both engines."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app import create_app
from app.config import ALL_INTERFACES, Settings
from app.db import Base, Database
from app.demo import DEMO_PASSWORDS
from app.models import Assignment, Counter, CounterToken, Officer, SurveyVersion, Unit, User
from app.nip import parse_nip
from app.org import create_officer, create_unit
from app.users import verify_password

NIP_A = "198609262015051001"
NIP_B = "199001152016032002"
NIP_C = "197512312001121003"
NIP_D = "198203142008011004"
HEADER = "nip,name,unit,position"


def invoke(app: Flask, runner: FlaskCliRunner, *args: str, **kwargs: Any) -> Result:
    """Run a command through the test CLI runner, as `flask --app app …` would."""
    return runner.invoke(args=list(args), **kwargs)


def db(app: Flask) -> Database:
    database: Database = app.extensions["suara.db"]
    return database


def read(app: Flask, query: Callable[[Session], Any]) -> Any:
    """Run a query in a fresh read-only transaction (sees what the command committed)."""
    with db(app).session_scope(write=False) as session:
        return query(session)


def count(app: Flask, model: type[Base]) -> int:
    return int(read(app, lambda s: s.scalar(select(func.count()).select_from(model))))


def table_counts(app: Flask) -> dict[str, int]:
    def query(session: Session) -> dict[str, int]:
        return {
            table.name: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
        }

    return dict(read(app, query))


def live_tokens(app: Flask) -> set[str]:
    return set(read(app, lambda s: s.scalars(
        select(CounterToken.token).where(CounterToken.retired_at.is_(None))).all()))


@pytest.fixture
def units(app: Flask) -> None:
    """Two units and one officer already registered (NIP_C)."""
    with db(app).session_scope() as session:
        dukcapil = create_unit(session, "DUKCAPIL", "Disdukcapil Lampung Utara", "disdukcapil")
        create_unit(session, "PKM-MDK", "Puskesmas Madukoro", "puskesmas")
        create_officer(session, NIP_C, "Budi Pratama", dukcapil, "Kepala Seksi")


# The CLI runner itself ------------------------------------------------------------------------


def test_top_level_commands_run_without_a_pushed_app_context(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["counters", "--json"])
    assert result.exit_code == 0, result.output


# demo -----------------------------------------------------------------------------------------


def test_demo_seeds_a_believable_kotabumi(app: Flask, runner: FlaskCliRunner,
                                         settings: Settings) -> None:
    result = invoke(app, runner, "demo")
    assert result.exit_code == 0, result.output
    assert "Seeded the demo Kotabumi." in result.output

    unit_rows = read(app, lambda s: s.execute(select(Unit.code, Unit.kind)).all())
    kinds = dict(unit_rows)
    assert len(kinds) >= 4
    assert kinds["DUKCAPIL"] == "disdukcapil"
    assert sum(1 for kind in kinds.values() if kind == "puskesmas") >= 3

    assert count(app, Counter) >= 15
    # Every counter has exactly one live token.
    assert len(live_tokens(app)) == count(app, Counter)

    nips = read(app, lambda s: s.scalars(select(Officer.nip)).all())
    assert 20 <= len(nips) <= 30
    assert len(set(nips)) == len(nips)
    for nip in nips:
        parse_nip(nip)  # raises on a malformed demo NIP

    users = read(app, lambda s: s.scalars(select(User)).all())
    assert {u.role for u in users} >= {"admin", "unit_head", "officer"}
    for user in users:
        assert verify_password(user, DEMO_PASSWORDS[user.role])
        assert user.email in result.output

    assert count(app, Assignment) > 0
    assert count(app, SurveyVersion) >= 1

    # URLs and logins are printed.
    assert f"{settings.public_base_url}/s/" in result.output
    for token in live_tokens(app):
        assert f"{settings.public_base_url}/s/{token}" in result.output
    for password in DEMO_PASSWORDS.values():
        assert password in result.output


def test_demo_twice_changes_nothing(app: Flask, runner: FlaskCliRunner) -> None:
    first = invoke(app, runner, "demo")
    assert first.exit_code == 0, first.output
    before, tokens = table_counts(app), live_tokens(app)

    second = invoke(app, runner, "demo")
    assert second.exit_code == 0, second.output
    assert "nothing seeded" in second.output
    assert "Seeded" not in second.output
    assert table_counts(app) == before
    assert live_tokens(app) == tokens
    # The logins are printed again for the newcomer.
    assert "admin@lampungutara.demo" in second.output


def test_demo_reset_starts_over(app: Flask, runner: FlaskCliRunner) -> None:
    assert invoke(app, runner, "demo").exit_code == 0
    before, tokens = table_counts(app), live_tokens(app)
    with db(app).session_scope() as session:
        create_unit(session, "EXTRA", "A unit added by hand", "other")

    result = invoke(app, runner, "demo", "--reset")
    assert result.exit_code == 0, result.output
    assert "Seeded the demo Kotabumi." in result.output
    assert table_counts(app) == before
    after = live_tokens(app)
    assert len(after) == len(tokens)
    assert after.isdisjoint(tokens)
    assert read(app, lambda s: s.scalar(select(Unit.id).where(Unit.code == "EXTRA"))) is None


def test_demo_refuses_production(settings: Settings) -> None:
    production = create_app(settings.replace(app_env="production"))
    try:
        result = invoke(production, production.test_cli_runner(), "demo")
        assert result.exit_code != 0
        assert "production" in result.output
        assert table_counts(production)["units"] == 0
        assert table_counts(production)["users"] == 0
    finally:
        db(production).dispose()


def test_demo_reset_refuses_production_and_keeps_the_data(settings: Settings) -> None:
    production = create_app(settings.replace(app_env="production"))
    try:
        with db(production).session_scope() as session:
            create_unit(session, "DUKCAPIL", "Disdukcapil Lampung Utara", "disdukcapil")
        result = invoke(production, production.test_cli_runner(), "demo", "--reset")
        assert result.exit_code != 0
        assert "production" in result.output
        assert read(production, lambda s: s.scalars(select(Unit.code)).all()) == ["DUKCAPIL"]
    finally:
        db(production).dispose()


# counters -------------------------------------------------------------------------------------


def test_counters_json(app: Flask, runner: FlaskCliRunner, settings: Settings) -> None:
    assert invoke(app, runner, "demo").exit_code == 0
    result = invoke(app, runner, "counters", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert isinstance(rows, list)
    assert len(rows) >= 15
    assert len(rows) == count(app, Counter)
    prefix = settings.public_base_url + "/s/"
    tokens = live_tokens(app)
    for row in rows:
        assert {"unit", "counter", "name", "url"} <= row.keys()
        assert row["url"].startswith(prefix)
        assert row["url"].removeprefix(prefix) in tokens
    assert {row["url"].removeprefix(prefix) for row in rows} == tokens
    # No NIP, name of an officer or anything personal in the list that goes to the printer.
    nips = read(app, lambda s: s.scalars(select(Officer.nip)).all())
    assert not any(nip in result.stdout for nip in nips)
    assert ("DUKCAPIL", "L1") in {(row["unit"], row["counter"]) for row in rows}


def test_counters_json_on_an_empty_database(app: Flask, runner: FlaskCliRunner) -> None:
    result = invoke(app, runner, "counters", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []


def test_counters_plain_listing(app: Flask, runner: FlaskCliRunner, settings: Settings) -> None:
    assert invoke(app, runner, "demo").exit_code == 0
    result = invoke(app, runner, "counters")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    survey = [line for line in lines if f"{settings.public_base_url}/s/" in line]
    arrival = [line for line in lines if f"{settings.public_base_url}/a/" in line]
    assert len(survey) == count(app, Counter)
    assert len(arrival) == count(app, Unit)
    assert len(lines) == len(survey) + len(arrival)
    for code, token in read(app, lambda s: s.execute(select(Unit.code, Unit.arrival_token)).all()):
        assert any(line.startswith(code) and line.endswith(f"/a/{token}") for line in arrival)


def arrival_urls(app: Flask, settings: Settings) -> dict[str, str]:
    rows = read(app, lambda s: s.execute(select(Unit.code, Unit.arrival_token)).all())
    return {code: f"{settings.public_base_url}/a/{token}" for code, token in rows}


def test_demo_prints_every_arrival_poster_url(app: Flask, runner: FlaskCliRunner,
                                              settings: Settings) -> None:
    result = invoke(app, runner, "demo")
    assert result.exit_code == 0, result.output
    urls = arrival_urls(app, settings)
    assert len(urls) >= 4
    for code, url in urls.items():
        assert any(line.split() == [code, url] for line in result.output.splitlines())
    again = invoke(app, runner, "demo")
    assert all(url in again.output for url in urls.values())


def test_counters_json_carries_the_units_arrival_url(app: Flask, runner: FlaskCliRunner,
                                                     settings: Settings) -> None:
    assert invoke(app, runner, "demo").exit_code == 0
    rows = json.loads(invoke(app, runner, "counters", "--json").stdout)
    urls = arrival_urls(app, settings)
    assert rows and all(row["arrival_url"] == urls[row["unit"]] for row in rows)


# officers import ------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";"], ids=["comma", "semicolon"])
def test_officers_import_good_file(app: Flask, runner: FlaskCliRunner, units: None,
                                   tmp_path: Path, delimiter: str) -> None:
    d = delimiter
    lines = [
        HEADER.replace(",", d),
        f"{NIP_A}{d}\"Ahmad Saputra{d} S.Kom\"{d}DUKCAPIL{d}Petugas Pelayanan",
        f"{NIP_B}{d}Siti Nur'aini{d}PKM-MDK{d}Bidan",
        "",
        f" {NIP_D} {d} Dewi Anggraini {d}DUKCAPIL{d}Operator",
    ]
    path = tmp_path / "officers.csv"
    path.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))

    result = invoke(app, runner, "officers", "import", str(path))
    assert result.exit_code == 0, result.output
    assert "imported 3 officers" in result.output
    rows = read(app, lambda s: s.execute(
        select(Officer.nip, Officer.name, Unit.code, Officer.position)
        .join(Unit, Officer.unit_id == Unit.id).order_by(Officer.nip)).all())
    assert [tuple(r) for r in rows] == sorted([
        (NIP_C, "Budi Pratama", "DUKCAPIL", "Kepala Seksi"),
        (NIP_A, f"Ahmad Saputra{d} S.Kom", "DUKCAPIL", "Petugas Pelayanan"),
        (NIP_B, "Siti Nur'aini", "PKM-MDK", "Bidan"),
        (NIP_D, "Dewi Anggraini", "DUKCAPIL", "Operator"),
    ])


def test_officers_import_bad_file_imports_nothing(app: Flask, runner: FlaskCliRunner,
                                                  units: None, tmp_path: Path) -> None:
    path = tmp_path / "officers.csv"
    path.write_text("\n".join([
        HEADER,                                                   # line 1
        f"{NIP_A},Ahmad Saputra,DUKCAPIL,Petugas",                # line 2: good
        "198613262015051001,Bulan Tigabelas,DUKCAPIL,Petugas",    # line 3: invalid NIP
        f"{NIP_A},Ahmad Kembar,DUKCAPIL,Petugas",                 # line 4: duplicate in file
        f"{NIP_C},Budi Lagi,DUKCAPIL,Petugas",                    # line 5: already in the DB
        f"{NIP_B},Siti Lestari,NOPE,Bidan",                       # line 6: unknown unit
        f"{NIP_D},,DUKCAPIL,Operator",                            # line 7: empty name
        "199512122020121005,Rudi Hidayat,PKM-MDK,Apoteker",       # line 8: good
    ]) + "\n", encoding="utf-8")
    before = count(app, Officer)

    result = invoke(app, runner, "officers", "import", str(path))
    assert result.exit_code != 0
    out = result.output
    assert "nothing imported" in out
    expected = {
        3: "19861326 is not a real birth date",
        4: "also appears on line 2",
        5: "is already registered",
        6: "unknown unit code 'NOPE'",
        7: "name is empty",
    }
    for line, reason in expected.items():
        assert any(f"line {line}:" in text and reason in text for text in out.splitlines()), (
            f"line {line} ({reason}) not reported in:\n{out}"
        )
    assert "line 2:" not in out
    assert "line 8:" not in out
    assert count(app, Officer) == before == 1


def import_lines(app: Flask, runner: FlaskCliRunner, tmp_path: Path, *rows: str) -> Result:
    """`officers import` of a UTF-8 file: the header, then ``rows``."""
    path = tmp_path / "officers.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return invoke(app, runner, "officers", "import", str(path))


@pytest.mark.parametrize(("cell", "shown"), [
    ("Null\x00Byte", "U+0000"),  # PostgreSQL refused it with a traceback; SQLite stored it
    ("Rina \u202eilatsuM", "U+202E"),  # right-to-left override: reversed on the survey page
    ("Ahmad\u200bSaputra", "U+200B"),  # zero-width space
    ("Baris\u2028Dua", "U+2028"),  # line separator
], ids=["nul", "rtl-override", "zero-width", "line-separator"])
def test_officers_import_refuses_invisible_characters_in_names(
    app: Flask, runner: FlaskCliRunner, units: None, tmp_path: Path, cell: str, shown: str
) -> None:
    result = import_lines(app, runner, tmp_path, f"{NIP_A},{cell},DUKCAPIL,Petugas",
                          f"{NIP_B},Siti Lestari,PKM-MDK,Bidan")
    assert result.exit_code != 0
    assert f"line 2: name contains the invisible or control character {shown}" in result.output
    assert "Traceback" not in result.output and "line 3" not in result.output
    assert count(app, Officer) == 1  # nothing imported, the good row neither


def test_officers_import_a_field_over_the_csv_limit_is_reported_by_line(
    app: Flask, runner: FlaskCliRunner, units: None, tmp_path: Path
) -> None:
    result = import_lines(app, runner, tmp_path, f"{NIP_B},Siti Lestari,PKM-MDK,Bidan",
                          f"{NIP_A},\"{'A' * 200_000}\",DUKCAPIL,Petugas")
    assert result.exit_code != 0
    assert "line 3: the file cannot be read from here on as CSV" in result.output
    assert "Traceback" not in result.output
    assert count(app, Officer) == 1


def test_officers_import_non_utf8_file(app: Flask, runner: FlaskCliRunner, units: None,
                                       tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(f"{HEADER}\n{NIP_A},Désiré Sitompul,DUKCAPIL,Staf\n".encode("cp1252"))
    result = invoke(app, runner, "officers", "import", str(path))
    assert result.exit_code != 0
    assert "not UTF-8" in result.output
    assert "Traceback" not in result.output
    assert count(app, Officer) == 1


def test_officers_import_missing_column(app: Flask, runner: FlaskCliRunner, units: None,
                                        tmp_path: Path) -> None:
    path = tmp_path / "officers.csv"
    path.write_text(f"nip,name,position\n{NIP_A},Ahmad,Petugas\n", encoding="utf-8")
    result = invoke(app, runner, "officers", "import", str(path))
    assert result.exit_code != 0
    assert "missing column(s): unit" in result.output
    assert count(app, Officer) == 1


def test_officers_import_header_only(app: Flask, runner: FlaskCliRunner, units: None,
                                     tmp_path: Path) -> None:
    path = tmp_path / "officers.csv"
    path.write_text(HEADER + "\n", encoding="utf-8")
    result = invoke(app, runner, "officers", "import", str(path))
    assert result.exit_code != 0
    assert "no officer rows" in result.output


def test_officers_import_missing_file(app: Flask, runner: FlaskCliRunner,
                                      tmp_path: Path) -> None:
    result = invoke(app, runner, "officers", "import", str(tmp_path / "nope.csv"))
    assert result.exit_code != 0
    assert "does not exist" in result.output


# users create ---------------------------------------------------------------------------------


def test_users_create_unit_head(app: Flask, runner: FlaskCliRunner, units: None) -> None:
    result = invoke(app, runner, "users", "create", "--email", "Kepala@Dukcapil.Example.id",
                    "--role", "unit_head", "--unit", "DUKCAPIL", "--password", "longenoughpw")
    assert result.exit_code == 0, result.output
    assert "created unit_head kepala@dukcapil.example.id" in result.output
    user = read(app, lambda s: s.scalars(select(User)).one())
    unit_id = read(app, lambda s: s.scalar(select(Unit.id).where(Unit.code == "DUKCAPIL")))
    assert (user.email, user.role, user.unit_id) == (
        "kepala@dukcapil.example.id", "unit_head", unit_id
    )
    assert verify_password(user, "longenoughpw")
    assert "longenoughpw" not in user.password_hash


def test_users_create_prompts_for_the_password(app: Flask, runner: FlaskCliRunner) -> None:
    result = invoke(app, runner, "users", "create", "--email", "admin@example.id",
                    "--role", "admin", input="longenoughpw\nlongenoughpw\n")
    assert result.exit_code == 0, result.output
    user = read(app, lambda s: s.scalars(select(User)).one())
    assert verify_password(user, "longenoughpw")
    # The password is not echoed back.
    assert "longenoughpw" not in result.output


def test_users_create_officer_with_nip(app: Flask, runner: FlaskCliRunner, units: None) -> None:
    result = invoke(app, runner, "users", "create", "--email", "budi@example.id",
                    "--role", "officer", "--unit", "DUKCAPIL", "--nip", NIP_C,
                    "--password", "longenoughpw")
    assert result.exit_code == 0, result.output
    officer_id = read(app, lambda s: s.scalar(select(Officer.id).where(Officer.nip == NIP_C)))
    assert read(app, lambda s: s.scalars(select(User.officer_id)).all()) == [officer_id]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--role", "unit_head", "--unit", "NOPE"], "unknown unit code 'NOPE'"),
        (["--role", "officer", "--unit", "DUKCAPIL", "--nip", NIP_B],
         f"no officer with NIP {NIP_B}"),
        (["--role", "officer", "--unit", "DUKCAPIL"], "needs the officer's NIP"),
        (["--role", "unit_head"], "needs a unit"),
        (["--role", "officer", "--unit", "PKM-MDK", "--nip", NIP_C], "does not belong"),
        (["--role", "superuser"], "superuser"),
    ],
    ids=["unknown-unit", "unknown-nip", "officer-without-nip", "head-without-unit",
         "officer-of-other-unit", "unknown-role"],
)
def test_users_create_refusals(app: Flask, runner: FlaskCliRunner, units: None,
                               extra: list[str], message: str) -> None:
    result = invoke(app, runner, "users", "create", "--email", "someone@example.id",
                    "--password", "longenoughpw", *extra)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert count(app, User) == 0


def test_users_create_refuses_a_short_password_and_a_duplicate(
    app: Flask, runner: FlaskCliRunner
) -> None:
    short = invoke(app, runner, "users", "create", "--email", "admin@example.id",
                   "--role", "admin", "--password", "short")
    assert short.exit_code != 0
    assert "at least 10 characters" in short.output
    assert count(app, User) == 0
    # The sign-in form reads 200 characters of a password: a longer one could never sign in.
    long = invoke(app, runner, "users", "create", "--email", "admin@example.id",
                  "--role", "admin", "--password", "p" * 201)
    assert long.exit_code != 0
    assert "at most 200 characters" in long.output
    assert count(app, User) == 0
    assert invoke(app, runner, "users", "create", "--email", "panjang@example.id", "--role",
                  "admin", "--password", "p" * 200).exit_code == 0
    assert invoke(app, runner, "users", "create", "--email", "admin@example.id", "--role",
                  "admin", "--password", "longenoughpw").exit_code == 0
    again = invoke(app, runner, "users", "create", "--email", "ADMIN@example.id", "--role",
                   "admin", "--password", "otherlongpw")
    assert again.exit_code != 0
    assert "already exists" in again.output
    assert count(app, User) == 2


# db -------------------------------------------------------------------------------------------


def test_db_check_passes_on_a_migrated_database(app: Flask, runner: FlaskCliRunner) -> None:
    result = invoke(app, runner, "db", "check")
    assert result.exit_code == 0, result.output
    assert "database at head" in result.output
    assert "no drift" in result.output


def test_db_check_fails_below_head_and_upgrade_repairs(app: Flask,
                                                       runner: FlaskCliRunner) -> None:
    try:
        assert invoke(app, runner, "db", "downgrade", "base").exit_code == 0
        result = invoke(app, runner, "db", "check")
        assert result.exit_code != 0
        assert "database is at revision (empty)" in result.output
        assert "db upgrade" in result.output
    finally:
        # The PostgreSQL schema is shared by the whole session: always put it back.
        upgraded = invoke(app, runner, "db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert invoke(app, runner, "db", "check").exit_code == 0


# surveys sync ---------------------------------------------------------------------------------


def test_surveys_sync_records_once_and_guards_published_versions(
    app: Flask, runner: FlaskCliRunner
) -> None:
    first = invoke(app, runner, "surveys", "sync")
    assert first.exit_code == 0, first.output
    assert "published survey skm-2017 version 1" in first.output
    rows = read(app, lambda s: s.execute(
        select(SurveyVersion.survey_id, SurveyVersion.version, SurveyVersion.content_hash)
    ).all())
    shipped = app.extensions["suara.surveys"][("skm-2017", 1)]
    assert ("skm-2017", 1, shipped.content_hash) in [tuple(r) for r in rows]
    recorded = len(rows)

    second = invoke(app, runner, "surveys", "sync")
    assert second.exit_code == 0, second.output
    assert "published" not in second.output
    assert count(app, SurveyVersion) == recorded

    # Simulate an edited file: the recorded hash no longer matches the file on disk.
    with db(app).session_scope() as session:
        session.execute(update(SurveyVersion)
                        .where(SurveyVersion.survey_id == "skm-2017", SurveyVersion.version == 1)
                        .values(content_hash="0" * 64))
    third = invoke(app, runner, "surveys", "sync")
    assert third.exit_code != 0
    assert "immutable" in third.output
    assert "skm-2017.toml" in third.output
    assert "Traceback" not in third.output
    assert count(app, SurveyVersion) == recorded
    stored = read(app, lambda s: s.scalar(select(SurveyVersion.content_hash).where(
        SurveyVersion.survey_id == "skm-2017", SurveyVersion.version == 1)))
    assert stored == "0" * 64


# serve ------------------------------------------------------------------------------------------


def serve_with(settings: Settings, monkeypatch: pytest.MonkeyPatch, *args: str,
               lan: str | None = "192.168.1.20") -> tuple[Result, dict[str, Any]]:
    """Run `serve --no-scheduler` with werkzeug's server replaced by a recorder."""
    import app.cli.serve as serve_module
    from app import config

    served: dict[str, Any] = {}

    def record(host: str, port: int, application: Flask, **options: Any) -> None:
        served.update(host=host, port=port)

    monkeypatch.setattr(serve_module, "run_simple", record)
    monkeypatch.setattr(config, "lan_address", lambda: lan)
    application = create_app(settings)
    result = application.test_cli_runner().invoke(args=["serve", "--no-scheduler", *args])
    return result, served


def test_serve_listens_on_host_and_port_and_prints_that_address(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    result, served = serve_with(settings.replace(host="127.0.0.2", port=5077), monkeypatch)
    assert result.exit_code == 0, result.output
    assert served == {"host": "127.0.0.2", "port": 5077}
    assert "http://127.0.0.2:5077" in result.output
    assert ":5000" not in result.output


def test_serve_on_every_interface_prints_loopback_and_the_lan_address(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    result, served = serve_with(settings.replace(port=5077), monkeypatch, "--host", ALL_INTERFACES)
    assert result.exit_code == 0, result.output
    assert served == {"host": ALL_INTERFACES, "port": 5077}
    assert "http://127.0.0.1:5077" in result.output
    assert "http://192.168.1.20:5077" in result.output
    assert ALL_INTERFACES not in result.output


def test_serve_says_when_phones_cannot_reach_it(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    result, _ = serve_with(settings.replace(host=ALL_INTERFACES), monkeypatch, lan=None)
    assert result.exit_code == 0, result.output
    assert "no network address of this machine was found" in result.output
    assert "PUBLIC_BASE_URL" in result.output
