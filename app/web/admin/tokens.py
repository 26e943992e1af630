"""API tokens in the back office: every personal and integration token with its expiry and
last use, and revoking one (administrators only; tokens are created with the CLI)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from app import api_tokens
from app.db import start_writing, utcnow
from app.extensions import db_session, settings
from app.models import ApiToken
from app.web.admin import MAX_ID, admin_only, bp, confirmation


def _token(token_id: int, *, fresh: bool = False) -> ApiToken:
    token = db_session().get(ApiToken, token_id, populate_existing=fresh) \
        if token_id <= MAX_ID else None
    if token is None:
        abort(404)
    return token


@bp.get("/tokens")
@admin_only
def tokens_list() -> ResponseReturnValue:
    """The tokens in use, expired ones included (``?all=1``: revoked ones too), newest
    first."""
    show_all = request.args.get("all") == "1"
    rows = api_tokens.list_tokens(db_session(), include_revoked=show_all)
    return render_template("admin/tokens.html", rows=rows, show_all=show_all, now=utcnow(),
                           tz=settings().tz, days=settings().api_token_days)


@bp.route("/tokens/<int:token_id>/revoke", methods=["GET", "POST"])
@admin_only
def token_revoke(token_id: int) -> ResponseReturnValue:
    """Revoke a token, after confirmation: it stops working at once."""
    token = _token(token_id)
    if token.revoked_at is not None:
        flash(_("This token was already revoked."))
        return redirect(url_for("admin.tokens_list"), 303)
    kind = _("integration token") if token.kind == "integration" else _("personal token")
    asked = confirmation(
        _("Revoke the %(kind)s %(name)s", kind=kind, name=token.label),
        _("The token stops working at once: whatever uses it is refused from its next "
          "request. This cannot be undone; a new token is made with flask --app app tokens "
          "create."),
        _("Revoke the token"), url_for("admin.token_revoke", token_id=token_id),
        url_for("admin.tokens_list"))
    if asked is not None:
        return asked
    session = db_session()
    start_writing(session)
    revoked = api_tokens.revoke_token(session, _token(token_id, fresh=True), now=utcnow())
    session.commit()
    flash(_("Token revoked.") if revoked else _("This token was already revoked."))
    return redirect(url_for("admin.tokens_list"), 303)
