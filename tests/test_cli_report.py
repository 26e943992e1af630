"""`flask --app app report`: files written under their names, the languages, the public
version, and one-line refusals that write nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from factories import release
from flask import Flask
from flask.testing import FlaskCliRunner
from openpyxl import load_workbook
from report_world import HEAD_NIP, NOW, ReportWorld, pdf_text, seed_q4
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import AuditEntry, Indicator


@pytest.fixture
def world(app: Flask, session: Session, monkeypatch: pytest.MonkeyPatch) -> ReportWorld:
    monkeypatch.setattr("app.cli.report.utcnow", lambda: NOW)
    made = seed_q4(app, session)
    release(session)
    return made


def report(runner: FlaskCliRunner, *args: str) -> tuple[int, str]:
    result = runner.invoke(args=["report", *args])
    return result.exit_code, result.output


def test_the_default_file_is_named_after_the_unit_and_period(
    world: ReportWorld, runner: FlaskCliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, output = report(runner, "--unit", "DUKCAPIL", "--period", "2026-Q4")
    assert code == 0, output
    written = tmp_path / "skm-DUKCAPIL-2026-Q4.pdf"
    assert written.read_bytes().startswith(b"%PDF-")
    assert f"wrote skm-DUKCAPIL-2026-Q4.pdf ({written.stat().st_size} bytes)" in output
    code, output = report(runner, "--unit", "DUKCAPIL", "--period", "2026-Q4", "--format",
                          "xlsx", "--public")
    assert code == 0, output
    book = load_workbook(tmp_path / "skm-DUKCAPIL-2026-Q4-publik.xlsx")
    assert not any(HEAD_NIP in str(value) for sheet in book.worksheets
                   for row in sheet.iter_rows(values_only=True) for value in row)


def test_the_public_pdf_leaves_out_the_nip_and_the_signed_one_has_it(
    world: ReportWorld, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    for flag, name in (([], "signed.pdf"), (["--public"], "public.pdf")):
        code, output = report(runner, "--unit", "DUKCAPIL", "--period", "2026-Q4", "--out",
                              str(tmp_path / name), *flag)
        assert code == 0, output
    assert HEAD_NIP in "\n".join(pdf_text((tmp_path / "signed.pdf").read_bytes()))
    assert HEAD_NIP not in "\n".join(pdf_text((tmp_path / "public.pdf").read_bytes()))


def test_the_language_is_chosen_with_lang(
    world: ReportWorld, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    for lang in ("id", "en"):
        code, output = report(runner, "--unit", "DUKCAPIL", "--period", "2026-11", "--lang",
                              lang, "--out", str(tmp_path / f"{lang}.pdf"))
        assert code == 0, output
    indonesian = "\n".join(pdf_text((tmp_path / "id.pdf").read_bytes()))
    english = "\n".join(pdf_text((tmp_path / "en.pdf").read_bytes()))
    # November 2026 is Monday 2 to Sunday 29 November.
    assert "2 November 2026" in indonesian and "29 November 2026" in indonesian
    assert "November 2, 2026" in english and "November 29, 2026" in english


@pytest.mark.parametrize(("args", "message"), [
    (["--unit", "NOPE", "--period", "2026-Q4"], "--unit: no unit with code 'NOPE'"),
    (["--unit", "DUK\x00", "--period", "2026-Q4"], "--unit: no unit with code"),
    (["--unit", "DUKCAPIL", "--period", "2026-Q5"], "--period: Write the period as"),
    (["--unit", "DUKCAPIL", "--period", "2026-W48"], "not a week such as 2026-W48"),
    (["--unit", "DUKCAPIL", "--period", "1999"], "--period: Write the period as"),
    (["--unit", "DUKCAPIL", "--period", "2027-Q2"],
     "DUKCAPIL has no scored responses in 2027-Q2 (2027-03-29 to 2027-06-27)"),
    (["--unit", "DUKCAPIL", "--period", "2026-10", "--public"],
     "DUKCAPIL has 4 scored responses in 2026-10; a public report needs at least 10"),
])
def test_refusals_are_one_line_and_write_nothing(
    world: ReportWorld, runner: FlaskCliRunner, tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "report.pdf"
    code, output = report(runner, *args, "--out", str(out))
    assert code == 1
    assert message in output and "Nothing written." in output
    assert len(output.strip().splitlines()) == 1
    assert not out.exists()


def test_a_format_or_a_file_it_cannot_write_is_refused(
    world: ReportWorld, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    code, output = report(runner, "--unit", "DUKCAPIL", "--period", "2026-Q4", "--format",
                          "doc")
    assert code == 2 and "'doc' is not one of 'pdf', 'xlsx'" in output
    code, output = report(runner, "--unit", "DUKCAPIL", "--period", "2026-Q4", "--out",
                          str(tmp_path / "missing" / "report.pdf"))
    assert code == 1 and "--out: cannot write" in output
    assert not os.path.exists(tmp_path / "missing")


def test_the_report_reads_only(world: ReportWorld, runner: FlaskCliRunner, tmp_path: Path,
                               session: Session) -> None:
    def counts() -> tuple[int, int]:
        found = (session.scalar(select(func.count()).select_from(Indicator)) or 0,
                 session.scalar(select(func.count()).select_from(AuditEntry)) or 0)
        release(session)
        return found

    before = counts()
    code, output = report(runner, "--unit", "DUKCAPIL", "--period", "2026", "--out",
                          str(tmp_path / "year.pdf"))
    assert code == 0, output
    assert counts() == before
