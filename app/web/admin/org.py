"""Units, services and counters: list, create, edit, deactivate; QR codes and posters."""

from __future__ import annotations

from app.web.admin import bp  # noqa: F401 (views of this area register on it)
