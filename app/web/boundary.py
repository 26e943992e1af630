"""One rule for text at the boundary: a path or query that holds a character a database
refuses (NUL, a lone surrogate) is a 400 that says so, before any view reads it.

Form fields and JSON bodies are checked by the fields that read them (a message beside the
field, the form or the rest of a kiosk's batch kept); the citizens' comments are cleaned of
such characters (app.answers.clean_text). The path and the query have no field to show a
message beside, and every view would otherwise have to check each argument it reads.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, request
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest

from app.db import refused_character


class RefusedCharacter(BadRequest):
    """The path or a query parameter holds a character no database takes; ``description``
    says where, in the request's language (app.web.errors shows it to each audience)."""


def _message(part: str, name: str, character: str) -> str:
    if part == "path":
        return str(_("The address contains a character that is not allowed (%(char)s).",
                     char=character))
    if part == "name":
        return str(_("A parameter name in the address contains a character that is not "
                     "allowed (%(char)s).", char=character))
    # The name without what was refused in it, and the character by its code point.
    name = "".join(c for c in name if c.isprintable())[:40]
    return str(_("The parameter %(name)s in the address contains a character that is not "
                 "allowed (%(char)s).", name=name, char=character))


def _first_refused(parts: Iterable[tuple[str, str, str]]) -> tuple[str, str, str] | None:
    """(part, parameter name, character) of the first text of ``parts`` (part, parameter
    name, text) that holds a refused character."""
    for part, name, text in parts:
        found = refused_character(text)
        if found is not None:
            return part, name, found
    return None


def _check_request() -> None:
    parts = [("path", "", request.path)]
    for name, value in request.args.items(multi=True):
        parts += [("name", name, name), ("value", name, value)]
    found = _first_refused(parts)
    if found is not None:
        raise RefusedCharacter(_message(*found))


def init_boundary(app: Flask) -> None:
    """Check every request's path and query before its view (called before the other
    extensions register their hooks, so that this one runs first)."""
    app.before_request(_check_request)
