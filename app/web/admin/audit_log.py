"""The audit log for administrators: filters and CSV export."""

from __future__ import annotations

from app.web.admin import bp  # noqa: F401 (views of this area register on it)
