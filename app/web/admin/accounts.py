"""Staff accounts: one-time password links, roles and units, deactivation."""

from __future__ import annotations

from flask import abort, flash, get_flashed_messages, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from app import accounts
from app.auth import role_label
from app.db import start_writing, utcnow
from app.extensions import db_session, settings
from app.models import Officer, Unit, User
from app.models.people import ROLES
from app.org import unit_by_code
from app.users import officer_by_nip
from app.web.admin import (
    ConfirmForm,
    back_office,
    bp,
    confirmation,
    scoped_unit_ids,
    show_refusal,
)
from app.web.auth import staff

LINK_FLASH = "account_link"  # the one-time link travels to the next page once, then is gone


class PlacementForm(FlaskForm):  # type: ignore[misc]
    """Role, unit and (for an officer) NIP; choices are filled per user."""

    role = SelectField(_l("Role"), validate_choice=False,
                       validators=[AnyOf(ROLES, message=_l("Choose one of the listed roles."))])
    unit = SelectField(_l("Unit"), validate_choice=False)
    nip = StringField(_l("Officer's NIP"), validators=[
        Optional(), Length(max=18, message=_l("A NIP has at most %(max)d characters."))])


class AccountForm(PlacementForm):
    """A new account."""

    email = StringField(_l("Email"), validators=[
        DataRequired(_l("Enter the account's e-mail address.")),
        Length(max=254, message=_l("An e-mail address has at most %(max)d characters."))])


class ActingForm(FlaskForm):  # type: ignore[misc]
    """Grant an acting (Plt.) unit-head role."""

    unit = SelectField(_l("Unit"), validate_choice=False,
                       validators=[DataRequired(_l("Choose a unit."))])


def _unit_choices() -> list[tuple[str, str]]:
    scope = scoped_unit_ids()
    query = select(Unit).where(Unit.active.is_(True)).order_by(Unit.code)
    if scope is not None:
        query = query.where(Unit.id.in_(scope))
    units = [(unit.code, f"{unit.code} — {unit.name}") for unit in db_session().scalars(query)]
    return ([("", _("(none)"))] if scope is None else []) + units


def _fill_choices(form: PlacementForm) -> None:
    form.role.choices = [(role, role_label(role)) for role in accounts.grantable_roles(staff())]
    form.unit.choices = _unit_choices()


def _placement(form: PlacementForm) -> tuple[Unit | None, Officer | None]:
    """The unit and officer a form names, or None with the error beside the field."""
    session = db_session()
    unit = officer = None
    code = form.unit.data or ""
    if code:
        unit = unit_by_code(session, code) if code.isprintable() and len(code) <= 32 else None
        if unit is None:
            form.unit.errors.append(_("Choose one of the listed units."))
    nip = (form.nip.data or "").strip()
    if nip:
        officer = officer_by_nip(session, nip) if nip.isdigit() and nip.isascii() else None
        if officer is None:
            form.nip.errors.append(_("No officer has this NIP."))
    return unit, officer


def _account(user_id: int) -> User:
    try:
        return accounts.account_for(db_session(), staff(), user_id)
    except accounts.AccountHidden:
        abort(404)


@bp.get("/accounts", endpoint="accounts")
@back_office
def accounts_list() -> ResponseReturnValue:
    """The accounts the signed-in user manages."""
    session = db_session()
    rows = [(user, accounts.acting_units(session, user))
            for user in accounts.visible_accounts(session, staff())]
    return render_template("admin/accounts.html", rows=rows)


@bp.route("/accounts/new", methods=["GET", "POST"])
@back_office
def account_new() -> ResponseReturnValue:
    """Create an account without a password; the next page shows its one-time link once."""
    form = AccountForm()
    _fill_choices(form)
    if form.validate_on_submit():
        unit, officer = _placement(form)
        if not form.errors:
            session = db_session()
            start_writing(session)
            try:
                issued = accounts.create_account(session, staff(), form.email.data,
                                                 form.role.data, unit=unit, officer=officer,
                                                 now=utcnow())
            except accounts.AccountError as error:
                show_refusal(form, error)
            else:
                session.commit()
                return _show_link(issued)
    return render_template("admin/account_new.html", form=form), 400 if form.errors else 200


def _show_link(issued: accounts.IssuedLink) -> ResponseReturnValue:
    flash(issued.url(settings().public_base_url), LINK_FLASH)
    return redirect(url_for("admin.account_link", user_id=issued.user.id), 303)


@bp.get("/accounts/<int:user_id>/link")
@back_office
def account_link(user_id: int) -> ResponseReturnValue:
    """The one-time link just issued, shown once (reloading shows it no more)."""
    user = _account(user_id)
    links = get_flashed_messages(category_filter=[LINK_FLASH])
    response = render_template("admin/account_link.html", user=user,
                               link=links[0] if links else None)
    return response, 200, {"Cache-Control": "no-store"}


@bp.route("/accounts/<int:user_id>", methods=["GET", "POST"])
@back_office
def account_edit(user_id: int) -> ResponseReturnValue:
    """An account: its role and unit (changing them ends its sessions), its acting roles."""
    user = _account(user_id)
    form = PlacementForm(data={"role": user.role, "unit": user.unit.code if user.unit else "",
                               "nip": user.officer.nip if user.officer else ""})
    _fill_choices(form)
    if form.validate_on_submit():
        unit, officer = _placement(form)
        if not form.errors:
            session = db_session()
            start_writing(session)
            user = _account(user_id)
            try:
                changed = accounts.change_role(session, staff(), user, form.role.data,
                                               unit=unit, officer=officer)
            except accounts.AccountError as error:
                show_refusal(form, error)
            else:
                session.commit()
                flash(_("Role and unit saved; the account's sessions have ended.") if changed
                      else _("Nothing to change."))
                return redirect(url_for("admin.account_edit", user_id=user_id), 303)
    return _edit_page(user, form, ActingForm())


def _edit_page(user: User, form: PlacementForm, acting: ActingForm) -> ResponseReturnValue:
    acting.unit.choices = [(code, label) for code, label in _unit_choices() if code]
    status = 400 if form.errors or acting.errors else 200
    return render_template("admin/account_edit.html", user=user, form=form, acting_form=acting,
                           acting=accounts.acting_units(db_session(), user),
                           confirm=ConfirmForm()), status


def _confirmed(user: User, title: str, warning: str, label: str, action: str
               ) -> ResponseReturnValue | None:
    """The confirmation page (GET or a bad token), or None once confirmed."""
    return confirmation(title, warning, label, action,
                        url_for("admin.account_edit", user_id=user.id))


@bp.route("/accounts/<int:user_id>/reset", methods=["GET", "POST"])
@back_office
def account_reset(user_id: int) -> ResponseReturnValue:
    """Issue a new one-time link (after confirmation); older unused links stop working."""
    user = _account(user_id)
    asked = _confirmed(user, _("New password link for %(email)s", email=user.email),
                       _("A new one-time link will be issued; links issued before stop "
                         "working. The current password keeps working until the link is "
                         "used."), _("Issue a new link"),
                       url_for("admin.account_reset", user_id=user_id))
    if asked is not None:
        return asked
    session = db_session()
    start_writing(session)
    issued = accounts.reset_password(session, staff(), _account(user_id), now=utcnow())
    session.commit()
    return _show_link(issued)


def _set_active(user_id: int, active: bool) -> ResponseReturnValue:
    user = _account(user_id)
    endpoint = "admin.account_reactivate" if active else "admin.account_deactivate"
    asked = _confirmed(
        user, (_("Reactivate %(email)s", email=user.email) if active
               else _("Deactivate %(email)s", email=user.email)),
        (_("The account will be able to sign in again.") if active
         else _("The account will no longer be able to sign in, its sessions end now and "
                "its personal API tokens are revoked. Nothing it did is deleted.")),
        _("Reactivate") if active else _("Deactivate"), url_for(endpoint, user_id=user_id))
    if asked is not None:
        return asked
    session = db_session()
    start_writing(session)
    try:
        accounts.set_active(session, staff(), _account(user_id), active, now=utcnow())
    except accounts.AccountError as error:
        session.rollback()
        flash(str(error))
    else:
        session.commit()
        flash(_("Account reactivated.") if active else _("Account deactivated."))
    return redirect(url_for("admin.account_edit", user_id=user_id), 303)


@bp.route("/accounts/<int:user_id>/deactivate", methods=["GET", "POST"])
@back_office
def account_deactivate(user_id: int) -> ResponseReturnValue:
    """Deactivate an account, after confirmation."""
    return _set_active(user_id, False)


@bp.route("/accounts/<int:user_id>/reactivate", methods=["GET", "POST"])
@back_office
def account_reactivate(user_id: int) -> ResponseReturnValue:
    """Reactivate an account, after confirmation."""
    return _set_active(user_id, True)


@bp.post("/accounts/<int:user_id>/acting")
@back_office
def account_acting_grant(user_id: int) -> ResponseReturnValue:
    """Make a unit head also the acting head (Plt.) of another unit."""
    user = _account(user_id)
    acting = ActingForm()
    acting.unit.choices = [(code, label) for code, label in _unit_choices() if code]
    if acting.validate_on_submit():
        code = acting.unit.data or ""
        unit = unit_by_code(db_session(), code) if code.isprintable() and len(code) <= 32 \
            else None
        if unit is None or (scoped_unit_ids() is not None and unit.id not in
                            (scoped_unit_ids() or set())):
            acting.unit.errors.append(_("Choose one of the listed units."))
        else:
            session = db_session()
            start_writing(session)
            try:
                accounts.grant_acting(session, staff(), _account(user_id), unit, now=utcnow())
            except accounts.AccountError as error:
                show_refusal(acting, error)
            else:
                session.commit()
                flash(_("Acting role granted; the account's sessions have ended."))
                return redirect(url_for("admin.account_edit", user_id=user_id), 303)
    return _edit_page(user, PlacementForm(data={
        "role": user.role, "unit": user.unit.code if user.unit else "",
        "nip": user.officer.nip if user.officer else ""}), acting)


@bp.route("/accounts/<int:user_id>/acting/<code>/revoke", methods=["GET", "POST"])
@back_office
def account_acting_revoke(user_id: int, code: str) -> ResponseReturnValue:
    """End an acting (Plt.) role, after confirmation."""
    user = _account(user_id)
    unit = unit_by_code(db_session(), code) if code.isprintable() and len(code) <= 32 else None
    if unit is None or unit not in accounts.acting_units(db_session(), user):
        abort(404)
    asked = _confirmed(user, _("End the acting role of %(email)s in %(unit)s",
                               email=user.email, unit=unit.code),
                       _("The account will no longer head this unit; its sessions end now."),
                       _("End the acting role"),
                       url_for("admin.account_acting_revoke", user_id=user_id, code=code))
    if asked is not None:
        return asked
    session = db_session()
    start_writing(session)
    try:
        accounts.revoke_acting(session, staff(), _account(user_id), unit)
    except accounts.AccountError as error:
        session.rollback()
        flash(str(error))
    else:
        session.commit()
        flash(_("Acting role ended."))
    return redirect(url_for("admin.account_edit", user_id=user_id), 303)

