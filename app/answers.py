"""Validating a citizen's answers (form or API) against the questionnaire: scores, bands, text."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from app.surveys import Survey

SCORE_TEXT = re.compile(r"^[0-9]{1,3}$")  # ASCII digits only: '²'.isdigit() is True


@dataclass(frozen=True)
class FieldError:
    """A validation problem with one field: its message, translated when shown (placeholders
    ``%(name)s``), and the params that fill it in (see ``app.i18n.fill``)."""

    message: LazyString
    params: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Answers:
    """A validated submission, ready to store."""

    scores: tuple[int, ...]
    wait_band: str | None = None
    service_code: str | None = None
    comment: str | None = None
    profile: Mapping[str, str] = field(default_factory=dict)

    def canonical(self) -> dict[str, object]:
        """A JSON-able form, the same for the same answers (for idempotency checks)."""
        return {
            "scores": list(self.scores),
            "wait_band": self.wait_band,
            "service": self.service_code,
            "comment": self.comment,
            "profile": dict(sorted(self.profile.items())),
        }


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _score(value: object) -> int | None:
    """An integer score from a form string or a JSON number; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and SCORE_TEXT.fullmatch(value.strip()):
        return int(value.strip())
    return None


# Dropped from free text: control characters (but newline and tab), lone surrogates, the
# bidirectional embeddings, overrides and isolates that could make a comment display as
# something else on a staff page, and the zero-width space and BOM, which mean nothing here.
# Other format characters stay (the zero-width joiner holds emoji such as 👨‍👩‍👧 together, tag
# characters make flags), and so do characters newer than Python's Unicode tables. A comment
# that shows nothing at all is no comment (see ``_visible``).
_DROPPED = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\ufeff")


def _kept(ch: str) -> bool:
    if ch in "\n\t":
        return True
    return unicodedata.category(ch) not in ("Cc", "Cs") and ch not in _DROPPED


def _visible(text: str) -> bool:
    """Whether ``text`` shows anything: a character that is neither a control, a format
    character (joiners, marks) nor white space."""
    return any(unicodedata.category(ch)[0] not in "CZ" for ch in text)


def clean_text(value: str) -> str:
    """Normalise a free-text answer: NFC, without control characters (but newline and
    tab), lone surrogates, bidirectional controls, zero-width spaces and BOMs."""
    value = unicodedata.normalize("NFC", value)
    return "".join(ch for ch in value if _kept(ch)).strip()


def parse_answers(
    survey: Survey, service_codes: set[str], raw: Mapping[str, object]
) -> tuple[Answers | None, dict[str, FieldError]]:
    """Validate a submission from the form or the API; return answers or errors by field.

    ``raw`` holds the element codes (U1…U9), ``wait_band``, ``service``, ``comment`` and
    ``profile`` (a mapping of profile item code to option code). Optional items may be blank.
    """
    errors: dict[str, FieldError] = {}
    scores: list[int] = []
    for number, element in enumerate(survey.elements, start=1):
        value = raw.get(element.code)
        if _blank(value):
            errors[element.code] = FieldError(
                _l("Please choose one answer for question %(number)s (%(name)s)."),
                {"code": element.code, "number": number, "name": element.name})
            continue
        score = _score(value)
        if score is None or not 1 <= score <= 4:
            errors[element.code] = FieldError(
                _l("The value of %(code)s must be between 1 and 4."), {"code": element.code})
            continue
        scores.append(score)

    wait_band = raw.get("wait_band")
    if _blank(wait_band):
        wait_band = None
    elif not isinstance(wait_band, str) or survey.wait_band(wait_band) is None:
        errors["wait_band"] = FieldError(_l("Unknown waiting-time choice."))

    service = raw.get("service")
    if _blank(service):
        service = None
    elif not isinstance(service, str) or service not in service_codes:
        errors["service"] = FieldError(_l("This service is not offered by this unit."))

    comment = raw.get("comment")
    if _blank(comment):
        comment = None
    elif not isinstance(comment, str):
        errors["comment"] = FieldError(_l("The comment must be text."))
    else:
        comment = clean_text(comment)
        if len(comment) > survey.comment_max_length:
            errors["comment"] = FieldError(
                _l("The comment can have at most %(max)s characters (now %(n)s)."),
                {"max": survey.comment_max_length, "n": len(comment)}
            )
        comment = comment if _visible(comment) else None

    profile: dict[str, str] = {}
    raw_profile = raw.get("profile")
    if raw_profile is None:
        raw_profile = {}
    if not isinstance(raw_profile, Mapping):
        errors["profile"] = FieldError(_l("Unknown choice."))
        raw_profile = {}
    for key, value in raw_profile.items():
        item = survey.profile_item(str(key))
        if item is None:
            errors[f"profile.{key}"[:64]] = FieldError(
                _l("Unknown profile field: %(key)s."), {"key": str(key)[:32]})
        elif _blank(value):
            continue
        elif not isinstance(value, str) or value not in {o.code for o in item.options}:
            errors[f"profile.{key}"] = FieldError(_l("Unknown choice."))
        else:
            profile[item.code] = value

    if errors:
        return None, errors
    return Answers(
        tuple(scores),
        wait_band if isinstance(wait_band, str) else None,
        service if isinstance(service, str) else None,
        comment if isinstance(comment, str) else None,
        profile,
    ), {}
