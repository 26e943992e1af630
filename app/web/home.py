"""The front page at ``/``: what the service is, for citizens, and the way in for staff."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

bp = Blueprint("home", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    """What Suara Warga is, "scan the QR code at the counter", and the staff sign-in link."""
    return render_template("home.html")
