"""Officers: search, create, edit, deactivate, CSV import with preview, moves (mutasi)."""

from __future__ import annotations

from app.web.admin import bp  # noqa: F401 (views of this area register on it)
