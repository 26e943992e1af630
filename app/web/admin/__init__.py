"""The back office at /admin: administrators everywhere, unit heads within their own units.

One blueprint; each area lives in its own module (organisation, officers, accounts, duty,
people served, working days, performance dialogues, kiosks, improvement actions, audit
log, complaint cases, API tokens) and registers its views on ``bp``. The navigation lists
the areas whose pages exist.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from flask import Blueprint, abort, current_app, render_template
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth import unit_scope
from app.extensions import db_session
from app.models import Unit
from app.org import FormRefusal
from app.web.auth import staff, staff_required

bp = Blueprint("admin", __name__, url_prefix="/admin")

F = TypeVar("F", bound=Callable[..., Any])

# Roles that may open the back office at all; what each may change is checked per action.
BACK_OFFICE_ROLES = ("admin", "unit_head")

# (endpoint, label) in the order the navigation shows them; an area whose endpoint is not
# registered is left out.
NAV = (
    ("admin.units", _l("Units")),
    ("admin.posters", _l("QR posters")),
    ("admin.kiosks_list", _l("Kiosks")),
    ("admin.officers", _l("Officers")),
    ("admin.accounts", _l("Staff accounts")),
    ("admin.tokens_list", _l("API tokens")),
    ("admin.board", _l("Today's board")),
    ("admin.rosters", _l("Rosters")),
    ("admin.duties", _l("Duty corrections")),
    ("admin.served", _l("People served")),
    ("admin.calendar", _l("Working days")),
    ("admin.dialogues", _l("Performance dialogues")),
    ("admin.actions_list", _l("Improvement actions")),
    ("admin.cases_list", _l("Complaints")),
    ("admin.publish_list", _l("Publication")),
    ("admin.audit", _l("Audit log")),
)


class ConfirmForm(FlaskForm):  # type: ignore[misc]  # (Flask-WTF ships no type information)
    """A confirmation of a change that cannot be undone: only the CSRF token."""


def confirmation(title: str, warning: str, label: str, action: str, cancel_url: str
                 ) -> ResponseReturnValue | None:
    """The confirmation page (on GET, or a POST with a bad token: 400), or None once the
    POST confirms."""
    form = ConfirmForm()
    if form.validate_on_submit():
        return None
    return render_template("admin/confirm.html", form=form, title=title, warning=warning,
                           confirm_label=label, action=action, cancel_url=cancel_url), \
        400 if form.errors else 200


def back_office(view: F) -> F:
    """A back-office page: administrators and unit heads (others get 403)."""
    return staff_required(*BACK_OFFICE_ROLES)(view)


ADMIN_ONLY = "suara_admin_only"  # the mark admin_only leaves on a view
OPEN_TO_HANDLERS = "suara_open_to_handlers"  # the mark of the complaint pages (admin.cases)


def admin_only(view: F) -> F:
    """A page for administrators only (the navigation shows it to them only)."""
    wrapped = staff_required("admin")(view)
    setattr(wrapped, ADMIN_ONLY, True)
    return wrapped


# The largest id a table's integer key holds: a larger one in a URL is a 404, never a query
# the database refuses.
MAX_ID = 2**31 - 1


def show_refusal(form: FlaskForm, error: FormRefusal,
                 fields: Mapping[str, str] | None = None) -> None:
    """End the refused change (roll back) and show its message beside the field it names
    (``fields`` maps a domain field name to the form's), else above the form."""
    db_session().rollback()
    name = (fields or {}).get(error.field or "", error.field)
    field = form[name] if name and name in form else None
    (field.errors if field is not None else form.form_errors).append(str(error))


def units_in_scope(session: Session) -> list[Unit]:
    """The units the signed-in user may manage, by code."""
    scope = scoped_unit_ids()
    query = select(Unit).order_by(Unit.code)
    if scope is not None:
        query = query.where(Unit.id.in_(list(scope) or [-1]))
    return list(session.scalars(query))


def scoped_unit_ids() -> set[int] | None:
    """The units the signed-in user may manage: None for all (administrators)."""
    return unit_scope(db_session(), staff())


def require_unit(unit_id: int) -> None:
    """404 unless the signed-in user may manage ``unit_id`` (one answer for "not yours" and
    "not there": a page never confirms what it hides)."""
    scope = scoped_unit_ids()
    if scope is not None and unit_id not in scope:
        abort(404)


# The admin blueprint's own requests only (its templates are rendered nowhere else): the
# citizens' pages do not pay for the back office's navigation.
@bp.context_processor
def _admin_nav() -> dict[str, Any]:
    role = getattr(staff(), "role", None)
    views = current_app.view_functions

    def offered(view: Any) -> bool:
        if getattr(view, ADMIN_ONLY, False):
            return role == "admin"
        # A complaint handler of another role reaches the complaint pages only.
        return role in BACK_OFFICE_ROLES or getattr(view, OPEN_TO_HANDLERS, False)

    return {"admin_nav": [(endpoint, label) for endpoint, label in NAV
                          if endpoint in views and offered(views[endpoint])]}


@bp.get("/")
@back_office
def index() -> ResponseReturnValue:
    """The back office's start page: its areas."""
    return render_template("admin/index.html")


# The areas register their views on ``bp`` when imported.
from app.web.admin import (  # noqa: E402
    accounts,  # noqa: F401
    actions,  # noqa: F401
    audit_log,  # noqa: F401
    calendar,  # noqa: F401
    case_handlers,  # noqa: F401
    cases,  # noqa: F401
    dialogues,  # noqa: F401
    duty,  # noqa: F401
    kiosks,  # noqa: F401
    officers,  # noqa: F401
    org,  # noqa: F401
    posters,  # noqa: F401
    publish,  # noqa: F401
    served,  # noqa: F401
    tokens,  # noqa: F401
)
