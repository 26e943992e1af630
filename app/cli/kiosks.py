"""`flask --app app kiosks …`: list the kiosks, add one, issue a pairing code, revoke one
(the back office does the same at /admin/kiosks)."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import AppGroup
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import kiosks
from app.db import utcnow
from app.extensions import database, settings
from app.models import Counter, Kiosk, Service, Unit
from app.org import CODE_PATTERN, unit_by_code

kiosks_cli = AppGroup("kiosks", help="Tablet kiosks: list, add, pairing codes, revoke.")

# The option a refusal of app.kiosks is about.
OPTIONS = {"name": "--name", "placement": "--placement", "counter_ids": "--counter",
           "service_ids": "--service", "idle_seconds": "--idle-seconds",
           "countdown_seconds": "--countdown-seconds", "fast_seconds": "--fast-seconds",
           "burst_seconds": "--burst-seconds"}
MAX_ID = 2**31 - 1


def _fail(error: kiosks.KioskError) -> click.ClickException:
    """The refusal in English (the language of scripts and logs), naming its option."""
    with force_locale("en"):
        message = str(error.message).rstrip(".")
    option = OPTIONS.get(error.field or "")
    return click.ClickException(f"{option + ': ' if option else ''}{message}; nothing changed")


def _unit(session: Session, code: str) -> Unit:
    # Checked before the lookup: a NUL byte never reaches the database.
    unit = unit_by_code(session, code) if CODE_PATTERN.fullmatch(code) else None
    if unit is None:
        raise click.BadParameter(f"no unit with code {code!r}", param_hint="--unit")
    return unit


def _kiosk(session: Session, kiosk_id: int) -> Kiosk:
    kiosk = session.get(Kiosk, kiosk_id) if 0 < kiosk_id <= MAX_ID else None
    if kiosk is None:
        raise click.BadParameter(f"no kiosk with id {kiosk_id}", param_hint="ID")
    return kiosk


def _ids(session: Session, model: type[Counter] | type[Service], unit: Unit,
         codes: tuple[str, ...], option: str) -> tuple[int, ...]:
    ids = []
    for code in codes:
        found = session.scalars(select(model.id).where(
            model.unit_id == unit.id, model.code == code)).first() \
            if CODE_PATTERN.fullmatch(code) else None
        if found is None:
            raise click.BadParameter(f"unit {unit.code} has no {option[2:]} {code!r}",
                                     param_hint=option)
        ids.append(found)
    return tuple(ids)


def _local(at: datetime) -> str:
    return at.astimezone(settings().tz).strftime("%Y-%m-%d %H:%M")


def _echo_code(kiosk: Kiosk, code: str, now: datetime) -> None:
    click.echo(f"pairing code: {code} (valid until "
               f"{_local(now + kiosks.PAIRING_LIFETIME)}, once)")
    click.echo(f"on the tablet open {settings().public_base_url.rstrip('/')}/kiosk and enter "
               f"the code, or open {kiosks.pairing_url(settings().public_base_url, code)}")


@kiosks_cli.command("list")
@click.option("--unit", "unit_code", default=None, help="Only this unit's kiosks (its code).")
def kiosks_list(unit_code: str | None) -> None:
    """Every kiosk: id, unit, name, placement, state, last contact, answers waiting."""
    now = utcnow()
    with database().session_scope(write=False) as session:
        ids = {_unit(session, unit_code).id} if unit_code is not None else None
        for st in kiosks.statuses(session, ids, now=now, tz=settings().tz):
            k = st.kiosk
            if k.revoked_at is not None:
                state = f"revoked {_local(k.revoked_at)}"
            elif k.paired_at is None:
                state = "not paired yet"
            else:
                state = ",".join(name for name, on in (("silent", st.silent),
                                                       ("stuck", st.stuck)) if on) or "ok"
            seen = _local(k.last_seen_at) if k.last_seen_at else "never"
            queue = "?" if k.queue_length is None else str(k.queue_length)
            click.echo(f"{k.id}\t{k.unit.code}\t{k.name}\t{k.placement or '-'}\t{state}\t"
                       f"last contact {seen}\tqueue {queue}\trefused {st.quarantined}\t"
                       f"calls {st.calls}")


@kiosks_cli.command("add")
@click.option("--unit", "unit_code", required=True, help="The unit's code.")
@click.option("--name", required=True, help="The kiosk's name, e.g. 'Tablet Poli Umum'.")
@click.option("--placement", default=None, help="Where it stands, e.g. 'by the exit'.")
@click.option("--counter", "counters", multiple=True,
              help="A counter code it offers (repeat; none: all of the unit's).")
@click.option("--service", "services", multiple=True,
              help="A service code it is bound to (repeat; none: all).")
@click.option("--idle-seconds", type=int, default=30, show_default=True,
              help="Seconds without a touch before it asks whether someone is still there.")
@click.option("--countdown-seconds", type=int, default=20, show_default=True,
              help="Seconds of that countdown before it starts over.")
@click.option("--fast-seconds", type=int, default=7, show_default=True,
              help="A session completed in under this is flagged fast.")
@click.option("--burst-seconds", type=int, default=5, show_default=True,
              help="A session started within this of the previous one is flagged burst.")
def kiosks_add(unit_code: str, name: str, placement: str | None, counters: tuple[str, ...],
               services: tuple[str, ...], idle_seconds: int, countdown_seconds: int,
               fast_seconds: int, burst_seconds: int) -> None:
    """Add a kiosk to a unit and print its pairing code (valid 10 minutes, once)."""
    now = utcnow()
    with database().session_scope() as session:
        unit = _unit(session, unit_code)
        values = kiosks.KioskSettings(
            name=name, placement=placement,
            counter_ids=_ids(session, Counter, unit, counters, "--counter"),
            service_ids=_ids(session, Service, unit, services, "--service"),
            idle_seconds=idle_seconds, countdown_seconds=countdown_seconds,
            fast_seconds=fast_seconds, burst_seconds=burst_seconds)
        try:
            kiosk, code = kiosks.create_kiosk(session, unit, values, now=now)
        except kiosks.KioskError as error:
            raise _fail(error) from None
        click.echo(f"kiosk {kiosk.id}: {kiosk.name} ({unit.code})")
        _echo_code(kiosk, code, now)


@kiosks_cli.command("pairing-code")
@click.argument("kiosk_id", metavar="ID", type=int)
def kiosks_pairing_code(kiosk_id: int) -> None:
    """Issue a kiosk a new pairing code: the tablet that pairs with it replaces the one
    paired now (codes issued before stop working)."""
    now = utcnow()
    with database().session_scope() as session:
        kiosk = _kiosk(session, kiosk_id)
        try:
            code = kiosks.issue_pairing(session, kiosk, now=now)
        except kiosks.KioskError as error:
            raise _fail(error) from None
        click.echo(f"kiosk {kiosk.id}: {kiosk.name} ({kiosk.unit.code})")
        _echo_code(kiosk, code, now)


@kiosks_cli.command("revoke")
@click.argument("kiosk_id", metavar="ID", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def kiosks_revoke(kiosk_id: int, yes: bool) -> None:
    """Revoke a kiosk (a lost or stolen tablet): it stops at once. Answers it made before
    and reported in a heartbeat are still accepted."""
    with database().session_scope() as session:
        kiosk = _kiosk(session, kiosk_id)
        if kiosk.revoked_at is not None:
            click.echo(f"kiosk {kiosk.id} ({kiosk.name}) was already revoked")
            return
        if not yes:
            click.confirm(f"The tablet of {kiosk.name} ({kiosk.unit.code}) stops at once. "
                          "Revoke it?", abort=True)
        kiosks.revoke(session, kiosk, now=utcnow())
        click.echo(f"kiosk {kiosk.id} ({kiosk.name}) revoked: the tablet no longer works")
