"""`flask --app app report`: a unit's SKM report for a month, quarter, semester or year, as
PDF or XLSX."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext
from flask_babel import force_locale

from app.db import utcnow
from app.extensions import database, settings
from app.i18n import LOCALES
from app.org import CODE_PATTERN, unit_by_code
from app.report import ReportError, build_report, report_period
from app.report_files import FORMATS, filename


def _english(error: ReportError) -> str:
    """The refusal in English, as the other commands speak (the report has --lang)."""
    with force_locale("en"):
        return error.text()


@click.command("report")
@click.option("--unit", "code", required=True, help="The unit's code, e.g. DUKCAPIL.")
@click.option("--period", required=True,
              help="2026-11 (month), 2026-Q4 (quarter), 2026-S2 (semester) or 2026 (year): "
                   "the ISO weeks whose Thursday falls in it.")
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), default="pdf",
              show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Output file (default: skm-CODE-PERIOD.pdf|xlsx in this directory).")
@click.option("--public", is_flag=True,
              help="The public version: no signature block (no name or NIP); needs "
                   "OFFICER_MIN_N responses.")
@click.option("--lang", type=click.Choice(LOCALES),
              help="The report's language (default: DEFAULT_LOCALE).")
@with_appcontext
def report_command(code: str, period: str, fmt: str, out: Path | None, public: bool,
                   lang: str | None) -> None:
    """Write the unit's SKM report: method, respondents, NRR and IKM with the conversion
    table, follow-up plan (RTL), trend and signature block; figures as `indicators`."""
    try:
        kind, label = report_period(period)
    except ReportError as error:
        raise click.ClickException(f"--period: {_english(error)} Nothing written.") from None
    with database().session_scope(write=False) as session:
        unit = unit_by_code(session, code) if CODE_PATTERN.fullmatch(code) else None
        if unit is None:
            raise click.ClickException(f"--unit: no unit with code {code!r}. Nothing written.")
        try:
            report = build_report(session, unit, kind, label, now=utcnow(), tz=settings().tz,
                                  public=public,
                                  min_n=settings().officer_min_n if public else 0)
        except ReportError as error:
            raise click.ClickException(f"{_english(error)} Nothing written.") from None
    data = FORMATS[fmt].render(report, lang or settings().default_locale)
    target = out or Path(filename(report, fmt))
    try:
        target.write_bytes(data)
    except OSError as error:
        raise click.ClickException(f"--out: cannot write {target}: {error.strerror}") from None
    click.echo(f"wrote {target} ({len(data)} bytes): IKM {report.ikm} "
               f"({report.category.letter}), n={report.n}", err=True)
