"""The words and number formats the SKM report's PDF and XLSX share, in one language.

The gettext calls need an application context with the report's language forced
(``flask_babel.force_locale``); numbers and dates are formatted by Babel for the language
given, so 91,48 in Indonesian and 91.48 in English.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from fractions import Fraction

from babel.dates import format_date
from babel.numbers import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.report import ElementRow, ProfileTable, SkmReport
from app.scoring import Category, round_half_up

ROMAN = ("I", "II", "III", "IV")
STATE_LABELS = {"planned": _l("Planned"), "in_progress": _l("In progress"),
                "done": _l("Done"), "dropped": _l("Dropped")}
CHANNEL_LABELS = {"qr": _l("QR code"), "kiosk": _l("Kiosk"), "api": _l("API")}
SHARE_PLACES = 4  # a share is kept to 4 decimals: 34.48 %


def number(value: Decimal | Fraction | int | float, places: int, locale: str) -> str:
    """``value`` with exactly ``places`` decimals (rounded half up) in ``locale``."""
    if isinstance(value, Fraction):
        value = round_half_up(value, places)
    pattern = "#,##0." + "0" * places if places else "#,##0"
    return str(format_decimal(value, pattern, locale=locale))


def bound(value: Decimal, locale: str) -> str:
    """An interval bound of the conversion table: 2 to 4 decimals (2,60 · 2,5996)."""
    return str(format_decimal(value, "#,##0.00##", locale=locale))


def share_value(share: Fraction) -> Decimal:
    """A share (0-1) to 4 decimals, half up: what the XLSX cell holds."""
    return round_half_up(share, SHARE_PLACES)


def percent(share: Fraction, locale: str) -> str:
    """A share as a percentage with 2 decimals: 34,48%."""
    return number(share_value(share) * 100, 2, locale) + "%"


def long_date(day: date, locale: str) -> str:
    """28 September 2026 / September 28, 2026 (Babel's long date)."""
    return str(format_date(day, "long", locale=locale))


def short_date(day: date, locale: str) -> str:
    """3 Agu 2026 / Aug 3, 2026 (Babel's medium date), for tables."""
    return str(format_date(day, "medium", locale=locale))


def period_title(report: SkmReport, locale: str) -> str:
    """Triwulan IV 2026, November 2026, Semester II 2026, Tahun 2026."""
    year = report.label.year
    if report.kind == "month":
        return str(format_date(report.label, "LLLL y", locale=locale))
    if report.kind == "quarter":
        return str(_("Quarter %(number)s %(year)d",
                     number=ROMAN[(report.label.month - 1) // 3], year=year))
    if report.kind == "semester":
        return str(_("Semester %(number)s %(year)d",
                     number=ROMAN[(report.label.month - 1) // 6], year=year))
    return str(_("Year %(year)d", year=year))


def period_days(report: SkmReport, locale: str) -> str:
    """The period's exact days: 28 September 2026 to 3 January 2027."""
    return str(_("%(first)s to %(last)s", first=long_date(report.first_day, locale),
                 last=long_date(report.last_day, locale)))


def category_label(found: Category, locale: str) -> str:
    """The regulation's word for a category (Sangat baik) or its English one."""
    return found.label_en if locale == "en" else found.label_id


def state_label(state: str) -> str:
    """An improvement action's state in words."""
    return str(STATE_LABELS[state]) if state in STATE_LABELS else state


def channel_label(code: str) -> str:
    """How answers came in: by QR code, at a kiosk, through the API."""
    return str(CHANNEL_LABELS.get(code, code))


def channels_text(report: SkmReport, locale: str) -> str:
    """How the answers were collected: QR code 120; Kiosk 30."""
    return "; ".join(f"{channel_label(code)} {number(count, 0, locale)}"
                     for code, count in report.channels)


def sample_verdict(report: SkmReport) -> str:
    """The regulation's "sesuai / belum sesuai", or why it cannot be said."""
    if report.adequate is None:
        return str(_("cannot be assessed: the people served are not entered"))
    return str(_("meets the minimum") if report.adequate
               else _("does not yet meet the minimum"))


def table_title(table: ProfileTable, locale: str) -> str:
    """A respondents' table's heading: the profile item's label, or the service."""
    return table.title.get(locale) if table.title is not None else str(_("Service received"))


def answer_label(label_text: str | None) -> str:
    """A respondents' row's label, or "not stated"."""
    return label_text if label_text is not None else str(_("Not stated"))


def elements_text(rows: Iterable[ElementRow], locale: str) -> str:
    """U3 Waktu penyelesaian (3,4483); U5 ..."""
    return "; ".join(f"{row.code} {row.name.get(locale)} ({number(row.nrr, 4, locale)})"
                     for row in rows)
