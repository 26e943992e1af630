"""Citizen-facing text in Bahasa Indonesia and English, from kiosk_templates/messages.toml.

The catalogue lives beside the templates so a deployment can re-word or re-brand the public face
without touching code. Every key must carry both languages; a gap stops the start-up.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from app.surveys import Text

LOCALES = ("id", "en")


class CatalogueError(Exception):
    """The message catalogue is missing a language or is not valid TOML."""


@dataclass(frozen=True)
class Catalogue:
    """Message templates by key and locale, formatted with ``str.format``."""

    messages: Mapping[str, Mapping[str, str]]

    def get(self, key: str, locale: str, /, **params: object) -> str:
        """The message in ``locale`` (Indonesian when unknown), with params filled in."""
        entry = self.messages.get(key)
        if entry is None:
            raise KeyError(f"no message {key!r} in the catalogue")
        template = entry.get(locale) or entry["id"]
        # A bilingual value (a survey's Text) is shown in the message's own language.
        localized = {k: (v.get(locale) if isinstance(v, Text) else v) for k, v in params.items()}
        return template.format(**localized) if params else template


def load_catalogue(path: Path) -> Catalogue:
    """Load and check the catalogue: every key has non-empty ``id`` and ``en`` strings."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CatalogueError(f"{path.name}: {exc}") from None
    for key, entry in data.items():
        if not isinstance(entry, dict):
            raise CatalogueError(f"{path.name}: {key} must be a table with id and en")
        for locale in LOCALES:
            if not isinstance(entry.get(locale), str) or not entry[locale].strip():
                raise CatalogueError(f"{path.name}: {key}.{locale} is missing")
    return Catalogue(data)


def pick_locale(requested: str | None, cookie: str | None, default: str) -> str:
    """The page language: an explicit ?lang=, else the remembered choice, else the default."""
    for candidate in (requested, cookie):
        if candidate in LOCALES:
            return candidate
    return default
