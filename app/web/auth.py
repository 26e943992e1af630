"""Staff sign-in: Flask-Login sessions that expire, throttled attempts, role checks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy.exc import OperationalError
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from app.api_tokens import record_token_use, use_is_stale, user_for_token
from app.audit import record
from app.auth import authenticate, end_sessions, role_label
from app.db import start_writing, utcnow
from app.extensions import audit_apart, database, db_session
from app.models import ApiToken, User
from app.users import MAX_PASSWORD_LENGTH
from app.web.common import bearer_token, limiter

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = _l("Please sign in to open this page.")
login_manager.localize_callback = str  # the lazy message, in the request's language
SESSION_LIFETIME = timedelta(hours=8)  # since the last request (the cookie is re-signed on each)
SESSION_MAX_AGE = timedelta(hours=12)  # since signing in, however busy the session
SIGNED_IN_AT = "signed_in_at"  # session key: POSIX seconds of the sign-in

F = TypeVar("F", bound=Callable[..., Any])


def _load_user(user_id: str) -> User | None:
    """The session's user, while the account is active, has not signed out since (its
    session epoch is the one in the id, see User.get_id) and signed in less than
    SESSION_MAX_AGE ago. The session is a signed cookie: without these checks a copied one
    would stay valid after signing out, for as long as it was used every 8 hours."""
    account, _, epoch = user_id.partition(".")
    signed_in_at = session.get(SIGNED_IN_AT)
    if not (account.isdigit() and epoch.isdigit()) or not isinstance(signed_in_at, int) \
            or utcnow().timestamp() - signed_in_at >= SESSION_MAX_AGE.total_seconds():
        return None
    user = db_session().get(User, int(account))
    if user is None or not user.active or user.session_epoch != int(epoch):
        return None
    return user


def _load_from_token(req: Any) -> User | None:
    """Personal API tokens: ``Authorization: Bearer sw_…`` (for /api/ only)."""
    sent = bearer_token(req.headers.get("Authorization", ""))
    if not req.path.startswith("/api/") or sent is None:
        return None
    now = utcnow()
    found = user_for_token(db_session(), sent, now=now)
    if found is None:
        return None
    user, token = found
    note_token_use(token, now)
    g.token_auth = True
    return user


def note_token_use(token: ApiToken, now: datetime) -> None:
    """Record that ``token`` was used ``now``, at most once a minute. Its own short
    transaction: the use is recorded even when the request fails. The request's session
    only reads until a view calls start_writing, so on SQLite this never waits for a lock
    the same request holds."""
    if use_is_stale(token, now):
        with database().session_scope() as write:
            record_token_use(write, token.id, now=now)


def staff() -> User:
    """The signed-in staff user (call only behind ``staff_required``)."""
    return cast(User, current_user._get_current_object())  # noqa: SLF001


def staff_required(*roles: str) -> Callable[[F], F]:
    """Require a signed-in user, optionally with one of ``roles`` (else 403)."""
    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if roles and staff().role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return cast(F, wrapped)
    return decorator


def _safe_next(target: str | None) -> str:
    """Only same-site paths: an open redirect would make the login page a phishing aid."""
    if (target and target.startswith("/") and not target.startswith("//")
            and "\\" not in target and target.isprintable()
            and not urlsplit(target).netloc):
        return target
    return url_for("dashboard.home")


class LoginForm(FlaskForm):  # type: ignore[misc]  # (Flask-WTF ships no type information)
    """The sign-in form."""

    email = StringField(_l("Email"), validators=[
        DataRequired(_l("Enter your account's e-mail address.")),
        Length(max=254, message=_l("An e-mail address has at most %(max)d characters."))])
    password = PasswordField(_l("Password"), validators=[
        InputRequired(_l("Enter the password.")),
        Length(max=MAX_PASSWORD_LENGTH,
               message=_l("A password has at most %(max)d characters."))])


@bp.route("/masuk", methods=["GET", "POST"])
@limiter.limit("10 per minute;100 per hour", methods=["POST"])
def login() -> ResponseReturnValue:
    """The sign-in form; attempts are throttled per address."""
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("login.html", form=form), 400 if form.errors else 200
    user = authenticate(db_session(), form.email.data, form.password.data)
    if user is None:
        # Kept although this request stores nothing: its own transaction. The e-mail tried
        # is named (printable characters only), never the password.
        tried = "".join(c for c in form.email.data.strip() if c.isprintable())[:254]
        try:
            audit_apart("auth.sign_in_failed", after={"email": tried})
        except OperationalError as exc:
            # The database cannot be written now (SQLite's lock held past the busy timeout,
            # PostgreSQL away): the refusal stands, and the entry that could not be written
            # goes to the error log instead of turning a wrong password into a 500.
            current_app.logger.error("refused sign-in for %r not in the audit log: %s",
                                     tried, exc.orig)
        # One answer for an unknown address and a wrong password: neither is confirmed.
        return render_template("login.html", form=form,
                               error=_("Wrong e-mail or password.")), 401
    session.clear()
    session.permanent = True
    login_user(user)
    session[SIGNED_IN_AT] = int(utcnow().timestamp())
    audit_apart("auth.sign_in", "user", user.id)
    return redirect(_safe_next(request.args.get("next")), 303)


@bp.post("/keluar")
def logout() -> ResponseReturnValue:
    """Sign out (POST with CSRF, so a link elsewhere cannot sign a user out). Every session
    of the account ends, on this device and on any other, a copied cookie included."""
    if current_user.is_authenticated:
        start_writing(db_session())
        end_sessions(db_session(), staff().id)
        record(db_session(), "auth.sign_out", "user", staff().id)
        db_session().commit()
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"), 303)


def init_auth(app: Flask) -> None:
    """Wire Flask-Login: sessions end SESSION_LIFETIME after their last request and
    SESSION_MAX_AGE after signing in, and at signing out; cookies are HttpOnly."""
    app.config.update(PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
                      REMEMBER_COOKIE_DURATION=timedelta(0))
    login_manager.user_loader(_load_user)
    login_manager.request_loader(_load_from_token)
    login_manager.init_app(app)
    app.register_blueprint(bp)


@bp.app_context_processor
def _staff_page_helpers() -> dict[str, Any]:
    """Staff pages name a role in words ("Kepala unit"), not by its code."""
    return {"role_label": role_label}
