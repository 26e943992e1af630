"""Stored indicators as JSON for signed-in staff and personal API tokens, within each scope."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from app.api_schemas import ErrorMessage, FieldErrors, indicator_page
from app.auth import scores_shown_from, sees_officer_detail, unit_scope
from app.extensions import db_session, settings
from app.i18n import api_locale
from app.indicators import indicator_rows
from app.models import User
from app.models.indicators import SCOPES
from app.org import unit_by_code
from app.periods import PERIOD_KINDS
from app.suppression import readable_rows
from app.web.auth import staff
from app.web.common import bearer_token

bp = Blueprint("api_indicators", __name__, url_prefix="/api/v1")

# lang only picks the language of the messages (app.i18n.api_locale), as on every API path.
PARAMETERS = ("scope", "period", "from", "to", "unit", "lang")
ISO_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")  # ASCII digits, dashes: no '20261130'
MAX_CODE_LENGTH = 32

# Messages by key (row_filter returns the key of a refusal); translated when shown.
MESSAGES = {
    "unauthenticated": _l("sign in first or send an Authorization: Bearer <token> header"),
    "invalid_token": _l("the token is unknown, revoked or expired, or its account is inactive"),
    "required": _l("required"),
    "repeated": _l("may be given only once"),
    "unknown": _l("unknown parameter; known ones: scope, period, from, to, unit, lang"),
    "scope": _l("must be one of: unit, counter, service, officer"),
    "period": _l("must be one of: day, week, month, quarter, semester, year"),
    "date": _l("must be a date YYYY-MM-DD, e.g. 2026-11-30"),
    "before_from": _l("must not be before 'from'"),
    "unit_code": _l("unknown unit code"),
    "officer_only": _l("an officer account can only read scope=officer (its own rows)"),
    "officer_private": _l("per-officer data is only for that officer, their unit head and "
                          "administrators"),
    "viewer_period": _l("a viewer account can only read period=week or month: daily figures "
                        "are small enough to single out one officer"),
    "unit_only": _l("a viewer account can only read scope=unit: counter and service figures "
                    "can single out one officer, so they are only for unit heads and "
                    "administrators"),
    "unit_forbidden": _l("this unit is outside your account's scope"),
}


@dataclass(frozen=True)
class IndicatorQuery:
    """The validated query string of GET /indicators."""

    scope: str
    period: str
    first: date | None
    last: date | None
    unit_code: str | None


@dataclass(frozen=True)
class RowFilter:
    """What a user may read of one query: these units (None: all), this officer (None: any)."""

    unit_ids: Collection[int] | None
    officer_id: int | None


def _msg(key: str) -> str:
    return str(MESSAGES[key])


def _day(value: str, name: str, errors: dict[str, str]) -> date | None:
    if not value or name in errors:
        return None
    try:
        if ISO_DAY.fullmatch(value):
            return date.fromisoformat(value)
    except ValueError:
        pass  # a well-shaped but impossible date such as 2026-02-30
    errors[name] = _msg("date")
    return None


def parse_query(args: MultiDict[str, str]) -> tuple[IndicatorQuery | None, dict[str, str]]:
    """Validate the query string; every problem is reported under its parameter's name."""
    errors = {name[:40]: _msg("unknown") for name in args if name not in PARAMETERS}
    errors.update({name: _msg("repeated") for name in PARAMETERS
                   if len(args.getlist(name)) > 1})
    scope, period = args.get("scope", ""), args.get("period", "")
    for name, value, allowed in (("scope", scope, SCOPES), ("period", period, PERIOD_KINDS)):
        if name not in errors and value not in allowed:
            errors[name] = _msg(name) if value else _msg("required")
    first = _day(args.get("from", ""), "from", errors)
    last = _day(args.get("to", ""), "to", errors)
    if first and last and last < first:
        errors["to"] = _msg("before_from")
    unit_code = args.get("unit", "") or None
    if unit_code is not None and len(unit_code) > MAX_CODE_LENGTH:
        errors["unit"] = _msg("unit_code")
    if errors:
        return None, errors
    return IndicatorQuery(scope, period, first, last, unit_code), {}


def row_filter(session: Session, user: User, query: IndicatorQuery) -> RowFilter | str:
    """What ``user`` may read of ``query``, or the key of the message refusing it.

    Admins read everything; viewers every unit's unit rows only (counter and service rows
    can be one officer's, see sees_officer_detail); unit heads their unit
    and its sub-units (their officers included); officers only their own per-officer rows.
    An unknown unit code and one outside the user's scope get the same refusal, so a
    scoped account cannot probe which units exist.
    """
    if user.role == "officer" and (query.scope != "officer" or user.officer_id is None):
        return "officer_only"
    if user.role == "viewer" and query.scope == "officer":
        return "officer_private"
    if not sees_officer_detail(user) and query.scope in ("counter", "service"):
        return "unit_only"
    if user.role == "viewer" and query.period == "day":
        # A day's row is often one officer's, and the week minus its published days gives
        # back a withheld day exactly (the NRRs carry four decimals).
        return "viewer_period"
    scope = unit_scope(session, user)
    officer_id = user.officer_id if user.role == "officer" else None
    if query.unit_code is None:
        return RowFilter(scope, officer_id)
    unit = unit_by_code(session, query.unit_code)
    if scope is not None and (unit is None or unit.id not in scope):
        return "unit_forbidden"
    if unit is None:
        return "unit_code"
    return RowFilter({unit.id}, officer_id)


def _invalid(errors: dict[str, str]) -> ResponseReturnValue:
    return jsonify(FieldErrors(errors=errors).model_dump()), 422


def _refuse(status: int, key: str) -> ResponseReturnValue:
    response = jsonify(ErrorMessage(error=_msg(key)).model_dump())
    if status == 401:
        # RFC 6750: say how to authenticate, and whether a token was sent but refused.
        challenge = 'Bearer realm="suara-warga"'
        if bearer_token(request.headers.get("Authorization", "")) is not None:
            challenge += ', error="invalid_token"'
        response.headers["WWW-Authenticate"] = challenge
    return response, status


@bp.get("/indicators")
def indicators() -> ResponseReturnValue:
    """Stored indicators of one scope and period kind, limited to what the caller may see.

    Per-officer and per-counter rows with fewer than OFFICER_MIN_N responses are left out
    (and counted in ``withheld``): with so few answers an officer could tell who gave which
    score, and a counter's score is the officer's on duty there. For
    viewers the same holds for unit rows: a unit served by one officer, or a day when one
    officer served, scores that officer, and viewers may not see one officer's few answers;
    nor a period whose figures minus those of the periods inside it would single out a few
    (``app.suppression``: those rows are withheld and counted too).
    """
    if not current_user.is_authenticated:
        bearer = bearer_token(request.headers.get("Authorization", "")) is not None
        return _refuse(401, "invalid_token" if bearer else "unauthenticated")
    query, errors = parse_query(request.args)
    if query is None:
        return _invalid(errors)
    session = db_session()
    allowed = row_filter(session, staff(), query)
    if isinstance(allowed, str):
        return _invalid({"unit": _msg(allowed)}) if allowed == "unit_code" \
            else _refuse(403, allowed)
    rows = indicator_rows(session, query.scope, query.period, first=query.first,
                          last=query.last, unit_ids=allowed.unit_ids,
                          officer_id=allowed.officer_id, locale=api_locale(),
                          rates_min_n=scores_shown_from(query.scope, settings().officer_min_n),
                          tz=settings().tz)
    shown, withheld = readable_rows(session, rows, query.scope, settings().officer_min_n,
                                    officer_detail=sees_officer_detail(staff()))
    response = jsonify(indicator_page(_body(query, shown, withheld=withheld)))
    response.headers["Cache-Control"] = "private, no-store"  # personal data of officers
    response.vary.update(("Authorization", "Cookie"))
    return response


def _body(query: IndicatorQuery, rows: list[dict[str, Any]], *, withheld: int
          ) -> dict[str, Any]:
    return {
        "scope": query.scope,
        "period": query.period,
        "from": query.first.isoformat() if query.first else None,
        "to": query.last.isoformat() if query.last else None,
        "unit": query.unit_code,
        "withheld": withheld,
        "rows": rows,
    }
