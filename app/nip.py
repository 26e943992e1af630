"""NIP (Nomor Induk Pegawai) parsing: 18 digits = birth date, CPNS start month, sex, sequence."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

NIP_PATTERN = re.compile(r"^\d{8}\d{6}[12]\d{3}$")


class InvalidNip(ValueError):
    """The string is not a well-formed NIP; the message says why."""


@dataclass(frozen=True)
class Nip:
    """A validated NIP and what it encodes (personal data: keep it in the back office)."""

    value: str
    birth_date: date
    start_year: int
    start_month: int
    sex: str  # "L" (laki-laki) or "P" (perempuan)


def parse_nip(raw: str, *, today: date | None = None) -> Nip:
    """Validate a NIP; raise InvalidNip with a specific reason.

    Checks the shape (``^\\d{8}\\d{6}[12]\\d{3}$``), that the first eight digits are a real
    calendar date in the past, and that the CPNS start (YYYYMM) is a real month after birth.
    """
    value = raw.strip().replace(" ", "")
    if not value.isdigit() or not value.isascii():
        raise InvalidNip(f"NIP {raw!r} must contain digits only")
    if len(value) != 18:
        raise InvalidNip(f"NIP {raw!r} must be 18 digits, got {len(value)}")
    if not NIP_PATTERN.match(value):
        raise InvalidNip(f"NIP {raw!r}: digit 15 (sex) must be 1 or 2")
    try:
        birth = date(int(value[0:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        raise InvalidNip(f"NIP {raw!r}: {value[0:8]} is not a real birth date") from None
    start_year, start_month = int(value[8:12]), int(value[12:14])
    if not 1 <= start_month <= 12:
        raise InvalidNip(f"NIP {raw!r}: {value[8:14]} is not a real CPNS start month")
    today = today or date.today()  # noqa: DTZ011 (a calendar date; the zone does not matter here)
    if birth >= today or birth.year < 1900:
        raise InvalidNip(f"NIP {raw!r}: birth date {birth.isoformat()} is not plausible")
    if (start_year, start_month) <= (birth.year, birth.month) or start_year > today.year + 1:
        raise InvalidNip(f"NIP {raw!r}: CPNS start {start_year}-{start_month:02d} is not plausible")
    return Nip(value, birth, start_year, start_month, "L" if value[14] == "1" else "P")
