"""People served per counter and day: typed in or imported from a queue system."""

from __future__ import annotations

from app.web.admin import bp  # noqa: F401 (views of this area register on it)
