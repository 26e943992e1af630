"""Duty: rosters, check-in, corrections, today's board and officers' duty history."""

from __future__ import annotations

from app.web.admin import bp  # noqa: F401 (views of this area register on it)
