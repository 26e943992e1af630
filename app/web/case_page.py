"""The citizen's page of a complaint case, ``/pengaduan/<reference>``: its state and dates,
nothing else (no unit figures, no text, no officer), rate-limited per address."""

from __future__ import annotations

from flask import make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.cases import STATE_LABELS, case_by_reference, normalise_reference
from app.extensions import db_session
from app.web.common import limiter
from app.web.public import bp

# A reference is unguessable (32**8); the limit keeps anyone from trying many.
CASE_PAGE_LIMIT = "20 per minute;200 per hour"


@bp.get("/pengaduan")
@limiter.limit(CASE_PAGE_LIMIT)
def case_lookup() -> ResponseReturnValue:
    """A form to type a reference (works without JavaScript); sends to its page."""
    typed = request.args.get("ref", "")
    if not typed:
        return _page(None, status=200)
    reference = normalise_reference(typed)
    if reference is None:
        return _page(None, status=404, asked=True)
    return redirect(url_for("public.case_page", reference=reference), 303)


@bp.get("/pengaduan/<reference>")
@limiter.limit(CASE_PAGE_LIMIT)
def case_page(reference: str) -> ResponseReturnValue:
    """The case's state and dates; 404 for an unknown or malformed reference."""
    case = case_by_reference(db_session(), reference)
    return _page(case, status=200 if case is not None else 404, asked=True)


def _page(case: object, *, status: int, asked: bool = False) -> ResponseReturnValue:
    response = make_response(render_template("case.html", case=case, asked=asked,
                                             states=STATE_LABELS), status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
