"""Staff accounts: one-time password links, roles and units, deactivation."""

from __future__ import annotations

from app.web.admin import bp  # noqa: F401 (views of this area register on it)
