"""`flask --app app duty …`: rosters, exceptions, duty corrections, check-in and check-out,
and today's board, for scripts (the back office does the same)."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

import click
from flask.cli import AppGroup
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import board as board_module
from app import corrections, duty, rosters
from app.db import utcnow
from app.duty import close_open_duties
from app.extensions import database, settings
from app.models import Assignment, Counter, Officer, RosterException, RosterShift, Unit
from app.org import DomainError, unit_by_code

T = TypeVar("T", RosterShift, Assignment)

duty_cli = AppGroup("duty", help="Duty: rosters, corrections, check-in, today's board.")
roster_cli = AppGroup("roster", help="The weekly roster of a unit's counters.")
exception_cli = AppGroup("exception", help="A day's exception to a shift (leave, swap).")
correct_cli = AppGroup("correct", help="Correct a duty afterwards (responses re-attributed).")
duty_cli.add_command(roster_cli)
duty_cli.add_command(exception_cli)
duty_cli.add_command(correct_cli)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _fail(error: DomainError, what: str = "") -> click.ClickException:
    """The refusal as a CLI error, in English (the language of scripts and logs), naming
    the option at fault."""
    prefix = f"{what}: " if what else ""
    if isinstance(error, rosters.FieldError):
        with force_locale("en"):
            message = str(error.message)
        named = f"--{error.field.replace('_', '-')}: "
        return click.ClickException(f"{prefix}{named}{message}; nothing changed")
    return click.ClickException(f"{prefix}{error}; nothing changed")


def _unit(session: Session, code: str) -> Unit:
    unit = unit_by_code(session, code.strip())
    if unit is None:
        raise click.BadParameter(f"no unit with code {code!r}", param_hint="--unit")
    return unit


def _counter(session: Session, unit_id: int, code: str) -> Counter:
    counter = session.scalars(select(Counter).where(Counter.unit_id == unit_id,
                                                    Counter.code == code.strip())).first()
    if counter is None:
        raise click.BadParameter(f"no counter {code!r} in that unit", param_hint="--counter")
    return counter


def _officer(session: Session, nip: str, hint: str = "--officer-nip") -> Officer:
    officer = session.scalars(select(Officer).where(Officer.nip == nip.strip())).first()
    if officer is None:
        raise click.BadParameter(f"no officer with NIP {nip!r}", param_hint=hint)
    return officer


def _get(session: Session, model: type[T], ident: int, what: str) -> T:
    found = session.get(model, ident)
    if found is None:
        raise click.BadParameter(f"no {what} with id {ident}", param_hint="ID")
    return found


def _local(value: str, option: str) -> datetime:
    """A local date and time 'YYYY-MM-DD HH:MM' in the configured zone, as UTC."""
    try:
        naive = datetime.strptime(value.strip(), "%Y-%m-%d %H:%M")  # noqa: DTZ007 (local)
    except ValueError:
        raise click.BadParameter("write the local time as 'YYYY-MM-DD HH:MM'",
                                 param_hint=option) from None
    return naive.replace(tzinfo=settings().tz)


def _weekday(value: str) -> int:
    value = value.strip().lower()
    if value in WEEKDAYS:
        return WEEKDAYS.index(value)
    if value.isdigit() and len(value) == 1 and int(value) < 7:
        return int(value)
    raise click.BadParameter("a weekday is mon…sun or 0…6 (0 = Monday)", param_hint="--weekday")


@roster_cli.command("add")
@click.option("--unit", "unit_code", required=True, help="The unit's code.")
@click.option("--counter", "counter_code", required=True, help="The counter's code.")
@click.option("--officer-nip", required=True, help="The officer's NIP (18 digits).")
@click.option("--weekday", required=True, help="mon…sun or 0…6 (0 = Monday).")
@click.option("--from", "starts", required=True, help="Local start time HH:MM.")
@click.option("--to", "ends", required=True, help="Local end time HH:MM.")
@click.option("--valid-from", default=None, help="First day YYYY-MM-DD (default: today).")
@click.option("--valid-until", default=None, help="Last day YYYY-MM-DD (default: open).")
def roster_add(unit_code: str, counter_code: str, officer_nip: str, weekday: str, starts: str,
               ends: str, valid_from: str | None, valid_until: str | None) -> None:
    """Plan an officer at a counter every week on a weekday."""
    day = _weekday(weekday)
    try:
        with database().session_scope() as session:
            unit = _unit(session, unit_code)
            counter = _counter(session, unit.id, counter_code)
            officer = _officer(session, officer_nip)
            first = (rosters.parse_day("valid_from", valid_from) if valid_from
                     else utcnow().astimezone(settings().tz).date())
            last = rosters.parse_day("valid_until", valid_until) if valid_until else None
            shift = rosters.add_shift(
                session, counter, officer, day, rosters.parse_clock("from", starts),
                rosters.parse_clock("to", ends), first, last)
            click.echo(f"shift {shift.id}: {officer.name} at {counter.code} on "
                       f"{WEEKDAYS[day]} {shift.starts:%H:%M}-{shift.ends:%H:%M}")
    except DomainError as error:
        raise _fail(error) from None


@roster_cli.command("list")
@click.option("--unit", "unit_code", required=True, help="The unit's code.")
def roster_list(unit_code: str) -> None:
    """Every shift of the unit's counters (ended ones too), with its exceptions."""
    with database().session_scope(write=False) as session:
        unit = _unit(session, unit_code)
        for shift in rosters.shifts_of_unit(session, unit):
            until = shift.valid_until.isoformat() if shift.valid_until else "open"
            click.echo(f"{shift.id}\t{shift.counter.code}\t{WEEKDAYS[shift.weekday]}\t"
                       f"{shift.starts:%H:%M}-{shift.ends:%H:%M}\t{shift.officer.nip}\t"
                       f"{shift.officer.name}\t{shift.valid_from.isoformat()}..{until}")
            for exception in session.scalars(select(RosterException).where(
                    RosterException.shift_id == shift.id).order_by(RosterException.day)):
                who = f" by {exception.substitute.name}" if exception.substitute else ""
                click.echo(f"\texception {exception.id}: {exception.day.isoformat()} "
                           f"{exception.kind}{who}")


@roster_cli.command("end")
@click.argument("shift_id", type=int)
@click.option("--last-day", default=None, help="Last day YYYY-MM-DD (default: today).")
def roster_end(shift_id: int, last_day: str | None) -> None:
    """End a shift (kept as history)."""
    try:
        with database().session_scope() as session:
            shift = _get(session, RosterShift, shift_id, "shift")
            day = (rosters.parse_day("last_day", last_day) if last_day
                   else utcnow().astimezone(settings().tz).date())
            rosters.end_shift(session, shift, day)
            click.echo(f"shift {shift.id} ends after {day.isoformat()}")
    except DomainError as error:
        raise _fail(error) from None


@exception_cli.command("add")
@click.option("--shift", "shift_id", type=int, required=True, help="The shift's id.")
@click.option("--date", "day", required=True, help="The day YYYY-MM-DD.")
@click.option("--kind", type=click.Choice(rosters.EXCEPTION_KINDS), required=True)
@click.option("--substitute-nip", default=None, help="The substitute's NIP (swap).")
@click.option("--note", default=None, help="A short note (200 characters at most).")
def exception_add(shift_id: int, day: str, kind: str, substitute_nip: str | None,
                  note: str | None) -> None:
    """Put a shift's officer on leave, or swap them with a substitute, on one day."""
    try:
        with database().session_scope() as session:
            shift = _get(session, RosterShift, shift_id, "shift")
            substitute = (_officer(session, substitute_nip, "--substitute-nip")
                          if substitute_nip else None)
            exception = rosters.add_exception(session, shift, rosters.parse_day("date", day),
                                              kind, substitute, note)
            click.echo(f"exception {exception.id}: {exception.day.isoformat()} {kind}")
    except DomainError as error:
        raise _fail(error) from None


@exception_cli.command("remove")
@click.argument("exception_id", type=int)
def exception_remove(exception_id: int) -> None:
    """Remove a day's exception."""
    with database().session_scope() as session:
        exception = session.get(RosterException, exception_id)
        if exception is None:
            raise click.BadParameter(f"no exception with id {exception_id}", param_hint="ID")
        rosters.remove_exception(session, exception)
        click.echo(f"exception {exception_id} removed")


def _moved(result: corrections.Reattribution) -> str:
    return f"{result.moved} of {result.examined} responses attributed again"


@correct_cli.command("add")
@click.option("--counter", "counter_code", required=True, help="The counter's code.")
@click.option("--nip", required=True, help="The officer's NIP.")
@click.option("--from", "starts", required=True, help="Local start 'YYYY-MM-DD HH:MM'.")
@click.option("--to", "ends", default=None, help="Local end 'YYYY-MM-DD HH:MM' (open if left out).")
def correct_add(counter_code: str, nip: str, starts: str, ends: str | None) -> None:
    """Record a forgotten duty at a counter of the officer's unit."""
    starts_at = _local(starts, "--from")
    ends_at = _local(ends, "--to") if ends else None
    try:
        with database().session_scope() as session:
            officer = _officer(session, nip, "--nip")
            counter = _counter(session, officer.unit_id, counter_code)
            made, result = corrections.add_duty(session, officer, counter, starts_at, ends_at,
                                                tz=settings().tz, now=utcnow())
            click.echo(f"duty {made.id} added; {_moved(result)}")
    except DomainError as error:
        raise _fail(error) from None


@correct_cli.command("change")
@click.argument("duty_id", type=int)
@click.option("--nip", default=None, help="The officer actually on duty (a swap).")
@click.option("--from", "starts", default=None, help="Local start 'YYYY-MM-DD HH:MM'.")
@click.option("--to", "ends", default=None, help="Local end 'YYYY-MM-DD HH:MM'.")
def correct_change(duty_id: int, nip: str | None, starts: str | None, ends: str | None
                   ) -> None:
    """Change a duty's officer or times."""
    try:
        with database().session_scope() as session:
            found = _get(session, Assignment, duty_id, "duty")
            officer = _officer(session, nip, "--nip") if nip else found.officer
            result = corrections.change_duty(
                session, found, officer=officer,
                starts_at=_local(starts, "--from") if starts else found.starts_at,
                ends_at=_local(ends, "--to") if ends else found.ends_at,
                tz=settings().tz, now=utcnow())
            click.echo(f"duty {duty_id} changed; {_moved(result)}")
    except DomainError as error:
        raise _fail(error) from None


@correct_cli.command("end")
@click.argument("duty_id", type=int)
@click.option("--at", "at", required=True, help="Local end 'YYYY-MM-DD HH:MM'.")
def correct_end(duty_id: int, at: str) -> None:
    """End a duty at a given time."""
    ends_at = _local(at, "--at")
    try:
        with database().session_scope() as session:
            found = _get(session, Assignment, duty_id, "duty")
            result = corrections.end_duty(session, found, ends_at, tz=settings().tz,
                                          now=utcnow())
            click.echo(f"duty {duty_id} ends at {at}; {_moved(result)}")
    except DomainError as error:
        raise _fail(error, "--at") from None


@correct_cli.command("remove")
@click.argument("duty_id", type=int)
def correct_remove(duty_id: int) -> None:
    """Remove a duty recorded by mistake."""
    with database().session_scope() as session:
        found = _get(session, Assignment, duty_id, "duty")
        result = corrections.remove_duty(session, found, tz=settings().tz, now=utcnow())
        click.echo(f"duty {duty_id} removed; {_moved(result)}")


@duty_cli.command("checkin")
@click.option("--nip", required=True, help="The officer's NIP.")
@click.option("--counter", "counter_code", required=True, help="The counter's code.")
@click.option("--unit", "unit_code", required=True, help="The unit's code.")
def checkin(nip: str, counter_code: str, unit_code: str) -> None:
    """Open the officer's duty at a counter now (ending their other open duty)."""
    try:
        with database().session_scope() as session:
            officer = _officer(session, nip, "--nip")
            counter = _counter(session, _unit(session, unit_code).id, counter_code)
            opened = duty.check_in(session, officer, counter, utcnow())
            click.echo(f"duty {opened.id}: {officer.name} at {counter.code}")
    except DomainError as error:
        raise click.ClickException(f"{error}; nothing changed") from None


@duty_cli.command("checkout")
@click.option("--nip", required=True, help="The officer's NIP.")
def checkout(nip: str) -> None:
    """End the officer's open duty now."""
    try:
        with database().session_scope() as session:
            officer = _officer(session, nip, "--nip")
            ended = duty.check_out(session, officer, utcnow())
            if ended is None:
                raise click.ClickException(f"{officer.name} has no open duty")
            click.echo(f"duty {ended.id} ended")
    except DomainError as error:
        raise click.ClickException(f"{error}; nothing changed") from None


@duty_cli.command("board")
@click.option("--unit", "unit_code", required=True, help="The unit's code.")
def board_command(unit_code: str) -> None:
    """Today's board: who is on duty where, open counters without anyone, roster gaps."""
    with database().session_scope(write=False) as session:
        unit = _unit(session, unit_code)
        now = board_module.today_board(session, unit, utcnow(), settings().tz)
        click.echo(f"{unit.code} at {now.now:%Y-%m-%d %H:%M} "
                   f"({'open' if now.is_open else 'closed'})")
        for row in now.counters:
            who = ", ".join(f"{d.officer.name} since {d.since:%H:%M}" for d in row.on_duty)
            click.echo(f"{row.counter.code}\t{who or '-'}")
        for counter in now.open_unattended:
            click.echo(f"open without anyone: {counter.code}")
        for gap in now.elsewhere:
            click.echo(f"rostered at {gap.rostered_at.code} but on duty at "
                       f"{gap.at.code if gap.at else '-'}: {gap.officer.name}")
        for gap in now.absent:
            click.echo(f"rostered at {gap.rostered_at.code} but not checked in: "
                       f"{gap.officer.name}")


def _instant(value: str | None) -> datetime:
    """``--now`` as an aware instant: ISO 8601, local time (the configured zone) when it
    names no offset; the real clock when absent."""
    if value is None:
        return utcnow()
    if len(value) > 64 or not value.isprintable():
        raise click.BadParameter("expected an ISO 8601 date and time such as "
                                 "2026-12-04T16:30+07:00", param_hint="--now")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 date and time, e.g. 2026-12-04T16:30+07:00",
            param_hint="--now") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=settings().tz)


@duty_cli.command("close-open")
@click.option("--now", "now_text", metavar="ISO",
              help="Close as of this instant (default: now); without an offset, local time.")
def close_open(now_text: str | None) -> None:
    """End every open duty whose unit has closed since it began, at that closing time."""
    now = _instant(now_text)
    tz = settings().tz
    with database().session_scope() as session:
        closed = close_open_duties(session, now=now, tz=tz)
        for duty in closed:
            assert duty.ends_at is not None  # noqa: S101 (just closed)
            click.echo(f"{duty.officer.name} at {duty.counter.name}: "
                       f"{duty.starts_at.astimezone(tz):%Y-%m-%d %H:%M} – "
                       f"{duty.ends_at.astimezone(tz):%H:%M}")
    click.echo(f"closed {len(closed)} open duties as of {now.astimezone(tz).isoformat()}")
