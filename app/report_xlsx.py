"""The SKM report as a spreadsheet (openpyxl): a sheet per section, values in cells.

Counts are integers, dates are dates, each NRR is the 4-decimal value ``indicators --json``
gives, the IKM its 2-decimal value, a share its value (formatted as a percentage), and
each element's weight is the formula ``=1/9``, which the weighted NRR multiplies: never
0.111.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from io import BytesIO
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from app.report import ActionRow, SkmReport
from app.report_text import (
    answer_label,
    category_label,
    channel_label,
    period_title,
    sample_verdict,
    share_value,
    state_label,
    table_title,
)

NRR_FORMAT = "0.0000"
IKM_FORMAT = "0.00"
SHARE_FORMAT = "0.00%"
DATE_FORMAT = "yyyy-mm-dd"
BOLD = Font(bold=True)
HEAD_FILL = PatternFill("solid", fgColor="E4E4E4")


def _number(value: Decimal) -> float:
    """A Decimal as the cell's number (the same float ``json.dumps`` writes)."""
    return float(value)


def _put(sheet: Worksheet, row: Sequence[Any], formats: dict[int, str] | None = None, *,
         bold: bool = False) -> int:
    """Append a row (formats by 0-based column), return its 1-based row number."""
    sheet.append(list(row))
    number = sheet.max_row
    for column, value in enumerate(row, start=1):
        cell = sheet.cell(row=number, column=column)
        if isinstance(value, date):
            cell.number_format = DATE_FORMAT
        if formats and column - 1 in formats:
            cell.number_format = formats[column - 1]
        if bold:
            cell.font = BOLD
    return number


def _header(sheet: Worksheet, names: Sequence[str]) -> None:
    number = _put(sheet, names, bold=True)
    for column in range(1, len(names) + 1):
        sheet.cell(row=number, column=column).fill = HEAD_FILL


def _widths(sheet: Worksheet, widths: Sequence[int]) -> None:
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width


def render_xlsx(report: SkmReport, locale: str) -> bytes:
    """The report as XLSX bytes in ``locale`` ("id" or "en"); needs an application context."""
    book = Workbook()
    with force_locale(locale):
        book.properties.title = (f"{_('Community Satisfaction Survey (SKM) report')}: "
                                 f"{report.unit_name}, {report.name}")
        book.properties.creator = "Suara Warga"
        method = book.active
        assert method is not None  # noqa: S101 (a new workbook has its first sheet)
        _method(method, report, locale)
        _respondents(book.create_sheet(_("Respondents")), report, locale)
        _results(book.create_sheet(_("Results")), report, locale)
        _conversion(book.create_sheet(_("Conversion")), report, locale)
        _actions(book.create_sheet(_("Follow-up plan")), report.rtl, report.name, locale)
        _actions(book.create_sheet(_("Previous plan")), report.previous_rtl,
                 report.previous_name, locale)
        _trend(book.create_sheet(_("Trend")), report, locale)
        if report.signature is not None:
            _signature(book.create_sheet(_("Signature")), report)
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _method(sheet: Worksheet, report: SkmReport, locale: str) -> None:
    sheet.title = _("Method")
    _widths(sheet, (36, 60))
    _header(sheet, (_("Item"), _("Value")))
    rows: list[tuple[str, Any]] = [
        (_("Service unit"), report.unit_name),
        (_("Unit code"), report.unit_code),
        (_("Location"), report.unit_address),
        (_("Period"), report.name),
        (_("Period name"), period_title(report, locale)),
        (_("First day"), report.first_day),
        (_("Last day"), report.last_day),
        (_("Working days"), report.working_days),
        (_("Questionnaire"), f"{report.regulation} ({', '.join(report.surveys)})"),
        *((_("Answers by %(channel)s", channel=channel_label(code)), count)
          for code, count in report.channels),
        (_("Population (people served)"), report.served),
        (_("Minimum sample (Krejcie–Morgan)"), report.required),
        (_("Respondents"), report.n),
        (_("Flagged answers, not counted"), report.flagged),
        (_("Sample"), sample_verdict(report)),
        (_("Version"), _("public version") if report.public else _("signed version")),
        (_("Made on"), report.generated_on),
    ]
    for row in rows:
        _put(sheet, row)


def _respondents(sheet: Worksheet, report: SkmReport, locale: str) -> None:
    _widths(sheet, (44, 16, 12, 12))
    for index, table in enumerate(report.profile):
        if index:
            sheet.append([])
        _put(sheet, (table_title(table, locale),), bold=True)
        _header(sheet, (_("Answer"), _("Code"), _("Count"), _("Share")))
        for row in table.rows:
            _put(sheet, (answer_label(row.label.get(locale) if row.label else None),
                         row.code, row.count, _number(share_value(row.share))),
                 {3: SHARE_FORMAT})
        _put(sheet, (_("Total"), None, table.total, 1 if table.total else 0),
             {3: SHARE_FORMAT}, bold=True)


def _results(sheet: Worksheet, report: SkmReport, locale: str) -> None:
    _widths(sheet, (8, 46, 14, 10, 10, 10, 16))
    _header(sheet, (_("Code"), _("Element"), _("Total score"), "n", "NRR", _("Weight"),
                    _("Weighted NRR")))
    first = sheet.max_row + 1
    for row in report.elements:
        number = sheet.max_row + 1
        _put(sheet, (row.code, row.name.get(locale), row.total, report.n,
                     _number(row.nrr), "=1/9", f"=E{number}*F{number}"),
             {4: NRR_FORMAT, 5: "0.000000", 6: NRR_FORMAT})
    last = sheet.max_row
    _put(sheet, (None, _("Sum of weighted NRR (index, 1–4)"), None, None, None, None,
                 f"=SUM(G{first}:G{last})"), {6: NRR_FORMAT}, bold=True)
    _put(sheet, (None, _("IKM (index × 25)"), None, None, None, None,
                 _number(report.ikm)), {6: IKM_FORMAT}, bold=True)
    _put(sheet, (None, _("Service quality"), None, None, None, None,
                 report.category.letter), bold=True)
    _put(sheet, (None, _("Unit performance"), None, None, None, None,
                 category_label(report.category, locale)), bold=True)
    sheet.append([])
    _put(sheet, (None, _("The IKM is computed from the exact scores (25 × total score ÷ "
                         "(9 × n)), rounded half up to 2 decimals; the NRRs shown are "
                         "rounded to 4."),))


def _conversion(sheet: Worksheet, report: SkmReport, locale: str) -> None:
    _widths(sheet, (16, 14, 14, 14, 14, 16, 18))
    _header(sheet, (_("Perception value"), _("NRR from"), _("NRR to"), _("IKM from"),
                    _("IKM to"), _("Service quality"), _("Unit performance")))
    for row in report.conversion:
        _put(sheet, (row.perception, _number(row.nrr_low), _number(row.nrr_high),
                     _number(row.ikm_low), _number(row.ikm_high), row.category.letter,
                     category_label(row.category, locale)),
             {1: "0.00##", 2: "0.00##", 3: IKM_FORMAT, 4: IKM_FORMAT})


def _actions(sheet: Worksheet, actions: Sequence[ActionRow], period: str, locale: str) -> None:
    _widths(sheet, (6, 8, 30, 50, 20, 12, 12, 24, 16, 12))
    _put(sheet, (_("Period: %(period)s", period=period),), bold=True)
    _header(sheet, (_("No."), _("Code"), _("Priority element"), _("Programme or activity"),
                    _("Counter or service"), _("Starts on"), _("Due on"),
                    _("Who is responsible"), _("State"), _("Overdue")))
    for action in actions:
        _put(sheet, (action.number, action.element, action.element_name.get(locale),
                     action.what, action.where, action.starts_on, action.due_on, action.who,
                     state_label(action.state), _("overdue") if action.overdue else None))


def _trend(sheet: Worksheet, report: SkmReport, locale: str) -> None:
    _widths(sheet, (14, 12, 12, 12, 10, 10, 16))
    _header(sheet, (_("Period"), _("First day"), _("Last day"), _("Respondents"), "IKM",
                    _("Service quality"), _("Unit performance")))
    for row in report.trend:
        _put(sheet, (row.name, row.first_day, row.last_day, row.n,
                     _number(row.ikm) if row.ikm is not None else None,
                     row.category.letter if row.category else None,
                     category_label(row.category, locale) if row.category else None),
             {4: IKM_FORMAT}, bold=row.current)


def _signature(sheet: Worksheet, report: SkmReport) -> None:
    signature = report.signature
    assert signature is not None  # noqa: S101 (only the signed version has this sheet)
    _widths(sheet, (24, 50))
    position = signature.position or _("Unit head")
    if signature.acting:
        position = _("Acting %(position)s", position=position)
    for row in ((_("Made on"), report.generated_on), (_("Position"), position),
                (_("Service unit"), report.unit_name), (_("Name"), signature.name),
                ("NIP", signature.nip)):
        _put(sheet, row)
    # A NIP is an identifier of 18 digits, never a number (it would lose its last digits).
    sheet.cell(row=sheet.max_row, column=2).number_format = "@"
