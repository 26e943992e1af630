"""Error pages people can read: JSON under /api/, a short page elsewhere."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, jsonify, make_response, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from app.db import cannot_write
from app.i18n import is_api_request
from app.web.boundary import RefusedCharacter
from app.web.common import rate_limit_message, retry_after_seconds
from app.web.dashboard import REFUSED
from app.web.public import MESSAGE_PAGES, form_refused_page, message_page

PAGES = {404: "notfound", 410: "revoked", 413: "toolarge", 429: "ratelimit", 400: "badrequest",
         403: "forbidden"}


# Staff pages (sign-in, sign-out, dashboard) speak to staff, not to a citizen at a counter.
STAFF_BLUEPRINTS = ("auth", "dashboard", "duty")
CANNOT_PROCESS = _l("The request cannot be processed")
STAFF_MESSAGES = {
    "csrf": (_l("Form expired"),
             _l("This form has expired or did not come from this page. Open the page again, "
                "then send it once more.")),
    413: (_l("Submission too large"), _l("What was sent is too large for this form.")),
    404: REFUSED,
    405: (CANNOT_PROCESS,
          _l("This address is not opened that way. Use the buttons and links on the page.")),
    500: (_l("An error occurred"), _l("An error occurred on the server. Try again shortly.")),
    503: (_l("The database cannot be reached"),
          _l("Nothing was saved: the database cannot be reached or written right now. Try "
             "again in a few minutes.")),
    429: (_l("Too many attempts"), _l("Too many attempts from this address. Wait a moment, "
                                      "then try again.")),
}




# The JSON bodies' messages under /api/ (werkzeug's own descriptions are English only).
API_ERRORS = {
    400: _l("the request could not be understood"),
    404: _l("the requested URL was not found on this server; check its spelling"),
    405: _l("the method is not allowed for this URL"),
    413: _l("the request body is too large"),
    500: _l("internal error"),
    503: _l("the database cannot be reached or written right now; nothing was stored; "
            "retry later"),
}

# How long a client is asked to wait while the database cannot be written (Retry-After).
RETRY_AFTER_SECONDS = 30


def _api_message(error: HTTPException) -> str:
    """The JSON error text of ``error``, in the API's language."""
    if isinstance(error, RateLimitExceeded):
        return rate_limit_message(error)
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        return str(_("the method %(method)s is not allowed for this URL; allowed: "
                     "%(allowed)s", method=request.method,
                     allowed=", ".join(sorted(error.valid_methods))))
    status = error.code or 500
    known = API_ERRORS.get(status)
    return str(known if known is not None else _(
        "the request could not be processed (HTTP %(status)d)", status=status))


# Where no route matched (404, 405) there is no blueprint: the staff paths tell.
STAFF_PATHS = ("/dashboard/", "/masuk", "/keluar", "/tugas")


def _for_staff() -> bool:
    return request.blueprint in STAFF_BLUEPRINTS or request.path.startswith(STAFF_PATHS)


def _staff_page(key: str | int, status: int) -> ResponseReturnValue:
    title, message = STAFF_MESSAGES.get(key, (CANNOT_PROCESS,
                                              _l("This request cannot be processed.")))
    return render_template("dashboard_error.html", title=title, message=message), status


def _http_error(error: HTTPException) -> ResponseReturnValue:
    status = error.code or 500
    # Headers the error carries (Retry-After on a 429, Allow on a 405) survive the page.
    if is_api_request():
        response = make_response(jsonify(error=_api_message(error)), status)
    elif status == 429 and request.endpoint == "public.submit":
        wait = retry_after_seconds()
        response = make_response(form_refused_page(429, _(
            "Many submissions came from your network in a short time. Your answers are still "
            "below — please wait %(wait)s seconds, then press Send once more.", wait=wait)))
    elif _for_staff():
        response = make_response(_staff_page(status, status))
    else:
        response = make_response(message_page(PAGES.get(status, "error"), status))
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    if isinstance(error, RateLimitExceeded):
        response.headers["Retry-After"] = str(retry_after_seconds())
    return response


def _csrf_error(error: CSRFError) -> ResponseReturnValue:
    if request.endpoint == "public.submit":
        return form_refused_page(400, _(
            "This page was open for too long. Your answers are still below — please press "
            "Send once more."))
    if _for_staff():
        return _staff_page("csrf", 400)
    return message_page("badrequest", 400)


def _refused_character(error: RefusedCharacter) -> ResponseReturnValue:
    message = str(error.description)
    if is_api_request():
        return jsonify(error=message), 400
    title = _("Invalid address")
    if _for_staff():
        return render_template("dashboard_error.html", title=title, message=message), 400
    return render_template("message.html", title=title, body=message), 400


# Where a failure may have come from the database, the page is rendered without the context
# processors: they read it (Flask-Login's signed-in user, the back office's navigation).
STAFF_AREAS = (*STAFF_BLUEPRINTS, "admin", "account", "my_dialogues")


def _plain(template: str, status: int, **context: Any) -> ResponseReturnValue:
    return current_app.jinja_env.get_template(template).render(**context), status


def _plain_error_page(status: int) -> ResponseReturnValue:
    """The page of a failure (500) or of a database that cannot be written (503), for staff
    or for citizens; it never touches the database."""
    if request.blueprint in STAFF_AREAS or request.path.startswith(
            (*STAFF_PATHS, "/admin", "/akun")):
        title, message = STAFF_MESSAGES[status]
        return _plain("staff_plain_error.html", status, title=title, message=message)
    key = "error" if status == 500 else "not_saved" if request.method == "POST" \
        else "unavailable"
    title, body = MESSAGE_PAGES[key]
    return _plain("message.html", status, title=title, body=body)


def _server_error(error: Exception) -> ResponseReturnValue:
    # An outage met while answering another error (a refusal page that reads the database).
    original = getattr(error, "original_exception", None)
    if isinstance(original, SQLAlchemyError) and cannot_write(original):
        return _database_error(original)
    if is_api_request():
        return jsonify(error=str(API_ERRORS[500])), 500
    return _plain_error_page(500)


def _database_error(error: SQLAlchemyError) -> ResponseReturnValue:
    """While the database cannot be reached or written: 503 with Retry-After, and a page
    that says nothing was saved (any other database error is a defect: 500)."""
    if not cannot_write(error):
        raise error
    current_app.logger.error("database unavailable (%s %s): %s", request.method,
                             request.path, error)
    if is_api_request():
        response = make_response(jsonify(error=str(API_ERRORS[503])), 503)
    else:
        response = make_response(_plain_error_page(503))
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


def register(app: Flask) -> None:
    """Attach the handlers."""
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(RefusedCharacter, _refused_character)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(SQLAlchemyError, _database_error)
    app.register_error_handler(500, _server_error)
