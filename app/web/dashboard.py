"""Staff pages: the unit head's weekly summary, officers' own feedback, the unit list."""

from __future__ import annotations

from flask import Blueprint, redirect, url_for
from flask.typing import ResponseReturnValue

from app.web.auth import staff, staff_required

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


@bp.get("/")
@staff_required()
def home() -> ResponseReturnValue:
    """Send each role to where it starts: its unit, its own feedback, or the unit list."""
    user = staff()
    if user.role == "officer":
        return redirect(url_for("dashboard.units"))
    return redirect(url_for("dashboard.units"))


@bp.get("/units")
@staff_required("admin", "viewer", "unit_head")
def units() -> ResponseReturnValue:
    """Placeholder list of units (the weekly summary builds on this)."""
    return "units"
