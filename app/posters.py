"""Printable QR posters of a unit (arrival and counters) as PNG, SVG, print-ready HTML and PDF."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import qrcode
import qrcode.constants
import qrcode.image.svg
from flask_babel import force_locale, gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from jinja2 import Environment, FileSystemLoader, select_autoescape
from reportlab.lib.colors import Color, black, white
from reportlab.lib.pagesizes import A4, A5
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import PROJECT_ROOT
from app.i18n import current_locale
from app.models import Counter, CounterToken, Unit
from app.org import DomainError

PosterKind = Literal["counter", "arrival"]
PageSize = Literal["A4", "A5"]
PAGE_SIZES: dict[PageSize, tuple[float, float]] = {"A4": A4, "A5": A5}

# Q survives 25% damage (a torn corner, a smudge, glare on a laminated poster); M is the minimum.
ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_Q
# ISO/IEC 18004 asks for a light margin of four modules around the symbol.
QUIET_ZONE = 4

# A poster speaks Bahasa Indonesia, with the call to action repeated smaller in English,
# whatever the language of whoever prints it: each text is taken from the catalogue of the
# language it is printed in (so posters are made inside an application context, as the CLI is).
POSTER_LOCALE = "id"
SECOND_LOCALE = "en"
COUNTER_CALL = _l("How was our service today? Scan to rate — 1 minute, anonymous")
ARRIVAL_CALL = _l("Just arrived? Scan here so that your waiting time is recorded — anonymous")
ARRIVAL_HEADING = _l("Welcome")
SURVEY_NAME = _l("Public Satisfaction Survey")
ARRIVAL_QR_TITLE = _l("QR code for recording your arrival — %(unit)s")
COUNTER_QR_TITLE = _l("Satisfaction survey QR code — %(unit)s, %(counter)s")
ARRIVAL_STEM = "arrival"
# The back of a counter's sheet: the staff check-in code, never shown to citizens.
STAFF_CALL = _l("Staff code — scan to start your duty at %(counter)s")
STAFF_NOTE = _l("For staff only. Citizens rate the service with the code on the other side.")


def _in(locale: str, text: LazyString, **params: object) -> str:
    """``text`` from the catalogue of ``locale``, with ``params`` filled in."""
    with force_locale(locale):
        return str(text) % params if params else str(text)

KIOSK_TEMPLATES = PROJECT_ROOT / "kiosk_templates"


@dataclass(frozen=True)
class Poster:
    """One poster: where it hangs (the entrance or a counter) and the URL its QR code opens."""

    kind: PosterKind
    unit_code: str
    unit_name: str
    counter_code: str | None
    counter_name: str | None
    url: str

    @property
    def heading(self) -> str:
        """The large line: the counter's name, or a welcome on the arrival poster."""
        return self.counter_name if self.counter_name else _in(POSTER_LOCALE, ARRIVAL_HEADING)

    @property
    def call_to_action(self) -> str:
        """What the citizen is asked to do, in Bahasa Indonesia."""
        return _in(POSTER_LOCALE, ARRIVAL_CALL if self.kind == "arrival" else COUNTER_CALL)

    @property
    def call_to_action_en(self) -> str:
        """The same request in English, printed smaller."""
        return _in(SECOND_LOCALE, ARRIVAL_CALL if self.kind == "arrival" else COUNTER_CALL)

    @property
    def footer(self) -> str:
        """The survey's name, at the foot of the poster."""
        return f"{_in(POSTER_LOCALE, SURVEY_NAME)} (SKM) · Suara Warga"

    @property
    def qr_title(self) -> str:
        """What the QR code is for, as the SVG's accessible title."""
        if self.kind == "arrival":
            return _in(POSTER_LOCALE, ARRIVAL_QR_TITLE, unit=self.unit_name)
        return _in(POSTER_LOCALE, COUNTER_QR_TITLE, unit=self.unit_name, counter=self.heading)


@dataclass(frozen=True)
class PosterView:
    """A poster with its QR code as inline SVG, as the posters.html template expects it."""

    poster: Poster
    svg: str


@dataclass(frozen=True)
class SkippedCounter:
    """A counter that gets no poster, and why."""

    code: str
    name: str
    reason: str


def make_qr(url: str, *, box_size: int = 10) -> qrcode.QRCode:
    """The QR code of a URL at error correction Q with a four-module quiet zone."""
    qr = qrcode.QRCode(error_correction=ERROR_CORRECTION, box_size=box_size, border=QUIET_ZONE)
    qr.add_data(url)
    qr.make(fit=True)
    return qr


def qr_png(url: str, *, box_size: int = 10) -> bytes:
    """The QR code of a URL as a black-on-white PNG, box_size pixels per module."""
    buffer = io.BytesIO()
    make_qr(url, box_size=box_size).make_image().save(buffer)
    return buffer.getvalue()


def qr_svg(url: str, *, title: str | None = None) -> str:
    """The QR code of a URL as a standalone SVG document (1 mm per module, white background).

    The same string is valid inline in HTML: no XML declaration and no element id, so
    several codes can share one page.
    """
    image = make_qr(url).make_image(image_factory=qrcode.image.svg.SvgPathFillImage)
    root = image.get_image()
    for path in root.iter("path"):
        path.attrib.pop("id", None)
    if title:
        title_element = root.makeelement("title", {})
        title_element.text = title
        root.insert(0, title_element)
    svg: str = image.to_string(encoding="unicode")
    return svg


def unit_posters(session: Session, unit: Unit, base_url: str) -> list[Poster]:
    """The unit's posters: the arrival poster first, then each active counter with a live token.

    Counters left out are listed by skipped_counters().
    """
    base = base_url.rstrip("/")
    arrival_url = f"{base}/a/{unit.arrival_token}"
    posters = [Poster("arrival", unit.code, unit.name, None, None, arrival_url)]
    for counter, token in _counters_and_live_tokens(session, unit):
        if counter.active and token is not None:
            posters.append(Poster("counter", unit.code, unit.name, counter.code, counter.name,
                                  f"{base}/s/{token}"))
    return posters


def skipped_counters(session: Session, unit: Unit) -> list[SkippedCounter]:
    """The unit's counters that get no poster: inactive ones and those without a live token."""
    skipped = []
    for counter, token in _counters_and_live_tokens(session, unit):
        if not counter.active:
            skipped.append(SkippedCounter(counter.code, counter.name, "inactive"))
        elif token is None:
            skipped.append(SkippedCounter(counter.code, counter.name, "no live token"))
    return skipped


def _counters_and_live_tokens(session: Session, unit: Unit) -> list[tuple[Counter, str | None]]:
    rows = session.execute(
        select(Counter, CounterToken.token)
        .outerjoin(
            CounterToken,
            (CounterToken.counter_id == Counter.id) & CounterToken.retired_at.is_(None),
        )
        .where(Counter.unit_id == unit.id)
        .order_by(Counter.code)
    )
    return [(counter, token) for counter, token in rows]


def poster_views(posters: Sequence[Poster]) -> list[PosterView]:
    """Each poster with its QR code as inline SVG, for the posters.html template."""
    return [PosterView(p, qr_svg(p.url, title=p.qr_title)) for p in posters]


def render_posters_html(posters: list[Poster], size: str) -> str:
    """The print-ready page of posters (kiosk_templates/posters.html), one poster per sheet."""
    environment = Environment(
        loader=FileSystemLoader(KIOSK_TEMPLATES), autoescape=select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
    )
    # The sheet's own instructions are for whoever prints it: the current language.
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=gettext, ngettext=ngettext, newstyle=True)
    template = environment.get_template("posters.html")
    return template.render(posters=poster_views(posters), size=_page_size(size),
                           lang=current_locale())


def _page_size(size: str) -> PageSize:
    if size == "A4":
        return "A4"
    if size == "A5":
        return "A5"
    raise ValueError(f"poster size must be A4 or A5, got {size!r}")


# Layout in points on an A4 sheet; A5 has the same proportions and is drawn scaled down.
_MARGIN = 42.0
_GREY = Color(0.3, 0.3, 0.3)


def render_poster_pdf(posters: Sequence[Poster], path: Path, size: str = "A4") -> None:
    """Write the posters to a PDF, one page each, with the QR code drawn as vector squares."""
    page = PAGE_SIZES[_page_size(size)]
    canvas = Canvas(str(path), pagesize=page, invariant=True, pageCompression=1)
    canvas.setTitle(gettext("QR posters of %(unit)s (%(size)s)",
                            unit=posters[0].unit_name if posters else "", size=size))
    canvas.setAuthor("Suara Warga")
    canvas.setSubject(f"{_in(POSTER_LOCALE, SURVEY_NAME)} (SKM)")
    for poster in posters:
        _draw_poster(canvas, poster, page)
        canvas.showPage()
    canvas.save()


def _draw_poster(canvas: Canvas, poster: Poster, page: tuple[float, float]) -> None:
    width, height = page
    scale = width / A4[0]
    margin = _MARGIN * scale
    text_width = width - 2 * margin
    y = height - margin

    y = _draw_lines(canvas, poster.unit_name, "Helvetica", 16 * scale, text_width, width, y, _GREY)
    y -= 10 * scale
    heading_size = _fitting_size(poster.heading, "Helvetica-Bold", 48 * scale, 28 * scale,
                                 text_width)
    y = _draw_lines(canvas, poster.heading, "Helvetica-Bold", heading_size, text_width, width, y)
    y -= 14 * scale
    y = _draw_lines(canvas, poster.call_to_action, "Helvetica-Bold", 20 * scale, text_width,
                    width, y)
    y -= 4 * scale
    y = _draw_lines(canvas, poster.call_to_action_en, "Helvetica-Oblique", 13 * scale,
                    text_width, width, y, _GREY)

    url_size = _fitting_size(poster.url, "Helvetica", 11 * scale, 6 * scale, text_width)
    footer_size = 9 * scale
    footer_top = margin + footer_size + 10 * scale
    url_block = 6 * scale + url_size * 1.2
    available_top = y - 16 * scale
    side = min(text_width * 0.85, available_top - footer_top - url_block - 16 * scale)
    # The code and its URL sit together in the middle of the space the text leaves.
    qr_top = available_top - (available_top - footer_top - side - url_block) / 2
    _draw_qr(canvas, poster.url, (width - side) / 2, qr_top, side)

    canvas.setFillColor(black)
    canvas.setFont("Helvetica", url_size)
    canvas.drawCentredString(width / 2, qr_top - side - 6 * scale - url_size, poster.url)
    canvas.setFillColor(_GREY)
    canvas.setFont("Helvetica", footer_size)
    canvas.drawCentredString(width / 2, margin, poster.footer)


def _fitting_size(text: str, font: str, largest: float, smallest: float, max_width: float) -> float:
    """The largest font size (down to smallest) at which the text fits on one line."""
    size = largest
    while size > smallest and stringWidth(text, font, size) > max_width:
        size -= 1
    return max(size, smallest)


def _draw_lines(canvas: Canvas, text: str, font: str, size: float, max_width: float,
                page_width: float, top: float, colour: Color = black) -> float:
    """Draw text centred and wrapped below top; return the y under the last line."""
    leading = size * 1.2
    lines = _wrap(text, font, size, max_width)
    canvas.setFillColor(colour)
    canvas.setFont(font, size)
    y = top
    for line in lines:
        y -= leading
        canvas.drawCentredString(page_width / 2, y + (leading - size) / 2, line)
    return y


def _wrap(text: str, font: str, size: float, max_width: float) -> list[str]:
    """Lines of at most max_width: at spaces, and within a word too long for a line (a
    200-character name without spaces ran off both edges of the page)."""
    lines: list[str] = []
    for line in simpleSplit(text, font, size, max_width):
        while stringWidth(line, font, size) > max_width and len(line) > 1:
            cut = len(line) - 1
            while cut > 1 and stringWidth(line[:cut], font, size) > max_width:
                cut -= 1
            lines.append(line[:cut])
            line = line[cut:]
        lines.append(line)
    return lines


def _draw_qr(canvas: Canvas, url: str, left: float, top: float, side: float) -> None:
    """Draw the QR code, quiet zone included, as filled squares in a side × side box."""
    matrix: list[list[bool]] = make_qr(url).get_matrix()
    module = side / len(matrix)
    canvas.setFillColor(white)
    canvas.rect(left, top - side, side, side, stroke=0, fill=1)
    path = canvas.beginPath()
    for row_index, row in enumerate(matrix):
        y = top - (row_index + 1) * module
        column = 0
        while column < len(row):
            if not row[column]:
                column += 1
                continue
            start = column
            while column < len(row) and row[column]:
                column += 1
            # One rectangle per horizontal run of dark modules keeps the file small.
            path.rect(left + start * module, y, (column - start) * module, module)
    canvas.setFillColor(black)
    canvas.drawPath(path, stroke=0, fill=1)


def poster_file_stem(poster: Poster) -> str:
    """The file-name stem of a poster's QR images: the counter code, or 'arrival'."""
    return poster.counter_code if poster.counter_code else ARRIVAL_STEM


def write_unit_posters(
    session: Session,
    unit: Unit,
    out_dir: Path,
    base_url: str,
    render_html: Callable[[list[Poster], str], str],
) -> list[Path]:
    """Write a unit's QR codes (PNG, SVG) and its poster sheets (HTML, PDF; A4 and A5).

    render_html(posters, size) renders the print page, so the caller picks the template
    loader. Returns the paths written.
    """
    posters = unit_posters(session, unit, base_url)
    stems = [poster_file_stem(p) for p in posters]
    clashes = {s for s in stems if [t.casefold() for t in stems].count(s.casefold()) > 1}
    if clashes:
        # A counter coded "arrival" (or two codes differing in case only) would overwrite files.
        raise DomainError(f"unit {unit.code}: poster file names would clash for counter "
                          f"code(s) {', '.join(sorted(clashes))}; rename the counter")
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for poster, stem in zip(posters, stems, strict=True):
        png = out_dir / f"{stem}-qr.png"
        png.write_bytes(qr_png(poster.url))
        svg = out_dir / f"{stem}-qr.svg"
        svg.write_text(qr_svg(poster.url, title=poster.qr_title), encoding="utf-8")
        written += [png, svg]
    for size in PAGE_SIZES:
        html = out_dir / f"{unit.code}-posters-{size}.html"
        html.write_text(render_html(posters, size), encoding="utf-8")
        written.append(html)
    for size in PAGE_SIZES:
        pdf = out_dir / f"{unit.code}-posters-{size}.pdf"
        render_poster_pdf(posters, pdf, size)
        written.append(pdf)
    return written


def checkin_url(checkin_token: str, base_url: str) -> str:
    """The address of a counter's staff check-in code (printed on the back of its poster)."""
    return f"{base_url.rstrip('/')}/tugas/{checkin_token}"


def counter_sheet_pdf(poster: Poster, staff_url: str) -> bytes:
    """One counter's printable A4 sheet: the citizens' poster on the front and, on the back,
    the staff check-in code (so the staff code never shares a side with the citizens' one)."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True, pageCompression=1)
    canvas.setTitle(gettext("QR poster of %(unit)s, %(counter)s, with the staff code on the "
                            "back", unit=poster.unit_name, counter=poster.heading))
    canvas.setAuthor("Suara Warga")
    canvas.setSubject(f"{_in(POSTER_LOCALE, SURVEY_NAME)} (SKM)")
    _draw_poster(canvas, poster, A4)
    canvas.showPage()
    _draw_staff_side(canvas, poster, staff_url, A4)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _draw_staff_side(canvas: Canvas, poster: Poster, staff_url: str,
                     page: tuple[float, float]) -> None:
    width, height = page
    text_width = width - 2 * _MARGIN
    y = height - _MARGIN
    y = _draw_lines(canvas, poster.unit_name, "Helvetica", 14, text_width, width, y, _GREY)
    y -= 10
    y = _draw_lines(canvas, _in(POSTER_LOCALE, STAFF_CALL, counter=poster.heading),
                    "Helvetica-Bold", 24, text_width, width, y)
    y -= 4
    y = _draw_lines(canvas, _in(SECOND_LOCALE, STAFF_CALL, counter=poster.heading),
                    "Helvetica-Oblique", 13, text_width, width, y, _GREY)
    # Smaller than the citizens' code: it is scanned from arm's length by the officer.
    side = min(text_width * 0.5, y - _MARGIN - 120)
    top = y - 24
    _draw_qr(canvas, staff_url, (width - side) / 2, top, side)
    url_size = _fitting_size(staff_url, "Helvetica", 10, 6, text_width)
    canvas.setFillColor(black)
    canvas.setFont("Helvetica", url_size)
    canvas.drawCentredString(width / 2, top - side - 6 - url_size, staff_url)
    y = top - side - 30 - url_size
    y = _draw_lines(canvas, _in(POSTER_LOCALE, STAFF_NOTE), "Helvetica", 12, text_width,
                    width, y, _GREY)
    _draw_lines(canvas, _in(SECOND_LOCALE, STAFF_NOTE), "Helvetica-Oblique", 10, text_width,
                width, y, _GREY)
