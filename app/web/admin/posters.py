"""Pictures and sheets of a counter: reissue its QR code, download its posters."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from werkzeug.wrappers import Response

from app.counter_posters import (
    POSTER_FORMATS,
    counter_by_id,
    in_use,
    managed_counters,
    poster_file,
    record_poster_download,
    reissue_qr,
)
from app.db import start_writing
from app.extensions import db_session, settings
from app.models import Counter
from app.org import CODE_PATTERN
from app.web.admin import (
    MAX_ID,
    ConfirmForm,
    back_office,
    bp,
    require_unit,
    scoped_unit_ids,
)


def _managed_counter(counter_id: int) -> Counter:
    """The counter, or 404 when it does not exist or lies outside the user's units."""
    # An id past the column's range is no counter (and would overflow SQLite's driver).
    counter = counter_by_id(db_session(), counter_id) if counter_id <= MAX_ID else None
    if counter is None:
        abort(404)
    require_unit(counter.unit_id)
    return counter


@bp.get("/posters")
@back_office
def posters() -> ResponseReturnValue:
    """The counters one may manage, each with its survey URL, downloads and a new code;
    ``?unit=CODE`` (and ``&counter=CODE``) narrows the list, ``?page=`` pages through it."""
    unit_code = _code_arg("unit")
    counter_code = _code_arg("counter")
    raw_page = request.args.get("page", "1")
    page = int(raw_page) if raw_page.isdigit() and 0 < len(raw_page) <= 6 else 1
    rows, more = managed_counters(db_session(), scoped_unit_ids(), settings().public_base_url,
                                  unit_code=unit_code, counter_code=counter_code,
                                  page=max(page, 1))
    return render_template("admin/posters.html", rows=rows, page=max(page, 1), more=more,
                           unit_code=unit_code, counter_code=counter_code)


def _code_arg(name: str) -> str | None:
    """A unit or counter code from the query string; anything that is not a code (NUL,
    over 32 characters) narrows to nothing rather than reaching the database."""
    value = request.args.get(name, "")
    if not value:
        return None
    return value if CODE_PATTERN.fullmatch(value) else "-"


@bp.get("/posters/<int:counter_id>/poster.<fmt>")
@back_office
def poster_download(counter_id: int, fmt: str) -> ResponseReturnValue:
    """A counter's poster as PNG, SVG or an A4 PDF sheet; every download is audited."""
    counter = _managed_counter(counter_id)
    if fmt not in POSTER_FORMATS:
        abort(404)
    kind = POSTER_FORMATS[fmt][0]
    made = poster_file(db_session(), counter, kind, settings().public_base_url)
    if made is None:
        abort(404)
    session = db_session()
    start_writing(session)
    record_poster_download(session, counter_id, kind, made.token_id)
    session.commit()
    response = Response(made.content, mimetype=made.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{made.filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/posters/<int:counter_id>/reissue", methods=["GET", "POST"])
@back_office
def poster_reissue(counter_id: int) -> ResponseReturnValue:
    """Issue a counter a new QR code, after a confirmation saying the old posters stop."""
    counter = _managed_counter(counter_id)
    if not in_use(counter):
        flash(gettext("%(counter)s is no longer in use; it gets no new QR code.",
                      counter=counter.name))
        return redirect(url_for("admin.posters"), 303)
    form = ConfirmForm()
    if form.validate_on_submit():
        name = counter.name
        session = db_session()
        start_writing(session)
        reissue_qr(session, counter)
        session.commit()
        flash(gettext("%(counter)s has a new QR code. Print and hang its new poster: the old "
                      "posters no longer work.", counter=name))
        return redirect(url_for("admin.posters"), 303)
    return render_template(
        "admin/confirm.html", form=form,
        title=gettext("Issue a new QR code for %(counter)s?", counter=counter.name),
        warning=gettext("The old posters stop working: a citizen who scans one is told it was "
                        "replaced. Print the new poster and hang it at %(counter)s (%(unit)s).",
                        counter=counter.name, unit=counter.unit.name),
        confirm_label=gettext("Issue a new QR code"),
        action=url_for("admin.poster_reissue", counter_id=counter_id),
        cancel_url=url_for("admin.posters"),
    )
