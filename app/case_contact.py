"""The phone form's complaint items: "Ini pengaduan" and a contact given with consent.

The contact (an Indonesian phone number or an e-mail address) is kept only when the
response opens a case (``app.cases.open_case``), apart from the response, and only with the
citizen's explicit consent to the purpose the form states.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from app.answers import FieldError
from app.models.cases import CONTACT_PURPOSE_MAX
from app.org import invisible_character

CONTACT_MAX = 254
# What the citizen agrees to: stored beside the contact in the words they read.
CONSENT_LABEL = _l("I agree to be contacted at this number or address only to follow up "
                   "this complaint; it is erased 90 days after the complaint is closed.")
TICKED = "1"

# Separators people write inside a phone number: spaces, hyphens, dots, brackets.
_PHONE_SEPARATORS = re.compile(r"[\s().-]")
# A national significant number: no leading 0, 8 to 12 digits (mobile 8xx…, or an area
# code and a line number).
_NATIONAL = re.compile(r"^[2-9][0-9]{7,11}$")
_LOCAL_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")
_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


@dataclass(frozen=True)
class Contact:
    """How a citizen agreed to be contacted: one of phone (E.164, +62…) and e-mail, and
    the purpose as they read it."""

    phone: str | None
    email: str | None
    purpose: str


@dataclass(frozen=True)
class Complaint:
    """What the phone form says besides the answers: the citizen called it a complaint,
    and how they may be contacted about it (None: not at all)."""

    declared: bool = False
    contact: Contact | None = None


def normalise_phone(text: str) -> str | None:
    """An Indonesian phone number as +62…, from 0812-3456-7890, +62 812 3456 7890,
    62812…, (0724) 21234; None when it is not one."""
    digits = _PHONE_SEPARATORS.sub("", text)
    if digits.startswith("+62"):
        national = digits[3:]
    elif digits.startswith("62"):
        national = digits[2:]
    elif digits.startswith("0"):
        national = digits[1:]
    else:
        return None
    national = national.removeprefix("0")  # "+62 0812…" is written too
    if not (national.isascii() and _NATIONAL.fullmatch(national)):
        return None
    return "+62" + national


def normalise_email(text: str) -> str | None:
    """A plain address (ASCII, one @, a domain with a dot), its domain in lower case; None
    when it is not one."""
    local, at, domain = text.rpartition("@")
    if not at or not _LOCAL_PART.fullmatch(local) or local.startswith(".") \
            or local.endswith(".") or ".." in local:
        return None
    labels = domain.lower().split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels) \
            or not labels[-1].isalpha() or len(labels[-1]) < 2:
        return None
    address = f"{local}@{'.'.join(labels)}"
    return address if len(address) <= CONTACT_MAX else None


def _ticked(raw: Mapping[str, object], name: str, errors: dict[str, FieldError]) -> bool:
    value = raw.get(name)
    if value is None or value == "":
        return False
    if value == TICKED or value is True:
        return True
    errors[name] = FieldError(_l("Unknown choice."))
    return False


CONSENT_NEEDED = _l("Tick the box to agree to be contacted, or leave the contact empty.")


def parse_complaint(raw: Mapping[str, object]) -> tuple[Complaint, dict[str, FieldError]]:
    """The form's ``complaint`` and ``consent`` boxes and ``contact`` text, checked: a
    contact must be a phone number or an e-mail address, and comes with consent."""
    errors: dict[str, FieldError] = {}
    declared = _ticked(raw, "complaint", errors)
    consent = _ticked(raw, "consent", errors)
    value = raw.get("contact")
    text = value.strip() if isinstance(value, str) else ""
    if value is not None and not isinstance(value, str):
        errors["contact"] = FieldError(_l("The contact must be text."))
    if not text:
        return Complaint(declared), errors
    if len(text) > CONTACT_MAX:
        errors["contact"] = FieldError(
            _l("A contact has at most %(max)s characters."), {"max": CONTACT_MAX})
    elif invisible_character(text):
        errors["contact"] = FieldError(
            _l("Write a phone number (e.g. 0812 3456 7890) or an e-mail address."))
    elif "@" in text:
        email = normalise_email(text)
        if email is None:
            errors["contact"] = FieldError(
                _l("This e-mail address does not look right (e.g. nama@contoh.id)."))
    else:
        phone = normalise_phone(text)
        if phone is None:
            errors["contact"] = FieldError(
                _l("Write an Indonesian phone number, e.g. 0812 3456 7890, or an e-mail "
                   "address."))
    if not consent and "consent" not in errors:
        errors["consent"] = FieldError(CONSENT_NEEDED)
    if errors:
        return Complaint(declared), errors
    is_email = "@" in text
    contact = Contact(phone=None if is_email else normalise_phone(text),
                      email=normalise_email(text) if is_email else None,
                      purpose=str(CONSENT_LABEL)[:CONTACT_PURPOSE_MAX])
    return Complaint(declared, contact), {}
