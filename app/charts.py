"""Server-drawn SVG charts: accessible (title, desc), readable in grayscale print, no script."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import time
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Protocol

from babel.dates import format_skeleton, get_day_names
from babel.lists import format_list
from babel.numbers import format_decimal, format_percent
from flask_babel import gettext as _
from markupsafe import Markup, escape

from app.i18n import current_locale
from app.scoring import CATEGORY_THRESHOLDS, round_half_up

# Lower bounds of the IKM categories A, B, C on the 25-100 scale, from the regulation's table.
IKM_BANDS: tuple[tuple[float, str], ...] = tuple(
    (float(lower), category.letter) for lower, category in CATEGORY_THRESHOLDS)
INK = "#1a1a1a"
GRID = "#c8cdd5"
BAR = "#4a6f96"
# Waiting time shades, light to dark, with the upper bound (minutes) of each step.
WAIT_STEPS: tuple[tuple[int | None, str, str], ...] = (
    (15, "#eef2f7", "< 15"),
    (30, "#c5d3e4", "15–29"),
    (60, "#8aa6c8", "30–59"),
    (120, "#3f6494", "60–119"),
    (None, "#14304f", "≥ 120"),
)


class HeatCell(Protocol):
    """One weekday × hour cell: how many responses and the median measured wait."""

    @property
    def weekday(self) -> int: ...  # 0 = Monday

    @property
    def hour(self) -> int: ...

    @property
    def count(self) -> int: ...

    @property
    def median(self) -> int | None: ...


def _rounded(value: float | Decimal | Fraction | int, places: int) -> Decimal:
    """``value`` rounded half up to ``places`` decimals (exactly, for a Fraction), so
    Babel, which would round half to even, only writes it out."""
    if isinstance(value, Fraction):
        return round_half_up(value, places)
    quantum = Decimal(1).scaleb(-places)
    return Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_UP)


def format_number(value: float | Decimal | Fraction | int | None, places: int = 2, *,
                  locale: str | None = None) -> str:
    """A number in ``locale``, by default the page's language (91,48 in Indonesian, 91.48 in
    English; Indonesian outside an application), "–" for a missing value, "−" before a
    negative one. An exact value (a Fraction) is rounded exactly, half up."""
    if value is None:
        return "–"
    rounded = _rounded(value, places)
    pattern = "#,##0." + "0" * places if places else "#,##0"
    text = format_decimal(abs(rounded), pattern, locale=locale or current_locale())
    return f"−{text}" if rounded < 0 else text


def format_share(value: float | None, *, locale: str | None = None) -> str:
    """A share 0-1 as a whole percentage in ``locale``, by default the page's language
    ("34%"), rounded half up."""
    if value is None:
        return "–"
    percent = _rounded(value * 100, 0)
    return format_percent(percent / 100, "#,##0%", locale=locale or current_locale())


def category_bounds() -> str:
    """The lower bounds of the categories A-C as a list in the page's language, from the
    regulation's table: "A (88,31), B (76,61), dan C (65,00)"."""
    return format_list([f"{category.letter} ({format_number(lower)})"
                        for lower, category in CATEGORY_THRESHOLDS], locale=current_locale())


def weekday_abbreviation(weekday: int) -> str:
    """A weekday's short name (0 = Monday: "Sen" in Indonesian, "Mon" in English)."""
    return str(get_day_names("abbreviated", locale=current_locale())[weekday])


def format_hour(hour: int) -> str:
    """The full hour as a clock time: "08.00" in Indonesian, "08:00" in English."""
    return format_skeleton("Hm", time(hour), locale=current_locale())


def _e(text: object) -> str:
    return str(escape(str(text)))


def _ident(prefix: str, title: str, desc: str) -> str:
    digest = hashlib.sha256(f"{prefix}\0{title}\0{desc}".encode()).hexdigest()[:10]
    return f"{prefix}-{digest}"


def _svg(ident: str, width: int, height: int, title: str, desc: str, body: Iterable[str]
         ) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{ident}-t {ident}-d" font-family="system-ui, sans-serif" '
        f'font-size="12" fill="{INK}">'
        f'<title id="{ident}-t">{_e(title)}</title><desc id="{ident}-d">{_e(desc)}</desc>'
    )
    # Every piece of text in ``body`` was escaped where it was built.
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704


def _text(x: float, y: float, content: object, *, anchor: str = "start", size: int = 12,
          weight: str = "normal", fill: str = INK, rotate: bool = False) -> str:
    turn = f' transform="rotate(-90 {x:.1f} {y:.1f})"' if rotate else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
            f'font-weight="{weight}" fill="{fill}"{turn}>{_e(content)}</text>')


def trend_line(points: Sequence[tuple[str, float | None]], title: str, desc: str, *,
               bands: bool = True, axis_label: str = "IKM",
               ident: str | None = None) -> Markup:
    """A line on the IKM scale over periods (label, value or None for no data).

    Missing periods break the line; every point carries its value as text. With ``bands``
    the unit categories A-D are drawn as dashed bounds lettered at the right edge, so the
    chart reads without colour; an officer's chart goes without them (no grade).
    """
    ident = ident or _ident("trend", title, desc)
    width, height = 640, 260
    left, right, top, bottom = 44, 52, 22, 46
    values = [v for _label, v in points if v is not None]
    low = 25.0 if values and min(values) < 50 else 50.0
    high = 100.0
    plot_w, plot_h = width - left - right, height - top - bottom

    def y_of(value: float) -> float:
        return top + plot_h * (high - value) / (high - low)

    step = plot_w / max(len(points) - 1, 1)

    def x_of(index: int) -> float:
        return left + (step * index if len(points) > 1 else plot_w / 2)

    body: list[str] = []
    for tick in range(int(low), int(high) + 1, 25 if low < 50 else 10):
        y = y_of(tick)
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
                    f'stroke="{GRID}" stroke-width="1"/>')
        body.append(_text(left - 6, y + 4, tick, anchor="end", size=11))
    if bands:
        body.extend(_category_bands(y_of, low, high, left, width - right, width - 14))
    body.append(_text(12, top + plot_h / 2, axis_label, anchor="middle", size=11,
                      rotate=True))
    segment: list[str] = []
    lines: list[list[str]] = [segment]
    for index, (label, value) in enumerate(points):
        x = x_of(index)
        body.append(_text(x, height - bottom + 16, label, anchor="middle", size=10))
        if value is None:
            body.append(_text(x, top + plot_h - 4, "–", anchor="middle", size=11))
            segment = []
            lines.append(segment)
            continue
        segment.append(f"{x:.1f},{y_of(value):.1f}")
    body.append(_text(left + plot_w / 2, height - 8, _("Week (date of its Monday)"),
                      anchor="middle", size=11))
    for run in lines:
        if len(run) > 1:
            body.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{INK}" '
                        f'stroke-width="2"/>')
    last = len(points) - 1
    for index, (_label, value) in enumerate(points):
        if value is None:
            continue
        x, y = x_of(index), y_of(value)
        radius = 5 if index == last else 3.5
        fill = INK if index == last else "#ffffff"
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius}" fill="{fill}" '
                    f'stroke="{INK}" stroke-width="1.5"/>')
        body.append(_text(x, y - 9, format_number(value, 2), anchor="middle", size=10,
                          weight="bold" if index == last else "normal"))
    return _svg(ident, width, height, title, desc, body)


def _category_bands(y_of: Callable[[float], float], low: float, high: float, x1: float,
                    x2: float, letter_x: float) -> list[str]:
    """Dashed lines at the category bounds, each band lettered (A at the top)."""
    parts: list[str] = []
    upper = high
    for bound, letter in (*IKM_BANDS, (low, "D")):
        y = y_of(bound)
        if bound > low:
            parts.append(f'<line x1="{x1}" x2="{x2}" y1="{y:.1f}" y2="{y:.1f}" '
                         f'stroke="{INK}" stroke-width="1" stroke-dasharray="4 3"/>')
        parts.append(_text(letter_x, (y + y_of(upper)) / 2 + 4, letter, weight="bold"))
        upper = bound
    return parts


def _hatch(ident: str) -> str:
    return (f'<defs><pattern id="{ident}-hatch" width="6" height="6" '
            f'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
            f'<rect width="6" height="6" fill="#ffffff"/>'
            f'<line x1="0" y1="0" x2="0" y2="6" stroke="{INK}" stroke-width="3"/>'
            f'</pattern></defs>')


def element_bars(nrr: Mapping[str, float | None], weakest: Collection[str], title: str,
                 desc: str, *, names: Mapping[str, str] | None = None,
                 ident: str | None = None) -> Markup:
    """Horizontal bars of the NRR (1-4) per element; the weakest are hatched and labelled."""
    ident = ident or _ident("elements", title, desc)
    names = names or {}
    row_h, label_w, bar_w = 26, 290, 300
    width = label_w + bar_w + 110
    height = 20 + row_h * len(nrr) + 34
    body = [_hatch(ident)]

    def x_of(value: float) -> float:
        return label_w + bar_w * (value - 1) / 3

    for tick in (1, 2, 3, 4):
        x = x_of(tick)
        body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="14" y2="{height - 30}" '
                    f'stroke="{GRID}"/>')
        body.append(_text(x, height - 16, tick, anchor="middle", size=11))
    body.append(_text(label_w + bar_w / 2, height - 2, _("NRR (scale 1–4)"), anchor="middle",
                      size=11))
    for index, (code, value) in enumerate(nrr.items()):
        y = 20 + row_h * index
        name = names.get(code, "")
        label = f"{code} {name}" if name else code
        if len(label) > 36:
            label = label[:35] + "…"
        is_weak = code in weakest
        body.append(_text(label_w - 8, y + 15, label, anchor="end",
                          weight="bold" if is_weak else "normal"))
        if value is None:
            body.append(_text(label_w + 4, y + 15, _("no data"), size=11))
            continue
        fill = f"url(#{ident}-hatch)" if is_weak else BAR
        end = x_of(value)
        body.append(f'<rect x="{label_w}" y="{y + 3}" width="{max(end - label_w, 1):.1f}" '
                    f'height="{row_h - 8}" fill="{fill}" stroke="{INK}" stroke-width="1"/>')
        note = (_("%(value)s · weakest", value=format_number(value, 2)) if is_weak
                else format_number(value, 2))
        body.append(_text(end + 6, y + 15, note, weight="bold" if is_weak else "normal"))
    return _svg(ident, width, height, title, desc, body)


def interval_rows(rows: Sequence[tuple[str, float | None, float | None, float | None]],
                  title: str, desc: str, *, reference: tuple[float, float] | None = None,
                  reference_label: str = "", ident: str | None = None) -> Markup:
    """Each row's (label, value, low, high) on the IKM scale: a dot on its 95 % interval, in
    the order given, never ranked. ``reference`` (the regency's interval) is a shaded band
    across every row, so an interval wholly to its left reads at a glance."""
    ident = ident or _ident("intervals", title, desc)
    row_h, label_w, plot_w = 24, 230, 380
    width, height = label_w + plot_w + 60, 24 + row_h * len(rows) + 40
    bottom = height - 36
    known = [v for _label, *bounds in rows for v in bounds if v is not None]
    low = 25.0 if (known and min(known) < 50) or reference and reference[0] < 50 else 50.0

    def x_of(value: float) -> float:
        return label_w + plot_w * (value - low) / (100 - low)

    body: list[str] = []
    if reference is not None:
        left, right = x_of(reference[0]), x_of(reference[1])
        body.append(f'<rect x="{left:.1f}" y="14" width="{max(right - left, 1):.1f}" '
                    f'height="{bottom - 14}" fill="#dfe5ee" stroke="{INK}" stroke-width="0.5" '
                    f'stroke-dasharray="3 2"/>')
        body.append(_text(label_w, height - 4, reference_label, size=10))
    for tick in range(int(low), 101, 25 if low < 50 else 10):
        x = x_of(tick)
        body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="14" y2="{bottom}" stroke="{GRID}"/>')
        body.append(_text(x, bottom + 14, tick, anchor="middle", size=11))
    # The categories' bounds, dashed and lettered (D from the left edge), as on the trend.
    for bound, letter in (*IKM_BANDS, (low, "D")):
        if bound > low:
            body.append(f'<line x1="{x_of(bound):.1f}" x2="{x_of(bound):.1f}" y1="4" '
                        f'y2="{bottom}" stroke="{INK}" stroke-dasharray="4 3"/>')
        body.append(_text(x_of(bound) + 3, 11, letter, size=10, weight="bold"))
    for index, (label, value, lower, upper) in enumerate(rows):
        y = 20 + row_h * index + row_h / 2
        short = label if len(label) <= 34 else label[:33] + "…"
        body.append(_text(label_w - 8, y + 4, short, anchor="end"))
        if value is None:
            body.append(_text(label_w + 4, y + 4, "–", size=11))
            continue
        if lower is not None and upper is not None:
            body.append(f'<line x1="{x_of(lower):.1f}" x2="{x_of(upper):.1f}" y1="{y:.1f}" '
                        f'y2="{y:.1f}" stroke="{INK}" stroke-width="2"/>')
        body.append(f'<circle cx="{x_of(value):.1f}" cy="{y:.1f}" r="4" fill="{INK}"/>')
        body.append(_text(x_of(max(value, upper or value)) + 8, y + 4,
                          format_number(value, 2), size=10))
    return _svg(ident, width, height, title, desc, body)


def band_bars(shares: Mapping[str, float | None], labels: Mapping[str, str], *,
              title: str | None = None, desc: str | None = None,
              ident: str | None = None) -> Markup:
    """Horizontal bars of shares (0-1) per band, in the order of ``labels``."""
    title = title or _("Waiting time as citizens report it")
    desc = desc or _("Share of responses in each waiting-time range citizens reported.")
    ident = ident or _ident("bands", title, desc)
    row_h, label_w, bar_w = 26, 150, 300
    width = label_w + bar_w + 70
    height = 16 + row_h * len(labels) + 30
    body: list[str] = []
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        x = label_w + bar_w * tick
        body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="12" y2="{height - 26}" '
                    f'stroke="{GRID}"/>')
        body.append(_text(x, height - 12, format_share(tick), anchor="middle", size=11))
    for index, (code, label) in enumerate(labels.items()):
        y = 16 + row_h * index
        value = shares.get(code)
        body.append(_text(label_w - 8, y + 15, label, anchor="end"))
        if value is None:
            body.append(_text(label_w + 4, y + 15, "–", size=11))
            continue
        bar = max(bar_w * value, 1.0)
        body.append(f'<rect x="{label_w}" y="{y + 3}" width="{bar:.1f}" height="{row_h - 8}" '
                    f'fill="{BAR}" stroke="{INK}" stroke-width="1"/>')
        body.append(_text(label_w + bar + 6, y + 15, format_share(value)))
    return _svg(ident, width, height, title, desc, body)


def wait_shade(minutes: int | None) -> tuple[str, str]:
    """The fill and the text colour of a cell with this median wait."""
    if minutes is None:
        return "#ffffff", INK
    for upper, fill, _legend in WAIT_STEPS:
        if upper is None or minutes < upper:
            dark = fill in ("#3f6494", "#14304f")
            return fill, "#ffffff" if dark else INK
    raise AssertionError("unreachable: the last step has no upper bound")


def heat_grid(cells: Sequence[HeatCell], *,
              title: str | None = None, desc: str | None = None,
              ident: str | None = None) -> Markup:
    """Weekday × hour grid: each cell prints its median measured wait and its count.

    Shading repeats the printed number (darker is longer), so nothing depends on colour.
    """
    title = title or _("Measured waiting time by day and hour")
    desc = desc or _("Median measured waiting time (minutes) and number of responses per "
                     "cell.")
    ident = ident or _ident("grid", title, desc)
    weekdays = sorted({0, 1, 2, 3, 4} | {c.weekday for c in cells})
    hours_seen = [c.hour for c in cells]
    first = min([7, *hours_seen])
    last = max([16, *hours_seen])
    hours = list(range(first, last + 1))
    cell_w, cell_h, left, top = 46, 34, 44, 24
    width = left + cell_w * len(hours) + 8
    legend_y = top + cell_h * len(weekdays) + 16
    height = legend_y + 40
    by_key = {(c.weekday, c.hour): c for c in cells}
    body: list[str] = []
    for col, hour in enumerate(hours):
        body.append(_text(left + cell_w * col + cell_w / 2, top - 8, format_hour(hour),
                          anchor="middle", size=10))
    for row, weekday in enumerate(weekdays):
        y = top + cell_h * row
        body.append(_text(left - 6, y + cell_h / 2 + 4, weekday_abbreviation(weekday), anchor="end",
                          size=11))
        for col, hour in enumerate(hours):
            x = left + cell_w * col
            cell = by_key.get((weekday, hour))
            median = cell.median if cell else None
            fill, ink = wait_shade(median)
            body.append(f'<rect x="{x}" y="{y}" width="{cell_w}" height="{cell_h}" '
                        f'fill="{fill}" stroke="{GRID}"/>')
            if cell is None or cell.count == 0:
                continue
            main = f"{median}′" if median is not None else "–"
            body.append(_text(x + cell_w / 2, y + 15, main, anchor="middle", size=12,
                              weight="bold", fill=ink))
            body.append(_text(x + cell_w / 2, y + 28, f"n={cell.count}", anchor="middle",
                              size=9, fill=ink))
    x = left
    body.append(_text(x, legend_y + 4, _("Median (minutes):"), size=10))
    x += 92
    for _upper, fill, label in WAIT_STEPS:
        body.append(f'<rect x="{x}" y="{legend_y - 7}" width="14" height="14" fill="{fill}" '
                    f'stroke="{INK}" stroke-width="0.5"/>')
        body.append(_text(x + 18, legend_y + 4, label, size=10))
        x += 70
    body.append(_text(left, legend_y + 26,
                      _("Large figure: median measured wait; n: number of responses."),
                      size=10))
    return _svg(ident, width, height, title, desc, body)
