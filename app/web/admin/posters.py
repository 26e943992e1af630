"""Pictures and sheets of a counter: reissue its QR code, download its posters."""

from __future__ import annotations

from app.web.admin import bp  # noqa: F401 (views of this area register on it)
