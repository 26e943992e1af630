"""A staff member's own account: the password (set through a one-time link, or changed when
signed in) and their personal API tokens."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import EqualTo, InputRequired, Length

from app import accounts, api_tokens
from app.db import start_writing, utcnow
from app.extensions import db_session, settings
from app.models import ApiToken, User
from app.users import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from app.web.auth import staff, staff_required
from app.web.common import limiter

bp = Blueprint("account", __name__, url_prefix="/akun")

# Pages that carry a secret in their address: not cached, not sent on as a referrer.
PRIVATE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _new_password(label: str) -> PasswordField:
    return PasswordField(label, validators=[
        InputRequired(_l("Enter the new password.")),
        Length(min=MIN_PASSWORD_LENGTH, message=_l("A password has at least %(min)d characters.")),
        Length(max=MAX_PASSWORD_LENGTH, message=_l("A password has at most %(max)d characters."))])


class SetPasswordForm(FlaskForm):  # type: ignore[misc]  # (Flask-WTF ships no type information)
    """A new password, typed twice."""

    password = _new_password(_l("New password"))
    confirm = PasswordField(_l("New password again"), validators=[
        InputRequired(_l("Type the new password again.")),
        EqualTo("password", _l("The two passwords differ."))])


class ChangePasswordForm(FlaskForm):  # type: ignore[misc]
    """One's own password: the current one, then the new one twice."""

    current = PasswordField(_l("Current password"), validators=[
        InputRequired(_l("Enter the current password.")),
        Length(max=MAX_PASSWORD_LENGTH, message=_l("A password has at most %(max)d characters."))])
    new = _new_password(_l("New password"))
    confirm = PasswordField(_l("New password again"), validators=[
        InputRequired(_l("Type the new password again.")),
        EqualTo("new", _l("The two passwords differ."))])


def _field_error(form: FlaskForm, error: accounts.AccountError, default: str) -> None:
    form[error.field if error.field in form else default].errors.append(str(error))


def _gone() -> ResponseReturnValue:
    # One kind answer for unknown, used and expired links: nothing says which it was.
    return render_template("account_link_gone.html"), 404, PRIVATE_HEADERS


@bp.route("/sandi/<token>", methods=["GET", "POST"])
@limiter.limit("10 per minute;60 per hour")
def set_password(token: str) -> ResponseReturnValue:
    """Set a password through a one-time link (no sign-in needed)."""
    session = db_session()
    link = accounts.valid_link(session, token, now=utcnow())
    if link is None:
        return _gone()
    user = session.get(User, link.user_id)
    form = SetPasswordForm()
    if form.validate_on_submit():
        start_writing(session)
        try:
            done = accounts.set_password_with_link(session, token, form.password.data,
                                                   now=utcnow())
        except accounts.AccountError as error:
            session.rollback()
            _field_error(form, error, "password")
        else:
            if done is None:
                return _gone()
            session.commit()
            logout_user()  # whoever was signed in on this browser: the new owner signs in
            flash(_("Your password is set. Sign in with it."))
            return redirect(url_for("auth.login"), 303)
    return render_template("account_set_password.html", form=form, user=user,
                           purpose=link.purpose), 400 if form.errors else 200, PRIVATE_HEADERS


@bp.route("/sandi", methods=["GET", "POST"])
@staff_required()
def change_password() -> ResponseReturnValue:
    """Change one's own password (any role); every session of the account ends."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        session = db_session()
        start_writing(session)
        try:
            accounts.change_own_password(session, staff(), form.current.data, form.new.data,
                                         now=utcnow())
        except accounts.AccountError as error:
            session.rollback()
            _field_error(form, error, "new")
        else:
            session.commit()
            logout_user()
            flash(_("Your password is changed and every session has ended. Sign in with the "
                    "new password."))
            return redirect(url_for("auth.login"), 303)
    return render_template("account_change_password.html", form=form), \
        400 if form.errors else 200, {"Cache-Control": "no-store"}


# Personal API tokens ------------------------------------------------------------------------

MAX_ID = 2**31 - 1


class RevokeTokenForm(FlaskForm):  # type: ignore[misc]  # (Flask-WTF ships no type information)
    """Revoking one of one's tokens: only the CSRF token (the token is in the address)."""


@bp.get("/token")
@staff_required()
def tokens() -> ResponseReturnValue:
    """One's personal API tokens that are not revoked, with their expiry and last use."""
    rows = api_tokens.list_tokens(db_session(), user=staff())
    return render_template("account_tokens.html", rows=rows, now=utcnow(), tz=settings().tz), \
        {"Cache-Control": "no-store"}


@bp.post("/token/<int:token_id>/cabut")
@staff_required()
def revoke_token(token_id: int) -> ResponseReturnValue:
    """Revoke one of one's own tokens (another's is a 404: nothing says it exists)."""
    if not RevokeTokenForm().validate_on_submit():
        abort(400)
    session = db_session()
    start_writing(session)
    token = session.get(ApiToken, token_id) if token_id <= MAX_ID else None
    if token is None or token.user_id != staff().id:
        abort(404)
    revoked = api_tokens.revoke_token(session, token, now=utcnow())
    session.commit()
    flash(_("Token revoked: it no longer works.") if revoked
          else _("This token was already revoked."))
    return redirect(url_for("account.tokens"), 303)
