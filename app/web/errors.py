"""Error pages people can read: JSON under /api/, a short page elsewhere."""

from __future__ import annotations

from flask import Flask, jsonify, make_response, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.web.public import form_refused_page, message_page

PAGES = {404: "notfound", 410: "revoked", 413: "toolarge", 429: "ratelimit", 400: "badrequest",
         403: "forbidden"}


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _http_error(error: HTTPException) -> ResponseReturnValue:
    status = error.code or 500
    # Headers the error carries (Retry-After on a 429, Allow on a 405) survive the page.
    if _wants_json():
        response = make_response(jsonify(error=error.description), status)
    elif status == 429 and request.endpoint == "public.submit":
        wait = next((value for name, value in error.get_headers() if name == "Retry-After"), 60)
        response = make_response(form_refused_page(429, "error_ratelimit_form", wait=wait))
    else:
        response = make_response(message_page(PAGES.get(status, "error"), status))
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _csrf_error(error: CSRFError) -> ResponseReturnValue:
    if request.endpoint == "public.submit":
        return form_refused_page(400, "error_csrf")
    return message_page("badrequest", 400)


def _server_error(error: Exception) -> ResponseReturnValue:
    if _wants_json():
        return jsonify(error="internal error"), 500
    return message_page("error", 500)


def register(app: Flask) -> None:
    """Attach the handlers."""
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(500, _server_error)
