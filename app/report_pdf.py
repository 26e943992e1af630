"""The SKM report as an A4 PDF (reportlab): a table per section, in one language.

The text is set in Bitstream Vera, the TrueType family shipped inside reportlab (embedded,
so Indonesian names, dashes and the "×" of the formula render everywhere, with no font
download and no system font needed).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from functools import cache
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape

from flask_babel import force_locale
from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from app.report import SkmReport
from app.report_text import (
    answer_label,
    bound,
    category_label,
    channels_text,
    elements_text,
    long_date,
    number,
    percent,
    period_days,
    period_title,
    sample_verdict,
    short_date,
    state_label,
    table_title,
)

FONT, BOLD = "SuaraVera", "SuaraVera-Bold"
MARGIN = 18 * mm
WIDTH = A4[0] - 2 * MARGIN
GRID = colors.HexColor("#8a8a8a")
HEAD = colors.HexColor("#e4e4e4")
MARK = colors.HexColor("#fff2b3")


@cache
def _fonts() -> None:
    """Register the report's fonts once per process."""
    pdfmetrics.registerFont(TTFont(FONT, "Vera.ttf"))
    pdfmetrics.registerFont(TTFont(BOLD, "VeraBd.ttf"))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=FONT, boldItalic=BOLD)


@cache
def _styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=12.5, spaceAfter=4)
    return {
        "body": body,
        "cell": ParagraphStyle("cell", parent=body, fontSize=8.5, leading=10.5, spaceAfter=0),
        "head": ParagraphStyle("head", parent=body, fontName=BOLD, fontSize=8.5, leading=10.5,
                               spaceAfter=0),
        "num": ParagraphStyle("num", parent=body, fontSize=8.5, leading=10.5, spaceAfter=0,
                              alignment=TA_RIGHT),
        "num-bold": ParagraphStyle("num-bold", parent=body, fontName=BOLD, fontSize=8.5,
                                   leading=10.5, spaceAfter=0, alignment=TA_RIGHT),
        "title": ParagraphStyle("title", parent=body, fontName=BOLD, fontSize=15, leading=19,
                                spaceAfter=6),
        "h1": ParagraphStyle("h1", parent=body, fontName=BOLD, fontSize=12, leading=15,
                             spaceBefore=10, spaceAfter=5),
        "h2": ParagraphStyle("h2", parent=body, fontName=BOLD, fontSize=10, leading=13,
                             spaceBefore=6, spaceAfter=3),
        "sign": ParagraphStyle("sign", parent=body, leftIndent=WIDTH * 0.55, spaceAfter=2),
    }


def _p(text: str, style: str = "body") -> Paragraph:
    """A paragraph of plain text (escaped: names and actions are data)."""
    return Paragraph(escape(text), _styles()[style])


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float],
           numeric: Sequence[int] = (), *, marked: Sequence[int] = (), totals: int = 0
           ) -> Table:
    """A grid with a repeated header row; ``numeric`` columns right-aligned, ``marked``
    body rows highlighted, the last ``totals`` rows in bold."""
    cells: list[list[Any]] = [[_p(text, "head") for text in header]]
    for index, row in enumerate(rows):
        bold = index >= len(rows) - totals
        kinds = ("num-bold", "head") if bold else ("num", "cell")
        cells.append([_p(text, kinds[0] if column in numeric else kinds[1])
                      for column, text in enumerate(row)])
    style: list[Any] = [
        ("GRID", (0, 0), (-1, -1), 0.4, GRID), ("BACKGROUND", (0, 0), (-1, 0), HEAD),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        *(("BACKGROUND", (0, row + 1), (-1, row + 1), MARK) for row in marked)]
    table = Table(cells, colWidths=[WIDTH * share for share in widths], repeatRows=1,
                  hAlign="LEFT")
    table.setStyle(TableStyle(style))
    return table


def render_pdf(report: SkmReport, locale: str) -> bytes:
    """The report as PDF bytes in ``locale`` ("id" or "en"); needs an application context."""
    _fonts()
    buffer = BytesIO()
    with force_locale(locale):
        title = _("Community Satisfaction Survey (SKM) report")
        document = SimpleDocTemplate(
            buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
            bottomMargin=MARGIN, title=f"{title}: {report.unit_name}, {report.name}",
            author=report.unit_name, creator="Suara Warga", lang=locale, invariant=True)
        footer = _footer(report, locale)

        def on_page(canvas: Canvas, doc: SimpleDocTemplate) -> None:
            canvas.saveState()
            canvas.setFont(FONT, 7.5)
            canvas.drawString(MARGIN, MARGIN / 2, footer)
            canvas.drawRightString(A4[0] - MARGIN, MARGIN / 2,
                                   _("page %(page)d", page=doc.page))
            canvas.restoreState()

        document.build(_story(report, locale, title), onFirstPage=on_page,
                       onLaterPages=on_page)
    return buffer.getvalue()


def _footer(report: SkmReport, locale: str) -> str:
    made = _("made on %(date)s", date=long_date(report.generated_on, locale))
    version = _("public version") if report.public else _("signed version")
    return f"SKM · {report.unit_code} · {report.name} · {version} · {made}"


def _story(report: SkmReport, locale: str, title: str) -> list[Flowable]:
    story: list[Flowable] = [
        _p(title, "title"), _p(report.unit_name, "h2"),
        _p(f"{period_title(report, locale)} ({report.name}): {period_days(report, locale)}")]
    if not report.complete:
        story.append(_p(_("Interim figures: the period ends on %(date)s.",
                          date=long_date(report.last_day, locale))))
    if report.public:
        story.append(_p(_("Public version: without the signature block.")))
    story += _method(report, locale)
    story += _respondents(report, locale)
    story += _results(report, locale)
    story += _analysis(report, locale)
    story += _conclusion(report, locale)
    return story


def _method(report: SkmReport, locale: str) -> list[Flowable]:
    def whole(value: int | None) -> str:
        return number(value, 0, locale) if value is not None else _("not entered")

    rows = [
        (_("Service unit"), f"{report.unit_name} ({report.unit_code})"),
        (_("Location"), report.unit_address or "–"),
        (_("Period"), period_days(report, locale)),
        (_("Working days"), number(report.working_days, 0, locale)),
        (_("Questionnaire"), _("%(regulation)s: nine elements scored 1 to 4 (%(versions)s)",
                               regulation=report.regulation,
                               versions=", ".join(report.surveys))),
        (_("Data collection"), channels_text(report, locale)),
        (_("Population (people served)"), whole(report.served)),
        (_("Minimum sample (Krejcie–Morgan)"),
         whole(report.required) if report.served else "–"),
        (_("Respondents"), number(report.n, 0, locale)),
        (_("Flagged answers, not counted"), number(report.flagged, 0, locale)),
        (_("Sample"), sample_verdict(report)),
    ]
    return [_p(_("I. Method"), "h1"),
            _table((_("Item"), _("Value")), rows, (0.35, 0.65))]


def _respondents(report: SkmReport, locale: str) -> list[Flowable]:
    story: list[Flowable] = [_p(_("II. Respondents"), "h1")]
    for table in report.profile:
        rows = [(answer_label(row.label.get(locale) if row.label else None),
                 number(row.count, 0, locale), percent(row.share, locale))
                for row in table.rows]
        rows.append((_("Total"), number(table.total, 0, locale),
                     percent(Fraction(1 if table.total else 0), locale)))
        story.append(KeepTogether([
            _p(table_title(table, locale), "h2"),
            _table((table_title(table, locale), _("Count"), _("Share")), rows,
                   (0.6, 0.2, 0.2), (1, 2), totals=1)]))
    return story


def _results(report: SkmReport, locale: str) -> list[Flowable]:
    rows = [(row.code, row.name.get(locale), number(row.total, 0, locale),
             number(row.nrr, 4, locale), "1/9", number(row.weighted, 4, locale))
            for row in report.elements]
    rows.append(("", _("Sum of weighted NRR (index, 1–4)"), "", "", "",
                 number(report.ikm_unit, 4, locale)))
    rows.append(("", _("IKM (index × 25)"), "", "", "", number(report.ikm, 2, locale)))
    rows.append(("", _("Service quality and unit performance"), "", "", "",
                 f"{report.category.letter} ({category_label(report.category, locale)})"))
    conversion = [(str(row.perception),
                   f"{bound(row.nrr_low, locale)} – {bound(row.nrr_high, locale)}",
                   f"{number(row.ikm_low, 2, locale)} – {number(row.ikm_high, 2, locale)}",
                   row.category.letter, category_label(row.category, locale))
                  for row in report.conversion]
    marked = [index for index, row in enumerate(report.conversion)
              if row.category == report.category]
    return [
        KeepTogether([
            _p(_("III. Results"), "h1"),
            _p(_("The NRR of an element is its total score divided by the %(n)s "
                 "respondents; each of the nine elements weighs 1/9.",
                 n=number(report.n, 0, locale))),
            _table((_("Code"), _("Element"), _("Total score"), "NRR", _("Weight"),
                    _("Weighted NRR")), rows, (0.08, 0.43, 0.12, 0.1, 0.11, 0.16),
                   (2, 3, 4, 5), totals=3)]),
        KeepTogether([
            _p(_("Conversion table (PermenPANRB 14/2017)"), "h2"),
            _table((_("Perception value"), _("NRR interval"), _("IKM interval"),
                    _("Service quality"), _("Unit performance")), conversion,
                   (0.16, 0.24, 0.24, 0.16, 0.2), (0,), marked=marked)]),
    ]


def _action_rows(report: SkmReport, previous: bool, locale: str) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for action in report.previous_rtl if previous else report.rtl:
        what = f"{action.what} ({action.where})" if action.where else action.what
        state = state_label(action.state) + (f" · {_('overdue')}" if action.overdue else "")
        rows.append((str(action.number), f"{action.element} {action.element_name.get(locale)}",
                     what, f"{short_date(action.starts_on, locale)} – "
                     f"{short_date(action.due_on, locale)}", action.who, state))
    return rows


def _analysis(report: SkmReport, locale: str) -> list[Flowable]:
    header = (_("No."), _("Priority element"), _("Programme or activity"), _("Time"),
              _("Who is responsible"), _("State"))
    widths = (0.05, 0.18, 0.29, 0.18, 0.15, 0.15)
    story: list[Flowable] = [
        _p(_("IV. Analysis"), "h1"),
        _p(_("Lowest NRR: %(elements)s.", elements=elements_text(report.weakest, locale))),
        _p(_("Highest NRR: %(elements)s.", elements=elements_text(report.strongest, locale))),
        _p(_("Follow-up plan (RTL)"), "h2")]
    current = _action_rows(report, False, locale)
    story.append(_table(header, current, widths, (0,)) if current else
                 _p(_("No improvement action is recorded for this period.")))
    story.append(_p(_("The previous period's plan (%(period)s) and its state",
                      period=report.previous_name), "h2"))
    earlier = _action_rows(report, True, locale)
    story.append(_table(header, earlier, widths, (0,)) if earlier else
                 _p(_("No improvement action was recorded for the previous period.")))
    story.append(_p(_("Trend"), "h2"))
    # The last row, highlighted, is this report's period.
    trend = [(row.name,
              f"{short_date(row.first_day, locale)} – {short_date(row.last_day, locale)}",
              number(row.n, 0, locale),
              number(row.ikm, 2, locale) if row.ikm is not None else "–",
              f"{row.category.letter} ({category_label(row.category, locale)})"
              if row.category is not None else "–")
             for row in report.trend]
    story.append(_table((_("Period"), _("Dates"), _("Respondents"), "IKM",
                         _("Service quality")), trend, (0.2, 0.34, 0.16, 0.1, 0.2), (2, 3),
                        marked=[len(trend) - 1]))
    if len(trend) == 1:
        story.append(_p(_("No earlier period of this kind has responses.")))
    return story


def _conclusion(report: SkmReport, locale: str) -> list[Flowable]:
    story: list[Flowable] = [
        _p(_("V. Conclusion"), "h1"),
        _p(_("The IKM of %(unit)s for %(period)s is %(ikm)s: service quality %(letter)s "
             "(%(label)s), from %(n)s respondents.", unit=report.unit_name,
             period=period_title(report, locale), ikm=number(report.ikm, 2, locale),
             letter=report.category.letter, label=category_label(report.category, locale),
             n=number(report.n, 0, locale))),
        _p(_("Sample: %(verdict)s.", verdict=sample_verdict(report))),
        _p(_("Priority for improvement: %(elements)s.",
             elements=elements_text(report.weakest, locale))),
    ]
    signature = report.signature
    if signature is not None:
        position = signature.position or _("Unit head")
        if signature.acting:
            position = _("Acting %(position)s", position=position)
        story += [
            Spacer(1, 8 * mm),
            _p(long_date(report.generated_on, locale), "sign"),
            _p(_("Approved by"), "sign"),
            _p(position, "sign"), _p(report.unit_name, "sign"),
            Spacer(1, 16 * mm),
            _p(signature.name or "(" + "." * 40 + ")", "sign"),
            _p(_("NIP %(nip)s", nip=signature.nip or "." * 30), "sign"),
        ]
    # The conclusion and the signature that approves it stay on one page.
    return [KeepTogether(story)]
