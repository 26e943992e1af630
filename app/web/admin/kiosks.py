"""Kiosks: the device list, adding a kiosk and its pairing code, editing, a new code,
revoking, the answers refused from it, and citizens' calls for an officer."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import abort, flash, get_flashed_messages, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import select
from wtforms import IntegerField, SelectMultipleField, StringField
from wtforms.widgets import CheckboxInput, ListWidget

from app import kiosks
from app.db import start_writing, utcnow
from app.extensions import db_session, settings
from app.models import Counter, Kiosk, KioskCall, KioskQuarantine, Service, Unit
from app.posters import qr_svg
from app.rosters import units_in_scope
from app.web.admin import (
    MAX_ID,
    back_office,
    bp,
    confirmation,
    require_unit,
    scoped_unit_ids,
    show_refusal,
)
from app.web.auth import staff

# The pairing code travels to the next page once, in the signed session, then is gone.
PAIRING_FLASH = "kiosk_pairing"
# The form field a refusal of app.kiosks is about, where the names differ.
FIELDS = {"counter_ids": "counters", "service_ids": "services"}


class SecondsField(IntegerField):  # type: ignore[misc]  # (WTForms ships no type information)
    """A whole number of seconds, with the page's own message when it is not one (the
    allowed range is the domain's, checked by ``app.kiosks``)."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_l("Enter a whole number of seconds.")) from None


def _checkboxes(label: Any) -> SelectMultipleField:
    # Ids are checked against the unit by app.kiosks (a message beside the field).
    return SelectMultipleField(label, validate_choice=False, widget=ListWidget(
        prefix_label=False), option_widget=CheckboxInput())


class KioskForm(FlaskForm):  # type: ignore[misc]  # (Flask-WTF ships no type information)
    """A kiosk's settings; the rules (lengths, ranges, the unit's counters) are
    ``app.kiosks``'s, shared with the CLI."""

    name = StringField(_l("Name"))
    placement = StringField(_l("Placement (where it stands)"))
    counters = _checkboxes(_l("Counters it offers (none ticked: all of the unit's)"))
    services = _checkboxes(_l("Services (none ticked: all)"))
    idle_seconds = SecondsField(_l("Seconds without a touch before it asks \"Still there?\""))
    countdown_seconds = SecondsField(_l("Seconds of the countdown before it starts over"))
    fast_seconds = SecondsField(_l("A session faster than this many seconds is flagged fast"))
    burst_seconds = SecondsField(_l("A session started within this many seconds of the "
                                    "previous one is flagged burst"))

    def fill_choices(self, session: Any, unit: Unit | None) -> None:
        """The unit's counters in use and its services, as checkboxes."""
        counters = [] if unit is None else session.scalars(select(Counter).where(
            Counter.unit_id == unit.id, Counter.active.is_(True)).order_by(Counter.code))
        services = [] if unit is None else session.scalars(select(Service).where(
            Service.unit_id == unit.id, Service.active.is_(True)).order_by(Service.code))
        self.counters.choices = [(str(c.id), f"{c.name} ({c.code})") for c in counters]
        self.services.choices = [(str(s.id), f"{s.name} ({s.code})") for s in services]

    def values(self) -> kiosks.KioskSettings:
        """What the form asks for."""
        return kiosks.KioskSettings(
            name=self.name.data or "", placement=self.placement.data or None,
            counter_ids=_ids(self.counters.data), service_ids=_ids(self.services.data),
            idle_seconds=self.idle_seconds.data, countdown_seconds=self.countdown_seconds.data,
            fast_seconds=self.fast_seconds.data, burst_seconds=self.burst_seconds.data)


class NewKioskForm(KioskForm):
    """A new kiosk: its unit too (an id, from the unit picker)."""

    unit = StringField(_l("Unit"))


def _ids(values: Sequence[str] | None) -> tuple[int, ...]:
    """Ticked ids; anything that is not one becomes 0, which no row has (the domain then
    refuses it beside the field)."""
    return tuple(int(v) if v.isascii() and v.isdigit() and len(v) <= 9 else 0
                 for v in values or ())


def _defaults(kiosk: Kiosk | None = None) -> dict[str, Any]:
    if kiosk is None:
        values = kiosks.KioskSettings(name="")
        return {"idle_seconds": values.idle_seconds,
                "countdown_seconds": values.countdown_seconds,
                "fast_seconds": values.fast_seconds, "burst_seconds": values.burst_seconds}
    return {"name": kiosk.name, "placement": kiosk.placement or "",
            "counters": [str(c.id) for c in kiosk.counters],
            "services": [str(s.id) for s in kiosk.services],
            "idle_seconds": kiosk.idle_seconds, "countdown_seconds": kiosk.countdown_seconds,
            "fast_seconds": kiosk.fast_seconds, "burst_seconds": kiosk.burst_seconds}


def _managed_kiosk(kiosk_id: int, *, fresh: bool = False) -> Kiosk:
    """The kiosk, or 404 when it does not exist or belongs to a unit not the user's."""
    kiosk = db_session().get(Kiosk, kiosk_id, populate_existing=fresh) \
        if kiosk_id <= MAX_ID else None
    if kiosk is None:
        abort(404)
    require_unit(kiosk.unit_id)
    return kiosk


def _units() -> list[Unit]:
    return units_in_scope(db_session(), scoped_unit_ids())


# Presentation helpers for the templates ----------------------------------------------------


def time_helpers(now: datetime) -> dict[str, Callable[..., Any]]:
    """``local`` (a local time), ``ago`` ("5 minutes ago") and ``age`` ("3 hours") for the
    kiosk templates, relative to ``now`` (injected: the tests set the clock)."""
    tz = settings().tz

    def local(at: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return "—" if at is None else at.astimezone(tz).strftime(fmt)

    def ago(at: datetime) -> str:
        return str(format_timedelta(at - now, granularity="minute", add_direction=True))

    def age(at: datetime) -> str:
        return str(format_timedelta(now - at, granularity="minute"))

    return {"local": local, "ago": ago, "age": age}


@dataclass(frozen=True)
class Refused:
    """An answer refused from the kiosk, decoded for the page."""

    row: KioskQuarantine
    reasons: list[tuple[str, str]]  # (field, message)
    payload: str  # what the tablet sent, indented JSON


def _decoded(row: KioskQuarantine) -> Refused:
    try:
        reason = json.loads(row.reason)
    except ValueError:
        reason = {"-": row.reason}
    try:
        payload = json.dumps(json.loads(row.payload), ensure_ascii=False, indent=1,
                             sort_keys=True)
    except ValueError:
        payload = row.payload
    reasons = [(str(k), str(v)) for k, v in reason.items()] if isinstance(reason, dict) \
        else [("-", str(reason))]
    return Refused(row, reasons, payload)


# The device list ----------------------------------------------------------------------------


@bp.get("/kiosks")
@back_office
def kiosks_list() -> ResponseReturnValue:
    """The kiosks of the user's units (``?unit=CODE`` narrows to one), their state and
    alerts, and the open calls for an officer."""
    session, now, units = db_session(), utcnow(), _units()
    code = request.args.get("unit", "")
    picked = next((u for u in units if u.code == code), None) if code else None
    ids: set[int] | None = {picked.id} if picked else scoped_unit_ids()
    if code and picked is None:
        ids = set()  # not a unit of the user's (or none at all): nothing to show
    rows = kiosks.statuses(session, ids, now=now, tz=settings().tz)
    calls = kiosks.open_calls(session, ids)
    return render_template("admin/kiosks.html", rows=rows, calls=calls, units=units,
                           unit_code=code, **time_helpers(now))


# Adding a kiosk -----------------------------------------------------------------------------


def _picked_unit(raw: str | None, units: list[Unit]) -> Unit | None:
    if not raw:
        return units[0] if len(units) == 1 else None
    return next((u for u in units if str(u.id) == raw), None)


@bp.route("/kiosks/new", methods=["GET", "POST"])
@back_office
def kiosk_new() -> ResponseReturnValue:
    """Add a kiosk; the next page shows its pairing code, once."""
    session, units = db_session(), _units()
    form = NewKioskForm(data={**_defaults(), "unit": request.args.get("unit", "")})
    unit = _picked_unit(form.unit.data, units)
    form.fill_choices(session, unit)
    if form.validate_on_submit():
        if unit is None:
            form.unit.errors.append(_("Choose one of the listed units."))
        else:
            unit_id = unit.id
            start_writing(session)
            unit = session.get(Unit, unit_id)
            assert unit is not None  # noqa: S101 (listed a moment ago; units are not deleted)
            try:
                kiosk, code = kiosks.create_kiosk(session, unit, form.values(), now=utcnow())
            except kiosks.KioskError as error:
                show_refusal(form, error, FIELDS)
            else:
                kiosk_id = kiosk.id
                session.commit()
                return _show_code(kiosk_id, code)
    return render_template("admin/kiosk_new.html", form=form, units=units, unit=unit), \
        400 if form.errors else 200


def _show_code(kiosk_id: int, code: str) -> ResponseReturnValue:
    flash(f"{kiosk_id}:{code}", PAIRING_FLASH)
    return redirect(url_for("admin.kiosk_pairing", kiosk_id=kiosk_id), 303)


@bp.get("/kiosks/<int:kiosk_id>/pairing")
@back_office
def kiosk_pairing(kiosk_id: int) -> ResponseReturnValue:
    """The pairing code just issued, large, with its QR code and expiry; shown once."""
    kiosk, now = _managed_kiosk(kiosk_id), utcnow()
    prefix = f"{kiosk_id}:"
    codes = [m[len(prefix):] for m in get_flashed_messages(category_filter=[PAIRING_FLASH])
             if isinstance(m, str) and m.startswith(prefix)]
    waiting = kiosks.pending_pairing(db_session(), kiosk, now=now)
    code = codes[-1] if codes and waiting is not None else None
    url = kiosks.pairing_url(settings().public_base_url, code) if code else None
    # qrcode's own SVG: paths only, and the title is escaped by its XML serializer.
    qr = Markup(qr_svg(url, title=_("Pairing code %(code)s", code=code))) \
        if url else None  # noqa: S704
    page = render_template("admin/kiosk_pairing.html", kiosk=kiosk, code=code, url=url, qr=qr,
                           expires=waiting.expires_at if waiting else None,
                           kiosk_url=settings().public_base_url.rstrip("/") + "/kiosk",
                           **time_helpers(now))
    return page, 200, {"Cache-Control": "no-store"}


# One kiosk ----------------------------------------------------------------------------------


@bp.route("/kiosks/<int:kiosk_id>", methods=["GET", "POST"])
@back_office
def kiosk_detail(kiosk_id: int) -> ResponseReturnValue:
    """A kiosk: its state, its settings (editable until revoked), its refused answers and
    its open calls."""
    session, kiosk = db_session(), _managed_kiosk(kiosk_id)
    form = KioskForm(data=_defaults(kiosk))
    form.fill_choices(session, kiosk.unit)
    if not kiosk.revoked and form.validate_on_submit():
        start_writing(session)
        kiosk = _managed_kiosk(kiosk_id, fresh=True)
        try:
            kiosks.update_kiosk(session, kiosk, form.values(), now=utcnow())
        except kiosks.KioskError as error:
            show_refusal(form, error, FIELDS)
        else:
            session.commit()
            flash(_("Kiosk saved; the tablet takes the new settings at its next contact."))
            return redirect(url_for("admin.kiosk_detail", kiosk_id=kiosk_id), 303)
    elif kiosk.revoked and request.method == "POST":
        flash(_("This kiosk is revoked; its settings no longer change."))
        return redirect(url_for("admin.kiosk_detail", kiosk_id=kiosk_id), 303)
    now = utcnow()
    status = kiosks.statuses(session, {kiosk.unit_id}, now=now, tz=settings().tz)
    mine = next(s for s in status if s.kiosk.id == kiosk.id)
    calls = [c for c in kiosks.open_calls(session, {kiosk.unit_id}) if c.kiosk_id == kiosk.id]
    refused = [_decoded(row) for row in kiosks.quarantined(session, kiosk.id)]
    return render_template(
        "admin/kiosk_detail.html", kiosk=kiosk, st=mine, form=form, calls=calls,
        refused=refused,
        waiting=kiosks.pending_pairing(session, kiosk, now=now), **time_helpers(now)), \
        400 if form.errors else 200


def _confirmed(kiosk: Kiosk, title: str, warning: str, label: str, action: str
               ) -> ResponseReturnValue | None:
    """The confirmation page (GET or a bad token), or None once confirmed."""
    return confirmation(title, warning, label, action,
                        url_for("admin.kiosk_detail", kiosk_id=kiosk.id))


@bp.route("/kiosks/<int:kiosk_id>/pairing/new", methods=["GET", "POST"])
@back_office
def kiosk_pair_again(kiosk_id: int) -> ResponseReturnValue:
    """A new pairing code, after confirmation: the tablet that pairs with it replaces the
    one paired now (a reset or replaced tablet)."""
    kiosk = _managed_kiosk(kiosk_id)
    if kiosk.revoked:
        flash(_("This kiosk is revoked; add a new kiosk instead."))
        return redirect(url_for("admin.kiosk_detail", kiosk_id=kiosk_id), 303)
    asked = _confirmed(
        kiosk, _("New pairing code for %(name)s", name=kiosk.name),
        _("A new six-digit code is issued, valid 10 minutes; codes issued before stop "
          "working. The tablet paired now keeps working until a tablet pairs with the new "
          "code: that tablet then replaces it, and the old one stops."),
        _("Issue a code (pairing replaces the current tablet)"),
        url_for("admin.kiosk_pair_again", kiosk_id=kiosk_id))
    if asked is not None:
        return asked
    session = db_session()
    start_writing(session)
    try:
        code = kiosks.issue_pairing(session, _managed_kiosk(kiosk_id, fresh=True), now=utcnow())
    except kiosks.KioskError as error:
        session.rollback()
        flash(str(error))
        return redirect(url_for("admin.kiosk_detail", kiosk_id=kiosk_id), 303)
    session.commit()
    return _show_code(kiosk_id, code)


@bp.route("/kiosks/<int:kiosk_id>/revoke", methods=["GET", "POST"])
@back_office
def kiosk_revoke(kiosk_id: int) -> ResponseReturnValue:
    """Revoke a kiosk, after confirmation: the tablet stops at once."""
    kiosk = _managed_kiosk(kiosk_id)
    if kiosk.revoked:
        flash(_("This kiosk is already revoked."))
        return redirect(url_for("admin.kiosk_detail", kiosk_id=kiosk_id), 303)
    asked = _confirmed(
        kiosk, _("Revoke %(name)s?", name=kiosk.name),
        _("The tablet stops at once: it can no longer send answers, heartbeats or calls, and "
          "cannot be paired again. Answers it made before now and had reported in a "
          "heartbeat are still accepted when it next syncs; nothing it made afterwards is. "
          "For a replacement tablet, add a new kiosk."),
        _("Revoke the kiosk"), url_for("admin.kiosk_revoke", kiosk_id=kiosk_id))
    if asked is not None:
        return asked
    session = db_session()
    start_writing(session)
    kiosks.revoke(session, _managed_kiosk(kiosk_id, fresh=True), now=utcnow())
    session.commit()
    flash(_("Kiosk revoked: the tablet no longer works."))
    return redirect(url_for("admin.kiosk_detail", kiosk_id=kiosk_id), 303)


# Calls for an officer -----------------------------------------------------------------------


@bp.post("/kiosks/calls/<int:call_id>/answered")
@back_office
def kiosk_call_answered(call_id: int) -> ResponseReturnValue:
    """Mark a citizen's call answered; back to the board, the device list or the kiosk."""
    session = db_session()
    call = session.get(KioskCall, call_id) if call_id <= MAX_ID else None
    if call is None:
        abort(404)
    require_unit(call.unit_id)  # (its CSRF token was checked by CSRFProtect)
    unit_id, kiosk_id = call.unit_id, call.kiosk_id
    start_writing(session)
    fresh = session.get(KioskCall, call_id, populate_existing=True)
    if fresh is not None:
        kiosks.answer_call(session, fresh, staff().id, now=utcnow())
    session.commit()
    flash(_("Call marked as answered."))
    back = request.form.get("back", "")
    if back == "board":
        return redirect(url_for("admin.board", unit=unit_id), 303)
    if back == "list":
        return redirect(url_for("admin.kiosks_list"), 303)
    return redirect(url_for("admin.kiosk_detail", kiosk_id=kiosk_id), 303)
