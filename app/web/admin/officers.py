"""Officers: search, create, edit, deactivate, CSV import with preview, moves (mutasi)."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from wtforms import DateField, HiddenField, SelectField, StringField
from wtforms.validators import InputRequired, Optional, ValidationError

from app import officers as domain
from app.db import start_writing, utcnow
from app.extensions import db_session, settings
from app.models import Officer, Unit
from app.web.admin import ConfirmForm, back_office, bp, require_unit, scoped_unit_ids
from app.web.auth import staff
from app.web.common import signing_keys

# An import of 3,000 officers is about 250 KB of CSV: this route alone takes bodies this large
# (the application's limit is 64 KiB); the page says so.
IMPORT_MAX_BYTES = 1024 * 1024
IMPORT_SALT = "officers-import"
IMPORT_MAX_AGE = 3600  # seconds between the preview and the confirmation


# The column or field a refusal names, in the page's language.
FIELD_WORDS = {"nip": _l("NIP"), "name": _l("name"), "position": _l("position"),
               "unit": _l("unit")}


def problem_text(problem: domain.Problem) -> str:
    """A refusal in the page's language."""
    params = dict(problem.params)
    if "field" in params:
        params["field"] = str(FIELD_WORDS.get(str(params["field"]), params["field"]))
    text: str = _(problem.message, **params)
    return text


def _domain_check(check: object) -> object:
    """A WTForms validator from a domain check returning a Problem or None."""
    def validator(form: FlaskForm, field: StringField) -> None:
        problem = check(field.data or "")  # type: ignore[operator]
        if problem is not None:
            raise ValidationError(problem_text(problem))
    return validator


def _name_problem(value: str) -> domain.Problem | None:
    return domain.text_problem(value, "name")


def _position_problem(value: str) -> domain.Problem | None:
    return domain.text_problem(value, "position")


class OfficerEditForm(FlaskForm):  # type: ignore[misc]  # (Flask-WTF ships no type information)
    """An officer's name and position."""

    name = StringField(_l("Name"), validators=[InputRequired(), _domain_check(_name_problem)])
    position = StringField(_l("Position"),
                           validators=[InputRequired(), _domain_check(_position_problem)])


class OfficerCreateForm(OfficerEditForm):
    """A new officer: NIP, name, position and unit."""

    nip = StringField(_l("NIP"), validators=[InputRequired(), _domain_check(domain.nip_problem)])
    unit = SelectField(_l("Unit"), coerce=int, validate_choice=True)


class MoveForm(FlaskForm):  # type: ignore[misc]  # (Flask-WTF ships no type information)
    """A move to another unit on a date."""

    unit = SelectField(_l("New unit"), coerce=int, validate_choice=True)
    moved_on = DateField(_l("Date of the move"), validators=[Optional()])


class ImportForm(FlaskForm):  # type: ignore[misc]  # (Flask-WTF ships no type information)
    """A CSV file to preview."""

    file = FileField(_l("CSV file"), validators=[FileRequired()])


class ImportConfirmForm(FlaskForm):  # type: ignore[misc]  # (Flask-WTF ships no type information)
    """The previewed file, signed, sent back to be imported."""

    payload = HiddenField(validators=[InputRequired()])


def _unit_choices() -> list[tuple[int, str]]:
    scope = scoped_unit_ids()
    query = select(Unit).where(Unit.active).order_by(Unit.code)
    if scope is not None:
        query = query.where(Unit.id.in_(scope or {-1}))
    return [(u.id, f"{u.code} — {u.name}") for u in db_session().scalars(query)]


def _officer_or_404(officer_id: int) -> Officer:
    officer = db_session().get(Officer, officer_id)
    if officer is None:
        abort(404)
    require_unit(officer.unit_id)
    return officer


def _field_error(form: FlaskForm, error: domain.OfficerError) -> None:
    if error.field is None or error.field not in form:
        flash(problem_text(error.problem))
    else:
        target = form[error.field]
        target.errors = [*target.errors, problem_text(error.problem)]


@bp.get("/officers")
@back_office
def officers() -> ResponseReturnValue:
    """Officers of the user's units, searched by name or NIP, one page at a time."""
    query = domain.clean_query(request.args.get("q", "")[:1000])
    page = request.args.get("page", "1")
    number = int(page) if page.isascii() and page.isdigit() and len(page) < 7 else 1
    found = domain.search_officers(db_session(), scoped_unit_ids(), query, page=number)
    return render_template("admin/officers.html", found=found, q=query)


@bp.route("/officers/new", methods=["GET", "POST"])
@back_office
def officer_new() -> ResponseReturnValue:
    """Register an officer in one of the user's units."""
    form = OfficerCreateForm()
    form.unit.choices = _unit_choices()
    if form.validate_on_submit():
        session = db_session()
        start_writing(session)
        try:
            officer = domain.create(session, form.nip.data or "", form.name.data or "",
                                    session.get_one(Unit, form.unit.data), form.position.data
                                    or "", scope=scoped_unit_ids())
        except domain.OfficerError as error:
            session.rollback()
            _field_error(form, error)
        else:
            session.commit()
            flash(_("Officer %(name)s registered.", name=officer.name))
            return redirect(url_for("admin.officer_edit", officer_id=officer.id), 303)
    return render_template("admin/officer_form.html", form=form, officer=None), \
        400 if form.errors else 200


@bp.route("/officers/<int:officer_id>", methods=["GET", "POST"])
@back_office
def officer_edit(officer_id: int) -> ResponseReturnValue:
    """An officer: edit the name and position; links to move and (de)activate."""
    officer = _officer_or_404(officer_id)
    form = OfficerEditForm(obj=officer)
    if form.validate_on_submit():
        session = db_session()
        start_writing(session)
        officer = _officer_or_404(officer_id)
        domain.update(session, officer, name=form.name.data, position=form.position.data)
        session.commit()
        flash(_("Changes saved."))
        return redirect(url_for("admin.officer_edit", officer_id=officer_id), 303)
    moves = domain.moves_of(db_session(), officer)
    units = {u.id: u for u in db_session().scalars(select(Unit).where(
        Unit.id.in_({m.from_unit_id for m in moves} | {m.to_unit_id for m in moves})))}
    return render_template("admin/officer_form.html", form=form, officer=officer, moves=moves,
                           units=units), 400 if form.errors else 200


def _confirm_active(officer_id: int, active: bool) -> ResponseReturnValue:
    officer = _officer_or_404(officer_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        session = db_session()
        start_writing(session)
        officer = _officer_or_404(officer_id)
        try:
            domain.set_active(session, officer, active)
        except domain.OfficerError as error:
            session.rollback()
            flash(problem_text(error.problem))
        else:
            session.commit()
            flash(_("Officer %(name)s reactivated.", name=officer.name) if active
                  else _("Officer %(name)s deactivated.", name=officer.name))
        return redirect(url_for("admin.officer_edit", officer_id=officer_id), 303)
    if active:
        title = _("Reactivate %(name)s?", name=officer.name)
        warning = _("The officer can check in at a counter again.")
    else:
        title = _("Deactivate %(name)s?", name=officer.name)
        warning = _("The officer can no longer check in at a counter. Their history and the "
                    "responses they earned stay.")
    return render_template(
        "admin/confirm.html", form=form, title=title, warning=warning,
        action=request.path, confirm_label=_("Reactivate") if active else _("Deactivate"),
        cancel_url=url_for("admin.officer_edit", officer_id=officer_id))


@bp.route("/officers/<int:officer_id>/deactivate", methods=["GET", "POST"])
@back_office
def officer_deactivate(officer_id: int) -> ResponseReturnValue:
    """Deactivate an officer, after a confirmation."""
    return _confirm_active(officer_id, False)


@bp.route("/officers/<int:officer_id>/reactivate", methods=["GET", "POST"])
@back_office
def officer_reactivate(officer_id: int) -> ResponseReturnValue:
    """Reactivate an officer, after a confirmation."""
    return _confirm_active(officer_id, True)


@bp.route("/officers/<int:officer_id>/move", methods=["GET", "POST"])
@back_office
def officer_move(officer_id: int) -> ResponseReturnValue:
    """Move an officer to another unit of the user's (mutasi)."""
    officer = _officer_or_404(officer_id)
    form = MoveForm()
    form.unit.choices = [c for c in _unit_choices() if c[0] != officer.unit_id]
    if form.validate_on_submit():
        session = db_session()
        start_writing(session)
        officer = _officer_or_404(officer_id)
        try:
            domain.move(session, officer, session.get_one(Unit, form.unit.data),
                        moved_on=form.moved_on.data, scope=scoped_unit_ids(), now=utcnow(),
                        tz=settings().tz)
        except domain.OfficerError as error:
            session.rollback()
            _field_error(form, error)
        else:
            session.commit()
            flash(_("Officer %(name)s moved to %(unit)s.", name=officer.name,
                    unit=officer.unit.name))
            return redirect(url_for("admin.officer_edit", officer_id=officer_id), 303)
    return render_template("admin/officer_move.html", form=form, officer=officer), \
        400 if form.errors else 200


# CSV import --------------------------------------------------------------------------------------

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(list(signing_keys(current_app.config)), salt=IMPORT_SALT)


def _allow_large_body() -> None:
    """Take the import's larger body on this route only (before the form is read)."""
    if (request.content_length or 0) > IMPORT_MAX_BYTES:
        abort(413)
    request.max_content_length = IMPORT_MAX_BYTES
    request.max_form_memory_size = IMPORT_MAX_BYTES


def _import_page(form: FlaskForm, status: int = 200) -> ResponseReturnValue:
    return render_template("admin/officer_import.html", form=form,
                           limit_kb=IMPORT_MAX_BYTES // 1024), status


@bp.get("/officers/import")
@back_office
def officer_import() -> ResponseReturnValue:
    """The import form: a CSV file to preview."""
    return _import_page(ImportForm())


@bp.post("/officers/import")
@back_office
def officer_import_preview() -> ResponseReturnValue:
    """Read the uploaded file and show every bad line, or every row it will import."""
    _allow_large_body()
    form = ImportForm()
    if not form.validate_on_submit():
        return _import_page(form, 400)
    raw = form.file.data.read(IMPORT_MAX_BYTES + 1)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        form.file.errors = [_("The file is not UTF-8 text; save the spreadsheet as "
                              "“CSV UTF-8”.")]
        return _import_page(form, 400)
    preview = domain.preview_import(db_session(), text, scoped_unit_ids())
    confirm = ImportConfirmForm(formdata=None)
    if preview.ok:
        confirm.payload.data = _serializer().dumps({"text": text, "user": _user_key()})
    return render_template("admin/officer_import_preview.html", preview=preview,
                           confirm=confirm, problem_text=problem_text), \
        200 if preview.ok else 400


def _user_key() -> str:
    return staff().get_id()


@bp.post("/officers/import/confirm")
@back_office
def officer_import_confirm() -> ResponseReturnValue:
    """Import the previewed file: all of it, or nothing if it no longer checks out."""
    _allow_large_body()
    form = ImportConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        signed = _serializer().loads(form.payload.data or "", max_age=IMPORT_MAX_AGE)
    except BadSignature:
        flash(_("The preview has expired or was altered; upload the file again."))
        return redirect(url_for("admin.officer_import"), 303)
    if not isinstance(signed, dict) or signed.get("user") != _user_key():
        abort(400)
    session = db_session()
    start_writing(session)
    try:
        imported = domain.import_officers(session, str(signed["text"]), scoped_unit_ids())
    except domain.ImportRefused:
        session.rollback()
        flash(_("The file no longer checks out (the officers changed meanwhile); nothing was "
                "imported. Upload it again to see why."))
        return redirect(url_for("admin.officer_import"), 303)
    session.commit()
    flash(_("%(count)d officers imported.", count=len(imported)))
    return redirect(url_for("admin.officers"), 303)


@bp.record_once
def _exempt_import_from_global_csrf(state: object) -> None:
    """The import's bodies are larger than the application's limit, which the global CSRF
    check would apply while reading the form; these views raise the limit first, and their
    Flask-WTF forms check the CSRF token themselves."""
    csrf = state.app.extensions["csrf"]  # type: ignore[attr-defined]
    csrf.exempt(f"{__name__}.officer_import_preview")
    csrf.exempt(f"{__name__}.officer_import_confirm")
