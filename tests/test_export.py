"""`flask --app app export responses`: the back office's raw file, through the real command."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from factories import (
    NIP,
    OTHER_NIP,
    make_officer,
    make_other_unit,
    make_unit,
    put_on_duty,
    record,
    release,
)
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy.orm import Session

from app.export import COLUMNS

README = Path(__file__).resolve().parents[1] / "README.md"
# 16:59:59 UTC is 23:59:59 WIB on the 16th; 17:00 UTC is already the 17th there.
LAST_OF_16TH = datetime(2026, 11, 16, 16, 59, 59, tzinfo=UTC)
FIRST_OF_17TH = datetime(2026, 11, 16, 17, 0, tzinfo=UTC)
HOSTILE = ["=HYPERLINK(\"http://evil.example\",\"klik\")", "+62 812 3456", "-1+1", "@SUM(A1)"]


@dataclass
class World:
    home_ids: list[str]  # responses at Disdukcapil, oldest first
    other_id: str  # one at the Puskesmas


@pytest.fixture
def world(app: Flask, session: Session) -> World:
    home, other = make_unit(session), make_other_unit(session)
    officer = make_officer(session, home)
    put_on_duty(session, officer, home.counter, LAST_OF_16TH)
    stranger = make_officer(session, other, OTHER_NIP, "Siti Puskesmas")
    put_on_duty(session, stranger, other.counter, LAST_OF_16TH)
    home_ids = [str(record(app, session, home.counter, at, comment=comment).client_id)
                for at, comment in ((LAST_OF_16TH, HOSTILE[0]), (FIRST_OF_17TH, HOSTILE[1]))]
    home_ids += [str(record(app, session, home.counter, FIRST_OF_17TH.replace(minute=minute),
                            comment=comment, scores=(4, 3, 2, 1, 4, 3, 2, 1, 4)).client_id)
                 for minute, comment in ((5, HOSTILE[2]), (6, HOSTILE[3]))]
    other_id = str(record(app, session, other.counter, LAST_OF_16TH, comment=None).client_id)
    release(session)
    return World(home_ids, other_id)


def export(runner: FlaskCliRunner, *args: str) -> str:
    result = runner.invoke(args=["export", "responses", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_csv_has_the_documented_columns_in_order(
    runner: FlaskCliRunner, world: World
) -> None:
    text = export(runner, "--format", "csv")
    header = text.splitlines()[0].split(",")
    assert header == list(COLUMNS)
    documented = re.search(r"`flask --app app export responses` writes one row per response in "
                           r"this stable order[^`]*`([^`]+)`", README.read_text(), re.S)
    assert documented is not None
    names = [n.strip() for n in documented.group(1).replace("\n", " ").split(",")]
    expanded = [c for n in names for c in ([f"U{i}" for i in range(1, 10)]
                                           if n == "U1 … U9" else [n])]
    assert expanded == list(COLUMNS)


def test_one_row_per_response_with_officers_by_name_and_nip_and_no_hashes(
    runner: FlaskCliRunner, world: World
) -> None:
    text = export(runner)
    rows = csv_rows(text)
    assert [r["created_at"] for r in rows] == sorted(r["created_at"] for r in rows)  # oldest first
    assert sorted(r["response_id"] for r in rows) == sorted([*world.home_ids, world.other_id])
    home = [r for r in rows if r["unit"] == "DUKCAPIL"]
    assert {(r["officer_nip"], r["officer_name"]) for r in home} == {(NIP, "Ahmad Saputra")}
    assert home[0]["created_local"] == "2026-11-16T23:59:59+07:00"
    assert home[0]["created_at"] == "2026-11-16T16:59:59+00:00"
    last = next(r for r in rows if r["response_id"] == world.home_ids[-1])
    assert [last[f"U{i}"] for i in range(1, 10)] == list("432143214")
    assert {r["channel"] for r in rows} == {"qr"}
    assert "hash" not in text.lower() and "ip_" not in text


def test_cells_that_start_like_a_formula_are_neutralised(
    runner: FlaskCliRunner, world: World
) -> None:
    comments = {r["response_id"]: r["comment"] for r in csv_rows(export(runner))}
    assert [comments[i] for i in world.home_ids] == ["'" + h for h in HOSTILE]
    # JSON Lines is not read by spreadsheets: values as stored.
    lines = [json.loads(line) for line in export(runner, "--format", "jsonl").splitlines()]
    assert {line["response_id"]: line["comment"] for line in lines}[world.home_ids[0]] \
        == HOSTILE[0]


def test_jsonl_has_one_object_per_response_with_the_same_keys_in_order(
    runner: FlaskCliRunner, world: World
) -> None:
    lines = export(runner, "--format", "jsonl").splitlines()
    assert len(lines) == 5
    for line in lines:
        assert list(json.loads(line)) == list(COLUMNS)
    scores = json.loads(lines[-1])
    assert isinstance(scores["U1"], int) and scores["flag_repeat"] is False


def test_unit_and_local_days_narrow_the_export(runner: FlaskCliRunner, world: World) -> None:
    def ids(*args: str) -> list[str]:
        return [r["response_id"] for r in csv_rows(export(runner, *args))]

    assert set(ids("--unit", "PKM-KTB2")) == {world.other_id}
    # Local days in WIB: 16:59:59 UTC belongs to the 16th, 17:00 UTC to the 17th.
    assert set(ids("--to", "2026-11-16")) == {world.home_ids[0], world.other_id}
    assert set(ids("--from", "2026-11-17")) == set(world.home_ids[1:])
    assert set(ids("--from", "2026-11-16", "--to", "2026-11-16", "--unit", "DUKCAPIL")) \
        == {world.home_ids[0]}
    # The ends of the calendar cut nothing (they made a traceback before).
    assert len(ids("--from", "0001-01-01", "--to", "9999-12-31")) == 5


@pytest.mark.parametrize(("args", "message"), [
    (["--unit", "NOPE"], "unknown unit code 'NOPE'"),
    (["--from", "2026-11-18", "--to", "2026-11-17"], "--from is after --to"),
    (["--from", "17-11-2026"], "Invalid value for '--from'"),
    (["--format", "xlsx"], "Invalid value for '--format'"),
])
def test_bad_arguments_are_explained_and_write_nothing(
    runner: FlaskCliRunner, world: World, tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "responses.csv"
    result = runner.invoke(args=["export", "responses", *args, "--out", str(out)])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_out_writes_the_file_and_reports_the_count(
    runner: FlaskCliRunner, world: World, tmp_path: Path
) -> None:
    out = tmp_path / "responses.csv"
    result = runner.invoke(args=["export", "responses", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "exported 5 responses" in result.stderr
    assert len(csv_rows(out.read_text(encoding="utf-8"))) == 5


@pytest.mark.parametrize(("fmt", "content"), [("jsonl", ""), ("csv", None)])
def test_an_export_of_nothing_still_writes_the_file(
    runner: FlaskCliRunner, world: World, tmp_path: Path, fmt: str, content: str | None
) -> None:
    """A script reads the file it asked for, even when no response matched."""
    out = tmp_path / f"responses.{fmt}"
    result = runner.invoke(args=["export", "responses", "--format", fmt,
                                 "--from", "2001-01-01", "--to", "2001-01-02", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "exported 0 responses" in result.stderr
    text = out.read_text(encoding="utf-8")
    if content is None:
        assert csv_rows(text) == []
        assert text.startswith("response_id,")
    else:
        assert text == content


def test_every_text_column_is_neutralised_not_only_the_comment(
    app: Flask, session: Session, runner: FlaskCliRunner
) -> None:
    """Names come from staff and imports: a unit, counter, service or officer name can start
    like a formula too."""
    seeded = make_unit(session, "FORMULA", "=1+1 Unit", services=(("S1", "+Layanan"),
                                                                   ("S2", "Biasa")),
                       counter=("L1", "-Loket"))
    officer = make_officer(session, seeded, NIP, "@Petugas")
    put_on_duty(session, officer, seeded.counter, LAST_OF_16TH)
    record(app, session, seeded.counter, LAST_OF_16TH, service="S1", comment="biasa")
    release(session)
    (row,) = csv_rows(export(runner))
    assert (row["unit_name"], row["counter_name"], row["service_name"], row["officer_name"]) \
        == ("'=1+1 Unit", "'-Loket", "'+Layanan", "'@Petugas")
    assert row["comment"] == "biasa"
    (line,) = [json.loads(text) for text in export(runner, "--format", "jsonl").splitlines()]
    assert line["unit_name"] == "=1+1 Unit" and line["officer_name"] == "@Petugas"
